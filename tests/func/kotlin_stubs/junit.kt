@file:Suppress("unused", "UNUSED_PARAMETER")

package org.junit

annotation class Test

object Assert {
    @JvmStatic
    fun assertEquals(expected: Any?, actual: Any?) {}

    @JvmStatic
    fun assertEquals(expected: Float, actual: Float, delta: Float) {}

    // assertArrayEquals(float[] expecteds, float[] actuals, float delta)
    @JvmStatic
    fun assertArrayEquals(expected: FloatArray, actual: FloatArray, delta: Float) {}

    // org.junit.Assert (JUnit 4.13): assertTrue(boolean condition), assertTrue(String message, boolean condition)
    @JvmStatic
    fun assertTrue(condition: Boolean) {}

    @JvmStatic
    fun assertTrue(message: String?, condition: Boolean) {}
}
