"""The GPU delegate's op rules, as data: which ops it takes and on what conditions.

Transcribed from LiteRT (google-ai-edge/LiteRT at f67457790), not from TensorFlow's
`Analyzer(gpu_compatibility=True)`, which checks nothing since 2024 (tensorflow/tensorflow#77042):
- tflite/tools/versioning/gpu_compatibility.cc, CheckGpuDelegateCompatibility: one case per op (RULES);
- tflite/delegates/gpu/common/model_builder.cc, GetOpsToReplace: the types a computed tensor may have
  (TENSOR_TYPES, with quantized models allowed, Android's GpuDelegate default), no tensor of rank 5 or more,
  and only the largest partition of supported ops delegated (max_delegated_partitions = 1).
Each rule is (name, *arguments); gpu_delegate.py says what each name checks. An op not listed is refused.
"""
from __future__ import annotations

LITERT_COMMIT = "f67457790"

_POOL = [("io", (1,), 1), ("positive", "filterHeight", "filterWidth", "strideH", "strideW"), ("activation",)]
_AXES = [("io", (1,), 1), ("consts", 1), ("const_int32", 1)]  # MEAN, SUM, REDUCE_*: constant int32 axes
_UNARY = [("io", (1,), 1), ("consts", 0)]
_BINARY = [("operands",), ("activation",)]  # two computed inputs, or one and a constant
_PAD = [("io", (1,), 1), ("paddings",)]

