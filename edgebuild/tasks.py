"""Recipes -> doit task dicts. Pure planning: nothing here imports TensorFlow or NumPy.

Per recipe (doit names them `<recipe>:<step>`):

    data ──> source ──> reference ──────────────┐
      │        │                                 v
      │        └──> convert/<t> ──> evaluate/<t> ──> gate/<t> ──> summary ──> report ──> check
      │                   ├──> inspect/<t> ─────────────────────────────────────^
      └─(calibration)─────┴──> debug/<t> (int8) ─────────────────────────────^

`check` fails the build when a gate failed, after the report shows why; the `reports`
task writes the index over all recipes.

Each task lists the files it reads (`file_dep`) and writes (`targets`), and
`config_changed` on exactly the part of the recipe it depends on, so an edited
threshold reruns only gates and an edited target reconverts only that target.
"""
from __future__ import annotations

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from . import __version__, bundle, convert, datasets, evaluate, gate, inspect, quantdebug, report, resources, sources, summary
from .errors import EdgebuildError
from .layout import RecipeLayout, index_reports, read_json, write_json
from .recipe import RESERVED_RECIPE_NAMES, Recipe
from .schema import CALIBRATED, DatasetSource, Quantization, TargetSpec

INDEX_TASK = next(iter(RESERVED_RECIPE_NAMES))

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
    model_files = _built_model_files(recipe, layout)
    group = {"basename": recipe.name, "name": None, "doc": f"{recipe.file}: {recipe.spec.description}".rstrip(": ")}
    return [group, *_input_tasks(recipe, layout, model_files),
            *(task for target in recipe.spec.targets for task in _target_tasks(recipe, layout, target, model_files)),
            *_output_tasks(recipe, layout)]


def _input_tasks(recipe: Recipe, layout: RecipeLayout, model_files: list) -> list[dict]:
    """data, source, reference: what every target starts from."""
    spec = recipe.spec
    data_inputs = []
    if spec.dataset.source == DatasetSource.npz:
        data_inputs = [recipe.path(spec.dataset.path)]
    elif spec.dataset.source == DatasetSource.image_folder:
        data_inputs = datasets.image_files(recipe.path(spec.dataset.path))
    return [
        _task(recipe, "data", "prepare the dataset: load, split, preprocess", datasets.write_prepared,
              [recipe, layout], data_inputs, [layout.data, layout.preprocess],
              {"dataset": spec.dataset.model_dump(mode="json"), "preprocess": spec.preprocess.model_dump(mode="json"),
               "labels": list(recipe.labels), "format": datasets.FORMAT}),
        _task(recipe, "source", f"{sources.source_kind(recipe)}: the unconverted model", sources.build_source,
              [recipe, layout], [*sources.source_files(recipe), layout.data], [*model_files, layout.source_info],
              {"model": spec.model.model_dump(mode="json"), "labels": len(recipe.labels)}),
        _task(recipe, "reference", "accuracy of the unconverted model", evaluate.reference,
              [recipe, layout], [*model_files, layout.source_info, layout.data], [layout.reference], {}),
    ]


