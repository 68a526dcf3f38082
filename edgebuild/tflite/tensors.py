"""A .tflite's tensors and operators, read from its flatbuffer through the TFLite schema module ai-edge-litert
ships: no interpreter is built, so models with custom or Select TF (flex) ops read like any other. The one
parser `inspection`, the GPU delegate's rules and the op runtimes share."""
from __future__ import annotations

from dataclasses import dataclass, field

TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer
# custom ops whose kernels LiteRT's default op resolver registers (register.cc): no app code needed
BUILT_IN_CUSTOM_OPS = {"TFLite_Detection_PostProcess"}


@dataclass
class TensorInfo:
    index: int
    name: str
    shape: list[int]
    dtype: str
    bytes: int
    constant: bool  # stored in the file (weights, biases, shapes), not computed
    scales: list[float] = field(default_factory=list)  # one per channel where quantized per axis
    zero_points: list[int] = field(default_factory=list)
    quantized_dimension: int | None = None


@dataclass
class OpInfo:
    index: int
    op: str
    inputs: list[int]
    outputs: list[int]
    weight_bytes: int  # bytes of the constant tensors this op reads
    kind: str = "builtin"  # builtin, custom (needs the app to register it) or flex (needs Select TF ops)


# TensorType -> NumPy's name, and bytes per element where NumPy has no such type (int4: two per byte)
_ODD_TYPES = {"INT4": ("int4", 0.5), "BFLOAT16": ("bfloat16", 2), "STRING": ("string", 0),
              "RESOURCE": ("resource", 0), "VARIANT": ("variant", 0), "BOOL": ("bool", 1)}


def _names(enum_class) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


def _dtype(type_name: str) -> tuple[str, float]:
    import numpy as np

    if type_name in _ODD_TYPES:
        return _ODD_TYPES[type_name]
    dtype = np.dtype(type_name.lower())
    return dtype.name, dtype.itemsize


def _buffer_bytes(model: bytes, buffer) -> bytes:
    """A buffer's data: inside the flatbuffer, or after it (offset/size, for models over 2 GB)."""
    if buffer is None:
        return b""
    if buffer.Offset() > 1:
        return model[buffer.Offset():buffer.Offset() + buffer.Size()]
    return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""


def _op_name(code, builtin_names: dict[int, str]) -> tuple[str, str]:
    """(name, kind): a builtin's name, or a custom op's custom code; kind is builtin, custom or flex
    (a TensorFlow op run by the Select TF ops delegate; its custom code starts with "Flex")."""
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = builtin_names.get(builtin, f"BUILTIN_{builtin}")
    if name != "CUSTOM":
        return name, "builtin"
    custom = (code.CustomCode() or b"").decode("utf-8", "replace")
    return custom or "CUSTOM", "flex" if custom.startswith("Flex") else "custom"


def parse_model(data: bytes):
    """(bytes, root, subgraph 0, tensors by index, ops) of a .tflite, read from its flatbuffer alone:
    no interpreter, so models with custom or Select TF (flex) ops are listed like any other."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(data, 0)
    graph = root.Subgraphs(0)
    type_names = _names(schema.TensorType)
    tensors = {}
    for index in range(graph.TensorsLength()):
        t = graph.Tensors(index)
        dtype, itemsize = _dtype(type_names.get(t.Type(), f"TYPE_{t.Type()}"))
        shape = [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []
        stored = _buffer_bytes(data, root.Buffers(t.Buffer())) if t.Buffer() > 0 else b""
        q = t.Quantization()
        scales = [float(v) for v in q.ScaleAsNumpy()] if q is not None and q.ScaleLength() else []
        zero_points = [int(v) for v in q.ZeroPointAsNumpy()] if q is not None and q.ZeroPointLength() else []
        tensors[index] = TensorInfo(
            index=index, name=(t.Name() or b"").decode("utf-8", "replace"), shape=shape, dtype=dtype,
            bytes=len(stored) if stored else int(np.prod([max(d, 1) for d in shape]) * itemsize),
            constant=bool(stored), scales=scales, zero_points=zero_points[:len(scales)] if scales else [],
            quantized_dimension=int(q.QuantizedDimension()) if scales else None)
    builtin_names = _names(schema.BuiltinOperator)
    codes = [_op_name(root.OperatorCodes(i), builtin_names) for i in range(root.OperatorCodesLength())]
    ops = []
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        name, kind = codes[op.OpcodeIndex()]
        inputs = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append(OpInfo(index=index, op=name, inputs=[i for i in inputs if i >= 0], outputs=outputs,
                          weight_bytes=sum(tensors[i].bytes for i in inputs if i >= 0 and tensors[i].constant),
                          kind=kind))
    return data, root, graph, tensors, ops


HYBRID_ACTIVATIONS = ("float32", "float16")
HYBRID_WEIGHTS = ("int8", "int4", "uint8")


def is_hybrid_op(op: str, inputs) -> bool:
    """Whether an op computes from float activations and int8/int4 constant weights (a dynamic-range op, which
    quantizes its activations on the fly); `inputs`: (constant, dtype) pairs. DEQUANTIZE, which turns stored
    weights into float at load (weight-only modes), is not such an op."""
    inputs = list(inputs)
    return op != "DEQUANTIZE" and any(not c and d in HYBRID_ACTIVATIONS for c, d in inputs) and \
        any(c and d in HYBRID_WEIGHTS for c, d in inputs)


def has_hybrid_ops(data: bytes) -> bool:
    """Whether a .tflite computes any op from float activations and integer weights (dynamic_int8/int4)."""
    _, _, _, tensors, ops = parse_model(data)
    return any(is_hybrid_op(op.op, [(tensors[i].constant, tensors[i].dtype) for i in op.inputs if i in tensors])
               for op in ops)


def sample_shape(shape, batched: bool) -> list:
    """A tensor's shape for one sample: without its batch dimension, where it has one (processing's rule)."""
    from ..processing import starts_with_batch

    shape = list(shape)
    return shape[1:] if starts_with_batch(shape, batched) else shape


def input_has_batch(data: bytes) -> bool:
    """processing.has_batch of a .tflite's (first) input, read from its flatbuffer."""
    from ..processing import has_batch

    _, _, graph, tensors, _ = parse_model(data)
    return has_batch(tensors[int(graph.Inputs(0))].shape)
