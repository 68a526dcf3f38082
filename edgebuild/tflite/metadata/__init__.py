"""Standard TFLite metadata: what MediaPipe Tasks, the LiteRT Task Library and Android Studio read
from inside a `.tflite`, written and read back without tflite-support.

tflite-support's writers cannot be installed beside TensorFlow 2.21 (it needs protobuf<4), so the
metadata is built here through code generated from the public schema, `metadata_schema.fbs`, by
`flatc` (see regenerate.sh), and PyPI's `flatbuffers`. The model itself is read and rewritten
through the TFLite schema module that ai-edge-litert ships. The packing follows tflite-support's
MetadataPopulator: the metadata is a buffer of the model named "TFLITE_METADATA", finished with the
file identifier "M001", and associated files (the labels) are a zip appended to the model. Unlike
the populator, the zip's entries carry a fixed date, so the same inputs give the same bytes.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

METADATA_NAME = "TFLITE_METADATA"  # the model's metadata entry the runtimes look for
METADATA_IDENTIFIER = b"M001"
MODEL_IDENTIFIER = b"TFL3"
LABELS_FILE = "labels.txt"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the entries' bytes never depend on when


@dataclass(frozen=True)
class InputFacts:
    name: str
    description: str
    image: str | None  # "rgb" or "grayscale" for an image input, else None (a feature vector)
    mean: list[float]  # per channel (image) or per feature; the tensor's values are (raw - mean) / std
    std: list[float]
    minimum: list[float] = field(default_factory=list)  # the tensor's values' range over the training split
    maximum: list[float] = field(default_factory=list)
    audio: tuple[int, int] | None = None  # (sample rate, channels) of a waveform input: AudioProperties


@dataclass(frozen=True)
class OutputFacts:
    name: str  # what runtimes find the output by (MediaPipe's ObjectDetector: location, category, score ...)
    description: str
    labels: str | None = "axis"  # where labels.txt goes: "axis" (a score per label), "value" (a label index), None
    boxes: bool = False  # (ymin, xmin, ymax, xmax) in 0..1: BoundingBoxProperties BOUNDARIES / RATIO


@dataclass(frozen=True)
class ModelFacts:
    """What the shipped model's metadata says, from the recipe and the build."""
    name: str
    description: str
    version: str | None
    author: str | None
    license: str | None
    input: InputFacts
    outputs: list[OutputFacts]  # in the model's output order
    labels: list[str]  # as the recipe says them; labels.txt escapes line breaks (labels_text); none: no file


def labels_text(labels) -> str:
    """One label per line, as LiteRT's Task Library, MediaPipe and ML Model Binding read them; a line
    break inside a label is written as the two characters \\n so the count of lines stays the count of labels."""
    return "".join(label.replace("\r", "\\r").replace("\n", "\\n") + "\n" for label in labels)


def _schema():
    from . import metadata_schema_generated as schema

    return schema


def _model_schema():
    from ai_edge_litert import schema_py_generated as model_schema

    return model_schema


# --- writing ----------------------------------------------------------------------------------------

def metadata_object(facts: ModelFacts):
    """The ModelMetadataT for `facts`, its minimum parser version computed by the schema's rules."""
    s = _schema()
    content = s.ContentT()
    if facts.input.audio:
        content.contentPropertiesType = s.ContentProperties.AudioProperties
        content.contentProperties = s.AudioPropertiesT()
        content.contentProperties.sampleRate, content.contentProperties.channels = facts.input.audio
    elif facts.input.image:
        content.contentPropertiesType = s.ContentProperties.ImageProperties
        content.contentProperties = s.ImagePropertiesT()
        content.contentProperties.colorSpace = (s.ColorSpaceType.RGB if facts.input.image == "rgb"
                                                else s.ColorSpaceType.GRAYSCALE)
    else:
        content.contentPropertiesType = s.ContentProperties.FeatureProperties
        content.contentProperties = s.FeaturePropertiesT()
    normalization = s.ProcessUnitT()
    normalization.optionsType = s.ProcessUnitOptions.NormalizationOptions
    normalization.options = s.NormalizationOptionsT()
    normalization.options.mean = list(facts.input.mean)
    normalization.options.std = list(facts.input.std)
    tensor_in = s.TensorMetadataT()
    tensor_in.name = facts.input.name
    tensor_in.description = facts.input.description
    tensor_in.content = content
    tensor_in.processUnits = [normalization]
    tensor_in.stats = s.StatsT()
    tensor_in.stats.min = list(facts.input.minimum)
    tensor_in.stats.max = list(facts.input.maximum)

    outputs = [_output_metadata(s, output, bool(facts.labels)) for output in facts.outputs]

    subgraph = s.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [tensor_in]
    subgraph.outputTensorMetadata = outputs
    model = s.ModelMetadataT()
    model.name = facts.name
    model.description = facts.description
    model.version = facts.version
    model.author = facts.author
    model.license = facts.license
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = min_parser_version(model)
    return model


