"""The bundle step's work: render a platform's templates over the shipped model's context, add the
model, labels, metadata and golden vectors, and write the tree (folder, manifest, zip)."""
from __future__ import annotations

import json

from .. import progress
from ..errors import StepError
from ..layout import RecipeLayout, read_json
from ..recipe import Recipe
from ..resources import jinja_environment
from ..tflite.metadata import labels_text
from .context import context
from .literals import filters
from .tree import remove_bundle, write_tree


def environment(recipe: Recipe, platform: str):
    """Jinja for one platform's templates: code, so nothing is HTML-escaped; literals go through filters."""
    return jinja_environment(recipe, platform, **filters())


def build_bundle(recipe: Recipe, layout: RecipeLayout, platform: str, module) -> list[str]:
    """Render one platform's bundle from the shipped target; returns the paths in it."""
    folder, archive = layout.bundle_dir(platform), layout.bundle_zip(platform)
    if not _shippable(recipe, layout):
        remove_bundle(folder, archive)
        return []
    ctx = context(recipe, layout, platform, module.settings(recipe))
    ctx.update(module.model_values(ctx))
    env = environment(recipe, platform)
    names = {key: value for key, value in ctx.items() if isinstance(value, str)}  # {package_dir}, {name}, {recipe} ...
    files = {template_path.format(**names): env.get_template(kind_template(env, recipe, template)).render(**ctx).encode()
             for template, template_path in module.TEMPLATES.items()}
    files[module.MODEL_PATH.format(**names)] = layout.shipped_model.read_bytes()
    files[module.LABELS_PATH.format(**names)] = labels_text(ctx["labels"]).encode()
    files[module.METADATA_PATH.format(**names)] = _json(ctx["metadata"])
    files[module.GOLDEN_PATH.format(**names)] = golden_asset({"top_k": ctx["top_k"], **ctx["golden_file"]},
                                                             getattr(module, "GOLDEN_KEEPS", ()))
    files.update(module.extra_files(ctx) if hasattr(module, "extra_files") else {})
    write_tree(files, folder, archive)
    progress.say(f"{platform}: {len(files) + 1} files in {recipe.shown(folder)}, {recipe.shown(archive)}")
    return sorted([*files, "manifest.json"])


def kind_template(env, recipe: Recipe, template: str) -> str:
    """The task kind's own version of a template (<kind>/<template>, which extends the shared one), if any."""
    own = f"{recipe.spec.task.value}/{template}"
    return own if own in env.list_templates() else template


BUILD_ONLY = ("input_hex", "output_hex", "outputs_hex")  # the bytes edgebuild's own tests compare, not the apps'


def golden_asset(golden: dict, keeps: tuple[str, ...] = ()) -> bytes:
    """The golden file the apps' tests read: build/<recipe>/golden.json without the raw bytes only edgebuild's
    tests use (but those in `keeps`), one line of JSON (indented, shapes-detection's was 1.7 MB; now about 0.4 MB)."""
    dropped = set(BUILD_ONLY) - set(keeps)
    vectors = [{k: v for k, v in vector.items() if k not in dropped} for vector in golden.get("vectors", [])]
    return (json.dumps({**golden, "vectors": vectors}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            + "\n").encode()


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _shippable(recipe: Recipe, layout: RecipeLayout) -> bool:
    if not layout.ship_info.exists():
        raise StepError(f"{recipe.where()}: bundle: {layout.ship_info} is missing; run the ship step first")
    return read_json(layout.ship_info)["target"] is not None
