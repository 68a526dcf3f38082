"""What a .tflite stores and computes in: integer or float weights, integer or float activations.

A quantizer that skips every op still writes a model, and it runs and passes its gates as the
float model it still is. The convert steps ask `shortfall()` after every conversion, so a target
whose model is not what its mode says fails, naming the count (issue: DeepLabV3's weight_only_int8
came out with all 55 weight tensors float32). Read from the flatbuffer alone: no interpreter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .flatbuffer import INTEGER_WEIGHTS

WEIGHT_DTYPES = ("float32", "float16", "bfloat16", "int8", "uint8", "int4", "int16")
INT4_MODES = ("weight_only_int4", "dynamic_int4")
WEIGHT_MODES = ("weight_only_int8", "weight_only_int4", "dynamic_int8", "dynamic_int4", "int8", "int16x8")


@dataclass(frozen=True)
class Precision:
    """Counts over subgraph 0: weights are constant tensors of two or more dimensions (filters, matrices:
    not biases, shapes or scalars); activations are the tensors computed between the model's inputs and
    outputs."""

    weights: int
    weights_by_dtype: dict
    activations: int
    activations_by_dtype: dict
    largest_weight: int = 0  # elements of the largest weight tensor

    def weights_in(self, *dtypes: str) -> int:
        return sum(self.weights_by_dtype.get(d, 0) for d in dtypes)

    def activations_in(self, *dtypes: str) -> int:
        return sum(self.activations_by_dtype.get(d, 0) for d in dtypes)


def precision(model: bytes) -> Precision:
    from .tensors import parse_model

    _, _, graph, tensors, _ = parse_model(model)
    ends = {int(i) for i in graph.InputsAsNumpy()} | {int(i) for i in graph.OutputsAsNumpy()}
    weights: dict[str, int] = {}
    activations: dict[str, int] = {}
    largest = 0
    for index, tensor in tensors.items():
        if tensor.constant and len(tensor.shape) >= 2 and tensor.dtype in WEIGHT_DTYPES:
            weights[tensor.dtype] = weights.get(tensor.dtype, 0) + 1
            largest = max(largest, math.prod(tensor.shape))
        elif not tensor.constant and index not in ends:
            activations[tensor.dtype] = activations.get(tensor.dtype, 0) + 1
    return Precision(sum(weights.values()), weights, sum(activations.values()), activations, largest)


def shortfall(model: bytes, mode: str, kept_float: bool = False) -> str | None:
    """Why `model` is not what quantization `mode` says (None when it is, or when the mode promises no
    dtype: float32, none, custom). A model without weights passes the weight checks: there is nothing to
    quantize; so does one whose recipe kept ops in float (`kept_float`: keep_float may keep every weighted op)."""
    found = precision(model)
    if mode in WEIGHT_MODES and found.weights and not kept_float and not found.weights_in(*INTEGER_WEIGHTS):
        wanted = "int4" if mode in INT4_MODES else "int8"
        return f"quantized no weights (0 of {found.weights} weight tensors {wanted})"
    if mode == "int8" and found.activations and not found.activations_in("int8", "uint8"):
        return f"quantized no activations (0 of {found.activations} activation tensors int8)"
    if mode == "int16x8" and found.activations and not found.activations_in("int16"):
        return f"quantized no activations (0 of {found.activations} activation tensors int16)"
    if mode == "float16" and found.weights and not found.weights_in("float16"):
        return f"stored no weights as float16 (0 of {found.weights} weight tensors float16)"
    return None
