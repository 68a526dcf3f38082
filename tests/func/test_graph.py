"""The build graph tells the truth: every file under build/ and dist/ is the declared output of exactly
one step, steps read only what they declare, a deleted or edited output comes back byte-identical
through its own step, and two clean builds of the examples give the same bytes in dist/."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, step_key

from edgebuild import api

LATENCY_BEARING = ("metrics.json", "summary.json", "report.html", "report.md", "latency.svg")


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for top in ("build", "dist") for p in sorted((root / top).rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_every_example_recipe_passes(examples):
    """Every example builds and passes its gates: read from the one build of the examples the tests share (they
    built a second time for this; `doit` itself builds them from a plain install in .ci/run)."""
    recipes = api.validate(root=examples.root)
    assert len(recipes) == 14
    for recipe in recipes:
        summary = json.loads((examples.root / "build" / recipe.name / "summary.json").read_text())
        assert summary["passed"], (recipe.name, summary["failures"])


@pytest.mark.slow
def test_every_file_is_the_output_of_exactly_one_step(examples):
    owners: dict[str, list[str]] = {}
    for step in examples.steps:
        for owned in step.owned:
            for path in ([owned] if not owned.is_dir() else [p for p in owned.rglob("*") if p.is_file()]):
                owners.setdefault(str(path), []).append(step.name)
    built = [examples.root / p for p in files(examples.root)]
    assert len(built) > 200
    unowned = [str(p) for p in built if str(p) not in owners]
    assert unowned == []
    shared = {path: names for path, names in owners.items() if len(names) > 1}
    assert shared == {}


@pytest.mark.slow
def test_steps_read_only_files_they_declare(examples):
    seen = 0
    for step in examples.steps:
        opened = examples.audit.reads.get(step_key(step.action, step.args), set())
        declared = {str(p) for p in (*step.reads, *step.reads_if_present, *step.writes)}
        undeclared = [p for p in opened if p not in declared
                      and not any(p.startswith(str(d) + "/") for d in step.writes)]
        assert undeclared == [], step.name
        seen += bool(opened)
    assert seen > 50  # the audit saw the steps' reads


@pytest.mark.slow
def test_every_shipped_file_is_listed_in_its_bundles_manifest(examples):
    """Every enabled bundle has its folder's manifest and its zip, and dist/ holds nothing else. (That a second
    clean build, in another folder and in another order, gives the same bytes: test_dask.py's build of every example
    on a cluster, against this one.)"""
    first = files(examples.root)
    shipped = {p for p in first if p.startswith("dist/")}
    manifests = [p for p in shipped if p.endswith("/manifest.json")]
    listed = {f"{Path(m).parent.as_posix()}/{f['path']}" for m in manifests for f in json.loads(first[m])["files"]}
    zips = {p for p in shipped if p.endswith(".zip")}
    from edgebuild.bundle import PLATFORMS
    from edgebuild.recipe import load_recipe

    recipes = [load_recipe(path, REPO) for path in sorted(REPO.glob("recipes/*.yaml"))]
    enabled = sum(module.enabled(recipe) for recipe in recipes for module in PLATFORMS.values())
    assert enabled == 3 * len(recipes) + 1 - 1  # android, ios and linux each; digits-cnn's micro; keywords-micro: linux, micro
    assert len(manifests) == len(zips) == enabled
    assert shipped == listed | set(manifests) | zips


@pytest.mark.slow
def test_a_learned_filter_bank_is_int8_whole_and_tflm_classifies_the_golden_clips_as_litert(examples, tmp_path):
    """The keywords_micro.yaml example: no spectrogram (a strided 1-D convolution on the waveform), so its int8
    target, given keep_float: front_end by default as every sound int8, is quantized whole, and TensorFlow Lite
    Micro runs it: the micro bundle's golden clips get LiteRT's classes from TFLM's kernels, and the example
    prints them."""
    from edgebuild.tflite import tflm
    from edgebuild.tflite.inspection import inspect_model

    mixed = json.loads(examples.path("build/keywords-micro/int8/mixed.json").read_text())
    assert (mixed["mode"], mixed["kept"]) == ("front_end", [])
    model = inspect_model(examples.path("build/keywords-micro/int8/model.tflite"))
    assert {"RFFT2D", "LOG"}.isdisjoint(op.op for op in model.ops)
    convs = [op for op in model.ops if op.op == "CONV_2D"]
    assert len(convs) == 4 and all(model.tensors[op.inputs[0]].dtype == "int8" for op in convs)
    assert model.inputs[0].dtype == "float32" and model.inputs[0].shape == [1, 16000]
    fp32, int8 = (json.loads(examples.path(f"build/keywords-micro/{t}/metrics.json").read_text())
                  for t in ("fp32", "int8"))
    assert int8["accuracy"] >= 0.8 and int8["accuracy"] >= fp32["accuracy"] - 0.1
    assert int8["tflm_accuracy"] == int8["accuracy"]

    folder = examples.path("dist/keywords-micro/micro")
    golden = json.loads(examples.path("build/keywords-micro/golden.json").read_text())["vectors"]
    arena = int(re.search(r"kKeywordsMicroArenaSize = (\d+);", (folder / "src/keywords_micro_settings.h").read_text())[1])
    inputs = [bytes.fromhex(v["input_hex"]) for v in golden]
    found = tflm.outputs(examples.path("build/keywords-micro/shipped.tflite"), arena, inputs, "float32", [1, 16000], 1,
                         tmp_path / "tflm.log", "keywords-micro")
    tops = [int(np.argmax(np.frombuffer(per[0], np.float32))) for per in found]
    assert tops == [int(np.argmax(np.frombuffer(bytes.fromhex(v["output_hex"]), np.float32))) for v in golden]
    assert len(set(tops)) >= 3  # (clips of several keywords)
    main = (folder / "examples/main.cc").read_text()
    assert "kKeywordsMicroLabels[top]" in main and "kKeywordsMicroGoldenInputs[v]" in main


@pytest.mark.slow
def test_classification_examples_give_the_models_they_gave_before_task_kinds(examples):
    """The models and shipped models of the seven classification examples, against what the last build before
    task kinds wrote (33b2be1, recorded in tests/data/). A change of TensorFlow or LiteRT may change these
    bytes: rebuild that commit to renew them. Changed on purpose since (the ship choice a mobile team would
    make): digits-dense ships int8, no longer its hybrid dyn8; ship.json, bundle manifests and zips (also
    recorded there) now carry the ship reasons, runtime pins and measured golden tolerances; and every
    shipped model's metadata names the data's own units ("0 to 16 in the training data"), where it said
    "an image's pixels 0..255" for all; wine-savedmodel's dyn8 is quantized by the LiteRT Quantizer (the
    converter had left it float). The other converted models are the same bytes.

    Only for the sources kept in the repository: a model a script trains during the build has the weights
    this CPU's float kernels give. Measured on an AMD EPYC with AVX-512: digits-dense's weights differ from
    those recorded, and come out the recorded bytes with TF_ENABLE_ONEDNN_OPTS=0 ONEDNN_MAX_CPU_ISA=AVX2."""
    recorded = json.loads((REPO / "tests/data/classification_before_task_kinds.json").read_text())["sha256"]
    built = files(examples.root)
    trained = {recipe.name for recipe in api.validate(root=examples.root) if recipe.spec.model.script is not None}
    assert {"cancer-mixed", "cancer-tabular", "digits-dense"} <= trained
    shipped = sorted(p for p in recorded if p.endswith("/shipped.tflite"))
    # wine-savedmodel's dyn8 was the TFLiteConverter's, which left its weights (under 1,024 values each) in float:
    # the float model under another name. It is now the LiteRT Quantizer's, with int8 weights.
    models = sorted(p for p in recorded if p.endswith(".tflite") and p.split("/")[1] not in trained
                    and p != "build/wine-savedmodel/dyn8/model.tflite")
    assert len(shipped) == 7 and len(models) == 17
    changed = [p for p in models if hashlib.sha256(built[p]).hexdigest() != recorded[p]]
    assert changed == [p for p in models if p in shipped]  # the four shipped ones, for their metadata
    assert all(b"in the training data): the recipe's preprocessing" in built[p] for p in shipped)
    assert b"(0 to 16 in the training data)" in built["build/digits-dense/shipped.tflite"]
    ship = json.loads(built["build/digits-dense/ship.json"])
    assert ship["target"] == "int8" and ship["passed_over"]["dyn8"].startswith("a hybrid model")


# --- lost and changed outputs come back -------------------------------------------------------------

def _comparable(path: str, data: bytes):
    """Bytes, or for files that carry this machine's re-measured latency, what is left without it."""
    if path.endswith("metrics.json"):
        return {k: v for k, v in json.loads(data).items() if not k.startswith("latency")}
    if path.endswith(LATENCY_BEARING) or "/logs/" in path or "/source/export/" in path:
        return None  # (two SavedModel exports of one model differ in TensorFlow's object ids)
    return data


