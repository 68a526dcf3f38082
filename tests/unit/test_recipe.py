"""Recipe loading: valid recipes resolve; every problem is one exact `file:line: field: expected` line."""
import pytest

from conftest import REPO
from edgebuild.errors import RecipeError
from edgebuild.recipe import load_recipe, load_recipes

GOOD = """\
model:
  keras: m.keras
dataset:
  source: sklearn_iris
labels: [a, b, c]
targets:
  - {name: fp32, quantization: float32}
  - {name: q8, quantization: int8, thresholds: {min_accuracy: 0.5, max_size_kb: null}}
thresholds:
  min_accuracy: 0.9
  max_size_kb: 10
"""


@pytest.fixture
def root(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "m.keras").write_bytes(b"not read by validation")
    return tmp_path


def problems(root, name, text):
    path = root / "recipes" / name
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, root)
    return info.value.problems


def test_valid_recipe_resolves_name_labels_and_thresholds(root):
    (root / "recipes" / "iris_small.yaml").write_text(GOOD)
    recipe = load_recipe(root / "recipes" / "iris_small.yaml", root)
    assert recipe.name == "iris-small"
    assert recipe.file == "recipes/iris_small.yaml"
    assert recipe.labels == ("a", "b", "c")
    assert recipe.thresholds_for(recipe.target("fp32")) == {"min_accuracy": 0.9, "max_size_kb": 10}
    # a target overrides one limit and turns another off with null
    assert recipe.thresholds_for(recipe.target("q8")) == {"min_accuracy": 0.5}
    assert recipe.calibration_samples(recipe.target("q8")) == 100


def test_hash_ignores_comments_but_not_content(root):
    path = root / "recipes" / "r.yaml"
    path.write_text(GOOD)
    first = load_recipe(path, root).hash
    path.write_text("# a comment\n" + GOOD)
    assert load_recipe(path, root).hash == first
    path.write_text(GOOD.replace("0.9", "0.8"))
    assert load_recipe(path, root).hash != first


def test_labels_from_a_file_and_numbers_as_text(root):
    (root / "labels.txt").write_text("cat\ndog\n\nbird\n")
    (root / "recipes" / "r.yaml").write_text(GOOD.replace("[a, b, c]", "labels.txt"))
    assert load_recipe(root / "recipes" / "r.yaml", root).labels == ("cat", "dog", "bird")
    (root / "recipes" / "r.yaml").write_text(GOOD.replace("[a, b, c]", "[0, 1, 2]"))
    assert load_recipe(root / "recipes" / "r.yaml", root).labels == ("0", "1", "2")


def test_schema_errors_all_at_once_with_lines(root):
    text = GOOD.replace("  keras: m.keras\n", "  keras: m.keras\n  scrpt: t.py\n") \
               .replace("quantization: int8,", "quantization: int4,") \
               .replace("min_accuracy: 0.9", "min_accuracy: high")
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:3: model.scrpt: unknown field; did you mean 'script'? "
        "expected one of keras, tflite, saved_model, pytorch, script, saves, args, inputs, isolated",
        "recipes/r.yaml:9: targets[1].quantization: expected one of none, float32, float16, dynamic_int8, int8, int16x8, "
        "weight_only_int8, weight_only_int4, dynamic_int4, custom; "
        "got 'int4'",
        "recipes/r.yaml:11: thresholds.min_accuracy: expected a valid number, unable to parse string as a number; "
        "got 'high'",
    ]


def test_types_ranges_and_unions(root):
    text = """\
model: {keras: m.keras}
dataset: {source: sklearn_digits, test_fraction: 1.5}
preprocess: {resize: [28], normalize: 3}
labels: 5
targets: []
"""
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:2: dataset.test_fraction: expected less than 1; got 1.5",
        "recipes/r.yaml:3: preprocess.resize: expected [height, width]; got [28]",
        "recipes/r.yaml:3: preprocess.normalize: expected 'fit' or a mapping; got 3",
        "recipes/r.yaml:4: labels: expected a list of strings or a string; got 5",
        "recipes/r.yaml:5: targets: expected to have at least 1 item; got []",
    ]


def test_missing_required_fields(root):
    assert problems(root, "r.yaml", "model: {keras: m.keras}\n") == [
        "recipes/r.yaml:1: dataset: required field missing",
        "recipes/r.yaml:1: targets: required field missing",
    ]


