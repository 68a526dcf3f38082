"""The TFLM op table (tflm_ops.py), against PyPI's tflite-micro: a model whose ops the table lists runs in TFLM's
own interpreter; one with an op it lacks (Keras 3's GELU) is refused there too. Each in a child process:
TFLM can abort the process rather than raise."""
import subprocess
import sys

import pytest
import tensorflow as tf

from edgebuild.tflite import tflm_ops
from edgebuild.tflite.inspection import inspect_model

TFLM_RUN = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
try:
    interpreter = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=1 << 20)
    interpreter.set_input(np.zeros(interpreter.get_input_details(0)["shape"], np.float32), 0)
    interpreter.invoke()
except Exception as exc:
    print("refused:", exc)
    sys.exit(1)
print("ran", interpreter.get_output(0).shape)
"""


def keras_model(activation: str, tmp_path):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((8,), batch_size=1), tf.keras.layers.Dense(16, activation=activation),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / f"{activation}.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def in_tflm(path) -> subprocess.CompletedProcess:
    pytest.importorskip("tflite_micro")
    return subprocess.run([sys.executable, "-c", TFLM_RUN, str(path)], capture_output=True, text=True, timeout=120)


def test_a_model_of_listed_ops_runs_in_tflm(tmp_path):
    path = keras_model("relu", tmp_path)
    inspection = inspect_model(path)
    assert inspection.tflm_lacks == [] and all(op.op in tflm_ops.BUILTIN_OPS for op in inspection.ops)
    assert "TensorFlow Lite Micro (tflite-micro at " in inspection.text() and ": has every operator" in inspection.text()
    ran = in_tflm(path)
    assert ran.returncode == 0 and ran.stdout.startswith("ran"), ran.stdout + ran.stderr


def test_gelu_is_named_as_missing_and_tflm_refuses_it(tmp_path):
    path = keras_model("gelu", tmp_path)
    inspection = inspect_model(path)
    assert inspection.tflm_lacks == ["GELU"] and "lacks: GELU" in inspection.text()
    ran = in_tflm(path)
    assert ran.returncode != 0 and "GELU" in ran.stdout + ran.stderr


def test_the_method_names_are_the_headers_not_derived():
    assert tflm_ops.BUILTIN_OPS["LOGISTIC"] == "AddLogistic" and tflm_ops.BUILTIN_OPS["SPACE_TO_BATCH_ND"] == \
        "AddSpaceToBatchNd"  # (read from micro_mutable_op_resolver.h; no rule of case turns the one into the other)
    assert not {"GELU", "TILE", "SELECT", "TOPK_V2", "ONE_HOT"} & set(tflm_ops.BUILTIN_OPS)
    assert tflm_ops.missing([("TFLite_Detection_PostProcess", "custom"), ("FlexErf", "flex")]) == ["FlexErf"]
