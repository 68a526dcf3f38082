"""Standard TFLite metadata in the shipped model, proven by a real consumer (MediaPipe Tasks'
ImageClassifier), and `inspect` on published models from TFLite Support's test data."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgebuild.tflite import metadata as tflite_metadata
from edgebuild.tflite.inspection import inspect_model, weights

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = sorted((REPO / "tests" / "data" / "published").glob("*.tflite"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The photos-cnn example (ships int8 with uint8 io), and the same recipe shipping its float32 target."""
    from conftest import Project

    project = Project(tmp_path_factory.mktemp("metadata") / "p")
    shutil.copytree(REPO / "data" / "photos", project.root / "data" / "photos")
    (project.root / "models").mkdir()
    shutil.copy(REPO / "models" / "photos_cnn.keras", project.root / "models")
    recipe = (REPO / "recipes" / "photos_cnn.yaml").read_text()
    project.write("recipes/photos_cnn.yaml", recipe)
    project.write("recipes/photos_float.yaml", recipe.replace("name: photos-cnn", "name: photos-float")
                  + "ship: fp32\n")
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


SHIPPED = [("photos-cnn", "int8"), ("photos-float", "fp32")]


def golden(project, name):
    return json.loads(project.path(f"dist/{name}/android/src/androidTest/assets/{name}-golden.json").read_text())


@pytest.mark.parametrize("name,target", SHIPPED)
def test_shipped_model_says_what_the_recipe_says(photos, name, target):
    from edgebuild import api

    recipe = next(r for r in api.validate(root=photos.root) if r.name == name)
    shipped = photos.path(f"build/{name}/shipped.tflite").read_bytes()
    found = tflite_metadata.read(shipped)
    assert (found["name"], found["description"], found["version"], found["author"]) == (
        recipe.name, recipe.spec.description, recipe.spec.version, recipe.spec.author)
    (graph,) = found["subgraphs"]
    (tensor_in,), (tensor_out,) = graph["inputs"], graph["outputs"]
    assert (tensor_in["content"], tensor_in["color_space"]) == ("ImageProperties", "RGB")
    assert [f["type"] for f in tensor_out["associated_files"]] == ["TENSOR_AXIS_LABELS"]
    assert found["labels"] == list(recipe.labels)
    # the zip is where the spec puts it: appended to the model, read by any zip reader
    with zipfile.ZipFile(photos.path(f"build/{name}/shipped.tflite")) as archive:
        assert archive.read("labels.txt").decode().split("\n")[:-1] == list(recipe.labels)
    # the bundles ship these very bytes
    assert photos.path(f"dist/{name}/android/src/main/assets/{name}.tflite").read_bytes() == shipped


@pytest.mark.parametrize("name,target", SHIPPED)
def test_normalization_reproduces_the_recipe_preprocessing(photos, name, target):
    """(raw - mean) / std from the metadata gives the tensor edgebuild itself feeds the model."""
    from edgebuild.steps.datasets import apply_preprocess
    from edgebuild.tflite.runner import TFLiteRunner

    shipped = photos.path(f"build/{name}/shipped.tflite")
    norm = tflite_metadata.read(shipped.read_bytes())["subgraphs"][0]["inputs"][0]["normalization"]
    mean, std = np.float32(norm["mean"]), np.float32(norm["std"])
    preprocess = json.loads(photos.path(f"build/{name}/preprocess.json").read_text())
    runner = TFLiteRunner(shipped)
    raw = np.asarray([v["raw"] for v in golden(photos, name)["vectors"][:-3]], np.float32).reshape(-1, 32, 32, 3)
    fed = runner.quantize(apply_preprocess(raw, {**preprocess, "resize": None}))
    from_metadata = (raw - mean) / std
    if fed.dtype == np.float32:
        np.testing.assert_allclose(from_metadata, fed, rtol=1e-6, atol=1e-7)
    else:
        assert fed.dtype == np.uint8
        np.testing.assert_array_equal(np.clip(np.round(from_metadata), 0, 255).astype(np.uint8), fed)


@pytest.mark.parametrize("name,target", SHIPPED)
def test_shipped_model_gives_the_measured_models_outputs(photos, name, target):
    from edgebuild.layout import RecipeLayout
    from edgebuild.steps.datasets import load_prepared
    from edgebuild.tflite.runner import TFLiteRunner

    x_test = load_prepared(RecipeLayout(photos.root, name), "x_test").x_test
    measured = TFLiteRunner(photos.path(f"build/{name}/{target}/model.tflite"))
    shipped = TFLiteRunner(photos.path(f"build/{name}/shipped.tflite"))
    for sample in x_test:
        model_input = measured.quantize(sample[None])
        np.testing.assert_array_equal(shipped.invoke(model_input), measured.invoke(model_input))


