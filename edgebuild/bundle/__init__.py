"""Bundles a mobile team copies into its app: one module per platform, registered here.

    ship step -> build/<recipe>/ship.json + shipped.tflite
    bundle/<platform> -> dist/<recipe>/<platform>/ + dist/<recipe>-<platform>.zip
    platforms: android.py, ios.py (phones), linux.py (a Python package for a board), micro.py (TFLM C++)

    ship.py      which target ships, and what the bundles say about it
    context.py   what the templates are told: tensors, preprocessing, labels, metadata
    golden.py    the golden step: vectors and tolerances measured across LiteRT's kernels, for the apps' tests
    literals.py  Kotlin / Swift literals and type names
    render.py    templates -> files;  tree.py  folder, manifest, zip
"""
from __future__ import annotations

from ..graph.step import Step
from ..layout import RecipeLayout
from ..recipe import Recipe
from ..resources import template_files
from . import android, golden, ios, linux, micro, render, ship

PLATFORMS = {android.PLATFORM: android, ios.PLATFORM: ios, linux.PLATFORM: linux, micro.PLATFORM: micro}
__all__ = ["PLATFORMS", "build_bundle", "golden", "golden_steps", "render", "ship", "steps"]


def enabled_bundles(recipe: Recipe) -> list[dict]:
    """The bundles a recipe builds, for its report: platform, folder, zip, what it holds."""
    return [{"platform": platform, "folder": f"dist/{recipe.name}/{platform}/", "zip": f"dist/{recipe.name}-{platform}.zip",
             "what": module.WHAT} for platform, module in PLATFORMS.items() if module.enabled(recipe)]


def build_bundle(recipe: Recipe, layout: RecipeLayout, platform: str) -> list[str]:
    return render.build_bundle(recipe, layout, platform, PLATFORMS[platform])


def golden_steps(recipe: Recipe, layout: RecipeLayout) -> list[Step]:
    """golden, when a bundle is built: the vectors every platform's tests carry (golden.py)."""
    return [golden.step(recipe, layout)] if any(module.enabled(recipe) for module in PLATFORMS.values()) else []


def steps(recipe: Recipe, layout: RecipeLayout) -> list[Step]:
    """bundle/<platform> for each enabled platform: ship.json (which records the shipped model's
    sha256), the golden vectors and the templates -> the bundle folder and its zip."""
    return [Step(f"bundle/{platform}", f"the {platform} bundle of the shipped target", build_bundle,
                 (recipe, layout, platform),
                 reads=(layout.ship_info, layout.golden, layout.preprocess, *template_files(recipe, platform),
                        *getattr(module, "READS", ())),
                 reads_if_present=(layout.shipped_model,),
                 writes=(layout.bundle_dir(platform), layout.bundle_zip(platform)),
                 config={"settings": module.settings(recipe), "labels": list(recipe.labels),
                         "description": recipe.spec.description},
                 log=layout.log(f"bundle/{platform}"))
            for platform, module in PLATFORMS.items() if module.enabled(recipe)]
