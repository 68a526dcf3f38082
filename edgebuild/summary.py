"""The summary step: one JSON per recipe with everything later steps (bundles, reports) read."""
from __future__ import annotations

import platform
from importlib import metadata

from .layout import RecipeLayout, read_json, write_json
from .recipe import Recipe

TOOLS = ("edgebuild", "tensorflow", "ai-edge-litert", "numpy", "doit")


def tool_versions() -> dict:
    """Versions of the tools that made the artifacts, read from package metadata (no imports)."""
    versions = {"python": platform.python_version()}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = None
    return versions


def write_summary(recipe: Recipe, layout: RecipeLayout) -> dict:
    targets = []
    for target in recipe.spec.targets:
        targets.append({
            "name": target.name,
            "quantization": target.quantization.value,
            "io": target.io,
            "thresholds": recipe.thresholds_for(target),
            "metrics": read_json(layout.metrics(target.name)),
            "verdict": read_json(layout.verdict(target.name)),
        })
    summary = {
        "recipe": recipe.name,
        "file": recipe.file,
        "description": recipe.spec.description,
        "recipe_hash": recipe.hash,
        "labels": list(recipe.labels),
        "preprocess": read_json(layout.preprocess),
        "reference": read_json(layout.reference),
        "targets": targets,
        "passed": all(t["verdict"]["passed"] for t in targets),
        "failures": [line for t in targets for line in t["verdict"]["failures"]],
        "versions": tool_versions(),
    }
    write_json(layout.summary, summary)
    return summary
