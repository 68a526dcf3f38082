"""Scaling on a Dask cluster: the same recipes built here, on `--dask local:1` and on `--dask local:2`.

    python bench/bench_dask.py [--repeat N]

Four example recipes (digits-cnn, wine-savedmodel, photos-cnn, digits-tflite), cold, each side in a
fresh copy; prints the median wall time of each side and its ratio to the local build measured in
the same run. A LocalCluster's workers are processes on this machine, so local:2 can use its two
cores at once; every side pays for its own worker start-up and TensorFlow imports.
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
EXAMPLES = ["digits_cnn", "wine_savedmodel", "photos_cnn", "digits_tflite"]


def project(root: Path) -> Path:
    (root / "recipes").mkdir(parents=True)
    for part in ("models", "data", "quant"):
        shutil.copytree(REPO / part, root / part)
    for name in EXAMPLES:
        shutil.copy(REPO / "recipes" / f"{name}.yaml", root / "recipes")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    import measure as _measure

    _measure.compile_checkout(REPO)
    sides = {"local (one process)": [], "--dask local:1": ["--dask", "local:1"], "--dask local:2": ["--dask", "local:2"]}
    times: dict[str, list[float]] = {name: [] for name in sides}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for name, extra in sides.items():
                root = project(Path(tmp) / f"{i}-{len(times[name])}-{extra[-1] if extra else 'local'}")
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", *extra], cwd=root, env=env,
                               check=True, capture_output=True)
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times["local (one process)"])
    print(f"4 recipes ({', '.join(EXAMPLES)}), cold, median of {args.repeat}")
    for name, runs in times.items():
        print(f"{name:22} {statistics.median(runs):7.1f} s  {statistics.median(runs) / base:5.2f}")


if __name__ == "__main__":
    main()
