"""Regression and segmentation end to end: the examples' recipes built for real, their metrics recomputed
independently, the shipped models read by MediaPipe (ImageSegmenter, ImageEmbedder) in a subprocess, the
generated Kotlin run on the JVM against the golden vectors, the Swift parsed and checked, bad data refused."""
import json
import shutil
import subprocess
from pathlib import Path

import mediapipe_task
import numpy as np
import pictures
import linux_board
import pytest
import swift_api
from conftest import Project

REPO = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).parent / "kotlin_stubs"
IGNORE = 255


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """The two examples, the shapes recipe shipping fp32 too, and an image regression (share of shape pixels)."""
    project = Project(tmp_path_factory.mktemp("kinds") / "p")
    shutil.copytree(REPO / "data" / "shapes", project.root / "data" / "shapes")
    (project.root / "models").mkdir()
    for name in ("shapes_segmenter.keras", "train_diabetes.py"):
        shutil.copy(REPO / "models" / name, project.root / "models")
    shapes = (REPO / "recipes" / "shapes_segmentation.yaml").read_text()
    project.write("recipes/shapes.yaml", shapes)
    project.write("recipes/shapes_float.yaml", shapes.replace("name: shapes", "name: shapes-float").replace(
        "module: Shapes", "module: ShapesFloat").replace("com.example.shapes", "com.example.shapesfloat").replace(
        "targets:\n", "targets:\n  - {name: auto, quantization: int8, io: uint8, keep_float: auto}\n") + "ship: fp32\n")
    diabetes = (REPO / "recipes" / "diabetes_regression.yaml").read_text()
    project.write("recipes/diabetes.yaml", diabetes.replace(  # the other modes, and the LiteRT Quantizer, too
        "  - {name: int8, quantization: int8, calibration_samples: 200}",
        "  - {name: int8, quantization: int8, calibration_samples: 200, keep_float: auto}\n"
        "  - {name: a16w8, quantization: int16x8}\n  - {name: w8, quantization: weight_only_int8}\n"
        "  - {name: fixed, quantization: int8, keep_float: [dense]}"))
    _image_regression(project)
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def _image_regression(project: Project) -> None:
    """An npz of the shapes pictures with y = the share of shape pixels, and a small seeded CNN (untrained:
    what is checked is that the build and MediaPipe see the same numbers, not that they are good)."""
    import tensorflow as tf
    from PIL import Image

    from edgebuild.steps.datasets import mask_folder_files

    pictures, masks = mask_folder_files(project.path("data/shapes"))
    x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in pictures[:60]])
    y = np.asarray([(np.asarray(Image.open(m)) % IGNORE > 0).mean() for m in masks[:60]], np.float32)
    np.savez(project.path("data/share.npz"), x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((32, 32, 3)), tf.keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                                 tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(1)])
    model.save(project.path("models/share.keras"))
    project.write("recipes/share.yaml", """\
        task: regression
        model: {keras: models/share.keras}
        dataset: {source: npz, path: data/share.npz, color_mode: rgb}
        preprocess: {scale: 0.00392156862745098}
        labels: [share]
        targets:
          - {name: fp32, quantization: float32}
        thresholds: {max_mae_increase: 0.001}
        bundles: {android: {package: com.example.share}}
        """)


def summary(project, name):
    return json.loads(project.path(f"build/{name}/summary.json").read_text())


def golden(project, name):
    return json.loads(project.path(f"build/{name}/golden.json").read_text())  # (with the raw bytes)


# --- metrics ------------------------------------------------------------------------------------------

