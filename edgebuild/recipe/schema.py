"""The recipe schema: every field a recipe may have, defined once.

Pydantic checks each field's type and range; checks that need more than one field,
or the file system, live in `checks.py` so they can name the exact field at fault.
`edgebuild schema` prints the JSON Schema generated from these models.
"""
from __future__ import annotations

from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..runtimes import LITERT_ANDROID, LITERT_LEVELS, TFLITE_SWIFT

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
TARGET_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
MAX_NAME = 64  # names become folders, Kotlin packages and Swift types


MAX_PATH_PART, MAX_PATH = 255, 1024  # bytes: a file name and a whole path every file system here takes


def _inside_project(value: str) -> str:
    """A recipe only names files inside its project: the build reads them, and never writes outside
    build/ and dist/. A path no file system takes (a part over 255 bytes) made every later look at it
    raise 'File name too long', so it is refused here, once."""
    parts = PurePosixPath(value).parts
    if not value.strip() or "\0" in value or value.startswith(("/", "~")) or ".." in parts \
            or PureWindowsPath(value).drive or "\\" in value:
        raise ValueError("expected a path inside the project folder, relative and without '..'")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):  # (a line break would also break the one-line messages)
        raise ValueError("expected a path without control characters (line breaks, tabs)")
    longest = max((len(part.encode("utf-8", "surrogatepass")) for part in parts), default=0)
    if longest > MAX_PATH_PART or len(value.encode("utf-8", "surrogatepass")) > MAX_PATH:
        raise ValueError(f"expected a path of at most {MAX_PATH} bytes, each file or folder name at most "
                         f"{MAX_PATH_PART}; got {len(value)} characters")
    return value


ProjectPath = Annotated[str, AfterValidator(_inside_project)]


class Quantization(str, Enum):
    """How a target is converted (QUANTIZATION_MODES says what each does)."""

    none = "none"
    float32 = "float32"
    float16 = "float16"
    dynamic_int8 = "dynamic_int8"
    int8 = "int8"
    int16x8 = "int16x8"
    weight_only_int8 = "weight_only_int8"
    weight_only_int4 = "weight_only_int4"
    dynamic_int4 = "dynamic_int4"
    custom = "custom"


QUANTIZATION_MODES = {
    "none": "the source as it is: a .tflite source unchanged (the only mode for an already quantized one), any "
            "other source converted as float32",
    "float32": "no quantization: the model as it is, in float32 (the largest and most exact)",
    "float16": "weights stored as float16 (half the size), computed in float32; the TFLiteConverter's only",
    "dynamic_int8": "weights int8, activations quantized on the fly per invoke (about a quarter of the size; a "
                    "'hybrid' model, which accelerator delegates run in float or not at all)",
    "int8": "weights and activations int8, calibrated on training samples (calibration_samples); io: sets the "
            "input and output types; what microcontrollers and NPUs run",
    "int16x8": "activations int16, weights int8, calibrated: closer to float than int8, float io",
    "weight_only_int8": "weights int8, dequantized to float32 at load; the LiteRT Quantizer's only",
    "weight_only_int4": "weights int4 (two per byte), dequantized at load; the LiteRT Quantizer's only",
    "dynamic_int4": "weights int4, activations quantized on the fly; the LiteRT Quantizer's only",
    "custom": "the LiteRT Quantizer's own JSON recipe (litert_recipe): a scheme per layer",
}
CALIBRATED = (Quantization.int8, Quantization.int16x8)
# Modes only the LiteRT Quantizer has, and those only the TFLiteConverter has (see quantizer.py for the rest).
QUANTIZER_ONLY = (Quantization.weight_only_int8, Quantization.weight_only_int4, Quantization.dynamic_int4,
                  Quantization.custom)
CONVERTER_ONLY = (Quantization.float16,)


class Task(str, Enum):
    """What the model predicts; each is a module of `edgebuild.kinds`."""

    classification = "classification"
    regression = "regression"
    segmentation = "segmentation"
    detection = "detection"


class DatasetSource(str, Enum):
    sklearn_digits = "sklearn_digits"
    sklearn_breast_cancer = "sklearn_breast_cancer"
    sklearn_iris = "sklearn_iris"
    sklearn_wine = "sklearn_wine"
    sklearn_diabetes = "sklearn_diabetes"
    npz = "npz"
    image_folder = "image_folder"
    mask_folder = "mask_folder"
    coco = "coco"
    keras_mnist = "keras_mnist"
    keras_fashion_mnist = "keras_fashion_mnist"
    audio_folder = "audio_folder"


