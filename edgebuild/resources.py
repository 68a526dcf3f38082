"""Files that ship with edgebuild: Jinja templates and the `edgebuild init` starter project.

Installed, they live in the package (edgebuild/templates/, put there by the wheel build);
in a source checkout, in the repository's top-level templates/.
"""
from __future__ import annotations

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
    return sorted(p for folder in template_folders(recipe, kind) if folder.is_dir()
                  for p in folder.rglob("*") if p.is_file())


def jinja_environment(recipe: "Recipe | None", kind: str, autoescape=False, **filters):
    """Jinja over `template_folders`, strict about undefined names, with the given filters."""
    import jinja2

    loaders = [jinja2.FileSystemLoader(str(f)) for f in template_folders(recipe, kind)]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(kb=lambda n: f"{n / 1000:.1f}", **filters)
    return env
