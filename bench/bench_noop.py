"""A no-op build as recipes are added: `doit` with nothing to do, against a bare import of doit, pydantic,
yaml and jinja2 measured in the same run.

    python bench/bench_noop.py [--runs 7]

Builds every example recipe once in a copy of the repository's examples, then times no-op `doit` runs with
all of them, then the first 6, 3 and 1 (the others moved out of recipes/), and prints each median, its ratio to
the bare import, and how the no-op grows per recipe (a least-squares line through the medians).
Goal: every ratio <= 3.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
PY = sys.executable
OWN = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")  # this checkout's edgebuild


def timed(command, cwd) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): on this noisy 2-core machine the wall time of one no-op varies
    by a third between runs; the CPU time it takes varies less."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=OWN)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(command, cwd, runs: int) -> tuple[float, float]:
    found = [timed(command, cwd) for _ in range(runs)]
    return statistics.median(w for w, _ in found), statistics.median(c for _, c in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="no-op runs per count (the median is used)")
    args = parser.parse_args()
    measure.compile_checkout(REPO)  # (as an installed package is: this machine sets PYTHONDONTWRITEBYTECODE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "examples"
        root.mkdir()
        for part in ("recipes", "models", "data", "quant"):
            shutil.copytree(REPO / part, root / part)
        shutil.copy(REPO / "dodo.py", root)
        print("building the examples once ...", flush=True)
        subprocess.run([PY, "-m", "doit", "-n", "2"], cwd=root, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=OWN)
        recipes = sorted((root / "recipes").glob("*.yaml"))
        parked = Path(tmp) / "parked"
        parked.mkdir()
        rows = []
        for count in sorted({1, 3, 6, len(recipes)}, reverse=True):  # (fewer each time: nothing rebuilds)
            for recipe in recipes:  # the first `count` in recipes/, the others parked
                here, there = root / "recipes" / recipe.name, parked / recipe.name
                wanted = recipes.index(recipe) < count
                if wanted and there.exists():
                    there.rename(here)
                elif not wanted and here.exists():
                    here.rename(there)
            # (the first no-op after recipes are parked prunes their outputs, and is not timed)
            subprocess.run([PY, "-m", "doit"], cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=OWN)
            bare, bare_cpu = medians([PY, "-c", "import doit, pydantic, yaml, jinja2"], root, args.runs)
            noop, noop_cpu = medians([PY, "-m", "doit"], root, args.runs)
            rows.append((count, noop, bare, noop_cpu, bare_cpu))
            print(f"{count:3} recipes: no-op {noop:.3f} s, bare import {bare:.3f} s, ratio {noop / bare:.2f} (<= 3); "
                  f"CPU {noop_cpu:.3f} s against {bare_cpu:.3f} s, ratio {noop_cpu / bare_cpu:.2f}", flush=True)
        n = [r[0] for r in rows]
        for label, column in (("wall", 1), ("CPU", 3)):
            t = [r[column] for r in rows]
            mean_n, mean_t = statistics.mean(n), statistics.mean(t)
            slope = sum((a - mean_n) * (b - mean_t) for a, b in zip(n, t)) / sum((a - mean_n) ** 2 for a in n)
            print(f"growth ({label}): {1000 * slope:.1f} ms per recipe, {1000 * (mean_t - slope * mean_n):.0f} ms "
                  f"with none")
        print(f"(median of {args.runs} runs each; {Path(PY).name} {sys.version.split()[0]})")

if __name__ == "__main__":
    main()
