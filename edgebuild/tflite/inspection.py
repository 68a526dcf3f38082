"""Look inside a .tflite: inputs, outputs, signatures, operators, tensors, and where the bytes go.

Read from the flatbuffer alone, through the TFLite schema module ai-edge-litert ships: no
interpreter is built, so any published model is listed, including those with custom ops or
Select TF (flex) ops, which the interpreter refuses to load without their kernels. Standard
metadata (descriptions, normalization, labels) is read through `tflite.metadata`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from .tensors import (  # noqa: F401 (BUILT_IN_CUSTOM_OPS, TensorInfo: read from here by other modules too)
    _ODD_TYPES, BUILT_IN_CUSTOM_OPS, TFLITE_IDENTIFIER, OpInfo, TensorInfo, _buffer_bytes, _names, _op_name, parse_model)

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
    subgraphs: int = 1  # only the first (the model's main graph) is listed
    metadata_entries: list[str] = field(default_factory=list)  # the model's named metadata buffers
    metadata: dict | None = None  # standard TFLite metadata (tflite_metadata.read), when present
    op_codes: list[dict] = field(default_factory=list)  # every op code of every subgraph: op, version, kind, runtime
    gpu: dict | None = None  # what LiteRT's GPU delegate would take, by its rules (gpu_delegate.readiness): advisory
    tflm_lacks: list[str] | None = None  # the ops TensorFlow Lite Micro has no kernel for (tflm_ops.py)

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
        lines.append("signatures: " + (", ".join(f"{k}({', '.join(v['inputs'])}) -> {', '.join(v['outputs'])}"
                                                  for k, v in self.signatures.items()) or "none"))
        lines.append("operators by type: " + ", ".join(f"{op} x{n}" for op, n in self.op_counts.items()))
        if self.op_codes:
            lines.append("op versions and the oldest TensorFlow Lite runtime for each: " + ", ".join(
                f"{c['op']} v{c['version']} ({_runtime_label(c)})" for c in self.op_codes))
            newest = _newest(self.op_codes)
            if newest is not None:
                lines.append(f"minimum runtime: TensorFlow Lite {newest['runtime']} ({newest['op']} version "
                             f"{newest['version']})")
        for kind, needs in (("custom", "the app must register their kernels"),
                            ("flex", "they need LiteRT's Select TF ops, the flex delegate")):
            names = sorted({op.op for op in self.ops if op.kind == kind} - BUILT_IN_CUSTOM_OPS)
            if names:
                lines.append(f"{kind} operators: {', '.join(names)} ({needs})")
        built_in = sorted({op.op for op in self.ops if op.kind == "custom"} & BUILT_IN_CUSTOM_OPS)
        if built_in:
            lines.append(f"custom operators every LiteRT runtime has built in: {', '.join(built_in)}")
        if self.gpu is not None:
            lines += gpu_lines(self.gpu)
        if self.tflm_lacks is not None:
            lines.append(tflm_line(self.tflm_lacks))
        lines.append("operators in execution order:")
        lines += [f"  {op.index:3d} {op.op:<24} in {op.inputs} out {op.outputs}"
                  + (f"  weights {op.weight_bytes} B" if op.weight_bytes else "") for op in self.ops]
        lines.append("tensors:")
        lines += [f"  {t.index:3d} {_tensor_line(t)}{'  const' if t.constant else ''}" for t in self.tensors]
        share = self.weight_bytes / self.size_bytes if self.size_bytes else 0
        lines.append(f"where the bytes go: weights {self.weight_bytes} B ({share:.1%}), "
                     f"graph and metadata {self.size_bytes - self.weight_bytes} B")
        lines += [f"  {dtype:<8} {n:>10} B" for dtype, n in self.dtype_bytes.items()]
        if self.subgraphs > 1:
            lines.append(f"subgraphs: {self.subgraphs} (the first is listed above)")
        if self.metadata_entries:
            lines.append("metadata entries: " + ", ".join(self.metadata_entries))
        lines += _metadata_lines(self.metadata)
        return "\n".join(lines) + "\n"


def tflm_line(lacks: list[str]) -> str:
    """Whether TensorFlow Lite Micro has a kernel for every op (tflm_ops.py, read from its op resolver)."""
    from .tflm_ops import TFLM_COMMIT

    where = f"TensorFlow Lite Micro (tflite-micro at {TFLM_COMMIT})"
    return f"{where}: has every operator" if not lacks else f"{where} lacks: {', '.join(lacks)}"


def gpu_lines(gpu: dict) -> list[str]:
    """What LiteRT's GPU delegate would take, in a line or two: advisory, as the lines say."""
    head = (f"GPU delegate (advisory: its rules, {gpu['rules']}, read from the model; nothing ran on a GPU): "
            f"takes {gpu['gpu_ops']} of {gpu['ops']} operators")
    if not gpu["fallback_ops"]:
        return [head + ", all in one run"]
    why = {r["index"]: r["why"] for r in gpu["refused"]}
    fallback = ", ".join(f"{f['op']} #{f['index']}" + (f" ({why[f['index']]})" if f["index"] in why else "")
                         for f in gpu["fallback"])
    return [head + f"; {gpu['fallback_ops']} {'falls' if gpu['fallback_ops'] == 1 else 'fall'} back to the CPU"
            + (f" (it takes the largest of {gpu['partitions']} runs of supported operators)" if gpu["partitions"] > 1 else "")
            + f": {fallback}"]


