"""The LiteRT Quantizer backend: a float .tflite source, int4/int8 weights, a8w8, a per-layer recipe."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, Project

from edgebuild.tflite.inspection import inspect_model


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("quantizer") / "p")
    (project.root / "models").mkdir()
    shutil.copy(REPO / "models" / "digits_cnn_float.tflite", project.root / "models")
    shutil.copytree(REPO / "quant", project.root / "quant")
    project.write("recipes/digits_tflite.yaml", (REPO / "recipes" / "digits_tflite.yaml").read_text())
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def weight_dtypes(path) -> dict[str, str]:
    """dtype of each op's weight tensor (the constant with the most elements it reads), by op output name."""
    shown = inspect_model(path)
    tensors = {t.index: t for t in shown.tensors}
    found = {}
    for op in shown.ops:
        weights = [tensors[i] for i in op.inputs if tensors[i].constant and len(tensors[i].shape) >= 2]
        if op.op in ("CONV_2D", "FULLY_CONNECTED") and weights:
            found[tensors[op.outputs[0]].name] = max(weights, key=lambda t: t.bytes).dtype
        elif op.op == "DEQUANTIZE" and weights:  # explicit dequantize: the weight is stored quantized
            found[tensors[op.outputs[0]].name] = weights[0].dtype
    return found


def test_each_mode_stores_the_weights_it_says(digits):
    model = lambda t: digits.path(f"build/digits-tflite/{t}/model.tflite")  # noqa: E731
    source = set(weight_dtypes(digits.path("build/digits-tflite/source/model.tflite")).values())
    assert source == {"float32"}
    assert set(weight_dtypes(model("w8")).values()) == {"int8"}
    assert set(weight_dtypes(model("w4")).values()) == {"int4"}
    a8w8 = inspect_model(model("a8w8"))
    assert {t.dtype for t in a8w8.tensors if t.constant and len(t.shape) >= 2} == {"int8"}
    conv_input = next(a8w8.tensors[op.inputs[0]] for op in a8w8.ops if op.op == "CONV_2D")
    assert conv_input.dtype == "int8" and conv_input.scales  # activations are quantized too
    # the custom recipe: int8 weights, but int4 where its second rule's regex matches
    mine = weight_dtypes(model("mine"))
    assert {d for n, d in mine.items() if "conv2d_1_2" in n} == {"int4"}
    assert {d for n, d in mine.items() if "conv2d_1_2" not in n} == {"int8"}
    # edgebuild inspect shows them (int4 included) from the command line
    shown = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", str(model("w4")), "--json"],
                           capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["dtype_bytes"].get("int4", 0) > 0


def test_int4_weights_read_back_as_the_float_weights_within_half_a_step(digits):
    from edgebuild.tflite.inspection import weights

    float_weights = weights(digits.path("build/digits-tflite/source/model.tflite"))
    w4 = weights(digits.path("build/digits-tflite/w4/model.tflite"))
    checked = 0
    for name, value in w4.items():
        if not name.endswith(".dequantized") or value.ndim < 2:
            continue
        original = next(v for v in float_weights.values() if v.shape == value.shape and v.dtype == np.float32)
        raw = w4[name.removesuffix(".dequantized")]
        assert raw.dtype == np.int8 and raw.min() >= -8 and raw.max() <= 7
        step = np.abs(original).reshape(len(original), -1).max(axis=1) / 7  # symmetric, per output channel
        assert np.all(np.abs(value - original).reshape(len(original), -1) <= step[:, None] / 2 + 1e-6)
        checked += 1
    assert checked >= 2


