"""A stand-in for a Linux board: a fresh virtual environment without TensorFlow, into which the Linux bundle's
wheel is built and installed, then its golden tests and command line run.

No network at test time: the venv gets no copies of packages, but a .pth file naming a folder of symbolic links
to exactly the distributions the packages need (ai-edge-litert, NumPy, Pillow, soundfile, soxr, pytest, and what they require),
dist-info included, so pip resolves the package's pins against them (`--no-index`) as it would on a board.
TensorFlow is not among them: the test proves `import tensorflow` fails there.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

NEEDED = ("ai-edge-litert", "numpy", "pillow", "pytest", "soundfile", "soxr")


def _closure(names) -> list[metadata.Distribution]:
    """The distributions `names` need, with theirs (no extras), as installed here."""
    found, todo = {}, list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def board(root: Path) -> Path:
    """A venv under `root` that sees only NEEDED and their requirements; returns its python."""
    venv, linked = root / "board", root / "linked"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    linked.mkdir()
    for dist in _closure(NEEDED):
        base = Path(dist.locate_file(""))
        for top in sorted({Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}):
            if (base / top).exists() and not (linked / top).exists() and top != "__pycache__":
                (linked / top).symlink_to(base / top)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "board_packages.pth").write_text(f"{linked}\n")
    return venv / "bin" / "python"


def install(bundle: Path, python: Path, work: Path) -> Path:
    """Build the bundle's wheel here (hatchling, no isolation: offline) and pip-install it on the board by its pins."""
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps", "--no-index",
                    "-w", str(wheels), str(bundle)], check=True, capture_output=True, text=True)
    (wheel,) = wheels.glob("*.whl")
    # (the board is shared: a package of the same name and version would otherwise count as installed already)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "uninstall", "--quiet", "--yes",
                    wheel.name.split("-")[0]], check=True, capture_output=True, text=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                    "--no-cache-dir", str(wheel)], check=True, capture_output=True, text=True)
    return wheel


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The board's python, with nothing of this machine's environment that would reach other packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True)


def prove(bundle: Path, package: str, python: Path, work: Path) -> subprocess.CompletedProcess:
    """Install the bundle's wheel on the board and run its golden tests there, from a copy of its tests folder only
    (so that they import the installed package, not the bundle's src/); returns pytest's run."""
    import shutil

    install(bundle, python, work)
    where = run(python, "-c", f"import {package}, sys; print({package}.__file__); import tensorflow", cwd=work)
    assert "/board/lib/" in where.stdout, where.stdout + where.stderr  # the installed wheel, not a source tree
    assert "No module named 'tensorflow'" in where.stderr, where.stderr
    tests = work / "tests"
    shutil.copytree(bundle / "tests", tests)
    return run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests), cwd=work)
