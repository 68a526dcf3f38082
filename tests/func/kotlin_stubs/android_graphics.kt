@file:Suppress("unused", "UNUSED_PARAMETER")

package android.graphics

class Bitmap {
    val width: Int get() = TODO()  // getWidth()
    val height: Int get() = TODO()  // getHeight()
    fun getPixels(pixels: IntArray, offset: Int, stride: Int, x: Int, y: Int, width: Int, height: Int) {}

    companion object {
        @JvmStatic
        fun createScaledBitmap(src: Bitmap, dstWidth: Int, dstHeight: Int, filter: Boolean): Bitmap = TODO()
    }
}
