"""The library API that the CLI, dodo.py and the tests share: validate, plan, build, status, clean, init.

    build(): collect recipes -> plan doit tasks -> let doit run what is out of date
"""
from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import resources
from .errors import EdgebuildError, InputError, RecipeError
from .graph import lock
from .layout import RecipeLayout, read_json
from .recipe import Recipe, discover, load_recipes
from .recipe.schema import json_schema

DEP_FILE = ".doit.db"


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while recipes are loaded and planned: planning makes some 10^5
    objects and frees few, and the collector walked them all again and again (about 50 ms of a 0.45 s no-op
    build of the fourteen examples). Back on as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _root(root) -> Path:
    return Path(root if root is not None else os.getcwd()).resolve()


def validate(paths=None, root=None) -> list[Recipe]:
    """Load and check recipes (default: recipes/*.yaml under root); raise RecipeError listing every problem."""
    root = _root(root)
    files = [Path(p) if Path(p).is_absolute() else root / p for p in paths] if paths else discover(root)
    if not files:
        raise InputError(f"no recipes found: expected files matching {root / 'recipes' / '*.yaml'}")
    return load_recipes(files, root)


def plan(recipes: list[Recipe], prune_stale: bool = False) -> list[dict]:
    """The doit task dicts for these recipes (no TensorFlow import, nothing run); `prune_stale` for a
    build of every recipe, which first removes what no step declares."""
    from .graph.tasks import all_tasks

    return all_tasks(recipes, prune_stale)


def doit_config(root=None, reporter=None) -> dict:
    from .console import BuildReporter
    from .graph.dispatch import ready_in_listed_order
    from .graph.records import keep_records_of_steps_not_run

    keep_records_of_steps_not_run()  # (dodo.py and build() both start here)
    ready_in_listed_order()
    return {
        "dep_file": str(_root(root) / DEP_FILE),
        "backend": "sqlite3",
        "reporter": reporter or BuildReporter,
        "continue": True,
        "verbosity": 1,
    }


def dodo_tasks(root=None):
    """For dodo.py: the tasks of every recipe; a bad recipe prints its problems and exits with status 2."""
    with _collector_paused():  # (also while doit makes its tasks of what is yielded)
        try:
            recipes = validate(root=root)
        except EdgebuildError as exc:
            print(exc, file=sys.stderr)
            raise SystemExit(exc.exit_code) from None
        from .progress import quiet_interrupts

        quiet_interrupts()
        lock.acquire(_root(root))  # held until doit exits: a second `doit` here waits
        tasks = plan(recipes, prune_stale=True)
        if _share_tensorflow(tasks, _root(root), _doit_jobs(sys.argv[1:])):
            from .run import sandbox

            sandbox.leave_at_doit_exit()  # (this process is doit's own: nothing runs after its sys.exit)
        yield from tasks


def _share_tensorflow(tasks: list[dict], root: Path, jobs: int) -> bool:
    """With `jobs` > 1, the workers doit forks next get TensorFlow from this process, imported once, when
    an out-of-date step needs it (run/warm.py); otherwise nothing. True if it imported it."""
    if jobs <= 1:
        return False
    from .run import warm

    fresh = _freshness(tasks, root)
    names = _task_names(tasks)
    torch_only = {name for name, task in zip(names, tasks) if _pytorch_task(task)}  # (their steps need torch)
    stale = {n for n, ok in fresh.items() if not ok} if fresh is not None else None
    from .run import sandbox

    sandbox.warm_workers(warm.torch_modules(torch_only if stale is None else stale & torch_only))
    return warm.import_before_forking(jobs, stale - torch_only if stale is not None else None,
                                      [n for n in names if n not in torch_only])


def _pytorch_task(task: dict) -> bool:
    """A step of a recipe whose source is a PyTorch program."""
    args = task["actions"][0][1] if task.get("actions") and isinstance(task["actions"][0], tuple) else []
    step = args[3] if len(args) > 3 else None
    return any(isinstance(a, Recipe) and a.pytorch for a in getattr(step, "args", ()))


def _doit_jobs(argv: list[str]) -> int:
    """The worker count of a `doit [run] -n N -P process` command line (1 for threads, or when not given)."""
    jobs, kind = 1, "process"
    for i, arg in enumerate(argv):
        for short, long, key in (("-n", "--process", "jobs"), ("-P", "--parallel-type", "kind")):
            value = None
            if arg in (short, long) and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(long + "="):
                value = arg.split("=", 1)[1]
            elif arg.startswith(short) and len(arg) > 2 and not arg.startswith("--"):
                value = arg[2:]
            if value is not None and key == "jobs":
                jobs = int(value) if value.isdigit() else jobs
            elif value is not None:
                kind = value
    return jobs if kind == "process" else 1


def _task_names(task_dicts: list[dict]) -> list[str]:
    """doit's names of these tasks ("<recipe>:<step>"), as _freshness gives them."""
    return [f"{t['basename']}:{t['name']}" if t.get("name") else t["basename"] for t in task_dicts]


@dataclass
class BuildResult:
    exit_code: int
    executed: list[str] = field(default_factory=list)  # doit task names, in the order they ran
    up_to_date: int = 0
    failures: list[str] = field(default_factory=list)