def test_segmentation_metrics_are_recomputed_by_scikit_learn(kinds):
    """mIoU over non-ignored pixels at the model's output resolution, from the target's own model."""
    from sklearn.metrics import accuracy_score, jaccard_score

    from edgebuild.layout import RecipeLayout
    from edgebuild.steps.datasets import load_prepared
    from edgebuild.tflite.runner import TFLiteRunner

    found = summary(kinds, "shapes")
    assert found["task"] == "segmentation" and found["primary"] == "miou"
    data = load_prepared(RecipeLayout(kinds.root, "shapes"), "x_test", "y_test")
    for target in found["targets"]:
        metrics = target["metrics"]
        predicted = TFLiteRunner(kinds.path(f"build/shapes/{target['name']}/model.tflite")).run(data.x_test).argmax(-1)
        valid = data.y_test != IGNORE
        true, pred = data.y_test[valid], predicted[valid]
        present = sorted(set(true) | set(pred))
        assert metrics["miou"] == pytest.approx(jaccard_score(true, pred, labels=present, average="macro"))
        assert metrics["pixel_accuracy"] == pytest.approx(accuracy_score(true, pred))
        assert list(metrics["iou_per_class"]) == ["background", "circle", "square", "triangle"]
        assert metrics["miou_drop"] == pytest.approx(found["reference"]["miou"] - metrics["miou"])
    assert found["passed"] and json.loads(kinds.path("build/shapes/ship.json").read_text())["target"] == "int8"


def test_regression_metrics_gates_and_the_keep_float_search_use_mae(kinds):
    from sklearn.metrics import mean_absolute_error

    from edgebuild.layout import RecipeLayout
    from edgebuild.steps.datasets import load_prepared
    from edgebuild.tflite.runner import TFLiteRunner

    found = summary(kinds, "diabetes")
    data = load_prepared(RecipeLayout(kinds.root, "diabetes"), "x_test", "y_test")
    for target in found["targets"]:
        outputs = TFLiteRunner(kinds.path(f"build/diabetes/{target['name']}/model.tflite")).run(data.x_test)
        assert target["metrics"]["mae"] == pytest.approx(mean_absolute_error(data.y_test, outputs[:, 0]), rel=1e-5)
        assert target["metrics"]["mae_increase"] == pytest.approx(target["metrics"]["mae"] - found["reference"]["mae"])
        assert {c["threshold"] for c in target["verdict"]["checks"]} == {
            "max_mae", "max_mae_increase", "max_size_kb", "max_latency_ms"}
    mixed = json.loads(kinds.path("build/diabetes/int8/mixed.json").read_text())
    assert mixed["metric"] == "mae" and set(mixed["limits"]) == {"max_mae", "max_mae_increase", "max_size_kb"}
    int8 = next(t for t in found["targets"] if t["name"] == "int8")["metrics"]
    assert mixed["best"]["value"] == pytest.approx(int8["mae"])  # the search measured what ships as int8


def test_every_mode_backend_and_keep_float_measures_the_task(kinds):
    diabetes = {t["name"]: t for t in summary(kinds, "diabetes")["targets"]}
    assert {"a16w8", "w8", "fixed"} <= set(diabetes) and diabetes["w8"]["backend"] == "litert_quantizer"
    for target in diabetes.values():
        assert {"mae", "rmse", "max_abs_error", "mae_increase"} <= set(target["metrics"]), target["name"]
    assert "output_snr_db" in diabetes["w8"]["metrics"]  # the quantizer's validate() ran on a regression
    fixed = json.loads(kinds.path("build/diabetes/fixed/mixed.json").read_text())
    assert fixed["mode"] == "list" and fixed["kept"]
    searched = json.loads(kinds.path("build/shapes-float/auto/mixed.json").read_text())
    assert searched["metric"] == "miou" and set(searched["limits"]) == {"min_miou", "max_miou_drop", "max_size_kb"}


def test_reports_show_each_kind_and_the_index_each_task(kinds):
    html = kinds.path("build/shapes/report.html").read_text()
    assert "IoU per class" in html and 'src="data:image/png;base64,' in html
    assert kinds.path("build/shapes/charts/masks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the masks the report draws are files of their own, not part of metrics.json (issue 31: 3 MB for DeepLabV3)
    import numpy as np

    for target in ("fp32", "int8"):
        metrics = json.loads(kinds.path(f"build/shapes/{target}/metrics.json").read_text())
        masks = np.load(kinds.path(f"build/shapes/{target}/sample_masks.npy"))
        assert "sample_masks" not in metrics and masks.ndim == 3 and masks.shape[0] >= 1
    assert "sample_masks" not in kinds.path("build/shapes/summary.json").read_text()
    regression = kinds.path("build/diabetes/report.md").read_text()
    assert "![predicted against true](charts/predicted.svg)" in regression and "| MAE |" in regression
    assert kinds.path("build/diabetes/charts/residuals.svg").exists()
    index = kinds.path("build/report.md").read_text()
    assert "| segmentation |" in index and "miou 0." in index and "| regression |" in index and "mae " in index


# --- what ships: MediaPipe reads it as it is ----------------------------------------------------------

SEGMENTER = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, pictures = sys.argv[1], np.load(sys.argv[2])
options = vision.ImageSegmenterOptions(base_options=tasks.BaseOptions(model_asset_path=model),
                                       output_category_mask=True, output_confidence_masks=False)
try:
    segmenter = vision.ImageSegmenter.create_from_options(options)
except Exception as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(0)
masks = []
for pixels in pictures:
    found = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels)))
    masks.append(found.category_mask.numpy_view().copy().tolist())  # the view aliases the task's memory
