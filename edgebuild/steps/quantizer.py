"""The second backend: Google's LiteRT Quantizer (PyPI litert-quantizer, import litert_quantizer).

It quantizes a float .tflite directly, so it also serves models people download already
converted, and it has modes the TFLiteConverter lacks (int4 weights, per-layer recipes). A Keras
or SavedModel source is converted to float32 once (the `float` step), then quantized per target.

    float (Keras/SavedModel sources only) -> source/float.tflite
    convert/<t>: float model + data -> <t>/model.tflite, <t>/litert_recipe.json (the recipe used),
                 <t>/validation.json (validate(): output SNR and cosine against the float model)

Each built-in mode is one of the quantizer's own recipe functions; `custom` loads the user's
JSON recipe. keep_float adds a `no_quantize` rule per kept op to the recipe (later rules win).
The quantizer runs in the build process: it imports beside TensorFlow 2.21 here without clashing.
"""
from __future__ import annotations

import json
import math
import re

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..layout import RecipeLayout, write_bytes, write_json
from ..recipe import Recipe
from ..recipe.schema import CALIBRATED, Quantization, TargetSpec
from ..tflite.complaints import one_line
from ..tflite.precision import shortfall
from ..tflite.repack import inline_buffers
from . import mixed
from .sources import export_paths, float_model_path, is_pytorch, model_files

RECIPE_FUNCTIONS = {  # edgebuild's mode -> the quantizer's recipe function (litert_quantizer.recipe)
    Quantization.weight_only_int8: "weight_only_wi8_afp32",
    Quantization.weight_only_int4: "weight_only_wi4_afp32",
    Quantization.dynamic_int8: "dynamic_wi8_afp32",
    Quantization.dynamic_int4: "dynamic_wi4_afp32",
    Quantization.int8: "static_wi8_ai8",
    Quantization.int16x8: "static_wi8_ai16",
}
VALIDATION_SAMPLES = 64  # test samples validate() compares the quantized model's outputs on
SIGNATURE = "serving_default"


def uses_quantizer(recipe: Recipe) -> bool:
    return any(recipe.backend(t) == "litert_quantizer" for t in recipe.spec.targets)


float_model = float_model_path


def float_step(recipe: Recipe, layout: RecipeLayout) -> Step | None:
    """float: a Keras or SavedModel source converted to float32 once, for every litert_quantizer target; a
    PyTorch source converted by litert-torch, always (its float32 target is this model)."""
    if recipe.spec.model.tflite or not (uses_quantizer(recipe) or is_pytorch(recipe)):
        return None
    if is_pytorch(recipe):
        return Step("float", "convert to float32 with litert-torch", write_float_model, (recipe, layout),
                    reads=(*model_files(recipe, layout), layout.source_info, layout.data),
                    writes=(float_model(recipe, layout),), config={"quantization": "float32", "by": "litert-torch"},
                    log=layout.log("float"))
    return Step("float", "convert to float32 once, for the LiteRT Quantizer", write_float_model, (recipe, layout),
                reads=(*model_files(recipe, layout), layout.source_info), reads_if_present=export_paths(recipe, layout),
                writes=(float_model(recipe, layout),), config={"quantization": "float32"}, log=layout.log("float"))


def write_float_model(recipe: Recipe, layout: RecipeLayout) -> None:
    from . import reuse
    from .convert import make_converter

    log = layout.log("float")
    log.unlink(missing_ok=True)
    if is_pytorch(recipe):
        write_bytes(float_model(recipe, layout), _from_pytorch(recipe, layout, log))
        return
    with progress.tool_output(log):
        converter = make_converter(recipe, layout, TargetSpec(name="float", quantization=Quantization.float32), log)
        with reuse.loads_spared(converter):
            flatbuffer = converter.convert()
    write_bytes(float_model(recipe, layout), flatbuffer)


def _from_pytorch(recipe: Recipe, layout: RecipeLayout, log) -> bytes:
    """litert-torch's float32 model of the recipe's PyTorch program, taking the prepared pictures' layout."""
    from .datasets import load_prepared
    from .pytorch import convert_float
    from .sources import SourceInfo, program_named, source_model_path

    info = SourceInfo.read(layout)
    sample = load_prepared(layout, "x_test").x_test[0]
    try:
        flatbuffer = convert_float(source_model_path(recipe, layout), sample, info.layout, log)
    except StepError as exc:
        raise StepError(f"{recipe.where()}: {program_named(recipe)}: {exc} (full output: {recipe.shown(log)})") from exc
    problem = shortfall(flatbuffer, "float32", False)
    if problem:
        raise StepError(f"{recipe.where()}: litert-torch {problem} (full output: {recipe.shown(log)})")
    return flatbuffer


