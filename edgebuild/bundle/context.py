"""What every platform's templates are told about the shipped model: tensors, preprocessing, labels,
golden vectors, pinned runtimes, and the metadata JSON (nothing measured on this machine)."""
from __future__ import annotations

from .. import progress, runtimes
from ..errors import StepError
from ..kinds.classification import TOP_K
from ..layout import RecipeLayout, read_json
from ..recipe import Recipe
from ..tflite.runner import TFLiteRunner
from ..tflite import gpu_delegate
from ..tflite import metadata as tflite_metadata
from . import model_metadata
from ..recipe.app_names import camel


def _tensor(details: dict, runner: TFLiteRunner) -> dict:
    """One tensor as the templates see it: its shape for one sample (runner.shape_of)."""
    import numpy as np

    dtype = np.dtype(details["dtype"]).name
    scale, zero_point = details["quantization"]
    shape = runner.shape_of(details)
    return {"name": details["name"], "shape": shape, "size": int(np.prod(shape)), "dtype": dtype,
            "quantized": dtype in ("int8", "uint8", "int16"), "scale": float(scale), "zero_point": int(zero_point)}


WRAPPED_DTYPES = ("float32", "int8", "uint8")  # what the Kotlin and Swift wrappers feed and read


def _check_wrappable(recipe: Recipe, target: str, platform: str, runner, input_tensor: dict, output_tensor: dict):
    """A bundle whose wrapper could not run the model fails its step, instead of shipping broken code."""
    counts = (len(runner.interpreter.get_input_details()), len(runner.interpreter.get_output_details()))
    outputs = recipe.kind.shipped_outputs
    if counts != (1, outputs):
        raise StepError(f"{recipe.where(target)}: bundle/{platform}: the wrappers take one input and {outputs} "
                        f"output{'s' if outputs > 1 else ''}; this model has {counts[0]} and {counts[1]}")
    for role, tensor in (("input", input_tensor), ("output", output_tensor)):
        if tensor["dtype"] not in WRAPPED_DTYPES:
            raise StepError(f"{recipe.where(target)}: bundle/{platform}: {role} tensor is {tensor['dtype']}; the "
                            f"wrappers feed and read {', '.join(WRAPPED_DTYPES)} (set the target's io: to one of them)")


def context(recipe: Recipe, layout: RecipeLayout, platform: str, platform_settings: dict) -> dict:
    """Everything the templates of every platform use."""
    ship = read_json(layout.ship_info)
    shipped = next(t for t in ship["targets"] if t["name"] == ship["target"])
    preprocess = read_json(layout.preprocess)
    roles = recipe.kind.output_roles(layout.shipped_model.read_bytes())  # a model of several outputs
    with progress.tool_output(layout.log(f"bundle/{platform}")):  # LiteRT announces its delegate on stderr
        runner = TFLiteRunner(layout.shipped_model)
    golden = read_json(layout.golden)
    input_tensor, output_tensor = _tensor(runner.input, runner), _tensor(runner.output, runner)
    labels = recipe.kind.output_names(recipe, output_tensor["size"])  # a regression's values are named too
    _check_wrappable(recipe, ship["target"], platform, runner, input_tensor, output_tensor)
    image = model_metadata.picture(recipe, input_tensor["shape"])  # then Bitmap / CGImage input too
    audio = sound(recipe)  # then 16-bit PCM, an AVAudioPCMBuffer or a WAV file too
    raw_range = preprocess.get("raw_range")  # a picture's 0..255, or the data's own units (digits: 0..16)
    model_file = f"{recipe.name}.tflite"
    name = camel(recipe.name)
    standard = standard_metadata(layout.shipped_model.read_bytes(), input_tensor)
    return {
        "recipe": recipe.name, "description": recipe.spec.description or recipe.name, "hash": ship["recipe_hash"],
        "name": name, "class_name": f"{name}{'Audio' if audio else ''}{recipe.kind.wrapper}",
        "processing_name": f"{name}Processing", "audio": audio,
        "task": recipe.spec.task.value, "verb": recipe.kind.verb,
        "model_file": model_file, "labels": labels, "input": input_tensor, "output": output_tensor,
        "outputs": [_tensor(d, runner) for d in runner.outputs], "roles": roles,
        "preprocess": preprocess, "image": image, "ship": ship, "shipped": shipped, "golden": golden["vectors"],
        "raw_range": raw_range, "pixels_fit": raw_range is None or (raw_range[0] >= 0 and 128 <= raw_range[1] <= 255),
        "golden_file": golden, "golden_tolerance": golden.get("tolerance", {}),
        "top_k": TOP_K, "runtimes": {**_pins(ship), "android_min_sdk": runtimes.ANDROID_MIN_SDK},
        "metadata": metadata(recipe, ship, shipped, input_tensor, output_tensor, preprocess, image, model_file, labels,
                             audio),
        "standard_metadata": standard, "shipped_path": str(layout.shipped_model),
        "log_path": str(layout.log(f"bundle/{platform}")), "where": recipe.where(ship["target"]),
        "gpu": gpu_delegate.readiness(layout.shipped_model.read_bytes()),
        "measured_outputs": lambda outputs: recipe.kind.measured_outputs(outputs, roles),  # (as the golden step compares)
        **recipe.kind.bundle_values(output_tensor),
        **platform_settings,
    }


