"""Golden vectors: test inputs with the bytes and labels the LiteRT interpreter gave for them, so the
apps' own tests prove on a device that they give what edgebuild measured, within tolerances measured
here, across the CPU kernels LiteRT has.

A device runs other kernels than the build machine (ARM's, not x86's), and LiteRT's own kernel sets
already differ: on MobileNetV2 int8, XNNPACK and the built-in kernels gave scores 0.42 apart. The golden
step runs the shipped model under each kernel set LiteRT offers here (KERNELS: XNNPACK, the built-in
optimized kernels, the reference kernels; the last two in child processes, kernel_sets.py) on every
candidate input, takes each output's largest difference between any two, and sets the tolerance at
MARGIN times that, plus one quantization step for a quantized output (plus FLOAT_FLOOR for a float
one). The golden file records the tolerance, what was measured and how. A task kind then keeps the
inputs whose decision holds beyond that tolerance (a classifier's winner beats its runner-up by more
than it), so a test fails on a device for a real difference, not for kernel noise.

Besides the test samples, three edge vectors put NaN, +infinity and -infinity into the first
sample, so the apps' preprocessing, quantization and top-k are held to the same rules as here:
a NaN quantizes to the zero point, an infinity to the end of the type's range, and a NaN score
ranks after every number (NumPy's order). JSON has no NaN or infinity, so such a value is written
as the string "NaN", "Infinity" or "-Infinity", which Java's Double.valueOf and Foundation's
JSONDecoder (`.convertFromString`) read back.
"""
from __future__ import annotations

import math
from typing import Callable

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..kinds import json_float
from ..kinds.base import FLOAT_FLOOR, MARGIN
from ..layout import RecipeLayout, read_json, write_json
from ..recipe import Recipe
from ..tflite.runner import TFLiteRunner
from . import kernel_sets
from .model_metadata import picture
from .kernel_sets import KERNELS

EDGE_VALUES = (float("nan"), float("inf"), float("-inf"))
GOLDEN_SAMPLES = 5  # test vectors kept (stable ones first), besides the three edge vectors


def edge_samples(raw):
    """The first sample three times, with NaN, +inf and -inf in its first values (one each, in turn)."""
    import numpy as np

    first = np.asarray(raw[0], np.float32)
    samples = []
    for shift in range(len(EDGE_VALUES)):
        sample = first.copy().reshape(-1)
        for i, value in enumerate(EDGE_VALUES):
            sample[(i + shift) % sample.size] = value
        samples.append(sample.reshape(first.shape))
    return samples


def golden_vectors(runner: TFLiteRunner, raw, preprocess: dict, expected: Callable[[object], dict],
                   roles: dict[str, int] | None = None, edges=None) -> list[dict]:
    """Test inputs (the data's own, then the edge vectors) with what the LiteRT interpreter gave for them:
    the raw output's bytes, and what the wrapper makes of it (`expected(dequantized output)`: the task
    kind's golden fields, such as the top labels). For a model of several outputs (`roles`: name -> position)
    `expected` gets {name: dequantized output} and the raw sample, and records the outputs' bytes itself."""
    import numpy as np

    from ..steps.datasets import apply_preprocess

    vectors = []
    for sample in [*raw, *(edge_samples(raw) if edges is None else edges)]:
        features = apply_preprocess(sample[None], {**preprocess, "resize": None})
        model_input = runner.feed(features[0])
        vector = {"raw": [_raw_value(v) for v in sample.reshape(-1)], "input_hex": model_input.tobytes().hex()}
        if roles is None:
            raw_output = runner.invoke(model_input)
            vector["output_hex"] = raw_output.tobytes().hex()
            vector.update(expected(runner.dequantize(runner.batch_of_one(raw_output))[0]))
        else:
            runner.invoke(model_input)
            outputs = [runner.batch_of_one(np.array(runner.interpreter.get_tensor(d["index"]))) for d in runner.outputs]
            vector.update(expected({role: runner.dequantize(outputs[k], runner.outputs[k])[0]
                                    for role, k in roles.items()}, sample))
        vectors.append(vector)
    return vectors