def _runtime_label(code: dict) -> str:
    if code["runtime"]:
        return code["runtime"]
    if code["kind"] == "flex":
        return "Select TF ops"
    if code["kind"] == "custom":
        return "built into LiteRT" if code["op"] in BUILT_IN_CUSTOM_OPS else "custom: the app registers it"
    return "not in TFLite's table"


def _newest(op_codes: list[dict]) -> dict | None:
    from .op_runtimes import minimum

    need = minimum(op_codes)
    return None if need is None else {"op": need.op, "version": need.version, "runtime": need.runtime}


def _metadata_lines(metadata: dict | None) -> list[str]:
    """Standard TFLite metadata as the runtimes read it, in a few lines."""
    if metadata is None:
        return ["standard metadata: none (MediaPipe Tasks and the Task Library need it)"]
    if "error" in metadata:
        return [f"standard metadata: unreadable: {metadata['error']}"]
    head = ", ".join(f"{k} {metadata[k]!r}" for k in ("name", "version", "author", "license") if metadata.get(k))
    lines = [f"standard metadata (min parser version {metadata['min_parser_version'] or 'not stated'}): {head}"]
    if metadata.get("description"):
        lines.append(f"  description: {metadata['description']}")
    for graph in metadata["subgraphs"]:
        for role in ("inputs", "outputs"):
            for tensor in graph[role]:
                parts = [tensor.get("content", "no content")]
                if "color_space" in tensor:
                    parts.append(tensor["color_space"])
                if "normalization" in tensor:
                    norm = tensor["normalization"]
                    parts.append(f"normalization mean {_short(norm['mean'])} std {_short(norm['std'])}")
                if tensor.get("stats", {}).get("min"):
                    parts.append(f"range {_short(tensor['stats']['min'])}..{_short(tensor['stats']['max'])}")
                parts += [f"{f['type']} {f['name']}" for f in tensor.get("associated_files", [])]
                lines.append(f"  {role[:-1]} {tensor['name']}: {', '.join(parts)}")
                if tensor.get("description"):
                    lines.append(f"    {tensor['description']}")
    if metadata.get("labels"):
        labels = metadata["labels"]
        lines.append(f"  labels ({len(labels)}): {', '.join(labels[:8])}{', ...' if len(labels) > 8 else ''}")
    if metadata.get("packed_files"):
        lines.append("  packed files: " + ", ".join(f"{k} ({n} B)" for k, n in metadata["packed_files"].items()))
    return lines


def _short(values: list[float]) -> str:
    shown = [f"{v:.6g}" for v in values[:4]]
    return "[" + ", ".join(shown) + (f", ... ({len(values)})" if len(values) > 4 else "") + "]"


def _tensor_line(t: TensorInfo) -> str:
    quant = ""
    if t.scales:
        scale = f"{t.scales[0]:.6g}" if len(t.scales) == 1 else f"{len(t.scales)} scales (axis {t.quantized_dimension})"
        zero = f"{t.zero_points[0]}" if len(set(t.zero_points)) == 1 else "per axis"
        quant = f"  scale {scale} zero_point {zero}"
    return f"{t.name}  {t.dtype}{list(t.shape)}  {t.bytes} B{quant}"


def _read_model(path: Path) -> bytes:
    data = path.read_bytes() if path.is_file() else b""
    if data[4:8] != TFLITE_IDENTIFIER:
        what = "no such file" if not path.exists() else "not a TFLite model (no TFL3 identifier)"
        raise InputError(f"{path}: {what}")
    return data


def _parse(path: Path):
    return parse_model(_read_model(path))


def _signatures(root) -> dict:
    result = {}
    for i in range(root.SignatureDefsLength()):
        sig = root.SignatureDefs(i)
        key = (sig.SignatureKey() or b"").decode("utf-8", "replace")
        result[key] = {"inputs": [(sig.Inputs(j).Name() or b"").decode() for j in range(sig.InputsLength())],
                       "outputs": [(sig.Outputs(j).Name() or b"").decode() for j in range(sig.OutputsLength())]}
    return result


