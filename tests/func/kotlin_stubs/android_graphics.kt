@file:Suppress("unused", "UNUSED_PARAMETER")

package android.graphics

class Bitmap {
    val width: Int get() = TODO()  // getWidth()
    val height: Int get() = TODO()  // getHeight()
    fun getPixels(pixels: IntArray, offset: Int, stride: Int, x: Int, y: Int, width: Int, height: Int) {}

    enum class Config { ARGB_8888 }

    companion object {
        // createBitmap(int[] colors, int width, int height, Bitmap.Config config)
        @JvmStatic
        fun createBitmap(colors: IntArray, width: Int, height: Int, config: Config): Bitmap = TODO()
    }
}