def golden_pictures(sample, image: dict) -> list[dict]:
    """A picture for the apps' Bitmap and CGImage entry points: the first vector's values as whole 0..255 pixels,
    blown up (nearest) to another size, not a multiple of the model's on either axis, so that the apps' resize
    really interpolates; with the raw values the data step's resize gives for it (steps/datasets.py). The apps'
    tests check that their resize gives these values, and that the picture entry point gives what the raw one does."""
    import numpy as np

    from ..steps.datasets import resize_bilinear, to_gray

    height, width = image["height"], image["width"]
    pixels = np.clip(np.rint(np.nan_to_num(np.asarray(sample, np.float64))), 0, 255).astype(np.uint8)
    pixels = pixels.reshape(height, width, -1)
    big_h, big_w = height + height // 2 + 1, width + width // 3 + 1
    rows = (np.arange(big_h) * height) // big_h
    cols = (np.arange(big_w) * width) // big_w
    rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
    rgb = rgb[rows][:, cols]
    values = rgb.astype(np.float32) if image["color"] != "grayscale" else to_gray(rgb)[..., None]
    raw = resize_bilinear(values[None], (height, width))[0]
    return [{"width": big_w, "height": big_h, "rgb": [int(v) for v in rgb.reshape(-1)],
             "raw": [_raw_value(v) for v in raw.reshape(-1)]}]


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """golden: the shipped model and the data's candidate samples -> golden.json, which every bundle carries."""
    return Step("golden", "golden vectors, with tolerances measured across LiteRT's kernels", write_golden,
                (recipe, layout), reads=(layout.ship_info, layout.data, layout.preprocess),
                reads_if_present=(layout.shipped_model,), writes=(layout.golden,),
                config={"kernels": list(KERNELS), "margin": MARGIN, "samples": GOLDEN_SAMPLES, "rules": 2,
                        "pictures": 1},
                log=layout.log("golden"))


def write_golden(recipe: Recipe, layout: RecipeLayout) -> dict:
    """Measure the shipped model's outputs under every kernel set, derive the tolerances, keep stable inputs."""
    from ..steps.datasets import apply_preprocess, load_prepared

    ship = read_json(layout.ship_info)
    if ship["target"] is None or not layout.shipped_model.exists():
        write_json(layout.golden, {"vectors": []})
        return {}
    preprocess = read_json(layout.preprocess)
    candidates = list(load_prepared(layout, "golden_raw").golden_raw)
    samples = [*candidates, *edge_samples(candidates)]
    roles = recipe.kind.output_roles(layout.shipped_model.read_bytes())
    with progress.tool_output(layout.log("golden")):  # (LiteRT announces its delegate on stderr)
        runner = TFLiteRunner(layout.shipped_model)  # its input's dtype and scale, its outputs' (as evaluated)
    details = runner.outputs
    inputs = [runner.feed(apply_preprocess(sample[None], {**preprocess, "resize": None})[0]) for sample in samples]
    with progress.tool_output(layout.log("golden")):
        ran, skipped = kernel_sets.outputs_under(layout.shipped_model, inputs, layout.log("golden"), runner)
    outputs = {kernels: [recipe.kind.measured_outputs([runner.batch_of_one(o) for o in found], roles)
                         for found in per_sample]
               for kernels, per_sample in ran.items()}  # kernel set -> [per sample: [raw output arrays]]
    if not outputs:
        raise StepError(f"{recipe.where()}: golden: no LiteRT kernel set could run the shipped model: "
                        f"{'; '.join(skipped)} (full output: {recipe.shown(layout.log('golden'))})")
    tolerance = []
    for k, detail in enumerate(details):
        per_kernel = [[sample[k] for sample in found[:len(candidates)]] for found in outputs.values()]
        tolerance.append(_tolerance(detail, per_kernel))
    views = [[_view([runner.dequantize(found[i][k], details[k]) for k in range(len(details))], roles)
              for found in outputs.values()] for i in range(len(samples))]  # per sample, per kernel set
    kind_tolerance = recipe.kind.golden_tolerance(tolerance, views[:len(candidates)], candidates)
    kind_measured, kind_how = kind_tolerance.pop("measured", None), kind_tolerance.pop("how", None)
    stable = [recipe.kind.stable_decision(recipe, views[i], kind_tolerance, samples[i]) for i in range(len(samples))]
    picked = [i for i in range(len(candidates)) if stable[i]][:GOLDEN_SAMPLES] or [0]
    chosen = [candidates[i] for i in picked]
    with progress.tool_output(layout.log("golden")):
        vectors = golden_vectors(runner, chosen, preprocess, lambda *output: recipe.kind.golden(recipe, *output), roles,
                                 edges=edge_samples(candidates))
    edge_stable = stable[len(candidates):]
    for vector, ok in zip(vectors, [stable[i] for i in picked] + edge_stable):
        vector["stable"] = bool(ok)
    golden = {
        "tolerance": {**kind_tolerance, **({"measured": kind_measured} if kind_measured else {}),
                      "outputs": tolerance, "kernels": [KERNELS[k] for k in outputs],
                      **({"kernels_that_cannot_run_it": skipped} if skipped else {}), "margin": kind_how or (
            f"{MARGIN:g} x the largest difference between any two kernel sets on the first {len(candidates)} test "
            f"samples, plus one quantization step for a quantized output or {FLOAT_FLOOR:g} for a float one")},
        "stable_samples": f"{sum(stable[:len(candidates)])} of {len(candidates)} test samples decide beyond the "
                          f"tolerance; the first {len(picked)} are the vectors" if any(stable[:len(candidates)]) else
                          f"none of {len(candidates)} test samples decides beyond the tolerance: the first is the vector",
        "labels": list(recipe.labels),
        "vectors": vectors,
    }
    image = picture(recipe, runner.sample_shape)
    if image is not None:
        golden["pictures"] = golden_pictures(chosen[0], image)
    write_json(layout.golden, golden)
    progress.say(f"{len(vectors)} vectors ({sum(v['stable'] for v in vectors)} decide beyond the tolerance); "
                 f"{_measured(tolerance)} across {len(outputs)} kernel sets"
                 + (f"; tolerance {_shown(kind_tolerance)}" if kind_tolerance else "")
                 + (f"; left out: {'; '.join(skipped)}" if skipped else ""))
    return golden


