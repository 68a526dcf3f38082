"""What a recipe needs to know of a .tflite source, read when the recipe is loaded, without NumPy.

PyPI's `flatbuffers` imports NumPy as it is imported, and recipe validation, `--help` and a no-op build
import no NumPy. So this module reads the few fields it needs with `struct`, by the flatbuffer format's
own rules (a table's fields found through its vtable; offsets relative to where they are stored), and the
field numbers of TFLite's `schema.fbs` and TFLite Support's `metadata_schema.fbs`. The tests hold it to
the generated readers (`tflite.metadata.read`, `inspection.parse_model`) on every published model.

    Model.subgraphs[0]: tensors (type, buffer, quantization), inputs, outputs
    Model.buffers, Model.metadata ("TFLITE_METADATA" -> ModelMetadata)
    ModelMetadata: name, description, version, author, license, and per tensor: content (image colour),
                   NormalizationOptions, associated label files (read from the zip appended to the model)
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .metadata import associated_files
from .metadata import _lines as label_lines  # (the runtimes' split: at \n only)

TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool", 7: "int16",
                8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 13: "resource",
                14: "variant", 15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16"}
INTEGER_WEIGHTS = ("int8", "uint8", "int4", "int16")
COLOR_SPACES = {1: "rgb", 2: "grayscale"}
LABEL_FILE_TYPES = {2: "axis", 3: "value"}  # AssociatedFileType TENSOR_AXIS_LABELS, TENSOR_VALUE_LABELS
IMAGE_PROPERTIES, NORMALIZATION_OPTIONS = 2, 1  # ContentProperties.ImageProperties, ProcessUnitOptions.Normalization
METADATA_NAME = "TFLITE_METADATA"


class Table:
    """One flatbuffer table: its fields by number."""

    def __init__(self, data: bytes, position: int):
        self.data, self.position = data, position
        self.vtable = position - struct.unpack_from("<i", data, position)[0]
        self.vtable_size = struct.unpack_from("<H", data, self.vtable)[0]

    def _offset(self, field_number: int) -> int:
        slot = 4 + 2 * field_number
        return struct.unpack_from("<H", self.data, self.vtable + slot)[0] if slot < self.vtable_size else 0

    def scalar(self, field_number: int, fmt: str, default=0):
        offset = self._offset(field_number)
        return struct.unpack_from("<" + fmt, self.data, self.position + offset)[0] if offset else default

    def _target(self, field_number: int) -> int | None:
        offset = self._offset(field_number)
        if not offset:
            return None
        where = self.position + offset
        return where + struct.unpack_from("<I", self.data, where)[0]

    def table(self, field_number: int) -> "Table | None":
        target = self._target(field_number)
        return Table(self.data, target) if target is not None else None

    def string(self, field_number: int) -> str | None:
        target = self._target(field_number)
        if target is None:
            return None
        length = struct.unpack_from("<I", self.data, target)[0]
        return self.data[target + 4:target + 4 + length].decode("utf-8", "replace")

    def vector_length(self, field_number: int) -> int:
        target = self._target(field_number)
        return struct.unpack_from("<I", self.data, target)[0] if target is not None else 0

    def scalars(self, field_number: int, fmt: str) -> list:
        target = self._target(field_number)
        if target is None:
            return []
        length = struct.unpack_from("<I", self.data, target)[0]
        return list(struct.unpack_from(f"<{length}{fmt}", self.data, target + 4))

    def tables(self, field_number: int) -> list["Table"]:
        target = self._target(field_number)
        if target is None:
            return []
        length = struct.unpack_from("<I", self.data, target)[0]
        starts = (target + 4 + 4 * i for i in range(length))
        return [Table(self.data, s + struct.unpack_from("<I", self.data, s)[0]) for s in starts]


def root(data: bytes) -> Table:
    return Table(data, struct.unpack_from("<I", data, 0)[0])


@dataclass(frozen=True)
class TensorFacts:
    name: str
    dtype: str
    shape: list[int]
    scale: float | None = None  # the first of its quantization scales, when quantized
    zero_point: int | None = None


@dataclass(frozen=True)
class SourceFacts:
    """A .tflite source as the recipe sees it: its tensors' types, and what its standard metadata says."""

    inputs: list[TensorFacts]
    outputs: list[TensorFacts]
    integer_weights: int  # constant tensors of two or more dimensions stored as integers
    weights: int
    name: str | None = None  # the metadata's, None without metadata
    description: str | None = None
    version: str | None = None
    author: str | None = None
    license: str | None = None
    image: str | None = None  # the input's colour space, "rgb" or "grayscale", when the metadata calls it an image
    normalization: tuple[list[float], list[float]] | None = None  # the input's (mean, std)
    labels: list[str] | None = None  # the first label file packed on an output, its lines
    labels_kind: str | None = None  # "axis" (a score per label) or "value" (a class index per detection)
    has_metadata: bool = False

    def quantized(self) -> str | None:
        """What makes the model already quantized, in words ("uint8 input, int8 weights"), or None."""
        said = []
        for role, tensors in (("input", self.inputs), ("output", self.outputs)):
            integer = sorted({t.dtype for t in tensors if t.dtype in ("uint8", "int8", "int16")})
            if integer:
                said.append(f"{'/'.join(integer)} {role}")
        if self.integer_weights:
            said.append(f"{self.integer_weights} of {self.weights} weight tensors integer")
        return ", ".join(said) or None


