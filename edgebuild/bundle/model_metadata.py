"""The standard TFLite metadata the shipped model carries, from the recipe and the build, so that
MediaPipe Tasks, the LiteRT Task Library and Android Studio's ML Model Binding read the model as it
is: what the input is (an image of a colour space, or a feature vector), how raw values become the
input tensor's values, and the labels of the output.

NormalizationOptions says the input tensor holds (raw - mean) / std, per channel (or feature), with
raw values in the data's own units (an image's pixels 0..255, scikit-learn's digits 0..16). The
recipe applies scale, then normalize: ((raw * scale) - m) / d, which is (raw - m / scale) / (d / scale).
For a quantized input the tensor holds q = real / s + z, which is (raw - (mean - z * std * s)) / (std * s),
so the options give the integers the model takes. (MediaPipe feeds a uint8 model the pixels as they
are, so such a model reads right there only when that works out to mean 0 and std 1.)
"""
from __future__ import annotations

from dataclasses import replace

from .. import progress
from ..errors import StepError
from ..layout import RecipeLayout, read_json
from ..recipe import Recipe
from ..recipe.schema import IMAGE_SOURCES, DatasetSource, Quantization
from ..steps.datasets import load_prepared
from ..tflite.inspection import TensorInfo, inspect_model
from ..tflite.metadata import LABELS_FILE, InputFacts, ModelFacts, mismatches, signatures, with_metadata

QUANTIZED_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def color(recipe: Recipe) -> str | None:
    """"rgb" or "grayscale" for an image dataset (an npz whose recipe gives its color_mode), else None."""
    source, dataset = recipe.spec.dataset.source, recipe.spec.dataset
    if source == DatasetSource.npz and "color_mode" in dataset.model_fields_set:
        return dataset.color_mode
    if source not in IMAGE_SOURCES:
        return None
    if source in (DatasetSource.image_folder, DatasetSource.mask_folder, DatasetSource.coco):
        return dataset.color_mode
    return "grayscale"


def picture(recipe: Recipe, shape) -> dict | None:
    """The picture a model of this input shape (without the batch) takes, when it takes one image of the
    recipe's colour: its height, width, channels and colour. Then the wrappers take a Bitmap / CGImage too."""
    mode, shape = color(recipe), [int(s) for s in shape]
    channels = shape[2] if len(shape) == 3 else 1
    if mode is None or len(shape) not in (2, 3) or (mode == "rgb" and channels != 3) or (mode == "grayscale" and channels != 1):
        return None
    return {"height": shape[0], "width": shape[1], "channels": channels, "color": mode}


def config(recipe: Recipe) -> dict:
    """The parts of the recipe the metadata says (the ship step's config)."""
    spec = recipe.spec
    found = {"name": recipe.name, "description": spec.description, "version": spec.version, "author": spec.author,
             "license": spec.license, "labels": list(recipe.labels), "color": color(recipe)}
    source = recipe.source_facts
    if source is not None and source.has_metadata:  # what survives from a .tflite source's own metadata
        found["source"] = {"name": source.name, "description": source.description, "version": source.version,
                           "author": source.author, "license": source.license,
                           "normalization": source.normalization and [list(v) for v in source.normalization]}
    return found


def _image_kind(recipe: Recipe, tensor: TensorInfo, per_axis: int) -> str | None:
    """The colour space when the input is one image MediaPipe can feed ([1, H, W, C], C = 1 or 3)."""
    kind = color(recipe)
    if kind is None or len(tensor.shape) != 4 or per_axis not in (1, tensor.shape[-1]):
        return None
    channels = tensor.shape[-1]
    return kind if (kind == "rgb" and channels == 3) or (kind == "grayscale" and channels == 1) else None


