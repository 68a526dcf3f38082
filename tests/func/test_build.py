"""Real builds of throw-away projects: TensorFlow converts, LiteRT evaluates, doit decides what reruns."""
import json

import numpy as np
import pytest
from conftest import IRIS_RECIPE

from edgebuild.tflite.runner import TFLiteRunner


def read(project, relative):
    return json.loads(project.path(relative).read_text())


def test_cold_build_writes_the_layout_and_measures_in_litert(iris_project):
    result = iris_project.build()
    assert result.exit_code == 0, result.output
    # (the calibrated conversion first, the unconverted model's evaluation next: graph/tasks.py, dispatch.py)
    assert result.executed == ["iris:data", "iris:source", "iris:convert/int8", "iris:inspect/int8",
                               "iris:debug/int8", "iris:reference",
                               "iris:convert/fp32", "iris:evaluate/fp32", "iris:gate/fp32", "iris:inspect/fp32",
                               "iris:evaluate/int8", "iris:gate/int8", "iris:summary", "iris:report", "iris:ship",
                               "iris:check", "iris:golden", "iris:bundle/android", "iris:bundle/ios",
                               "iris:bundle/linux", "reports"]
    reference = read(iris_project, "build/iris/reference.json")
    fp32 = read(iris_project, "build/iris/fp32/metrics.json")
    int8 = read(iris_project, "build/iris/int8/metrics.json")
    for metrics in (fp32, int8):
        assert {"accuracy", "accuracy_drop", "size_bytes", "latency_ms_median", "latency_ms_p90"} <= set(metrics)
        assert metrics["latency_ms_median"] <= metrics["latency_ms_p90"]
    # float32 conversion keeps the Keras model's predictions; int8 io is quantized with the model's own parameters
    assert fp32["accuracy"] == reference["accuracy"] and fp32["accuracy_drop"] == 0
    assert (int8["input_dtype"], int8["output_dtype"]) == ("int8", "int8")
    assert abs(int8["accuracy_drop"]) < 0.1
    assert fp32["size_bytes"] == iris_project.path("build/iris/fp32/model.tflite").stat().st_size
    summary = read(iris_project, "build/iris/summary.json")
    assert summary["passed"] and summary["failures"] == []
    assert [t["name"] for t in summary["targets"]] == ["fp32", "int8"]
    assert summary["versions"]["tensorflow"] and summary["versions"]["ai-edge-litert"]
    assert read(iris_project, "build/iris/int8/verdict.json")["passed"] is True
    # nothing half-written is left behind
    assert not [p for p in iris_project.path("build").rglob("*") if p.name.startswith(".")]


