"""Look inside a .tflite: inputs, outputs, signatures, operators, tensors, and where the bytes go.

Read through the LiteRT interpreter (`_get_ops_details`, `get_tensor_details`), which
parses the flatbuffer with the runtime's own reader, with default delegates off so the
operators listed are the model's own, not a delegate's replacement.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import InputError

TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer


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


@dataclass
class Inspection:
    """Everything `edgebuild inspect` shows, as data (`to_json`) or text (`text`)."""

    path: str
    size_bytes: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    signatures: dict
    ops: list[OpInfo]
    tensors: list[TensorInfo]

    @property
    def op_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(op.op for op in self.ops).items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def weight_bytes(self) -> int:
        return sum(t.bytes for t in self.tensors if t.constant)

    @property
    def dtype_bytes(self) -> dict[str, int]:
        """Bytes of constant tensors per dtype: how much of the file is int8, float16, float32 ..."""
        totals = Counter()
        for tensor in self.tensors:
            if tensor.constant:
                totals[tensor.dtype] += tensor.bytes
        return dict(sorted(totals.items()))

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(op_counts=self.op_counts, weight_bytes=self.weight_bytes, dtype_bytes=self.dtype_bytes,
                    graph_bytes=self.size_bytes - self.weight_bytes)
        return data

    def text(self) -> str:
        lines = [f"{self.path}: {self.size_bytes} bytes, {len(self.ops)} operators, {len(self.tensors)} tensors"]
        for title, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            lines.append(f"{title}:")
            lines += [f"  {_tensor_line(t)}" for t in tensors]
        lines.append("signatures: " + ", ".join(f"{k}({', '.join(v['inputs'])}) -> {', '.join(v['outputs'])}"
                                                 for k, v in self.signatures.items()))
        lines.append("operators by type: " + ", ".join(f"{op} x{n}" for op, n in self.op_counts.items()))
        lines.append("operators in execution order:")
        lines += [f"  {op.index:3d} {op.op:<24} in {op.inputs} out {op.outputs}"
                  + (f"  weights {op.weight_bytes} B" if op.weight_bytes else "") for op in self.ops]
        lines.append("tensors:")
        lines += [f"  {t.index:3d} {_tensor_line(t)}{'  const' if t.constant else ''}" for t in self.tensors]
        share = self.weight_bytes / self.size_bytes if self.size_bytes else 0
        lines.append(f"where the bytes go: weights {self.weight_bytes} B ({share:.1%}), "
                     f"graph and metadata {self.size_bytes - self.weight_bytes} B")
        lines += [f"  {dtype:<8} {n:>10} B" for dtype, n in self.dtype_bytes.items()]
        return "\n".join(lines) + "\n"


def _tensor_line(t: TensorInfo) -> str:
    quant = ""
    if t.scales:
        scale = f"{t.scales[0]:.6g}" if len(t.scales) == 1 else f"{len(t.scales)} scales (axis {t.quantized_dimension})"
        zero = f"{t.zero_points[0]}" if len(set(t.zero_points)) == 1 else "per axis"
        quant = f"  scale {scale} zero_point {zero}"
    return f"{t.name}  {t.dtype}{list(t.shape)}  {t.bytes} B{quant}"


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    head = path.read_bytes()[:8] if path.is_file() else b""
    if head[4:8] != TFLITE_IDENTIFIER:
        what = "no such file" if not path.exists() else "not a TFLite model (no TFL3 identifier)"
        raise InputError(f"{path}: {what}")
    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def inspect_model(path) -> Inspection:
    """Inputs, outputs, signatures, operators and tensors of a .tflite file."""
    import numpy as np

    path = Path(path)
    interpreter = _interpreter(path)
    ops_raw = interpreter._get_ops_details()
    details = interpreter.get_tensor_details()
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}
    produced = {int(i) for op in ops_raw for i in op["outputs"]}
    tensors = {}
    for d in details:
        q = d["quantization_parameters"]
        dtype = np.dtype(d["dtype"])
        constant = d["index"] not in graph_inputs and d["index"] not in produced
        tensors[d["index"]] = TensorInfo(
            index=int(d["index"]), name=d["name"], shape=[int(s) for s in d["shape"]], dtype=dtype.name,
            bytes=int(np.prod(d["shape"])) * dtype.itemsize, constant=constant,
            scales=[float(s) for s in q["scales"]], zero_points=[int(z) for z in q["zero_points"]],
            quantized_dimension=int(q["quantized_dimension"]) if len(q["scales"]) else None)
    ops = [OpInfo(index=int(op["index"]), op=op["op_name"], inputs=[int(i) for i in op["inputs"] if i >= 0],
                  outputs=[int(i) for i in op["outputs"]],
                  weight_bytes=sum(tensors[int(i)].bytes for i in op["inputs"] if i >= 0 and tensors[int(i)].constant))
           for op in ops_raw]
    return Inspection(
        path=str(path), size_bytes=path.stat().st_size,
        inputs=[tensors[d["index"]] for d in interpreter.get_input_details()],
        outputs=[tensors[d["index"]] for d in interpreter.get_output_details()],
        signatures={k: {"inputs": list(v["inputs"]), "outputs": list(v["outputs"])}
                    for k, v in interpreter.get_signature_list().items()},
        ops=ops, tensors=[tensors[i] for i in sorted(tensors)])


def weights(path) -> dict:
    """Every constant tensor by name; quantized ones also as `<name>.dequantized` float32 copies."""
    import numpy as np

    path = Path(path)
    interpreter = _interpreter(path)
    arrays = {}
    for info in inspect_model(path).tensors:
        if not info.constant or not info.bytes:
            continue
        value = np.array(interpreter.get_tensor(info.index))
        arrays[info.name] = value
        if info.scales and np.issubdtype(value.dtype, np.integer):
            scales = np.asarray(info.scales, np.float32)
            zero_points = np.asarray(info.zero_points, np.float32)
            if len(scales) > 1:  # per-axis: broadcast along the quantized dimension
                shape = [1] * value.ndim
                shape[info.quantized_dimension] = len(scales)
                scales, zero_points = scales.reshape(shape), zero_points.reshape(shape)
            arrays[f"{info.name}.dequantized"] = ((value.astype(np.float32) - zero_points) * scales).astype(np.float32)
    return arrays


def save_weights(path, out) -> int:
    """Write `weights(path)` to an .npz (temporary name, then rename); returns the number of arrays."""
    import io

    import numpy as np

    from .layout import write_bytes

    arrays = weights(path)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(Path(out), buffer.getvalue())
    return len(arrays)


def step(recipe, layout, target: str):
    """inspect/<t>: operators, tensors and size breakdown of one model, for reports."""
    from .step import Step

    return Step(f"inspect/{target}", "operators, tensors, where the bytes go", inspect_target,
                (recipe, layout, target), reads=(layout.model(target),), writes=(layout.inspection(target),))


def inspect_target(recipe, layout, target: str) -> None:
    """The inspect step: build/<recipe>/<target>/inspect.json for reports."""
    from .layout import write_json

    result = inspect_model(layout.model(target)).to_json()
    result["path"] = recipe.shown(layout.model(target))  # relative: the same bytes in any checkout
    write_json(layout.inspection(target), result)
