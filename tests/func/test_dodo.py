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
    assert "edgebuild: 19 steps run, 0 up to date" in first.stderr
    noop = subprocess.run([sys.executable, "-c", NOOP], cwd=iris_project.root, capture_output=True, text=True)
    assert noop.stdout.strip() == "0 []", noop.stderr
    assert "edgebuild: 0 steps run, 19 up to date" in noop.stderr


def test_doit_with_a_bad_recipe_exits_2_with_one_line(iris_project):
    shutil.copy(REPO / "dodo.py", iris_project.root / "dodo.py")
    iris_project.edit("recipes/iris.yaml", "quantization: float32", "quantization: int4")
    result = doit(iris_project)
    assert result.returncode == 2
    assert result.stderr == ("recipes/iris.yaml:10: targets[0].quantization: expected one of float32, float16, "
                             "dynamic_int8, int8, int16x8; got 'int4'\n")