IMAGE_SOURCES = (DatasetSource.sklearn_digits, DatasetSource.image_folder, DatasetSource.mask_folder,
                 DatasetSource.coco, DatasetSource.keras_mnist, DatasetSource.keras_fashion_mnist)
FILE_SOURCES = (DatasetSource.npz, DatasetSource.image_folder, DatasetSource.mask_folder, DatasetSource.coco,
                DatasetSource.audio_folder)
SOUND_SOURCES = (DatasetSource.audio_folder,)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelSpec(Strict):
    """Where the unconverted model comes from: exactly one of keras, saved_model, script, tflite, pytorch."""

    keras: Optional[ProjectPath] = Field(None, description="A Keras model file (.keras or .h5), relative to the project root.")
    tflite: Optional[ProjectPath] = Field(
        None, description="A .tflite model (a published one, say): a float one is quantized by the LiteRT Quantizer; "
        "an already quantized one is built as it is (quantization: none). Labels, normalization and the model's "
        "name, author and license are taken from its standard metadata where the recipe leaves them out.")
    saved_model: Optional[ProjectPath] = Field(None, description="A TensorFlow SavedModel directory, relative to the project root.")
    pytorch: Optional[ProjectPath] = Field(
        None, description="A PyTorch program saved with torch.export.save (.pt2), converted by litert-torch (the "
        "`torch` extra). An image model taking NCHW pictures is converted to take NHWC ones, as the recipe's pictures "
        "are; its targets are quantized by the LiteRT Quantizer, and its reference metrics come from torch itself.")
    script: Optional[ProjectPath] = Field(
        None,
        description="A training script the build runs as `python SCRIPT --out PATH [args...]`; it must save a Keras "
        "model to PATH (or, with `saves: pytorch`, a torch.export program). It finds the prepared dataset (.npz with "
        "x_train, y_train, x_test, y_test) at $EDGEBUILD_DATA.")
    saves: Literal["keras", "pytorch"] = Field(
        "keras", description="script only: what the script saves to PATH: a Keras model (PATH ends in .keras), or a "
        "PyTorch program saved with torch.export.save (PATH ends in .pt2), then built as a `pytorch:` source.")
    args: list[str] = Field(default_factory=list, description="Extra arguments for the script.")
    inputs: list[ProjectPath] = Field(default_factory=list, description="Further files the script reads: a change to any retrains.")
    isolated: bool = Field(
        False, description="Run the script in its own Python process. By default it runs as __main__ inside the build "
        "(with its own argv, working directory and environment), sharing the build's TensorFlow import (about 2 s).")

    def identity(self) -> dict:
        """The fields as data, those added with PyTorch sources left out while unused: what the source step and
        the bundles' model hash record, so that a recipe written before them keeps its models and bundles."""
        return self.model_dump(mode="json", exclude={name for name, unused in (("pytorch", self.pytorch is None),
                                                                               ("saves", self.saves == "keras")) if unused})


class DatasetSpec(Strict):
    source: DatasetSource = Field(description="Where the data comes from.")
    path: Optional[ProjectPath] = Field(
        None, description="npz: a file with x_test, y_test (and x_train, y_train for calibration or training); "
        "image_folder: a directory with one sub-folder of PNG/JPEG files per class; mask_folder: a directory with "
        "images/ (PNG/JPEG pictures) and masks/ (8-bit PNG masks of the same stems: a class index per pixel, 255 "
        "for 'ignore'); coco: a COCO annotations file (.json) whose images' file_name are relative to its folder; "
        "audio_folder: a directory with one sub-folder of WAV or FLAC clips per class.")
    test_path: Optional[ProjectPath] = Field(
        None, description="coco only: a second COCO annotations file holding the test split (then test_fraction and "
        "seed are not used).")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="Share held out for testing, for sources without their own split.")
    seed: int = Field(0, ge=0, lt=2**32, description="Seed of the train/test shuffle.")
    sample_rate: Optional[int] = Field(
        None, gt=0, le=384000, description="audio_folder: the rate every clip is resampled to, in Hz, and the rate the "
        "shipped model states (default 16000).")
    clip_seconds: Optional[float] = Field(
        None, gt=0, le=600, description="audio_folder: each clip's length: a longer clip loses its end, a shorter one "
        "is padded with silence at its end (default 1.0).")
    color_mode: Literal["rgb", "grayscale"] = Field(
        "rgb", description="image_folder, mask_folder and coco: how images are read; npz: given, it says x holds pictures "
        "([n, height, width, 3] or [n, height, width, 1]) of this colour, which the shipped model's metadata records.")


    def identity(self) -> dict:
        """The fields as data, the sound fields left out while unused (as ModelSpec.identity)."""
        return self.model_dump(mode="json", exclude={name for name in ("sample_rate", "clip_seconds")
                                                     if getattr(self, name) is None})


