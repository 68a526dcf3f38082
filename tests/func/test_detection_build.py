"""Object detection end to end: the example's COCO recipe built for real (four kinds of target), its
post-processing checked against the op in LiteRT, its metrics against pycocotools on known answers,
the shipped model read by MediaPipe's ObjectDetector in a subprocess, the generated Kotlin run on the
JVM against the golden vectors, the Swift parsed and checked, bad COCO input and bad models refused."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import linux_board
import pytest
import mediapipe_task
import swift_api
from conftest import Project

REPO = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).parent / "kotlin_stubs"
LABELS = ["circle", "square", "triangle"]


def _copy_example(project: Project) -> str:
    shutil.copytree(REPO / "data" / "shapes_detection", project.root / "data" / "shapes_detection")
    (project.root / "models").mkdir(exist_ok=True)
    for name in ("shapes_detector.keras", "shapes_anchors.npy"):
        shutil.copy(REPO / "models" / name, project.root / "models")
    return (REPO / "recipes" / "shapes_detection.yaml").read_text()


@pytest.fixture(scope="module")
def detection(tmp_path_factory):
    """The example, with a dynamic-range int8 target too (shipping int8), and a copy that ships its float32 target."""
    project = Project(tmp_path_factory.mktemp("detection") / "p")
    recipe = _copy_example(project).replace("targets:\n", "targets:\n  - {name: dyn8, quantization: dynamic_int8}\n")
    project.write("recipes/shapes_detection.yaml", recipe + "ship: int8\n")  # (dyn8 is smaller)
    project.write("recipes/float.yaml", recipe.replace("name: shapes-detection", "name: shapes-float").replace(
        "targets:\n", "targets:\n  - {name: auto, quantization: int8, io: uint8, keep_float: auto}\n") + "ship: fp32\n")
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def summary(project, name="shapes-detection"):
    return json.loads(project.path(f"build/{name}/summary.json").read_text())


def test_every_target_kind_builds_and_the_op_stays_float(detection):
    from edgebuild.tflite.inspection import inspect_model

    targets = {t["name"]: t for t in summary(detection)["targets"]}
    assert set(targets) == {"fp32", "fp16", "dyn8", "int8"}
    for name in targets:
        model = inspect_model(detection.path(f"build/shapes-detection/{name}/model.tflite"))
        assert [op.op for op in model.ops][-1] == "TFLite_Detection_PostProcess", name
        assert [t.dtype for t in model.outputs] == ["float32"] * 4, name  # MediaPipe refuses int8 outputs
    assert inspect_model(detection.path("build/shapes-detection/int8/model.tflite")).inputs[0].dtype == "uint8"


def test_the_reference_post_processing_is_the_ops(detection):
    """The unconverted model's detections come from a NumPy copy of TFLite_Detection_PostProcess: on the test
    pictures it gives the float32 target's detections (same classes, same order, boxes and scores to 1e-4)."""
    import keras

    from edgebuild.kinds.detection import KIND
    from edgebuild.layout import RecipeLayout
    from edgebuild.recipe import load_recipe
    from edgebuild.steps.datasets import load_prepared

    recipe = load_recipe(detection.path("recipes/shapes_detection.yaml"), detection.root)
    x = load_prepared(RecipeLayout(detection.root, "shapes-detection"), "x_test").x_test
    model = keras.models.load_model(detection.path("models/shapes_detector.keras"), compile=False)
    mine = KIND.from_model(recipe, [np.asarray(o) for o in model(x, training=False)])
    ops = KIND.run_tflite(recipe, detection.path("build/shapes-detection/fp32/model.tflite"), x)
    assert np.array_equal(mine["count"], ops["count"]) and mine["count"].sum() > len(x)
    for i, count in enumerate(ops["count"].astype(int)):
        assert np.array_equal(mine["classes"][i, :count], ops["classes"][i, :count]), i
        assert np.allclose(mine["scores"][i, :count], ops["scores"][i, :count], atol=1e-4), i
        assert np.allclose(mine["boxes"][i, :count], ops["boxes"][i, :count], atol=1e-4), i