def step(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> Step:
    """convert/<t> with the LiteRT Quantizer."""
    custom = (recipe.path(target.litert_recipe),) if target.litert_recipe else ()
    search = (layout.reference,) if target.keep_float == "auto" else ()
    config = {"backend": "litert_quantizer", "quantization": target.quantization.value,
              "calibration_samples": target.calibration_samples, "keep_float": target.keep_float,
              "max_float_layers": target.max_float_layers, "validation_samples": VALIDATION_SAMPLES}
    if target.keep_float == "auto":
        config["search_limits"] = mixed.search_limits(recipe, target)
    if _float_io(recipe, target):
        config["float_io"] = True
    return Step(f"convert/{target.name}", f"quantize to {target.quantization.value} with the LiteRT Quantizer",
                quantize_target, (recipe, layout, target.name),
                reads=(float_model(recipe, layout), layout.data, *custom, *search),
                writes=(layout.model(target.name), layout.litert_recipe(target.name), layout.validation(target.name),
                        *((layout.mixed(target.name),) if target.keep_float is not None else ())),
                config=config, log=layout.log(f"convert/{target.name}"))


def base_recipe(recipe: Recipe, target: TargetSpec) -> list[dict]:
    """The quantizer's recipe for a mode, as JSON data (what litert_recipe.json records)."""
    if target.quantization == Quantization.custom:
        path = recipe.path(target.litert_recipe)
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StepError(f"{recipe.where(target.name)}: litert_recipe: {target.litert_recipe} is not a JSON "
                            f"recipe: {exc}") from exc
        if not isinstance(loaded, list) or not all(isinstance(rule, dict) for rule in loaded):
            raise StepError(f"{recipe.where(target.name)}: litert_recipe: expected a JSON list of rules (the "
                            f"LiteRT Quantizer's recipe format) in {target.litert_recipe}")
        return loaded
    from litert_quantizer import recipe as recipes

    return json.loads(json.dumps(getattr(recipes, RECIPE_FUNCTIONS[target.quantization])()))


# the graph's input and output left float: the quantizer's INPUT and OUTPUT pseudo-ops
FLOAT_IO_RULES = [{"regex": ".*", "operation": io, "algorithm_key": "no_quantize"} for io in ("INPUT", "OUTPUT")]


def _float_io(recipe: Recipe, target: TargetSpec) -> bool:
    """Whether the target's model must keep float32 input and output though its activations are quantized: a
    sound model's (MediaPipe's AudioClassifier feeds float samples), which the quantizer's int8 made int8."""
    from .. import modalities

    return modalities.of(recipe).float_io and target.quantization in CALIBRATED


def keeping_float(rules: list[dict], kept) -> list[dict]:
    """`rules` plus a no_quantize rule per kept op (the quantizer applies the last matching rule). The
    quantizer matches a rule's regex against an op's scope: its output names joined by ";", plus ";"."""
    return [*rules, *({"regex": f"^{re.escape(name)};$", "operation": "*", "algorithm_key": "no_quantize"}
                      for name in kept)]


def with_signature(model: bytes) -> bytes:
    """The quantizer calibrates and validates through a signature; a model without one (many published
    models) gets `serving_default` over its subgraph's inputs and outputs. Models with one are unchanged."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    if root.SignatureDefsLength():
        return model
    tree = schema.ModelT.InitFromObj(root)
    inline_buffers(tree, model)
    graph = tree.subgraphs[0]

    def tensor_map(index):
        entry = schema.TensorMapT()
        entry.name, entry.tensorIndex = graph.tensors[index].name, int(index)
        return entry
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = SIGNATURE, 0
    signature.inputs = [tensor_map(i) for i in graph.inputs]
    signature.outputs = [tensor_map(i) for i in graph.outputs]
    tree.signatureDefs = [signature]
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def with_builtin_codes(model: bytes) -> bytes:
    """`model` with every operator code's `builtin_code` filled in. Models written before TFLite's schema
    version 3a (2020: TF's COCO SSD, DeepLabV3, ...) store the op in `deprecated_builtin_code` only, and the
    schema tells readers to take the larger of the two; the LiteRT Quantizer reads `builtin_code` alone, so
    it took every op of such a model for ADD and quantized nothing (weight-only) or gave CONV_2D weights
    zero points LiteRT refuses (int8). Models that already say it are unchanged."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    codes = [root.OperatorCodes(i) for i in range(root.OperatorCodesLength())]
    if all(code.BuiltinCode() >= code.DeprecatedBuiltinCode() for code in codes):
        return model
    tree = schema.ModelT.InitFromObj(root)
    inline_buffers(tree, model)
    for code in tree.operatorCodes:
        code.builtinCode = max(code.builtinCode, code.deprecatedBuiltinCode)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), b"TFL3")
    return bytes(builder.Output()) + model[_flatbuffer_end(model):]