print(json.dumps({"labels": list(segmenter.labels), "masks": masks}))
"""


mediapipe = mediapipe_task.run
pictures_of = mediapipe_task.pictures_of


@pytest.mark.parametrize("name,target", [("shapes", "int8"), ("shapes-float", "fp32")])
def test_mediapipe_segments_the_shipped_model_as_litert_does(kinds, name, target, tmp_path):
    from edgebuild.tflite.runner import TFLiteRunner

    assert json.loads(kinds.path(f"build/{name}/ship.json").read_text())["target"] == target
    shipped = kinds.path(f"build/{name}/shipped.tflite")
    pictures = pictures_of(kinds, name)
    found = mediapipe(SEGMENTER, shipped, pictures, tmp_path)
    assert found.get("labels") == ["background", "circle", "square", "triangle"], found.get("refused")
    runner = TFLiteRunner(shipped)
    litert = runner.run(pictures.astype(np.float32) / np.float32(255)).argmax(-1)
    agree = (np.asarray(found["masks"]).reshape(litert.shape) == litert).mean()
    assert agree >= 0.999, agree


def test_mediapipe_refuses_the_segmenter_without_metadata(kinds, tmp_path):
    found = mediapipe(SEGMENTER, kinds.path("build/shapes-float/fp32/model.tflite"),
                      pictures_of(kinds, "shapes-float")[:1], tmp_path)
    assert "NormalizationOptions" in found.get("refused", ""), found


EMBEDDER = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, pictures = sys.argv[1], np.load(sys.argv[2])
options = vision.ImageEmbedderOptions(base_options=tasks.BaseOptions(model_asset_path=model),
                                      l2_normalize=False, quantize=False)
embedder = vision.ImageEmbedder.create_from_options(options)
found = [embedder.embed(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(p))).embeddings[0]
         for p in pictures]
print(json.dumps({"names": [e.head_name for e in found], "values": [e.embedding.tolist() for e in found]}))
"""


def test_mediapipe_embedder_returns_the_regression_value_under_its_name(kinds, tmp_path):
    from edgebuild.tflite.runner import TFLiteRunner

    shipped = kinds.path("build/share/shipped.tflite")
    pictures = pictures_of(kinds, "share")
    found = mediapipe(EMBEDDER, shipped, pictures, tmp_path)
    assert set(found["names"]) == {"share"}
    litert = TFLiteRunner(shipped).run(pictures.astype(np.float32) / np.float32(255))
    assert np.allclose(np.asarray(found["values"]), litert, rtol=1e-5, atol=1e-6)


# --- bundles ------------------------------------------------------------------------------------------

BUNDLES = (("diabetes", "com.example.diabetes", "Diabetes", "Regressor"),
           ("shapes", "com.example.shapes", "Shapes", "Segmenter"))


def test_each_kind_ships_its_own_wrapper(kinds):
    for name, package, prefix, wrapper in BUNDLES:
        folder = kinds.path(f"dist/{name}/android/src/main/java/{package.replace('.', '/')}")
        assert sorted(p.name for p in folder.iterdir()) == [f"{prefix}Processing.kt", f"{prefix}{wrapper}.kt"]
        ios = kinds.path(f"dist/{name}/ios/Sources/{prefix}")
        assert sorted(p.name for p in ios.glob("*.swift")) == [f"{prefix}Processing.swift", f"{prefix}{wrapper}.swift"]
    meta = json.loads(kinds.path("dist/diabetes/android/src/main/assets/diabetes-metadata.json").read_text())
    assert meta["task"] == "regression" and meta["labels"] == ["progression"] and "mae" in meta["measured"]


