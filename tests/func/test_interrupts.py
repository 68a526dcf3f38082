"""Real `doit` processes, interrupted: SIGKILL at training, conversion, evaluation and bundling, then a
build that must end where an uninterrupted one does; Ctrl-C during a conversion; two builds at once."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, Project, left_running

TRAIN = """\
import argparse, os
import numpy as np
import tensorflow as tf
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
tf.keras.utils.set_random_seed(0)
d = np.load(os.environ["EDGEBUILD_DATA"])
m = tf.keras.Sequential([tf.keras.Input((8, 8)), tf.keras.layers.Flatten(),
                         tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(d["x_train"], d["y_train"], epochs=15, verbose=0)
m.save(a.out)
"""
RECIPE = """\
name: digits
model: {script: train.py}
dataset: {source: sklearn_digits}
preprocess: {scale: 0.0625}
labels: [zero, one, two, three, four, five, six, seven, eight, nine]
targets:
  - {name: fp32, quantization: float32}
  - {name: fp16, quantization: float16}
  - {name: u8, quantization: int8, io: uint8, calibration_samples: 100}
thresholds: {min_accuracy: 0.5}
"""


def make_project(root: Path) -> Project:
    project = Project(root)
    project.write("train.py", TRAIN)
    project.write("recipes/digits.yaml", RECIPE)
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    return project


def start_doit(project: Project) -> subprocess.Popen:
    """`doit` as a terminal's foreground job starts it: Ctrl-C not ignored, however pytest was started (as a
    script's background job, pytest and its children ignore it, and so does a build started that way)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "doit"], cwd=project.root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_line(process: subprocess.Popen, text: str) -> list[str]:
    """Read the build's progress until a line has `text` (the step has started); returns the lines."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"the build ended before {text!r}: {''.join(lines)}")


def doit(project: Project) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "doit"], cwd=project.root, env=env, capture_output=True, text=True,
                          timeout=600)


def artifacts(project: Project) -> dict[str, object]:
    """Every file under build/ and dist/, as bytes, or without latency where this machine measured it."""
    out = {}
    for top in ("build", "dist"):
        for path in sorted(project.path(top).rglob("*")):
            relative = path.relative_to(project.root).as_posix()
            if not path.is_file() or "/logs/" in relative:
                continue
            if relative.endswith("metrics.json"):
                out[relative] = {k: v for k, v in json.loads(path.read_bytes()).items() if not k.startswith("latency")}
            elif relative.endswith(("summary.json", "report.html", "report.md", "latency.svg", "source/model.keras")) \
                    or "/source/export/" in relative:  # (and the object ids of the SavedModel export)
                out[relative] = None  # re-measured latency, the time the report was made, the time Keras saved
            else:
                out[relative] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("whole") / "p")
    result = doit(project)
    assert result.returncode == 0, result.stderr
    return artifacts(project)


@pytest.mark.slow
@pytest.mark.parametrize("step, delay", [("digits:source", 1.0), ("digits:convert/u8", 0.3),
                                         ("digits:evaluate/fp16", 0.1), ("digits:bundle/android", 0.1)])
def test_a_killed_build_is_finished_by_the_next_one(tmp_path, uninterrupted, step, delay):
    project = make_project(tmp_path / "p")
    process = start_doit(project)
    wait_for_line(process, f".  {step}")
    time.sleep(delay)
    process.kill()
    process.wait()
    assert left_running(project.root) == [], "a killed build left its processes running"
    result = doit(project)
    assert result.returncode == 0, result.stderr
    assert artifacts(project) == uninterrupted
    assert not [p for p in project.root.rglob(".*") if p.name not in (".doit.db", ".edgebuild.lock")]


@pytest.mark.slow
def test_ctrl_c_during_a_conversion_stops_with_one_line_and_the_next_build_goes_on(tmp_path, uninterrupted):
    project = make_project(tmp_path / "p")
    process = start_doit(project)
    before = wait_for_line(process, ".  digits:convert/u8")
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    # Python ends an uncaught Ctrl-C by re-raising SIGINT on itself, as Unix tools should: a shell
    # shows status 130 (128 + 2), and a script's loop stops too
    assert process.wait(timeout=60) in (130, -signal.SIGINT), "".join(before) + "--- after SIGINT ---\n" + rest
    said = [line for line in rest.splitlines() if not line.startswith("   ")]  # but the step's progress
    assert "Traceback" not in rest and len(said) == 1, rest
    assert said[0].startswith("edgebuild: interrupted") and "digits:convert/u8" in said[0]
    assert not [p for p in project.path("build").rglob("*.tmp")]
    assert left_running(project.root) == [], "an interrupted build left its processes running"
    result = doit(project)
    assert result.returncode == 0, result.stderr
    done = [line.strip(". \n") for line in before if line.startswith(".  ")][:-1]
    assert done and not [name for name in done if f".  {name}\n" in result.stderr]  # kept, not redone
    assert artifacts(project) == uninterrupted


@pytest.mark.slow
def test_a_second_build_waits_for_the_first(tmp_path, uninterrupted):
    project = make_project(tmp_path / "p")
    first = start_doit(project)
    wait_for_line(first, ".  digits:source")
    second = start_doit(project)
    _, second_err = second.communicate(timeout=600)
    first_rest = first.stderr.read()
    assert first.wait(timeout=600) == 0, first_rest
    assert second.returncode == 0, second_err
    assert second_err.startswith(f"edgebuild: another build is running in {project.root}; waiting for it to finish")
    assert "0 steps run" in second_err  # it waited, then found everything built
    assert artifacts(project) == uninterrupted
    assert "0 steps run" in doit(project).stderr


SLEEPER = """\
import os, sys, time
open(sys.argv[2] + ".pid", "w").write(str(os.getpid()))
time.sleep(120)
"""


def test_a_training_script_in_its_own_process_dies_with_the_process_that_started_it(tmp_path):
    """A script run apart (isolated: true, and every script on a Dask worker) asks Linux to kill it when its parent
    dies: SIGKILL the parent, and the training is gone too, not left running for its minutes."""
    (tmp_path / "train.py").write_text(SLEEPER)
    starter = ("import sys; from pathlib import Path; from edgebuild.steps.sources import _script_in_subprocess as run; "
               "run(Path(sys.argv[1]), [sys.argv[2]], Path(sys.argv[3]), {}, Path(sys.argv[4]), keras=False)")
    _outlives(starter, [str(tmp_path / "train.py"), str(tmp_path / "model.keras"), str(tmp_path),
                        str(tmp_path / "train.log")], tmp_path / "model.keras.pid")


# a step's other children (TFLM probes, LiteRT kernel sets) are `python -c children.code(...)`, as this one; "watch":
# where there is no prctl (not Linux), a thread in the child watches for another parent
CHILD = """import subprocess, sys
from edgebuild.run import children
no_prctl = "import ctypes\\ndef CDLL(*a, **k): raise OSError('no prctl')\\nctypes.CDLL = CDLL\\n"
sleeps = "import os, sys, time\\nopen(sys.argv[1], 'w').write(str(os.getpid()))\\ntime.sleep(120)\\n"
code = (no_prctl if sys.argv[2] == "watch" else "") + children.code(sleeps)
subprocess.run([sys.executable, "-c", code, sys.argv[1]])
"""


@pytest.mark.parametrize("how", ["prctl", "watch"])
def test_a_child_of_a_step_dies_with_the_process_that_started_it(tmp_path, how):
    _outlives(CHILD, [str(tmp_path / "child.pid"), how], tmp_path / "child.pid")


def _outlives(starter: str, args: list[str], pid_file: Path) -> None:
    """Start `starter`, which starts a child that writes its pid to `pid_file` and sleeps; SIGKILL the starter; the
    child must be gone within a few seconds."""
    import psutil

    parent = subprocess.Popen([sys.executable, "-c", starter, *args])
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    child = psutil.Process(int(pid_file.read_text()))
    assert child.is_running() and child.ppid() == parent.pid
    parent.kill()
    parent.wait()
    gone, _ = psutil.wait_procs([child], timeout=10)
    if not gone:
        child.kill()
    assert gone, f"the child (pid {child.pid}) outlived the process that started it"