class Normalize(Strict):
    mean: Union[float, list[float]] = Field(description="Subtracted after scaling: one value, or one per channel/feature.")
    std: Union[float, list[float]] = Field(description="Divided by after subtracting the mean: one value, or one per channel/feature.")


class Preprocess(Strict):
    """Applied in the order resize, scale, normalize, and recorded so the app can repeat it."""

    resize: Optional[tuple[Annotated[int, Field(gt=0, le=4096)], Annotated[int, Field(gt=0, le=4096)]]] = Field(
        None, description="[height, width]: bilinear for pictures, nearest for segmentation masks; image datasets only.")
    scale: Optional[float] = Field(None, description="Multiply every value by this.")
    normalize: Optional[Union[Normalize, Literal["fit"]]] = Field(
        None, description="(x - mean) / std, after scale; `fit` takes each feature's mean and std from the training "
        "split (recorded in build/<recipe>/preprocess.json for the app).")


class Thresholds(Strict):
    """Acceptance limits; a missing one is not checked."""

    min_accuracy: Optional[float] = Field(
        None, ge=0, le=1, description="classification: lowest accepted accuracy (fraction 0..1).")
    max_accuracy_drop: Optional[float] = Field(
        None, ge=0, le=1, description="classification: largest accepted drop: the unconverted model's accuracy minus "
        "the target's.")
    max_size_kb: Optional[float] = Field(None, gt=0, description="Largest accepted .tflite size in KB (1 KB = 1000 bytes).")
    max_latency_ms: Optional[float] = Field(None, gt=0, description="Slowest accepted median single-sample invoke, in ms.")
    max_arena_kb: Optional[float] = Field(
        None, gt=0, description="bundles.micro: largest accepted TensorFlow Lite Micro tensor arena in KB, as the bundle "
        "states it (measured in tflite-micro's interpreter, plus its margin).")
    max_flash_kb: Optional[float] = Field(
        None, gt=0, description="bundles.micro: largest accepted flash for the model's bytes, in KB.")
    max_gpu_fallback_ops: Optional[int] = Field(
        None, ge=0, description="Most ops accepted to fall back from LiteRT's GPU delegate to the CPU: those its rules "
        "refuse and those outside the one run of ops it takes. Advisory: read from the model against the delegate's "
        "rules (LiteRT's gpu_compatibility.cc), not run on a GPU.")
    max_mae: Optional[float] = Field(None, ge=0, description="regression: largest accepted mean absolute error.")
    max_rmse: Optional[float] = Field(None, ge=0, description="regression: largest accepted root mean squared error.")
    max_mae_increase: Optional[float] = Field(
        None, ge=0, description="regression: largest accepted MAE increase: the target's MAE minus the unconverted model's.")
    min_miou: Optional[float] = Field(
        None, ge=0, le=1, description="segmentation: lowest accepted mean IoU over the classes (fraction 0..1).")
    max_miou_drop: Optional[float] = Field(
        None, ge=0, le=1, description="segmentation: largest accepted drop: the unconverted model's mIoU minus the target's.")
    min_pixel_accuracy: Optional[float] = Field(
        None, ge=0, le=1, description="segmentation: lowest accepted share of pixels (not ignored) classified right.")
    min_map: Optional[float] = Field(
        None, ge=0, le=1, description="detection: lowest accepted COCO mAP@[.5:.95] on the test split (pycocotools).")
    min_map50: Optional[float] = Field(None, ge=0, le=1, description="detection: lowest accepted COCO AP at IoU 0.5.")
    max_map_drop: Optional[float] = Field(
        None, ge=0, le=1, description="detection: largest accepted drop: the unconverted model's mAP minus the target's.")
    max_map50_drop: Optional[float] = Field(
        None, ge=0, le=1, description="detection: largest accepted drop of AP at IoU 0.5.")
    min_output_snr_db: Optional[float] = Field(
        None, description="litert_quantizer targets: lowest accepted signal-to-noise ratio (dB) of the model's output "
        "against the float model's, from the quantizer's validate() on test samples.")
    min_output_cosine: Optional[float] = Field(
        None, ge=-1, le=1, description="litert_quantizer targets: lowest accepted cosine similarity of the model's "
        "output to the float model's, from the quantizer's validate().")