def test_litert_metrics_agree_with_the_interpreter_run_by_hand(iris_project):
    iris_project.build()
    data = np.load(iris_project.path("build/iris/data.npz"))
    runner = TFLiteRunner(iris_project.path("build/iris/int8/model.tflite"))
    assert runner.input["dtype"] == np.int8
    scale, zero_point = runner.input["quantization"]
    hand = np.clip(np.round(data["x_test"] / scale + zero_point), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(runner.quantize(data["x_test"]), hand)
    accuracy = float((runner.run(data["x_test"]).argmax(1) == data["y_test"]).mean())
    assert accuracy == read(iris_project, "build/iris/int8/metrics.json")["accuracy"]


def test_second_build_runs_nothing(iris_project):
    iris_project.build()
    again = iris_project.build()
    assert again.exit_code == 0 and again.executed == [] and again.up_to_date == 21


def test_threshold_edit_reruns_only_gates(iris_project):
    iris_project.build()
    iris_project.edit("recipes/iris.yaml", "max_size_kb: 50", "max_size_kb: 40")
    result = iris_project.build()
    assert result.executed == ["iris:gate/fp32", "iris:gate/int8", "iris:summary", "iris:report", "iris:ship",
                               "iris:check", "reports"]


def test_target_edit_reconverts_only_that_target(iris_project):
    iris_project.build()
    metrics_before = iris_project.path("build/iris/int8/metrics.json").read_bytes()
    iris_project.edit("recipes/iris.yaml", "calibration_samples: 50", "calibration_samples: 20")
    result = iris_project.build()
    assert result.executed[0] == "iris:convert/int8" and "iris:evaluate/int8" in result.executed
    # the gate reads only metrics.json: on a model this small the re-measured figures can come out byte-identical
    metrics_changed = iris_project.path("build/iris/int8/metrics.json").read_bytes() != metrics_before
    assert ("iris:gate/int8" in result.executed) == metrics_changed
    assert {"iris:inspect/int8", "iris:debug/int8", "iris:summary"} <= set(result.executed)
    assert not [t for t in result.executed if "fp32" in t or t in ("iris:data", "iris:source", "iris:reference")]


def test_failed_gate_fails_the_build_names_everything_and_keeps_failing(iris_project):
    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.5", "min_accuracy: 1.0")
    iris_project.edit("recipes/iris.yaml", "- {name: int8,", "- {name: int8, thresholds: {min_accuracy: 0.5},")
    result = iris_project.build()
    accuracy = read(iris_project, "build/iris/fp32/metrics.json")["accuracy"]
    assert accuracy < 1.0
    expected = f"recipes/iris.yaml: iris/fp32: accuracy {accuracy:.4f} < min_accuracy 1.0000"
    assert result.exit_code == 1
    assert result.failures == [expected]
    assert result.output.endswith(f"edgebuild: 1 failure:\n{expected}\n")
    # every target was still built and checked, and the summary records the failure
    assert read(iris_project, "build/iris/int8/verdict.json")["passed"] is True
    assert read(iris_project, "build/iris/summary.json")["failures"] == [expected]
    again = iris_project.build()  # a failed build is never "up to date"
    assert again.exit_code == 1 and again.executed == ["iris:check"] and again.failures == [expected]
    # the report was still written, with the failure in it
    assert expected in iris_project.path("build/iris/report.md").read_text()


def test_one_failing_recipe_does_not_stop_another(iris_project):
    iris_project.write("recipes/broken.yaml", """\
        model: {keras: models/iris.keras}
        dataset: {source: sklearn_wine}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """)
    result = iris_project.build()
    assert result.exit_code == 1
    assert result.failures == ["recipes/broken.yaml: broken: model: input shape (4,) does not match the "
                               "preprocessed data's (13,); change the model's input to the dataset's features"]
    assert "iris:summary" in result.executed


def test_labels_must_match_the_output_width(iris_project):
    iris_project.edit("recipes/iris.yaml", "labels: [setosa, versicolor, virginica]", "labels: labels.txt")
    iris_project.write("labels.txt", "setosa\nversicolor\nvirginica\nrose\n")
    result = iris_project.build()
    assert result.failures == [
        "recipes/iris.yaml: iris: labels: 4 labels but the model's output has 3 units; expected one label per output"]


def test_script_source_retrains_when_an_input_changes(project):
    project.write("models/train.py", """\
        import argparse, json, os
        import numpy as np
        import tensorflow as tf
        p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--units", type=int)
        a = p.parse_args()
        units = json.load(open("models/config.json"))["units"]
        tf.keras.utils.set_random_seed(0)
        d = np.load(os.environ["EDGEBUILD_DATA"])
        m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(units, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(d["x_train"], d["y_train"], epochs=3, verbose=0)
        print("trained", units, "units")
        m.save(a.out)
        """)
    project.write("models/config.json", '{"units": 4}')
    project.write("recipes/s.yaml", """\
        model: {script: models/train.py, inputs: [models/config.json]}
        dataset: {source: sklearn_iris}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """)
    assert project.build().exit_code == 0
    first = project.path("build/s/fp32/model.tflite").read_bytes()
    assert project.build().executed == []
    project.write("models/config.json", '{"units": 6}')
    result = project.build()
    assert result.executed[:2] == ["s:source", "s:reference"] and "s:convert/fp32" in result.executed
    assert project.path("build/s/fp32/model.tflite").read_bytes() != first


@pytest.mark.parametrize("isolated", ["false", "true"])
def test_script_failures_are_one_line(project, isolated):
    project.write("train.py", "import sys\nraise SystemExit('training data looks wrong')\n")
    project.write("recipes/s.yaml", f"""\
        model: {{script: train.py, isolated: {isolated}}}
        dataset: {{source: sklearn_iris}}
        labels: [a, b, c]
        targets: [{{name: fp32, quantization: float32}}]
        """)
    assert project.build().failures == [
        "recipes/s.yaml: s: model.script: train.py exited with status 1: training data looks wrong "
        "(full output: build/s/logs/source.log)"]
    project.write("train.py", "print('forgot to save')\n")
    assert project.build().failures == [
        "recipes/s.yaml: s: model.script: train.py finished but wrote no model to the path given as --out "
        "(expected a Keras model saved with model.save(path))"]
    project.write("train.py", "import helper\nhelper.fail()\n")
    project.write("helper.py", "def fail():\n    return 1 / 0\n")
    assert project.build().failures == [
        "recipes/s.yaml: s: model.script: train.py exited with status 1: ZeroDivisionError: division by zero "
        "(full output: build/s/logs/source.log)"]
    assert "Traceback" in project.path("build/s/logs/source.log").read_text()


def test_a_script_run_in_process_leaves_the_build_as_it_was(project, iris_keras, capsys):
    import os
    import sys

    project.write("models/train.py", """\
        import os, shutil, sys
        import helper
        assert os.getcwd() == os.environ["EXPECTED_ROOT"], os.getcwd()
        os.environ["LEAKED"] = "1"
        print("args", sys.argv[1:] == ["--out", sys.argv[2], "--x", "1"], helper.VALUE)
        shutil.copy(os.environ["IRIS"], sys.argv[2])
        """)
    project.write("models/helper.py", "VALUE = 'helper-1'\n")
    project.write("recipes/s.yaml", """\
        model: {script: models/train.py, args: [--x, "1"], inputs: [models/helper.py]}
        dataset: {source: sklearn_iris}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """)
    os.environ["IRIS"], os.environ["EXPECTED_ROOT"] = str(iris_keras), str(project.root.resolve())
    argv, cwd = list(sys.argv), os.getcwd()
    try:
        result = project.build()
    finally:
        del os.environ["IRIS"], os.environ["EXPECTED_ROOT"]
    assert result.exit_code == 0, result.failures
    assert "   s:source | args True helper-1\n" in capsys.readouterr().err  # the script's stdout, shown as progress
    assert (sys.argv, os.getcwd(), "LEAKED" in os.environ, "helper" in sys.modules) == (argv, cwd, False, False)


def test_same_inputs_give_byte_identical_models(iris_project, tmp_path):
    import shutil

    iris_project.build()
    first = {p.name: p.read_bytes() for p in iris_project.path("build/iris").glob("*/model.tflite")}
    shutil.rmtree(iris_project.path("build"))
    iris_project.path(".doit.db").unlink()
    iris_project.build()
    assert {p.name: p.read_bytes() for p in iris_project.path("build/iris").glob("*/model.tflite")} == first


def test_keras_dataset_offline_says_so(project, iris_keras, monkeypatch, tmp_path):
    import shutil

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):  # fail fast, never download
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    (project.root / "models").mkdir()
    shutil.copy(iris_keras, project.root / "models" / "iris.keras")
    project.write("recipes/m.yaml", """\
        model: {keras: models/iris.keras}
        dataset: {source: keras_mnist}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """)
    (failure,) = project.build().failures
    assert failure.startswith("recipes/m.yaml: m: dataset.source: keras_mnist is downloaded by Keras on first use "
                              "and could not be fetched (")
    assert failure.endswith("put mnist.npz in ~/.keras/datasets/ while online, or export the arrays to an .npz "
                            "and use source: npz")


