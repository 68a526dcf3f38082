"""Files that ship with edgebuild: Jinja templates and the `edgebuild init` starter project.

Installed, they live in the package (edgebuild/templates/, put there by the wheel build);
in a source checkout, in the repository's top-level templates/.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .recipe import Recipe

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


def template_folders(recipe: "Recipe | None", kind: str) -> list[Path]:
    """Where templates of one kind (report, android, ios) are looked up: a recipe's own
    `templates:` folder first, so a file there replaces edgebuild's file of the same name."""
    folders = [templates_dir() / kind]
    if recipe is not None and recipe.spec.templates:
        folders.insert(0, recipe.path(recipe.spec.templates) / kind)
    return folders


def template_files(recipe: "Recipe | None", kind: str) -> list[Path]:
    """Every template file a step of this kind may read (its doit file_dep)."""
    return sorted(p for folder in template_folders(recipe, kind) for p in _files_under(folder))


def _files_under(folder: Path) -> tuple[Path, ...]:
    """The files under a template folder; edgebuild's own are listed once per process (package data does not
    change under a running build, and every recipe's bundle steps list them: 11 examples, 45 listings)."""
    if folder.is_relative_to(templates_dir()):
        return _package_files(folder)
    return tuple(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else ()


@functools.lru_cache(maxsize=None)
def _package_files(folder: Path) -> tuple[Path, ...]:
    return tuple(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else ()


SYNTAX = {"keep_trailing_newline": True, "trim_blocks": True, "lstrip_blocks": True}


def jinja_environment(recipe: "Recipe | None", kind: str, autoescape=False, **filters):
    """Jinja over `template_folders`, strict about undefined names, with the given filters."""
    import jinja2

    loaders = [jinja2.FileSystemLoader(str(f)) for f in template_folders(recipe, kind)]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, bytecode_cache=_compiled_templates(kind, autoescape),
                             **SYNTAX)
    env.filters.update(kb=lambda n: f"{n / 1000:.1f}", **filters)
    return env


def _compiled_templates(kind: str, autoescape):
    """Jinja's own cache of compiled templates, in ~/.cache/edgebuild/templates/ ($XDG_CACHE_HOME): compiling
    was most of what the report and bundle steps cost (0.43 of the report's 0.45 s, 0.24 of the iOS
    bundle's 0.45 s), paid again in every step's process. Like Python's __pycache__ it changes no output;
    Jinja checks each entry against its template's source, and entries of other settings (the syntax, the
    escaping, Jinja's and Python's versions) live in another folder. None where the folder cannot be made."""
    import hashlib
    import os
    import sys

    import jinja2

    code = getattr(autoescape, "__code__", None)  # (a rule by name: its bytecode and constants tell it)
    escaping = code.co_code + repr(code.co_consts).encode() if code is not None else repr(autoescape).encode()
    settings = repr((jinja2.__version__, sys.version_info[:2], sorted(SYNTAX.items()))).encode() + escaping
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgebuild" / "templates"
    folder = base / f"{kind}-{hashlib.sha256(settings).hexdigest()[:16]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))
