"""Stale outputs go: a target or recipe that leaves recipes/ takes its folders under build/ and dist/ with
it on the next full build, one line each; `edgebuild clean` removes a recipe's outputs; nothing outside
build/ and dist/ is ever touched."""
from __future__ import annotations

import io
from contextlib import redirect_stdout

from conftest import IRIS_RECIPE

from edgebuild import cli


def test_a_removed_target_and_recipe_leave_with_one_line_each(iris_project, capsys):
    iris_project.write("recipes/second.yaml", IRIS_RECIPE.replace("name: iris", "name: second"))
    iris_project.write("notes/keep.txt", "mine")
    assert iris_project.build().exit_code == 0
    assert iris_project.path("build/second/int8/model.tflite").exists()
    iris_project.path("recipes/second.yaml").unlink()
    iris_project.edit("recipes/iris.yaml", "  - {name: int8, quantization: int8, io: int8, calibration_samples: 50}\n", "")
    iris_project.path("build/iris/fp32/.model.tflite.x1.tmp").write_bytes(b"left by a killed step")

    capsys.readouterr()
    iris_project.build("recipes/iris.yaml")  # a build of some recipes prunes nothing
    assert "removed" not in capsys.readouterr().err and iris_project.path("build/second").exists()

    result = iris_project.build()
    assert result.exit_code == 0
    progress = capsys.readouterr().err  # steps' progress lines go to stderr, under the step's own line
    assert ".  prune" in result.output
    removed = sorted(line.strip() for line in progress.splitlines() if line.strip().startswith("removed "))
    assert removed == [
        "removed build/iris/fp32/.model.tflite.x1.tmp: no step of the current recipes writes it",
        "removed build/iris/int8/: no step of the current recipes writes it",
        "removed build/iris/logs/convert-int8.log: no step of the current recipes writes it",
        "removed build/iris/logs/debug-int8.log: no step of the current recipes writes it",
        "removed build/iris/logs/evaluate-int8.log: no step of the current recipes writes it",
        "removed build/second/: no step of the current recipes writes it",
        "removed dist/second-android.zip: no step of the current recipes writes it",
        "removed dist/second-ios.zip: no step of the current recipes writes it",
        "removed dist/second-linux.zip: no step of the current recipes writes it",
        "removed dist/second/: no step of the current recipes writes it",
    ]
    assert iris_project.path("notes/keep.txt").read_text() == "mine"
    assert "second" not in iris_project.path("build/report.md").read_text()  # the index was redone
    again = iris_project.build()
    assert again.executed == [] and "removed" not in capsys.readouterr().err


def test_clean_removes_a_recipes_outputs_and_nothing_else(iris_project, monkeypatch):
    iris_project.write("recipes/second.yaml", IRIS_RECIPE.replace("name: iris", "name: second"))
    assert iris_project.build().exit_code == 0
    monkeypatch.chdir(iris_project.root)
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["clean", "recipes/second.yaml"]) == 0
    assert out.getvalue().splitlines() == ["removed build/second", "removed dist/second",
                                           "removed dist/second-android.zip", "removed dist/second-ios.zip",
                                           "removed dist/second-linux.zip"]
    assert iris_project.path("build/iris/summary.json").exists() and iris_project.path("dist/iris-ios.zip").exists()
    assert iris_project.path("models/iris.keras").exists() and iris_project.path("recipes/second.yaml").exists()
    rebuilt = iris_project.build()
    assert {t for t in rebuilt.executed if t.startswith("iris:")} == set()
    assert "second:convert/int8" in rebuilt.executed and iris_project.path("dist/second-ios.zip").exists()
