"""The microcontroller bundle: the shipped model as C++ for TensorFlow Lite Micro (TFLM), proven here in TFLM.

- the model as a `const`, 16-byte aligned array with its length, in its own .h/.cc pair (`xxd -i` gives
  neither `const` nor alignment, and flash-resident models need both);
- an op resolver of the model's ops only: `tflite::MicroMutableOpResolver<N>` and a registration function,
  whose `Add...` names come from TFLM's own header (tflite/tflm_ops.py); the ship step has already failed,
  one line per op, when TFLM lacks one;
- a settings header: the arena (measured in TFLM's Python interpreter, plus a stated margin: tflite/tflm.py),
  the input and output shapes, types and quantization, labels and preprocessing constants;
- an example (`examples/main.cc`, and an Arduino sketch) that runs the golden vectors' model inputs and checks
  the outputs LiteRT's reference kernels gave, within a tolerance measured here per output: TFLM's outputs against
  those. For a detector, only the rows its count covers (TFLite_Detection_PostProcess leaves the rest unwritten).

TFLM kernels agree with LiteRT's reference kernels, not with XNNPACK: the tolerance is measured, not assumed.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..errors import StepError
from ..recipe import Recipe
from ..tflite import inspection, tflm, tflm_ops
from . import kernel_sets
from .kernel_sets import KERNELS

PLATFORM = "micro"
WHAT = "Microcontroller: C++ for TensorFlow Lite Micro (model array, op resolver, measured arena, examples)"

TEMPLATES = {
    "model.h.j2": "src/{c_name}_model.h",
    "model.cc.j2": "src/{c_name}_model.cc",
    "ops.h.j2": "src/{c_name}_ops.h",
    "ops.cc.j2": "src/{c_name}_ops.cc",
    "settings.h.j2": "src/{c_name}_settings.h",
    "golden.h.j2": "examples/{c_name}_golden.h",
    "main.cc.j2": "examples/main.cc",
    "sketch.ino.j2": "examples/arduino/{c_name}/{c_name}.ino",
    "README.md.j2": "README.md",
}
MODEL_PATH = "model/{model_file}"
LABELS_PATH = "model/{recipe}-labels.txt"
METADATA_PATH = "model/{recipe}-metadata.json"
GOLDEN_PATH = "examples/{recipe}-golden.json"
TOLERANCE_MARGIN = 2  # the example's tolerance: this many times the most TFLM and LiteRT differed, plus one step
BYTES_PER_LINE = 16


def settings(recipe: Recipe) -> dict:
    return {"c_name": recipe.name.replace("-", "_"), "tflm": tflm_ops.TFLM_COMMIT}


def enabled(recipe: Recipe) -> bool:
    return recipe.spec.bundles.micro.enabled


def model_values(ctx: dict) -> dict:
    """The C++ array, the resolver's Add calls, the measured arena, and TFLM's outputs on the golden vectors."""
    import numpy as np

    model_path, log, where = Path(ctx["shipped_path"]), Path(ctx["log_path"]), ctx["where"]
    model = model_path.read_bytes()
    codes = inspection.op_codes_of(model)
    calls = sorted({tflm_ops.BUILTIN_OPS.get(c["op"]) or tflm_ops.CUSTOM_OPS[c["op"]] for c in codes})
    arena = tflm.arena(model_path, log, where)
    vectors = [v for v in ctx["golden"] if "input_hex" in v]
    inputs = [bytes.fromhex(v["input_hex"]) for v in vectors]
    from ..tflite.tensors import input_has_batch

    dtype, shape = ctx["input"]["dtype"], [1, *ctx["input"]["shape"]] if input_has_batch(model) else ctx["input"]["shape"]
    tensors = ctx["outputs"]
    found = tflm.outputs(model_path, arena["stated"], inputs, dtype, shape, len(tensors), log, where)
    settle = ctx["measured_outputs"]  # (a detector's slots past its count are unwritten: zeroed on both sides)
    found = [settle([np.frombuffer(raw, t["dtype"]).reshape([1, *t["shape"]]) for raw, t in zip(per, tensors)])
             for per in found]
    # against LiteRT's reference kernels, which TFLM's follow (XNNPACK's do not), each set in its own child
    ran, _ = kernel_sets.outputs_under(model_path, [np.frombuffer(b, dtype).reshape(shape) for b in inputs], log)
    kernels = "BUILTIN_REF" if "BUILTIN_REF" in ran else next(iter(ran))
    reference = [settle([np.asarray(o) for o in outputs]) for outputs in ran[kernels]]
    stable = [bool(v.get("stable")) for v in vectors]
    decides = ctx["task"] == "classification" and len(tensors) == 1 and tensors[0]["size"] > 1
    if decides:  # the same decisions: TFLM's top label is the reference kernels' wherever the winner is clear
        differ = [i for i, (ref, got) in enumerate(zip(reference, found)) if stable[i] and _top(ref[0]) != _top(got[0])]
        if differ:
            raise StepError(f"{where}: bundle/micro: TensorFlow Lite Micro's top label differs from LiteRT's "
                            f"{KERNELS[kernels]}' on golden vector{'s' if len(differ) > 1 else ''} "
                            f"{', '.join(map(str, differ))}, whose winner is clear under every LiteRT kernel set "
                            f"(full output: {log})")
    rows = _rows(ctx["roles"], tensors)
    outputs = []
    for k, tensor in enumerate(tensors):
        differ = max((_steps(tensor, ref[k].tobytes(), got[k].tobytes()) for ref, got in zip(reference, found)),
                     default=0.0)
        quantized = tensor["quantized"]
        outputs.append({**tensor, "index": k, "bytes": tensor["size"] * np.dtype(tensor["dtype"]).itemsize,
                        "measured": differ, "rows": rows[k],
                        "tolerance": math.ceil(TOLERANCE_MARGIN * differ) + 1 if quantized else TOLERANCE_MARGIN * differ + 1e-6})
    how = (f"{TOLERANCE_MARGIN} x the largest difference between TensorFlow Lite Micro's outputs and LiteRT's "
           f"{KERNELS[kernels]} on the {len(vectors)} golden vectors, plus one quantization step for a quantized output "
           "or 1e-6 for a float one")
    return {
        "model_array": _array(model), "model_length": len(model), "resolver_calls": calls, "arena": arena,
        "constant_bytes": tflm.constant_bytes(ctx["labels"], ctx["input"]["shape"], ctx["preprocess"], len(tensors)),
        # the example expects what the reference kernels gave: the outputs TFLM's kernels follow
        "tflm_vectors": [{"input": _array(raw), "outputs": [_array(o.tobytes()) for o in expected]}
                         for raw, expected in zip(inputs, reference)],
        "tflm_reference": KERNELS[kernels], "tflm_outputs": outputs, "tflm_how": how,
        "count_output": ctx["roles"]["count"] if ctx["roles"] and "count" in ctx["roles"] else None,
        "tflm_decides": decides, "tflm_stable": stable,
    }


def _top(output) -> int:
    """The winning class of one raw classifier output (a quantized output's order is its values' order), NaN never
    winning, ties to the earlier class (processing.top_classes)."""
    from ..processing import top_classes

    return top_classes(output.reshape(-1).astype("float64"), 1)[0]


def _rows(roles: dict | None, tensors: list[dict]) -> list[int | None]:
    """For each output, the values per detection when a count output says how many are written (the rest are not
    compared), else None: the whole output is compared."""
    if not roles or "count" not in roles:
        return [None] * len(tensors)
    slots = tensors[roles["scores"]]["size"]
    return [None if k == roles["count"] else tensors[k]["size"] // slots for k in range(len(tensors))]


def _steps(output: dict, expected: bytes, got: bytes) -> float:
    """The largest difference between two raw outputs: in quantization steps, or in the float's own units."""
    import numpy as np

    a, b = (np.frombuffer(x, dtype=np.dtype(output["dtype"])).astype(np.float64) for x in (expected, got))
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[both] - b[both]).max(initial=0.0))


def _array(data: bytes) -> str:
    """Bytes as the lines of a C array initializer."""
    return "\n".join("  " + ", ".join(f"0x{b:02x}" for b in data[i:i + BYTES_PER_LINE]) + ","
                     for i in range(0, len(data), BYTES_PER_LINE))
