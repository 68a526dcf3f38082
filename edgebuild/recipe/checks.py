"""Checks that span fields or touch the file system: one source, files that exist, paths that stay
inside the project, targets that make sense together."""
from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

from ..kinds import COMMON_THRESHOLDS, KINDS, kind_of
from ..processing import is_placeholder
from ..runtimes import LITERT_LEVELS
from ..tflite.flatbuffer import SourceFacts, source_facts
from .messages import show_value
from .schema import (
    CALIBRATED,
    CONVERTER_ONLY,
    FILE_SOURCES,
    IMAGE_SOURCES,
    QUANTIZER_ONLY,
    SOUND_SOURCES,
    DatasetSource,
    Normalize,
    Preprocess,
    Quantization,
    RecipeSpec,
)
from .yamlfile import Loc

RESERVED_TARGET_NAMES = {"source", "charts", "logs"}


def read_source_facts(spec: RecipeSpec, root: Path) -> tuple[SourceFacts | None, list[tuple[Loc, str]]]:
    """A .tflite source's tensors and standard metadata (tflite/flatbuffer.py: no NumPy), or None."""
    rel = spec.model.tflite
    if rel is None or not rel.endswith(".tflite") or not (root / rel).is_file():
        return None, []
    try:
        return source_facts((root / rel).read_bytes()), []
    except (OSError, ValueError, IndexError, struct.error) as exc:
        return None, [(("model", "tflite"), f"{rel} cannot be read as a TFLite model: {exc}")]


def labels(spec: RecipeSpec, root: Path, facts: SourceFacts | None = None) -> tuple[list[str], list[tuple[Loc, str]]]:
    if spec.labels is None:
        if facts is not None and facts.labels:  # the model's own, packed in its metadata, in its order, as they
            return list(facts.labels), []       # are (ImageNet's map names two classes 'crane', two 'maillot')
        if kind_of(spec).labels_required:
            packed = " (its metadata packs no label file)" if facts is not None else ""
            return [], [(("labels",), f"required for task {spec.task.value}; expected the class names in output "
                                      f"order: a list, or a file with one label per line{packed}")]
        return [], []
    if isinstance(spec.labels, str):
        path = root / spec.labels
        if not path.is_file():
            return [], [(("labels",), f"labels file {spec.labels} not found; expected a file with one label per line")]
        labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        labels = [str(label) for label in spec.labels]
    if not labels:
        return [], [(("labels",), "expected at least one label")]
    duplicates = sorted({label for label in labels if labels.count(label) > 1 and not is_placeholder(label)})
    if duplicates:
        return labels, [(("labels",), f"expected unique labels; repeated: {', '.join(duplicates)} (only "
                                      "placeholders without a letter or digit, such as '???', may repeat)")]
    return labels, []


def quantized_source_problems(spec: RecipeSpec, facts: SourceFacts | None) -> list[tuple[Loc, str]]:
    """An already quantized .tflite source is built as it is: every other mode would quantize it again."""
    what = facts.quantized() if facts is not None else None
    if what is None:
        return []
    return [(("targets", i, "quantization"), f"{target.name}: {spec.model.tflite} is already quantized ({what}); "
                                             f"a quantized .tflite source takes quantization: none (the model as it is)")
            for i, target in enumerate(spec.targets) if target.quantization != Quantization.none]


