"""The ship step: pick the target the bundles carry, give it standard TFLite metadata (model_metadata.py),
and record what the bundles say about it.

ship.json changes only when what a bundle shows changes (the shipped target and its bytes,
accuracy, size, pass/fail), so an edited threshold that flips nothing leaves the bundles alone.
Latency is measured on the build machine and differs between two builds: it stays in build/
(metrics, summary, reports) and never reaches ship.json or a bundle.
"""
from __future__ import annotations

import hashlib

from .. import progress
from ..graph.step import Step
from ..layout import RecipeLayout, read_json, write_bytes, write_json
from ..recipe import Recipe
from ..steps.summary import shipped_target
from . import model_metadata

SHOWN_METRICS = ("size_bytes", "n_test")  # after the task kind's own (kinds.TaskKind.shown)


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """ship: summary.json and the targets' models -> ship.json and shipped.tflite (when a target ships)."""
    return Step("ship", "pick the target the bundles ship, with standard TFLite metadata", write_ship, (recipe, layout),
                reads=(layout.summary, layout.preprocess, layout.data, *(layout.model(t.name) for t in recipe.spec.targets)),
                writes=(layout.ship_info, layout.shipped_model),
                config={"ship": recipe.spec.ship, "metadata": model_metadata.config(recipe)})


def write_ship(recipe: Recipe, layout: RecipeLayout) -> dict:
    summary = read_json(layout.summary)
    target, why = shipped_target(summary, recipe.spec.ship)
    kind = recipe.kind
    shown = (*kind.shown, *SHOWN_METRICS)
    info = {
        "target": target,
        "why": why,
        "recipe_hash": recipe.model_hash(recipe.target(target)) if target else None,
        f"reference_{kind.primary}": summary["reference"][kind.primary],
        "targets": [{"name": t["name"], "quantization": t["quantization"], "io": t["io"],
                     "passed": t["verdict"]["passed"], **{k: t["metrics"][k] for k in shown}}
                    for t in summary["targets"]],
        "versions": summary["versions"],
    }
    if target is None:
        layout.shipped_model.unlink(missing_ok=True)
        progress.say(f"no bundle: {why}")
    else:
        model = model_metadata.shipped_bytes(recipe, layout, target)
        info["sha256"] = hashlib.sha256(model).hexdigest()  # bundles rerun when the shipped bytes change
        write_bytes(layout.shipped_model, model)
        progress.say(f"ships {target}: {why}")
    write_json(layout.ship_info, info)
    return info
