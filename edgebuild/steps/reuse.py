"""Work TensorFlow's converter would redo for every target, done once: loading the SavedModel for its
debug info, and calibrating.

At MobileNetV2 size a conversion from the traced export takes about 6 s: 1.5 s for
`from_saved_model` to load the SavedModel for its signatures, 2.2 s in `convert()` to load it
again only to read its debug info, 2 s in the MLIR converter itself. The quantization debugger
then calibrated the int8 model a second time.

TensorFlow has no public hook for either, so each is done by wrapping one TensorFlow function for
the duration of a block and restoring it after; neither changes a byte of what the converter writes
(tests compare with `from_keras_model`). If a TensorFlow version moves them, the blocks do nothing.
The load in `from_saved_model` is left alone: a converter made from a shared object picked the
export's other signature ("serve") after the first conversion.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

_loaded: dict[tuple, object] = {}  # one SavedModel at a time: bounded memory


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