def test_a_deleted_shipped_model_comes_back_byte_identical(photos):
    path = photos.path("build/photos-cnn/shipped.tflite")
    before = path.read_bytes()
    path.unlink()
    result = photos.build("recipes/photos_cnn.yaml")
    assert result.exit_code == 0 and "photos-cnn:ship" in result.executed
    assert path.read_bytes() == before
    assert "photos-cnn:bundle/android" not in result.executed  # same bytes: the bundles stay


MEDIAPIPE = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision

model, vectors = sys.argv[1], json.loads(sys.stdin.read())
options = vision.ImageClassifierOptions(base_options=tasks.BaseOptions(model_asset_path=model), max_results=10)
try:
    classifier = vision.ImageClassifier.create_from_options(options)
except Exception as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(0)
results = []
for raw in vectors:
    pixels = np.ascontiguousarray(np.asarray(raw, np.float32).reshape(32, 32, 3).astype(np.uint8))
    found = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
    results.append({c.category_name: c.score for c in found.classifications[0].categories})
print(json.dumps({"results": results}))
"""


def mediapipe_classify(model: Path, vectors: list) -> dict:
    """MediaPipe Tasks' ImageClassifier, in its own process (it loads its own TFLite runtime)."""
    done = subprocess.run([sys.executable, "-c", MEDIAPIPE, str(model)], input=json.dumps(vectors),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name,target", SHIPPED)
def test_mediapipe_classifies_the_shipped_model_as_edgebuild_measured(photos, name, target):
    from edgebuild.tflite.runner import TFLiteRunner

    vectors = golden(photos, name)["vectors"][:-3]  # the data's own images (the last three are NaN/inf edges)
    found = mediapipe_classify(photos.path(f"build/{name}/shipped.tflite"), [v["raw"] for v in vectors])
    assert "results" in found, found
    output = TFLiteRunner(photos.path(f"build/{name}/shipped.tflite")).output
    scale = output["quantization"][0]
    step = scale if scale else 1e-5  # one quantization step of the output, or float rounding
    labels = ["flower", "temple"]
    for vector, scores in zip(vectors, found["results"]):
        assert sorted(scores) == labels  # the labels come from the model's own labels.txt
        assert max(scores, key=scores.get) == vector["top"][0]["label"]
        for entry in vector["top"]:
            assert abs(scores[entry["label"]] - entry["score"]) <= step, (scores, vector["top"])


def test_mediapipe_refuses_the_same_float_model_without_metadata(photos):
    """The control: without the metadata, the consumer above cannot use the model."""
    vectors = golden(photos, "photos-float")["vectors"][:1]
    found = mediapipe_classify(photos.path("build/photos-float/fp32/model.tflite"), [v["raw"] for v in vectors])
    assert "NormalizationOptions" in found.get("refused", ""), found


def test_a_metadata_mismatch_fails_the_ship_step_with_one_line(photos, monkeypatch):
    from edgebuild.bundle import model_metadata

    real = model_metadata.with_metadata

    def drops_a_label(model, facts):
        from dataclasses import replace
        return real(model, replace(facts, labels=facts.labels[:-1]))

    monkeypatch.setattr(model_metadata, "with_metadata", drops_a_label)
    photos.path("build/photos-cnn/shipped.tflite").unlink()
    result = photos.build("recipes/photos_cnn.yaml")
    assert result.exit_code == 1
    (line,) = [f for f in result.failures if "ship" in f]
    assert line == ("recipes/photos_cnn.yaml: photos-cnn/int8: ship: the metadata read back differs from what "
                    "was written: 1 labels packed, expected 2")
    assert not photos.path("build/photos-cnn/shipped.tflite").exists()
    monkeypatch.undo()
    assert photos.build("recipes/photos_cnn.yaml").exit_code == 0


def test_the_same_facts_give_the_same_bytes(photos):
    from edgebuild import api
    from edgebuild.bundle.model_metadata import model_facts
    from edgebuild.layout import RecipeLayout

    recipe = next(r for r in api.validate(root=photos.root) if r.name == "photos-cnn")
    layout = RecipeLayout(photos.root, recipe.name)
    model = layout.model("int8").read_bytes()
    first = tflite_metadata.with_metadata(model, model_facts(recipe, layout, "int8"))
    assert first == tflite_metadata.with_metadata(model, model_facts(recipe, layout, "int8"))
    assert first == layout.shipped_model.read_bytes()
    # writing over a shipped model (metadata and zip already there) replaces both: the same bytes again
    assert tflite_metadata.with_metadata(first, model_facts(recipe, layout, "int8")) == first
    assert inspect_model_entries(first).count("TFLITE_METADATA") == 1


def inspect_model_entries(data: bytes) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(data, 0)
    return [root.Metadata(i).Name().decode() for i in range(root.MetadataLength())]


# --- published models ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.stem)
def test_inspect_reads_every_published_model(path, tmp_path):
    text = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", str(path)], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "Traceback" not in text.stderr and "operators by type: " in text.stdout
    as_json = subprocess.run([sys.executable, "-m", "edgebuild.cli", "inspect", str(path), "--json",
                              "--weights", str(tmp_path / "w.npz")], capture_output=True, text=True)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert sum(data["op_counts"].values()) == len(data["ops"]) > 0
    assert set(np.load(tmp_path / "w.npz").files) == set(weights(path))
    for op in data["ops"]:
        if op["kind"] != "builtin":
            assert op["op"] in text.stdout.split(f"{op['kind']} operators: ")[1].splitlines()[0]


def interpreter_ops(path: Path) -> list[str] | None:
    """The operators as LiteRT's interpreter lists them, or None when it cannot load the model."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(model_path=str(path),
                                  experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError):
        return None
    return [op["op_name"] for op in interpreter._get_ops_details()]


def test_inspect_lists_what_the_interpreter_lists_and_what_it_cannot_load():
    loadable, refused = 0, []
    for path in PUBLISHED:
        shown = inspect_model(path)
        ops = interpreter_ops(path)
        if ops is not None:
            loadable += 1
            assert [op.op for op in shown.ops] == ops, path.name
        else:
            refused.append(path.name)
            assert any(op.kind in ("custom", "flex") for op in shown.ops), path.name
    assert loadable >= 3 and len(refused) >= 3, (loadable, refused)
    flex = inspect_model(REPO / "tests/data/published/whitespace_tokenizer_flex_delegate.tflite")
    assert {op.op for op in flex.ops if op.kind == "flex"} and all(
        op.op.startswith("Flex") for op in flex.ops if op.kind == "flex")


def test_metadata_of_a_published_model_is_shown_with_its_packed_labels():
    path = REPO / "tests/data/published/mobilenet_v1_0.25_224_quant.tflite"
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("labels.txt").decode().split("\n")
    labels = lines[:-1] if lines[-1] == "" else lines
    shown = inspect_model(path)
    assert shown.metadata["labels"] == labels
    (tensor_in,) = shown.metadata["subgraphs"][0]["inputs"]
    assert tensor_in["content"] == "ImageProperties" and tensor_in["normalization"]["std"]
    text = shown.text()
    assert f"labels ({len(labels)}): {labels[0]}" in text and "ImageProperties, RGB" in text


def test_min_parser_version_follows_tflite_supports_rules():
    """TFLite Support's writer stored the version its C++ rules computed; ours must agree."""
    schema = tflite_metadata._schema()
    checked = set()
    for path in PUBLISHED:
        raw = tflite_metadata.metadata_bytes(path.read_bytes())
        if raw is None:
            continue
        tree = schema.ModelMetadataT.InitFromObj(schema.ModelMetadata.GetRootAs(raw, 0))
        if tree.minParserVersion:
            assert tflite_metadata.min_parser_version(tree) == tree.minParserVersion.decode(), path.name
            checked.add(tree.minParserVersion.decode())
    assert len(checked) >= 2, checked  # more than the default 1.0.0


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.name)
def test_the_light_reader_agrees_with_the_generated_ones(path):
    """tflite/flatbuffer.py reads a recipe's .tflite source without NumPy; it must read what the flatc-generated
    readers read: tensor types and quantization, and the metadata's fields, normalization and labels."""
    from edgebuild.tflite.flatbuffer import source_facts
    from edgebuild.tflite.inspection import inspect_model
    from edgebuild.tflite.metadata import read

    data = path.read_bytes()
    facts, shown, metadata = source_facts(data), inspect_model(path), read(data)
    for light, full in ((facts.inputs, shown.inputs), (facts.outputs, shown.outputs)):
        assert [(t.name, t.dtype, t.shape) for t in light] == [(t.name, t.dtype, t.shape) for t in full]
        assert [t.scale for t in light] == [t.scales[0] if t.scales else None for t in full]
        assert [t.zero_point for t in light] == [t.zero_points[0] if t.scales else None for t in full]
    assert facts.has_metadata == (metadata is not None)
    if metadata is None:
        return
    for key in ("name", "description", "version", "author", "license"):
        assert getattr(facts, key) == metadata[key], key
    assert facts.labels == metadata["labels"]
    given = metadata["subgraphs"][0]["inputs"] if metadata["subgraphs"] else []
    normalization = given[0].get("normalization") if given else None
    assert facts.normalization == (None if normalization is None else (normalization["mean"], normalization["std"]))
    assert facts.image == (given[0]["color_space"].lower() if given and "color_space" in given[0] else None)
