"""The command line: exit codes, messages, and the commands around a build."""
import json
import subprocess
import sys

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
                   "expected one of min_accuracy, max_accuracy_drop, max_size_kb, max_latency_ms, max_mae, max_rmse, "
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


PARALLEL_ANYWAY = """
import sys
from edgebuild import cli
from edgebuild.graph import schedule
schedule.PARALLEL_MIN_SECONDS = 0  # two workers even for a model this small
sys.exit(cli.main(["build", "-n", "2"]))
"""


@pytest.mark.slow
def test_parallel_build(iris_project):
    # in a fresh process: doit forks its workers, and a process that already imported TensorFlow must not fork
    result = subprocess.run([sys.executable, "-c", PARALLEL_ANYWAY], cwd=iris_project.root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "edgebuild: 19 steps run, 0 up to date" in result.stderr
    assert "one worker" not in result.stderr
    assert json.loads(iris_project.path("build/iris/summary.json").read_text())["passed"]
    # a threshold edit converts nothing: one process, whatever -n says
    iris_project.edit("recipes/iris.yaml", "min_accuracy: 0.5", "min_accuracy: 0.6")
    again = subprocess.run([sys.executable, "-c", PARALLEL_ANYWAY], cwd=iris_project.root,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "edgebuild: -n 2: one worker, as the conversions to run (about 0s)" in again.stderr
    assert "convert/" not in again.stderr and "gate/fp32" in again.stderr


@pytest.mark.slow
def test_parallel_build_of_a_small_model_uses_one_worker(iris_project):
    """A second worker's TensorFlow import costs more than iris's conversions: -n 2 runs them in one."""
    from edgebuild import api
    from edgebuild.graph import schedule

    estimate = schedule.parallel_seconds(api.validate(root=iris_project.root))
    assert estimate < schedule.PARALLEL_MIN_SECONDS
    result = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "-n", "2"], cwd=iris_project.root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (f"edgebuild: -n 2: one worker, as the conversions to run (about {estimate:.0f}s) would "
            f"not pay for another worker's TensorFlow import") in result.stderr
    assert "edgebuild: 19 steps run, 0 up to date" in result.stderr
