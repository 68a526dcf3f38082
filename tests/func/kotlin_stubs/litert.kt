@file:Suppress("unused", "UNUSED_PARAMETER")

package org.tensorflow.lite

// com.google.ai.edge.litert:litert keeps the classic API under org.tensorflow.lite.
class Interpreter(byteBuffer: java.nio.ByteBuffer, options: Options) : AutoCloseable {
    class Options {
        fun setNumThreads(numThreads: Int): Options = this
    }

    fun run(input: Any, output: Any) {}
    override fun close() {}
}
