"""Quantization modes -> TFLiteConverter settings, and the convert step.

    none          the source as it is: a .tflite copied (as_is_step), any other source as float32
    float32       no optimization
    float16       weights stored as float16
    dynamic_int8  weights int8, activations float (dynamic-range quantization)
    int8          weights and activations int8, calibrated on training samples; io float32 | int8 | uint8
    int16x8       activations int16, weights int8, calibrated; float io
"""
from __future__ import annotations

from typing import Callable

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..layout import RecipeLayout, write_bytes
from ..recipe import Recipe
from ..recipe.schema import CALIBRATED, Quantization, TargetSpec
from ..tflite.complaints import one_line
from ..tflite.precision import shortfall
from . import mixed, reuse
from .postprocess import TRACE
from .datasets import load_prepared
from .sources import SourceInfo, export_dir, export_paths, float_model_path, load_model, model_files, source_model_path


def _float32(converter, tf, target: TargetSpec) -> None:
    pass


def _float16(converter, tf, target: TargetSpec) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic_int8(converter, tf, target: TargetSpec) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _int8(converter, tf, target: TargetSpec) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[target.io or "float32"]
    converter.inference_input_type = io
    converter.inference_output_type = io


def _int16x8(converter, tf, target: TargetSpec) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]


MODES: dict[Quantization, Callable] = {
    Quantization.none: _float32,  # (a .tflite source's `none` is copied: as_is_step)
    Quantization.float32: _float32,
    Quantization.float16: _float16,
    Quantization.dynamic_int8: _dynamic_int8,
    Quantization.int8: _int8,
    Quantization.int16x8: _int16x8,
}


def conversion_config(target: TargetSpec) -> dict:
    """The part of a target that decides its .tflite bytes (what the convert task re-runs on)."""
    config = {"quantization": target.quantization.value, "io": target.io,
              "calibration_samples": target.calibration_samples}
    if target.keep_float is not None:
        config.update(keep_float=target.keep_float, max_float_layers=target.max_float_layers)
    return config


