"""The shipped model in TensorFlow Lite Micro's own interpreter (PyPI's tflite-micro), always in a child process:
too small an arena can crash TFLM rather than raise, and an int8 SOFTMAX of a tiny input scale aborts it.

- `arena`: what TFLM's allocator reports (print_allocations), then the smallest arena, in ARENA_STEP bytes,
  with which TFLM's Python interpreter really allocates and invokes the model (it needs more than the report:
  about 4,060 bytes against 3,360 on a tiny CNN); the bundle states that plus ARENA_MARGIN.
- `outputs`: the model's raw outputs for given raw inputs, at a given arena (the stated one: proven to run).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from ..errors import StepError
from ..run import children

ARENA_STEP = 256
ARENA_MARGIN = 0.10  # and at least MARGIN_MIN bytes: the stated arena is the measured one plus this
MARGIN_MIN = 1024
_PROBE = r"""
import json, re, sys, io, contextlib, os
import numpy as np
from tflite_micro.python.tflite_micro import runtime
model = open(sys.argv[1], "rb").read()
request = json.loads(sys.stdin.read())
if request["do"] == "report":
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=request["size"])
    sys.stdout.flush()
    interpreter.print_allocations()
    sys.stdout.flush()
    sys.exit(0)
for size in request["sizes"]:
    print(json.dumps({"trying": size}), flush=True)
    try:
        interpreter = runtime.Interpreter.from_bytes(model, arena_size=size)
        for k, raw in enumerate(request.get("inputs", [[]])):
            if raw:
                interpreter.set_input(np.frombuffer(bytes.fromhex(raw), dtype=np.dtype(request["dtype"])).reshape(
                    request["shape"]), 0)
            interpreter.invoke()
            if raw:
                outputs = [interpreter.get_output(i).tobytes().hex() for i in range(request["outputs"])]
                print(json.dumps({"outputs": outputs}), flush=True)
    except Exception as exc:
        print(json.dumps({"failed": size, "why": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}), flush=True)
        continue
    print(json.dumps({"ran": size}), flush=True)
    break
"""


def constant_bytes(labels: list[str], input_shape: list[int], preprocess: dict, outputs: int = 1) -> int:
    """The constant data the settings header puts in flash beside the model (the flash figure `max_flash_kb` gates):
    the input's dims (int32 each), the normalization's mean and std (float32 each), the labels (a 32-bit pointer each,
    and their UTF-8 bytes with a NUL), and for a model of several outputs their sizes (int32 each). constexpr scalars fold into the code and take none; the examples' golden
    vectors are not the library's."""
    means = len(preprocess.get("mean") or [])
    return 4 * len(input_shape) + 8 * means + sum(4 + len(label.encode()) + 1 for label in labels) \
        + (4 * outputs if outputs > 1 else 0)


def _child(model: Path, request: dict, log: Path, where: str) -> tuple[int, list[dict], str]:
    """(exit status, the JSON lines it printed, its other output) of one TFLM child."""
    ran = subprocess.run([sys.executable, "-c", children.code(_PROBE), str(model)], input=json.dumps(request), capture_output=True,
                         text=True, timeout=3600)
    with open(log, "a") as out:
        out.write(ran.stdout + ran.stderr)
    if "No module named 'tflite_micro'" in ran.stderr:  # never a fault of the model
        raise StepError(f"{where}: bundles.micro needs tflite-micro, which is not installed here: "
                        "pip install 'tflite-micro==0.dev20261023182759'")
    said, other = [], []
    for line in ran.stdout.splitlines():
        try:
            said.append(json.loads(line))
        except ValueError:
            other.append(line)
    return ran.returncode, said, "\n".join(other) + ran.stderr


class Refused(StepError):
    """TFLM will not prepare the model with an arena of any size: a kernel refuses one of its tensors' types
    (float16 weights' DEQUANTIZE), say. `reason` is TFLM's own complaint, in one line."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def refusal(text: str) -> str:
    """TFLM's complaint in its output: the node that failed to prepare, and the check that was not true."""
    import re

    check = re.search(r"^\S+\.cc:\d+ (.+ was not true)\.?$", text, re.M)
    node = re.search(r"^Node (\S+) \(number (\d+)\) failed to prepare", text, re.M)
    said = [f"{node.group(1)} (op {node.group(2)}) failed to prepare" if node else None, check.group(1) if check else None]
    return ": ".join(s for s in said if s) or "it could not allocate the model's tensors"


def arena(model: Path, log: Path, where: str) -> dict:
    """{"reported", "measured", "stated", "margin"} in bytes (see the module's docstring). Raises Refused when
    TFLM cannot prepare the model at all (at 16 MB, far beyond any microcontroller's RAM)."""
    import re

    status, _, text = _child(model, {"do": "report", "size": 1 << 24}, log, where)
    found = re.search(r"Arena allocation total (\d+) bytes", text)
    if status != 0 or found is None:
        reason = refusal(text) if status > 0 else _signal(status)
        raise Refused(f"{where}: TensorFlow Lite Micro cannot run the model: {reason} (full output: {log})", reason)
    reported = int(found.group(1))
    size = math.ceil(reported / ARENA_STEP) * ARENA_STEP
    while size <= max(4 * reported, reported + 64 * ARENA_STEP):
        sizes = list(range(size, size + 16 * ARENA_STEP, ARENA_STEP))
        status, said, _ = _child(model, {"do": "probe", "sizes": sizes}, log, where)
        done = next((s["ran"] for s in said if "ran" in s), None)
        if done is not None:
            margin = max(MARGIN_MIN, math.ceil(done * ARENA_MARGIN))
            return {"reported": reported, "measured": done, "stated": math.ceil((done + margin) / 16) * 16,
                    "margin": f"{ARENA_MARGIN:.0%} of the measured arena, at least {MARGIN_MIN} bytes"}
        tried = [s["trying"] for s in said if "trying" in s]
        size = (tried[-1] + ARENA_STEP) if tried and status != 0 else size + 16 * ARENA_STEP  # (a crash: go on after it)
    raise StepError(f"{where}: no arena up to {size} bytes ran the model in TensorFlow Lite Micro "
                    f"(full output: {log})")


def outputs(model: Path, arena_size: int, inputs: list[bytes], dtype: str, shape: list[int], count: int,
            log: Path, where: str) -> list[list[bytes]]:
    """The raw outputs (bytes, per output) TFLM gives for each raw input, at `arena_size` bytes."""
    status, said, _ = _child(model, {"do": "run", "sizes": [arena_size], "inputs": [b.hex() for b in inputs],
                                     "dtype": dtype, "shape": shape, "outputs": count}, log, where)
    if status != 0 or not any("ran" in s for s in said):
        why = next((s["why"] for s in said if "why" in s), _signal(status))
        raise StepError(f"{where}: the stated arena of {arena_size} bytes did not run the model in "
                        f"TensorFlow Lite Micro: {why} (full output: {log})")
    return [[bytes.fromhex(h) for h in s["outputs"]] for s in said if "outputs" in s]


def _signal(status: int) -> str:
    import signal

    return f"killed by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
