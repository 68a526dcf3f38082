"""Published models as they are (issue 31): TensorFlow's uint8 COCO SSD built with `quantization: none`, fed raw
pixels, its labels, normalization, name and licence taken from its own metadata and kept in the shipped model,
which MediaPipe reads; a float model's NormalizationOptions used as the preprocessing; label files with
placeholders; and every other mode refused on an already quantized source."""
import json
import shutil

import numpy as np
import pytest
from conftest import REPO, Project

import mediapipe_task
from edgebuild.recipe import load_recipe
from edgebuild.errors import RecipeError

SSD = "models/published/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    """The example recipe recipes/published_ssd.yaml, built in a copy of its files."""
    project = Project(tmp_path_factory.mktemp("published") / "p")
    for folder in ("models/published", "data/published"):
        shutil.copytree(REPO / folder, project.root / folder)
    project.write("recipes/published_ssd.yaml", (REPO / "recipes/published_ssd.yaml").read_text())
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def test_the_source_is_built_as_it_is_with_the_labels_of_its_metadata(ssd):
    assert ssd.path("build/published-ssd/asis/model.tflite").read_bytes() == ssd.path(SSD).read_bytes()
    recipe = load_recipe(ssd.path("recipes/published_ssd.yaml"), ssd.root)
    import zipfile

    packed = zipfile.ZipFile(ssd.path(SSD)).read("labelmap.txt").decode().rstrip("\n").split("\n")
    assert list(recipe.labels) == packed and len(packed) == 90
    assert recipe.labels[0] == "person" and recipe.labels[11] == "???" and recipe.labels.count("???") == 10
    metrics = json.loads(ssd.path("build/published-ssd/asis/metrics.json").read_text())
    assert "???" not in metrics["ap_per_class"] and metrics["input_dtype"] == "uint8"


def test_a_uint8_model_is_measured_on_the_raw_pixels_an_app_feeds_it(ssd):
    """mAP from edgebuild's evaluation equals pycocotools on LiteRT's own detections of the raw uint8 pixels."""
    from ai_edge_litert.interpreter import Interpreter

    from edgebuild.kinds.detection import coco_evaluate

    data = np.load(ssd.path("build/published-ssd/data.npz"))
    pixels = data["golden_raw"][:len(data["x_test"])]  # the pictures resized, before any preprocessing
    assert pixels.min() >= 0 and pixels.max() <= 255.001
    interpreter = Interpreter(model_path=str(ssd.path(SSD)))
    interpreter.allocate_tensors()
    (given,) = interpreter.get_input_details()
    found = {"boxes": [], "classes": [], "scores": [], "count": []}
    for picture in pixels:
        interpreter.set_tensor(given["index"], np.round(picture).astype(np.uint8)[None])
        interpreter.invoke()
        outputs = [interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()]
        for role, value in zip(("boxes", "classes", "scores", "count"), outputs):  # the op's own output order
            found[role].append(value)
    found = {role: np.stack(values) for role, values in found.items()}
    recipe = load_recipe(ssd.path("recipes/published_ssd.yaml"), ssd.root)
    expected = coco_evaluate(list(recipe.labels), data["y_test"], found, 10)
    metrics = json.loads(ssd.path("build/published-ssd/asis/metrics.json").read_text())
    assert metrics["map"] == pytest.approx(expected["map"], abs=1e-12) and metrics["map50"] > 0
    assert metrics["map50"] == pytest.approx(expected["map50"], abs=1e-12)


def test_the_shipped_model_keeps_the_sources_metadata(ssd):
    from edgebuild.tflite import metadata

    shipped = metadata.read(ssd.path("build/published-ssd/shipped.tflite").read_bytes())
    source = metadata.read(ssd.path(SSD).read_bytes())
    for key in ("name", "description", "version", "author", "license"):
        assert shipped[key] == source[key], key
    (given,) = shipped["subgraphs"][0]["inputs"]
    assert given["normalization"] == {"mean": [127.5], "std": [127.5]} and given["color_space"] == "RGB"
    assert shipped["labels"] == source["labels"]
    assert [o["name"] for o in shipped["subgraphs"][0]["outputs"]] == ["location", "category", "score",
                                                                       "number of detections"]


DETECTOR = """\
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, pictures = sys.argv[1], np.load(sys.argv[2])
options = vision.ObjectDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=model),
                                       score_threshold=0.3, max_results=-1)
