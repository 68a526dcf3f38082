"""The Android bundle: files placed as in an app module, a Kotlin wrapper over LiteRT's Interpreter.

Why the classic `org.tensorflow.lite.Interpreter` API (shipped in com.google.ai.edge.litert:litert)
and not `CompiledModel`: it runs the same CPU kernels as the Python interpreter that measured the
model, takes a memory-mapped model and plain ByteBuffers of any dtype (int8, uint8, float32),
and works on LiteRT 1.x and 2.x alike. CompiledModel pays off for GPU/NPU acceleration, which
edgebuild neither measures nor gates.
"""
from __future__ import annotations

from ..recipe import Recipe

PLATFORM = "android"
WHAT = "Android: an app module's files, a Kotlin wrapper over LiteRT, an instrumented golden test"

TEMPLATES = {  # template -> path in the bundle ({package_dir}, {name}, {model_file} filled in); a task kind's own
    # version of a template, <kind>/<template>, extends the shared one (render.kind_template)
    "Wrapper.kt.j2": "src/main/java/{package_dir}/{class_name}.kt",
    "Processing.kt.j2": "src/main/java/{package_dir}/{name}Processing.kt",
    "GoldenTest.kt.j2": "src/androidTest/java/{package_dir}/{name}GoldenTest.kt",
    "build.gradle.kts.j2": "litert.gradle.kts",
    "README.md.j2": "README.md",
}
MODEL_PATH = "src/main/assets/{model_file}"
LABELS_PATH = "src/main/assets/{recipe}-labels.txt"
METADATA_PATH = "src/main/assets/{recipe}-metadata.json"
GOLDEN_PATH = "src/androidTest/assets/{recipe}-golden.json"


def model_values(ctx: dict) -> dict:
    """LiteRT's Java Interpreter takes ByteBuffers of every tensor type: nothing to add."""
    return {}


def settings(recipe: Recipe) -> dict:
    package = recipe.spec.bundles.android.package or "com.example." + recipe.name.replace("-", "_")
    return {"package": package, "package_dir": package.replace(".", "/")}


def enabled(recipe: Recipe) -> bool:
    return recipe.spec.bundles.android.enabled
