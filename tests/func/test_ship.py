"""What ships: the choice a mobile team would make (no hybrid model while another passed, ship_by, baselines),
a near-chance model said so, and the runtimes the bundles pin checked against the shipped model's ops."""
import json
import subprocess
import sys

import pytest

from edgebuild.tflite import op_runtimes
from edgebuild.tflite.inspection import inspect_model

WIDE_RECIPE = """\
name: wide
model: {keras: models/wide.keras}
dataset: {source: npz, path: data/wide.npz}
labels: [a, b, c]
targets:
  - {name: fp32, quantization: float32}
  - {name: dyn8, quantization: dynamic_int8}
  - {name: int8, quantization: int8, calibration_samples: 50}
thresholds: {min_accuracy: 0.5}
"""


@pytest.fixture(scope="module")
def wide_files(tmp_path_factory):
    """A 32 -> 64 -> 3 classifier: its first layer has 2,048 weights, enough for the converter to make a
    dynamic-range (hybrid) model of it (it leaves tensors under 1,024 values in float)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 32)).astype(np.float32)
    y = np.argmax(x @ rng.normal(size=(32, 3)), axis=1)
    folder = tmp_path_factory.mktemp("wide")
    np.savez(folder / "wide.npz", x_train=x[:300], y_train=y[:300], x_test=x[300:], y_test=y[300:])
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((32,)), tf.keras.layers.Dense(64, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:300], y[:300], epochs=20, verbose=0)
    model.save(folder / "wide.keras")
    return folder


@pytest.fixture
def wide(project, wide_files):
    import shutil

    (project.root / "models").mkdir()
    (project.root / "data").mkdir()
    shutil.copy(wide_files / "wide.keras", project.root / "models")
    shutil.copy(wide_files / "wide.npz", project.root / "data")
    project.write("recipes/wide.yaml", WIDE_RECIPE)
    return project


def read(project, relative):
    return json.loads(project.path(relative).read_text())


def converters_minimum(path) -> str:
    """The min_runtime_version the TFLite converter itself wrote into the model's metadata."""
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    root = schema.Model.GetRootAs(data, 0)
    for i in range(root.MetadataLength()):
        if root.Metadata(i).Name() == b"min_runtime_version":
            buffer = root.Buffers(root.Metadata(i).Buffer())
            raw = data[buffer.Offset():buffer.Offset() + buffer.Size()] if buffer.Offset() > 1 else \
                buffer.DataAsNumpy().tobytes()
            return raw.rstrip(b"\0").decode()
    raise AssertionError("no min_runtime_version")


def test_a_hybrid_model_ships_only_when_named(wide, capfd):
    result = wide.build()
    said = capfd.readouterr().err
    assert result.exit_code == 0, result.failures
    summary = read(wide, "build/wide/summary.json")
    hybrid = {t["name"]: t["hybrid"] for t in summary["targets"]}
    assert hybrid == {"fp32": False, "dyn8": True, "int8": False}
    sizes = {t["name"]: t["metrics"]["size_bytes"] for t in summary["targets"]}
    assert sizes["dyn8"] < sizes["fp32"]  # the old rule, the smallest that passed, could pick it
    ship = read(wide, "build/wide/ship.json")
    assert ship["target"] == min(("fp32", "int8"), key=sizes.get)
    assert ship["passed_over"]["dyn8"].startswith("a hybrid model (float activations, int8 weights)")
    assert f"wide:ship: ships {ship['target']}: the smallest of the 2 non-hybrid targets" in said
    assert "wide:ship: not dyn8: a hybrid model" in said

    wide.edit("recipes/wide.yaml", "thresholds:", "ship_by: latency\nthresholds:")
    assert wide.build().exit_code == 0
    # (a tie of medians, which happens at a microsecond, goes to the smaller model)
    latency = {t["name"]: (t["metrics"]["latency_ms_median"], t["metrics"]["size_bytes"])
               for t in read(wide, "build/wide/summary.json")["targets"]}
    ship = read(wide, "build/wide/ship.json")
    assert ship["target"] == min(("fp32", "int8"), key=latency.get)
    assert "ms" not in json.dumps(ship["passed_over"]) + ship["why"]  # latency figures stay out of the bundles

    wide.edit("recipes/wide.yaml", "ship_by: latency\n", "ship: dyn8\n")
    assert wide.build().exit_code == 0
    assert read(wide, "build/wide/ship.json")["target"] == "dyn8"


