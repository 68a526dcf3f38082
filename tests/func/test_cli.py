"""The command line: exit codes, messages, and the commands around a build."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgebuild import cli


def run(capsys, monkeypatch, cwd, *argv):
    monkeypatch.chdir(cwd)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok_and_bad(iris_project, capsys, monkeypatch):
    assert run(capsys, monkeypatch, iris_project.root, "validate") == (
        0, "recipes/iris.yaml: iris: ok (2 targets)\n", "")
    iris_project.edit("recipes/iris.yaml", "max_size_kb: 50", "max_size_kb: -1\n  max_sise_kb: 3")
    code, out, err = run(capsys, monkeypatch, iris_project.root, "validate")
    assert code == 2 and out == ""
    assert err == ("recipes/iris.yaml:14: thresholds.max_size_kb: expected greater than 0; got -1\n"
                   "recipes/iris.yaml:15: thresholds.max_sise_kb: unknown field; did you mean 'max_size_kb'? "
                   "expected one of min_accuracy, max_accuracy_drop, max_size_kb, max_latency_ms, max_arena_kb, max_flash_kb, max_gpu_fallback_ops, max_mae, max_rmse, "
                   "max_mae_increase, min_miou, max_miou_drop, min_pixel_accuracy, min_map, min_map50, max_map_drop, "
                   "max_map50_drop, min_output_snr_db, min_output_cosine\n")


def test_no_recipes(tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, tmp_path, "validate")
    assert code == 2 and err == f"no recipes found: expected files matching {tmp_path / 'recipes' / '*.yaml'}\n"


def test_build_and_list(iris_project, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, iris_project.root, "list")
    assert code == 0 and out.splitlines() == [
        "recipe  target  quantization  status    gate",
        "iris    fp32    float32       to build  -",
        "iris    int8    int8          to build  -"]
    assert run(capsys, monkeypatch, iris_project.root, "build")[0] == 0
    code, out, err = run(capsys, monkeypatch, iris_project.root, "list")
    assert out.splitlines()[1:] == ["iris    fp32    float32       up to date  passed",
                                    "iris    int8    int8          up to date  passed"]
    iris_project.edit("recipes/iris.yaml", "calibration_samples: 50", "calibration_samples: 40")
    code, out, err = run(capsys, monkeypatch, iris_project.root, "list")
    assert out.splitlines()[1:] == ["iris    fp32    float32       up to date  passed",
                                    "iris    int8    int8          to build    passed"]


def test_schema_is_the_checked_in_one(capsys, monkeypatch, tmp_path):
    from conftest import REPO

    code, out, _ = run(capsys, monkeypatch, tmp_path, "schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "edgebuild recipe"
    assert "int16x8" in json.dumps(schema["$defs"]["Quantization"])
    assert json.loads((REPO / "recipes" / "recipe.schema.json").read_text()) == schema
    for recipe in (REPO / "recipes").glob("*.yaml"):
        assert recipe.read_text().startswith("# yaml-language-server: $schema=recipe.schema.json\n")


def test_init_refuses_to_overwrite(tmp_path, capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "init", "p")
    assert code == 0 and "wrote p/recipes/digits.yaml" in out
    assert (tmp_path / "p" / ".gitignore").read_text().count(".doit.db") == 1
    code, _, err = run(capsys, monkeypatch, tmp_path, "init", "p")
    assert code == 2 and err.startswith("p: would overwrite .gitignore, dodo.py, ")


def test_bad_arguments_exit_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "-n", "x"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "argument -n/--jobs: invalid int value: 'x'" in result.stderr


def test_zero_jobs_is_bad_input(tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, tmp_path, "build", "-n", "0")
    assert code == 2 and err == "-n/--jobs: expected a whole number of at least 1; got 0\n"


def test_verbose_build_leaves_the_environment_as_it_was(iris_project):
    import os

    before = dict(os.environ)
    assert iris_project.build(verbose=True).exit_code == 0
    assert dict(os.environ) == before


DOIT_SAYING_WHAT_IT_IMPORTED = """
import atexit, sys
from doit.doit_cmd import DoitMain
atexit.register(lambda: print("build process imported TensorFlow:", "tensorflow" in sys.modules, file=sys.stderr))
sys.exit(DoitMain().run(sys.argv[1:]))
"""


@pytest.mark.slow
def test_parallel_build(iris_project):
    """-n 2 forks two workers, which get TensorFlow from the build process, imported there once and only when
    a step that needs it is out of date (run/warm.py): a threshold edit imports nothing."""
    # in fresh processes: doit forks its workers, and a process that already ran TensorFlow must not fork
    shutil.copy(Path(__file__).resolve().parents[2] / "dodo.py", iris_project.root / "dodo.py")
    doit = [sys.executable, "-c", DOIT_SAYING_WHAT_IT_IMPORTED]
    cold = subprocess.run([*doit, "-n", "2"], cwd=iris_project.root, capture_output=True, text=True)
    assert cold.returncode == 0, cold.stderr
    assert "edgebuild: 21 steps run, 0 up to date" in cold.stderr
    assert "build process imported TensorFlow: True" in cold.stderr
    assert json.loads(iris_project.path("build/iris/summary.json").read_text())["passed"]

    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.5", "min_accuracy: 0.6")
    edit = subprocess.run([*doit, "-n", "2"], cwd=iris_project.root, capture_output=True, text=True)
    assert edit.returncode == 0, edit.stderr
    assert "convert/" not in edit.stderr and "gate/fp32" in edit.stderr
    assert "build process imported TensorFlow: False" in edit.stderr

    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.6", "min_accuracy: 0.5")
    shutil.rmtree(iris_project.path("build"))
    again = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "-n", "2"], cwd=iris_project.root,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "convert/fp32" in again.stderr
    assert json.loads(iris_project.path("build/iris/summary.json").read_text())["passed"]
