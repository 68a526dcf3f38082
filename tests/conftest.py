"""Shared fixtures: throw-away projects under tmp_path with real, KB-sized Keras models."""
from __future__ import annotations

import os
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
