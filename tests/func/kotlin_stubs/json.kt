@file:Suppress("unused", "UNUSED_PARAMETER")

package org.json

class JSONObject(json: String) {
    fun getJSONArray(name: String): JSONArray = TODO()
    fun getString(name: String): String = TODO()
    fun getDouble(name: String): Double = TODO()
    fun getInt(name: String): Int = TODO()  // android's org.json.JSONObject: public int getInt(String name)
    fun getBoolean(name: String): Boolean = TODO()  // public boolean getBoolean(String name)
}

class JSONArray {
    fun length(): Int = TODO()
    fun getJSONObject(index: Int): JSONObject = TODO()
    fun getDouble(index: Int): Double = TODO()
    fun getInt(index: Int): Int = TODO()  // android's org.json.JSONArray: public int getInt(int index)
    fun getString(index: Int): String = TODO()  // public String getString(int index)
}
