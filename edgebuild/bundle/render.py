"""What every bundle shares: the model's facts, golden vectors, language-safe literals, and
deterministic output (a folder swapped in whole, a manifest, a zip with fixed stamps).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .. import progress
from ..datasets import load_prepared
from ..errors import StepError
from ..evaluate import TFLiteRunner
from ..layout import RecipeLayout, read_json, write_bytes
from ..recipe import Recipe
from ..resources import jinja_environment
from ..schema import IMAGE_SOURCES, DatasetSource
from . import runtimes

TOP_K = 3
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def camel(name: str) -> str:
    """`digits-dense` -> `DigitsDense` (a type name in Kotlin and Swift)."""
    text = "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-") if part)
    return text if text[:1].isalpha() else f"Model{text}"


# --- literals that compile, whatever the label -------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(value: str, escapes: dict[str, str], non_ascii) -> str:
    """A double-quoted literal: printable ASCII as is, `escapes` for the rest, `non_ascii` beyond ASCII."""
    out = []
    for ch in str(value):
        if ch in escapes:
            out.append(escapes[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(non_ascii(ch))
    return '"' + "".join(out) + '"'


def _utf16_escapes(ch: str) -> str:
    """Kotlin's \\uXXXX escapes are UTF-16 code units: a character beyond the BMP takes two."""
    data = ch.encode("utf-16-be")
    return "".join(f"\\u{data[i]:02x}{data[i + 1]:02x}" for i in range(0, len(data), 2))


def kotlin_string(value: str) -> str:
    """A Kotlin string literal: quotes, backslashes, `$` templates, newlines and non-ASCII escaped."""
    return _literal(value, {**_ESCAPES, "$": "\\$"}, _utf16_escapes)


def swift_string(value: str) -> str:
    """A Swift string literal: quotes, backslashes (so no interpolation), newlines, non-ASCII escaped."""
    return _literal(value, _ESCAPES, lambda ch: f"\\u{{{ord(ch):x}}}")


def comment_text(value: str) -> str:
    """Text safe inside /* */ and // comments of Kotlin and Swift: one line, no comment terminator."""
    return " ".join(str(value).split()).replace("*/", "* /").replace("/*", "/ *")


def float_literal(value: float) -> str:
    """The shortest text that reads back as the same float32 (with an `f` suffix added by templates)."""
    import numpy as np

    return repr(float(np.float32(value)))


def environment(recipe: Recipe, platform: str):
    """Jinja for one platform's templates: code, so nothing is HTML-escaped; literals go through filters."""
    return jinja_environment(recipe, platform, kt=kotlin_string, swift=swift_string, comment=comment_text,
                             f32=float_literal, json=lambda v: json.dumps(v, ensure_ascii=False))


# --- what the bundle says about the model -----------------------------------------------------

def _tensor(details: dict) -> dict:
    import numpy as np

    dtype = np.dtype(details["dtype"]).name
    scale, zero_point = details["quantization"]
    shape = [int(s) for s in details["shape"][1:]]
    return {"name": details["name"], "shape": shape, "size": int(np.prod(shape)), "dtype": dtype,
            "quantized": dtype in ("int8", "uint8", "int16"), "scale": float(scale), "zero_point": int(zero_point)}


def _color(recipe: Recipe) -> str | None:
    source = recipe.spec.dataset.source
    if source not in IMAGE_SOURCES:
        return None
    if source == DatasetSource.image_folder:
        return recipe.spec.dataset.color_mode
    return "grayscale"


def golden_vectors(runner: TFLiteRunner, raw, preprocess: dict, labels: list[str]) -> list[dict]:
    """Test inputs with what the LiteRT interpreter gave for them, for the apps' own tests."""
    import numpy as np

    from ..datasets import apply_preprocess

    vectors = []
    for sample in raw:
        features = apply_preprocess(sample[None], {**preprocess, "resize": None})
        model_input = runner.quantize(features)
        raw_output = runner.invoke(model_input)
        scores = class_scores(runner.dequantize(raw_output)[0], len(labels))
        order = np.argsort(-scores, kind="stable")[:TOP_K]
        vectors.append({
            "raw": [float(v) for v in sample.reshape(-1)],
            "input_hex": model_input.tobytes().hex(),
            "output_hex": raw_output.tobytes().hex(),
            "scores": [float(s) for s in scores],
            "top": [{"label": labels[i], "score": float(scores[i])} for i in order],
        })
    return vectors