class TargetSpec(Strict):
    name: str = Field(pattern=TARGET_PATTERN, max_length=MAX_NAME,
                      description="Unique within the recipe; names build/<recipe>/<name>/.")
    quantization: Quantization = Field(description="How to convert. " + "; ".join(
        f"{mode}: {what}" for mode, what in QUANTIZATION_MODES.items()) + ".")
    io: Optional[Literal["float32", "int8", "uint8"]] = Field(
        None, description="int8 only: the type of the model's input and output tensors (default float32).")
    backend: Optional[Literal["converter", "litert_quantizer"]] = Field(
        None, description="What quantizes: TensorFlow's TFLiteConverter (the default for Keras and SavedModel sources) "
        "or the LiteRT Quantizer (the only one for tflite sources, int4 and custom; a Keras or SavedModel source is "
        "then converted to float32 once, and quantized from that).")
    litert_recipe: Optional[ProjectPath] = Field(
        None, description="quantization: custom only: the LiteRT Quantizer's own JSON recipe (per-layer schemes).")
    calibration_samples: Optional[int] = Field(
        None, gt=0, le=1_000_000, description="int8 / int16x8: training samples fed to the converter's calibration (default 100).")
    thresholds: Optional[Thresholds] = Field(None, description="Overrides of the recipe-wide thresholds; null turns one off.")
    keep_float: Optional[Union[Literal["auto", "front_end"],
                               Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]],
                                         Field(max_length=1000)]]] = Field(
        None, description="int8 only: ops to keep in float. A list of regular expressions matched against the ops' "
        "output names (a pattern matching nothing is an error; [] keeps none), `auto`: find the fewest ops to keep in "
        "float so that the target's primary thresholds (accuracy, MAE or mIoU) and size pass "
        "(build/<recipe>/<target>/mixed.json records the search and the list that pins its result), or `front_end`: "
        "a sound model's ops from the waveform through its spectrogram, found from the graph (the default for an "
        "audio_folder recipe's int8 targets).")
    baseline: bool = Field(
        False, description="Measured and reported like any other target, but never gated and never shipped: a "
        "float32 reference beside the targets that ship, say.")
    max_float_layers: Optional[int] = Field(
        None, gt=0, le=10_000, description="keep_float: auto only: the most ops it may keep in float (default: no "
        "limit, but it stops where the model is as large as float16 would be).")


class DetectionSpec(Strict):
    """How a detector's raw outputs become detections: TensorFlow Lite's TFLite_Detection_PostProcess op,
    which the conversion appends (the SSD box coder, then non-maximum suppression)."""

    anchors: Optional[ProjectPath] = Field(
        None, description="A .npy file of [N, 4] anchors, each (y centre, x centre, height, width) in 0..1, in the "
        "order of the model's N box encodings. Not needed when the model already ends in TFLite_Detection_PostProcess.")
    scales: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)],
                  Annotated[float, Field(gt=0)]] = Field(
        (10.0, 10.0, 5.0, 5.0), description="The box coder's scales (y, x, height, width), as the model was trained with.")
    max_detections: int = Field(10, gt=0, le=1000, description="The most detections per picture.")
    score_threshold: float = Field(
        1e-8, ge=0, lt=1, description="Detections scoring below this are dropped (the app may filter further).")
    iou_threshold: float = Field(0.6, gt=0, le=1, description="Non-maximum suppression drops a box overlapping a "
                                 "better one by more than this IoU.")
    max_classes_per_detection: int = Field(1, gt=0, le=100, description="Classes reported per detected box.")


class AndroidBundle(Strict):
    enabled: bool = Field(True, description="Build dist/<recipe>/android/.")
    runtime: str = Field(
        LITERT_ANDROID, pattern=r"^\d+\.\d+\.\d+$", max_length=20,
        description="The LiteRT version the app uses (com.google.ai.edge.litert:litert): the bundle pins it, and the "
        "ship step fails when the shipped model has an op that version cannot run. One of: "
        + ", ".join(LITERT_LEVELS) + ".")
    package: Optional[str] = Field(None, max_length=200, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$",
                                   description="Kotlin package of the wrapper. Default: com.example.<recipe_name>.")