DAMAGE = [  # (what is done to which file, the steps that must rerun: exactly these)
    # (report.html says when it was made: `check`, which reads it, reruns if the second changed;
    # metrics.json holds re-measured latency: what reads it reruns only if those bytes changed)
    ("delete", "build/iris/fp32/model.tflite", {"iris:convert/fp32"}),
    ("delete", "build/iris/int8/metrics.json", {"iris:evaluate/int8"}),
    ("delete", "build/iris/shipped.tflite", {"iris:ship"}),
    ("delete", "build/iris/report.html", {"iris:report"}),
    ("delete", "build/iris/source/source.json", {"iris:source"}),
    ("delete", "dist/iris/android/src/main/assets/iris.tflite", {"iris:bundle/android"}),
    ("delete", "dist/iris-ios.zip", {"iris:bundle/ios"}),
    ("edit", "dist/iris/ios/README.md", {"iris:bundle/ios"}),
    ("delete", "dist/iris/linux/src/iris/processing.py", {"iris:bundle/linux"}),
    ("edit", "build/iris/int8/quant_debug.json", {"iris:debug/int8"}),
    ("add", "dist/iris/android/src/main/assets/stray.txt", {"iris:bundle/android"}),
]


def test_a_deleted_or_edited_output_is_rebuilt_by_its_own_step(iris_project):
    assert iris_project.build().exit_code == 0
    before = files(iris_project.root)
    for action, relative, expected in DAMAGE:
        path = iris_project.path(relative)
        if action == "delete":
            path.unlink()
        elif action == "edit":
            path.write_bytes(path.read_bytes() + b"\nedited by hand\n")
        else:
            path.write_text("not from edgebuild\n")
        result = iris_project.build()
        after = files(iris_project.root)
        if relative.endswith("report.html"):
            expected = expected | ({"iris:check"} & set(result.executed))
        if relative.endswith("metrics.json") and after[relative] != before[relative]:
            expected = expected | {"iris:gate/int8", "iris:summary", "iris:report", "iris:ship", "iris:check", "reports"}
        assert result.exit_code == 0 and set(result.executed) == expected, (action, relative, result.executed)
        assert set(after) == set(before), (action, relative)
        changed = [p for p in before if _comparable(p, before[p]) != _comparable(p, after[p])]
        assert changed == [], (action, relative)
        assert iris_project.build().executed == []  # and then it is up to date again
