"""A Keras model's inference function traced once into a SavedModel, which every conversion starts from.

TFLiteConverter.from_keras_model exports the model through keras.export.ExportArchive (an endpoint
calling it with training=False, "serve" and its "serving_default" alias) and converts that. Written by
ExportArchive, the export traced the model three times (to list the variables the endpoint uses, to
look for lookup tables among the model's tf.functions, and to save it) and saved every weight twice
(as Keras's variables and as the TensorFlow variables they hold): MobileNetV2 alpha 1.0 took 4.3 to
5.6 s and 19 MB. Here the same function is saved with tf.saved_model.save, beside the TensorFlow
variables and any lookup tables of the model: traced once, 2.0 to 2.2 s and 9.6 MB, and converting it
gives the same bytes (tests compare with from_keras_model). Saving Keras's variables alone left them
unfrozen in the converted model (a model of variable reads, garbage out).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

from .. import progress
from ..layout import temporary_path


def write_export(model, serve, signature: list, folder: Path, log: Path) -> None:
    """Save `serve` (a Python function calling the Keras `model`), traced with `signature`, as the
    "serve" and "serving_default" signatures of a SavedModel at `folder`, replacing it whole or not at
    all. Raises what TensorFlow raises for a function it cannot trace or save."""
    tf = progress.tensorflow(log)
    from tensorflow.saved_model.experimental import TrackableResource

    root = tf.Module()
    root.variables_used = [v.value for v in [*model.trainable_variables, *model.non_trainable_variables]]
    root.lookup_tables = [t for t in tf.train.TrackableView(model).descendants() if isinstance(t, TrackableResource)]
    root.serve = tf.function(serve, input_signature=signature, autograph=False)
    tmp = temporary_path(folder)
    try:
        with progress.tool_output(log), contextlib.redirect_stdout(sys.stderr):
            tf.saved_model.save(root, str(tmp), signatures={"serve": root.serve, "serving_default": root.serve})
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