LABEL_FILE_TYPES = {
    "axis": ("TENSOR_AXIS_LABELS", "The class names, one per line, in the order of the output's scores."),
    "value": ("TENSOR_VALUE_LABELS", "The class names, one per line: line k names class index k.")}
BOX_INDEX = [1, 0, 3, 2]  # where x min, y min, x max, y max sit in a (ymin, xmin, ymax, xmax) box


def _output_metadata(s, output: OutputFacts, has_labels: bool):
    content = s.ContentT()
    if output.boxes:
        content.contentPropertiesType = s.ContentProperties.BoundingBoxProperties
        content.contentProperties = s.BoundingBoxPropertiesT()
        content.contentProperties.index = list(BOX_INDEX)
        content.contentProperties.type = s.BoundingBoxType.BOUNDARIES
        content.contentProperties.coordinateType = s.CoordinateType.RATIO
    else:
        content.contentPropertiesType = s.ContentProperties.FeatureProperties
        content.contentProperties = s.FeaturePropertiesT()
    tensor = s.TensorMetadataT()
    tensor.name = output.name
    tensor.description = output.description
    tensor.content = content
    tensor.stats = s.StatsT()
    if has_labels and output.labels is not None:  # (a regression's single value has none)
        labels = s.AssociatedFileT()
        labels.name = LABELS_FILE
        kind, labels.description = LABEL_FILE_TYPES[output.labels]
        labels.type = getattr(s.AssociatedFileType, kind)
        tensor.associatedFiles = [labels]
    return tensor


def metadata_buffer(facts: ModelFacts) -> bytes:
    """The metadata flatbuffer for `facts`, finished with the "M001" identifier."""
    import flatbuffers

    builder = flatbuffers.Builder(0)
    builder.Finish(metadata_object(facts).Pack(builder), METADATA_IDENTIFIER)
    return bytes(builder.Output())


def with_metadata(model: bytes, facts: ModelFacts) -> bytes:
    """`model` (without the zip of an earlier write) carrying the metadata of `facts` and its labels."""
    import flatbuffers

    ms = _model_schema()
    tree = ms.ModelT.InitFromObj(ms.Model.GetRootAs(model, 0))
    import numpy as np

    from ..repack import inline_buffers

    inline_buffers(tree, model)

    buffer = ms.BufferT()
    buffer.data = np.frombuffer(metadata_buffer(facts), np.uint8)
    tree.buffers = tree.buffers or []
    tree.metadata = tree.metadata or []
    entry = next((m for m in tree.metadata if _text(m.name) == METADATA_NAME), None)
    if entry is None:
        entry = ms.MetadataT()
        entry.name = METADATA_NAME
        tree.metadata.append(entry)
        tree.buffers.append(buffer)
        entry.buffer = len(tree.buffers) - 1
    else:
        tree.buffers[entry.buffer] = buffer
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), MODEL_IDENTIFIER)
    packed = _zip({LABELS_FILE: labels_text(facts.labels).encode()}) if facts.labels else b""
    return bytes(builder.Output()) + packed


