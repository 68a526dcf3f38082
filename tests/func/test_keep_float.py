"""keep_float on real models: the cancer model with its standardization inside, which int8 breaks."""
import json
import shutil

import pytest
from conftest import REPO, Project

CANCER = """\
name: cancer
model:
  script: train_cancer.py
  args: ["--epochs", "40", "--normalization-layer"]
dataset:
  source: sklearn_breast_cancer
  test_fraction: 0.25
  seed: 1
labels: [malignant, benign]
targets:
  - {name: fp16, quantization: float16}
  - {name: mixed, quantization: int8, calibration_samples: 100, keep_float: auto}
  - name: lrq                       # the LiteRT Quantizer with SUB and MUL in float reaches 0.853 here
    quantization: int8
    calibration_samples: 100
    keep_float: auto
    backend: litert_quantizer
    thresholds: {min_accuracy: 0.8, max_accuracy_drop: 0.12}
thresholds:
  min_accuracy: 0.92
  max_accuracy_drop: 0.02
bundles: {android: {enabled: false}, ios: {enabled: false}}
"""


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("keep_float") / "p")
    shutil.copy(REPO / "models" / "train_cancer.py", project.root / "train_cancer.py")
    project.write("recipes/cancer.yaml", CANCER)
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def mixed(project, target="mixed") -> dict:
    return json.loads(project.path(f"build/cancer/{target}/mixed.json").read_text())


def test_auto_finds_a_passing_model_where_full_int8_fails(cancer):
    found = mixed(cancer)
    full, best = found["fully_quantized"], found["best"]
    assert not full["passed"] and best["passed"]
    assert found["steps"][0] == full and full["float_layers"] == 0
    assert 0 < best["float_layers"] < found["ops"]
    metrics = json.loads(cancer.path("build/cancer/mixed/metrics.json").read_text())
    assert found["metric"] == "accuracy"
    assert metrics["accuracy"] == best["value"] and metrics["size_bytes"] == best["size_bytes"]
    assert json.loads(cancer.path("build/cancer/mixed/verdict.json").read_text())["passed"]
    # the smallest passing attempt of the whole search, and nothing kept that it could do without
    passing = [s for s in found["steps"] if s["passed"]]
    assert best["size_bytes"] == min(s["size_bytes"] for s in passing)
    for step in found["steps"]:
        if set(step["kept"]) < set(best["kept"]):
            assert not step["passed"]
    # the kept ops are the standardization at the model's input, which the search found from the graph
    assert {op["op"] for op in found["kept"]} <= {"SUB", "MUL", "DIV"}
    # the float ops are in the model: LiteRT runs float SUB/MUL on the float input before quantizing
    from edgebuild.tflite.inspection import inspect_model

    shown = inspect_model(cancer.path("build/cancer/mixed/model.tflite"))
    assert [op.op for op in shown.ops][:len(found["kept"])] == [op["op"] for op in found["kept"]]


def test_the_pasted_list_reproduces_the_same_bytes(cancer):
    pinned = mixed(cancer)["keep_float"]
    cancer.edit("recipes/cancer.yaml", "keep_float: auto}\n", "keep_float: auto}\n"
                f"  - {{name: pinned, quantization: int8, calibration_samples: 100, keep_float: {json.dumps(pinned)}}}\n")
    result = cancer.build()
    assert result.exit_code == 0, result.failures
    assert "cancer:convert/mixed" not in result.executed  # nothing it depends on changed
    assert cancer.path("build/cancer/pinned/model.tflite").read_bytes() == \
        cancer.path("build/cancer/mixed/model.tflite").read_bytes()
    assert mixed(cancer, "pinned")["kept"] == mixed(cancer)["kept"]


def test_the_search_reruns_only_when_what_drives_it_changes(cancer):
    assert cancer.build().executed == []
    cancer.edit("recipes/cancer.yaml", "thresholds:\n", "thresholds:\n  max_latency_ms: 50\n")
    result = cancer.build()
    assert "cancer:convert/mixed" not in result.executed and "cancer:gate/mixed" in result.executed
    cancer.edit("recipes/cancer.yaml", "min_accuracy: 0.92", "min_accuracy: 0.9")
    assert "cancer:convert/mixed" in cancer.build().executed