KOTLIN_HARNESS = """\
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

fun hex(buffer: ByteBuffer): String {
    val bytes = ByteArray(buffer.remaining())
    buffer.duplicate().get(bytes)
    return bytes.joinToString("") { "%02x".format(it) }
}

fun output(hex: String): ByteBuffer {
    val bytes = ByteArray(hex.length / 2) { hex.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
    val buffer = ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder())
    buffer.put(bytes)
    return buffer
}

/** Each line: the bundle's number, the raw values as IEEE bits, the golden output's bytes. */
fun main(args: Array<String>) {
    for (line in File(args[0]).readLines()) {
        val (bundle, bits, out) = line.split(" ")
        val raw = bits.split(",").map { java.lang.Float.intBitsToFloat(it.toInt()) }.toFloatArray()
        when (bundle.toInt()) {
            CASES
        }
    }
    for (line in File(args[1]).readLines()) {  // golden pictures: the Bitmap entry point's read and resize
        val (bundle, size, argb) = line.split(" ")
        val (width, height) = size.split("x").map { it.toInt() }
        val colors = argb.split(",").map { it.toInt() }.toIntArray()
        val raw = when (bundle.toInt()) {
            PICTURES
            else -> error("no picture model: " + bundle)
        }
        println(raw.joinToString(",") { java.lang.Float.floatToIntBits(it).toString() })
    }
}
"""