def build(paths=None, root=None, jobs: int = 1, verbose: bool = False, stream=None, dask: str | None = None) -> BuildResult:
    """Build recipes through doit: only what changed since the last build runs. With `dask` (an address,
    or local:N), the heavy steps run on that Dask cluster (remote.py) and doit still runs here."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from . import progress
    from .console import BuildReporter
    from .graph.tasks import INDEX_TASK
    from .run import remote, warm

    root = _root(root)
    recipes = validate(paths, root)
    reporters: list[BuildReporter] = []

    class Reporter(BuildReporter):
        def __init__(self, outstream, options):
            super().__init__(stream or outstream, options)
            reporters.append(self)

    tasks = plan(recipes, prune_stale=not paths)
    if paths:  # the index covers every recipe; building some leaves it alone
        tasks = [t for t in tasks if t["basename"] != INDEX_TASK]

    def task_edgebuild():
        yield from tasks

    namespace = {"DOIT_CONFIG": doit_config(root, Reporter), "task_edgebuild": task_edgebuild}
    selected = [r.name for r in recipes] + ([INDEX_TASK] if not paths else [])
    dask = dask or os.environ.get(remote.ENV) or None
    if dask:
        remote.check_address(dask)
    with lock.project_lock(root), progress.verbosity(verbose or progress.verbose()):
        if dask:
            return _build_on_cluster(dask, namespace, selected, reporters, stream)
        _share_tensorflow(tasks, root, jobs)
        args = ["run", *(["-n", str(jobs), "-P", "process"] if jobs > 1 else []), *selected]
        try:
            code = 0 if DoitMain(ModuleTaskLoader(namespace)).run(args) == 0 else 1
        finally:
            warm.ran_here()  # (a caller that goes on, a test, may run TensorFlow)
    reporter = reporters[0] if reporters else None
    if reporter is None:
        return BuildResult(exit_code=code)
    return BuildResult(code, reporter.executed, reporter.up_to_date, reporter.failure_lines)


def _build_on_cluster(address: str, namespace: dict, selected: list[str], reporters: list, stream) -> BuildResult:
    """doit here, in threads that wait on the cluster; the cluster starts with the first heavy step."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from .run import remote

    count = address.split(":", 1)[1] if address.startswith("local:") else ""
    threads = int(count) + 1 if count.isdigit() else 16  # enough to keep every worker busy
    cluster = remote.Cluster(address)
    remote.CURRENT = cluster
    streams = sys.stdout, sys.stderr  # doit's threads swap sys.stdout to capture actions' prints, unsafely
    try:
        code = 0 if DoitMain(ModuleTaskLoader(namespace)).run(["run", "-n", str(threads), "-P", "thread",
                                                              *selected]) == 0 else 1
    finally:
        sys.stdout, sys.stderr = streams
        remote.CURRENT = None
        cluster.close()
    line = cluster.summary()
    if line:
        (stream or sys.stderr).write(line + "\n")
    reporter = reporters[0] if reporters else None
    if reporter is None:
        return BuildResult(exit_code=code)
    return BuildResult(code, reporter.executed, reporter.up_to_date, reporter.failure_lines)


def _freshness(task_dicts: list[dict], root: Path) -> dict[str, bool] | None:
    """{doit task name: up to date}, by doit's own dependency check (nothing is run); None if never built."""
    from doit.dependency import Dependency, MD5Checker, SqliteDB
    from doit.loader import generate_tasks

    db_path = root / DEP_FILE
    if not db_path.exists():
        return None
    tasks = {task.name: task for task in generate_tasks("edgebuild", (dict(t) for t in task_dicts))}
    deps = Dependency(SqliteDB, str(db_path), checker_cls=MD5Checker)
    try:
        return {name: task.actions == [] or deps.get_status(task, tasks).status == "up-to-date"
                for name, task in tasks.items()}
    finally:
        deps.close()


@dataclass(frozen=True)
class TargetStatus:
    recipe: str
    target: str
    quantization: str
    up_to_date: bool
    passed: bool | None  # None until the target has been gated


def status(paths=None, root=None) -> list[TargetStatus]:
    """Whether each target is up to date, by doit's own dependency check (nothing is run)."""
    from .graph.tasks import recipe_steps, upstream

    root = _root(root)
    recipes = validate(paths, root)
    fresh = _freshness(plan(recipes), root) or {}
    rows = []
    for recipe in recipes:
        layout = RecipeLayout(root, recipe.name)
        steps = recipe_steps(recipe)
        for target in recipe.spec.targets:
            needed = upstream(steps, f"gate/{target.name}")  # the steps its verdict comes from
            ok = all(fresh.get(f"{recipe.name}:{step.name}", False) for step in needed)
            verdict = layout.verdict(target.name)
            passed = read_json(verdict)["passed"] if verdict.exists() else None
            rows.append(TargetStatus(recipe.name, target.name, target.quantization.value, ok, passed))
    return rows


def clean(paths=None, root=None) -> list[Path]:
    """Remove these recipes' outputs (default: every recipe's) under build/ and dist/; returns what went."""
    from .graph.prune import clean as remove_outputs

    root = _root(root)
    recipes = validate(paths, root)
    with lock.project_lock(root):
        return remove_outputs(root, [r.name for r in recipes])


def init(directory) -> list[Path]:
    """Start a project: an example recipe, its training script, a dodo.py and a .gitignore."""
    directory = Path(directory)
    files = resources.init_files()
    files["recipes/recipe.schema.json"] = json.dumps(json_schema(), indent=2) + "\n"
    clashes = sorted(name for name in files if (directory / name).exists())
    if clashes:
        raise InputError(f"{directory}: would overwrite {', '.join(clashes)}; choose an empty folder")
    written = []
    for name, text in sorted(files.items()):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def schema_text() -> str:
    buffer = io.StringIO()
    json.dump(json_schema(), buffer, indent=2)
    return buffer.getvalue() + "\n"


__all__ = ["BuildResult", "RecipeError", "TargetStatus", "build", "clean", "dodo_tasks", "init", "plan",
           "schema_text", "status", "validate"]
