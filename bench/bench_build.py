"""Build speed and memory, as ratios against baselines measured in the same run.

    python bench/bench_build.py [--repeat N]

1. cold build of recipes/digits_dense.yaml vs bench/handwritten_pipeline.py (the tutorial done by hand)
   (the tutorials' workflow by hand: same training, four conversions, evaluation)   goal <= 1.1x
   and with -n 2 (edgebuild build -n 2, and plain doit -n 2)                          goal <= 1.0x
2. no-op `doit` vs `python -c "import doit, pydantic, yaml, jinja2"`                 goal <= 3x, < 0.3 s
3. rebuild after a threshold edit vs the cold build                                   goal <= 0.1x
4. peak memory (the largest sum over the process tree) of building every example recipe, and of the peer
5. with --before PATH (another edgebuild checkout, e.g. a git worktree of an earlier commit): a cold build
   of the example recipes both checkouts have, and a no-op, with this code vs that code     goal <= 1.0x
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "handwritten_pipeline.py"  # the peer, kept here: benches run from a clone
PY = sys.executable


OWN = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's edgebuild, whatever is installed


def timed(command, cwd) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=OWN)
    return time.perf_counter() - started


def project(tmp: Path, recipes: list[str]) -> Path:
    root = Path(tempfile.mkdtemp(dir=tmp))
    (root / "recipes").mkdir()
    for recipe in recipes:
        shutil.copy(REPO / "recipes" / recipe, root / "recipes")
    for part in ("models", "data", "quant"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "dodo.py", root)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="cold builds of each side (the median is used)")
    parser.add_argument("--before", type=Path, help="another edgebuild checkout to measure beside this one")
    args = parser.parse_args()
    measure.compile_checkout(REPO)
    if args.before:
        measure.compile_checkout(args.before)
    edgebuild = [PY, "-m", "edgebuild.cli", "build"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        peer, ours, ours2, doit2 = [], [], [], []
        for _ in range(args.repeat):  # alternate, so drift in the machine's speed hits every side
            peer.append(timed([PY, str(PEER), str(tmp / "peer-out")], tmp))
            ours2.append(timed([*edgebuild, "-n", "2"], project(tmp, ["digits_dense.yaml"])))
            doit2.append(timed([PY, "-m", "doit", "-n", "2"], project(tmp, ["digits_dense.yaml"])))
            root = project(tmp, ["digits_dense.yaml"])
            ours.append(timed(edgebuild, root))
        cold_peer, cold, cold2 = statistics.median(peer), statistics.median(ours), statistics.median(ours2)
        cold_doit2 = statistics.median(doit2)

        baseline = [timed([PY, "-c", "import doit, pydantic, yaml, jinja2"], root) for _ in range(7)]
        noop = [timed([PY, "-m", "doit"], root) for _ in range(7)]
        base, noop = statistics.median(baseline), statistics.median(noop)

        recipe = root / "recipes" / "digits_dense.yaml"
        edits = []
        for limit in ("440", "450", "440"):
            recipe.write_text(recipe.read_text().replace("max_size_kb: 450", f"max_size_kb: {limit}")
                              .replace("max_size_kb: 440", f"max_size_kb: {limit}"))
            edits.append(timed(edgebuild, root))
        edit = statistics.median(edits)

        examples = project(tmp, [p.name for p in (REPO / "recipes").glob("*.yaml")])
        mem_ours = measure.run(edgebuild, examples, OWN)[1]
        mem_peer = measure.run([PY, str(PEER), str(tmp / "peer-mem")], tmp)[1]

    print(f"{'measure':44} {'edgebuild':>10} {'baseline':>10} {'ratio':>7}  goal")
    print(f"{'cold build digits-dense vs handwritten (s)':44} {cold:10.2f} {cold_peer:10.2f} {cold / cold_peer:7.2f}  <= 1.1")
    print(f"{'  the same with -n 2 (s)':44} {cold2:10.2f} {cold_peer:10.2f} {cold2 / cold_peer:7.2f}  <= 1.0")
    print(f"{'  the same with plain doit -n 2 (s)':44} {cold_doit2:10.2f} {cold_peer:10.2f} {cold_doit2 / cold_peer:7.2f}  <= 1.0")
    print(f"{'no-op doit vs import doit,pydantic,yaml,jinja2 (s)':44} {noop:10.3f} {base:10.3f} {noop / base:7.2f}  <= 3, < 0.3 s")
    print(f"{'threshold edit rebuild vs cold build (s)':44} {edit:10.2f} {cold:10.2f} {edit / cold:7.2f}  <= 0.1")
    print(f"{'peak PSS: all examples vs handwritten (MB)':44} {mem_ours:10.0f} {mem_peer:10.0f} {mem_ours / mem_peer:7.2f}")
    print(f"(median of {args.repeat} cold builds each, 7 no-ops; {Path(PY).name} {sys.version.split()[0]})")
    if args.before:
        before_and_after(args.before.resolve(), args.repeat)


def before_and_after(before: Path, repeat: int) -> None:
    """The examples both checkouts have, built cold with each checkout's code (its edgebuild on PYTHONPATH)."""
    shared = sorted({p.name for p in (before / "recipes").glob("*.yaml")} & {p.name for p in (REPO / "recipes").glob("*.yaml")})
    envs = {"now": dict(os.environ, PYTHONPATH=str(REPO)), "before": dict(os.environ, PYTHONPATH=str(before))}
    cold, noop = {"now": [], "before": []}, {"now": [], "before": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for _ in range(repeat):  # alternate, so drift in the machine's speed hits both sides
            for side, env in envs.items():
                root = project(tmp, shared)
                started = time.perf_counter()
                subprocess.run([PY, "-m", "edgebuild.cli", "build"], cwd=root, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                cold[side].append(time.perf_counter() - started)
                for _ in range(3):
                    started = time.perf_counter()
                    subprocess.run([PY, "-m", "doit"], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    noop[side].append(time.perf_counter() - started)
    now, then = statistics.median(cold["now"]), statistics.median(cold["before"])
    noop_now, noop_then = statistics.median(noop["now"]), statistics.median(noop["before"])
    print(f"\n{len(shared)} examples both checkouts have ({', '.join(n.removesuffix('.yaml') for n in shared)}):")
    print(f"{'measure':44} {'now':>10} {'before':>10} {'ratio':>7}  goal")
    print(f"{'cold build (s)':44} {now:10.2f} {then:10.2f} {now / then:7.2f}  <= 1.0")
    print(f"{'no-op doit (s)':44} {noop_now:10.3f} {noop_then:10.3f} {noop_now / noop_then:7.2f}  <= 1.0")
    print(f"(median of {repeat} cold builds and {3 * repeat} no-ops per side; before: {before})")


if __name__ == "__main__":
    main()