def test_cross_field_and_file_checks(root):
    text = """\
model:
  keras: m.h5
  args: [--x]
dataset:
  source: sklearn_wine
  path: data.npz
preprocess:
  resize: [8, 8]
  normalize: {mean: [1, 2], std: [0]}
labels: [a, b, a]
targets:
  - {name: source, quantization: float32, calibration_samples: 5}
  - {name: a, quantization: float16, io: int8}
  - {name: a, quantization: int16x8}
"""
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:2: model.keras: file m.h5 not found",
        "recipes/r.yaml:3: model.args: only a script takes args; this model comes from keras",
        "recipes/r.yaml:6: dataset.path: source sklearn_wine takes no path",
        "recipes/r.yaml:8: preprocess.resize: applies to image datasets only; sklearn_wine is tabular",
        "recipes/r.yaml:9: preprocess.normalize: expected as many std values as mean values; got 1 and 2",
        "recipes/r.yaml:9: preprocess.normalize.std: expected non-zero values",
        "recipes/r.yaml:10: labels: expected unique labels; repeated: a (only placeholders without a letter or digit, "
        "such as '???', may repeat)",
        "recipes/r.yaml:12: targets[0].name: 'source' is reserved for build/<recipe>/source/",
        "recipes/r.yaml:12: targets[0].calibration_samples: applies to int8 and int16x8 targets only",
        "recipes/r.yaml:13: targets[1].io: applies to int8 targets only",
        "recipes/r.yaml:14: targets[2].name: expected a unique target name; 'a' is used twice",
    ]


def test_one_model_source(root):
    text = GOOD.replace("  keras: m.keras\n", "  keras: m.keras\n  saved_model: sm\n")
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:1: model: expected exactly one of keras, saved_model, script, tflite, pytorch; got keras and saved_model"]


def test_npz_needs_calibration_and_training_data(root):
    import numpy as np

    np.savez(root / "d.npz", x_test=np.zeros((2, 3)), y_test=np.zeros(2))
    (root / "t.py").write_text("")
    text = """\
model: {script: t.py, inputs: [extra.csv]}
dataset: {source: npz, path: d.npz}
labels: [a, b]
targets:
  - {name: q, quantization: int8}
"""
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:1: model.inputs[0]: file extra.csv not found",
        "recipes/r.yaml:1: model.script: a training script needs x_train and y_train; d.npz has none",
        "recipes/r.yaml:5: targets[0].quantization: int8 needs calibration data; expected x_train in d.npz",
    ]
    assert problems(root, "r.yaml", text.replace("source: npz, path: d.npz", "source: npz")) == [
        "recipes/r.yaml:1: model.inputs[0]: file extra.csv not found",
        "recipes/r.yaml:2: dataset.path: required for source npz; expected an .npz file",
    ]


def test_yaml_problems(root):
    assert problems(root, "r.yaml", "model: {keras: a.keras\n") == [
        "recipes/r.yaml:2: invalid YAML: expected ',' or '}', but got '<stream end>'"]
    assert problems(root, "r.yaml", "name: a\nname: b\n") == ["recipes/r.yaml:2: name: duplicate key; expected each field once"]
    assert problems(root, "r.yaml", "") == [
        "recipes/r.yaml:1: the file is empty; expected a recipe mapping (name, model, dataset, ...)"]
    assert problems(root, "r.yaml", "- a\n") == [
        "recipes/r.yaml:1: expected a recipe mapping (name, model, dataset, ...); got list"]


def test_yaml_is_loaded_safely(root):
    text = GOOD.replace("source: sklearn_iris", "source: !!python/object/apply:os.system ['true']")
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:4: invalid YAML: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed "
        "(recipes are loaded safely)"]
    text = GOOD.replace("source: sklearn_iris", "source: !!python/name:os.system")
    assert problems(root, "r.yaml", text) == [
        "recipes/r.yaml:4: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/name:os.system'"]


def test_names(root):
    assert problems(root, "Bad.yaml", GOOD) == [
        "recipes/Bad.yaml:1: name: the file name gives 'Bad', which is not a valid recipe name; "
        "expected a `name:` of lowercase letters, digits and '-'"]
    (root / "recipes" / "a.yaml").write_text("name: same\n" + GOOD)
    (root / "recipes" / "b.yaml").write_text("name: same\n" + GOOD)
    with pytest.raises(RecipeError) as info:
        load_recipes([root / "recipes" / "a.yaml", root / "recipes" / "b.yaml"], root)
    assert info.value.problems == [
        "recipes/b.yaml: name: 'same' is also the name of recipes/a.yaml; expected a unique recipe name"]


def test_the_schema_says_what_every_quantization_mode_does():
    from edgebuild.recipe.schema import QUANTIZATION_MODES, Quantization, json_schema

    assert list(QUANTIZATION_MODES) == [mode.value for mode in Quantization]
    described = json_schema()["$defs"]["TargetSpec"]["properties"]["quantization"]["description"]
    assert all(f"{mode}: {what}" in described for mode, what in QUANTIZATION_MODES.items())


def test_the_benches_need_nothing_outside_the_clone():
    import re
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "bench"
    for script in bench.glob("*.py"):
        text = script.read_text()
        assert not re.search(r"parent\.parent\.parent|REPO\.parent|\.\./shared", text), script.name
    assert (bench / "handwritten_pipeline.py").is_file()