@pytest.mark.parametrize("mode", ["float16", "dynamic_int8", "int16x8"])
def test_every_quantization_mode_converts_and_runs(iris_project, mode):
    backend = ", backend: litert_quantizer" if mode == "dynamic_int8" else ""  # (see the test below)
    iris_project.edit("recipes/iris.yaml", "quantization: float32", f"quantization: {mode}{backend}")
    assert iris_project.build().exit_code == 0
    metrics = read(iris_project, "build/iris/fp32/metrics.json")
    assert metrics["accuracy"] >= 0.5


def test_a_target_the_converter_left_in_float_fails_with_the_count(iris_project):
    """TensorFlow's dynamic-range quantization leaves weights under 1,024 values in float: iris's dynamic_int8
    came out as the float model it still was, and passed its gates as 'dyn8'."""
    iris_project.edit("recipes/iris.yaml", "quantization: float32", "quantization: dynamic_int8")
    result = iris_project.build()
    (failure,) = result.failures
    assert failure == ("recipes/iris.yaml: iris/fp32: the TFLiteConverter quantized no weights (0 of 2 weight "
                       "tensors int8): it quantizes weight tensors of 1024 elements or more, and this model's largest "
                       "has 32; the LiteRT Quantizer quantizes them all (backend: litert_quantizer); nothing was "
                       "written (full output: build/iris/logs/convert-fp32.log)")
    assert not iris_project.path("build/iris/fp32/model.tflite").exists()