def source_facts(data: bytes) -> SourceFacts:
    """Read a .tflite's tensors and standard metadata; raises ValueError when `data` is not a TFLite model."""
    if data[4:8] != b"TFL3":
        raise ValueError("not a TFLite model (no TFL3 identifier)")
    model = root(data)
    graphs = model.tables(2)
    if not graphs:
        raise ValueError("the model has no subgraph")
    graph, buffers = graphs[0], model.tables(4)
    tensors = graph.tables(0)

    def tensor(index: int) -> TensorFacts:
        t = tensors[index]
        quantization = t.table(4)
        scales = quantization.scalars(2, "f") if quantization is not None else []
        zero_points = quantization.scalars(3, "q") if quantization is not None else []
        return TensorFacts(name=t.string(3) or "", dtype=TENSOR_TYPES.get(t.scalar(1, "b"), "unknown"),
                           shape=t.scalars(0, "i"), scale=scales[0] if scales else None,
                           zero_point=zero_points[0] if scales and zero_points else (0 if scales else None))

    weights = integer = 0
    for t in tensors:
        buffer_index = t.scalar(2, "I")
        stored = buffer_index and buffer_index < len(buffers) and (
            buffers[buffer_index].vector_length(0) or buffers[buffer_index].scalar(1, "Q") > 1)
        if stored and len(t.scalars(0, "i")) >= 2:
            weights += 1
            integer += TENSOR_TYPES.get(t.scalar(1, "b")) in INTEGER_WEIGHTS
    facts = dict(inputs=[tensor(i) for i in graph.scalars(1, "i")], outputs=[tensor(i) for i in graph.scalars(2, "i")],
                 integer_weights=integer, weights=weights)
    metadata = _metadata_table(data, model, buffers)
    if metadata is not None:
        facts.update(_metadata_facts(metadata, associated_files(data)))
    return SourceFacts(**facts)


def _metadata_table(data: bytes, model: Table, buffers: list[Table]) -> Table | None:
    for entry in model.tables(6):
        if entry.string(0) == METADATA_NAME:
            buffer = buffers[entry.scalar(1, "I")]
            offset = buffer.scalar(1, "Q")
            if offset > 1:  # stored after the flatbuffer (models over 2 GB)
                raw = data[offset:offset + buffer.scalar(2, "Q")]
            else:
                target = buffer._target(0)
                raw = data[target + 4:target + 4 + buffer.vector_length(0)] if target is not None else b""
            return root(raw) if raw[4:8] == b"M001" else None
    return None


def _metadata_facts(metadata: Table, files: dict[str, bytes]) -> dict:
    facts = {"has_metadata": True, "name": metadata.string(0), "description": metadata.string(1),
             "version": metadata.string(2), "author": metadata.string(4), "license": metadata.string(5)}
    subgraphs = metadata.tables(3)
    if not subgraphs:
        return facts
    inputs, outputs = subgraphs[0].tables(2), subgraphs[0].tables(3)
    if inputs:
        content = inputs[0].table(3)
        if content is not None and content.scalar(0, "B") == IMAGE_PROPERTIES and content.table(1) is not None:
            facts["image"] = COLOR_SPACES.get(content.table(1).scalar(0, "b"))
        for unit in inputs[0].tables(4):
            if unit.scalar(0, "B") == NORMALIZATION_OPTIONS and unit.table(1) is not None:
                options = unit.table(1)
                facts["normalization"] = (options.scalars(0, "f"), options.scalars(1, "f"))
                break
    for tensor in outputs:
        for entry in tensor.tables(6):
            kind, name = LABEL_FILE_TYPES.get(entry.scalar(2, "b")), entry.string(0)
            if kind is not None and name in files:
                facts["labels"] = label_lines(files[name].decode("utf-8", "replace"))
                facts["labels_kind"] = kind
                return facts
    return facts
