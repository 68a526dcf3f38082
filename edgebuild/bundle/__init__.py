"""Bundles a mobile team copies into its app: one module per platform, registered here.

    ship step -> build/<recipe>/ship.json + shipped.tflite
    bundle/<platform> -> dist/<recipe>/<platform>/ + dist/<recipe>-<platform>.zip
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import progress
from ..layout import RecipeLayout
from ..recipe import Recipe
from . import android, ios, render, ship

PLATFORMS = {android.PLATFORM: android, ios.PLATFORM: ios}
__all__ = ["PLATFORMS", "build_bundle", "render", "ship"]


def build_bundle(recipe: Recipe, layout: RecipeLayout, platform: str) -> list[str]:
    """Render one platform's bundle from the shipped target; returns the paths in it."""
    module = PLATFORMS[platform]
    folder, archive = layout.bundle_dir(platform), layout.bundle_zip(platform)
    if not render.check_shippable(recipe, layout):
        render.remove_bundle(folder, archive)
        return []
    settings = module.settings(recipe)
    ctx = render.context(recipe, layout, settings)
    env = render.environment(recipe, platform)
    names = {key: value for key, value in ctx.items() if isinstance(value, str)}  # {package_dir}, {name}, {recipe} ...
    files = {template_path.format(**names): env.get_template(template).render(**ctx).encode()
             for template, template_path in module.TEMPLATES.items()}
    files[module.MODEL_PATH.format(**names)] = layout.shipped_model.read_bytes()
    files[module.LABELS_PATH.format(**names)] = labels_text(recipe.labels).encode()
    files[module.METADATA_PATH.format(**names)] = _json(ctx["metadata"])
    files[module.GOLDEN_PATH.format(**names)] = _json({"top_k": ctx["top_k"], "vectors": ctx["golden"]})
    render.write_tree(files, folder, archive)
    progress.say(f"{platform}: {len(files) + 1} files in {recipe.shown(folder)}, {recipe.shown(archive)}")
    return sorted([*files, "manifest.json"])


def labels_text(labels) -> str:
    """One label per line, as LiteRT's Task Library and ML Model Binding read them; a line break inside
    a label is written as the two characters \\n so the count of lines stays the count of labels."""
    return "".join(label.replace("\r", "\\r").replace("\n", "\\n") + "\n" for label in labels)


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
