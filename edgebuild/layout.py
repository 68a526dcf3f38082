"""Where every artifact lives, and how files are written so none is ever half-written.

    build/<recipe>/data.npz                  the prepared (preprocessed, split) dataset
    build/<recipe>/preprocess.json           resize, scale, mean, std: what the app repeats
    build/<recipe>/source/model.keras        the trained or copied source model (or source/saved_model/)
    build/<recipe>/source/export/            a Keras source traced once (SavedModel) for the converter
    build/<recipe>/reference.json            the unconverted model's accuracy on the test split
    build/<recipe>/<target>/model.tflite
    build/<recipe>/<target>/metrics.json     accuracy, accuracy_drop, size_bytes, latency_ms_median, latency_ms_p90, ...
    build/<recipe>/<target>/verdict.json     passed, failures
    build/<recipe>/<target>/inspect.json     operators, tensors, where the bytes go
    build/<recipe>/<target>/quant_debug.json per-layer quantization error (int8, int16x8)
    build/<recipe>/summary.json              every target's metrics and verdict, reference, recipe hash, versions
    build/<recipe>/report.html, report.md, charts/*.svg
    build/report.html, build/report.md       an index over all recipes
    build/<recipe>/ship.json, shipped.tflite the target the bundles ship, and why
    dist/<recipe>/android/, dist/<recipe>/ios/, dist/<recipe>-android.zip, dist/<recipe>-ios.zip
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = "build"
DIST_DIR = "dist"


@dataclass(frozen=True)
class RecipeLayout:
    root: Path
    name: str

    @functools.cached_property
    def dir(self) -> Path:  # (cached: planning asks it some 1,500 times)
        return self.root / BUILD_DIR / self.name

    @property
    def data(self) -> Path:
        return self.dir / "data.npz"

    @property
    def preprocess(self) -> Path:
        """The preprocessing as the app must repeat it, with fitted statistics resolved to numbers."""
        return self.dir / "preprocess.json"

    @property
    def source_dir(self) -> Path:
        return self.dir / "source"

    @property
    def source_keras(self) -> Path:
        return self.source_dir / "model.keras"

    def source_keras_as(self, suffix: str) -> Path:
        """A copied .h5 keeps its suffix: Keras picks the format by it."""
        return self.source_dir / f"model{suffix}"

    @property
    def source_saved_model(self) -> Path:
        return self.source_dir / "saved_model"

    @property
    def source_export(self) -> Path:
        """A Keras source traced once into a SavedModel: every conversion of the recipe starts from it."""
        return self.source_dir / "export"

    @property
    def source_info(self) -> Path:
        """What the source step learned about the model: format, shapes, parameter count."""
        return self.source_dir / "source.json"

    @property
    def reference(self) -> Path:
        return self.dir / "reference.json"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    def target_dir(self, target: str) -> Path:
        return self.dir / target

    def model(self, target: str) -> Path:
        return self.target_dir(target) / "model.tflite"

    def calibrated(self, target: str) -> Path:
        """An int8 target's float model with the ranges calibration measured: the debugger's input."""
        return self.target_dir(target) / "calibrated.tflite"

    def report_array(self, target: str, name: str) -> Path:
        """A measured array the report draws (a segmenter's sample masks), kept out of metrics.json."""
        return self.target_dir(target) / f"{name}.npy"

    def metrics(self, target: str) -> Path:
        return self.target_dir(target) / "metrics.json"

    def verdict(self, target: str) -> Path:
        return self.target_dir(target) / "verdict.json"

    def inspection(self, target: str) -> Path:
        return self.target_dir(target) / "inspect.json"

    def quant_debug(self, target: str) -> Path:
        return self.target_dir(target) / "quant_debug.json"

    def litert_recipe(self, target: str) -> Path:
        """The LiteRT Quantizer's recipe a litert_quantizer target was quantized with."""
        return self.target_dir(target) / "litert_recipe.json"

    def validation(self, target: str) -> Path:
        """The LiteRT Quantizer's validate() of a litert_quantizer target against the float model."""
        return self.target_dir(target) / "validation.json"

    def mixed(self, target: str) -> Path:
        """A keep_float target's ops kept in float, its search, and the list that pins the result."""
        return self.target_dir(target) / "mixed.json"

    @property
    def ship_info(self) -> Path:
        """Which target ships, why, and what the bundles say about it."""
        return self.dir / "ship.json"

    @property
    def shipped_model(self) -> Path:
        """A copy of the shipped target's model: bundles depend on it, not on every target."""
        return self.dir / "shipped.tflite"

    @property
    def golden(self) -> Path:
        """The golden vectors every bundle's tests carry, with the tolerances measured across LiteRT's kernels."""
        return self.dir / "golden.json"

    def bundle_dir(self, platform: str) -> Path:
        return self.root / DIST_DIR / self.name / platform

    def bundle_zip(self, platform: str) -> Path:
        return self.root / DIST_DIR / f"{self.name}-{platform}.zip"

    @property
    def report_html(self) -> Path:
        return self.dir / "report.html"

    @property
    def report_md(self) -> Path:
        return self.dir / "report.md"

    @property
    def charts_dir(self) -> Path:
        """SVG charts beside report.md (report.html has them inline)."""
        return self.dir / "charts"

    def log(self, step: str) -> Path:
        """Captured tool output (TensorFlow's, a training script's) of one step."""
        return self.dir / "logs" / f"{step.replace('/', '-')}.log"


def index_reports(root: Path) -> tuple[Path, Path]:
    return root / BUILD_DIR / "report.html", root / BUILD_DIR / "report.md"


def write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would make artifacts private to their builder
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def temporary_path(path: Path) -> Path:
    """A fresh name beside `path` with the same suffix, for tools that insist on writing files themselves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)