def input_facts(recipe: Recipe, layout: RecipeLayout, tensor: TensorInfo) -> InputFacts:
    import numpy as np

    preprocess = read_json(layout.preprocess)
    scale = float(preprocess["scale"]) if preprocess["scale"] is not None else 1.0
    if preprocess["mean"] is not None:
        mean = np.atleast_1d(np.asarray(preprocess["mean"], np.float64)) / scale
        std = np.atleast_1d(np.asarray(preprocess["std"], np.float64)) / scale
    else:
        mean, std = np.zeros(1), np.full(1, 1.0 / scale)
    prepared = load_prepared(layout, "x_train", "x_test")  # (a published model's recipe may have test data only)
    x_train = prepared.x_train if prepared.x_train is not None and len(prepared.x_train) else prepared.x_test
    values = x_train.reshape(-1, x_train.shape[-1]) if len(mean) > 1 else x_train.reshape(-1, 1)
    low, high = values.min(axis=0).astype(np.float64), values.max(axis=0).astype(np.float64)
    if tensor.scales:  # quantized input: the integers the model takes
        s, z = tensor.scales[0], tensor.zero_points[0]
        mean, std = mean - z * std * s, std * s
        lowest, highest = QUANTIZED_RANGES.get(tensor.dtype, (-np.inf, np.inf))
        low, high = np.clip(np.round(low / s + z), lowest, highest), np.clip(np.round(high / s + z), lowest, highest)
    from .. import modalities

    if modalities.of(recipe) == modalities.SOUND:
        return _sound_facts(recipe, tensor)
    image = _image_kind(recipe, tensor, len(mean))
    what = (f"{'An RGB' if image == 'rgb' else 'A grayscale'} image, {tensor.shape[1]}x{tensor.shape[2]}"
            if image else f"{int(np.prod(tensor.shape[1:]))} features")
    quantized = (f", quantized with scale {tensor.scales[0]:.9g} and zero point {tensor.zero_points[0]}"
                 if tensor.scales else "")
    return InputFacts(
        name=tensor.name, image=image,
        description=f"{what}, {tensor.dtype}{quantized}. The tensor holds (raw - mean) / std of the raw values "
                    f"in the data's own units{_units(preprocess.get('raw_range'))}: the recipe's preprocessing.",
        mean=[float(v) for v in mean], std=[float(v) for v in std],
        minimum=[float(v) for v in low], maximum=[float(v) for v in high])


def _sound_facts(recipe: Recipe, tensor: TensorInfo) -> InputFacts:
    """A waveform input: AudioProperties (the recipe's rate, one channel), the samples taken as they are."""
    from ..modalities.sound import rate_and_samples

    rate, samples = rate_and_samples(recipe.spec.dataset)
    return InputFacts(
        name=tensor.name, image=None, audio=(rate, 1),
        description=f"A mono waveform: {samples} samples at {rate} Hz ({samples / rate:g} s), {tensor.dtype} in "
                    f"-1..1, as recorded (the build cuts each clip at its end, or pads it with silence at its end, "
                    f"to this length).",
        mean=[0.0], std=[1.0], minimum=[-1.0], maximum=[1.0])


def _units(raw_range) -> str:
    return f" ({raw_range[0]:g} to {raw_range[1]:g} in the training data)" if raw_range else ""


def model_facts(recipe: Recipe, layout: RecipeLayout, target: str, model=None) -> ModelFacts:
    """`model`: the target's inspect_model(), when the caller has it already. A .tflite source's own metadata
    survives: its name, and its description, version, author and license where the recipe gives none; a
    target that is the source as it is (quantization: none) keeps the source's normalization too."""
    model = model or inspect_model(layout.model(target))
    (tensor_in,) = model.inputs
    outputs, labels, summary = recipe.kind.outputs_metadata(recipe, model, LABELS_FILE)
    spec, source = recipe.spec, recipe.source_facts
    if source is None or not source.has_metadata:
        source = None
    inputs = input_facts(recipe, layout, tensor_in)
    if source is not None and source.normalization is not None and \
            recipe.target(target).quantization == Quantization.none:
        inputs = replace(inputs, mean=list(source.normalization[0]), std=list(source.normalization[1]))

    def said(field: str):
        return getattr(spec, field) or (getattr(source, field) if source is not None else None)
    return ModelFacts(
        name=(source.name if source is not None and source.name else recipe.name),
        description=said("description") or f"{recipe.name}: {summary}",
        version=said("version"), author=said("author"), license=said("license"),
        input=inputs, outputs=outputs, labels=labels)


def shipped_bytes(recipe: Recipe, layout: RecipeLayout, target: str) -> bytes:
    """The target's model with standard metadata, read back and checked against what was meant:
    a mismatch (or a lost signature) fails the step with one line, and nothing is written."""
    model = layout.model(target).read_bytes()
    inspected = inspect_model(layout.model(target))
    if len(inspected.inputs) != 1 or len(inspected.outputs) != recipe.kind.shipped_outputs:
        progress.say(f"no standard metadata: it is written for models with one input and "
                     f"{recipe.kind.shipped_outputs} output(s), this one has {len(inspected.inputs)} and "
                     f"{len(inspected.outputs)}")
        return model
    facts = model_facts(recipe, layout, target, inspected)
    shipped = with_metadata(model, facts)
    problems = mismatches(shipped, facts)
    if signatures(shipped) != signatures(model):
        problems.append(f"signatures {signatures(shipped)} after writing, {signatures(model)} before")
    if problems:
        raise StepError(f"{recipe.where(target)}: ship: the metadata read back differs from what was written: "
                        + "; ".join(problems))
    return shipped
