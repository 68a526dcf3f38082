"""Files that ship with edgebuild: Jinja templates and the `edgebuild init` starter project.

Installed, they live in the package (edgebuild/templates/, put there by the wheel build);
in a source checkout, in the repository's top-level templates/.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "templates"
_CHECKOUT = Path(__file__).parent.parent / "templates"


def templates_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def init_files() -> dict[str, str]:
    """Relative path -> text of every starter file (`gitignore` becomes `.gitignore`)."""
    base = templates_dir() / "init"
    files = {}
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(base).as_posix()
            files[".gitignore" if name == "gitignore" else name] = path.read_text(encoding="utf-8")
    return files