detector = vision.ObjectDetector.create_from_options(options)
found = []
for pixels in pictures:
    result = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels)))
    found.append(sorted([d.categories[0].category_name, round(d.categories[0].score, 3)] for d in result.detections))
print(json.dumps({"detections": found}))
"""


def test_mediapipe_reads_the_shipped_published_detector(ssd, tmp_path):
    """MediaPipe's ObjectDetector on the shipped model finds, by name, what LiteRT finds on the same raw pixels."""
    data = np.load(ssd.path("build/published-ssd/data.npz"))
    pictures = np.round(data["golden_raw"][:len(data["x_test"])]).astype(np.uint8)
    found = mediapipe_task.run(DETECTOR, ssd.path("build/published-ssd/shipped.tflite"), pictures, tmp_path)
    recipe = load_recipe(ssd.path("recipes/published_ssd.yaml"), ssd.root)
    litert = recipe.kind.run_tflite(recipe, ssd.path("build/published-ssd/shipped.tflite"),
                                    (pictures.astype(np.float32) - 128) / 128)
    for i, theirs in enumerate(found["detections"]):
        ours = sorted([recipe.labels[int(c)], float(s)] for c, s in zip(litert["classes"][i], litert["scores"][i])
                      if s >= 0.3)
        assert [label for label, _ in theirs] == [label for label, _ in ours]
        assert np.allclose([s for _, s in theirs], [s for _, s in ours], atol=2e-3)
    assert sum(len(d) for d in found["detections"]) >= 3


def test_every_other_mode_is_refused_on_a_quantized_source(ssd):
    text = (REPO / "recipes/published_ssd.yaml").read_text()
    ssd.write("recipes/published_ssd.yaml", text.replace("  - {name: asis, quantization: none}",
                                                         "  - {name: asis, quantization: none}\n"
                                                         "  - {name: w8, quantization: weight_only_int8}"))
    with pytest.raises(RecipeError) as error:
        load_recipe(ssd.path("recipes/published_ssd.yaml"), ssd.root)
    ssd.write("recipes/published_ssd.yaml", text)
    assert str(error.value) == (
        "recipes/published_ssd.yaml:18: targets[1].quantization: w8: "
        "models/published/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite is already quantized (uint8 input, 48 of "
        "48 weight tensors integer); a quantized .tflite source takes quantization: none (the model as it is)")


# --- recipes reading a model's metadata, without building --------------------------------------------------

FLOAT_RECIPE = """\
model: {tflite: models/digits.tflite}
dataset: {source: sklearn_digits, test_fraction: 0.2, seed: 0}
targets: [{name: asis, quantization: none}, {name: w8, quantization: weight_only_int8}]
"""


def with_metadata(tmp_path, mean, std, labels):
    """models/digits_cnn_float.tflite with standard metadata saying `mean`, `std` and packing `labels`."""
    from edgebuild.tflite.metadata import InputFacts, ModelFacts, OutputFacts
    from edgebuild.tflite.metadata import with_metadata as write

    facts = ModelFacts(name="Digits", description="A digits CNN", version="1", author="us", license="MIT",
                       input=InputFacts("input", "8x8 digits", None, mean, std),
                       outputs=[OutputFacts("scores", "one per digit")], labels=labels)
    project = Project(tmp_path / "p")
    (project.root / "models").mkdir(parents=True)
    project.path("models/digits.tflite").write_bytes(write((REPO / "models/digits_cnn_float.tflite").read_bytes(), facts))
    return project


DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def test_a_float_models_normalization_and_labels_are_the_recipes_defaults(tmp_path):
    project = with_metadata(tmp_path, [0.0], [16.0], DIGITS)
    recipe_path = project.write("recipes/digits.yaml", FLOAT_RECIPE)
    recipe = load_recipe(recipe_path, project.root)
    assert recipe.labels == tuple(DIGITS)
    assert (recipe.preprocess.normalize.mean, recipe.preprocess.normalize.std) == (0.0, 16.0)
    assert recipe.preprocess_note is None
    result = project.build()
    assert result.exit_code == 0, result.failures
    preprocess = json.loads(project.path("build/digits/preprocess.json").read_text())
    assert (preprocess["mean"], preprocess["std"], preprocess["scale"]) == (0.0, 16.0, None)
    # the same accuracy as the digits-tflite example's scale 0.0625 (digits are 0..16)
    x = np.load(project.path("build/digits/data.npz"))["x_test"]
    assert 0 <= x.min() and x.max() <= 1
    w8 = json.loads(project.path("build/digits/w8/metrics.json").read_text())
    assert w8["accuracy"] > 0.9


def test_a_recipe_that_disagrees_with_the_models_normalization_is_said_once(tmp_path):
    project = with_metadata(tmp_path, [0.0], [16.0], DIGITS)
    recipe_path = project.write("recipes/digits.yaml", FLOAT_RECIPE + "preprocess: {scale: 0.1}\n")
    recipe = load_recipe(recipe_path, project.root)
    assert recipe.preprocess.scale == 0.1 and recipe.preprocess.normalize is None
    assert recipe.preprocess_note == ("preprocess gives raw values mean 0, std 10, where models/digits.tflite's "
                                      "metadata says mean 0, std 16: the recipe's is used")
    project.write("recipes/digits.yaml", FLOAT_RECIPE + "preprocess: {scale: 0.0625}\n")
    assert load_recipe(recipe_path, project.root).preprocess_note is None  # 1 / 0.0625 is 16: they agree