def test_the_runtime_table_agrees_with_the_converters_own_minimum(wide):
    assert wide.build().exit_code == 0
    for name in ("fp32", "dyn8", "int8"):
        path = wide.path(f"build/wide/{name}/model.tflite")
        need = op_runtimes.minimum(inspect_model(path).op_codes)
        assert need.runtime == converters_minimum(path), name
    shown = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", "build/wide/int8/model.tflite"],
                           cwd=wide.root, capture_output=True, text=True, check=True).stdout
    need = op_runtimes.minimum(inspect_model(wide.path("build/wide/int8/model.tflite")).op_codes)
    assert f"minimum runtime: TensorFlow Lite {need.runtime} ({need.op} version {need.version})" in shown
    assert f"{need.op} v{need.version} ({need.runtime})" in shown


def test_a_pinned_runtime_older_than_the_model_fails_the_ship_step(iris_project):
    assert iris_project.build().exit_code == 0
    ship = read(iris_project, "build/iris/ship.json")
    codes = inspect_model(iris_project.path("build/iris/shipped.tflite")).op_codes
    need = op_runtimes.minimum(codes)
    assert ship["runtimes"]["needs"] == need.runtime
    major, minor, _ = need.runtime.split(".")
    older = f"{major}.{int(minor) - 1}.0"
    too_new = sorted((c for c in codes if c["runtime"] and op_runtimes.version_key(c["runtime"]) >
                      op_runtimes.version_key(older)), key=lambda c: c["op"])
    iris_project.write("recipes/iris.yaml", iris_project.path("recipes/iris.yaml").read_text() +
                       f"bundles: {{ios: {{runtime: {older}}}}}\n")
    result = iris_project.build()
    assert result.exit_code == 1
    (line,) = [f for f in result.failures if "runtime" in f]
    for code in too_new:
        assert (f"bundles.ios.runtime {older}: {code['op']} version {code['version']} needs TensorFlow Lite "
                f"{code['runtime']}, newer than TensorFlowLiteSwift {older}") in line
    assert line.startswith(f"recipes/iris.yaml: iris/{ship['target']}: ")
    assert not iris_project.path("build/iris/shipped.tflite").exists()
    iris_project.edit("recipes/iris.yaml", f"runtime: {older}", f"runtime: {need.runtime}")  # exactly enough
    assert iris_project.build().exit_code == 0
    podspec = next(iris_project.path("dist/iris/ios").rglob("*.podspec")).read_text()
    assert f"'TensorFlowLiteSwift', '{need.runtime}'" in podspec


def test_custom_and_flex_ops_need_a_runtime_that_has_them():
    codes = [{"op": "FlexRFFT", "version": 1, "kind": "flex"}, {"op": "MyOp", "version": 1, "kind": "custom"},
             {"op": "TFLite_Detection_PostProcess", "version": 1, "kind": "custom"}]
    assert op_runtimes.problems(codes, "2.23.0", "LiteRT 2.3.0") == [
        "FlexRFFT is a Select TF (flex) op, which LiteRT 2.3.0 does not include",
        "custom op MyOp has no kernel in LiteRT 2.3.0"]


def test_a_baseline_is_measured_but_never_gated_or_shipped(iris_project):
    iris_project.edit("recipes/iris.yaml", "{name: fp32, quantization: float32}",
                      "{name: fp32, quantization: float32, baseline: true, thresholds: {max_size_kb: 0.1}}")
    result = iris_project.build()
    assert result.exit_code == 0, result.failures
    summary = read(iris_project, "build/iris/summary.json")
    fp32 = next(t for t in summary["targets"] if t["name"] == "fp32")
    assert fp32["baseline"] and not fp32["verdict"]["passed"]  # measured and judged, for the report
    assert summary["passed"] and summary["failures"] == []
    assert read(iris_project, "build/iris/ship.json")["target"] == "int8"
    assert "baseline, not gated" in iris_project.path("build/iris/report.md").read_text()


@pytest.fixture
def untrained_iris(project):
    import tensorflow as tf

    from conftest import IRIS_RECIPE

    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    (project.root / "models").mkdir()
    model.save(project.root / "models" / "iris.keras")
    project.write("recipes/iris.yaml", IRIS_RECIPE.replace("min_accuracy: 0.5", "min_accuracy: 0.9"))
    return project


def test_a_model_near_chance_is_said_so_beside_the_gate_failures(untrained_iris):
    import math

    result = untrained_iris.build()
    assert result.exit_code == 1
    reference = read(untrained_iris, "build/iris/reference.json")
    rows = [sum(row) for row in reference["confusion"]]
    share = max(rows) / sum(rows)
    upper = share + 1.96 * math.sqrt(share * (1 - share) / sum(rows))
    assert reference["accuracy"] <= upper  # (an untrained model: the case this line is for)
    assert result.failures[-1] == (
        f"recipes/iris.yaml: iris: the unconverted model itself is near chance: accuracy {reference['accuracy']:.4f}, "
        f"while always answering {['setosa', 'versicolor', 'virginica'][rows.index(max(rows))]!r} scores {share:.4f} "
        f"(95% interval up to {upper:.4f} on {sum(rows)} test samples); train the model before tuning its quantization")