def test_metrics_are_pycocotools_on_boxes_in_the_pictures_pixels(detection):
    """The true boxes, given back as detections (as fractions of each picture, like the op's), score an mAP
    of 1; shifted by a tenth of their size they fall below; and the build's figures are these functions'
    on each target's own detections."""
    from edgebuild.kinds.detection import KIND, coco_evaluate, unpack_boxes
    from edgebuild.layout import RecipeLayout
    from edgebuild.recipe import load_recipe
    from edgebuild.steps.datasets import load_prepared

    data = load_prepared(RecipeLayout(detection.root, "shapes-detection"), "x_test", "y_test")
    pictures = unpack_boxes(data.y_test)
    slots = max(len(b) for *_, b in pictures)

    def as_detections(shift):
        found = {"boxes": np.zeros((len(pictures), slots, 4), np.float32), "count": np.zeros(len(pictures)),
                 "classes": np.zeros((len(pictures), slots)), "scores": np.zeros((len(pictures), slots))}
        for i, (width, height, boxes) in enumerate(pictures):
            for k, (label, x, y, w, h, _) in enumerate(boxes.tolist()):
                x += shift * w
                found["boxes"][i, k] = (y / height, x / width, (y + h) / height, (x + w) / width)
                found["classes"][i, k], found["scores"][i, k] = label, 1.0 - 0.01 * k
            found["count"][i] = len(boxes)
        return found

    perfect = coco_evaluate(LABELS, data.y_test, as_detections(0.0), 10)
    assert perfect["map"] == pytest.approx(1.0) and perfect["map50"] == pytest.approx(1.0)
    assert all(v == pytest.approx(1.0) for v in perfect["ap_per_class"].values())
    shifted = coco_evaluate(LABELS, data.y_test, as_detections(0.1), 10)
    assert shifted["map50"] == pytest.approx(1.0) and shifted["map"] < 0.9  # IoU 0.82: passes at .5, not at .85+
    recipe = load_recipe(detection.path("recipes/shapes_detection.yaml"), detection.root)
    found = summary(detection)
    for target in found["targets"]:
        outputs = KIND.run_tflite(recipe, detection.path(f"build/shapes-detection/{target['name']}/model.tflite"),
                                  data.x_test)
        again = coco_evaluate(LABELS, data.y_test, outputs, 10)
        assert target["metrics"]["map"] == pytest.approx(again["map"]) and 0.3 < again["map"] <= 1
        assert target["metrics"]["map_drop"] == pytest.approx(found["reference"]["map"] - again["map"])
        assert list(target["metrics"]["ap_per_class"]) == LABELS
        assert len(target["metrics"]["pr_curve_50"]) == 101


def test_keep_float_auto_searches_on_map(detection):
    """Outputs stay float32 through the search's quantizations too, so every attempt keeps the op."""
    searched = json.loads(detection.path("build/shapes-float/auto/mixed.json").read_text())
    assert searched["metric"] == "map" and set(searched["limits"]) == {"min_map", "max_map_drop"}
    auto = next(t for t in summary(detection, "shapes-float")["targets"] if t["name"] == "auto")["metrics"]
    assert searched["best"]["value"] == pytest.approx(auto["map"])


def test_gates_name_the_detection_thresholds(detection):
    checks = {c["threshold"] for t in summary(detection)["targets"] for c in t["verdict"]["checks"]}
    assert {"min_map", "max_map_drop"} <= checks
    detection.edit("recipes/float.yaml", "min_map: 0.4", "min_map: 0.99")
    result = detection.build("recipes/float.yaml")
    assert result.exit_code == 1
    assert any(line.startswith("recipes/float.yaml: shapes-float/fp32: map 0.") and line.endswith("< min_map 0.9900")
               for line in result.failures), result.failures
    detection.edit("recipes/float.yaml", "min_map: 0.99", "min_map: 0.4")
    assert detection.build("recipes/float.yaml").exit_code == 0


