"""The ship step: pick the target the bundles carry, and record what they say about it.

ship.json changes only when what a bundle shows changes (the shipped target, the measured
figures, pass/fail), so an edited threshold that flips nothing leaves the bundles alone.
"""
from __future__ import annotations

import os
import shutil

from .. import progress
from ..layout import RecipeLayout, read_json, temporary_path, write_json
from ..recipe import Recipe
from ..summary import shipped_target

SHOWN_METRICS = ("accuracy", "accuracy_drop", "size_bytes", "latency_ms_median", "latency_ms_p90", "n_test")


def write_ship(recipe: Recipe, layout: RecipeLayout) -> dict:
    summary = read_json(layout.summary)
    target, why = shipped_target(summary, recipe.spec.ship)
    info = {
        "target": target,
        "why": why,
        "recipe_hash": recipe.model_hash(recipe.target(target)) if target else None,
        "reference_accuracy": summary["reference"]["accuracy"],
        "targets": [{"name": t["name"], "quantization": t["quantization"], "io": t["io"],
                     "passed": t["verdict"]["passed"], **{k: t["metrics"][k] for k in SHOWN_METRICS}}
                    for t in summary["targets"]],
        "versions": summary["versions"],
    }
    if target is None:
        layout.shipped_model.unlink(missing_ok=True)
        progress.say(f"no bundle: {why}")
    else:
        tmp = temporary_path(layout.shipped_model)
        shutil.copyfile(layout.model(target), tmp)
        os.replace(tmp, layout.shipped_model)
        progress.say(f"ships {target}: {why}")
    write_json(layout.ship_info, info)
    return info