def test_app_names_that_cannot_compile_in_the_app(root):
    """An iOS module that is an Apple framework or a Swift name, a Kotlin package part that is a keyword:
    from the recipe name or given; each message gives a name that passes."""
    bundles = "bundles:\n  ios: {module: %s}\n  android: {package: %s}\n"
    assert problems(root, "a.yaml", GOOD + bundles % ("Photos", "com.example.fun")) == [
        "recipes/a.yaml:13: bundles.ios.module: Photos is an Apple framework or Swift name: an app importing it "
        "would get that instead; choose another, such as PhotosModel",
        "recipes/a.yaml:14: bundles.android.package: com.example.fun has 'fun', a Kotlin keyword, as a part: it "
        "cannot be a package name; rename that part, such as com.example.funmodel"]
    assert problems(root, "vision.yaml", GOOD)[0].startswith(
        "recipes/vision.yaml:1: name: the recipe name gives the module Vision, which is an Apple framework")
    swift, java = problems(root, "int.yaml", GOOD)
    assert "gives the module Int, which is an Apple framework or Swift name" in swift
    assert "gives the package com.example.int, which has 'int', a Java keyword" in java
    (root / "recipes" / "b.yaml").write_text(GOOD + bundles % ("PhotosModel", "com.example.funmodel"))
    load_recipe(root / "recipes" / "b.yaml", root)  # the suggested names pass
    (root / "recipes" / "vision.yaml").write_text(GOOD + "bundles: {ios: {enabled: false}}\n")
    load_recipe(root / "recipes" / "vision.yaml", root)  # no iOS bundle, no module


def test_bundle_name_patterns_are_described_in_their_own_words(root):
    bundles = "bundles:\n  ios: {module: photos}\n  android: {package: Photos}\n"
    found = problems(root, "a.yaml", GOOD + bundles)
    assert found == [
        "recipes/a.yaml:13: bundles.ios.module: expected a Swift module name: an uppercase letter followed by "
        "letters and digits (such as PhotosClassifier); got 'photos'",
        "recipes/a.yaml:14: bundles.android.package: expected a Kotlin package: two or more parts joined by '.', "
        "each a lowercase letter followed by lowercase letters, digits or '_' (such as com.example.photos); "
        "got 'Photos'"]


def test_runtime_pins(root):
    assert problems(root, "a.yaml", GOOD + "bundles: {android: {runtime: 2.3.0}, ios: {runtime: '2.17'}}\n") == [
        "recipes/a.yaml:12: bundles.ios.runtime: expected a version number such as 2.17.0; got '2.17'"]
    assert problems(root, "b.yaml", GOOD + "bundles: {android: {runtime: 1.4.0}, ios: {runtime: 2.16.1}}\n") == [
        "recipes/b.yaml:12: bundles.android.runtime: expected a LiteRT version whose ops edgebuild knows "
        "(2.3.0, 2.1.0, 2.0.2); got '1.4.0'"]


def test_the_linux_package_is_the_recipe_name_made_importable_or_a_given_one_checked(root):
    """A default Linux package is never refused (that bundle is on by default); a given one is checked."""
    from edgebuild.bundle import linux

    for name, package in (("3d-seg", "model_3d_seg"), ("json", "json_model"), ("iris-small", "iris_small"),
                          ("tests", "tests_model")):
        (root / "recipes" / f"{name.replace('-', '_')}.yaml").write_text(f"name: {name}\n" + GOOD)
        recipe = load_recipe(root / "recipes" / f"{name.replace('-', '_')}.yaml", root)
        assert linux.settings(recipe)["package"] == package
    for given, why in (("json", "is a module of Python's standard library"), ("class", "is a Python keyword"),
                       ("numpy", "is a module the package itself imports")):
        found = problems(root, "a.yaml", GOOD + f"bundles:\n  linux: {{package: {given}}}\n")
        assert found == [f"recipes/a.yaml:13: bundles.linux.package: {given} {why}"
                         + (", which `import` finds first" if "standard library" in why else "")
                         + f"; choose another, such as {given}_model"], found
    assert problems(root, "a.yaml", GOOD + "bundles:\n  linux: {package: Bad-Name}\n")[0].startswith(
        "recipes/a.yaml:13: bundles.linux.package:")


def test_a_label_yaml_reads_as_a_truth_value_says_to_quote_it(root):
    found = problems(root, "r.yaml", GOOD.replace("labels: [a, b, c]", "labels: [yes, b, c]"))
    assert found[0] == ('recipes/r.yaml:5: labels[0]: expected text; got True: YAML reads a bare yes, no, on, off, '
                        'true or false as a truth value; quote it ("yes")')


def test_libyamls_composer_reads_every_example_as_pyyamls_does(monkeypatch):
    """The fast path (libyaml's C composer) gives the same values and the same line of every field as PyYAML's
    own composer, on every example recipe; a file nested deeper than the C composer is given keeps PyYAML's."""
    from edgebuild.recipe import yamlfile

    texts = {p.name: p.read_text() for p in sorted((REPO / "recipes").glob("*.yaml"))}
    assert len(texts) >= 10 and all(yamlfile._compose_fast(t) is not None for t in texts.values())
    fast = {name: yamlfile.parse(text, name) for name, text in texts.items()}
    monkeypatch.setattr(yamlfile, "_compose_fast", lambda text: None)
    assert fast == {name: yamlfile.parse(text, name) for name, text in texts.items()}
    assert yamlfile._compose_fast("a:\n" + "- " * 100 + "x\n") is None
