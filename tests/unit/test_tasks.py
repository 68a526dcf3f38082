"""Task planning is data: check the doit dicts without running doit."""
from pathlib import Path

from edgebuild.graph.tasks import all_tasks, recipe_steps, recipe_tasks, upstream
from edgebuild.recipe import load_recipe

RECIPE = """\
name: r
model: {script: train.py, inputs: [extra.txt]}
dataset: {source: sklearn_iris}
labels: [a, b, c]
targets:
  - {name: f, quantization: float32}
  - {name: q, quantization: int8, thresholds: {min_accuracy: 0.5}}
thresholds: {min_accuracy: 0.9}
"""


def tasks_of(tmp_path, text=RECIPE):
    (tmp_path / "recipes").mkdir(exist_ok=True)
    (tmp_path / "train.py").write_text("")
    (tmp_path / "extra.txt").write_text("")
    (tmp_path / "recipes" / "r.yaml").write_text(text)
    return {t["name"]: t for t in recipe_tasks(load_recipe(tmp_path / "recipes" / "r.yaml", tmp_path))}


def rel(paths, root):
    return [Path(p).relative_to(root).as_posix() for p in paths if Path(p).is_relative_to(root)]


def config_of(task):
    return task["uptodate"][0].config


def test_steps_listed_costliest_conversions_first(tmp_path):
    """doit takes ready steps in this order (graph/dispatch.py): the calibrated target's steps come before
    the unconverted model's evaluation, and the float target's after it, though the recipe lists f first."""
    assert list(tasks_of(tmp_path)) == [None, "data", "source",
                                        "convert/q", "evaluate/q", "gate/q", "inspect/q", "debug/q",
                                        "reference", "convert/f", "evaluate/f", "gate/f", "inspect/f",
                                        "summary", "report", "ship", "golden", "bundle/android", "bundle/ios",
                                        "bundle/linux", "check"]


def test_file_deps_and_targets_follow_the_layout(tmp_path):
    tasks = tasks_of(tmp_path)
    assert rel(tasks["source"]["file_dep"], tmp_path) == ["train.py", "extra.txt", "build/r/data.npz"]
    assert rel(tasks["source"]["targets"], tmp_path) == ["build/r/source/model.keras", "build/r/source/export",
                                                         "build/r/source/source.json"]
    # only a calibrated target reads the data when converting
    assert rel(tasks["convert/f"]["file_dep"], tmp_path) == ["build/r/source/model.keras", "build/r/source/source.json"]
    assert "build/r/data.npz" in rel(tasks["convert/q"]["file_dep"], tmp_path)
    assert rel(tasks["convert/q"]["targets"], tmp_path) == ["build/r/q/model.tflite", "build/r/q/calibrated.tflite"]
    # the int8 debugger starts from the calibration its conversion kept, not from the source model
    assert rel(tasks["debug/q"]["file_dep"], tmp_path) == ["build/r/q/calibrated.tflite", "build/r/data.npz"]
    assert rel(tasks["evaluate/q"]["targets"], tmp_path) == ["build/r/q/metrics.json", "build/r/q/predicted_classes.npy"]
    assert rel(tasks["gate/q"]["file_dep"], tmp_path) == ["build/r/q/metrics.json"]
    assert rel(tasks["gate/q"]["targets"], tmp_path) == ["build/r/q/verdict.json"]
    assert rel(tasks["summary"]["targets"], tmp_path) == ["build/r/summary.json"]
    # reports read only what the build wrote: a report never reconverts
    report_deps = rel(tasks["report"]["file_dep"], tmp_path)
    assert [d for d in report_deps if not d.startswith("build/")] == []  # plus templates, outside tmp_path
    assert "build/r/q/quant_debug.json" in report_deps and "build/r/f/inspect.json" in report_deps


def test_each_step_depends_on_exactly_its_part_of_the_recipe(tmp_path):
    before = tasks_of(tmp_path)
    after = tasks_of(tmp_path, RECIPE.replace("thresholds: {min_accuracy: 0.9}", "thresholds: {min_accuracy: 0.8}"))
    changed = {name for name in before if name and config_of(before[name]) != config_of(after[name])}
    assert changed == {"gate/f", "summary"}  # q overrides min_accuracy, so its gate is unchanged; no bundle
    after = tasks_of(tmp_path, RECIPE.replace("{name: q, quantization: int8,", "{name: q, quantization: int8, "
                                                                               "calibration_samples: 7,"))
    changed = {name for name in before if name and config_of(before[name]) != config_of(after[name])}
    assert changed == {"convert/q", "debug/q", "summary"}
    after = tasks_of(tmp_path, RECIPE.replace("inputs: [extra.txt]", "inputs: [extra.txt], args: [--epochs, '3']"))
    changed = {name for name in before if name and config_of(before[name]) != config_of(after[name])}
    assert changed == {"source", "summary"}


def test_a_platform_can_be_turned_off(tmp_path):
    tasks = tasks_of(tmp_path, RECIPE + "bundles: {ios: {enabled: false}, android: {package: org.x.y}}\n")
    assert "bundle/android" in tasks and "bundle/ios" not in tasks
    assert config_of(tasks["bundle/android"])["settings"] == {"package": "org.x.y", "package_dir": "org/x/y"}


def steps_of(tmp_path, text=RECIPE):
    tasks_of(tmp_path, text)
    return {s.name: s for s in recipe_steps(load_recipe(tmp_path / "recipes" / "r.yaml", tmp_path))}


def test_doit_tasks_are_the_steps_declarations(tmp_path):
    steps, tasks = steps_of(tmp_path), tasks_of(tmp_path)
    assert list(steps) == [name for name in tasks if name]
    for name, step in steps.items():
        assert tasks[name]["file_dep"] == [str(p) for p in step.reads]
        assert tasks[name]["targets"] == [str(p) for p in step.writes]
    # the shipped model is the ship step's output; bundles depend on ship.json, which records its sha256
    assert rel(steps["ship"].writes, tmp_path) == ["build/r/ship.json", "build/r/shipped.tflite"]
    assert rel(steps["bundle/ios"].reads_if_present, tmp_path) == ["build/r/shipped.tflite"]
    assert rel(steps["bundle/ios"].writes, tmp_path) == ["dist/r/ios", "dist/r-ios.zip"]
    assert "build/r/ship.json" in rel(steps["bundle/ios"].reads, tmp_path)


def test_every_output_and_log_has_one_owner(tmp_path):
    owned = [p for step in steps_of(tmp_path).values() for p in step.owned]
    assert len(owned) == len(set(owned))
    assert rel([steps_of(tmp_path)["bundle/android"].log], tmp_path) == ["build/r/logs/bundle-android.log"]


def test_a_targets_verdict_comes_from_the_steps_upstream_of_its_gate(tmp_path):
    steps = list(steps_of(tmp_path).values())
    assert sorted(s.name for s in upstream(steps, "gate/q")) == ["convert/q", "data", "evaluate/q", "gate/q",
                                                                 "reference", "source"]


def test_a_build_of_every_recipe_prunes_first(tmp_path):
    tasks_of(tmp_path)
    tasks = all_tasks([load_recipe(tmp_path / "recipes" / "r.yaml", tmp_path)], prune_stale=True)
    assert tasks[0]["basename"] == "prune"
    assert [t.get("name") for t in tasks if t.get("task_dep") == ["prune"]] == [None, "data", None]
