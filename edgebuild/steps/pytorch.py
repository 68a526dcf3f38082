"""PyTorch sources: a `torch.export` program (.pt2), described, run in torch for the reference metrics, and
converted once by litert-torch into the float32 .tflite that every target starts from.

    source: model.pt2 (copied, or saved by the recipe's script) -> source.json (shapes, layout)
    float:  model.pt2 -> litert_torch.convert -> source/float.tflite (NHWC pictures in, as every runtime feeds)
    reference: the program itself, in torch, on the prepared test split

The layout rule: the recipe's pictures are NHWC. A program whose 4-D input is [N, C, H, W] of those
pictures (and not [N, H, W, C]) is converted with litert_torch.to_channel_last_io, its input taking NHWC
and each 4-D output (a segmentation map) giving NHWC. One taking [N, H, W, C] is converted as it is. When
both read alike (a square picture with as many channels as pixels per side), the layout cannot be told.
torch and litert-torch are imported here only, inside the steps (the `torch` extra).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from .. import progress
from ..errors import StepError

NCHW, NHWC = "nchw", "nhwc"


@dataclass
class ProgramShapes:
    input_shape: list  # as the converted model takes it, without the batch dimension
    output_shapes: list  # likewise
    layout: str  # nchw: converted to take NHWC pictures; nhwc: taken as it is
    params: int


def input_layout(program_shape: list, data_shape: list) -> str:
    """nchw or nhwc for a program input of `program_shape` fed the prepared data's `data_shape` (both
    without the batch dimension); a StepError saying why when neither fits, or when both do."""
    given = [int(d) for d in program_shape]
    data = [int(d) for d in data_shape]
    as_is = given == data
    channels_first = len(data) == 3 and given == [data[2], data[0], data[1]]
    if as_is and channels_first:
        raise StepError(f"the input layout cannot be told: {tuple(given)} reads as NCHW and as NHWC of the "
                        f"{tuple(data)} pictures; export the program for pictures that are not square in channels")
    if as_is:
        return NHWC
    if channels_first:
        return NCHW
    wanted = f"{tuple(data)} or, channels first, {(data[2], data[0], data[1])}" if len(data) == 3 else f"{tuple(data)}"
    raise StepError(f"input shape {tuple(given)} does not match the preprocessed data's {wanted}; change "
                    f"preprocess (resize) or the program's input")


def _torch(log: Path | None):
    """torch, imported with its and litert-torch's start-up chatter in the step's log."""
    with progress.tool_output(log or Path(os.devnull)):
        import torch

        return torch


_loaded: dict[tuple, object] = {}


def load_program(path: Path, log: Path | None = None):
    """The ExportedProgram at `path`, loaded once per process and file version."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _loaded:
        torch = _torch(log)
        with progress.tool_output(log or Path(os.devnull)):
            try:
                _loaded[key] = torch.export.load(str(path))
            except Exception as exc:
                raise StepError(f"cannot load {path.name} as a torch.export program: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    return _loaded[key]


def stable_program(path: Path, log: Path | None = None) -> None:
    """Rewrite a program a script saved so that the same weights give the same bytes wherever it was trained:
    torch.export records each op's Python stack trace, absolute paths included, so the same training in
    another folder (a Dask worker's, a second checkout) gave another model.pt2 and reconverted everything.
    The traces are dropped (nothing reads them to run the program); the archive keeps its name, which it
    takes from the file's."""
    import shutil
    import tempfile

    torch = _torch(log)
    with progress.tool_output(log or Path(os.devnull)):
        program = torch.export.load(str(path))
        for node in program.graph.nodes:
            node.meta.pop("stack_trace", None)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            torch.export.save(program, str(Path(tmp) / path.name))
            shutil.move(str(Path(tmp) / path.name), str(path))


def _user_inputs(program) -> list:
    names = set(program.graph_signature.user_inputs)
    return [node for node in program.graph.nodes if node.op == "placeholder" and node.name in names]


def describe(path: Path, data_shape: list, log: Path | None = None) -> ProgramShapes:
    """The program's shapes as the converted model will have them, its layout, and its parameter count."""
    program = load_program(path, log)
    inputs = _user_inputs(program)
    if len(inputs) != 1:
        raise StepError(f"expected a program with one input; it has {len(inputs)}")
    value = inputs[0].meta.get("val")
    if value is None or not hasattr(value, "shape"):
        raise StepError("the program's input has no recorded shape; export it with torch.export.export(model, (x,))")
    shape = list(value.shape)
    if len(shape) == 1:  # (a .tflite or SavedModel source may take one [samples] waveform; a program may not)
        raise StepError(f"the program's input [{', '.join(map(str, shape))}] has no batch dimension; export it with "
                        f"one: torch.export.export(model, (x[None],))")
    try:
        shape = [int(d) for d in shape]
    except TypeError:  # a symbolic (dynamic) size other than the batch
        if len(shape) > 1 and all(isinstance(d, int) for d in shape[1:]):
            shape = [1, *shape[1:]]
        else:
            raise StepError(f"the program's input shape {tuple(str(d) for d in shape)} is dynamic beyond the batch "
                            f"dimension; export it with fixed picture sizes") from None
    layout = input_layout(shape[1:], data_shape)
    import numpy as np

    outputs = run(program, np.zeros([1, *data_shape], dtype=np.float32), layout, log)
    params = sum(math.prod(p.shape) for p in program.state_dict.values())
    return ProgramShapes(input_shape=list(data_shape), output_shapes=[list(o.shape[1:]) for o in outputs],
                         layout=layout, params=int(params))


def run(program, x, layout: str, log: Path | None = None) -> list:
    """The program's outputs (NumPy, NHWC for a converted NCHW program) for a batch `x` of prepared samples,
    one sample at a time: an exported program takes the batch size it was exported with."""
    import numpy as np

    torch = _torch(log)
    module = program.module()
    if layout == NCHW:
        x = x.transpose(0, 3, 1, 2)  # NHWC pictures -> what the program takes
    chunks: list[list] = []
    with torch.no_grad(), progress.tool_output(log or Path(os.devnull)):
        for sample in x:
            result = module(torch.from_numpy(np.ascontiguousarray(sample[None])))
            outputs = list(result) if isinstance(result, (tuple, list)) else [result]
            chunks.append([o.detach().numpy() for o in outputs])
    outputs = [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]
    if layout == NCHW:
        outputs = [o.transpose(0, 2, 3, 1) if o.ndim == 4 else o for o in outputs]
    return [np.ascontiguousarray(o) for o in outputs]


def predict(path: Path, x, layout: str, log: Path | None = None):
    """The unconverted model's outputs, as sources.predict gives a Keras model's: one array, or a list."""
    outputs = run(load_program(path, log), x, layout, log)
    return outputs[0] if len(outputs) == 1 else outputs


def convert_float(path: Path, sample, layout: str, log: Path) -> bytes:
    """The program as a float32 .tflite through litert-torch, taking NHWC pictures; `sample` is one prepared
    sample (NHWC), the example input litert-torch traces with."""
    import tempfile

    import numpy as np

    torch = _torch(log)
    program = load_program(path, log)
    with progress.tool_output(log):
        import litert_torch

        module = program.module()
        x = torch.from_numpy(np.ascontiguousarray(sample[None]))
        if layout == NCHW:
            rank4 = [i for i, o in enumerate(run(program, sample[None], layout, log)) if o.ndim == 4]
            module = litert_torch.to_channel_last_io(module, args=[0], outputs=rank4 or None)
        try:
            edge = litert_torch.convert(module, (x,))
        except Exception as exc:
            raise StepError(f"litert-torch cannot convert it: {type(exc).__name__}: "
                            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from exc
        with tempfile.TemporaryDirectory() as tmp:
            edge.export(str(Path(tmp) / "model.tflite"))
            return (Path(tmp) / "model.tflite").read_bytes()
