"""A failure poisons no record: after any failed step is fixed, the next build reruns exactly what a build
from the last good state would. The step that failed reruns; the steps after it rerun only if its outputs
changed; the other recipes' steps keep their records. Real examples, real doit records."""
import shutil
from pathlib import Path

import pytest
from conftest import Project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Three examples, built once: an image folder, a training script, and a LiteRT Quantizer recipe file."""
    project = Project(tmp_path_factory.mktemp("faults") / "p")
    for part in ("models", "quant"):
        shutil.copytree(REPO / part, project.root / part)
    shutil.copytree(REPO / "data" / "photos", project.root / "data" / "photos")
    for name in ("photos_cnn", "cancer_tabular", "digits_tflite"):
        shutil.copy(REPO / "recipes" / f"{name}.yaml", project.root / "recipes")
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def rebuilt(project: Project, failing: str):
    """Build with the fault in place (it fails, naming the step), then after it is fixed: what ran then."""
    broken = project.build()
    assert broken.exit_code == 1 and any(failing in line for line in broken.failures), broken.failures
    return broken


def test_an_unreadable_picture_removed_again_reruns_the_data_step_only(built):
    picture = built.path("data/photos/flower/zz-broken.png")
    picture.write_bytes(b"not a picture")
    broken = rebuilt(built, "cannot read image")
    assert [name for name in broken.executed if name.startswith("photos-cnn:")] == ["photos-cnn:data"]
    picture.unlink()
    fixed = built.build()
    assert fixed.exit_code == 0, fixed.failures
    assert fixed.executed == ["photos-cnn:data"]  # same bytes: nothing after it reruns


def test_a_training_script_that_raises_then_is_fixed_retrains_only(built):
    script = built.path("models/train_cancer.py")
    good = script.read_text()
    script.write_text("raise RuntimeError('a bug in training')\n" + good)
    broken = rebuilt(built, "a bug in training")
    assert [n for n in broken.executed if n.startswith("cancer-tabular:")] == ["cancer-tabular:source"]
    script.write_text(good)
    fixed = built.build()
    assert fixed.exit_code == 0, fixed.failures
    # retrained to the same weights, saved to the same bytes: no conversion, evaluation or bundle reruns
    assert fixed.executed == ["cancer-tabular:source"]


def test_a_conversion_that_fails_then_is_fixed_reruns_that_conversion_only(built):
    recipe_file = built.path("quant/digits_recipe.json")
    good = recipe_file.read_text()
    recipe_file.write_text("[{broken")
    broken = rebuilt(built, "digits-tflite/mine")
    assert [n for n in broken.executed if n.startswith("digits-tflite:")] == ["digits-tflite:convert/mine"]
    recipe_file.write_text(good)
    fixed = built.build()
    assert fixed.exit_code == 0, fixed.failures
    assert fixed.executed == ["digits-tflite:convert/mine"]


def test_other_recipes_keep_the_records_of_what_succeeded_beside_a_failure(tmp_path):
    project = Project(tmp_path / "p")
    shutil.copytree(REPO / "models", project.root / "models")
    for name in ("cancer_tabular", "digits_dense"):
        shutil.copy(REPO / "recipes" / f"{name}.yaml", project.root / "recipes")
    project.edit("recipes/digits_dense.yaml", "script: models/train_digits_dense.py", "script: models/missing.py")
    shutil.copy(REPO / "models" / "train_digits_dense.py", project.path("models/missing.py"))
    project.path("models/missing.py").write_text("raise SystemExit(3)\n")
    broken = project.build()
    assert broken.exit_code == 1 and "cancer-tabular:ship" in broken.executed
    shutil.copy(REPO / "models" / "train_digits_dense.py", project.path("models/missing.py"))
    fixed = project.build()
    assert fixed.exit_code == 0, fixed.failures
    assert [n for n in fixed.executed if n.startswith("cancer-tabular:")] == []


def test_under_two_workers_every_result_line_names_its_own_step(tmp_path):
    """`doit -n 2` runs two steps side by side, so their lines interleave: each evaluation's line names its
    step, and the size it shows is that target's own (it once showed another target's)."""
    import json
    import re
    import subprocess
    import sys

    project = Project(tmp_path / "p")
    shutil.copytree(REPO / "models", project.root / "models")
    shutil.copytree(REPO / "data" / "photos", project.root / "data" / "photos")
    for name in ("photos_cnn", "digits_dense"):
        shutil.copy(REPO / "recipes" / f"{name}.yaml", project.root / "recipes")
    shutil.copy(REPO / "dodo.py", project.root / "dodo.py")
    done = subprocess.run([sys.executable, "-m", "doit", "-n", "2", "-P", "process"], cwd=project.root,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in (done.stdout + done.stderr).splitlines() if re.match(r"   \S+:evaluate/\S+: ", line)]
    assert len(said) == 3 + 5, said
    for line in said:
        recipe, target, size = re.match(r"   (\S+):evaluate/(\S+): .*, ([\d.]+) KB, ", line).groups()
        metrics = json.loads(project.path(f"build/{recipe}/{target}/metrics.json").read_text())
        assert size == f"{metrics['size_bytes'] / 1000:.1f}", line
    progress = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("   ")
                and not line.startswith("   (")]
    assert all(re.match(r"   [a-z0-9-]+:\S+[: ]", line) for line in progress), progress


LSTM_RECIPE = """\
model: {keras: models/lstm.keras}
dataset: {source: npz, path: data/seq.npz}
labels: [low, high]
targets:
  - {name: fp32, quantization: float32}
  - {name: int8, quantization: int8, calibration_samples: 10}