def preprocessing(spec: RecipeSpec, facts: SourceFacts | None) -> tuple[Preprocess, str | None, list[tuple[Loc, str]]]:
    """The preprocessing the build applies, a note when the recipe's differs from the model's metadata, and
    problems. A uint8 model is fed the raw values as the integers it takes (an image model the pixels, as
    MediaPipe and apps feed it): the normalization whose quantization gives back exactly those. Otherwise a
    model's NormalizationOptions apply when the recipe gives neither scale nor normalize."""
    given = spec.preprocess
    if facts is None or not facts.inputs:
        return given, None, []
    tensor = facts.inputs[0]
    if tensor.dtype == "uint8" and tensor.scale:
        problems = [(("preprocess", name), f"{spec.model.tflite} takes uint8 input, fed the raw values as they are "
                                           f"(as MediaPipe and apps feed a uint8 image model); leave {name} out")
                    for name in ("scale", "normalize") if getattr(given, name) is not None]
        raw = Normalize(mean=float(tensor.zero_point or 0), std=1.0 / tensor.scale)
        return given.model_copy(update={"normalize": raw}), None, problems
    if facts.normalization is None:
        return given, None, []
    mean, std = facts.normalization
    if given.scale is None and given.normalize is None:
        normalize = Normalize(mean=mean[0] if len(mean) == 1 else mean, std=std[0] if len(std) == 1 else std)
        return given.model_copy(update={"normalize": normalize}), None, []
    theirs = f"{spec.model.tflite}'s metadata says mean {_shown(mean)}, std {_shown(std)}: the recipe's is used"
    if given.normalize == "fit":
        return given, f"preprocess.normalize: fit, where {theirs}", []
    scale = given.scale or 1.0  # the recipe's ((raw * scale) - m) / d is (raw - m / scale) / (d / scale)
    own_mean = [v / scale for v in _values(given.normalize.mean if given.normalize else 0.0)]
    own_std = [v / scale for v in _values(given.normalize.std if given.normalize else 1.0)]
    if _close(own_mean, mean) and _close(own_std, std):
        return given, None, []
    return given, f"preprocess gives raw values mean {_shown(own_mean)}, std {_shown(own_std)}, where {theirs}", []


def _values(value) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def _close(ours: list[float], theirs: list[float]) -> bool:
    """The same values within float32 rounding, one value standing for every channel."""
    count = max(len(ours), len(theirs))
    if {len(ours), len(theirs)} - {1, count}:
        return False
    pairs = ((ours[i % len(ours)], theirs[i % len(theirs)]) for i in range(count))
    return all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in pairs)


