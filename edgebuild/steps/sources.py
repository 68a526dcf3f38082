"""Model sources: a Keras file, a SavedModel, a .tflite, a PyTorch program (pytorch.py), or a training script
-> build/<recipe>/source/.

The source step also reads the model's input and output shapes and checks them against
the prepared data and the labels, so a mismatch is reported once, in words, before any
conversion runs. `reference()` measures the unconverted model for the accuracy-drop gate.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import runpy
import shutil
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import progress
from ..errors import StepError
from ..graph.step import Step
from ..layout import RecipeLayout, read_json, temporary_path, write_json
from ..recipe import Recipe
from ..run import children
from ..tflite.complaints import one_line
from .postprocess import TRACE


@dataclass
class SourceInfo:
    """What the build knows about the unconverted model (build/<recipe>/source/source.json)."""

    format: str  # keras | saved_model
    path: str  # relative to build/<recipe>/source/
    input_shape: list  # without the batch dimension; None for a free dimension
    output_width: int
    params: int | None
    size_bytes: int
    output_shape: list | None = None  # without the batch dimension (segmentation: height, width, classes)
    output_shapes: list | None = None  # every output's, in the model's order (a detector has two, or four)
    layers: int | None = None  # a Keras model's layers, nested ones counted: what tracing it costs
    layout: str | None = None  # a PyTorch program's input: nchw (converted to take NHWC pictures) or nhwc
    batched: bool = True  # False: the input has no batch dimension (a [samples] waveform: processing.has_batch)

    @classmethod
    def read(cls, layout: RecipeLayout) -> "SourceInfo":
        return cls(**read_json(layout.source_info))


def source_kind(recipe: Recipe) -> str:
    model = recipe.spec.model
    return ("script" if model.script else "keras" if model.keras else "tflite" if model.tflite
            else "pytorch" if model.pytorch else "saved_model")


def is_pytorch(recipe: Recipe) -> bool:
    """A PyTorch program, given (model.pytorch) or saved by the recipe's script (saves: pytorch)."""
    return recipe.pytorch


def source_files(recipe: Recipe) -> list[Path]:
    """The files the source step reads: a change to any of them rebuilds the source."""
    model = recipe.spec.model
    if model.script:
        return [recipe.path(model.script), *(recipe.path(p) for p in model.inputs)]
    if model.keras:
        return [recipe.path(model.keras)]
    if model.tflite:
        return [recipe.path(model.tflite)]
    if model.pytorch:
        return [recipe.path(model.pytorch)]
    folder = recipe.path(model.saved_model)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def source_model_path(recipe: Recipe, layout: RecipeLayout) -> Path:
    """Where the source step puts the model; the file later steps depend on."""
    if recipe.spec.model.saved_model:
        return layout.source_saved_model
    if recipe.spec.model.tflite:
        return layout.source_dir / "model.tflite"
    if is_pytorch(recipe):
        return layout.source_dir / "model.pt2"
    if recipe.spec.model.keras and recipe.spec.model.keras.endswith(".h5"):
        return layout.source_keras_as(".h5")
    return layout.source_keras


def float_model_path(recipe: Recipe, layout: RecipeLayout) -> Path:
    """The float .tflite the LiteRT Quantizer starts from: a tflite source itself, else the float step's output
    (for a PyTorch source, litert-torch's conversion, which its float32 target is too)."""
    return source_model_path(recipe, layout) if recipe.spec.model.tflite else layout.source_dir / "float.tflite"


def model_files(recipe: Recipe, layout: RecipeLayout) -> list[Path]:
    """The model files the source step writes, which the steps after it read."""
    path = source_model_path(recipe, layout)
    if not recipe.spec.model.saved_model:
        return [path]
    folder = recipe.path(recipe.spec.model.saved_model)
    return [path / p.relative_to(folder) for p in source_files(recipe)]


