"""keep_float: auto. Find the smallest int8 model that passes the target's thresholds by keeping a
few ops in float, with few conversions, all from the calibration the int8 conversion kept.

Ranking ops by their own quantization error (the debugger's RMSE/scale) is not enough: errors
propagate, and the op that breaks a model is often not the one with the largest error. An MLP
over raw wine features with a Normalization layer inside gives chance accuracy fully quantized,
and still does with the 1, 2 or 3 worst ops by RMSE/scale kept in float; keeping its first two
ops (the normalization's SUB and MUL) in float restores the float accuracy. So the search works
on the graph and on measured model-level accuracy:

1. Quantize fully; if that passes, keep nothing.
2. For each ordering of the ops (from the input side in execution order, from the output side,
   and by the debugger's error when it is known), find the shortest passing head of that order:
   double its length (1, 2, 4, ...) until one passes, then bisect between the last failing and
   the first passing length. About 2 log2(n) quantizations per ordering.
3. Take the smallest passing model of those, then try dropping each kept op in turn and keep
   every drop that still passes: the result keeps no op it could do without (1-minimal).

Each step is a re-quantization of the calibrated model (no tracing, no calibration) and one
accuracy run in LiteRT. The search stops an ordering once its model is as large as the
float16 one would be (or at `max_float_layers`): past that, float16 is the better answer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence


@dataclass(frozen=True)
class Attempt:
    kept: tuple[str, ...]  # op output names kept in float, in execution order
    value: float  # the task's primary metric (accuracy, MAE, mIoU)
    size_bytes: int
    latency_ms: float | None
    passed: bool
    failures: tuple[str, ...] = ()
    how: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(kept=list(self.kept), failures=list(self.failures), float_layers=len(self.kept))
        return data


@dataclass
class SearchResult:
    best: Attempt  # the passing model with the fewest float ops, else the most accurate attempt
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.best.passed


Measure = Callable[[tuple[str, ...]], Attempt]


class _Runs:
    """Each set of kept ops measured once, in the order the search asked for them."""

    def __init__(self, nodes: Sequence[str], measure: Measure):
        self.order = {name: i for i, name in enumerate(nodes)}
        self.measure = measure
        self.done: dict[tuple[str, ...], Attempt] = {}
        self.attempts: list[Attempt] = []

    def __call__(self, kept, how: str) -> Attempt:
        key = tuple(sorted(set(kept), key=self.order.__getitem__))
        if key not in self.done:
            attempt = self.measure(key)
            attempt = Attempt(key, attempt.value, attempt.size_bytes, attempt.latency_ms, attempt.passed,
                              tuple(attempt.failures), how)
            self.done[key] = attempt
            self.attempts.append(attempt)
        return self.done[key]


def _shortest_passing_head(order: Sequence[str], runs: _Runs, limit: int, size_cap: int | None,
                           name: str) -> Attempt | None:
    """The shortest passing head of `order` (doubling, then bisection), or None within the limits."""
    failing, passing, k = 0, None, 1
    while k <= limit:
        attempt = runs(order[:k], f"{name}: first {k}")
        if attempt.passed:
            passing = (k, attempt)
            break
        if size_cap is not None and attempt.size_bytes >= size_cap:
            return None  # as large as float16 and still failing
        failing = k
        if k == limit:
            return None
        k = min(2 * k, limit)
    if passing is None:
        return None
    high, best = passing
    while high - failing > 1:
        middle = (failing + high) // 2
        attempt = runs(order[:middle], f"{name}: first {middle}")
        if attempt.passed:
            high, best = middle, attempt
        else:
            failing = middle
    return best


def search(nodes: Sequence[str], measure: Measure, max_float: int | None = None, size_cap: int | None = None,
           rankings: Sequence[tuple[str, Sequence[str]]] = (), higher_is_better: bool = True) -> SearchResult:
    """The smallest passing set of `nodes` (op output names, in execution order) to keep in float.

    `measure(kept)` quantizes with those ops kept in float and judges the model; `rankings` adds
    orderings (name, ops) to try beside the graph's two ends, e.g. by the debugger's error. When
    nothing passes, the best attempt is the one with the best value (`higher_is_better`: accuracy
    and mIoU are, MAE is not)."""
    runs = _Runs(nodes, measure)
    full = runs((), "fully quantized")
    if full.passed or not nodes:
        return SearchResult(full, runs.attempts)
    limit = min(len(nodes), max_float if max_float is not None else len(nodes))
    orderings = [("input side", list(nodes)), ("output side", list(reversed(nodes)))]
    orderings += [(name, [n for n in order if n in runs.order]) for name, order in rankings]
    found = [a for name, order in orderings if order and limit > 0
             for a in [_shortest_passing_head(order, runs, min(limit, len(order)), size_cap, name)] if a]
    if not found:
        sign = 1 if higher_is_better else -1
        return SearchResult(max(runs.attempts, key=lambda a: (sign * a.value, -len(a.kept))), runs.attempts)
    best = min(found, key=lambda a: (a.size_bytes, len(a.kept)))
    for node in list(best.kept):
        trial = tuple(n for n in best.kept if n != node)
        if not trial:
            continue  # keeping nothing is the fully quantized model, which failed
        attempt = runs(trial, f"without {node}")
        if attempt.passed and (attempt.size_bytes, len(attempt.kept)) <= (best.size_bytes, len(best.kept)):
            best = attempt
    return SearchResult(best, runs.attempts)


def pinned(kept: Sequence[str]) -> list[str]:
    """The keep_float list that reproduces a result: each op's output name as an anchored pattern."""
    import re

    return [f"^{re.escape(name)}$" for name in kept]


