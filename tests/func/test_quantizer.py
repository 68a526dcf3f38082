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
    """TFLite Support's float MobileNet: the quantizer needs a signature, edgebuild adds serving_default; and it
    stores its ops the pre-2020 way (deprecated_builtin_code only), which edgebuild fills in for the quantizer."""
    from edgebuild.recipe.schema import Quantization, TargetSpec
    from edgebuild.steps import quantizer

    published = (REPO / "tests/data/published/mobilenet_v1_0.25_224_1_default_1.tflite").read_bytes()
    model = quantizer.for_quantizer(published)
    assert quantizer.for_quantizer(model) == model
    rng = np.random.default_rng(0)
    samples = rng.uniform(-1, 1, (4, 224, 224, 3)).astype(np.float32)
    from ai_edge_litert.interpreter import Interpreter

    from edgebuild.tflite.runner import TFLiteRunner

    rules = quantizer.base_recipe(None, TargetSpec(name="t", quantization=Quantization.int8))
    quantized, _ = quantizer.quantize(model, rules, samples, tmp_path / "log")
    (tmp_path / "q.tflite").write_bytes(quantized)
    shown = inspect_model(tmp_path / "q.tflite")
    assert set(shown.dtype_bytes) <= {"int8", "int32"} and shown.dtype_bytes["int8"] > 0
    assert len(quantized) < len(published) / 3
    signatures = Interpreter(model_content=model).get_signature_list()
    assert signatures == {"serving_default": {"inputs": ["input"], "outputs": ["MobilenetV1/Predictions/Reshape_1"]}}
    np.testing.assert_array_equal(TFLiteRunner(model).run(samples[:2]), TFLiteRunner(published).run(samples[:2]))
    # the a8w8 model runs in LiteRT (before the codes were filled in, LiteRT refused its CONV_2D weights' zero
    # points), and its scores follow the float model's
    float_scores, int8_scores = TFLiteRunner(model).run(samples), TFLiteRunner(quantized).run(samples)
    cosine = np.sum(float_scores * int8_scores) / np.linalg.norm(float_scores) / np.linalg.norm(int8_scores)
    assert cosine > 0.9, cosine


def old_schema(model: bytes) -> bytes:
    """`model` with its ops stored as models written before 2020 store them: deprecated_builtin_code only."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from edgebuild.tflite.repack import inline_buffers

    tree = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))
    inline_buffers(tree, model)
    for code in tree.operatorCodes:
        code.deprecatedBuiltinCode, code.builtinCode = code.builtinCode, 0
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def test_the_quantizer_quantizes_a_model_of_the_old_schema_and_a_model_it_skipped_is_refused(tmp_path):
    """The LiteRT Quantizer reads builtin_code alone: given DeepLabV3's pre-2020 op codes as they are, it took every
    op for ADD, quantized no weight, and the 'weight_only_int8' target shipped the float model (issue 31).
    `shortfall` sees that in the quantizer's real output; with the codes filled in, every weight is int8."""
    from edgebuild.recipe.schema import Quantization, TargetSpec
    from edgebuild.steps import quantizer
    from edgebuild.tflite.precision import precision, shortfall

    model = old_schema((REPO / "models/digits_cnn_float.tflite").read_bytes())
    rules = quantizer.base_recipe(None, TargetSpec(name="t", quantization=Quantization.weight_only_int8))
    skipped, _ = quantizer.quantize(quantizer.with_signature(model), rules, [], tmp_path / "log")
    weights = precision(skipped).weights
    assert weights >= 3 and shortfall(skipped, "weight_only_int8") == \
        f"quantized no weights (0 of {weights} weight tensors int8)"
    quantized, _ = quantizer.quantize(quantizer.for_quantizer(model), rules, [], tmp_path / "log")
    assert shortfall(quantized, "weight_only_int8") is None
    assert precision(quantized).weights_by_dtype == {"int8": weights}


def test_litert_refusing_a_model_is_one_line_with_what_to_do(tmp_path):
    """LiteRT glues its messages together ('failed to delegate ... #65tflite/kernels/conv.cc:390 ...Node number 0
    (CONV_2D) failed to prepare.'): the first real complaint comes first, with what the user can do."""
    from edgebuild.recipe.schema import Quantization, TargetSpec
    from edgebuild.steps import quantizer
    from edgebuild.tflite.runner import TFLiteRunner
    from edgebuild.tflite.complaints import one_line

    published = (REPO / "tests/data/published/mobilenet_v1_0.25_224_1_default_1.tflite").read_bytes()
    samples = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    rules = quantizer.base_recipe(None, TargetSpec(name="t", quantization=Quantization.int8))
    refused, _ = quantizer.quantize(quantizer.with_signature(published), rules, samples, tmp_path / "log")
    with pytest.raises(RuntimeError) as error:
        TFLiteRunner(refused).run(samples)
    assert "Node number" in str(error.value)
    line = one_line(str(error.value))
    assert "\n" not in line and line.startswith("CONV_2D (node 0) failed to prepare: ")
    assert "zero_point" in line and line.endswith(
        "(the quantizer gave an op's weights a non-zero zero point, which LiteRT's kernel refuses: keep that op in "
        "float (keep_float), or pick another mode or backend)")


def test_a_large_quantized_model_keeps_its_weights_when_metadata_is_written_in(tmp_path):
    """The LiteRT Quantizer stores a model's weights after its flatbuffer, by offset, once they pass 256 KB;
    writing metadata (the ship step) or a signature repacks the flatbuffer, which lost them: the shipped
    model pointed past its own end and LiteRT refused it."""
    from ai_edge_litert import schema_py_generated as schema

    from edgebuild.recipe.schema import Quantization, TargetSpec
    from edgebuild.steps import quantizer
    from edgebuild.tflite.metadata import InputFacts, ModelFacts, OutputFacts, with_metadata
    from edgebuild.tflite.runner import TFLiteRunner

    model = quantizer.for_quantizer((REPO / "tests/data/published/mobilenet_v1_0.25_224_1_default_1.tflite").read_bytes())
    rules = quantizer.base_recipe(None, TargetSpec(name="t", quantization=Quantization.weight_only_int8))
    quantized, _ = quantizer.quantize(model, rules, [], tmp_path / "log")
    root = schema.Model.GetRootAs(quantized, 0)
    assert sum(root.Buffers(i).Offset() > 1 for i in range(root.BuffersLength())) > 10  # (what this test is about)
    facts = ModelFacts(name="M", description="d", version="1", author=None, license=None,
                       input=InputFacts("input", "a picture", None, [127.5], [127.5]),
                       outputs=[OutputFacts("scores", "one per class")], labels=[])
    samples = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    expected = TFLiteRunner(quantized).run(samples)
    for repacked in (with_metadata(quantized, facts), quantizer.with_builtin_codes(old_schema(quantized))):
        assert len(repacked) > len(quantized) * 0.9
        np.testing.assert_array_equal(TFLiteRunner(repacked).run(samples), expected)

