"""Which layers lose the most when quantized: TensorFlow's QuantizationDebugger per int8 / int16x8 target.

For each quantized tensor it compares the quantized model's values with the float
model's on test samples; RMSE divided by the tensor's scale says how many quantization
steps the error spans (about 0.29 is the ideal for uniform rounding).
"""
from __future__ import annotations

import csv
import io
import math

from .. import progress
from ..graph.step import Step
from ..layout import RecipeLayout, write_json
from ..recipe import Recipe
from ..recipe.schema import TargetSpec
from .convert import conversion_config
from .datasets import load_prepared

DEBUG_SAMPLES = 64
TOP_LAYERS = 10  # the report's table; quant_debug.json keeps every layer (a keep_float report looks its ops up)


def step(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> Step:
    """debug/<t>: the per-layer error of an int8 target, from the calibration its conversion kept."""
    return Step(f"debug/{target.name}", "per-layer quantization error", debug_target, (recipe, layout, target.name),
                reads=(layout.calibrated(target.name), layout.data),
                writes=(layout.quant_debug(target.name),),
                config={**conversion_config(target), "samples": DEBUG_SAMPLES}, log=layout.log(f"debug/{target.name}"))


def debug_target(recipe: Recipe, layout: RecipeLayout, target_name: str) -> dict:
    """Per-layer quantization error of one int8 target -> build/<recipe>/<target>/quant_debug.json.

    The debugger's model is what QuantizationDebugger(converter=...) would build for itself: the
    calibrated model, quantized with a NumericVerify op beside each quantized tensor. It is made
    from the calibration the convert step kept, instead of calibrating a second time.
    """
    log = layout.log(f"debug/{target_name}")
    log.unlink(missing_ok=True)
    tf = progress.tensorflow(log)
    samples = load_prepared(layout, "x_test").x_test[:DEBUG_SAMPLES]
    calibrated = layout.calibrated(target_name).read_bytes()
    from ..tflite.tensors import input_has_batch

    batched = bool(calibrated) and input_has_batch(calibrated)

    def debug_dataset():
        for sample in samples:
            yield [sample[None] if batched else sample]

    try:
        from tensorflow.lite.python import convert as tflite_convert

        if not calibrated:
            raise ValueError("the conversion kept no calibration (this TensorFlow calibrates other than "
                             "edgebuild knows)")
        with progress.tool_output(log):
            debug_model = tflite_convert.mlir_quantize(calibrated,
                                                       disable_per_channel=False, fully_quantize=False,
                                                       enable_numeric_verify=True)
            debugger = tf.lite.experimental.QuantizationDebugger(quant_debug_model_content=debug_model,
                                                                 debug_dataset=debug_dataset)
            debugger.run()
            dump = io.StringIO()
            debugger.layer_statistics_dump(dump)
    except Exception as exc:  # the debugger does not cover every model; say so in the report
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
    return layers