def _zip(files: dict[str, bytes]) -> bytes:
    """The associated files as a zip, stored uncompressed, with fixed dates (bytes depend on content only)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


# --- the schema's rules for the minimum parser version (metadata/cc/metadata_version.cc) ----------------

def min_parser_version(model) -> str:
    """The lowest metadata parser version that reads every field `model` (a ModelMetadataT) uses."""
    s = _schema()
    found = [(1, 0, 0)]

    def files(entries):
        for f in entries or []:
            if f.type == s.AssociatedFileType.VOCABULARY:
                found.append((1, 0, 1))
            if f.type == s.AssociatedFileType.SCANN_INDEX_FILE:
                found.append((1, 4, 0))
            if f.version is not None:
                found.append((1, 4, 1))

    def units(entries):
        for unit in entries or []:
            if unit.optionsType in (s.ProcessUnitOptions.BertTokenizerOptions,
                                    s.ProcessUnitOptions.SentencePieceTokenizerOptions):
                found.append((1, 1, 0))
            if unit.optionsType == s.ProcessUnitOptions.RegexTokenizerOptions:
                found.append((1, 2, 1))

    for subgraph in model.subgraphMetadata or []:
        for tensor in (subgraph.inputTensorMetadata or []) + (subgraph.outputTensorMetadata or []):
            files(tensor.associatedFiles)
            units(tensor.processUnits)
            if tensor.content is not None and \
                    tensor.content.contentPropertiesType == s.ContentProperties.AudioProperties:
                found.append((1, 3, 0))
        files(subgraph.associatedFiles)
        for present, version in ((subgraph.inputProcessUnits, (1, 1, 0)), (subgraph.outputProcessUnits, (1, 1, 0)),
                                 (subgraph.inputTensorGroups, (1, 2, 0)), (subgraph.outputTensorGroups, (1, 2, 0)),
                                 (subgraph.customMetadata, (1, 5, 0))):
            if present is not None:
                found.append(version)
        units(subgraph.inputProcessUnits)
        units(subgraph.outputProcessUnits)
    files(model.associatedFiles)
    return ".".join(str(n) for n in max(found))


# --- reading ----------------------------------------------------------------------------------------

def _text(value) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


def _enum_name(enum_class, value) -> str:
    return next((k for k, v in vars(enum_class).items() if not k.startswith("_") and v == value), str(value))


def metadata_bytes(model: bytes) -> bytes | None:
    """The "TFLITE_METADATA" buffer of a .tflite, or None; reads the flatbuffer, never runs the model."""
    ms = _model_schema()
    root = ms.Model.GetRootAs(model, 0)
    for i in range(root.MetadataLength()):
        entry = root.Metadata(i)
        if _text(entry.Name()) == METADATA_NAME:
            buffer = root.Buffers(entry.Buffer())
            if buffer.Offset() > 1:  # stored after the flatbuffer (models over 2 GB)
                return bytes(model[buffer.Offset():buffer.Offset() + buffer.Size()])
            return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return None


def signatures(model: bytes) -> dict[str, dict]:
    """{signature key: {"inputs": [...], "outputs": [...], "subgraph": i}} of a .tflite, from its flatbuffer."""
    root = _model_schema().Model.GetRootAs(model, 0)
    result = {}
    for i in range(root.SignatureDefsLength()):
        sig = root.SignatureDefs(i)
        result[_text(sig.SignatureKey())] = {
            "inputs": [(_text(sig.Inputs(j).Name()), sig.Inputs(j).TensorIndex()) for j in range(sig.InputsLength())],
            "outputs": [(_text(sig.Outputs(j).Name()), sig.Outputs(j).TensorIndex())
                        for j in range(sig.OutputsLength())],
            "subgraph": sig.SubgraphIndex()}
    return result


def associated_files(model: bytes) -> dict[str, bytes]:
    """The files packed into the zip appended to a .tflite ({} when there is none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return {}


def _tensor_dict(tensor) -> dict:
    s = _schema()
    result = {"name": _text(tensor.name), "description": _text(tensor.description)}
    content = tensor.content
    if content is not None and content.contentProperties is not None:
        kind = _enum_name(s.ContentProperties, content.contentPropertiesType)
        result["content"] = kind
        if content.contentPropertiesType == s.ContentProperties.ImageProperties:
            result["color_space"] = _enum_name(s.ColorSpaceType, content.contentProperties.colorSpace)
        if content.contentPropertiesType == s.ContentProperties.AudioProperties:
            result["audio"] = {"sample_rate": content.contentProperties.sampleRate,
                               "channels": content.contentProperties.channels}
        if content.contentPropertiesType == s.ContentProperties.BoundingBoxProperties:
            box = content.contentProperties
            result["bounding_box"] = {"index": [int(v) for v in box.index] if box.index is not None else [],
                                      "type": _enum_name(s.BoundingBoxType, box.type),
                                      "coordinates": _enum_name(s.CoordinateType, box.coordinateType)}
    for unit in tensor.processUnits or []:
        if unit.optionsType == s.ProcessUnitOptions.NormalizationOptions:
            result["normalization"] = {"mean": [float(v) for v in unit.options.mean],
                                       "std": [float(v) for v in unit.options.std]}
        else:
            result.setdefault("process_units", []).append(_enum_name(s.ProcessUnitOptions, unit.optionsType))
    if tensor.stats is not None and (tensor.stats.min is not None or tensor.stats.max is not None):
        result["stats"] = {"min": [float(v) for v in tensor.stats.min if True] if tensor.stats.min is not None else [],
                           "max": [float(v) for v in tensor.stats.max] if tensor.stats.max is not None else []}
    if tensor.associatedFiles:
        result["associated_files"] = [_file_dict(f) for f in tensor.associatedFiles]
    return result


def _file_dict(entry) -> dict:
    s = _schema()
    return {"name": _text(entry.name), "type": _enum_name(s.AssociatedFileType, entry.type),
            "description": _text(entry.description)}


def read(model: bytes) -> dict | None:
    """A .tflite's metadata as plain data (None when it has none): what `inspect` shows and the ship
    step checks. Raises ValueError when the buffer is there but is not metadata."""
    s = _schema()
    raw = metadata_bytes(model)
    if raw is None:
        return None
    if not s.ModelMetadata.ModelMetadataBufferHasIdentifier(raw, 0):
        raise ValueError(f'the {METADATA_NAME} buffer does not start a metadata flatbuffer ("M001")')
    tree = s.ModelMetadataT.InitFromObj(s.ModelMetadata.GetRootAs(raw, 0))
    files = associated_files(model)
    return {
        "name": _text(tree.name), "description": _text(tree.description), "version": _text(tree.version),
        "author": _text(tree.author), "license": _text(tree.license),
        "min_parser_version": _text(tree.minParserVersion),
        "subgraphs": [{"inputs": [_tensor_dict(t) for t in g.inputTensorMetadata or []],
                       "outputs": [_tensor_dict(t) for t in g.outputTensorMetadata or []],
                       "associated_files": [_file_dict(f) for f in g.associatedFiles or []]}
                      for g in tree.subgraphMetadata or []],
        "associated_files": [_file_dict(f) for f in tree.associatedFiles or []],
        "packed_files": {name: len(data) for name, data in files.items()},
        "labels": _labels(tree, files),
    }


def _labels(tree, files: dict[str, bytes]) -> list[str] | None:
    """The first output's TENSOR_AXIS_LABELS (or TENSOR_VALUE_LABELS) file, as lines, when it is packed in the model."""
    s = _schema()
    kinds = (s.AssociatedFileType.TENSOR_AXIS_LABELS, s.AssociatedFileType.TENSOR_VALUE_LABELS)
    for subgraph in tree.subgraphMetadata or []:
        for tensor in subgraph.outputTensorMetadata or []:
            for entry in tensor.associatedFiles or []:
                name = _text(entry.name)
                if entry.type in kinds and name in files:
                    return _lines(files[name].decode("utf-8", "replace"))
    return None


def _lines(text: str) -> list[str]:
    """Lines split at \\n only, as the runtimes split them (str.splitlines also splits at U+2028 ...)."""
    return text.removesuffix("\n").split("\n") if text else []


def mismatches(model: bytes, facts: ModelFacts) -> list[str]:
    """What the metadata read back from `model` says other than `facts` meant (empty: all as meant)."""
    import numpy as np

    try:
        found = read(model)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is a mismatch to report, in one line
        return [f"the metadata cannot be read back: {type(exc).__name__}: {exc}"]
    if found is None:
        return [f"the model has no {METADATA_NAME} entry"]
    problems = []
    for key in ("name", "description", "version", "author", "license"):
        if found[key] != getattr(facts, key):
            problems.append(f"{key} is {found[key]!r}, expected {getattr(facts, key)!r}")
    inputs = found["subgraphs"][0]["inputs"] if found["subgraphs"] else []
    norm = inputs[0].get("normalization") if inputs else None
    for key in ("mean", "std"):
        meant = np.float32(getattr(facts.input, key))
        if norm is None or not np.array_equal(np.float32(norm[key]), meant):
            problems.append(f"normalization {key} is {norm and norm[key]}, expected {meant.tolist()}")
    audio = inputs[0].get("audio") if inputs else None
    meant_audio = {"sample_rate": facts.input.audio[0], "channels": facts.input.audio[1]} if facts.input.audio else None
    if audio != meant_audio:
        problems.append(f"audio properties {audio}, expected {meant_audio}")
    labels = found["labels"] or []
    if labels != _lines(labels_text(facts.labels)):
        problems.append(f"{len(labels)} labels packed, expected {len(facts.labels)}")
    outputs = [t["name"] for t in found["subgraphs"][0]["outputs"]] if found["subgraphs"] else []
    if outputs != [o.name for o in facts.outputs]:
        problems.append(f"outputs named {outputs}, expected {[o.name for o in facts.outputs]}")
    return problems
