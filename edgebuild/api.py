"""The library API that the CLI, dodo.py and the tests share: validate, plan, build, status, init.

    build(): collect recipes -> plan doit tasks -> let doit run what is out of date
"""
from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import resources
from .errors import EdgebuildError, InputError, RecipeError
from .layout import RecipeLayout, read_json
from .recipe import Recipe, discover, load_recipes
from .schema import json_schema

DEP_FILE = ".doit.db"


def _root(root) -> Path:
    return Path(root if root is not None else os.getcwd()).resolve()


def validate(paths=None, root=None) -> list[Recipe]:
    """Load and check recipes (default: recipes/*.yaml under root); raise RecipeError listing every problem."""
    root = _root(root)
    files = [Path(p) if Path(p).is_absolute() else root / p for p in paths] if paths else discover(root)
    if not files:
        raise InputError(f"no recipes found: expected files matching {root / 'recipes' / '*.yaml'}")
    return load_recipes(files, root)


def plan(recipes: list[Recipe]) -> list[dict]:
    """The doit task dicts for these recipes (no TensorFlow import, nothing run)."""
    from .tasks import all_tasks

    return all_tasks(recipes)


def doit_config(root=None, reporter=None) -> dict:
    from .console import BuildReporter

    return {
        "dep_file": str(_root(root) / DEP_FILE),
        "backend": "sqlite3",
        "reporter": reporter or BuildReporter,
        "continue": True,
        "verbosity": 1,
    }


def dodo_tasks(root=None):
    """For dodo.py: the tasks of every recipe; a bad recipe prints its problems and exits with status 2."""
    try:
        yield from plan(validate(root=root))
    except EdgebuildError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


@dataclass
class BuildResult:
    exit_code: int
    executed: list[str] = field(default_factory=list)  # doit task names, in the order they ran
    up_to_date: int = 0
    failures: list[str] = field(default_factory=list)


def build(paths=None, root=None, jobs: int = 1, verbose: bool = False, stream=None) -> BuildResult:
    """Build recipes through doit: only what changed since the last build runs."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from .console import BuildReporter
    from .tasks import INDEX_TASK

    root = _root(root)
    recipes = validate(paths, root)
    reporters: list[BuildReporter] = []

    class Reporter(BuildReporter):
        def __init__(self, outstream, options):
            super().__init__(stream or outstream, options)
            reporters.append(self)

    tasks = plan(recipes)
    if paths:  # the index covers every recipe; building some leaves it alone
        tasks = [t for t in tasks if t["basename"] != INDEX_TASK]

    def task_edgebuild():
        yield from tasks

    namespace = {"DOIT_CONFIG": doit_config(root, Reporter), "task_edgebuild": task_edgebuild}
    selected = [r.name for r in recipes] + ([INDEX_TASK] if not paths else [])
    args = ["run", *(["-n", str(jobs), "-P", "process"] if jobs > 1 else []), *selected]
    if verbose:
        os.environ["EDGEBUILD_VERBOSE"] = "1"
    code = 0 if DoitMain(ModuleTaskLoader(namespace)).run(args) == 0 else 1
    reporter = reporters[0] if reporters else None
    if reporter is None:
        return BuildResult(exit_code=code)
    return BuildResult(code, reporter.executed, reporter.up_to_date, reporter.failure_lines)


@dataclass(frozen=True)
class TargetStatus:
    recipe: str
    target: str
    quantization: str
    up_to_date: bool
    passed: bool | None  # None until the target has been gated


def status(paths=None, root=None) -> list[TargetStatus]:
    """Whether each target is up to date, by doit's own dependency check (nothing is run)."""
    from doit.dependency import Dependency, MD5Checker, SqliteDB
    from doit.loader import generate_tasks

    root = _root(root)
    recipes = validate(paths, root)
    task_list = generate_tasks("edgebuild", (task for task in plan(recipes)))
    tasks = {task.name: task for task in task_list}
    db_path = root / DEP_FILE
    fresh: dict[str, bool] = {}
    if db_path.exists():
        deps = Dependency(SqliteDB, str(db_path), checker_cls=MD5Checker)
        try:
            fresh = {name: task.actions == [] or deps.get_status(task, tasks).status == "up-to-date"
                     for name, task in tasks.items()}
        finally:
            deps.close()
    rows = []
    for recipe in recipes:
        layout = RecipeLayout(root, recipe.name)
        shared = [f"{recipe.name}:{step}" for step in ("data", "source", "reference")]
        for target in recipe.spec.targets:
            own = [f"{recipe.name}:{step}/{target.name}" for step in ("convert", "evaluate", "gate")]
            ok = all(fresh.get(name, False) for name in shared + own)
            verdict = layout.verdict(target.name)
            passed = read_json(verdict)["passed"] if verdict.exists() else None
            rows.append(TargetStatus(recipe.name, target.name, target.quantization.value, ok, passed))
    return rows


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


__all__ = ["BuildResult", "RecipeError", "TargetStatus", "build", "dodo_tasks", "init", "plan", "schema_text",
           "status", "validate"]