def _target_tasks(recipe: Recipe, layout: RecipeLayout, target: TargetSpec, model_files: list) -> list[dict]:
    """convert, evaluate, gate, inspect (and debug for int8) of one target."""
    t = target.name
    calibration = [layout.data] if target.quantization in CALIBRATED else []
    tasks = [
        _task(recipe, f"convert/{t}", f"convert to {target.quantization.value}", convert.convert,
              [recipe, layout, t], [*model_files, layout.source_info, *calibration], [layout.model(t)],
              convert.conversion_config(target)),
        _task(recipe, f"evaluate/{t}", "accuracy, size and latency in LiteRT", evaluate.evaluate_target,
              [recipe, layout, t], [layout.model(t), layout.data, layout.reference], [layout.metrics(t)],
              EVALUATION_SETTINGS),
        _task(recipe, f"gate/{t}", "check the thresholds", write_verdict,
              [recipe, layout, t], [layout.metrics(t)], [layout.verdict(t)],
              {"limits": recipe.thresholds_for(target), "where": recipe.where(t)}),
        _task(recipe, f"inspect/{t}", "operators, tensors, where the bytes go", inspect.inspect_target,
              [recipe, layout, t], [layout.model(t)], [layout.inspection(t)], {}),
    ]
    if target.quantization == Quantization.int8:
        tasks.append(_task(recipe, f"debug/{t}", "per-layer quantization error", quantdebug.debug_target,
                           [recipe, layout, t], [*model_files, layout.source_info, layout.data],
                           [layout.quant_debug(t)],
                           {**convert.conversion_config(target), "samples": quantdebug.DEBUG_SAMPLES}))
    return tasks


def _output_tasks(recipe: Recipe, layout: RecipeLayout) -> list[dict]:
    """summary, report, ship, bundles, and check, which fails the build last."""
    spec = recipe.spec
    names = [t.name for t in spec.targets]
    debug_files = [layout.quant_debug(t.name) for t in spec.targets if t.quantization == Quantization.int8]
    tasks = [
        _task(recipe, "summary", "every target's metrics and verdict", summary.write_summary, [recipe, layout],
              [layout.reference, layout.preprocess, *(f(n) for n in names for f in (layout.metrics, layout.verdict))],
              [layout.summary], {"hash": recipe.hash, "file": recipe.file}),
        _task(recipe, "report", "report.html and report.md with charts", report.render_recipe, [recipe, layout],
              [layout.summary, *(layout.inspection(n) for n in names), *debug_files, *resources.template_files(recipe, "report")],
              [layout.report_html, layout.report_md, *(layout.charts_dir / f"{c}.svg" for c in report.CHART_NAMES)],
              {"templates": spec.templates, "ship": spec.ship}),
        _task(recipe, "ship", "pick the target the bundles ship", bundle.ship.write_ship, [recipe, layout],
              [layout.summary, *(layout.model(n) for n in names)], [layout.ship_info], {"ship": spec.ship}),
    ]
    for platform, module in bundle.PLATFORMS.items():
        if module.enabled(recipe):
            tasks.append(_task(
                recipe, f"bundle/{platform}", f"the {platform} bundle of the shipped target", bundle.build_bundle,
                [recipe, layout, platform],
                [layout.ship_info, layout.data, layout.preprocess, *resources.template_files(recipe, platform)],
                [layout.bundle_zip(platform), layout.bundle_dir(platform) / "manifest.json"],
                {"settings": module.settings(recipe), "labels": list(recipe.labels), "description": spec.description}))
    tasks.append({"basename": recipe.name, "name": "check", "doc": "fail the build if a gate failed",
                  "actions": [(fail_on_gate_failures, [layout])],
                  "file_dep": [str(layout.summary), str(layout.report_html)],
                  "uptodate": [config_changed({"edgebuild": __version__})]})
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


def index_task(recipes: list[Recipe]) -> dict:
    """build/report.html and build/report.md over every recipe."""
    root = recipes[0].root
    summaries = [RecipeLayout(root, r.name).summary for r in recipes]
    return {
        "basename": INDEX_TASK, "doc": "the index of every recipe's report",
        "actions": [(run_step, [report.render_index, recipes, root])],
        "file_dep": [str(p) for p in [*summaries, *resources.template_files(None, "report")]],
        "targets": [str(p) for p in index_reports(root)],
        "uptodate": [config_changed({"edgebuild": __version__, "recipes": [r.name for r in recipes]})],
        "clean": True,
    }


def all_tasks(recipes: list[Recipe]) -> list[dict]:
    tasks = [task for recipe in recipes for task in recipe_tasks(recipe)]
    return tasks + ([index_task(recipes)] if recipes else [])
