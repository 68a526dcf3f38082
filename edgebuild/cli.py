"""`edgebuild` on the command line: parse arguments, call `edgebuild.api`, turn errors into exit codes.

Exit status: 0 success, 1 a build step or gate failed, 2 bad input (recipe, arguments, files).
"""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import EdgebuildError, InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgebuild", description="Build TFLite models from YAML recipes: convert, measure in LiteRT, gate, report, "
        "and bundle the best for Android and iOS.")
    parser.add_argument("--version", action="version", version=f"edgebuild {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="build recipes (default: recipes/*.yaml); only what changed reruns")
    build.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipe files (default: recipes/*.yaml)")
    build.add_argument("-n", "--jobs", type=int, default=1, metavar="JOBS", help="steps to run in parallel")
    build.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's and scripts' own output")
    build.add_argument("--dask", metavar="ADDRESS", default=None,
                       help="run the heavy steps on a Dask cluster: tcp://scheduler:8786, or local:N for N worker "
                            "processes here (default: $EDGEBUILD_DASK); doit still runs here")

    validate = sub.add_parser("validate", help="check recipes without building")
    validate.add_argument("recipes", nargs="*", metavar="RECIPE")

    listing = sub.add_parser("list", help="recipes, their targets, and whether each is up to date")
    listing.add_argument("recipes", nargs="*", metavar="RECIPE")

    clean = sub.add_parser("clean", help="remove recipes' outputs under build/ and dist/ (nothing else)")
    clean.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipe files (default: recipes/*.yaml)")

    init = sub.add_parser("init", help="start a project: example recipe, training script, dodo.py, .gitignore")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR")

    sub.add_parser("schema", help="print the recipe's JSON Schema (for editors)")

    inspect = sub.add_parser("inspect", help="inputs, outputs, operators, tensors and size breakdown of a .tflite")
    inspect.add_argument("model", metavar="MODEL.tflite")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect.add_argument("--weights", metavar="OUT.npz", help="also write every constant tensor to an .npz")
    return parser


def _build(args) -> int:
    from . import api

    if args.jobs < 1:
        raise InputError(f"-n/--jobs: expected a whole number of at least 1; got {args.jobs}")
    code = 0 if api.build(args.recipes, jobs=args.jobs, verbose=args.verbose, dask=args.dask).exit_code == 0 else 1
    outputs = [p for p in ("build/report.html", "dist") if os.path.exists(p)]
    if outputs:
        print(f"edgebuild: see {' and '.join(outputs)}", file=sys.stderr)
    return code


def _validate(args) -> int:
    from . import api

    recipes = api.validate(args.recipes)
    for recipe in recipes:
        print(f"{recipe.file}: {recipe.name}: ok ({len(recipe.spec.targets)} targets)")
    return 0


def _list(args) -> int:
    from . import api

    rows = api.status(args.recipes)
    header = ("recipe", "target", "quantization", "status", "gate")
    table = [header] + [(r.recipe, r.target, r.quantization, "up to date" if r.up_to_date else "to build",
                         {None: "-", True: "passed", False: "FAILED"}[r.passed]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _clean(args) -> int:
    from . import api

    removed = api.clean(args.recipes)
    root = os.getcwd()
    for path in removed:
        print(f"removed {os.path.relpath(path, root)}")
    if not removed:
        print("nothing to remove")
    return 0


def _init(args) -> int:
    from . import api

    for path in api.init(args.directory):
        print(f"wrote {path}")
    print("next: build it with `doit` (or `edgebuild build`) in that folder")
    return 0


def _schema(args) -> int:
    from . import api

    sys.stdout.write(api.schema_text())
    return 0


def _inspect(args) -> int:
    import json

    from .tflite.inspection import inspect_model, save_weights

    result = inspect_model(args.model)
    sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n" if args.json else result.text())
    if args.weights:
        count = save_weights(args.model, args.weights)
        print(f"wrote {count} arrays to {args.weights}", file=sys.stderr)
    return 0


COMMANDS = {"build": _build, "validate": _validate, "list": _list, "clean": _clean, "init": _init,
            "schema": _schema, "inspect": _inspect}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except EdgebuildError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        from .progress import say_interrupted

        say_interrupted()
        return 130


def run() -> None:
    """The console script: main(), then exit without TensorFlow's half-second interpreter teardown.

    Every artifact is already written and closed (each through a rename), so skipping the
    teardown loses nothing; stdout and stderr are flushed first.
    """
    code = main()
    if "tensorflow" in sys.modules:
        from .run import sandbox

        sandbox.leave(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