# --- the keep_float part of a convert step ------------------------------------------------------------

SEARCH_LIMITS = ("max_size_kb",)  # what auto must meet besides the task's own limits (latency is too noisy)


def search_limits(recipe, target) -> dict:
    """The thresholds keep_float: auto must meet: the task's primary ones (accuracy, MAE, mIoU) and size."""
    names = (*recipe.kind.search_limits, *SEARCH_LIMITS)
    return {k: v for k, v in recipe.thresholds_for(target).items() if k in names}
QUICK_INVOKES = 20  # latency of each search step: median of this many single-sample invokes, after 3


def float_ops(calibrated: bytes) -> list[tuple[str, str]]:
    """(output name, op) of every op of the calibrated model that computes a float tensor, in execution
    order: the names `keep_float` patterns match and the quantizer's denylist takes."""
    from ..tflite.tensors import parse_model

    _, _, _, tensors, ops = parse_model(calibrated)
    return [(tensors[op.outputs[0]].name, op.op) for op in ops
            if op.outputs and tensors[op.outputs[0]].dtype == "float32"]


def all_ops(model: bytes) -> list[tuple[str, str]]:
    """(output name, op) of every op, in execution order, whatever its output's type (RFFT2D's is complex)."""
    from ..tflite.tensors import parse_model

    _, _, _, tensors, ops = parse_model(model)
    return [(tensors[op.outputs[0]].name, op.op) for op in ops if op.outputs]


def quantize_keeping(calibrated: bytes, kept, io: str | None, log, float_outputs: bool = False) -> bytes:
    """The calibrated model quantized as the int8 conversion does, with the `kept` ops left in float
    (`float_outputs`: the outputs stay float32 whatever `io`, as a detector's do)."""
    from .. import progress

    tf = progress.tensorflow(log)
    from tensorflow.lite.python import convert as tflite_convert

    io_type = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[io or "float32"]
    with progress.tool_output(log):
        return bytes(tflite_convert.mlir_quantize(calibrated, disable_per_channel=False, input_data_type=io_type,
                                                  output_data_type=tf.float32 if float_outputs else io_type,
                                                  denylisted_nodes=list(kept) or None))


SPECTRAL_OPS = ("RFFT2D", "RFFT", "COMPLEX_ABS", "REAL", "IMAG", "SQRT", "RSQRT", "POW", "LOG")
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_3D", "TRANSPOSE_CONV", "FULLY_CONNECTED", "BATCH_MATMUL")


def front_end(ops: list[tuple[str, str]]) -> tuple[str, ...]:
    """A sound model's front end, from the graph: the prefix of its ops (in execution order, a dataflow order)
    from the input through the spectrogram, ending before the first weighted op that follows the last spectral
    op (RFFT2D, the magnitude, the log). Keras' MelSpectrogram: framing, RFFT2D, power, the mel matrix (a
    FULLY_CONNECTED before the log), the log and the dB clip; then the network's first CONV_2D. Empty when the
    model has no RFFT2D."""
    kinds = [op for _, op in ops]
    if not any(op.startswith("RFFT") for op in kinds):
        return ()
    last_spectral = max(i for i, op in enumerate(kinds) if op in SPECTRAL_OPS)
    end = next((i for i in range(last_spectral + 1, len(kinds)) if kinds[i] in WEIGHTED_OPS), len(kinds))
    return tuple(name for name, _ in ops[:end])


def matching(names: list[str], patterns: list[str], where: str) -> tuple[str, ...]:
    """The op names the patterns match; a pattern that matches none is an error naming it."""
    import re

    from ..errors import StepError

    kept = []
    for pattern in patterns:
        hits = [n for n in names if re.search(pattern, n)]
        if not hits:
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise StepError(f"{where}: keep_float: pattern {pattern!r} matches no op of the model "
                            f"(its ops' output names: {shown}; `edgebuild inspect` lists them all)")
        kept += [n for n in hits if n not in kept]
    return tuple(n for n in names if n in kept)


def keep_float(recipe, layout, target, calibrated: bytes, log) -> bytes:
    """A converter keep_float target's model, from the calibration its int8 conversion kept."""
    made: dict[tuple, bytes] = {}

    def quantize(kept) -> bytes:
        made[tuple(kept)] = quantize_keeping(calibrated, kept, target.io, log, recipe.kind.float_outputs)
        return made[tuple(kept)]
    kept = keep_float_with(recipe, layout, target, calibrated, quantize, log)
    return made[kept] if kept in made else quantize(kept)


