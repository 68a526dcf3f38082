"""Measure models on the recipe's test split: the unconverted reference, and each .tflite in LiteRT.

What is measured on the outputs is the task kind's (`edgebuild.kinds`): accuracy, MAE, mIoU ...
It comes from batched invokes; latency from single-sample invokes on one thread,
after a warm-up, repeated until the median is stable. Quantized inputs and outputs are
converted with the tensors' own scale and zero point.

Bounded, whatever the test split or the model: accuracy (of the reference and of every target)
uses at most the first EVAL_MAX_SAMPLES test samples; latency takes at most WARMUP_INVOKES
warm-up invokes or WARMUP_SECONDS, then at least MIN_INVOKES invokes and MIN_SECONDS, but stops
at MAX_INVOKES or after MAX_SECONDS once MIN_TIMED invokes are timed. So a target's latency costs
at most about WARMUP_SECONDS + MAX_SECONDS, or 1 + MIN_TIMED invokes of a model slower than that.
"""
from __future__ import annotations

import platform
import time

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..layout import RecipeLayout, read_json, write_json
from ..recipe import Recipe
from ..tflite import gpu_delegate
from ..tflite.complaints import one_line
from ..tflite.runner import BATCH, TFLiteRunner
from .datasets import load_prepared
from .sources import SourceInfo, detection_files, load_model, model_files, predict, source_model_path

VALIDATION_METRICS = ("output_snr_db", "output_cosine")  # from a LiteRT Quantizer target's validation.json
EVAL_MAX_SAMPLES = 10_000
WARMUP_INVOKES, WARMUP_SECONDS = 10, 0.5
MIN_INVOKES, MAX_INVOKES, MIN_SECONDS = 100, 2000, 0.1
MIN_TIMED, MAX_SECONDS = 10, 3.0
SETTINGS = {"batch": BATCH, "samples": EVAL_MAX_SAMPLES, "warmup": [WARMUP_INVOKES, WARMUP_SECONDS],
            "invokes": [MIN_INVOKES, MAX_INVOKES, MIN_SECONDS, MIN_TIMED, MAX_SECONDS], "delegates": 1}


def reference_step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """reference: the unconverted model's metrics, which every target's drop is measured against."""
    return Step("reference", f"{recipe.kind.primary} of the unconverted model", reference, (recipe, layout),
                reads=(*model_files(recipe, layout), *detection_files(recipe), layout.source_info, layout.data),
                writes=(layout.reference,),
                config={"samples": EVAL_MAX_SAMPLES}, log=layout.log("reference"))


def evaluation_split(layout: RecipeLayout):
    """The test samples accuracy is measured on: the first EVAL_MAX_SAMPLES of the recipe's test split."""
    data = load_prepared(layout, "x_test", "y_test")
    data.x_test, data.y_test = data.x_test[:EVAL_MAX_SAMPLES], data.y_test[:EVAL_MAX_SAMPLES]
    return data


def step(recipe: Recipe, layout: RecipeLayout, target: str) -> Step:
    """evaluate/<t>: the task's metrics, size and latency of one converted model (with the LiteRT Quantizer's
    output SNR and cosine for its targets)."""
    validation = (layout.validation(target),) if recipe.backend(recipe.target(target)) == "litert_quantizer" else ()
    return Step(f"evaluate/{target}", f"{recipe.kind.primary}, size and latency in LiteRT", evaluate_target,
                (recipe, layout, target),
                reads=(layout.model(target), layout.data, layout.reference, *validation,
                       *((layout.preprocess,) if recipe.spec.bundles.micro.enabled else ())),  # (flash: mean and std)
                writes=(layout.metrics(target), *(layout.report_array(target, n) for n in recipe.kind.report_arrays)),
                config={**SETTINGS, **({"micro": "tflm"} if recipe.spec.bundles.micro.enabled else {})},
                log=layout.log(f"evaluate/{target}"))