RULES: dict[str, list[tuple]] = {
    "ADD": [("inputs", 2), ("broadcast",)],
    "ADD_N": [("inputs", 2)],
    "AVERAGE_POOL_2D": _POOL,
    "MAX_POOL_2D": _POOL,
    "BATCH_MATMUL": [("inputs", 2), ("outputs", 1)],
    "CAST": [("io", (1,), 1), ("cast",)],
    "CONCATENATION": [],
    "CONV_2D": [("conv_io",), ("positive", "strideH", "strideW", "dilationHFactor", "dilationWFactor"),
                ("activation",)],
    "DEPTHWISE_CONV_2D": [("conv_io",), ("positive", "strideH", "strideW", "dilationHFactor", "dilationWFactor"),
                          ("activation",), ("depthwise",)],
    "CUMSUM": [("inputs", 2), ("outputs", 1), ("type", 0, ("float16", "float32")), ("const_int32", 1)],
    "DENSIFY": [("io", (0,), 1)],
    "DEPTH_TO_SPACE": [("io", (1,), 1), ("above_one", "blockSize")],
    "SPACE_TO_DEPTH": [("io", (1,), 1), ("above_one", "blockSize")],
    "DEQUANTIZE": [("inputs", 1), ("outputs", 1), ("not_type", 0, "int16")],
    "EMBEDDING_LOOKUP": [("inputs", 2), ("outputs", 1), ("rank", 0, (1,)),
                         ("type", 1, ("int8", "int4", "int2", "float32"))],
    "DYNAMIC_UPDATE_SLICE": [("inputs", 3), ("rank", 2, (1,)), ("type", 2, ("int32",))],
    "FULLY_CONNECTED": [("option", "weightsFormat", 0), ("runtime_at_most", 2), ("first_not_const",),
                        ("keep_num_dims",)],
    "GATHER": [("operands",), ("rank", 1, (1,)), ("type", 1, ("int32",))],
    "HARD_SWISH": [("io", (1,), 1)],
    "LSTM": [("lstm",)],
    "MEAN": _AXES, "SUM": _AXES, "REDUCE_MAX": _AXES, "REDUCE_MIN": _AXES, "REDUCE_PROD": _AXES,
    "REDUCE_ANY": _AXES, "REDUCE_ALL": _AXES, "REVERSE_V2": _AXES,
    "MUL": [("inputs", 2), ("broadcast",), ("activation",)],
    "ONE_HOT": [("inputs", 4), ("outputs", 1), ("type", 0, ("int32",)), ("type", 2, ("float32",)),
                ("type", 3, ("float32",))],
    "QUANTIZE": [("io", (1,), 1)],
    "RESHAPE": [("io", (1,), 1)],
    "SELECT": [("inputs", 3), ("outputs", 1), ("type", 0, ("bool", "float16", "float32"))],
    "SELECT_V2": [("inputs", 3), ("outputs", 1), ("type", 0, ("bool", "float16", "float32"))],
    "SLICE": [("min_inputs", 3), ("rank", 0, (3, 4))],
    "SOFTMAX": [("option", "beta", 1.0)],
    "STRIDED_SLICE": [("option", "ellipsisMask", 0), ("option", "newAxisMask", 0), ("option", "shrinkAxisMask", 0),
                      ("min_inputs", 4), ("rank", 0, (3, 4))],
    "TILE": [("io", (1,), 1)],
    "TOPK_V2": [("io", (1,), 2)],
    "TRANSPOSE": [("io", (1,), 1)],
    "TRANSPOSE_CONV": [("conv_io",), ("positive", "strideH", "strideW")],
    "RESIZE_BILINEAR": [("io", (1,), 1), ("not_both", "alignCorners", "halfPixelCenters")],
    "RESIZE_NEAREST_NEIGHBOR": [("io", (1,), 1)],
    "PAD": _PAD, "PADV2": _PAD, "MIRROR_PAD": [("option", "mode", 0), *_PAD],
    **{op: [] for op in ("PACK", "RELU_N1_TO_1", "PRELU", "SPLIT", "SPLIT_V", "RELU", "RELU6", "LEAKY_RELU")},
    **{op: _UNARY for op in ("ABS", "CEIL", "COS", "ELU", "EXP", "FLOOR", "GELU", "LOG", "LOGICAL_NOT", "LOGISTIC",
                             "NEG", "ROUND", "RSQRT", "SIGN", "SIN", "SQRT", "SQUARE", "TANH")},
    **{op: _BINARY for op in ("ATAN2", "DIV", "EQUAL", "FLOOR_DIV", "FLOOR_MOD", "GREATER", "GREATER_EQUAL",
                              "LOGICAL_AND", "LOGICAL_OR", "LESS", "LESS_EQUAL", "MAXIMUM", "MINIMUM", "NOT_EQUAL",
                              "POW", "RIGHT_SHIFT", "STABLEHLO_REMAINDER", "STABLEHLO_SHIFT_LEFT",
                              "SQUARED_DIFFERENCE", "SUB")},
    "STABLEHLO_BROADCAST_IN_DIM": [("io", (1,), 1), ("consts", 1), ("rank", 1, (1,)), ("type", 1, ("int32",))],
    "STABLEHLO_CBRT": [("io", (1,), 1), ("consts", 0), ("type", 0, ("float16", "float32", "bfloat16"))],
    "STABLEHLO_CLAMP": [("io", (3,), 1), ("consts", 0)],
}

# custom ops the GPU delegate has its own kernels for (CheckCustomOpsGpuDelegateCompatibility)
CUSTOM_OPS = {"Convolution2DTransposeBias", "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "Resampler"}

# the types a computed (not constant) input or output may have; quantized models allowed
TENSOR_TYPES = ("float32", "float16", "int8", "uint8")
EXTRA_INPUT_TYPES = {"CAST": ("bool", "int32"), "ONE_HOT": ("int32",), "SELECT": ("bool",), "SELECT_V2": ("bool",),
                     "LOGICAL_AND": ("bool",), "GATHER": ("int32",)}
EXTRA_OUTPUT_TYPES = {"CAST": ("bool", "int32"), "LOGICAL_AND": ("bool",),
                      **{op: ("bool",) for op in ("GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "EQUAL",
                                                  "NOT_EQUAL")}}
MAX_RANK = 4