def test_the_report_draws_boxes_ap_per_class_and_the_pr_curve(detection):
    html = detection.path("build/shapes-detection/report.html").read_text()
    assert "AP per class" in html and 'src="data:image/png;base64,' in html and "precision against recall" in html
    assert detection.path("build/shapes-detection/charts/detections.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "min_map 0.4" in detection.path("build/shapes-detection/charts/map_latency.svg").read_text()
    index = detection.path("build/report.md").read_text()
    assert "| detection |" in index


def test_a_tflite_that_ends_in_the_op_is_taken_as_it_is(detection):
    """A float .tflite detector (here the fp32 target, without metadata) needs no anchors: the LiteRT Quantizer
    quantizes its weights, and its reference is its own detections."""
    shutil.copy(detection.path("build/shapes-detection/fp32/model.tflite"), detection.path("models/ends_in_op.tflite"))
    recipe = (REPO / "recipes" / "shapes_detection.yaml").read_text().split("targets:")[0]
    recipe = recipe.replace("keras: models/shapes_detector.keras", "tflite: models/ends_in_op.tflite").replace(
        "name: shapes-detection", "name: from-tflite").replace("  anchors: models/shapes_anchors.npy\n", "")
    detection.write("recipes/from_tflite.yaml", recipe + "targets:\n  - {name: w8, quantization: weight_only_int8}\n"
                    "  - {name: dyn8, quantization: dynamic_int8}\n")
    result = detection.build("recipes/from_tflite.yaml")
    assert result.exit_code == 0, result.failures
    found = summary(detection, "from-tflite")
    fp32 = next(t for t in summary(detection)["targets"] if t["name"] == "fp32")["metrics"]["map"]
    assert found["reference"]["map"] == pytest.approx(fp32)
    assert all(t["metrics"]["map_drop"] < 0.02 for t in found["targets"])
    detection.edit("recipes/from_tflite.yaml", "quantization: dynamic_int8}", "quantization: int8}")
    from edgebuild.errors import RecipeError

    with pytest.raises(RecipeError) as refused:
        detection.build("recipes/from_tflite.yaml")
    detection.path("recipes/from_tflite.yaml").unlink()
    assert len(refused.value.problems) == 1
    assert "targets[1].quantization: the LiteRT Quantizer's int8 quantizes a detector's four outputs too" in \
        refused.value.problems[0]


# --- what ships: MediaPipe's ObjectDetector reads it as it is ------------------------------------------

DETECTOR = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, pictures = sys.argv[1], np.load(sys.argv[2])
options = vision.ObjectDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=model),
                                       score_threshold=0.0, max_results=-1)
try:
    detector = vision.ObjectDetector.create_from_options(options)
except Exception as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(0)
found = []
for pixels in pictures:
    result = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels)))
    found.append([[d.categories[0].category_name, d.categories[0].score, d.bounding_box.origin_x,
                   d.bounding_box.origin_y, d.bounding_box.width, d.bounding_box.height] for d in result.detections])