def test_labels_from_a_file_keep_their_placeholders_in_place(tmp_path):
    project = with_metadata(tmp_path, [0.0], [16.0], [])
    project.write("labels.txt", "zero\n???\ntwo\n???\nfour\nfive\nsix\nseven\neight\nnine\n")
    recipe_path = project.write("recipes/digits.yaml", FLOAT_RECIPE + "labels: labels.txt\n")
    recipe = load_recipe(recipe_path, project.root)
    assert recipe.labels == ("zero", "???", "two", "???", "four", "five", "six", "seven", "eight", "nine")
    project.write("labels.txt", "zero\none\nzero\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(recipe_path, project.root)
    assert str(error.value) == ("recipes/digits.yaml:4: labels: expected unique labels; repeated: zero (only "
                                "placeholders without a letter or digit, such as '???', may repeat)")


def test_a_model_without_packed_labels_needs_the_recipes(tmp_path):
    project = with_metadata(tmp_path, [0.0], [16.0], [])
    recipe_path = project.write("recipes/digits.yaml", FLOAT_RECIPE)
    with pytest.raises(RecipeError) as error:
        load_recipe(recipe_path, project.root)
    assert str(error.value) == ("recipes/digits.yaml:1: labels: required for task classification; expected the class "
                                "names in output order: a list, or a file with one label per line (its metadata "
                                "packs no label file)")


CLASSIFIER = """\
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, pictures = sys.argv[1], np.load(sys.argv[2])
options = vision.ImageClassifierOptions(base_options=tasks.BaseOptions(model_asset_path=model), max_results=3)
classifier = vision.ImageClassifier.create_from_options(options)
found = []
for pixels in pictures:
    result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels)))
    found.append([[c.category_name, c.score] for c in result.classifications[0].categories])
print(json.dumps({"top": found}))
"""


def test_a_published_uint8_classifier_ships_with_its_labels_and_mediapipe_reads_it(tmp_path):
    """TFLite Support's quantized MobileNetV1 (1001 labels in its metadata), as it is, on scikit-learn's two
    bundled photographs: MediaPipe's ImageClassifier on the shipped model ranks as LiteRT does on the raw pixels."""
    from sklearn.datasets import load_sample_images

    from edgebuild.processing import resize_bilinear
    from edgebuild.tflite.runner import TFLiteRunner

    photos = np.stack([resize_bilinear(p[None].astype(np.float32), (224, 224))[0] for p in load_sample_images().images])
    project = Project(tmp_path / "p")
    (project.root / "models").mkdir(parents=True)
    shutil.copy(REPO / "tests/data/published/mobilenet_v1_0.25_224_quant.tflite", project.root / "models")
    np.savez(project.root / "photos.npz", x_test=np.round(photos), y_test=np.array([0, 0]))
    project.write("recipes/mobilenet.yaml", """\
        model: {tflite: models/mobilenet_v1_0.25_224_quant.tflite}
        dataset: {source: npz, path: photos.npz, color_mode: rgb}
        targets: [{name: asis, quantization: none}]
        """)
    result = project.build()
    assert result.exit_code == 0, result.failures
    recipe = load_recipe(project.path("recipes/mobilenet.yaml"), project.root)
    assert len(recipe.labels) == 1001 and recipe.labels[0] == "background"
    shipped = project.path("build/mobilenet/shipped.tflite")
    pictures = np.round(photos).astype(np.uint8)
    found = mediapipe_task.run(CLASSIFIER, shipped, pictures, tmp_path)
    runner = TFLiteRunner(shipped)
    for i, top in enumerate(found["top"]):
        raw = runner.interpreter
        raw.set_tensor(runner.input["index"], pictures[i][None])
        raw.invoke()
        scores = runner.dequantize(raw.get_tensor(runner.output["index"]))[0]
        best = np.argsort(-scores, kind="stable")[:3]
        assert top[0][0] == recipe.labels[best[0]]
        assert abs(top[0][1] - scores[best[0]]) <= 1e-6


def test_none_on_a_keras_source_is_its_float32_conversion(iris_project):
    iris_project.edit("recipes/iris.yaml", "  - {name: fp32, quantization: float32}",
                      "  - {name: fp32, quantization: float32}\n  - {name: raw, quantization: none}")
    result = iris_project.build()
    assert result.exit_code == 0, result.failures
    raw = iris_project.path("build/iris/raw/model.tflite").read_bytes()
    assert raw == iris_project.path("build/iris/fp32/model.tflite").read_bytes()
    summary = json.loads(iris_project.path("build/iris/summary.json").read_text())
    assert {t["name"]: t["backend"] for t in summary["targets"]}["raw"] == "converter"


def test_deeplab_as_it_is_and_its_weights_in_int8(tmp_path):
    """TFLite Support's DeepLabV3 (float, pre-2020 op codes; labels and normalization in its metadata) on its own
    test picture, against TFLite Support's golden category mask: the model's normalization, read from its
    metadata, gives that mask; and weight_only_int8 stores every weight in int8 (it stayed float: issue 31)."""
    from edgebuild.tflite.precision import precision

    project = Project(tmp_path / "p")
    (project.root / "models").mkdir(parents=True)
    shutil.copy(REPO / "tests/data/published/deeplabv3.tflite", project.root / "models")
    shutil.copytree(REPO / "tests/data/published/deeplab", project.root / "pictures")
    project.write("recipes/deeplab.yaml", """\
        task: segmentation
        model: {tflite: models/deeplabv3.tflite}
        dataset: {source: mask_folder, path: pictures}
        targets: [{name: asis, quantization: none}, {name: w8, quantization: weight_only_int8}]
        thresholds: {min_pixel_accuracy: 0.9}
        bundles: {android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
        """)
    result = project.build()
    assert result.exit_code == 0, result.failures
    recipe = load_recipe(project.path("recipes/deeplab.yaml"), project.root)
    assert recipe.labels[13] == "horse" and recipe.labels[15] == "person" and len(recipe.labels) == 21
    assert (recipe.preprocess.normalize.mean, recipe.preprocess.normalize.std) == (127.5, 127.5)
    asis = json.loads(project.path("build/deeplab/asis/metrics.json").read_text())
    assert asis["pixel_accuracy"] > 0.99  # TFLite Support's golden mask, from its own pipeline
    w8 = project.path("build/deeplab/w8/model.tflite").read_bytes()
    found = precision(w8)
    assert found.weights == 55 and found.weights_by_dtype == {"int8": 55}
    assert len(w8) < project.path("models/deeplabv3.tflite").stat().st_size / 3
    assert json.loads(project.path("build/deeplab/w8/metrics.json").read_text())["pixel_accuracy"] > 0.98
    assert project.path("build/deeplab/asis/metrics.json").stat().st_size < 10_000  # (3 MB with its masks)