def _shown(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def cross_check(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    return [*_check_model(spec, root), *_check_dataset(spec, root), *_check_targets(spec, root),
            *_check_task_thresholds(spec), *_check_micro_thresholds(spec), *_check_detection(spec, root),
            *_check_runtimes(spec)]


def _check_runtimes(spec: RecipeSpec) -> list[tuple[Loc, str]]:
    """A LiteRT version edgebuild can check the shipped model's ops against (runtimes.LITERT_LEVELS)."""
    version = spec.bundles.android.runtime
    if version in LITERT_LEVELS:
        return []
    return [(("bundles", "android", "runtime"), f"expected a LiteRT version whose ops edgebuild knows "
                                                f"({', '.join(LITERT_LEVELS)}); got {show_value(version)}")]


def _check_detection(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    """The detection block belongs to detection recipes; their targets keep float outputs."""
    problems, detection = [], spec.detection
    if spec.task.value != "detection":
        if detection is not None:
            problems.append((("detection",), f"applies to task: detection only (this recipe's task is "
                                             f"{spec.task.value})"))
        return problems
    if detection is not None and detection.anchors is not None:
        if not detection.anchors.endswith(".npy"):
            problems.append((("detection", "anchors"), f"expected a .npy file of [N, 4] anchors; got "
                                                       f"{detection.anchors!r}"))
        elif not (root / detection.anchors).is_file():
            problems.append((("detection", "anchors"), f"file {detection.anchors} not found"))
    for i, target in enumerate(spec.targets):
        if target.io == "int8":
            problems.append((("targets", i, "io"), "MediaPipe's ObjectDetector refuses int8 tensors; expected io: "
                                                   "uint8 (uint8 input; a detector's outputs stay float32)"))
        if backend(spec, target) == "litert_quantizer" and target.quantization in CALIBRATED:
            problems.append((("targets", i, "quantization"), f"the LiteRT Quantizer's {target.quantization.value} "
                             f"quantizes a detector's four outputs too (MediaPipe refuses int8 outputs); expected "
                             f"weight_only_int8 or dynamic_int8, or a Keras source for int8 with io: uint8"))
    return problems


def _check_task_thresholds(spec: RecipeSpec) -> list[tuple[Loc, str]]:
    """A threshold of another task (min_accuracy on a regression recipe) is an error naming both."""
    kind, problems = kind_of(spec), []
    allowed = set(kind.thresholds) | set(COMMON_THRESHOLDS)
    owners = {name: other.name for other in KINDS.values() for name in other.thresholds}
    places = [(("thresholds",), spec.thresholds)]
    places += [(("targets", i, "thresholds"), t.thresholds) for i, t in enumerate(spec.targets) if t.thresholds]
    for loc, thresholds in places:
        for name in sorted(thresholds.model_fields_set):
            if name not in allowed and getattr(thresholds, name) is not None:
                problems.append(((*loc, name), f"a {owners[name]} threshold; this recipe's task is {kind.name}, whose "
                                               f"thresholds are {', '.join(kind.thresholds)} (and {', '.join(COMMON_THRESHOLDS[:2])})"))
    return problems


MICRO_THRESHOLDS = ("max_arena_kb", "max_flash_kb")


MISSING_MODULE = "{what} needs {package}, which is not installed here: pip install {install}"
SOURCES = ("keras", "saved_model", "script", "tflite", "pytorch")
# torch first, pinned: a plain `torch` requirement makes pip take a CUDA build of several GB
TORCH_INSTALL = "torch==2.13.0 'edgebuild[torch]' (torch first: the CPU build)"


def is_pytorch(spec: RecipeSpec) -> bool:
    """A PyTorch program, given or saved by the recipe's script."""
    return spec.model.pytorch is not None or (spec.model.script is not None and spec.model.saves == "pytorch")


def missing_module(module: str) -> bool:
    """True when `module` cannot be imported here; found without importing it (validation stays light)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def _check_micro_thresholds(spec: RecipeSpec) -> list[tuple[Loc, str]]:
    """The TensorFlow Lite Micro thresholds measure what the micro bundle ships: without it, nothing measures them."""
    if spec.bundles.micro.enabled:
        if missing_module("tflite_micro"):  # (the micro bundle's TFLM runs in a child, which only failed there)
            return [(("bundles", "micro", "enabled"), MISSING_MODULE.format(
                what="the micro bundle", package="tflite-micro (TensorFlow Lite Micro's interpreter; PyPI has wheels "
                "for Linux x86_64 only)", install="'tflite-micro==0.dev20261023182759'"))]
        return []
    places = [(("thresholds",), spec.thresholds)]
    places += [(("targets", i, "thresholds"), t.thresholds) for i, t in enumerate(spec.targets) if t.thresholds]
    return [((*loc, name), "a TensorFlow Lite Micro threshold; expected bundles: {micro: {enabled: true}} with it")
            for loc, thresholds in places for name in MICRO_THRESHOLDS if getattr(thresholds, name) is not None]


def _check_model(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    model, problems = spec.model, []
    given = [field for field in SOURCES if getattr(model, field) is not None]
    if len(given) != 1:
        got = "none" if not given else " and ".join(given)
        return [(("model",), f"expected exactly one of {', '.join(SOURCES)}; got {got}")]
    source = given[0]
    if source != "script":
        for field in ("args", "inputs", "isolated"):
            if getattr(model, field):
                problems.append((("model", field), f"only a script takes {field}; this model comes from {source}"))
        if model.saves != "keras":
            problems.append((("model", "saves"), f"only a script takes saves; this model comes from {source}"))
    if model.pytorch is not None:
        if not model.pytorch.endswith(".pt2"):
            problems.append((("model", "pytorch"), f"expected a program saved with torch.export.save (.pt2); "
                                                   f"got {show_value(model.pytorch)}"))
        elif not (root / model.pytorch).is_file():
            problems.append((("model", "pytorch"), f"file {model.pytorch} not found"))
    if is_pytorch(spec):
        missing = [package for package, module in (("torch", "torch"), ("litert-torch", "litert_torch"))
                   if missing_module(module)]
        if missing:
            problems.append((("model", source), MISSING_MODULE.format(
                what="a PyTorch source", package=" and ".join(missing), install=TORCH_INSTALL)))
        if spec.detection is not None:
            problems.append((("model", source), "a PyTorch detector is not supported: its raw box outputs would "
                                                "need TFLite's detection post-processing traced in, which litert-torch "
                                                "does not do; export the detector from Keras, or as a .tflite"))
    if model.keras is not None:
        if not model.keras.endswith((".keras", ".h5")):
            problems.append((("model", "keras"), f"expected a .keras or .h5 file; got {show_value(model.keras)}"))
        elif not (root / model.keras).is_file():
            problems.append((("model", "keras"), f"file {model.keras} not found"))
    if model.saved_model is not None and not (root / model.saved_model / "saved_model.pb").is_file():
        problems.append((("model", "saved_model"),
                         f"{model.saved_model} is not a SavedModel directory; expected it to hold saved_model.pb"))
    if model.tflite is not None:
        if not model.tflite.endswith(".tflite"):
            problems.append((("model", "tflite"), f"expected a .tflite file; got {show_value(model.tflite)}"))
        elif not (root / model.tflite).is_file():
            problems.append((("model", "tflite"), f"file {model.tflite} not found"))
    if model.script is not None and not (root / model.script).is_file():
        problems.append((("model", "script"), f"file {model.script} not found"))
    for i, extra in enumerate(model.inputs):
        if not (root / extra).exists():
            problems.append((("model", "inputs", i), f"file {extra} not found"))
    return problems


def _check_dataset(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    data, problems = spec.dataset, []
    task = spec.task.value
    if data.source == DatasetSource.mask_folder and task != "segmentation":
        problems.append((("dataset", "source"), f"mask_folder holds segmentation masks; expected task: segmentation "
                                                f"(this recipe's task is {task})"))
    elif task == "segmentation" and data.source not in (DatasetSource.mask_folder, DatasetSource.npz):
        problems.append((("dataset", "source"), f"a segmentation recipe takes mask_folder (or npz with masks as y); "
                                                f"got {data.source.value}"))
    if (data.source == DatasetSource.coco) != (task == "detection"):
        problems.append((("dataset", "source"), f"coco holds boxes to detect; expected task: detection (this recipe's "
                                                f"task is {task})" if data.source == DatasetSource.coco else
                         f"a detection recipe takes coco (a COCO annotations file); got {data.source.value}"))
    if data.test_path is not None:
        if data.source != DatasetSource.coco:
            problems.append((("dataset", "test_path"), f"applies to source coco only; got {data.source.value}"))
        elif not (root / data.test_path).is_file():
            problems.append((("dataset", "test_path"), f"file {data.test_path} not found"))
    if data.source == DatasetSource.sklearn_diabetes and task != "regression":
        problems.append((("dataset", "source"), f"sklearn_diabetes's y is a disease progression score to predict; "
                                                f"expected task: regression (this recipe's task is {task})"))
    if data.source in FILE_SOURCES:
        if data.path is None:
            kind = {DatasetSource.npz: "an .npz file", DatasetSource.image_folder: "a folder of class sub-folders",
                    DatasetSource.audio_folder: "a folder of class sub-folders of WAV or FLAC clips",
                    DatasetSource.mask_folder: "a folder with images/ and masks/",
                    DatasetSource.coco: "a COCO annotations file (.json)"}[data.source]
            problems.append((("dataset", "path"), f"required for source {data.source.value}; expected {kind}"))
        elif data.source == DatasetSource.npz:
            problems.extend(_check_npz(spec, root))
        elif data.source == DatasetSource.coco:
            if not (root / data.path).is_file():
                problems.append((("dataset", "path"), f"file {data.path} not found"))
        elif not (root / data.path).is_dir():
            problems.append((("dataset", "path"), f"folder {data.path} not found"))
        elif data.source == DatasetSource.mask_folder:
            missing = [sub for sub in ("images", "masks") if not (root / data.path / sub).is_dir()]
            if missing:
                problems.append((("dataset", "path"), f"{data.path} has no {' or '.join(f'{m}/' for m in missing)}; "
                                                      "expected images/ (pictures) and masks/ (PNG masks, same stems)"))
    elif data.path is not None:
        problems.append((("dataset", "path"), f"source {data.source.value} takes no path"))
    if "color_mode" in data.model_fields_set and data.source not in (
            DatasetSource.image_folder, DatasetSource.mask_folder, DatasetSource.coco, DatasetSource.npz):
        problems.append((("dataset", "color_mode"), "applies to sources image_folder, mask_folder, coco and npz (whose "
                                                    "x then holds pictures) only"))
    for name in ("sample_rate", "clip_seconds"):
        if getattr(data, name) is not None and data.source != DatasetSource.audio_folder:
            problems.append((("dataset", name), f"applies to source audio_folder only; got {data.source.value}"))
    if data.source == DatasetSource.audio_folder:
        if task not in ("classification", "regression"):
            problems.append((("dataset", "source"), f"audio clips are classified (or scored); expected task: "
                                                    f"classification (this recipe's task is {task})"))
        for name in ("resize", "scale", "normalize"):
            if getattr(spec.preprocess, name) is not None:
                problems.append((("preprocess", name), "a sound model takes the waveform as it is, float samples in "
                                                       "-1..1, as MediaPipe's AudioClassifier feeds them; leave "
                                                       "preprocess out and compute features in the model"))
    elif spec.preprocess.resize is not None and data.source not in IMAGE_SOURCES:
        problems.append((("preprocess", "resize"), f"applies to image datasets only; {data.source.value} is tabular"))
    norm = spec.preprocess.normalize
    if norm is not None and norm != "fit":
        mean, std = (v if isinstance(v, list) else [v] for v in (norm.mean, norm.std))
        if len(mean) != len(std):
            problems.append((("preprocess", "normalize"),
                             f"expected as many std values as mean values; got {len(std)} and {len(mean)}"))
        if any(s == 0 for s in std):
            problems.append((("preprocess", "normalize", "std"), "expected non-zero values"))
    return problems


def _npz_keys(path: Path) -> set[str] | None:
    """The arrays in an .npz, read from its zip directory so validation never imports numpy."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy") for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile):
        return None


def _check_npz(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    rel = spec.dataset.path
    if not (root / rel).is_file():
        return [(("dataset", "path"), f"file {rel} not found")]
    keys = _npz_keys(root / rel)
    if keys is None:
        return [(("dataset", "path"), f"{rel} is not an .npz file")]
    problems = []
    missing = [k for k in ("x_test", "y_test") if k not in keys]
    if missing:
        problems.append((("dataset", "path"), f"{rel} has no {' or '.join(missing)}; expected x_test and y_test arrays"))
    has_train = {"x_train", "y_train"} <= keys
    if spec.model.script is not None and not has_train:
        problems.append((("model", "script"), f"a training script needs x_train and y_train; {rel} has none"))
    for i, target in enumerate(spec.targets):
        if target.quantization in CALIBRATED and "x_train" not in keys:
            problems.append((("targets", i, "quantization"), f"{target.quantization.value} needs calibration data; "
                             f"expected x_train in {rel}"))
    return problems


def _check_targets(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    problems, seen = [], set()
    names = [t.name for t in spec.targets]
    if spec.ship is not None and spec.ship not in names:
        problems.append((("ship",), f"expected one of the target names ({', '.join(names)}); got {show_value(spec.ship)}"))
    elif spec.ship is not None and any(t.baseline for t in spec.targets if t.name == spec.ship):
        shippable = [t.name for t in spec.targets if not t.baseline]
        problems.append((("ship",), f"expected a target that is not a baseline ({', '.join(shippable) or 'none'}); "
                                    f"{spec.ship} has baseline: true, which is never shipped"))
    if spec.templates is not None and not (root / spec.templates).is_dir():
        problems.append((("templates",), f"folder {spec.templates} not found"))
    for i, target in enumerate(spec.targets):
        if target.name in seen:
            problems.append((("targets", i, "name"), f"expected a unique target name; '{target.name}' is used twice"))
        if target.name in RESERVED_TARGET_NAMES:
            problems.append((("targets", i, "name"), f"'{target.name}' is reserved for build/<recipe>/{target.name}/"))
        seen.add(target.name)
        if target.io is not None and target.quantization != Quantization.int8:
            problems.append((("targets", i, "io"), "applies to int8 targets only"))
        if target.calibration_samples is not None and target.quantization not in CALIBRATED:
            problems.append((("targets", i, "calibration_samples"), "applies to int8 and int16x8 targets only"))
        problems += _check_backend(spec, root, i, target)
        if target.keep_float is not None and target.quantization != Quantization.int8:
            problems.append((("targets", i, "keep_float"), "applies to int8 targets only"))
        if isinstance(target.keep_float, list):
            for j, pattern in enumerate(target.keep_float):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append((("targets", i, "keep_float", j), f"expected a regular expression; {exc}"))
        if target.io in ("int8", "uint8") and spec.dataset.source in SOUND_SOURCES:
            problems.append((("targets", i, "io"), "a sound model's input is the waveform, float samples as "
                                                   "MediaPipe's AudioClassifier feeds them; leave io out (float32)"))
        if target.max_float_layers is not None and target.keep_float != "auto":
            problems.append((("targets", i, "max_float_layers"), "applies with keep_float: auto only"))
    return problems


def backend(spec: RecipeSpec, target) -> str:
    """The backend a target uses: its own, else the LiteRT Quantizer for a tflite source or a mode only it
    has, else the TFLiteConverter."""
    if target.backend is not None:
        return target.backend
    if target.quantization == Quantization.none:  # a .tflite as it is; any other source as float32
        return "none" if spec.model.tflite is not None or is_pytorch(spec) else "converter"
    if is_pytorch(spec) or spec.model.tflite is not None:  # float32: litert-torch's model, or a float .tflite,
        return "none" if target.quantization == Quantization.float32 else "litert_quantizer"  # as it is
    if target.quantization in QUANTIZER_ONLY:
        return "litert_quantizer"
    return "converter"


QUANTIZER_LIMITS = ("min_output_snr_db", "min_output_cosine")


def _check_backend(spec: RecipeSpec, root: Path, i: int, target) -> list[tuple[Loc, str]]:
    problems, used = [], backend(spec, target)
    if target.quantization == Quantization.none and target.backend is not None and \
            (spec.model.tflite is not None or target.backend == "litert_quantizer"):
        problems.append((("targets", i, "backend"), "quantization: none quantizes nothing; leave backend out"))
        return problems
    if used == "converter" and target.quantization in QUANTIZER_ONLY:
        problems.append((("targets", i, "backend"), f"{target.quantization.value} needs the LiteRT Quantizer; "
                                                    f"expected backend: litert_quantizer (or none)"))
    if is_pytorch(spec):
        if target.quantization == Quantization.float16:
            problems.append((("targets", i, "quantization"), "float16 is not available for a PyTorch source: "
                             "litert-torch converts to float32 only, and the LiteRT Quantizer's float16 casting "
                             "left this kind of model's weights in float32; expected float32, weight_only_int8/int4, "
                             "dynamic_int8/int4, int8, int16x8 or custom"))
            return problems
        if used == "converter":
            problems.append((("targets", i, "backend"), "a PyTorch source is converted by litert-torch and quantized "
                                                        "by the LiteRT Quantizer only; expected backend: litert_quantizer "
                                                        "(or leave it out)"))
    if used == "converter" and spec.model.tflite is not None:
        problems.append((("targets", i, "backend"), "a tflite source is quantized by the LiteRT Quantizer only; "
                                                    "expected backend: litert_quantizer (or none)"))
    if used == "litert_quantizer":
        if target.quantization in CONVERTER_ONLY:
            problems.append((("targets", i, "quantization"), f"{target.quantization.value} is the TFLiteConverter's "
                             f"only; the LiteRT Quantizer has weight_only_int8/int4, dynamic_int8/int4, int8, int16x8, custom"))
        if target.io is not None:
            problems.append((("targets", i, "io"), "the LiteRT Quantizer decides the input and output types (int8 "
                                                   "for int8, float32 for the others); leave io out"))
    if (target.quantization == Quantization.custom) != (target.litert_recipe is not None):
        field = "litert_recipe" if target.litert_recipe is not None else "quantization"
        problems.append((("targets", i, field), "quantization: custom and litert_recipe go together"))
    elif target.litert_recipe is not None and not (root / target.litert_recipe).is_file():
        problems.append((("targets", i, "litert_recipe"), f"file {target.litert_recipe} not found"))
    limits = dict(spec.thresholds.model_dump(exclude_none=True))
    if target.thresholds is not None:
        for name in target.thresholds.model_fields_set:
            if getattr(target.thresholds, name) is None:
                limits.pop(name, None)
            else:
                limits[name] = getattr(target.thresholds, name)
    if used == "converter":
        for name in QUANTIZER_LIMITS:
            if name in limits:
                problems.append((("targets", i, "thresholds", name), "measured by the LiteRT Quantizer's validate() "
                                 "only; set it on litert_quantizer targets (or null it for this one)"))
    return problems