def export_dir(recipe: Recipe, layout: RecipeLayout) -> Path | None:
    """Where a Keras source is traced once for conversion (None for a SavedModel source, already one)."""
    model = recipe.spec.model
    return None if model.saved_model or model.tflite or is_pytorch(recipe) else layout.source_export


def export_paths(recipe: Recipe, layout: RecipeLayout) -> tuple[Path, ...]:
    """The export folder as a step's declaration: written by the source step, read by conversions."""
    export = export_dir(recipe, layout)
    return (export,) if export else ()


def detection_files(recipe: Recipe) -> list[Path]:
    """A detector's anchors, which the source step traces into the model with the post-processing op."""
    spec = recipe.spec.detection
    return [recipe.path(spec.anchors)] if spec is not None and spec.anchors is not None else []


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """source: train or copy the model, trace a Keras model once for the converter, describe it (source.json)."""
    config = {"model": recipe.spec.model.identity(), "labels": len(recipe.labels),
              "task": recipe.spec.task.value}
    if recipe.spec.detection is not None:
        config["detection"] = recipe.spec.detection.model_dump(mode="json")
        config["postprocess"] = TRACE
    return Step("source", f"{source_kind(recipe)}: the unconverted model", build_source, (recipe, layout),
                reads=(*source_files(recipe), *detection_files(recipe), layout.data),
                writes=(*model_files(recipe, layout), *export_paths(recipe, layout), layout.source_info),
                config=config, log=layout.log("source"))


