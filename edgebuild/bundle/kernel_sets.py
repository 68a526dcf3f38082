"""One model under each of LiteRT's CPU kernel sets: the default one here, the others in child processes.

The golden step compares the shipped model's outputs across kernel sets. The reference kernels abort the
process on some models (an untrained MobileNetV2's int8 model: no message, SIGABRT), which failed the
golden step and with it every bundle. Each set but the default now runs in a fresh `python` that imports
only LiteRT and NumPy (this file run as a script, not imported with the edgebuild package: 0.2 s instead
of 1 s; side by side), and a set that crashes or refuses the model is left out of the comparison with the
reason, as one that cannot resolve an op already was. The default set (XNNPACK) runs in the golden step's
own process, which runs the model with it anyway for the golden vectors, while the children start: a
third child cost the step 0.15 of its 0.5 s on two cores.

    python -c 'exec(this file)' MODEL KERNELS INPUTS.npy OUTPUTS.npz   (run by `outputs_under`)
"""
from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

KERNELS = {"AUTO": "XNNPACK (LiteRT's default)", "BUILTIN_WITHOUT_DEFAULT_DELEGATES": "built-in optimized kernels",
           "BUILTIN_REF": "reference kernels"}


def outputs_under(model: Path, inputs: list, log: Path, here=None) -> tuple[dict[str, list[list]], list[str]]:
    """For each kernel set that runs the model: each input's raw outputs (in the model's output order);
    and for each one that does not, "<set>: <why>". `here`: the model in this process's interpreter with
    the default kernels (a TFLiteRunner), which then gives "AUTO"'s. The children's stderr goes to `log`."""
    import numpy as np

    from ..run.children import code as dying_with_us  # (here: the children run this file without its package)

    with tempfile.TemporaryDirectory(prefix="edgebuild-kernels-") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "inputs.npy", np.stack(inputs))
        log.parent.mkdir(parents=True, exist_ok=True)
        children = {}
        with open(log, "ab") as sink:
            for kernels in [k for k in KERNELS if here is None or k != "AUTO"]:
                code = dying_with_us(f"exec(compile(open({__file__!r}).read(), {__file__!r}, 'exec'))")  # not the package
                children[kernels] = subprocess.Popen(
                    [sys.executable, "-c", code, str(model), kernels, str(tmp / "inputs.npy"), str(tmp / f"{kernels}.npz")],
                    stdout=sink, stderr=sink, stdin=subprocess.DEVNULL)
            found = {"AUTO": [_invoked(here.interpreter, sample) for sample in inputs]} if here is not None else {}
            status = {kernels: child.wait() for kernels, child in children.items()}  # (they started meanwhile)
        skipped = []
        for kernels, code in status.items():
            result = tmp / f"{kernels}.npz"
            if code == 0 and result.is_file():
                with np.load(result) as saved:
                    count = int(saved["count"])
                    found[kernels] = [[saved[f"s{i}o{k}"] for k in range(count)] for i in range(len(inputs))]
            elif code < 0:
                skipped.append(f"{KERNELS[kernels]}: crashed ({signal.Signals(-code).name})")
            else:
                why = tmp / f"{kernels}.npz.why"
                skipped.append(f"{KERNELS[kernels]}: {why.read_text().strip() if why.is_file() else f'exit status {code}'}")
    return found, skipped


def _invoked(interpreter, sample) -> list:
    """One input's raw outputs, in the model's output order (here and in the children)."""
    import numpy as np

    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    return [np.array(interpreter.get_tensor(detail["index"])) for detail in interpreter.get_output_details()]


def main() -> None:
    """In the child: run every input through the model under one kernel set; write the raw outputs."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    model, kernels, inputs, out = sys.argv[1:5]
    try:
        resolver = {"experimental_op_resolver_type": OpResolverType[kernels]} if kernels != "AUTO" else {}
        interpreter = Interpreter(model_path=model, num_threads=1, **resolver)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:  # e.g. a custom op the reference resolver lacks
        Path(out + ".why").write_text(str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__)
        sys.exit(2)
    saved = {"count": np.array(len(interpreter.get_output_details()))}
    for i, sample in enumerate(np.load(inputs)):
        for k, output in enumerate(_invoked(interpreter, sample)):
            saved[f"s{i}o{k}"] = output
    tmp = out + ".tmp.npz"
    np.savez(tmp, **saved)
    Path(tmp).replace(out)


if __name__ == "__main__":
    main()
