"""Shared fixtures: throw-away projects under tmp_path with real, KB-sized Keras models."""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run slow tests (wheel install, example builds)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running(tmp_path_factory):
    """The suite leaves no process behind (issue 35): at its end, none is still at work in one of its temporary
    folders but this process's own children (the sandbox of a build it ran in-process ends with it). A killed
    build's sandbox or worker, a training child, a TFLM probe: each held up to 900 MB for as long as the machine ran."""
    yield
    assert left_running(tmp_path_factory.getbasetemp(), under=True, but_ours=True) == [], \
        "processes the tests started are still running"


def left_running(folder: Path, within: float = 15.0, under: bool = False, but_ours: bool = False) -> list[str]:
    """The processes still at work in `folder` (`under`: or in a folder under it), but this process's own children
    when `but_ours`, once `within` seconds have passed for them to go: a killed build's sandbox, say, had held
    TensorFlow's 700 to 900 MB, asleep, for as long as the machine ran."""
    import time

    import psutil

    def here() -> list[str]:
        found, ours = [], {p.pid for p in psutil.Process().children(recursive=True)} if but_ours else set()
        for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
            cwd = process.info["cwd"] or ""
            if process.info["pid"] not in ours and (cwd == str(folder) or under and cwd.startswith(str(folder))):
                found.append(f"{process.info['pid']} in {cwd}: {' '.join(process.info['cmdline'] or [])[:200]}")
        return found
    deadline = time.monotonic() + within
    while here() and time.monotonic() < deadline:
        time.sleep(0.5)
    return here()


@pytest.fixture(scope="session")
def board_python(tmp_path_factory) -> Path:
    """A fresh venv standing in for a Linux board: no TensorFlow (tests/func/linux_board.py)."""
    import sys

    sys.path.insert(0, str(REPO / "tests" / "func"))
    from linux_board import board

    return board(tmp_path_factory.mktemp("board"))


@pytest.fixture(scope="session")
def iris_keras(tmp_path_factory) -> Path:
    """A 4 -> 8 -> 3 classifier of scikit-learn's iris, trained on the split the recipes below use."""
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_iris

    from edgebuild.steps.datasets import split_train_test

    iris = load_iris()
    data = split_train_test(iris.data.astype(np.float32), iris.target, 0.3, 0)
    tf.keras.backend.clear_session()  # its layers are dense and dense_1 whatever ran before (tests name them)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=150, batch_size=16, verbose=0)
    path = tmp_path_factory.mktemp("models") / "iris.keras"
    model.save(path)
    return path


IRIS_RECIPE = """\
name: iris
model:
  keras: models/iris.keras
dataset:
  source: sklearn_iris
  test_fraction: 0.3
  seed: 0
labels: [setosa, versicolor, virginica]
targets:
  - {name: fp32, quantization: float32}
  - {name: int8, quantization: int8, io: int8, calibration_samples: 50}
thresholds:
  min_accuracy: 0.5
  max_size_kb: 50
"""


class Project:
    """A project folder: recipes/, models/, and helpers to edit recipes between builds."""

    def __init__(self, root: Path):
        self.root = root
        (root / "recipes").mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))

    def build(self, *recipes, **options):
        import io

        from edgebuild import api

        stream = io.StringIO()
        result = api.build(list(recipes) or None, root=self.root, stream=stream, **options)
        result.output = stream.getvalue()
        return result

    def path(self, relative: str) -> Path:
        return self.root / relative


def one_example(root: Path, recipe: str, script: str, data: str) -> Project:
    """A project holding one of the repository's example recipes, its training script and its data folder."""
    import shutil

    project = Project(root)
    shutil.copy(REPO / "recipes" / recipe, project.root / "recipes")
    (project.root / "models").mkdir()
    shutil.copy(REPO / "models" / script, project.root / "models")
    shutil.copytree(REPO / "data" / data, project.root / "data" / data)
    return project


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path / "project")


@pytest.fixture
def iris_project(project, iris_keras) -> Project:
    import shutil

    (project.root / "models").mkdir(parents=True)
    shutil.copy(iris_keras, project.root / "models" / "iris.keras")
    project.write("recipes/iris.yaml", IRIS_RECIPE)
    return project


def all_examples(root: Path) -> "Project":
    """A project holding every example recipe, with the models, data and quantizer recipes they read."""
    import shutil

    project = Project(root)
    for part in ("recipes", "models", "data", "quant"):
        shutil.copytree(REPO / part, root / part, dirs_exist_ok=True)
    return project


def step_key(function, args) -> tuple:
    """A step by what it runs and on what (recipe and target names), equal across two plans."""
    names = [a if isinstance(a, str) else a.name for a in args
             if isinstance(a, str) or isinstance(getattr(a, "name", None), str)]
    return (function.__module__, function.__qualname__, *names)


class ReadAudit:
    """Which files under build/ each step opens for reading, seen by a Python audit hook while
    doit runs the step in this process (TensorFlow's and LiteRT's C++ reads are not seen)."""

    def __init__(self, root: Path):
        self.build_dir = str(root / "build")
        self.reads: dict[tuple, set[str]] = {}
        self.on = True
        from edgebuild.graph.tasks import run_step

        self.run_step = run_step.__code__

    def hook(self, event, args):
        if not self.on or event != "open" or not isinstance(args[0], (str, Path)):
            return
        path, mode, flags = str(args[0]), args[1], args[2]
        writing = (mode and any(c in str(mode) for c in "wax+")) or (flags and flags & 3)
        if writing or not path.startswith(self.build_dir):
            return
        frame = sys._getframe(1)
        while frame is not None and frame.f_code is not self.run_step:
            frame = frame.f_back
        if frame is not None:
            key = step_key(frame.f_locals["function"], frame.f_locals["args"])
            self.reads.setdefault(key, set()).add(path)


@pytest.fixture(scope="session")
def examples(tmp_path_factory):
    """The repository's examples, built once per test session with every step's reads audited (test_graph.py);
    the tests that only read a local build of an example compare with this one."""
    from edgebuild import api
    from edgebuild.graph.tasks import all_steps

    project = all_examples(tmp_path_factory.mktemp("examples") / "a")
    audit = ReadAudit(project.root)
    sys.addaudithook(audit.hook)  # cannot be removed: switched off below
    try:
        result = project.build()
    finally:
        audit.on = False
    assert result.exit_code == 0, result.output
    project.audit = audit
    project.steps = all_steps(api.validate(root=project.root))
    return project
