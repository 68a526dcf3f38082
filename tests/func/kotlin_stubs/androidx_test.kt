@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.test.platform.app

class Instrumentation {
    val context: android.content.Context get() = TODO()  // getContext()
    val targetContext: android.content.Context get() = TODO()  // getTargetContext()
}

object InstrumentationRegistry {
    @JvmStatic
    fun getInstrumentation(): Instrumentation = TODO()
}