def inspect_model(path) -> Inspection:
    """Inputs, outputs, signatures, operators, tensors and metadata of a .tflite file."""
    from . import gpu_delegate, tflm_ops
    from . import metadata as tflite_metadata

    path = Path(path)
    try:
        data, root, graph, tensors, ops = _parse(path)
        inputs = [tensors[int(i)] for i in graph.InputsAsNumpy()] if graph.InputsLength() else []
        outputs = [tensors[int(i)] for i in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
        signatures = _signatures(root)
        entries = [(root.Metadata(i).Name() or b"").decode("utf-8", "replace") for i in range(root.MetadataLength())]
        subgraphs = root.SubgraphsLength()
        op_codes = _op_codes(root)
        gpu = gpu_delegate.readiness(data)
        tflm_lacks = tflm_ops.missing([(op.op, op.kind) for op in ops])
    except InputError:
        raise
    except Exception as exc:  # a truncated or corrupt flatbuffer
        raise InputError(f"{path}: cannot be read as a TFLite model: {type(exc).__name__}: {exc}") from exc
    try:
        metadata = tflite_metadata.read(data)
    except Exception as exc:  # noqa: BLE001 - shown, not fatal: the model itself was read
        metadata = {"error": f"{type(exc).__name__}: {exc}"}
    return Inspection(path=str(path), size_bytes=len(data), inputs=inputs, outputs=outputs, signatures=signatures,
                      ops=ops, tensors=[tensors[i] for i in sorted(tensors)], subgraphs=subgraphs,
                      metadata_entries=entries, metadata=metadata, op_codes=op_codes, gpu=gpu,
                      tflm_lacks=tflm_lacks)


def op_codes_of(model: bytes) -> list[dict]:
    """The op codes (op, version, kind, runtime) of a model held in memory."""
    from ai_edge_litert import schema_py_generated as schema

    return _op_codes(schema.Model.GetRootAs(model, 0))


def _op_codes(root) -> list[dict]:
    """The model's op codes (each op and version it uses, in any subgraph) with the oldest TFLite runtime that
    runs each (op_runtimes.py; None for custom and flex ops, and versions TFLite's table does not list)."""
    from ai_edge_litert import schema_py_generated as schema

    from . import op_runtimes

    names = _names(schema.BuiltinOperator)
    codes = []
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i)
        name, kind = _op_name(code, names)
        codes.append({"op": name, "version": int(code.Version()), "kind": kind})
    return [{**c, "runtime": n.runtime} for c, n in zip(codes, op_runtimes.needs(codes))]


def _unpack_int4(stored: bytes, shape: list[int]):
    """int4 weights as int8: TFLite packs two per byte, the first in the low nibble, two's complement."""
    import numpy as np

    packed = np.frombuffer(stored, np.uint8)
    values = np.empty(packed.size * 2, np.int8)
    values[0::2], values[1::2] = packed & 0x0F, packed >> 4
    values = np.where(values > 7, values - 16, values).astype(np.int8)
    return values[:int(np.prod(shape))].reshape(shape)


def weights(path) -> dict:
    """Every constant tensor by name; quantized ones also as `<name>.dequantized` float32 copies.
    int4 tensors come as int8 values; other types NumPy lacks (string, ...) are left out."""
    import numpy as np

    path = Path(path)
    data, root, graph, tensors, _ = _parse(path)
    arrays = {}
    for info in tensors.values():
        if not info.constant or info.dtype in {name for name, _ in _ODD_TYPES.values()} - {"bool", "int4"}:
            continue
        stored = _buffer_bytes(data, root.Buffers(graph.Tensors(info.index).Buffer()))
        if info.dtype == "int4":
            value = _unpack_int4(stored, info.shape)
        else:
            value = np.frombuffer(stored, dtype=np.dtype(info.dtype)).reshape(info.shape).copy()
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

    from ..layout import write_bytes

    arrays = weights(path)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(Path(out), buffer.getvalue())
    return len(arrays)


def step(recipe, layout, target: str):
    """inspect/<t>: operators, tensors and size breakdown of one model, for reports."""
    from ..graph.step import Step

    from .gpu_rules import LITERT_COMMIT

    return Step(f"inspect/{target}", "operators, tensors, where the bytes go", inspect_target,
                (recipe, layout, target), reads=(layout.model(target),), writes=(layout.inspection(target),),
                config={"gpu_rules": LITERT_COMMIT})


def inspect_target(recipe, layout, target: str) -> None:
    """The inspect step: build/<recipe>/<target>/inspect.json for reports."""
    from ..layout import write_json

    result = inspect_model(layout.model(target)).to_json()
    result["path"] = recipe.shown(layout.model(target))  # relative: the same bytes in any checkout
    write_json(layout.inspection(target), result)
