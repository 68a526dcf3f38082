@file:Suppress("unused", "UNUSED_PARAMETER")

package org.junit

annotation class Test

object Assert {
    @JvmStatic
    fun assertEquals(expected: Any?, actual: Any?) {}

    @JvmStatic
    fun assertEquals(expected: Float, actual: Float, delta: Float) {}
}
