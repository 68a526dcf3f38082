"""Sphinx configuration: Markdown pages through MyST, the Furo theme, and the recipe field reference written
from edgebuild's JSON Schema (_ext/recipe_fields.py). Build strictly, as CI does:

    .venv/bin/sphinx-build -W --keep-going -n -b html docs build/docs

A broken link between pages, a page missing from the contents, or a heading out of order fails the build.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "edgebuild"
author = "the edgebuild developers"
extensions = ["myst_parser", "recipe_fields"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]
myst_heading_anchors = 3  # links to a page's sections: page.md#section-title
myst_enable_extensions = ["colon_fence"]
html_theme = "furo"
html_title = "edgebuild"
html_static_path: list = []
suppress_warnings: list = []