def _raw_value(value) -> int | float | str:
    """A raw input value for JSON: a whole number (a picture's pixels) as an integer, 3 characters instead of 5."""
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2 ** 24 else json_float(value)


def _view(outputs: list, roles: dict[str, int] | None):
    """One invoke's dequantized outputs as a task kind reads them: by position, or {role: output}."""
    return outputs if roles is None else {role: outputs[k] for role, k in roles.items()}


def _tolerance(detail: dict, per_kernel: list[list]) -> dict:
    """One output's largest difference between kernel sets (in quantization steps for a quantized output, in
    its own units for a float one; NaN against NaN agrees) and the tolerance derived from it."""
    import numpy as np

    quantized = np.issubdtype(detail["dtype"], np.integer)
    largest = 0.0
    for a in range(len(per_kernel)):
        for b in range(a + 1, len(per_kernel)):
            for x, y in zip(per_kernel[a], per_kernel[b]):
                x, y = x.astype(np.float64), y.astype(np.float64)
                same = (x == y) | (np.isnan(x) & np.isnan(y))
                differ = np.abs(np.where(same, 0.0, x - y))
                differ = differ[np.isfinite(differ)]  # (a NaN or infinity against a number is no measure)
                largest = max(largest, float(differ.max(initial=0.0)))
    scale = float(detail["quantization"][0]) if quantized else 1.0
    if quantized:
        steps = int(math.ceil(MARGIN * largest)) + 1
        return {"name": detail["name"], "quantized": True, "measured_steps": int(largest), "steps": steps,
                "scale": scale, "value": steps * scale}
    value = MARGIN * largest + FLOAT_FLOOR
    return {"name": detail["name"], "quantized": False, "measured": largest, "value": value}


def _shown(kind_tolerance: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in kind_tolerance.items())


def _measured(tolerance: list[dict]) -> str:
    return "outputs differ by " + ", ".join(f"{t['measured_steps']} steps" if t["quantized"] else f"{t['measured']:.2g}"
                                   for t in tolerance)