def reference(recipe: Recipe, layout: RecipeLayout) -> dict:
    """The task's metrics of the unconverted model on the test split -> build/<recipe>/reference.json."""
    data = evaluation_split(layout)
    source = source_model_path(recipe, layout)
    if source.suffix == ".tflite":  # a .tflite source: its own accuracy in LiteRT is the reference
        try:
            with progress.tool_output(layout.log("reference")):
                outputs = recipe.kind.run_tflite(recipe, source, data.x_test)
        except (RuntimeError, ValueError) as exc:
            raise StepError(f"{recipe.where()}: model: LiteRT cannot run it: {one_line(str(exc), type(exc).__name__)} "
                            f"(full output: {recipe.shown(layout.log('reference'))})") from exc
    elif source.suffix == ".pt2":  # a PyTorch program: run in torch itself, not a conversion of it
        from .pytorch import predict as predict_in_torch

        info = SourceInfo.read(layout)
        outputs = recipe.kind.from_model(recipe, predict_in_torch(source, data.x_test, info.layout,
                                                                  layout.log("reference")))
    else:
        model = load_model(source, layout.log("reference"))
        with progress.tool_output(layout.log("reference")):
            outputs = recipe.kind.from_model(recipe, predict(model, data.x_test))
    info = SourceInfo.read(layout)
    measured = recipe.kind.measure(recipe, outputs, data.y_test)
    for name in recipe.kind.report_arrays:  # (the report draws the targets' only)
        measured.pop(name, None)
    result = {
        **measured,
        "n_test": int(len(data.y_test)),
        "format": info.format,
        "params": info.params,
        "size_bytes": info.size_bytes,
    }
    write_json(layout.reference, result)
    progress.say(f"unconverted model: {recipe.kind.line(result)} on {result['n_test']} test samples")
    return result


def write_array(path, values) -> None:
    """An array as .npy, written whole or not at all, the same bytes for the same values."""
    import io

    import numpy as np

    from ..layout import write_bytes

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(values), allow_pickle=False)
    write_bytes(path, buffer.getvalue())


def latency_ms(model_path, sample) -> tuple[float, float, int]:
    """(median, p90, invokes) of single-sample invokes on one thread, after a warm-up."""
    import numpy as np

    runner = TFLiteRunner(model_path)
    interpreter, index = runner.interpreter, runner.input["index"]
    interpreter.set_tensor(index, runner.feed(sample))
    started = time.perf_counter()
    for _ in range(WARMUP_INVOKES):
        interpreter.invoke()
        if time.perf_counter() - started > WARMUP_SECONDS:
            break
    times = []
    started = time.perf_counter()
    while len(times) < MAX_INVOKES and (len(times) < MIN_INVOKES or time.perf_counter() - started < MIN_SECONDS):
        if len(times) >= MIN_TIMED and time.perf_counter() - started > MAX_SECONDS:
            break
        t0 = time.perf_counter_ns()
        interpreter.invoke()
        times.append(time.perf_counter_ns() - t0)
    times_ms = np.asarray(times) / 1e6
    return float(np.median(times_ms)), float(np.percentile(times_ms, 90)), len(times)


def micro_figures(recipe: Recipe, layout: RecipeLayout, target: str, runner: "TFLiteRunner", data) -> dict:
    """TensorFlow Lite Micro's view of one target (bundles.micro): the arena it needs (measured, plus the stated
    margin: tflite/tflm.py), the flash its model takes, and the task's metric from TFLM's own outputs on the test
    split (its kernels are not LiteRT's). A target with an op TFLM lacks gets the ops' names instead."""
    import numpy as np

    from ..tflite import inspection, tflm, tflm_ops

    model_path = layout.model(target)
    lacks = tflm_ops.missing([(c["op"], c["kind"]) for c in inspection.op_codes_of(model_path.read_bytes())])
    if lacks:
        return {"tflm_lacks": lacks}
    where, log = recipe.where(target), layout.log(f"evaluate/{target}")
    try:
        arena = tflm.arena(model_path, log, where)
    except tflm.Refused as refused:  # a fact about this target, which max_arena_kb and the ship step read
        progress.say(f"TensorFlow Lite Micro cannot run it: {refused.reason}")
        return {"tflm_refuses": refused.reason}
    from ..tflite.tflm import constant_bytes

    constants = constant_bytes(recipe.kind.output_names(recipe, int(np.prod(runner.shape_of()))),
                               runner.sample_shape, read_json(layout.preprocess), len(runner.outputs))
    figures = {"tflm_arena_bytes": arena["stated"], "tflm_flash_bytes": model_path.stat().st_size + constants}
    roles = recipe.kind.output_roles(model_path.read_bytes()) if len(runner.outputs) > 1 else None
    if len(runner.outputs) == 1 or roles is not None:
        inputs = [runner.feed(x).tobytes() for x in data.x_test]
        found = tflm.outputs(model_path, arena["stated"], inputs, np.dtype(runner.input["dtype"]).name,
                             [int(s) for s in runner.input["shape"]], len(runner.outputs), log, where)
        per_output = [np.concatenate([runner.dequantize(np.frombuffer(raw[k], d["dtype"]).reshape(
            [1, *runner.shape_of(d)]), d) for raw in found]) for k, d in enumerate(runner.outputs)]
        outputs = per_output[0] if roles is None else {role: per_output[k] for role, k in roles.items()}
        primary = recipe.kind.primary
        figures[f"tflm_{primary}"] = recipe.kind.measure(recipe, outputs, data.y_test)[primary]
    progress.say(f"TensorFlow Lite Micro: arena {figures['tflm_arena_bytes']} bytes"
                 + (f", {recipe.kind.primary} {figures[f'tflm_{recipe.kind.primary}']:.4f}"
                    if f"tflm_{recipe.kind.primary}" in figures else ""))
    return figures