print(json.dumps({"detections": found}))
"""


def mediapipe(model: Path, pictures, tmp_path) -> dict:
    return mediapipe_task.run(DETECTOR, model, pictures, tmp_path)


pictures_of = mediapipe_task.pictures_of


@pytest.mark.parametrize("name,target", [("shapes-detection", "int8"), ("shapes-float", "fp32")])
def test_mediapipe_detects_on_the_shipped_model_what_litert_does(detection, name, target, tmp_path):
    """Same labels in the same order, scores within 2e-3, boxes within 1 pixel (MediaPipe gives whole pixels)."""
    from edgebuild.recipe import load_recipe

    assert json.loads(detection.path(f"build/{name}/ship.json").read_text())["target"] == target
    shipped = detection.path(f"build/{name}/shipped.tflite")
    pictures = pictures_of(detection, name)
    found = mediapipe(shipped, pictures, tmp_path)
    assert "detections" in found, found.get("refused")
    recipe = load_recipe(detection.path("recipes/shapes_detection.yaml"), detection.root)
    litert = recipe.kind.run_tflite(recipe, shipped, pictures.astype(np.float32) / np.float32(255))
    size = pictures.shape[1]
    compared = 0
    for i, theirs in enumerate(found["detections"]):
        count = int(litert["count"][i])
        assert len(theirs) == count, i
        for k, (label, score, x, y, w, h) in enumerate(theirs):
            ymin, xmin, ymax, xmax = litert["boxes"][i, k] * size
            assert label == LABELS[int(litert["classes"][i, k])]
            assert abs(score - litert["scores"][i, k]) <= 2e-3
            assert np.allclose([x, y, w, h], [max(xmin, 0), max(ymin, 0), xmax - xmin, ymax - ymin], atol=1.0)
            compared += 1
    assert compared >= len(pictures)


def test_mediapipe_refuses_the_same_model_without_metadata(detection, tmp_path):
    unmarked = detection.path("build/shapes-float/fp32/model.tflite")
    found = mediapipe(unmarked, pictures_of(detection, "shapes-float")[:1], tmp_path)
    assert "Metadata" in found.get("refused", ""), found


def test_the_metadata_names_the_four_outputs_in_the_files_order(detection):
    from edgebuild.kinds.detection import output_roles
    from edgebuild.tflite import metadata

    shipped = detection.path("build/shapes-detection/shipped.tflite").read_bytes()
    found = metadata.read(shipped)
    outputs = found["subgraphs"][0]["outputs"]
    names = ["location", "category", "score", "number of detections"]
    assert [outputs[p]["name"] for p in output_roles(shipped)] == names
    location = next(t for t in outputs if t["name"] == "location")
    assert location["bounding_box"] == {"index": [1, 0, 3, 2], "type": "BOUNDARIES", "coordinates": "RATIO"}
    category = next(t for t in outputs if t["name"] == "category")
    assert [f["type"] for f in category["associated_files"]] == ["TENSOR_VALUE_LABELS"]
    assert found["labels"] == LABELS
    assert found["subgraphs"][0]["inputs"][0]["content"] == "ImageProperties"


# --- bundles ------------------------------------------------------------------------------------------

def golden(project):
    return json.loads(project.path("build/shapes-detection/golden.json").read_text())  # (with the raw bytes)


KOTLIN_HARNESS = """\
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

fun hex(buffer: ByteBuffer): String {
    val bytes = ByteArray(buffer.remaining())
    buffer.duplicate().get(bytes)
    return bytes.joinToString("") { "%02x".format(it) }
}

fun buffer(hex: String): ByteBuffer {
    val bytes = ByteArray(hex.length / 2) { hex.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
    val buffer = ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder())
    buffer.put(bytes)
    return buffer
}

