"""The summary step: one JSON per recipe with everything later steps (bundles, reports) read."""
from __future__ import annotations

import platform
from importlib import metadata

from ..graph.step import Step
from ..layout import RecipeLayout, read_json, write_json
from .choice import choose, is_hybrid
from ..recipe import Recipe

TOOLS = ("edgebuild", "tensorflow", "ai-edge-litert", "litert-quantizer", "numpy", "doit")


def tool_versions() -> dict:
    """Versions of the tools that made the artifacts, read from package metadata (no imports)."""
    versions = {"python": platform.python_version()}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = None
    return versions


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """summary: every target's metrics and verdict in one file, which reports and the ship step read."""
    names = [t.name for t in recipe.spec.targets]
    return Step("summary", "every target's metrics and verdict", write_summary, (recipe, layout),
                reads=(layout.reference, layout.preprocess,
                       *(f(n) for n in names for f in (layout.metrics, layout.verdict, layout.inspection))),
                writes=(layout.summary,), config={"hash": recipe.hash, "file": recipe.file})


def write_summary(recipe: Recipe, layout: RecipeLayout) -> dict:
    targets = []
    for target in recipe.spec.targets:
        targets.append({
            "name": target.name,
            "quantization": target.quantization.value,
            "io": target.io,
            "backend": recipe.backend(target),
            "thresholds": recipe.thresholds_for(target),
            "metrics": read_json(layout.metrics(target.name)),
            "verdict": read_json(layout.verdict(target.name)),
            "baseline": target.baseline,
            "hybrid": is_hybrid(read_json(layout.inspection(target.name))),
        })
    gated = [t for t in targets if not t["baseline"]]
    summary = {
        "recipe": recipe.name,
        "file": recipe.file,
        "description": recipe.spec.description,
        "task": recipe.spec.task.value,
        "primary": recipe.kind.primary,
        "recipe_hash": recipe.hash,
        "labels": list(recipe.labels),
        "preprocess": read_json(layout.preprocess),
        "reference": read_json(layout.reference),
        "targets": targets,
        "passed": all(t["verdict"]["passed"] for t in gated),
        "failures": [line for t in gated for line in t["verdict"]["failures"]],
        "versions": tool_versions(),
        "ship": recipe.spec.ship,
        "ship_by": recipe.spec.ship_by,
        "choice": choose(targets, recipe.spec.ship, recipe.spec.ship_by).to_json(),
    }
    chance = recipe.kind.near_chance(summary["reference"], list(recipe.labels)) if summary["failures"] else None
    if chance:
        summary["failures"].append(f"{recipe.where()}: {chance}")
    write_json(layout.summary, summary)
    return summary


def shipped_target(summary: dict) -> tuple[str | None, str]:
    """(target, why): the ship choice the summary step made (bundle/choice.py)."""
    return summary["choice"]["target"], summary["choice"]["why"]
