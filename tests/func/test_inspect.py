"""`edgebuild inspect` on real converted models of every quantization mode, against the interpreter and Keras."""
import json
import subprocess
import sys

import numpy as np
import pytest

from edgebuild.tflite.inspection import inspect_model, weights

MODES = ["float32", "float16", "dynamic_int8", "int8", "int16x8"]


@pytest.fixture(scope="module")
def models(tmp_path_factory, iris_keras):
    """One build of the iris model in every quantization mode."""
    import shutil

    from conftest import IRIS_RECIPE, Project

    project = Project(tmp_path_factory.mktemp("inspect") / "p")
    (project.root / "models").mkdir(parents=True)
    shutil.copy(iris_keras, project.root / "models" / "iris.keras")
    # (the converter leaves weights under 1,024 values in float, so iris's dynamic_int8 is the quantizer's)
    backend = {"dynamic_int8": ", backend: litert_quantizer"}
    targets = "".join(f"  - {{name: {m.replace('_', '-')}, quantization: {m}{backend.get(m, '')}}}\n" for m in MODES)
    project.write("recipes/iris.yaml", IRIS_RECIPE.split("targets:")[0] + "targets:\n" + targets)
    assert project.build().exit_code == 0
    return {m: project.path(f"build/iris/{m.replace('_', '-')}/model.tflite") for m in MODES}


@pytest.mark.parametrize("mode", MODES)
def test_inspect_agrees_with_the_interpreter(models, mode):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    result = inspect_model(models[mode])
    interpreter = Interpreter(model_path=str(models[mode]),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    assert [op.op for op in result.ops] == [op["op_name"] for op in ops]
    assert sum(result.op_counts.values()) == len(ops)
    (given,) = interpreter.get_input_details()
    (shown,) = result.inputs
    assert (shown.name, shown.dtype, shown.shape) == (given["name"], np.dtype(given["dtype"]).name, list(given["shape"]))
    # every tensor of the file, in its order; a hybrid model's kernels add their own scratch tensors after them
    details = sorted(interpreter.get_tensor_details(), key=lambda d: d["index"])
    assert [t.name for t in result.tensors] == [d["name"] for d in details[:len(result.tensors)]]
    assert len(details) == len(result.tensors) or mode == "dynamic_int8"
    assert 0 < result.weight_bytes < result.size_bytes == models[mode].stat().st_size
    assert "FULLY_CONNECTED" in result.op_counts


def test_weights_are_the_keras_weights(models, iris_keras):
    import keras

    kernel = keras.models.load_model(iris_keras).layers[0].get_weights()[0]  # (4, 8)
    fp32 = weights(models["float32"])
    assert any(v.shape == kernel.T.shape and np.array_equal(v, kernel.T) for v in fp32.values())
    int8 = weights(models["int8"])
    dequantized = [v for k, v in int8.items() if k.endswith(".dequantized") and v.shape == kernel.T.shape]
    assert dequantized, sorted(int8)
    per_channel_step = np.abs(kernel.T).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(dequantized[0] - kernel.T) <= per_channel_step / 2 + 1e-6)
    float16 = [v for v in weights(models["float16"]).values() if v.dtype == np.float16 and v.shape == kernel.T.shape]
    np.testing.assert_array_equal(float16[0], kernel.T.astype(np.float16))


def test_cli_text_json_and_weights(models, tmp_path):
    path = str(models["int8"])
    text = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", path], capture_output=True, text=True)
    assert text.returncode == 0 and "operators by type: " in text.stdout and "where the bytes go: " in text.stdout
    as_json = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", path, "--json", "--weights",
                              str(tmp_path / "w.npz")], capture_output=True, text=True)
    data = json.loads(as_json.stdout)
    assert data["op_counts"] == inspect_model(path).op_counts
    assert data["inputs"][0]["dtype"] == "float32" and data["dtype_bytes"]["int8"] > 0
    saved = np.load(tmp_path / "w.npz")
    assert set(saved.files) == set(weights(path))


def test_not_a_model_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "x.tflite").write_text("hello, not a flatbuffer")
    for path in (tmp_path / "x.tflite", tmp_path / "missing.tflite"):
        result = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", str(path)], capture_output=True,
                                text=True)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"{tmp_path / 'missing.tflite'}: no such file\n"