def test_kotlin_compiles_and_gives_the_golden_values_and_masks(kinds, tmp_path):
    """The regressor's named values (to the bit) and the segmenter's masks (every pixel) on the JVM, from the
    golden vectors' output bytes; the inputs quantize to the same bytes as in Python; and the RGB segmenter
    resizes its golden picture as the data step does (to the bit), which is what the data step makes of it."""
    if shutil.which("kotlinc") is None:
        pytest.fail("kotlinc not found: .ci/run installs Debian's kotlin package")
    cases, lines, expected = [], [], []
    for number, (name, package, prefix, wrapper) in enumerate(BUNDLES):
        processing = f"{package}.{prefix}Processing"
        result = (f"{processing}.values(output(out)).forEach {{ println(it.name + \" \" + "
                  f"java.lang.Float.floatToIntBits(it.value)) }}" if wrapper == "Regressor" else
                  f"println({processing}.segmentation(output(out)).mask.joinToString(\"\"))")
        cases.append(f"{number} -> {{ println(hex({processing}.inputBuffer(raw))); {result} }}")
        for vector in golden(kinds, name)["vectors"]:
            raw = np.asarray([np.float32(v) for v in vector["raw"]], np.float32).view(np.int32)
            lines.append(f"{number} {','.join(str(b) for b in raw)} {vector['output_hex']}")
            expected.append(vector["input_hex"])
            if wrapper == "Regressor":
                expected += [f"{v['name']} {int(np.float32(v['value']).view(np.int32))}" for v in vector["values"]]
            else:
                expected.append("".join(str(v) for v in vector["mask"]))
    picture_cases, picture_lines, picture_expected = [], [], []
    for number, (name, package, prefix, wrapper) in enumerate(BUNDLES):
        for picture in golden(kinds, name).get("pictures", []):
            picture_cases.append(f"{number} -> {package}.{prefix}Processing.pictureToRaw(colors, width, height)")
            picture_lines.append(f"{number} {pictures.kotlin_line(picture)}")
            picture_expected.append(",".join(str(b) for b in pictures.bits(picture["raw"])))
            meta = json.loads(kinds.path(f"dist/{name}/android/src/main/assets/{name}-metadata.json").read_text())
            size = tuple(meta["input"]["shape"][:2])
            assert pictures.data_step_values(picture, "rgb", size) == pictures.bits(picture["raw"])
    assert len(picture_cases) == 1  # shapes: RGB (diabetes takes no picture)
    expected += picture_expected
    harness = tmp_path / "KindsCheck.kt"
    harness.write_text(KOTLIN_HARNESS.replace("CASES", "\n            ".join(cases))
                       .replace("PICTURES", "\n            ".join(picture_cases)))
    (tmp_path / "vectors.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "pictures.txt").write_text("\n".join(picture_lines) + "\n")
    sources = sorted(str(p) for name, *_ in BUNDLES for p in kinds.path(f"dist/{name}/android/src").rglob("*.kt"))
    jar = tmp_path / "check.jar"
    compiled = subprocess.run(["kotlinc", *sources, *sorted(str(p) for p in STUBS.glob("*.kt")), str(harness),
                               "-include-runtime", "-d", str(jar)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    assert [line for line in compiled.stderr.splitlines() if "warning:" in line and "VM warning" not in line] == []
    ran = subprocess.run(["java", "-cp", str(jar), "KindsCheckKt", str(tmp_path / "vectors.txt"), str(tmp_path / "pictures.txt")],
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == expected


def test_swift_parses_and_calls_only_what_the_real_apis_declare(kinds):
    import tree_sitter
    import tree_sitter_swift

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    for name, _, prefix, wrapper in BUNDLES:
        folder = kinds.path(f"dist/{name}/ios")
        for path in sorted(folder.rglob("*.swift")):
            assert not parser.parse(path.read_bytes()).root_node.has_error, path
        meta = json.loads((folder / f"Sources/{prefix}/Resources/{name}-metadata.json").read_text())
        source = (folder / f"Sources/{prefix}/{prefix}{wrapper}.swift").read_bytes()
        assert swift_api.problems(source, meta["input"]["dtype"], meta["output"]["dtype"]) == [], name


# --- bad data: one line each, nothing half-written -----------------------------------------------------

MASKS_RECIPE = """\
task: segmentation
model: {keras: models/m.keras}
dataset: {source: mask_folder, path: data/tiny}
labels: [background, thing]
targets:
  - {name: fp32, quantization: float32}
"""


@pytest.fixture
def tiny_masks(project):
    from PIL import Image

    for sub in ("images", "masks"):
        project.path(f"data/tiny/{sub}").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(project.path(f"data/tiny/images/{i}.png"))
        Image.fromarray(np.eye(8, dtype=np.uint8)).save(project.path(f"data/tiny/masks/{i}.png"))
    project.path("models").mkdir()
    project.path("models/m.keras").write_bytes(b"never loaded: the data step fails first")
    project.write("recipes/tiny.yaml", MASKS_RECIPE)
    return project


def failure_of(project):
    result = project.build()
    assert result.exit_code == 1
    assert not project.path("build/tiny/data.npz").exists()  # nothing half-written
    return result.failures


def test_a_mask_class_beyond_the_labels_names_the_file_and_value(tiny_masks):
    from PIL import Image

    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(tiny_masks.path("data/tiny/masks/2.png"))
    assert failure_of(tiny_masks) == [
        "recipes/tiny.yaml: tiny: dataset.path: mask data/tiny/masks/2.png holds class 7; the recipe names 2 labels "
        "(0..1, and 255 for 'ignore')"]


def test_a_mask_of_another_size_and_a_picture_without_mask_are_one_line_each(tiny_masks):
    from PIL import Image

    Image.fromarray(np.zeros((6, 8), np.uint8)).save(tiny_masks.path("data/tiny/masks/1.png"))
    assert failure_of(tiny_masks) == [
        "recipes/tiny.yaml: tiny: dataset.path: mask data/tiny/masks/1.png is 8x6, its picture 1.png 8x8; "
        "expected the same size"]
    tiny_masks.path("data/tiny/masks/1.png").unlink()
    assert failure_of(tiny_masks) == [
        "recipes/tiny.yaml: tiny: dataset.path: picture data/tiny/images/1.png has no mask; expected "
        "data/tiny/masks/1.png"]


def test_float_targets_on_a_classification_recipe_say_to_set_task_regression(project):
    x = np.zeros((10, 3), np.float32)
    np.savez(project.path("data.npz"), x_test=x, y_test=np.linspace(0, 1, 10), x_train=x, y_train=np.zeros(10))
    project.path("models").mkdir()
    project.path("models/m.keras").write_bytes(b"never loaded")
    project.write("recipes/tiny.yaml", """\
        model: {keras: models/m.keras}
        dataset: {source: npz, path: data.npz}
        labels: [a, b]
        targets: [{name: fp32, quantization: float32}]
        """)
    assert failure_of(project) == [
        "recipes/tiny.yaml: tiny: dataset: the test data's y holds values that are not class indices (such as "
        "0.111111); a classification recipe expects integers 0..1; for values to predict, set task: regression"]


def test_golden_masks_hold_within_the_measured_pixel_bound_on_every_kernel_set(kinds):
    """The segmenter's pixel bound is MARGIN x the most pixels two kernel sets disagreed on, plus one; under
    every kernel set, each vector marked stable gives its golden mask within it, and the tests state it."""
    import math

    from edgebuild.bundle.golden import MARGIN
    from edgebuild.bundle.kernel_sets import KERNELS
    from edgebuild.kinds.segmentation import predicted_mask
    from edgebuild.tflite.runner import TFLiteRunner

    found = golden(kinds, "shapes")
    tolerance = found["tolerance"]
    assert tolerance["mask_pixels"] == math.ceil(MARGIN * tolerance["measured"]["mask_pixels"]) + 1
    stable = [v for v in found["vectors"] if v["stable"]]
    assert stable and tolerance["kernels"] == list(KERNELS.values())
    model = kinds.path("build/shapes/shipped.tflite")
    for kernels in KERNELS:
        runner = TFLiteRunner(model, kernels=kernels)
        for vector in stable:
            model_input = np.frombuffer(bytes.fromhex(vector["input_hex"]), runner.input["dtype"])
            scores = runner.dequantize(runner.invoke(model_input.reshape(runner.input["shape"])))
            mask = predicted_mask(scores)[0].reshape(-1)
            assert int((mask != np.asarray(vector["mask"])).sum()) <= tolerance["mask_pixels"], kernels
    kotlin = next(kinds.path("dist/shapes/android").rglob("*GoldenTest.kt")).read_text()
    swift = next(kinds.path("dist/shapes/ios").rglob("*GoldenTests.swift")).read_text()
    for text in (kotlin, swift):
        assert f"differing <= {tolerance['mask_pixels']}" in text or f"(differing, {tolerance['mask_pixels']}" in text


def test_a_float_input_gets_no_quantize_and_a_quantized_one_does(kinds):
    """The wrappers quantize only what the model takes quantized: shapes-float ships fp32 (float input),
    shapes ships int8 with uint8 input."""
    for name, dtype in (("shapes-float", "float32"), ("shapes", "uint8")):
        kotlin = next(kinds.path(f"dist/{name}/android").rglob("*Processing.kt")).read_text()
        swift = next(kinds.path(f"dist/{name}/ios").rglob("*Processing.swift")).read_text()
        assert f"The input tensor's shape without the batch dimension ({dtype})" in kotlin
        quantized = dtype != "float32"
        assert ("fun quantize(" in kotlin) == ("INPUT_SCALE" in kotlin) == quantized, name
        assert ("func quantize(" in swift) == ("inputScale" in swift) == quantized, name


def test_a_picture_model_in_0_to_255_gets_no_note_about_other_units(kinds):
    readme = kinds.path("dist/share/android/README.md").read_text()
    assert "reads a picture of any size as rgb 0..255 at its own size, then resizes it" in readme
    assert "raw values run from" not in readme and "digits" not in readme
    x = np.load(kinds.path("data/share.npz"))["x_train"]
    assert 128 <= x.max() <= 255 and x.min() >= 0  # a picture's own units
    units = f"({x.min():g} to {x.max():g} in the training data)".encode()
    assert units in kinds.path("build/share/shipped.tflite").read_bytes()


@pytest.mark.parametrize("name", ["shapes", "diabetes", "share"])
def test_the_linux_package_gives_the_masks_and_values_on_a_board_without_tensorflow(kinds, board_python, tmp_path, name):
    """A segmenter, a regressor on features and one on pictures: each wheel installed in a venv without TensorFlow
    passes its golden tests (input bytes, masks or values, the picture read as training read it, the command line)."""
    ran = linux_board.prove(kinds.path(f"dist/{name}/linux"), name, board_python, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    golden = json.loads(kinds.path(f"build/{name}/golden.json").read_text())
    assert f"{2 * len(golden['vectors']) + bool(golden.get('pictures')) + 1} passed" in ran.stdout, ran.stdout