class IosBundle(Strict):
    enabled: bool = Field(True, description="Build dist/<recipe>/ios/.")
    runtime: str = Field(
        TFLITE_SWIFT, pattern=r"^\d+\.\d+\.\d+$", max_length=20,
        description="The TensorFlowLiteSwift pod version the app uses: the bundle pins it, and the ship step fails "
        "when the shipped model has an op that version cannot run.")
    module: Optional[str] = Field(None, max_length=MAX_NAME, pattern=r"^[A-Z][A-Za-z0-9]*$",
                                  description="Swift module and type prefix. Default: the recipe name in CamelCase.")


class MicroBundle(Strict):
    enabled: bool = Field(False, description="Build dist/<recipe>/micro/: the shipped model as C++ for TensorFlow Lite "
                          "Micro, with its op resolver, measured arena and an example; the ship step fails when TFLM "
                          "lacks one of its ops.")


class LinuxBundle(Strict):
    enabled: bool = Field(True, description="Build dist/<recipe>/linux/: a Python package for a Linux board (Raspberry "
                          "Pi, Jetson): the shipped model as package data, predict(), a command line, pytest golden "
                          "tests, and a pyproject.toml pinning the ai-edge-litert version that measured the model.")
    package: Optional[str] = Field(None, max_length=MAX_NAME, pattern=r"^[a-z_][a-z0-9_]*$",
                                   description="Python import name of the package. Default: the recipe name with "
                                   "'-' as '_' (prefixed with model_ when it starts with a digit, suffixed with _model "
                                   "when it is a standard library module's name).")


class Bundles(Strict):
    android: AndroidBundle = Field(default_factory=AndroidBundle)
    ios: IosBundle = Field(default_factory=IosBundle)
    micro: MicroBundle = Field(default_factory=MicroBundle)
    linux: LinuxBundle = Field(default_factory=LinuxBundle)


class RecipeSpec(Strict):
    name: Optional[str] = Field(None, pattern=NAME_PATTERN, max_length=MAX_NAME,
                                description="Default: the file name's stem with '_' as '-'. Lowercase letters, digits, '-'.")
    description: str = Field("", description="One line for reports and bundles.")
    version: Optional[str] = Field(None, max_length=100,
                                   description="The model's version, written into the shipped model's metadata.")
    author: Optional[str] = Field(None, max_length=200, description="Written into the shipped model's metadata.")
    license: Optional[str] = Field(None, max_length=500, description="Written into the shipped model's metadata.")
    task: Task = Field(Task.classification, description="What the model predicts: classification (class scores), "
                       "regression (float values), segmentation (class scores per pixel) or detection (boxes).")
    model: ModelSpec
    dataset: DatasetSpec
    preprocess: Preprocess = Field(default_factory=Preprocess)
    labels: Optional[Union[list[str], ProjectPath]] = Field(
        None, description="Class names in output order, or a file with one label per line. Required for "
        "classification, segmentation and detection, unless a .tflite source packs them in its metadata; for "
        "regression, optional names of the k outputs. A label that repeats and has no letter or digit (COCO's "
        "'???') is a placeholder: it keeps its position and no dataset category may name it.")
    detection: Optional[DetectionSpec] = Field(
        None, description="task: detection: the anchors and the post-processing that turns box encodings and scores "
        "into detections.")
    targets: list[TargetSpec] = Field(min_length=1, description="The .tflite variants to build.")
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Recipe-wide acceptance limits.")
    ship: Optional[str] = Field(
        None, description="The target the bundles ship. Default: by ship_by among the targets that passed every "
        "threshold and are not baselines, leaving out hybrid (dynamic-range) targets while another passed.")
    ship_by: Literal["size", "latency"] = Field(
        "size", description="How the default ship choice picks: the smallest .tflite, or the lowest median latency "
        "measured on the build machine.")
    bundles: Bundles = Field(default_factory=Bundles, description="The app bundles built from the shipped target.")
    latency: Literal["anywhere", "local"] = Field(
        "anywhere", description="On a Dask build (--dask), `local` measures this recipe's latency on the machine that "
        "runs edgebuild, not on a worker (metrics.json records the host and CPU either way).")
    templates: Optional[ProjectPath] = Field(
        None, description="A folder of your own templates (android/, ios/, report/); a file there replaces "
        "edgebuild's file of the same name.")

    @field_validator("labels", mode="before")
    @classmethod
    def _numbers_are_label_text(cls, value):
        """`labels: [0, 1]` means the labels "0" and "1": YAML reads them as numbers."""
        if isinstance(value, list):
            return [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return value


def json_schema() -> dict:
    """The JSON Schema YAML editors use to complete and check recipes."""
    schema = RecipeSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "edgebuild recipe"
    return schema