"""


@pytest.fixture
def crashing(tmp_path):
    """A Keras LSTM with a fixed batch size of 1, whose int8 calibration segfaults TensorFlow 2.21, beside
    a healthy recipe."""
    import keras
    import numpy as np

    project = Project(tmp_path / "p")
    shutil.copytree(REPO / "models", project.root / "models")
    shutil.copy(REPO / "recipes" / "cancer_tabular.yaml", project.root / "recipes")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((40, 8, 4)).astype("float32")
    y = (x.sum((1, 2)) > 16).astype("int64")
    project.path("data").mkdir()
    np.savez(project.path("data/seq.npz"), x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    keras.Sequential([keras.Input((8, 4), batch_size=1), keras.layers.LSTM(4),
                      keras.layers.Dense(2, activation="softmax")]).save(project.path("models/lstm.keras"))
    project.write("recipes/lstm.yaml", LSTM_RECIPE)
    return project


CRASH_LINE = ("recipes/lstm.yaml: lstm/int8: TensorFlow's converter crashed (SIGSEGV) while calibrating; "
              "full output: build/lstm/logs/convert-int8.log")


def _after_the_crash(project):
    assert not list(project.path("build/lstm").rglob(".model.*"))  # nothing half-written
    assert not project.path("build/lstm/int8/model.tflite").exists()
    assert project.path("dist/cancer-tabular-android.zip").exists()  # the other recipe built
    assert project.path("build/lstm/fp32/metrics.json").exists()  # and the other target
    project.edit("recipes/lstm.yaml", "  - {name: int8, quantization: int8, calibration_samples: 10}\n", "")
    again = project.build()
    assert again.exit_code == 0, again.failures
    # what succeeded beside the crash kept its records: only what the removed target changes runs
    assert [n for n in again.executed if n.startswith("cancer-tabular:")] == []
    assert not any(n.startswith(("lstm:convert/", "lstm:evaluate/", "lstm:source", "lstm:data")) for n in again.executed)


def test_a_crash_in_tensorflow_fails_its_step_in_one_line(crashing):
    result = crashing.build()
    assert result.exit_code == 1
    assert result.failures == [CRASH_LINE]
    assert crashing.path("build/lstm/logs/convert-int8.log").exists()  # TensorFlow's own output, named in the line
    _after_the_crash(crashing)


def test_a_crash_under_two_workers_fails_its_step_in_one_line(crashing):
    import subprocess
    import sys

    shutil.copy(REPO / "dodo.py", crashing.path("dodo.py"))
    done = subprocess.run([sys.executable, "-m", "doit", "-n", "2", "-P", "process"], cwd=crashing.root,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]
    printed = (done.stdout + done.stderr).splitlines()
    assert CRASH_LINE in printed and sum("crashed" in line for line in printed) == 1, printed[-20:]
    assert "Traceback" not in done.stdout + done.stderr
    _after_the_crash(crashing)
