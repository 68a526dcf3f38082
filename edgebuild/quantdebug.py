"""Which layers lose the most when quantized: TensorFlow's QuantizationDebugger per int8 / int16x8 target.

For each quantized tensor it compares the quantized model's values with the float
model's on test samples; RMSE divided by the tensor's scale says how many quantization
steps the error spans (about 0.29 is the ideal for uniform rounding).
"""
from __future__ import annotations

import csv
import io
import math

from . import progress
from .convert import conversion_config, export_reads, make_converter
from .datasets import load_prepared
from .layout import RecipeLayout, write_json
from .recipe import Recipe
from .schema import TargetSpec
from .sources import model_files
from .step import Step

DEBUG_SAMPLES = 64
TOP_LAYERS = 10


def step(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> Step:
    """debug/<t>: the per-layer error of an int8 target, for its report."""
    return Step(f"debug/{target.name}", "per-layer quantization error", debug_target, (recipe, layout, target.name),
                reads=(*model_files(recipe, layout), layout.source_info, layout.data),
                reads_if_present=export_reads(recipe, layout),
                writes=(layout.quant_debug(target.name),),
                config={**conversion_config(target), "samples": DEBUG_SAMPLES}, log=layout.log(f"debug/{target.name}"))


def debug_target(recipe: Recipe, layout: RecipeLayout, target_name: str) -> dict:
    """Per-layer quantization error of one calibrated target -> build/<recipe>/<target>/quant_debug.json."""
    log = layout.log(f"debug/{target_name}")
    log.unlink(missing_ok=True)
    target = recipe.target(target_name)
    tf = progress.tensorflow(log)
    converter = make_converter(recipe, layout, target, log, announce=False)
    converter.inference_input_type = converter.inference_output_type = tf.float32  # the debugger feeds floats
    samples = load_prepared(layout, "x_test").x_test[:DEBUG_SAMPLES]

    def debug_dataset():
        for sample in samples:
            yield [sample[None]]

    try:
        with progress.tool_output(log):
            debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=debug_dataset)
            debugger.run()
            dump = io.StringIO()
            debugger.layer_statistics_dump(dump)
    except Exception as exc:  # the debugger does not cover every mode; say so in the report
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        result = {"available": False, "reason": first, "layers": []}
    else:
        result = {"available": True, "reason": "", "samples": len(samples), "layers": _layers(dump.getvalue())}
    write_json(layout.quant_debug(target_name), result)
    return result


def _layers(csv_text: str) -> list[dict]:
    layers = []
    for row in csv.DictReader(io.StringIO(csv_text)):
        scale, mse = float(row["scale"]), float(row["mean_squared_error"])
        if not scale or math.isnan(mse):
            continue
        layers.append({"op": row["op_name"], "tensor": row["tensor_name"], "scale": scale,
                       "rmse_over_scale": math.sqrt(mse) / scale, "max_abs_error": float(row["max_abs_error"]),
                       "elements": int(float(row["num_elements"]))})
    layers.sort(key=lambda layer: -layer["rmse_over_scale"])
    return layers[:TOP_LAYERS]
