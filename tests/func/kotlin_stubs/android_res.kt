@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content.res

class AssetManager {
    fun openFd(fileName: String): AssetFileDescriptor = TODO()
    fun open(fileName: String): java.io.InputStream = TODO()
}

class AssetFileDescriptor : java.io.Closeable {
    val fileDescriptor: java.io.FileDescriptor get() = TODO()  // getFileDescriptor()
    val startOffset: Long get() = TODO()  // getStartOffset()
    val declaredLength: Long get() = TODO()  // getDeclaredLength()
    override fun close() {}
}