TRAIN_IRIS = """\
import argparse, os
import numpy as np
import tensorflow as tf
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
tf.keras.utils.set_random_seed(0)
d = np.load(os.environ["EDGEBUILD_DATA"])
m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(5, activation="relu"),
                         tf.keras.layers.Dense(3, activation="softmax")])
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(d["x_train"], d["y_train"], epochs=2, verbose=0)
m.save(a.out)
"""


def test_a_model_does_not_depend_on_what_else_the_build_ran(tmp_path):
    from conftest import Project

    recipe = """\
        model: {script: train.py}
        dataset: {source: sklearn_iris}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """
    together, alone = Project(tmp_path / "together"), Project(tmp_path / "alone")
    for project, names in ((together, ["a", "b"]), (alone, ["b"])):
        project.write("train.py", TRAIN_IRIS)
        for name in names:
            project.write(f"recipes/{name}.yaml", recipe)
        assert project.build().exit_code == 0
    assert together.path("build/b/fp32/model.tflite").read_bytes() == alone.path("build/b/fp32/model.tflite").read_bytes()


def test_conversions_start_from_one_traced_export_and_give_from_keras_models_bytes(project):
    """The source step traces a Keras model once (source/export/); converting from it gives the bytes
    TFLiteConverter.from_keras_model gives, which re-traces the model for every target."""
    import keras
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(64, activation="relu"),
                                 tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(3)])
    project.path("models").mkdir()
    model.save(project.path("models/mlp.keras"))
    project.write("recipes/mlp.yaml", IRIS_RECIPE.replace("name: iris", "name: mlp")
                  .replace("models/iris.keras", "models/mlp.keras").replace("min_accuracy: 0.5", "min_accuracy: 0.0")
                  .replace("max_size_kb: 50", "max_size_kb: 5000")
                  .replace("targets:\n", "targets:\n  - {name: fp16, quantization: float16}\n"
                                          "  - {name: dyn8, quantization: dynamic_int8}\n"))
    assert project.build().exit_code == 0
    assert project.path("build/mlp/source/export/saved_model.pb").is_file()
    from edgebuild.steps import reuse
    assert reuse.export_converter(project.path("build/mlp/source/export")) is not None  # made without a load
    x_train = np.load(project.path("build/mlp/data.npz"))["x_train"][:50]
    for target in ("fp32", "fp16", "dyn8", "int8"):
        converter = tf.lite.TFLiteConverter.from_keras_model(keras.models.load_model(project.path("models/mlp.keras")))
        if target != "fp32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if target == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        if target == "int8":
            converter.representative_dataset = lambda: ([sample[None]] for sample in x_train)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        assert project.path(f"build/mlp/{target}/model.tflite").read_bytes() == converter.convert(), target


def test_a_small_model_is_exported_too(iris_project):
    """A model of a few layers is traced once as well (its conversions skip three quarters of their work),
    with from_keras_model's bytes; the export is the step's output, so a second build runs nothing."""
    import keras
    import tensorflow as tf

    assert iris_project.build().exit_code == 0
    assert iris_project.path("build/iris/source/export/saved_model.pb").is_file()
    assert iris_project.build().executed == []
    model = keras.models.load_model(iris_project.path("models/iris.keras"), compile=False)
    assert iris_project.path("build/iris/fp32/model.tflite").read_bytes() == \
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