def test_a_trained_model_that_misses_a_threshold_is_not_called_near_chance(iris_project):
    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.5", "min_accuracy: 0.999")
    trained = iris_project.build()
    assert trained.exit_code == 1 and not any("near chance" in line for line in trained.failures)


def test_golden_tolerances_hold_on_every_kernel_set_litert_has(wide):
    """The golden step's tolerance covers what XNNPACK, the built-in and the reference kernels give for every
    vector; a vector marked stable has the same winner under each, by more than the tolerance."""
    import numpy as np

    from edgebuild.bundle.golden import KERNELS, MARGIN
    from edgebuild.tflite.runner import TFLiteRunner

    wide.edit("recipes/wide.yaml", "calibration_samples: 50}", "calibration_samples: 50, io: int8}")
    wide.edit("recipes/wide.yaml", "thresholds:", "ship: int8\nthresholds:")  # a quantized output: in steps
    assert wide.build().exit_code == 0
    golden = read(wide, "build/wide/golden.json")
    tolerance = golden["tolerance"]
    (output,) = tolerance["outputs"]
    assert output["quantized"] and output["steps"] == int(np.ceil(MARGIN * output["measured_steps"])) + 1
    assert tolerance["score"] == output["steps"] * output["scale"]
    assert tolerance["kernels"] == list(KERNELS.values()) and "x the largest difference" in tolerance["margin"]
    assert len(golden["vectors"]) == 5 + 3 and sum(v["stable"] for v in golden["vectors"][:5]) == 5
    model = wide.path("build/wide/shipped.tflite")
    for kernels in KERNELS:
        runner = TFLiteRunner(model, kernels=kernels)
        for vector in golden["vectors"]:
            model_input = np.frombuffer(bytes.fromhex(vector["input_hex"]), runner.input["dtype"])
            scores = runner.dequantize(runner.invoke(model_input.reshape(runner.input["shape"])))[0]
            want = np.array([float(s) for s in vector["scores"]], np.float32)
            finite = np.isfinite(want)
            assert np.all(np.abs(scores[finite] - want[finite]) <= tolerance["score"] + 1e-7), (kernels, vector["top"])
            if vector["stable"]:
                order = np.argsort(-scores, kind="stable")
                assert golden["labels"][order[0]] == vector["top"][0]["label"]
                assert scores[order[0]] - scores[order[1]] > tolerance["score"]
    bundled = json.loads(wide.path("dist/wide/android/src/androidTest/assets/wide-golden.json").read_text())
    assert bundled["tolerance"] == tolerance
    kotlin = next(wide.path("dist/wide/android").rglob("*GoldenTest.kt")).read_text()
    assert f"{tolerance['score']}f)" in kotlin


def test_a_kernel_set_that_crashes_is_left_out_of_the_golden_comparison(project):
    """LiteRT's reference kernels abort the process on an int8 SOFTMAX whose input scale is tiny (weights of
    1e-7: every logit nearly 0, as in an untrained MobileNetV2). The golden step runs each kernel set in its
    own child: the abort costs that set, with the reason in golden.json, and the bundles are still built."""
    import tensorflow as tf

    from conftest import IRIS_RECIPE

    tf.keras.utils.set_random_seed(0)
    tiny = tf.keras.initializers.RandomNormal(stddev=1e-7)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, kernel_initializer=tiny),
                                 tf.keras.layers.Softmax()])
    (project.root / "models").mkdir()
    model.save(project.root / "models" / "iris.keras")
    project.write("recipes/iris.yaml", IRIS_RECIPE.replace("min_accuracy: 0.5", "min_accuracy: 0.0")
                  .replace("thresholds:", "ship: int8\nthresholds:"))
    result = project.build()
    assert result.exit_code == 0, result.failures
    shipped = project.path("build/iris/shipped.tflite")
    crash = ("import sys; from ai_edge_litert.interpreter import Interpreter, OpResolverType as R; "
             "i = Interpreter(model_path=sys.argv[1], experimental_op_resolver_type=R.BUILTIN_REF); "
             "i.allocate_tensors(); i.invoke()")
    assert subprocess.run([sys.executable, "-c", crash, str(shipped)], capture_output=True).returncode == -6  # SIGABRT
    tolerance = read(project, "build/iris/golden.json")["tolerance"]
    assert tolerance["kernels_that_cannot_run_it"] == ["reference kernels: crashed (SIGABRT)"]
    assert tolerance["kernels"] == ["XNNPACK (LiteRT's default)", "built-in optimized kernels"]
    assert project.path("dist/iris-android.zip").is_file() and project.path("dist/iris-ios.zip").is_file()
