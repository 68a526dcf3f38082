// Stand-ins with the exact signatures of the few Android types the generated Kotlin uses
// (the real ones come from Google's Maven repository, which this machine does not reach).
// They only have to compile; nothing here runs.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content

abstract class Context {
    abstract val assets: android.content.res.AssetManager  // Context.getAssets()
}