/** Each line: raw values as IEEE bits, width, height, then the boxes, classes, scores and count outputs' bytes. */
fun main(args: Array<String>) {
    val p = com.example.shapes_detection.ShapesDetectionProcessing
    for (line in File(args[0]).readLines()) {
        val f = line.split(" ")
        val raw = f[0].split(",").map { java.lang.Float.intBitsToFloat(it.toInt()) }.toFloatArray()
        println(hex(p.inputBuffer(raw)))
        val outputs = mapOf(p.BOXES_OUTPUT to buffer(f[3]), p.CLASSES_OUTPUT to buffer(f[4]),
                            p.SCORES_OUTPUT to buffer(f[5]), p.COUNT_OUTPUT to buffer(f[6]))
        for (d in p.detections(outputs, f[1].toInt(), f[2].toInt())) {
            println(listOf(d.label, d.score, d.left, d.top, d.right, d.bottom).joinToString(" ") {
                if (it is Float) java.lang.Float.floatToIntBits(it).toString() else it.toString() })
        }
    }
}
"""


def test_kotlin_compiles_and_reads_the_golden_detections(detection, tmp_path):
    """The detector's Processing on the JVM, from the golden vectors' output bytes: the inputs quantize to the
    same bytes as in Python, and every detection's label, score and box come out to the bit."""
    if shutil.which("kotlinc") is None:
        pytest.fail("kotlinc not found: .ci/run installs Debian's kotlin package")
    lines, expected = [], []
    for vector in golden(detection)["vectors"]:
        raw = np.asarray([np.float32(v) for v in vector["raw"]], np.float32).view(np.int32)
        hexes = vector["outputs_hex"]
        lines.append(" ".join([",".join(str(b) for b in raw), str(vector["width"]), str(vector["height"]),
                               hexes["boxes"], hexes["classes"], hexes["scores"], hexes["count"]]))
        expected.append(vector["input_hex"])
        for d in vector["detections"]:
            bits = [int(np.float32(v).view(np.int32)) for v in (d["score"], *d["box"])]
            expected.append(" ".join([d["label"], *map(str, bits)]))
    assert len(expected) > 2 * len(lines)  # the vectors hold detections
    harness = tmp_path / "DetectionCheck.kt"
    harness.write_text(KOTLIN_HARNESS)
    (tmp_path / "vectors.txt").write_text("\n".join(lines) + "\n")
    sources = sorted(str(p) for p in detection.path("dist/shapes-detection/android/src").rglob("*.kt"))
    jar = tmp_path / "check.jar"
    compiled = subprocess.run(["kotlinc", *sources, *sorted(str(p) for p in STUBS.glob("*.kt")), str(harness),
                               "-include-runtime", "-d", str(jar)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    assert [line for line in compiled.stderr.splitlines() if "warning:" in line and "VM warning" not in line] == []
    ran = subprocess.run(["java", "-cp", str(jar), "DetectionCheckKt", str(tmp_path / "vectors.txt")],
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == expected


def test_the_detector_ships_in_kotlin_and_swift(detection):
    import tree_sitter
    import tree_sitter_swift

    folder = detection.path("dist/shapes-detection/android/src/main/java/com/example/shapes_detection")
    assert sorted(p.name for p in folder.iterdir()) == ["ShapesDetectionDetector.kt", "ShapesDetectionProcessing.kt"]
    ios = detection.path("dist/shapes-detection/ios")
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    for path in sorted(ios.rglob("*.swift")):
        assert not parser.parse(path.read_bytes()).root_node.has_error, path
    meta = json.loads((ios / "Sources/ShapesDetection/Resources/shapes-detection-metadata.json").read_text())
    assert meta["task"] == "detection" and meta["labels"] == LABELS and "map" in meta["measured"]
    source = (ios / "Sources/ShapesDetection/ShapesDetectionDetector.swift").read_bytes()
    assert swift_api.problems(source, meta["input"]["dtype"], "float32") == []
    assert b"output(at: ShapesDetectionProcessing.boxesOutput)" in source


# --- bad input: one line each, nothing half-written ----------------------------------------------------

RECIPE = """\
task: detection
model: {keras: models/shapes_detector.keras}
dataset: {source: coco, path: data/d/train.json, test_fraction: 0.5}
preprocess: {resize: [64, 64], scale: 0.00392156862745098}
labels: [circle, square, triangle]
detection: {anchors: models/shapes_anchors.npy}
targets:
  - {name: fp32, quantization: float32}
"""


@pytest.fixture
def tiny(project):
    """Four pictures of the example and their COCO file."""
    _copy_example(project)
    coco = json.loads(project.path("data/shapes_detection/train.json").read_text())
    images = coco["images"][:4]
    project.path("data/d/pictures").mkdir(parents=True)
    for image in images:
        shutil.copy(project.path("data/shapes_detection") / image["file_name"], project.path("data/d/pictures"))
    ids = {image["id"] for image in images}
    coco.update(images=images, annotations=[a for a in coco["annotations"] if a["image_id"] in ids])
    project.write("data/d/train.json", json.dumps(coco))
    project.write("recipes/tiny.yaml", RECIPE)
    return project


def edit_coco(project, change):
    coco = json.loads(project.path("data/d/train.json").read_text())
    change(coco)
    project.write("data/d/train.json", json.dumps(coco))


def failure_of(project):
    result = project.build()
    assert result.exit_code == 1
    assert not project.path("build/tiny/data.npz").exists()  # nothing half-written
    return result.failures


def test_the_tiny_coco_recipe_builds(tiny):
    result = tiny.build()
    assert result.exit_code == 0, result.failures


def test_a_missing_picture_names_the_file_and_image_id(tiny):
    tiny.path("data/d/pictures/train-002.png").unlink()
    assert failure_of(tiny) == [
        "recipes/tiny.yaml: tiny: dataset: data/d/train.json: image id 3: picture data/d/pictures/train-002.png "
        "not found (file_name is relative to the folder of data/d/train.json)"]


def test_a_box_outside_its_picture_names_the_image_and_box(tiny):
    def widen(coco):
        coco["annotations"][0]["bbox"] = [50, 10, 40, 20]
    edit_coco(tiny, widen)
    image = json.loads(tiny.path("data/d/train.json").read_text())["images"][0]
    assert failure_of(tiny) == [
        f"recipes/tiny.yaml: tiny: dataset: data/d/train.json: image id 1: box [50, 10, 40, 20] of "
        f"{LABELS[json.loads(tiny.path('data/d/train.json').read_text())['annotations'][0]['category_id'] - 1]!r} "
        f"lies outside its {image['width']}x{image['height']} picture"]


def test_a_category_missing_from_the_labels_is_one_line(tiny):
    def rename(coco):
        coco["categories"][1]["name"] = "hexagon"
    edit_coco(tiny, rename)
    assert failure_of(tiny) == [
        "recipes/tiny.yaml: tiny: dataset: data/d/train.json: category 'hexagon' (id 2) is not one of the labels "
        "(circle, square, triangle); expected every category named in labels"]


def test_json_that_is_not_coco_is_one_line(tiny):
    tiny.write("data/d/train.json", json.dumps({"images": [], "annotations": []}))
    assert failure_of(tiny) == [
        "recipes/tiny.yaml: tiny: dataset: data/d/train.json is not a COCO annotations file: expected an object "
        "with images, annotations and categories lists; it has no 'categories' list"]
    tiny.write("data/d/train.json", "{not json")
    assert failure_of(tiny) == [
        "recipes/tiny.yaml: tiny: dataset: data/d/train.json is not JSON: Expecting property name enclosed in "
        "double quotes (line 1, column 2)"]


def test_a_model_that_does_not_fit_the_contract_is_named_before_converting(tiny):
    import keras

    inputs = keras.Input((64, 64, 3))
    flat = keras.layers.Flatten()(keras.layers.Conv2D(2, 8, strides=8)(inputs))
    keras.Model(inputs, [keras.layers.Dense(4)(flat), keras.layers.Dense(3)(flat)]).save(tiny.path("models/bad.keras"))
    tiny.edit("recipes/tiny.yaml", "models/shapes_detector.keras", "models/bad.keras")
    result = tiny.build()
    assert result.exit_code == 1
    assert result.failures == [
        "recipes/tiny.yaml: tiny: model: a detection model gives box encodings [N, 4] and class scores [N, 3] or "
        "[N, 4] (background first), in that order (or, as a .tflite, ends in TFLite_Detection_PostProcess); its "
        "outputs have shapes (4,) and (3,)"]
    assert not tiny.path("build/tiny/fp32/model.tflite").exists()


def test_anchors_that_do_not_match_the_model_are_one_line(tiny):
    np.save(tiny.path("models/few.npy"), np.zeros((10, 4), np.float32))
    tiny.edit("recipes/tiny.yaml", "models/shapes_anchors.npy", "models/few.npy")
    result = tiny.build()
    assert result.exit_code == 1
    assert result.failures == [
        "recipes/tiny.yaml: tiny: detection.anchors: models/few.npy holds float32 (10, 4); expected [192, 4] finite "
        "anchors, one per box encoding"]


def test_int8_outputs_on_a_detector_are_refused_when_validating(tiny):
    from edgebuild import api
    from edgebuild.errors import RecipeError

    tiny.edit("recipes/tiny.yaml", "quantization: float32}", "quantization: int8, io: int8}")
    with pytest.raises(RecipeError) as refused:
        api.validate(None, root=tiny.root)
    assert refused.value.problems == [
        "recipes/tiny.yaml:8: targets[0].io: MediaPipe's ObjectDetector refuses int8 tensors; expected io: uint8 "
        "(uint8 input; a detector's outputs stay float32)"]


def test_golden_detections_hold_within_the_measured_bounds_on_every_kernel_set(detection):
    """The score and box bounds are derived from what LiteRT's kernel sets gave here (MARGIN x the largest
    difference, plus a floor); under every set, each vector marked stable gives the golden labels in order,
    scores and box sides within those bounds, and the generated tests state the same numbers."""
    from edgebuild.bundle.golden import FLOAT_FLOOR, MARGIN
    from edgebuild.bundle.kernel_sets import KERNELS
    from edgebuild.kinds.detection import BOX_FLOOR, ROLES, output_roles, picture_detections
    from edgebuild.tflite.runner import TFLiteRunner

    found = golden(detection)
    tolerance = found["tolerance"]
    assert tolerance["score"] == MARGIN * tolerance["measured"]["score"] + FLOAT_FLOOR
    assert tolerance["box"] == MARGIN * tolerance["measured"]["box"] + BOX_FLOOR
    shown = tolerance["min_score"]
    stable = [v for v in found["vectors"] if v["stable"]]
    assert stable and any(d["score"] >= shown for v in stable for d in v["detections"])
    model = detection.path("build/shapes-detection/shipped.tflite")
    positions = output_roles(model.read_bytes())
    ran = 0
    for kernels in KERNELS:
        try:
            runner = TFLiteRunner(model, kernels=kernels)
        except (RuntimeError, ValueError):  # a kernel set without the custom op: golden.json says so
            assert any(line.startswith(KERNELS[kernels]) for line in tolerance["kernels_that_cannot_run_it"])
            continue
        ran += 1
        for vector in stable:
            model_input = np.frombuffer(bytes.fromhex(vector["input_hex"]), runner.input["dtype"])
            runner.invoke(model_input.reshape(runner.input["shape"]))
            outputs = {role: runner.dequantize(np.array(runner.interpreter.get_tensor(runner.outputs[k]["index"])),
                                               runner.outputs[k]) for role, k in zip(ROLES, positions)}
            rows = [r for r in picture_detections(outputs, 0, vector["width"], vector["height"]) if r[1] >= shown]
            expected = [d for d in vector["detections"] if d["score"] >= shown]
            assert [LABELS[int(r[0])] for r in rows] == [d["label"] for d in expected], kernels
            for (_, score, x, y, w, h), want in zip(rows, expected):
                assert abs(score - want["score"]) <= tolerance["score"]
                assert all(abs(a - b) <= tolerance["box"] for a, b in zip((x, y, x + w, y + h), want["box"]))
    assert ran == len(tolerance["kernels"]) >= 2
    kotlin = next(detection.path("dist/shapes-detection/android").rglob("*GoldenTest.kt")).read_text()
    swift = next(detection.path("dist/shapes-detection/ios").rglob("*GoldenTests.swift")).read_text()
    for text in (kotlin, swift):
        assert str(tolerance["score"]) in text and str(tolerance["box"]) in text


def test_the_detectors_golden_asset_is_under_half_the_build_ones_size(detection):
    """Pictures' whole-number pixels as integers, no raw bytes, one line: the bundled file the app carries in
    its test assets is far smaller than build/<recipe>/golden.json (1.7 MB indented, with the bytes, before)."""
    built = detection.path("build/shapes-detection/golden.json").stat().st_size
    asset = detection.path("dist/shapes-detection/android/src/androidTest/assets/shapes-detection-golden.json")
    assert asset.stat().st_size * 2 < built


@pytest.mark.parametrize("name,package", [("shapes-detection", "shapes_detection"), ("shapes-float", "shapes_float")])
def test_the_linux_package_detects_on_a_board_without_tensorflow(detection, board_python, tmp_path, name, package):
    """The detector's wheel in a venv without TensorFlow: boxes in the picture's pixels, labels and scores within the
    golden tolerances, for the int8 and the float32 model; the command line prints one line per detection."""
    ran = linux_board.prove(detection.path(f"dist/{name}/linux"), package, board_python, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    golden = json.loads(detection.path(f"build/{name}/golden.json").read_text())
    unstable = sum(not v["stable"] for v in golden["vectors"])
    assert f"{2 * len(golden['vectors']) - unstable + 2} passed" in ran.stdout, ran.stdout
    picture = sorted(detection.path("data/shapes_detection/pictures").glob("*.png"))[0]
    shown = linux_board.run(board_python, "-m", package, str(picture), cwd=tmp_path)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    for line in shown.stdout.splitlines():
        label, score, box = line.split("\t")
        assert label in LABELS and float(score) >= golden["tolerance"]["min_score"] and len(box.split()) == 4
