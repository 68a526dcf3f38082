"""Work TensorFlow's converter would redo for every target, done once or not at all: loading the
SavedModel for its signatures and for its debug info, and calibrating.

At MobileNetV2 size a conversion from the traced export takes about 6 s: 1.5 s for
`from_saved_model` to load the SavedModel for its signatures, 2.2 s in `convert()` to load it
again only to read its debug info, 2 s in the MLIR converter itself. The quantization debugger
then calibrated the int8 model a second time.

TensorFlow has no public hook for either, so each is done by wrapping one TensorFlow function for
the duration of a block and restoring it after; neither changes a byte of what the converter writes
(tests compare with `from_keras_model`). If a TensorFlow version moves them, the blocks do nothing.
For the source step's own export, whose signatures edgebuild wrote, neither load is needed:
`export_converter` names the signature `from_saved_model` would pick, and `debug_info_unread` gives
`convert()` the export's debug info without loading it (MobileNetV2 alpha 0.35: 7 s per conversion
down to 3 s, the same bytes for all four quantization modes). For any other SavedModel the load in
`from_saved_model` is left alone: a converter made from a shared object picked the export's other
signature ("serve") after the first conversion.
"""
from __future__ import annotations

import contextlib
import weakref
from pathlib import Path

_loaded: dict[tuple, object] = {}  # one SavedModel at a time: bounded memory
_from_export: weakref.WeakSet = weakref.WeakSet()  # converters made by export_converter


def _key(export_dir, tags) -> tuple | None:
    pb = Path(export_dir) / "saved_model.pb"
    if not pb.is_file():
        return None
    stat = pb.stat()
    return str(pb.resolve()), tuple(sorted(tags or ())), stat.st_mtime_ns, stat.st_size


@contextlib.contextmanager
def saved_model_loaded_once():
    """Around `converter.convert()` only: its load of an unchanged SavedModel, which it makes to read
    the graph's debug info and then drops, returns the object loaded by the first such call."""
    try:
        from tensorflow.lite.python import lite
        original = lite._load
    except (ImportError, AttributeError):
        yield
        return

    def load(export_dir, tags=None, options=None):
        key = _key(export_dir, tags)
        if key is None or options is not None:
            return original(export_dir, tags, options)
        if key not in _loaded:
            _loaded.clear()
            _loaded[key] = original(export_dir, tags)
        return _loaded[key]

    lite._load = load
    try:
        yield
    finally:
        lite._load = original


EXPORT_SIGNATURES = {"serve", "serving_default"}  # what export.write_export writes


def export_converter(folder: Path):
    """The converter `TFLiteConverter.from_saved_model(folder)` makes for the source step's export, without
    loading the SavedModel: for an export with a "serve" endpoint and its "serving_default" alias,
    from_saved_model converts "serving_default" and drops what it loaded. None for any other SavedModel."""
    try:
        from tensorflow.lite.python import lite
        from tensorflow.python.saved_model import loader_impl

        graphs = loader_impl.parse_saved_model(str(folder)).meta_graphs
        signatures = {key for key in graphs[0].signature_def if not key.startswith("__")} if len(graphs) == 1 else set()
        if signatures != EXPORT_SIGNATURES or set(graphs[0].meta_info_def.tags) != {"serve"}:
            return None
        lite.TFLiteConverterBase._set_original_model_type(lite.conversion_metadata_fb.ModelType.TF_SAVED_MODEL)
        converter = lite.TFLiteSavedModelConverterV2(str(folder), {"serve"}, ["serving_default"])
    except (ImportError, AttributeError, OSError, IndexError):
        return None
    _from_export.add(converter)
    return converter


def loads_spared(converter):
    """The block to run `converter.convert()` in: no load for an export_converter, one load per process otherwise."""
    return debug_info_unread() if converter in _from_export else saved_model_loaded_once()


@contextlib.contextmanager
def debug_info_unread():
    """Around `converter.convert()` of the source step's export only: its load of the SavedModel, made
    to read debug info, returns an object with empty debug info instead. The export's recorded traces name
    functions as a fresh load renames them, which the converter's importer never matches: the bytes are
    the same either way (tests compare with `from_keras_model`); only where a failing conversion's
    message points may change."""
    try:
        from tensorflow.core.framework import graph_debug_info_pb2
        from tensorflow.lite.python import lite
        original = lite._load
    except (ImportError, AttributeError):
        yield
        return

    class Unloaded:
        graph_debug_info = graph_debug_info_pb2.GraphDebugInfo()

    lite._load = lambda export_dir, tags=None, options=None: Unloaded()
    try:
        yield
    finally:
        lite._load = original


@contextlib.contextmanager
def calibration_kept():
    """Yields a list that receives each calibrated float model the converter makes in the block (the
    model with the ranges it measured, before quantization), for the quantization debugger."""
    kept: list[bytes] = []
    try:
        from tensorflow.lite.python.optimize import calibrator
        original = calibrator.Calibrator.calibrate
    except (ImportError, AttributeError):
        yield kept
        return

    def calibrate(self, dataset_gen):
        calibrated = original(self, dataset_gen)
        kept.append(calibrated)
        return calibrated

    calibrator.Calibrator.calibrate = calibrate
    try:
        yield kept
    finally:
        calibrator.Calibrator.calibrate = original
