@file:Suppress("unused", "UNUSED_PARAMETER")

package org.tensorflow.lite

// com.google.ai.edge.litert:litert (2.x) keeps the classic API under org.tensorflow.lite. Each member
// below is declared as in LiteRT's Java sources (tensorflow/lite/java/src/main/java/org/tensorflow/lite/):
//   Interpreter.java:     public Interpreter(@NonNull ByteBuffer byteBuffer, Options options)
//                         public static class Options extends InterpreterImpl.Options
//                           public Options setNumThreads(int numThreads)
//                         public void run(Object input, Object output)   (declared by InterpreterApi)
//                         public void runForMultipleInputsOutputs(@NonNull Object[] inputs,
//                                                                 @NonNull Map<Integer, Object> outputs)
//   InterpreterApi.java:  interface InterpreterApi extends AutoCloseable; void close()
class Interpreter(byteBuffer: java.nio.ByteBuffer, options: Options) : AutoCloseable {
    class Options {
        fun setNumThreads(numThreads: Int): Options = this
    }

    fun run(input: Any, output: Any) {}
    fun runForMultipleInputsOutputs(inputs: Array<Any>, outputs: Map<Int, Any>) {}
    override fun close() {}
}