def xnnpack_nodes(interpreter) -> tuple[int, int]:
    """(ops XNNPACK took, the model's ops) in an interpreter built with LiteRT's default delegates: each DELEGATE
    node stands for the ops between its inputs and its outputs, found by walking back from its outputs."""
    nodes = interpreter._get_ops_details()  # (the only view of the delegated graph LiteRT's Python API gives)
    ops = {n["index"]: n for n in nodes if n["op_name"] != "DELEGATE"}
    producer = {int(t): i for i, n in ops.items() for t in n["outputs"]}
    taken: set[int] = set()
    for delegate in (n for n in nodes if n["op_name"] == "DELEGATE"):
        stop, frontier = {int(t) for t in delegate["inputs"]}, [int(t) for t in delegate["outputs"]]
        while frontier:
            tensor = frontier.pop()
            if tensor in stop or tensor not in producer or producer[tensor] in taken:
                continue
            taken.add(producer[tensor])
            frontier += [int(t) for t in ops[producer[tensor]]["inputs"]]
    return len(taken), len(ops)


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def evaluate_target(recipe: Recipe, layout: RecipeLayout, target: str) -> dict:
    """The task's metrics, size and latency of one converted target -> build/<recipe>/<target>/metrics.json."""
    data = evaluation_split(layout)
    model_path = layout.model(target)
    log = layout.log(f"evaluate/{target}")
    try:
        with progress.tool_output(log):  # LiteRT announces its delegates on stderr
            runner = TFLiteRunner(model_path)
            xnnpack, ops = xnnpack_nodes(runner.interpreter)
            outputs = recipe.kind.run_tflite(recipe, model_path, data.x_test)
            median, p90, invokes = latency_ms(model_path, data.x_test[0])
    except (RuntimeError, ValueError) as exc:  # LiteRT refuses the model: its first complaint, and what to do
        raise StepError(f"{recipe.where(target)}: LiteRT cannot run the model: {one_line(str(exc), type(exc).__name__)} "
                        f"(full output: {recipe.shown(log)})") from exc
    measured = recipe.kind.measure(recipe, outputs, data.y_test)
    for name in recipe.kind.report_arrays:  # pictures for the report: their own files, not metrics.json
        write_array(layout.report_array(target, name), measured.pop(name))
    metrics = {
        **measured,
        **recipe.kind.compare(measured, read_json(layout.reference)),
        "size_bytes": model_path.stat().st_size,
        "latency_ms_median": median,
        "latency_ms_p90": p90,
        "latency_invokes": invokes,
        "latency_threads": 1,
        "latency_host": platform.node(),  # latency says which machine it was measured on
        "latency_cpu": cpu_model(),
        "n_test": int(len(data.y_test)),
        "input_dtype": runner.input["dtype"].__name__,
        "output_dtype": runner.output["dtype"].__name__,
        "ops": ops,
        "xnnpack_nodes": xnnpack,  # what LiteRT's default CPU delegate took here
        "gpu_fallback_ops": gpu_delegate.readiness(model_path.read_bytes())["fallback_ops"],  # advisory
    }
    if recipe.spec.bundles.micro.enabled:
        metrics.update(micro_figures(recipe, layout, target, runner, data))
    if recipe.backend(recipe.target(target)) == "litert_quantizer":  # what the quantizer's validate() measured
        validation = read_json(layout.validation(target))
        metrics.update({key: validation[key] for key in VALIDATION_METRICS})
    write_json(layout.metrics(target), metrics)
    progress.say(f"{recipe.kind.line(metrics)}, {metrics['size_bytes'] / 1000:.1f} KB, {median:.3f} ms median")
    return metrics
