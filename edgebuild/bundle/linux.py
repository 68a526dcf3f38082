"""The Linux board bundle: a Python package a Raspberry Pi or Jetson team installs with pip.

- the shipped model, its labels and metadata as package data (src/<package>/), and `predict()`, which takes a
  picture (a path or a PIL image) or raw values, applies the recipe's preprocessing and returns the task's
  result (labels and scores; values; a mask; boxes in the picture's pixels);
- `processing.py`: edgebuild's own preprocessing and output arithmetic (edgebuild/processing.py), copied as it
  is, so the board computes what the build measured by the same code, not by a copy kept in step;
- a command line, `python -m <package> picture.png`;
- pyproject.toml pinning `ai-edge-litert` to the version that measured the model (LiteRT's Python runtime,
  which installs on aarch64 and x86-64 Linux without TensorFlow);
- golden tests for pytest, which check the model's input bytes and the results against the golden vectors
  within the tolerances measured across LiteRT's kernels (golden.py), on the board or here.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import processing
from ..modalities import sound
from ..recipe import Recipe
from ..recipe.app_names import default_python_package

PLATFORM = "linux"
WHAT = "Linux board: a Python package (predict(), a command line, pytest golden tests) pinning ai-edge-litert"

TEMPLATES = {
    "__init__.py.j2": "src/{package}/__init__.py",
    "__main__.py.j2": "src/{package}/__main__.py",
    "pyproject.toml.j2": "pyproject.toml",
    "test_golden.py.j2": "tests/test_golden.py",
    "README.md.j2": "README.md",
}
MODEL_PATH = "src/{package}/{model_file}"
LABELS_PATH = "src/{package}/{recipe}-labels.txt"
METADATA_PATH = "src/{package}/{recipe}-metadata.json"
GOLDEN_PATH = "tests/{recipe}-golden.json"
GOLDEN_KEEPS = ("input_hex",)  # the tests check the model's input to the byte: the same NumPy arithmetic as here
PROCESSING = Path(processing.__file__)
SOUND = Path(sound.__file__)
READS = (PROCESSING, SOUND)  # copied into the package as they are


def settings(recipe: Recipe) -> dict:
    version = recipe.spec.version or ""
    return {"package": recipe.spec.bundles.linux.package or default_python_package(recipe.name),
            # a PEP 440 release number, or 0.0.0: pip refuses other versions
            "version": version if re.fullmatch(r"\d+(\.\d+){0,3}", version) else "0.0.0"}


def enabled(recipe: Recipe) -> bool:
    return recipe.spec.bundles.linux.enabled


def model_values(ctx: dict) -> dict:
    """The ai-edge-litert version that measured the model, which the package pins."""
    return {"litert_version": ctx["ship"]["versions"].get("ai-edge-litert")}


def extra_files(ctx: dict) -> dict[str, bytes]:
    files = {f"src/{ctx['package']}/processing.py": PROCESSING.read_bytes()}
    if ctx.get("audio"):  # the data step's clip reader, as it is
        files[f"src/{ctx['package']}/sound.py"] = SOUND.read_bytes()
    return files
