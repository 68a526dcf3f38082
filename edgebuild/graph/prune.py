"""Stale outputs go: whatever under build/ and dist/ no step of the current recipes declares.

A target or recipe removed from recipes/ leaves folders that no step writes any more; a step
killed mid-write leaves a temporary file. A build of every recipe starts with the `prune`
task, which removes them, one line each. It is up to date (and silent) when there is nothing
to remove. `clean` removes a recipe's outputs on request. Nothing outside build/ and dist/
is ever touched.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .. import progress
from ..layout import BUILD_DIR, DIST_DIR, RecipeLayout
from .step import Step


def stale(root: Path, steps: list[Step]) -> list[Path]:
    """Paths under build/ and dist/ that no step owns, each as high up as it can be taken whole."""
    owned = {p for s in steps for p in s.owned}
    above = {parent for p in owned for parent in p.parents}
    found: list[Path] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry in owned:
                continue
            if entry in above and entry.is_dir() and not entry.is_symlink():
                walk(entry)
            else:
                found.append(entry)

    for top in (root / BUILD_DIR, root / DIST_DIR):
        if top.is_dir():
            walk(top)
    return found


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def prune(root: Path, steps: list[Step]) -> list[Path]:
    """Remove every stale path, saying so in one line each."""
    removed = stale(root, steps)
    for path in removed:
        shown = path.relative_to(root).as_posix() + ("/" if path.is_dir() else "")
        remove(path)
        progress.say(f"removed {shown}: no step of the current recipes writes it")
    return removed


def clean(root: Path, recipe_names: list[str]) -> list[Path]:
    """`edgebuild clean`: remove these recipes' outputs (build/<recipe>/, dist/<recipe>/, its zips)."""
    from ..bundle import PLATFORMS

    removed = []
    for name in recipe_names:
        layout = RecipeLayout(root, name)
        paths = [layout.dir, root / DIST_DIR / name, *(layout.bundle_zip(p) for p in PLATFORMS)]
        for path in paths:
            if path.exists() or path.is_symlink():
                remove(path)
                removed.append(path)
    return removed