def _flatbuffer_end(model: bytes) -> int:
    """Where a .tflite's flatbuffer ends: the start of the zip of associated files appended to it, if any."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            offsets = [info.header_offset for info in archive.infolist()]
    except zipfile.BadZipFile:
        return len(model)
    return min(offsets, default=len(model))


def for_quantizer(model: bytes) -> bytes:
    """A float .tflite as the LiteRT Quantizer reads it right: builtin codes filled in, a signature given."""
    return with_signature(with_builtin_codes(model))


def _signature(model: bytes) -> tuple[str, str, bool]:
    """(signature key, its input's name, whether that input has a batch dimension: processing.has_batch)."""
    from ai_edge_litert.interpreter import Interpreter

    from ..processing import has_batch

    interpreter = Interpreter(model_content=model)
    signatures = interpreter.get_signature_list()
    key = SIGNATURE if SIGNATURE in signatures else next(iter(signatures))
    return key, signatures[key]["inputs"][0], has_batch(interpreter.get_input_details()[0]["shape"])


def _fed(name: str, batched: bool, samples) -> list[dict]:
    """The samples as the signature's input takes them: a batch of one, or one [samples] waveform as it is."""
    return [{name: sample[None] if batched else sample} for sample in samples]


def quantize(model: bytes, rules: list[dict], samples, log) -> tuple[bytes, object]:
    """(quantized bytes, the Quantizer) for a float model, calibrating on `samples` when the rules need it."""
    from litert_quantizer import Quantizer

    key, name, batched = _signature(model)
    with progress.tool_output(log):
        quantizer = Quantizer(bytearray(model), rules)
        calibration = None
        if quantizer.need_calibration:
            calibration = quantizer.calibrate({key: _fed(name, batched, samples)}, num_threads=1)
        result = quantizer.quantize(calibration, enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model), quantizer


def validate(quantizer, model: bytes, samples, log) -> dict:
    """The quantizer's validate(): SNR (dB) and cosine similarity of each output against the float model's."""
    from litert_quantizer.utils.validation_utils import ValidationErrorMetric

    key, name, batched = _signature(model)
    with progress.tool_output(log):
        result = quantizer.validate({key: _fed(name, batched, samples)},
                                    error_metrics=[ValidationErrorMetric.SNR, ValidationErrorMetric.COSINE_SIMILARITY],
                                    num_threads=1, validate_output_tensors_only=True)
    outputs = result.get_signature_comparison_result(key).output_tensors
    values = next(iter(outputs.values()))
    # the quantizer's "snr" is the power ratio mean(signal^2) / mean(noise^2); thresholds take decibels
    ratio = float(values["snr"])
    return {"output_snr_db": 10 * math.log10(ratio) if ratio > 0 else float("-inf"),
            "output_cosine": float(values["cosine_similarity"]), "samples": len(samples), "signature": key,
            "outputs": outputs}


def quantize_target(recipe: Recipe, layout: RecipeLayout, target_name: str) -> int:
    """convert/<t>: quantize the float model with the LiteRT Quantizer -> model.tflite, litert_recipe.json,
    validation.json (and mixed.json with keep_float)."""
    from .datasets import load_prepared

    target = recipe.target(target_name)
    log = layout.log(f"convert/{target_name}")
    log.unlink(missing_ok=True)
    model = for_quantizer(float_model(recipe, layout).read_bytes())
    data = load_prepared(layout, "x_train", "x_test")
    samples = data.x_train[:recipe.calibration_samples(target)]
    rules = base_recipe(recipe, target) + (FLOAT_IO_RULES if _float_io(recipe, target) else [])
    try:
        if target.keep_float is None:
            quantized, quantizer = quantize(model, rules, samples, log)
        else:
            made = {}

            def quantize_keeping(kept):
                made[tuple(kept)] = quantize(model, keeping_float(rules, kept), samples, log)
                return made[tuple(kept)][0]
            kept = mixed.keep_float_with(recipe, layout, target, model, quantize_keeping, log)
            if kept not in made:  # a listed keep_float: nothing was searched
                quantize_keeping(kept)
            rules = keeping_float(rules, kept)
            quantized, quantizer = made[kept]
        validation = validate(quantizer, model, data.x_test[:VALIDATION_SAMPLES], log)
    except StepError:
        raise
    except Exception as exc:  # the quantizer's own refusal of a model or recipe: one line, full text in the log
        with open(log, "a") as handle:
            handle.write(f"\n{type(exc).__name__}: {exc}\n")
        raise StepError(f"{recipe.where(target_name)}: {target.quantization.value} with the LiteRT Quantizer "
                        f"failed: {one_line(str(exc), type(exc).__name__)} (full output: {recipe.shown(log)})") from exc
    if target.quantization != Quantization.custom:  # (a custom recipe promises no dtype)
        problem = shortfall(quantized, target.quantization.value, target.keep_float is not None)
        if problem:
            raise StepError(f"{recipe.where(target_name)}: the LiteRT Quantizer {problem}; nothing was written "
                            f"(full output: {recipe.shown(log)})")
    write_json(layout.litert_recipe(target_name), rules)
    write_json(layout.validation(target_name), validation)
    write_bytes(layout.model(target_name), quantized)
    progress.say(f"LiteRT Quantizer: output SNR {validation['output_snr_db']:.1f} dB, "
                 f"cosine {validation['output_cosine']:.5f}")
    return len(quantized)

