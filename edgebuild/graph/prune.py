"""Stale outputs go: whatever under build/ and dist/ no step of the current recipes declares.

A target or recipe removed from recipes/ leaves folders that no step writes any more; a step
killed mid-write leaves a temporary file. A build of every recipe starts with the `prune`
task, which removes them, one line each. It is up to date (and silent) when there is nothing
to remove. `clean` removes a recipe's outputs on request. Nothing outside build/ and dist/
is ever touched.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import progress
from ..layout import BUILD_DIR, DIST_DIR, RecipeLayout
from .step import Step


def stale(root: Path, steps: list[Step]) -> list[Path]:
    """Paths under build/ and dist/ that no step owns, each as high up as it can be taken whole. (Strings and
    os.scandir, not pathlib: every no-op build asks this over some 5,000 owned paths.)"""
    owned = {str(p) for s in steps for p in s.owned}
    above: set[str] = set()
    for path in owned:
        parent = os.path.dirname(path)
        while parent not in above and parent != path:
            above.add(parent)
            path, parent = parent, os.path.dirname(parent)
    found: list[Path] = []

    def walk(folder: str) -> None:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            if entry.path in owned:
                continue
            if entry.path in above and entry.is_dir(follow_symlinks=False):
                walk(entry.path)
            else:
                found.append(Path(entry.path))

    for top in (root / BUILD_DIR, root / DIST_DIR):
        if top.is_dir():
            walk(str(top))
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
