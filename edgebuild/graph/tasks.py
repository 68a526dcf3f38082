"""Recipes -> the steps each module declares -> doit task dicts. Pure planning: no TensorFlow, no NumPy.

Per recipe (doit names them `<recipe>:<step>`):

    data ──> source ──> reference ──────────────┐
      │        │                                 v
      │        └──> convert/<t> ──> evaluate/<t> ──> gate/<t> ──> summary ──> report ──> check
      │                   ├──> inspect/<t> ─────────────────────────────────────^
      └─(calibration)─────┴──> debug/<t> (int8) ─────────────────────────────^
                    summary + models ──> ship ──> golden ──> bundle/android, bundle/ios

`check` fails the build when a gate failed, after the report shows why; `reports` writes the
index over all recipes, and `prune` (a full build only) removes what no step declares.

What a step reads and writes is declared once, beside its code (`datasets.step`, `convert.step`,
...; see `step.py`); this module only assembles those declarations and turns them into doit's
`file_dep`, `targets` and `uptodate` (the step's part of the recipe, and its outputs as written).
"""
from __future__ import annotations

import contextlib

from doit.exceptions import TaskFailed

from .. import __version__, bundle, progress
from ..errors import EdgebuildError
from ..layout import RecipeLayout
from ..recipe import INDEX_TASK, PRUNE_TASK, Recipe
from ..recipe.schema import CALIBRATED, Quantization, TargetSpec
from ..run import remote, sandbox, warm
from ..steps import convert, datasets, evaluate, gate, quantdebug, quantizer, report, sources, summary
from ..tflite import inspection
from . import prune
from .step import OUTPUTS_KEY, Step, stamps, up_to_date


def recipe_steps(recipe: Recipe) -> list[Step]:
    """Every step of one recipe, in the order doit takes them when several are ready (`split_by_cost`)."""
    layout = RecipeLayout(recipe.root, recipe.name)
    steps = [datasets.step(recipe, layout), sources.step(recipe, layout)]
    steps += [s for s in [quantizer.float_step(recipe, layout)] if s is not None]
    costly, cheap = split_by_cost(recipe.spec.targets)
    for target in costly:
        steps += target_steps(recipe, layout, target)
    steps.append(evaluate.reference_step(recipe, layout))  # (every evaluation reads it)
    for target in cheap:
        steps += target_steps(recipe, layout, target)
    steps += [summary.step(recipe, layout), report.step(recipe, layout), bundle.ship.step(recipe, layout),
              *bundle.golden_steps(recipe, layout), *bundle.steps(recipe, layout), gate.check_step(recipe, layout)]
    return steps


def split_by_cost(targets: list[TargetSpec]) -> tuple[list[TargetSpec], list[TargetSpec]]:
    """(the targets whose conversion costs most, costliest first; the others), each in the recipe's order
    among equals. doit's workers take ready steps in the order they are listed, and the unconverted
    model's evaluation is listed between the two: under `-n 2`, MobileNetV2's int8 conversion (3.4 s,
    then its quantization debugger, 1.4 s) started last, after the three other conversions and that
    evaluation (2.4 s). A `keep_float` search converts again and again; a calibrated conversion runs the
    model on samples first."""
    def cost(target: TargetSpec) -> int:
        return 2 if target.keep_float is not None else 1 if target.quantization in CALIBRATED else 0

    ordered = sorted(targets, key=cost, reverse=True)
    return [t for t in ordered if cost(t)], [t for t in ordered if not cost(t)]


