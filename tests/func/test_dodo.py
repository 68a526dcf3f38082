"""The repository's dodo.py under plain `doit`: builds, then a no-op that imports no TensorFlow."""
import shutil
import subprocess
import sys

from conftest import REPO

NOOP = """
import sys
from doit.cmd_base import DodoTaskLoader
from doit.doit_cmd import DoitMain
code = DoitMain(DodoTaskLoader()).run([])
print(code, [m for m in ("tensorflow", "numpy", "ai_edge_litert") if m in sys.modules])
"""


def doit(project, *args):
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=project.root, capture_output=True, text=True)


def test_doit_builds_then_returns_at_once(iris_project):
    shutil.copy(REPO / "dodo.py", iris_project.root / "dodo.py")
    first = doit(iris_project)
    assert first.returncode == 0, first.stderr
    assert ".  iris:convert/int8" in first.stderr
    assert "edgebuild: 21 steps run, 0 up to date" in first.stderr
    noop = subprocess.run([sys.executable, "-c", NOOP], cwd=iris_project.root, capture_output=True, text=True)
    assert noop.stdout.strip() == "0 []", noop.stderr
    assert "edgebuild: 0 steps run, 21 up to date" in noop.stderr


def test_doit_with_a_bad_recipe_exits_2_with_one_line(iris_project):
    shutil.copy(REPO / "dodo.py", iris_project.root / "dodo.py")
    iris_project.edit("recipes/iris.yaml", "quantization: float32", "quantization: int4")
    result = doit(iris_project)
    assert result.returncode == 2
    assert result.stderr == ("recipes/iris.yaml:10: targets[0].quantization: expected one of none, float32, float16, "
                             "dynamic_int8, int8, int16x8, weight_only_int8, weight_only_int4, dynamic_int4, custom; got 'int4'\n")


def test_a_failed_gate_exits_1_under_doit_and_edgebuild_build(iris_project):
    """A CI script tells "the model got worse" (1) from "the recipe is broken" (2) under either command."""
    shutil.copy(REPO / "dodo.py", iris_project.root / "dodo.py")
    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.5", "min_accuracy: 0.999")
    under_doit = doit(iris_project)
    assert under_doit.returncode == 1, under_doit.stderr
    assert "recipes/iris.yaml: iris/fp32: accuracy" in under_doit.stderr
    assert "< min_accuracy 0.9990" in under_doit.stderr
    assert "Traceback" not in under_doit.stderr
    cli = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build"], cwd=iris_project.root,
                         capture_output=True, text=True)
    assert cli.returncode == 1, cli.stderr
    assert "< min_accuracy 0.9990" in cli.stderr


def test_a_failed_step_exits_1_under_doit_and_the_steps_after_it_are_counted(iris_project):
    shutil.copy(REPO / "dodo.py", iris_project.root / "dodo.py")
    (iris_project.root / "models" / "iris.keras").write_bytes(b"not a keras file")
    result = doit(iris_project)
    assert result.returncode == 1, result.stderr
    assert "not run after a failure" in result.stderr
    assert "Traceback" not in result.stderr