def build_source(recipe: Recipe, layout: RecipeLayout) -> SourceInfo:
    """Train or copy the model into build/<recipe>/source/, then check it fits the data and labels."""
    kind = source_kind(recipe)
    target = source_model_path(recipe, layout)
    if kind == "script":
        _run_script(recipe, layout, target)
    elif kind in ("keras", "tflite", "pytorch"):
        tmp = temporary_path(target)
        shutil.copyfile(recipe.path(getattr(recipe.spec.model, kind)), tmp)
        os.replace(tmp, target)
    else:
        tmp = temporary_path(target)
        shutil.copytree(recipe.path(recipe.spec.model.saved_model), tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    info = _describe(recipe, layout, target)
    export = export_dir(recipe, layout)
    if export is not None and needs_postprocess(info):  # a detector's raw outputs: append the op
        from .postprocess import export_with_postprocess

        export_with_postprocess(recipe, load_model(target, layout.log("source")), export, layout.log("source"))
    elif export is not None and not _export(load_model(target, layout.log("source")), export, layout.log("source")):
        shutil.rmtree(export, ignore_errors=True)  # conversions trace the model themselves, as before
        export.mkdir(parents=True)  # empty, but there: doit reruns a step whose declared output is missing
    write_json(layout.source_info, {k: v for k, v in asdict(info).items() if k != "batched" or not v})
    return info


def needs_postprocess(info: SourceInfo) -> bool:
    """A detector giving box encodings and scores, to which the conversion appends TFLite_Detection_PostProcess."""
    return info.output_shapes is not None and len(info.output_shapes) == 2


def _export(model, folder: Path, log: Path) -> bool:
    """Trace the Keras model's inference call once into a SavedModel at `folder` (export.py); False if
    it cannot be traced so (a subclassed model has no `inputs`: from_keras_model then freezes it).

    It pays at every size: the export was three quarters of each conversion's time for digits-dense
    (0.48 of 0.64 s warm), and its five conversions then ended 0.6 to 0.7 s sooner under `-n 2`
    (bench/bench_build.py). At MobileNetV2 size tracing dominates: 14 to 17 s per conversion traced
    each time, 4 to 7 s from the export.
    The export's own bytes differ between two exports (TensorFlow's object ids), so steps depend on
    model.keras, which it is made from, not on them.
    """
    import functools

    from .export import write_export

    try:
        tf = progress.tensorflow(log)
        signature = [tf.TensorSpec(x.shape, dtype=x.dtype, name=x.name) for x in model.inputs]
        write_export(model, functools.partial(model.__call__, training=False), signature, folder, log)
    except Exception:  # a model TensorFlow cannot trace this way
        return False
    return True


# Whether a training script may run as __main__ in this process (sharing its TensorFlow import): in edgebuild's
# own sandbox, yes. Not on a Dask worker (run/remote.py sets this False there): the worker's event loop thread
# draws from Python's global `random` while a task runs (dask's sizeof samples a result's items; a connect retry
# after a worker died draws its jitter), and Keras seeds each layer from that same stream after the script's
# random.seed, so the same script trained other weights there (issue 35). A fresh interpreter has a stream of
# its own, and the environment the worker was started with (apart_from: what the Dask nanny added).
SCRIPTS_IN_PROCESS = True
SCRIPT_ENVIRONMENT_APART_FROM: dict[str, str] = {}


def _run_script(recipe: Recipe, layout: RecipeLayout, target: Path) -> None:
    """Run `python SCRIPT --out PATH [args...]`: its stdout lines are progress, its stderr goes to the log."""
    model = recipe.spec.model
    log = layout.log("source")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    # a PyTorch program records its file's name inside it: saved under its final name, in a folder of its own
    out = temporary_path(target) if not is_pytorch(recipe) else _fresh_folder(temporary_path(target)) / target.name
    env = {"EDGEBUILD_DATA": str(layout.data.resolve()), "EDGEBUILD_RECIPE": recipe.name}
    progress.say(f"training: python {model.script} --out {out.name} {' '.join(model.args)}".rstrip())
    run = _script_in_process if SCRIPTS_IN_PROCESS and not model.isolated else _script_in_subprocess
    try:
        status, last = run(recipe.path(model.script), [str(out), *model.args], recipe.root, env, log,
                           keras=not is_pytorch(recipe))
        if status != 0:
            raise StepError(f"{recipe.where()}: model.script: {model.script} exited with status {status}: "
                            f"{last or _last_line(log)} (full output: {recipe.shown(log)})")
        if not out.is_file():
            saved = ("a program saved with torch.export.save(program, path)" if is_pytorch(recipe)
                     else "a Keras model saved with model.save(path)")
            raise StepError(f"{recipe.where()}: model.script: {model.script} finished but wrote no model to the "
                            f"path given as --out (expected {saved})")
        if is_pytorch(recipe):
            from .pytorch import stable_program

            try:
                stable_program(out, log)
            except Exception as exc:
                raise StepError(f"{recipe.where()}: model.script: {model.script} saved a file torch.export.load "
                                f"cannot read ({one_line(str(exc), type(exc).__name__)}); expected a program saved "
                                f"with torch.export.save(program, path) (full output: {recipe.shown(log)})") from exc
        else:
            stable_keras(out)
        os.replace(out, target)
    finally:  # failed or interrupted: leave no half-written model behind
        out.unlink(missing_ok=True)
        if out.parent != target.parent:
            shutil.rmtree(out.parent, ignore_errors=True)


def _fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def stable_keras(path: Path) -> None:
    """Rewrite a .keras file so that the same weights give the same bytes: Keras stamps the save time into
    metadata.json, memory addresses into config.json (shared_object_id) and the time into the zip's
    entries. Without this, retraining to the same weights (after a failed build was fixed, say) changed
    model.keras and reconverted every target. The ids are renumbered in order of appearance (the loader
    only matches them with each other); anything that is not a Keras 3 zip is left as it is."""
    import json
    import re
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            entries = [(info, archive.read(info.filename)) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError):
        return
    names = [info.filename for info, _ in entries]
    if "config.json" not in names or "metadata.json" not in names:
        return
    ids: dict[str, int] = {}

    def renumber(match) -> str:
        return f'"shared_object_id": {ids.setdefault(match.group(1), len(ids) + 1)}'
    rewritten = []
    for info, data in entries:
        if info.filename == "config.json":
            data = re.sub(r'"shared_object_id": (\d+)', renumber, data.decode("utf-8")).encode("utf-8")
        elif info.filename == "metadata.json":
            metadata = json.loads(data)
            metadata.pop("date_saved", None)
            data = json.dumps(metadata).encode("utf-8")
        entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
        entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
        rewritten.append((entry, data))
    tmp = temporary_path(path)
    with zipfile.ZipFile(tmp, "w") as archive:
        for entry, data in rewritten:
            archive.writestr(entry, data)
    os.replace(tmp, path)


class _LineRelay(io.TextIOBase):
    """A stdout that shows each complete line as a progress line."""

    def __init__(self):
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            progress.say(f"| {line.rstrip()}")
        return len(text)

    def close_lines(self) -> None:
        if self.pending.strip():
            progress.say(f"| {self.pending.rstrip()}")
        self.pending = ""


def _script_in_process(script: Path, args: list[str], cwd: Path, env: dict, log: Path,
                       keras: bool = True) -> tuple[int, str]:
    """Run the script as __main__ in this process, as `python` would, restoring argv, cwd, env and modules."""
    if keras:
        progress.tensorflow(log)  # the script will import it: share the import already made (or under way)
        import keras as keras_module

        keras_module.backend.clear_session()  # fresh layer-name counters: names end up in the .tflite, keep them stable
    saved_argv, saved_path, saved_cwd, saved_env = sys.argv, list(sys.path), os.getcwd(), dict(os.environ)
    modules_before = set(sys.modules)
    relay = _LineRelay()
    status, last = 0, ""
    sys.argv = [str(script), "--out", *args]
    sys.path.insert(0, str(script.parent))
    os.environ.update(env)
    os.chdir(cwd)
    try:
        with progress.tool_output(log), contextlib.redirect_stdout(relay), open(log, "a") as err, \
                contextlib.redirect_stderr(err):
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    status = exc.code if isinstance(exc.code, int) else 1
                    last = "" if isinstance(exc.code, int) else str(exc.code)
            except Exception as exc:  # the script's own error: its traceback goes to the log
                traceback.print_exc(file=err)
                status, last = 1, f"{type(exc).__name__}: {exc}".splitlines()[0]
        relay.close_lines()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        _forget_modules_under(cwd, modules_before)
    return status, last


def _forget_modules_under(root: Path, keep: set[str]) -> None:
    """Drop modules the script imported from the project, so the next script gets fresh copies. Installed
    packages stay, even in a virtual environment inside the project (the README's `.venv`): a C extension such
    as torch's cannot be imported twice in one process."""
    root_text = str(root.resolve())
    for name in set(sys.modules) - keep:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(root_text) and not _installed(origin):
            del sys.modules[name]


def _installed(path: str) -> bool:
    """Whether a module's file belongs to the interpreter or to an installed package, not to the project."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix)}
    real = os.path.realpath(path)
    return (any(real.startswith(prefix + os.sep) for prefix in prefixes)
            or not {"site-packages", "dist-packages"}.isdisjoint(Path(real).parts))


def _script_in_subprocess(script: Path, args: list[str], cwd: Path, env: dict, log: Path,
                          keras: bool = True) -> tuple[int, str]:
    """Run the script in its own Python process (model.isolated: true, and on a Dask worker)."""
    inherited = {k: v for k, v in os.environ.items() if SCRIPT_ENVIRONMENT_APART_FROM.get(k) != v}
    env = dict(inherited, PYTHONHASHSEED="0", PYTHONUNBUFFERED="1", **env)
    if not progress.verbose():
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with open(log, "ab") as stderr:
        process = subprocess.Popen([sys.executable, "-c", children.script(), str(script), "--out", *args], cwd=cwd, env=env,
                                   stdout=subprocess.PIPE, stderr=None if progress.verbose() else stderr, text=True)
        for line in process.stdout:
            progress.say(f"| {line.rstrip()}")
        return process.wait(), ""


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "it printed nothing on stderr"



# --- loading the unconverted model ---------------------------------------------------------------

_loaded: dict[tuple, object] = {}


def load_model(path: Path, log: Path | None = None):
    """The Keras model or SavedModel at `path`, loaded once per process and file version."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _loaded:
        tf = progress.tensorflow(log)
        with progress.tool_output(log or Path(os.devnull)):
            if path.is_dir():
                _loaded[key] = tf.saved_model.load(str(path))
            else:
                import keras

                _loaded[key] = keras.models.load_model(path, compile=False)
    return _loaded[key]


def serving_function(model):
    """A SavedModel's serving signature as (function, input name, output names in a fixed order)."""
    signatures = getattr(model, "signatures", {})
    if "serving_default" not in signatures:
        raise StepError(f"the SavedModel has no serving_default signature (it has: {', '.join(signatures) or 'none'})")
    function = signatures["serving_default"]
    inputs = function.structured_input_signature[1]
    if len(inputs) != 1:
        raise StepError(f"expected a model with one input; serving_default has {len(inputs)}")
    return function, next(iter(inputs)), sorted(function.structured_outputs)


def _shapes(model) -> tuple[list, list[list], int | None, bool]:
    """(input shape, output shapes, all without batch; parameter count; whether the input has a batch dimension)
    of a Keras model (it always has) or a SavedModel."""
    from ..processing import has_batch
    from ..tflite.tensors import sample_shape

    if hasattr(model, "inputs") and hasattr(model, "count_params"):
        if len(model.inputs) != 1:
            raise StepError(f"expected a model with one input; it has {len(model.inputs)}")
        return (list(model.inputs[0].shape[1:]), [list(o.shape[1:]) for o in model.outputs],
                int(model.count_params()), True)
    function, input_name, output_names = serving_function(model)
    in_spec = function.structured_input_signature[1][input_name]
    batched = has_batch(in_spec.shape)
    out_shapes = [sample_shape(function.structured_outputs[name].shape, batched) for name in output_names]
    params = sum(int(v.shape.num_elements() or 0) for v in getattr(model, "variables", []))
    return sample_shape(in_spec.shape, batched), out_shapes, params or None, batched


def _tflite_shapes(path: Path) -> tuple[list, list[list], int | None, bool]:
    """(input shape, output shapes, all without batch; parameter count; whether the input has a batch dimension)
    of a .tflite, from its flatbuffer."""
    from ..tflite.inspection import inspect_model
    from ..processing import has_batch
    from ..tflite.tensors import sample_shape

    model = inspect_model(path)
    if len(model.inputs) != 1:
        raise StepError(f"expected a model with one input; it has {len(model.inputs)}")
    # (an already quantized model is taken as it is: the recipe's check allows it quantization: none only)
    params = sum(math.prod(t.shape) for t in model.tensors
                 if t.constant and t.dtype in ("float32", "float16", "int8", "uint8", "int4", "int16"))
    batched = has_batch(model.inputs[0].shape)
    return (sample_shape(model.inputs[0].shape, batched), [sample_shape(o.shape, batched) for o in model.outputs],
            params, batched)


def _describe(recipe: Recipe, layout: RecipeLayout, path: Path) -> SourceInfo:
    from .datasets import load_prepared

    data = load_prepared(layout, "x_test", "y_test")
    program_layout, batched = None, True
    if is_pytorch(recipe):
        from .pytorch import describe

        try:
            shapes = describe(path, list(data.x_test.shape[1:]), layout.log("source"))
        except Exception as exc:  # (its own words, or torch's for a program that does not run)
            what = str(exc) if isinstance(exc, StepError) else f"torch cannot run it: {one_line(str(exc), type(exc).__name__)}"
            raise StepError(f"{recipe.where()}: {program_named(recipe)}: {what} "
                            f"(full output: {recipe.shown(layout.log('source'))})") from exc
        input_shape, output_shapes, params = shapes.input_shape, shapes.output_shapes, shapes.params
        program_layout = shapes.layout
    try:
        layers = None
        if source_kind(recipe) == "tflite":
            input_shape, output_shapes, params, batched = _tflite_shapes(path)
        elif is_pytorch(recipe):
            pass
        else:
            model = load_model(path, layout.log("source"))
            input_shape, output_shapes, params, batched = _shapes(model)
            layers = _layer_count(model)
    except StepError as exc:
        raise StepError(f"{recipe.where()}: model: {exc}") from exc
    except Exception as exc:
        raise StepError(f"{recipe.where()}: model: cannot load {path.name} as a "
                        f"{_what(recipe)}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    data_shape = list(data.x_test.shape[1:])
    if len(input_shape) != len(data_shape) or any(m is not None and m != d for m, d in zip(input_shape, data_shape)):
        shown = tuple(m if m is not None else "any" for m in input_shape)
        from .. import modalities

        raise StepError(f"{recipe.where()}: model: input shape {shown} does not match the preprocessed data's "
                        f"{tuple(data_shape)}; {modalities.of(recipe).resize_hint}")
    problem = recipe.kind.check_outputs(recipe, output_shapes, data.y_test)
    if problem:
        raise StepError(f"{recipe.where()}: {problem}")
    output_shape = output_shapes[0]
    width = output_shape[-1] if output_shape else 1
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    formats = {".tflite": "tflite", ".pt2": "pytorch"}
    return SourceInfo(format="saved_model" if path.is_dir() else formats.get(path.suffix, "keras"), path=path.name,
                      input_shape=[int(d) if d is not None else None for d in data_shape],
                      output_width=int(width), params=params, size_bytes=size,
                      output_shape=[int(d) if d is not None else None for d in output_shape],
                      output_shapes=[[int(d) if d is not None else None for d in shape] for shape in output_shapes],
                      layers=layers, layout=program_layout, batched=batched)


def program_named(recipe: Recipe) -> str:
    """A PyTorch source as the recipe names it: `model.pytorch: models/net.pt2`, or the script that saves it."""
    model = recipe.spec.model
    return f"model.pytorch: {model.pytorch}" if model.pytorch else f"model.script: {model.script}'s program"


def _what(recipe: Recipe) -> str:
    return (".tflite model" if source_kind(recipe) == "tflite" else "torch.export program" if is_pytorch(recipe)
            else "Keras model or SavedModel")


def _layer_count(model) -> int | None:
    """A Keras model's layers, those inside nested models counted too (None for a SavedModel)."""
    if not hasattr(model, "layers"):
        return None
    return sum(1 + (_layer_count(layer) or 0) for layer in model.layers)


def predict(model, x):
    """The unconverted model's outputs for a batch: a NumPy array, or a list of them for several outputs."""
    import numpy as np

    tf = progress.tensorflow()
    if hasattr(model, "predict_on_batch"):
        chunks = [model(x[i:i + 512], training=False) for i in range(0, len(x), 512)]
    else:
        from ..processing import batch_of_one, has_batch

        function, input_name, output_names = serving_function(model)
        if has_batch(function.structured_input_signature[1][input_name].shape):
            chunks = [[function(**{input_name: tf.constant(x[i:i + 512])})[name] for name in output_names]
                      for i in range(0, len(x), 512)]
        else:  # an input without a batch dimension ([samples]): one sample per call
            chunks = [[batch_of_one(np.asarray(function(**{input_name: tf.constant(sample)})[name]), False)
                       for name in output_names] for sample in x]
    if not isinstance(chunks[0], (list, tuple)):
        return np.concatenate([np.asarray(c) for c in chunks])
    outputs = [np.concatenate([np.asarray(c[k]) for c in chunks]) for k in range(len(chunks[0]))]
    return outputs[0] if len(outputs) == 1 else outputs