def target_steps(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> list[Step]:
    """convert, evaluate, gate, inspect (and debug for int8) of one target."""
    used = recipe.backend(target)
    by_converter = used == "converter"
    make = convert.as_is_step if used == "none" else convert.step if by_converter else quantizer.step
    steps = [make(recipe, layout, target),
             evaluate.step(recipe, layout, target.name),
             gate.step(recipe, layout, target.name), inspection.step(recipe, layout, target.name)]
    if target.quantization == Quantization.int8 and by_converter:
        steps.append(quantdebug.step(recipe, layout, target))
    return steps


def upstream(steps: list[Step], name: str) -> list[Step]:
    """The step called `name` and every step whose outputs it reads, directly or not."""
    by_output = {path: s for s in steps for path in s.writes}
    by_name = {s.name: s for s in steps}
    seen: dict[str, Step] = {}
    todo = [by_name[name]]
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen[current.name] = current
        todo.extend(by_output[p] for p in (*current.reads, *current.reads_if_present) if p in by_output)
    return list(seen.values())


# --- steps -> doit --------------------------------------------------------------------------------

def run_step(function, args, writes, step: Step | None = None):
    """Run one step; a user-fixable error fails the task with its one-line message, no traceback.
    Returns the outputs as written, which doit keeps and `outputs_intact` compares next time.
    During a build on a Dask cluster (remote.py), the heavy steps run there and the rest here, one
    at a time (they redirect this process's file descriptors into their logs)."""
    cluster = remote.CURRENT
    if _started_by_a_build():  # a doit -n worker (or a Dask worker): gone with the process that started it
        warm.exit_with_parent()
    recipe = _recipe_of(step) if step is not None else None
    label = f"{recipe.name}:{step.name}" if recipe is not None else None
    if cluster is not None and step is not None and remote.runs_remotely(step, recipe):
        root = recipe.root
        try:
            result = cluster.run(step, root, label, recipe.where(_target_of(step)))
        except EdgebuildError as exc:  # the cluster cannot be reached
            return TaskFailed(str(exc))
        progress.relay(result.get("lines", []))
        if "error" in result:
            return TaskFailed(result["error"])
        remote.write_outputs(step, root, result["outputs"])
        return {OUTPUTS_KEY: stamps(writes)}
    with remote.LOCAL_STEPS if cluster is not None else contextlib.nullcontext(), progress.interrupts_kept(), \
            progress.step_named(label):
        try:
            if step is not None and recipe is not None and sandbox.isolated(step):  # native code that can crash
                sandbox.run(step, label, recipe.where(_target_of(step)), step.log)
            else:
                function(*args)
        except EdgebuildError as exc:
            return TaskFailed(str(exc))
        finally:
            warm.release_memory()
    return {OUTPUTS_KEY: stamps(writes)}


def _started_by_a_build() -> bool:
    """This process is a multiprocessing child (a doit -n worker), not the build process a user started."""
    import multiprocessing

    return multiprocessing.parent_process() is not None


def _target_of(step: Step) -> str | None:
    """The target a step is about ("convert/int8" -> "int8"), for its failure line."""
    return step.name.split("/", 1)[1] if "/" in step.name and not step.name.startswith("bundle/") else None


def _recipe_of(step: Step) -> Recipe | None:
    return next((a for a in step.args if isinstance(a, Recipe)), None)


def doit_task(step: Step, basename: str, name: str | None) -> dict:
    task = {
        "basename": basename,
        "doc": step.doc,
        "actions": [(run_step, [step.action, step.args, step.writes, step])],
        "file_dep": [str(p) for p in step.reads],
        "targets": [str(p) for p in step.writes],
        "uptodate": [up_to_date({"edgebuild": __version__, **step.config})],
        "clean": True,
    }
    if name is not None:
        task["name"] = name
    return task


def recipe_tasks(recipe: Recipe, steps: list[Step] | None = None) -> list[dict]:
    """Every task of one recipe, in build order, after a group task named after the recipe."""
    group = {"basename": recipe.name, "name": None, "doc": f"{recipe.file}: {recipe.spec.description}".rstrip(": ")}
    return [group, *(doit_task(s, recipe.name, s.name) for s in steps or recipe_steps(recipe))]


def all_steps(recipes: list[Recipe]) -> list[Step]:
    """Every step of these recipes, and the index over them."""
    steps = [s for recipe in recipes for s in recipe_steps(recipe)]
    return steps + ([report.index_step(recipes, recipes[0].root)] if recipes else [])


def prune_task(root, steps: list[Step]) -> dict:
    """The doit task that removes what no step writes; up to date while nothing is stale."""
    return {"basename": PRUNE_TASK, "doc": "remove what no recipe step writes (removed recipes and targets)",
            "actions": [(run_step, [prune.prune, (root, steps), ()])],
            "uptodate": [lambda: not prune.stale(root, steps)]}


def all_tasks(recipes: list[Recipe], prune_stale: bool = False) -> list[dict]:
    """doit tasks for these recipes; with `prune_stale` (a build of every recipe), a first task that
    removes whatever under build/ and dist/ no step declares."""
    if not recipes:
        return []
    per_recipe = {recipe.name: recipe_steps(recipe) for recipe in recipes}
    index = report.index_step(recipes, recipes[0].root)
    tasks = [task for recipe in recipes for task in recipe_tasks(recipe, per_recipe[recipe.name])]
    tasks.append(doit_task(index, INDEX_TASK, None))
    if prune_stale:
        every_step = [s for steps in per_recipe.values() for s in steps] + [index]
        tasks.insert(0, prune_task(recipes[0].root, every_step))
        for task in tasks[1:]:  # prune first: listed first in each recipe's group, and before any data step
            if task.get("name") in (None, "data") or task["basename"] == INDEX_TASK:
                task["task_dep"] = [PRUNE_TASK]
    return tasks