def sound(recipe: Recipe) -> dict | None:
    """A sound recipe's clips as the model takes them: the rate, the samples per clip, and their seconds."""
    from .. import modalities

    if modalities.of(recipe) != modalities.SOUND:
        return None
    from ..modalities.sound import rate_and_samples

    rate, samples = rate_and_samples(recipe.spec.dataset)
    return {"sample_rate": rate, "samples": samples, "seconds": samples / rate}


def _pins(ship: dict) -> dict:
    """The runtime versions the bundles pin, and the oldest the shipped model runs on (the ship step's check)."""
    return {k: ship["runtimes"][k] for k in ("litert_android", "tflite_swift", "needs", "needed_by")}


def standard_metadata(model: bytes, input_tensor: dict) -> dict | None:
    """What the model's own standard metadata tells runtimes, for the READMEs: whether its input is an
    image, its normalization, and whether MediaPipe's ImageClassifier can feed it (float32 input, or
    uint8 input that takes the pixels as they are: MediaPipe does not normalize a uint8 input)."""
    found = tflite_metadata.read(model)
    if found is None:
        return None
    (tensor,) = found["subgraphs"][0]["inputs"]
    norm = tensor.get("normalization", {"mean": [0.0], "std": [1.0]})
    image = tensor.get("content") == "ImageProperties"
    as_is = all(abs(m) < 1e-6 for m in norm["mean"]) and all(abs(v - 1) < 1e-6 for v in norm["std"])
    return {"image": image, "color": tensor.get("color_space"), "mean": norm["mean"], "std": norm["std"],
            "labels": found["labels"] is not None,
            "mediapipe": image and (input_tensor["dtype"] == "float32" or (input_tensor["dtype"] == "uint8" and as_is))}


def metadata(recipe, ship, shipped, input_tensor, output_tensor, preprocess, image, model_file, labels,
             audio=None) -> dict:
    return {
        "recipe": recipe.name, "recipe_hash": ship["recipe_hash"], "description": recipe.spec.description,
        **({} if recipe.spec.task.value == "classification" else {"task": recipe.spec.task.value}),  # (as before tasks)
        "model": model_file, "target": ship["target"], "quantization": shipped["quantization"],
        "input": input_tensor, "output": output_tensor,
        "preprocess": {**preprocess, "order": ["resize", "scale", "normalize"],
                       "image": image, **({"audio": audio} if audio else {})},
        "labels": labels,
        "measured": {k: shipped[k] for k in (*recipe.kind.shown, "size_bytes", "n_test")},
        f"reference_{recipe.kind.primary}": ship[f"reference_{recipe.kind.primary}"],
        "runtimes": {**_pins(ship), "evaluated_with": {k: ship["versions"].get(k) for k in ("ai-edge-litert", "tensorflow")}},
    }