def test_an_unmatched_pattern_is_one_line_naming_it(cancer):
    cancer.edit("recipes/cancer.yaml", "keep_float: auto}", 'keep_float: ["^no_such_op$"]}')
    result = cancer.build()
    assert result.exit_code == 1
    (line,) = [f for f in result.failures if "keep_float" in f]
    assert line.startswith("recipes/cancer.yaml: cancer/mixed: keep_float: pattern '^no_such_op$' matches no op")
    cancer.edit("recipes/cancer.yaml", 'keep_float: ["^no_such_op$"]}', "keep_float: auto}")


def test_a_search_that_cannot_pass_says_how_far_it_got(cancer):
    cancer.edit("recipes/cancer.yaml", "keep_float: auto}", "keep_float: auto, max_float_layers: 1}")
    result = cancer.build()
    assert result.exit_code == 1
    found = mixed(cancer)
    assert not found["passed"] and all(s["float_layers"] <= 1 for s in found["steps"])
    line = next(f for f in result.failures if "keep_float: auto found no passing model" in f)
    assert f"the best kept {found['best']['float_layers']} of {found['ops']} ops in float" in line
    assert f"accuracy {found['best']['value']:.4f}" in line
    cancer.edit("recipes/cancer.yaml", "keep_float: auto, max_float_layers: 1}", "keep_float: auto}")


def test_the_report_shows_the_search(cancer):
    assert cancer.build().exit_code == 0
    found = mixed(cancer)
    report = cancer.path("build/cancer/report.md").read_text()
    assert f"keeps {found['best']['float_layers']} of {found['ops']} ops in float, in {found['conversions']} conversions" in report
    assert cancer.path("build/cancer/charts/mixed-mixed.svg").read_text().startswith("<svg")
    html = cancer.path("build/cancer/report.html").read_text()
    assert "keep_float: " + json.dumps(found["keep_float"]).replace('"', "&#34;") in html or \
        json.dumps(found["keep_float"]) in html


def test_a_model_that_passes_fully_quantized_keeps_nothing(iris_project):
    iris_project.edit("recipes/iris.yaml", "calibration_samples: 50}", "calibration_samples: 50, keep_float: auto}")
    result = iris_project.build()
    assert result.exit_code == 0, result.failures
    found = json.loads(iris_project.path("build/iris/int8/mixed.json").read_text())
    assert found["passed"] and found["kept"] == [] and found["conversions"] == 1


def test_keep_float_on_a_float_target_is_a_recipe_error(iris_project):
    from edgebuild import api
    from edgebuild.errors import RecipeError

    iris_project.edit("recipes/iris.yaml", "{name: fp32, quantization: float32}",
                      "{name: fp32, quantization: float32, keep_float: auto}")
    with pytest.raises(RecipeError) as error:
        api.validate(root=iris_project.root)
    assert "targets[0].keep_float: applies to int8 targets only" in str(error.value)


def test_auto_through_the_litert_quantizers_per_layer_recipe(cancer):
    """The same search with the LiteRT Quantizer: kept ops become no_quantize rules of its recipe."""
    found = mixed(cancer, "lrq")
    assert found["best"]["passed"]
    rules = json.loads(cancer.path("build/cancer/lrq/litert_recipe.json").read_text())
    kept_rules = [r for r in rules if r.get("algorithm_key") == "no_quantize"]
    assert len(kept_rules) == len(found["kept"])
    if not found["fully_quantized"]["passed"]:
        assert found["kept"] and found["conversions"] > 1
    from edgebuild.tflite.inspection import inspect_model

    shown = inspect_model(cancer.path("build/cancer/lrq/model.tflite"))
    tensors = {t.index: t for t in shown.tensors}
    outputs = {tensors[op.outputs[0]].name: tensors[op.outputs[0]].dtype for op in shown.ops}
    assert all(outputs.get(op["name"]) == "float32" for op in found["kept"])