def independent_accuracy(model_path, x, y) -> float:
    """The LiteRT interpreter run by hand, sample by sample, without edgebuild's runner."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    correct = 0
    for sample, label in zip(x, y):
        value = sample[None].astype(np.float32)
        if inp["dtype"] != np.float32:  # a8w8 takes int8: quantize as the model's input parameters say
            scale, zero_point = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            value = np.clip(np.round(value / scale + zero_point), info.min, info.max).astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], value)
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(out["index"])) == label)
    return correct / len(y)


def test_accuracy_agrees_with_an_independent_interpreter_run(digits):
    data = np.load(digits.path("build/digits-tflite/data.npz"))
    reference = json.loads(digits.path("build/digits-tflite/reference.json").read_text())
    assert reference["format"] == "tflite"
    assert reference["accuracy"] == independent_accuracy(digits.path("build/digits-tflite/source/model.tflite"),
                                                         data["x_test"], data["y_test"])
    for target in ("w8", "w4", "a8w8", "mine"):
        metrics = json.loads(digits.path(f"build/digits-tflite/{target}/metrics.json").read_text())
        assert metrics["accuracy"] == independent_accuracy(digits.path(f"build/digits-tflite/{target}/model.tflite"),
                                                           data["x_test"], data["y_test"])
        assert metrics["accuracy_drop"] == pytest.approx(reference["accuracy"] - metrics["accuracy"])
        assert 0 < metrics["output_cosine"] <= 1 and metrics["output_snr_db"] > 0


def test_the_recipe_used_is_saved_and_a_custom_file_edit_reruns_only_its_target(digits):
    used = json.loads(digits.path("build/digits-tflite/mine/litert_recipe.json").read_text())
    assert used == json.loads(digits.path("quant/digits_recipe.json").read_text())
    from litert_quantizer import recipe as recipes

    w4 = json.loads(digits.path("build/digits-tflite/w4/litert_recipe.json").read_text())
    assert w4 == json.loads(json.dumps(recipes.weight_only_wi4_afp32()))
    assert digits.build().executed == []
    digits.edit("quant/digits_recipe.json", '"regex": "conv2d_1_2"', '"regex": "dense"')
    result = digits.build()
    assert "digits-tflite:convert/mine" in result.executed
    assert not [n for n in result.executed if n.startswith("digits-tflite:convert/") and n != "digits-tflite:convert/mine"]
    mine = weight_dtypes(digits.path("build/digits-tflite/mine/model.tflite"))
    assert {d for n, d in mine.items() if "dense" in n} == {"int4"}
    digits.edit("quant/digits_recipe.json", '"regex": "dense"', '"regex": "conv2d_1_2"')


def test_the_snr_and_cosine_gate_the_target(digits):
    metrics = json.loads(digits.path("build/digits-tflite/a8w8/metrics.json").read_text())
    digits.edit("recipes/digits_tflite.yaml", "  min_output_cosine: 0.99\n",
                f"  min_output_cosine: {min(1.0, metrics['output_cosine'] + 1e-4):.6f}\n")
    result = digits.build()
    assert result.exit_code == 1
    assert any("digits-tflite/a8w8: output_cosine" in line and "< min_output_cosine" in line for line in result.failures)
    digits.edit("recipes/digits_tflite.yaml", f"  min_output_cosine: {min(1.0, metrics['output_cosine'] + 1e-4):.6f}\n",
                "  min_output_cosine: 0.99\n")
    assert digits.build().exit_code == 0


@pytest.mark.parametrize("target,expected", [
    ("{name: t, quantization: weight_only_int4, backend: converter}", "targets[2].backend: weight_only_int4 needs the LiteRT Quantizer"),
    ("{name: t, quantization: custom}", "targets[2].quantization: quantization: custom and litert_recipe go together"),
    ("{name: t, quantization: int8, backend: litert_quantizer, io: uint8}", "targets[2].io: the LiteRT Quantizer decides"),
    ("{name: t, quantization: float16, backend: litert_quantizer}", "targets[2].quantization: float16 is the TFLiteConverter's only"),
    ("{name: t, quantization: int8, thresholds: {min_output_cosine: 0.9}}", "targets[2].thresholds.min_output_cosine: measured by the LiteRT Quantizer"),
])
def test_a_combination_that_cannot_work_is_a_recipe_error(iris_project, target, expected):
    from edgebuild import api
    from edgebuild.errors import RecipeError

    iris_project.edit("recipes/iris.yaml", "thresholds:", f"  - {target}\nthresholds:")
    with pytest.raises(RecipeError) as error:
        api.validate(root=iris_project.root)
    assert expected in str(error.value)


def test_a_tflite_source_takes_the_quantizer_only(digits):
    from edgebuild import api
    from edgebuild.errors import RecipeError

    digits.edit("recipes/digits_tflite.yaml", "  - {name: w8, quantization: weight_only_int8}",
                "  - {name: w8, quantization: dynamic_int8, backend: converter}")
    with pytest.raises(RecipeError) as error:
        api.validate(root=digits.root)
    assert "targets[0].backend: a tflite source is quantized by the LiteRT Quantizer only" in str(error.value)
    digits.edit("recipes/digits_tflite.yaml", "  - {name: w8, quantization: dynamic_int8, backend: converter}",
                "  - {name: w8, quantization: weight_only_int8}")


def test_a_keras_source_is_converted_to_float_once(iris_project):
    iris_project.edit("recipes/iris.yaml", "thresholds:",
                      "  - {name: q8, quantization: int8, backend: litert_quantizer}\n"
                      "  - {name: q4, quantization: dynamic_int4}\n"
                      "  - {name: qk, quantization: int8, backend: litert_quantizer, keep_float: ['dense_1']}\n"
                      "  - {name: qa, quantization: int8, backend: litert_quantizer, keep_float: auto}\n"
                      "  - {name: q16, quantization: int16x8, backend: litert_quantizer}\n"
                      "thresholds:")
    result = iris_project.build()
    assert result.exit_code == 0, result.failures
    assert result.executed.count("iris:float") == 1
    assert iris_project.path("build/iris/source/float.tflite").exists()
    for target in ("q8", "q4", "qk", "qa", "q16"):
        metrics = json.loads(iris_project.path(f"build/iris/{target}/metrics.json").read_text())
        assert metrics["output_cosine"] > 0.9
    # a16w8: int16 activations, int8 weights, run by LiteRT (the evaluate step above)
    q16 = inspect_model(iris_project.path("build/iris/q16/model.tflite"))
    assert "int16" in {t.dtype for t in q16.tensors if not t.constant}
    assert {t.dtype for t in q16.tensors if t.constant and len(t.shape) >= 2} == {"int8"}
    # keep_float: auto through the quantizer: iris passes fully quantized, so it keeps nothing
    auto = json.loads(iris_project.path("build/iris/qa/mixed.json").read_text())
    assert auto["passed"] and auto["kept"] == [] and auto["conversions"] == 1
    # keep_float through the quantizer's per-layer recipe: the kept op computes in float
    kept = json.loads(iris_project.path("build/iris/qk/mixed.json").read_text())["kept"]
    assert kept and all("dense_1" in op["name"] for op in kept)
    shown = inspect_model(iris_project.path("build/iris/qk/model.tflite"))
    tensors = {t.index: t for t in shown.tensors}
    outputs = {tensors[op.outputs[0]].name: tensors[op.outputs[0]].dtype for op in shown.ops}
    assert all(outputs[op["name"]] == "float32" for op in kept)
    assert "int8" in outputs.values()


def test_a_published_float_model_without_signatures_quantizes(tmp_path):
    """TFLite Support's float MobileNet: the quantizer needs a signature, edgebuild adds serving_default."""
    from edgebuild.recipe.schema import Quantization, TargetSpec
    from edgebuild.steps import quantizer

    published = (REPO / "tests/data/published/mobilenet_v1_0.25_224_1_default_1.tflite").read_bytes()
    model = quantizer.with_signature(published)
    assert quantizer.with_signature(model) == model
    rng = np.random.default_rng(0)
    samples = rng.uniform(-1, 1, (4, 224, 224, 3)).astype(np.float32)
    from ai_edge_litert.interpreter import Interpreter

    from edgebuild.steps.evaluate import TFLiteRunner

    rules = quantizer.base_recipe(None, TargetSpec(name="t", quantization=Quantization.int8))
    quantized, _ = quantizer.quantize(model, rules, samples, tmp_path / "log")
    (tmp_path / "q.tflite").write_bytes(quantized)
    shown = inspect_model(tmp_path / "q.tflite")
    assert set(shown.dtype_bytes) <= {"int8", "int32"} and shown.dtype_bytes["int8"] > 0
    assert len(quantized) < len(published) / 3
    # (LiteRT 2.3.0 refuses to prepare this a8w8 MobileNetV1: the quantizer gives its CONV_2D weights
    # nonzero zero points; the float model with the signature edgebuild added still runs unchanged)
    signatures = Interpreter(model_content=model).get_signature_list()
    assert signatures == {"serving_default": {"inputs": ["input"], "outputs": ["MobilenetV1/Predictions/Reshape_1"]}}
    np.testing.assert_array_equal(TFLiteRunner(model).run(samples[:2]), TFLiteRunner(published).run(samples[:2]))