def keep_float_with(recipe, layout, target, float_model: bytes, quantize: Callable, log) -> tuple[str, ...]:
    """Which ops a keep_float target keeps in float: the listed ones, or the auto search's result, made
    by `quantize(kept) -> model bytes` (the converter's or the LiteRT Quantizer's). Writes mixed.json."""
    from .. import progress
    from ..layout import read_json, write_json
    from ..tflite.runner import TFLiteRunner
    from .evaluate import evaluation_split
    from .gate import judge

    ops = float_ops(float_model)
    names = [name for name, _ in ops]
    where = recipe.where(target.name)
    if target.keep_float == "front_end":
        kept = tuple(name for name in front_end(all_ops(float_model)) if name in names)
        if not kept and target.name in recipe.front_end_by_default:
            write_json(layout.mixed(target.name), {
                "mode": "front_end", "kept": [], "keep_float": [], "steps": [],
                "why": "the model has no spectral front end (no RFFT2D op): every op is quantized"})
            progress.say("keep_float front_end: the model has no spectrogram; every op is quantized")
            return kept
        if not kept:
            from ..errors import StepError

            raise StepError(f"{where}: keep_float: front_end: the model has no spectral front end (no RFFT2D op); "
                            f"expected a model that computes its own spectrogram, or another keep_float")
        write_json(layout.mixed(target.name), {
            "mode": "front_end", "kept": _kept_json(kept, ops), "keep_float": pinned(kept), "steps": [],
            "why": f"the model's front end, the first {len(kept)} of its {len(names)} float ops: from its input "
                   f"through its spectrogram (RFFT2D), up to its first weighted op after the last of "
                   f"{', '.join(SPECTRAL_OPS)}; quantized, the spectrogram's range would be lost"})
        progress.say(f"keep_float front_end: {len(kept)} ops from the waveform through the spectrogram stay float")
        return kept
    if target.keep_float != "auto":
        kept = matching(names, list(target.keep_float), where)
        write_json(layout.mixed(target.name), {"mode": "list", "kept": _kept_json(kept, ops),
                                               "keep_float": list(target.keep_float), "steps": []})
        return kept

    data = evaluation_split(layout)
    kind = recipe.kind
    reference = read_json(layout.reference)
    limits = search_limits(recipe, target)

    def measure(kept) -> Attempt:
        model = quantize(kept)
        with progress.tool_output(log):
            measured = kind.measure(recipe, kind.run_tflite(recipe, model, data.x_test), data.y_test)
            latency = _quick_latency(TFLiteRunner(model), data.x_test[0])
        metrics = {**measured, **kind.compare(measured, reference), "size_bytes": len(model)}
        verdict = judge(where, limits, metrics)
        progress.say(f"keep_float auto: {len(kept)} ops in float: {kind.line(measured)}, {len(model)} bytes"
                     f"{'' if verdict.passed else ' (fails)'}")
        return Attempt(kept, metrics[kind.primary], len(model), latency, verdict.passed, tuple(verdict.failures))

    size_cap = None if target.max_float_layers else _float16_size(float_model)
    result = search(names, measure, max_float=target.max_float_layers, size_cap=size_cap,
                    higher_is_better=kind.higher_is_better)
    best = result.best
    write_json(layout.mixed(target.name), {
        "mode": "auto", "passed": best.passed, "kept": _kept_json(best.kept, ops),
        "keep_float": pinned(best.kept), "limits": limits, "metric": kind.primary,
        "reference_value": reference[kind.primary],
        "max_float_layers": target.max_float_layers, "float16_size_bytes": size_cap, "ops": len(names),
        "conversions": len(result.attempts), "steps": [a.to_json() for a in result.attempts],
        "best": best.to_json(), "fully_quantized": result.attempts[0].to_json(),
    })
    return best.kept


def _kept_json(kept, ops) -> list[dict]:
    kinds = dict(ops)
    return [{"name": name, "op": kinds[name]} for name in kept]


FLOAT16_TENSOR_BYTES = 128  # what float16 adds per weight tensor: a float16 copy's entry and a DEQUANTIZE op


def _float16_size(calibrated: bytes) -> int:
    """About what the float16 model would weigh: the calibrated float32 model with its float32 weights
    halved, plus a DEQUANTIZE op and tensor entry per weight tensor (measured here, about 128 bytes)."""
    from ..tflite.tensors import parse_model

    _, _, _, tensors, _ = parse_model(calibrated)
    weights = [t.bytes for t in tensors.values() if t.constant and t.dtype == "float32"]
    return len(calibrated) - sum(weights) // 2 + FLOAT16_TENSOR_BYTES * len(weights)


def _quick_latency(runner, sample) -> float:
    """Median ms of QUICK_INVOKES single-sample invokes: a search step's latency, cheap and rough."""
    import time

    import numpy as np

    interpreter = runner.interpreter
    interpreter.set_tensor(runner.input["index"], runner.feed(sample))
    for _ in range(3):
        interpreter.invoke()
    times = []
    for _ in range(QUICK_INVOKES):
        started = time.perf_counter_ns()
        interpreter.invoke()
        times.append(time.perf_counter_ns() - started)
    return float(np.median(times) / 1e6)
