"""Recipes -> doit task dicts. Pure planning: nothing here imports TensorFlow or NumPy.

Per recipe (doit names them `<recipe>:<step>`):

    data ──> source ──> reference ───────────────┐
      │        │                                  v
      │        └──> convert/<t> ──> evaluate/<t> ──> gate/<t> ──> summary
      └───────────────(calibration)──^

Each task lists the files it reads (`file_dep`) and writes (`targets`), and
`config_changed` on exactly the part of the recipe it depends on, so an edited
threshold reruns only gates and an edited target reconverts only that target.
"""
from __future__ import annotations

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from . import __version__, convert, datasets, evaluate, gate, sources, summary
from .errors import EdgebuildError
from .layout import RecipeLayout, read_json, write_json
from .recipe import Recipe
from .schema import CALIBRATED, DatasetSource

EVALUATION_SETTINGS = {"batch": evaluate.BATCH, "warmup": evaluate.WARMUP_INVOKES,
                       "invokes": [evaluate.MIN_INVOKES, evaluate.MAX_INVOKES, evaluate.MIN_SECONDS]}


def run_step(function, *args):
    """Run one build step; a user-fixable error fails the task with its one-line message, no traceback."""
    try:
        function(*args)
    except EdgebuildError as exc:
        return TaskFailed(str(exc))
    return None


def _task(recipe: Recipe, step: str, doc: str, function, args, file_dep, targets, config) -> dict:
    return {
        "basename": recipe.name,
        "name": step,
        "doc": doc,
        "actions": [(run_step, [function, *args])],
        "file_dep": [str(p) for p in file_dep],
        "targets": [str(p) for p in targets],
        "uptodate": [config_changed({"edgebuild": __version__, **config})],
        "clean": True,
    }


def recipe_tasks(recipe: Recipe) -> list[dict]:
    """Every task of one recipe, in build order."""
    layout = RecipeLayout(recipe.root, recipe.name)
    spec = recipe.spec
    data_inputs = []
    if spec.dataset.source == DatasetSource.npz:
        data_inputs = [recipe.path(spec.dataset.path)]
    elif spec.dataset.source == DatasetSource.image_folder:
        data_inputs = datasets.image_files(recipe.path(spec.dataset.path))
    model_files = _built_model_files(recipe, layout)
    tasks = [
        _task(recipe, "data", "prepare the dataset: load, split, preprocess", datasets.write_prepared,
              [recipe, layout], data_inputs, [layout.data, layout.preprocess],
              {"dataset": spec.dataset.model_dump(mode="json"), "preprocess": spec.preprocess.model_dump(mode="json"),
               "labels": list(recipe.labels)}),
        _task(recipe, "source", f"{sources.source_kind(recipe)}: the unconverted model", sources.build_source,
              [recipe, layout], [*sources.source_files(recipe), layout.data], [*model_files, layout.source_info],
              {"model": spec.model.model_dump(mode="json"), "labels": len(recipe.labels)}),
        _task(recipe, "reference", "accuracy of the unconverted model", evaluate.reference,
              [recipe, layout], [*model_files, layout.source_info, layout.data], [layout.reference], {}),
    ]
    for target in spec.targets:
        t = target.name
        calibration = [layout.data] if target.quantization in CALIBRATED else []
        tasks += [
            _task(recipe, f"convert/{t}", f"convert to {target.quantization.value}", convert.convert,
                  [recipe, layout, t], [*model_files, layout.source_info, *calibration], [layout.model(t)],
                  convert.conversion_config(target)),
            _task(recipe, f"evaluate/{t}", "accuracy, size and latency in LiteRT", evaluate.evaluate_target,
                  [recipe, layout, t], [layout.model(t), layout.data, layout.reference], [layout.metrics(t)],
                  EVALUATION_SETTINGS),
            _task(recipe, f"gate/{t}", "check the thresholds", write_verdict,
                  [recipe, layout, t], [layout.metrics(t)], [layout.verdict(t)],
                  {"limits": recipe.thresholds_for(target), "where": recipe.where(t)}),
        ]
    names = [t.name for t in spec.targets]
    tasks.append({
        **_task(recipe, "summary", "every target's metrics and verdict; fails if a gate failed", summary.write_summary,
                [recipe, layout], [layout.reference, layout.preprocess, *(f(n) for n in names for f in (layout.metrics, layout.verdict))],
                [layout.summary], {"hash": recipe.hash, "file": recipe.file}),
        "actions": [(run_step, [summary.write_summary, recipe, layout]), (fail_on_gate_failures, [layout])],
    })
    return tasks


def _built_model_files(recipe: Recipe, layout: RecipeLayout) -> list:
    """The files the source step writes, which later steps depend on."""
    path = sources.source_model_path(recipe, layout)
    if not recipe.spec.model.saved_model:
        return [path]
    folder = recipe.path(recipe.spec.model.saved_model)
    return [path / p.relative_to(folder) for p in sources.source_files(recipe)]


def write_verdict(recipe: Recipe, layout: RecipeLayout, target: str) -> gate.Verdict:
    verdict = gate.judge(recipe.where(target), recipe.thresholds_for(recipe.target(target)),
                         read_json(layout.metrics(target)))
    write_json(layout.verdict(target), verdict.to_json())
    return verdict


def fail_on_gate_failures(layout: RecipeLayout):
    """Fail the build, after the summary is written, when any target missed a threshold."""
    failures = read_json(layout.summary)["failures"]
    return TaskFailed("\n".join(failures)) if failures else None


def all_tasks(recipes: list[Recipe]) -> list[dict]:
    return [task for recipe in recipes for task in recipe_tasks(recipe)]
