"""The ship step: take the target the summary step chose (steps/choice.py), check that the runtimes the bundles
pin run its ops (tflite/op_runtimes.py), give it standard TFLite metadata (model_metadata.py), and record
what the bundles say about it.

ship.json changes only when what a bundle shows changes (the shipped target and its bytes,
accuracy, size, pass/fail), so an edited threshold that flips nothing leaves the bundles alone.
Latency is measured on the build machine and differs between two builds: it stays in build/
(metrics, summary, reports) and never reaches ship.json or a bundle.
"""
from __future__ import annotations

import hashlib

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..layout import RecipeLayout, read_json, write_bytes, write_json
from ..recipe import Recipe
from ..runtimes import LITERT_LEVELS
from ..steps.summary import shipped_target
from ..tflite import inspection, op_runtimes, tflm_ops
from . import model_metadata

SHOWN_METRICS = ("size_bytes", "n_test")  # after the task kind's own (kinds.TaskKind.shown)


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """ship: summary.json and the targets' models -> ship.json and shipped.tflite (when a target ships)."""
    return Step("ship", "pick the target the bundles ship, with standard TFLite metadata", write_ship, (recipe, layout),
                reads=(layout.summary, layout.preprocess, layout.data, *(layout.model(t.name) for t in recipe.spec.targets)),
                writes=(layout.ship_info, layout.shipped_model),
                config={"ship": recipe.spec.ship, "metadata": model_metadata.config(recipe),
                        "runtimes": pinned_runtimes(recipe),
                        **({"micro": tflm_ops.TFLM_COMMIT} if recipe.spec.bundles.micro.enabled else {})})


def pinned_runtimes(recipe: Recipe) -> dict:
    """The runtime versions the bundles pin (bundles.<platform>.runtime), as the templates name them."""
    bundles = recipe.spec.bundles
    return {"litert_android": bundles.android.runtime, "tflite_swift": bundles.ios.runtime}


def runtime_problems(recipe: Recipe, op_codes: list[dict], metrics: dict | None = None) -> list[str]:
    """Why the shipped model cannot run on a runtime an enabled bundle pins: one line per op and platform
    (`metrics`: the target's, where its evaluation found that TFLM refuses it)."""
    bundles, found = recipe.spec.bundles, []
    if bundles.android.enabled:
        version = bundles.android.runtime
        found += [f"bundles.android.runtime {version}: {p}"
                  for p in op_runtimes.problems(op_codes, LITERT_LEVELS[version], f"LiteRT {version}")]
    if bundles.ios.enabled:
        version = bundles.ios.runtime
        found += [f"bundles.ios.runtime {version}: {p}"
                  for p in op_runtimes.problems(op_codes, version, f"TensorFlowLiteSwift {version}")]
    if bundles.micro.enabled:
        found += [f"bundles.micro: TensorFlow Lite Micro (tflite-micro at {tflm_ops.TFLM_COMMIT}) has no kernel for {op}"
                  for op in tflm_ops.missing([(c["op"], c["kind"]) for c in op_codes])]
        if (metrics or {}).get("tflm_refuses"):
            found.append(f"bundles.micro: TensorFlow Lite Micro cannot run it: {metrics['tflm_refuses']} (ship a target "
                         "it runs, such as an int8 one, with `ship:`)")
    return found


def write_ship(recipe: Recipe, layout: RecipeLayout) -> dict:
    summary = read_json(layout.summary)
    target, why = shipped_target(summary)
    passed_over = summary["choice"]["passed_over"]
    kind = recipe.kind
    shown = (*kind.shown, *SHOWN_METRICS)
    info = {
        "target": target,
        "why": why,
        "passed_over": passed_over,  # every other target -> why it did not ship
        "recipe_hash": recipe.model_hash(recipe.target(target)) if target else None,
        f"reference_{kind.primary}": summary["reference"][kind.primary],
        "targets": [{"name": t["name"], "quantization": t["quantization"], "io": t["io"],
                     "passed": t["verdict"]["passed"], **{k: t["metrics"][k] for k in shown}}
                    for t in summary["targets"]],
        "versions": summary["versions"],
    }
    info["runtimes"] = pinned_runtimes(recipe)
    if target is None:
        layout.shipped_model.unlink(missing_ok=True)
        progress.say(f"no bundle: {why}")
    else:
        model = model_metadata.shipped_bytes(recipe, layout, target)
        op_codes = inspection.op_codes_of(model)
        metrics = next(t["metrics"] for t in summary["targets"] if t["name"] == target)
        problems = runtime_problems(recipe, op_codes, metrics)
        if problems:  # (nothing of this choice is left: the bundles stay unbuilt until it is fixed)
            layout.shipped_model.unlink(missing_ok=True)
            layout.ship_info.unlink(missing_ok=True)
            raise StepError("; ".join(f"{recipe.where(target)}: {p}" for p in problems))
        newest = op_runtimes.minimum(op_codes)
        info["runtimes"] = {**pinned_runtimes(recipe), "needs": newest.runtime if newest else None,
                            "needed_by": f"{newest.op} version {newest.version}" if newest else None}
        info["sha256"] = hashlib.sha256(model).hexdigest()  # bundles rerun when the shipped bytes change
        write_bytes(layout.shipped_model, model)
        figures = summary["choice"]["figures"]
        progress.say(f"ships {target}: {why}" + (f" ({figures})" if figures else ""))
        passing = {t["name"] for t in summary["targets"] if t["verdict"]["passed"] and not t["baseline"]}
        for name, reason in passed_over.items():
            if name in passing:
                progress.say(f"not {name}: {reason}")
    write_json(layout.ship_info, info)
    return info