def step(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> Step:
    """convert/<t>: the source model -> model.tflite (calibrated targets also read the data; keep_float
    targets write mixed.json, and with `auto` measure each attempt against the target's thresholds)."""
    calibration = (layout.data,) if target.quantization in CALIBRATED else ()
    config = conversion_config(target)
    if recipe.spec.detection is not None:  # traced into the model by the source step, with the op
        config["detection"] = recipe.spec.detection.model_dump(mode="json")
        config["postprocess"] = TRACE
    search = ()
    if target.keep_float == "auto":  # the search is driven by the thresholds and the reference metrics
        search = (layout.reference,)
        config["search_limits"] = mixed.search_limits(recipe, target)
    return Step(f"convert/{target.name}", f"convert to {target.quantization.value}", convert,
                (recipe, layout, target.name),
                reads=(*model_files(recipe, layout), layout.source_info, *calibration, *search),
                reads_if_present=export_paths(recipe, layout),  # made from model.keras, in `reads`
                writes=(layout.model(target.name), *kept_calibration(layout, target),
                        *((layout.mixed(target.name),) if target.keep_float is not None else ())),
                config=config, log=layout.log(f"convert/{target.name}"))


def as_is_step(recipe: Recipe, layout: RecipeLayout, target: TargetSpec) -> Step:
    """convert/<t> of `quantization: none` or float32 on a .tflite source: the source model, byte for byte (a
    quantized source takes `none` only); on a PyTorch source, litert-torch's float32 model."""
    return Step(f"convert/{target.name}", "the source model as it is", copy_source, (recipe, layout, target.name),
                reads=(float_model_path(recipe, layout),), writes=(layout.model(target.name),),
                config={"quantization": "none"}, log=layout.log(f"convert/{target.name}"))


def copy_source(recipe: Recipe, layout: RecipeLayout, target_name: str) -> int:
    data = float_model_path(recipe, layout).read_bytes()
    write_bytes(layout.model(target_name), data)
    return len(data)


def kept_calibration(layout: RecipeLayout, target: TargetSpec) -> tuple:
    """An int8 target keeps its calibrated model, so its quantization debugger does not calibrate again."""
    return (layout.calibrated(target.name),) if target.quantization == Quantization.int8 else ()


def make_converter(recipe: Recipe, layout: RecipeLayout, target: TargetSpec, log, announce: bool = True):
    """A TFLiteConverter for the recipe's source model, set up for the target's quantization."""
    tf = progress.tensorflow(log)
    path = source_model_path(recipe, layout)
    export = export_dir(recipe, layout)
    if export is not None and (export / "saved_model.pb").is_file():  # a large Keras source, traced once
        converter = reuse.export_converter(export) or tf.lite.TFLiteConverter.from_saved_model(str(export))
        _as_keras_model(converter)
    elif path.is_dir():
        converter = tf.lite.TFLiteConverter.from_saved_model(str(path))
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(load_model(path, log))
    MODES[target.quantization](converter, tf, target)
    if recipe.kind.float_outputs:  # a detector's post-processing op stays float, and so do its outputs
        converter.inference_output_type = tf.float32
        converter.allow_custom_ops = True  # TFLite_Detection_PostProcess is a custom op every runtime has
    if target.quantization in CALIBRATED:
        x_train = load_prepared(layout, "x_train").x_train
        samples = x_train[:recipe.calibration_samples(target)]
        if announce:
            progress.say(f"calibrating on {len(samples)} training samples")

        batched = SourceInfo.read(layout).batched  # (a SavedModel may take one [samples] waveform)

        def representative_dataset():
            for sample in samples:
                yield [sample[None] if batched else sample]
        converter.representative_dataset = representative_dataset
    return converter


CONVERTER_MIN_WEIGHT_ELEMENTS = 1024  # TensorFlow's dynamic-range quantization leaves smaller weights in float


def _why_not(flatbuffer: bytes, target: TargetSpec) -> str:
    """What the user can do when the converter quantized no weights of a dynamic-range target."""
    from ..tflite.precision import precision

    largest = precision(flatbuffer).largest_weight
    if target.quantization == Quantization.dynamic_int8 and largest < CONVERTER_MIN_WEIGHT_ELEMENTS:
        return (f": it quantizes weight tensors of {CONVERTER_MIN_WEIGHT_ELEMENTS} elements or more, and this model's "
                f"largest has {largest}; the LiteRT Quantizer quantizes them all (backend: litert_quantizer)")
    return ""


def _as_keras_model(converter) -> None:
    """Record the model as the Keras model it was exported from, as from_keras_model does: the
    converter writes the source kind into the .tflite's CONVERSION_METADATA, and this keeps the
    bytes identical to a conversion with from_keras_model."""
    try:
        from tensorflow.lite.python import conversion_metadata_schema_py_generated as conversion_metadata

        converter._metadata.environment.modelType = conversion_metadata.ModelType.KERAS_MODEL
    except (ImportError, AttributeError):  # another TensorFlow: the bytes say "saved model", nothing else changes
        pass


def convert(recipe: Recipe, layout: RecipeLayout, target_name: str) -> int:
    """Convert the source model for one target -> build/<recipe>/<target>/model.tflite; returns its size."""
    target = recipe.target(target_name)
    log = layout.log(f"convert/{target_name}")
    log.unlink(missing_ok=True)
    try:
        # Loading the model starts TensorFlow's runtime, which prints from C++: into the log too. A user's
        # SavedModel is loaded by from_saved_model as TensorFlow does it: sharing that loaded object between
        # targets changed the float16 and dynamic-int8 bytes of a SavedModel source (6312 bytes for
        # wine-savedmodel's fp16 instead of 3752); only convert()'s second load, for debug info, is shared.
        with progress.tool_output(log):
            converter = make_converter(recipe, layout, target, log)
            with progress.interrupts_kept(), reuse.loads_spared(converter), \
                    reuse.calibration_kept() as calibrated:
                flatbuffer = converter.convert()
    except StepError:
        raise
    except Exception as exc:
        raise StepError(f"{recipe.where(target_name)}: {target.quantization.value} conversion failed: "
                        f"{one_line(str(exc), type(exc).__name__)} (full output: {recipe.shown(log)})") from exc
    for path in kept_calibration(layout, target):
        # empty when this TensorFlow calibrated other than edgebuild knows: the report then says why
        write_bytes(path, calibrated[0] if len(calibrated) == 1 else b"")
    if target.keep_float is not None:
        if len(calibrated) != 1:
            raise StepError(f"{recipe.where(target_name)}: keep_float: this TensorFlow calibrated other than "
                            f"edgebuild knows, so ops cannot be kept in float (full output: {recipe.shown(log)})")
        flatbuffer = mixed.keep_float(recipe, layout, target, calibrated[0], log)
    problem = shortfall(flatbuffer, target.quantization.value, target.keep_float is not None)
    if problem:
        raise StepError(f"{recipe.where(target_name)}: the TFLiteConverter {problem}{_why_not(flatbuffer, target)}; "
                        f"nothing was written (full output: {recipe.shown(log)})")
    write_bytes(layout.model(target_name), flatbuffer)
    return len(flatbuffer)