def class_scores(output, n_labels: int):
    """One score per label: the output itself, or [1 - p, p] for a single sigmoid unit."""
    import numpy as np

    output = np.asarray(output, np.float32).reshape(-1)
    if output.size == 1 and n_labels == 2:
        return np.asarray([np.float32(1) - output[0], output[0]], np.float32)
    return output


def context(recipe: Recipe, layout: RecipeLayout, platform_settings: dict) -> dict:
    """Everything the templates of every platform use."""
    ship = read_json(layout.ship_info)
    shipped = next(t for t in ship["targets"] if t["name"] == ship["target"])
    preprocess = read_json(layout.preprocess)
    labels = list(recipe.labels)
    with progress.tool_output(layout.log("bundle")):  # LiteRT announces its delegate on stderr
        runner = TFLiteRunner(layout.shipped_model)
        golden = golden_vectors(runner, load_prepared(layout, "golden_raw").golden_raw, preprocess, labels)
    input_tensor, output_tensor = _tensor(runner.input), _tensor(runner.output)
    color, shape = _color(recipe), input_tensor["shape"]
    channels = shape[2] if len(shape) == 3 else 1
    image = None  # unless the model takes one image of the recorded colour: then Bitmap / CGImage input too
    if color is not None and len(shape) in (2, 3) and (color == "grayscale" or channels == 3):
        image = {"height": shape[0], "width": shape[1], "channels": channels, "color": color}
    model_file = f"{recipe.name}.tflite"
    name = camel(recipe.name)
    return {
        "recipe": recipe.name, "description": recipe.spec.description or recipe.name, "hash": ship["recipe_hash"],
        "name": name, "class_name": f"{name}Classifier", "processing_name": f"{name}Processing",
        "model_file": model_file, "labels": labels, "input": input_tensor, "output": output_tensor,
        "preprocess": preprocess, "image": image, "ship": ship, "shipped": shipped, "golden": golden,
        "top_k": TOP_K, "runtimes": {"litert_android": runtimes.LITERT_ANDROID, "tflite_swift": runtimes.TFLITE_SWIFT,
                                     "android_min_sdk": runtimes.ANDROID_MIN_SDK},
        "metadata": metadata(recipe, ship, shipped, input_tensor, output_tensor, preprocess, image, model_file),
        **platform_settings,
    }


def metadata(recipe, ship, shipped, input_tensor, output_tensor, preprocess, image, model_file) -> dict:
    return {
        "recipe": recipe.name, "recipe_hash": ship["recipe_hash"], "description": recipe.spec.description,
        "model": model_file, "target": ship["target"], "quantization": shipped["quantization"],
        "input": input_tensor, "output": output_tensor,
        "preprocess": {**preprocess, "order": ["resize", "scale", "normalize"],
                       "image": image},
        "labels": list(recipe.labels),
        "measured": {k: shipped[k] for k in ("accuracy", "accuracy_drop", "size_bytes", "latency_ms_median",
                                              "latency_ms_p90", "n_test")},
        "reference_accuracy": ship["reference_accuracy"],
        "runtimes": {"litert_android": runtimes.LITERT_ANDROID, "tflite_swift": runtimes.TFLITE_SWIFT,
                     "evaluated_with": {k: ship["versions"].get(k) for k in ("ai-edge-litert", "tensorflow")}},
    }


# --- writing: whole folders, manifests, zips ----------------------------------------------------

def write_tree(files: dict[str, bytes], folder: Path, archive: Path) -> None:
    """Put `files` (relative path -> bytes) and a manifest in `folder`, swapping in the whole folder,
    and the same as a zip whose bytes depend on nothing but the files."""
    manifest = {"files": [{"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                          for path, data in sorted(files.items())]}
    files = {**files, "manifest.json": (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.chmod(target, 0o644)
        for directory in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            os.chmod(directory, 0o755)
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(staging, folder)
            shutil.rmtree(old)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    buffer = io.BytesIO()
    prefix = archive.stem
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(files):
            entry = zipfile.ZipInfo(f"{prefix}/{path}", date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(entry, files[path])
    write_bytes(archive, buffer.getvalue())


def remove_bundle(folder: Path, archive: Path) -> None:
    """No target ships: no bundle, not even a stale one from an earlier build."""
    shutil.rmtree(folder, ignore_errors=True)
    archive.unlink(missing_ok=True)
    if folder.parent.is_dir() and not any(folder.parent.iterdir()):
        folder.parent.rmdir()


def check_shippable(recipe: Recipe, layout: RecipeLayout) -> bool:
    if not layout.ship_info.exists():
        raise StepError(f"{recipe.where()}: bundle: {layout.ship_info} is missing; run the ship step first")
    return read_json(layout.ship_info)["target"] is not None
