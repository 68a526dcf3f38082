"""Which ops of a model LiteRT's GPU delegate would take and which would fall back to the CPU: advisory.

Read from the flatbuffer alone against the delegate's own rules, kept as data in gpu_rules.py; nothing
runs on a GPU here (the build machine has none), and a device's GPU driver can still refuse what the
rules accept. Partitions are counted as runs of supported ops in execution order, which is what LiteRT's
partitioner finds for a chain of ops; it may join the branches of a graph that forks.
"""
from __future__ import annotations

import math
from dataclasses import replace

from . import gpu_rules

CHECKS = {"io", "consts", "inputs", "min_inputs", "outputs", "operands", "conv_io", "runtime_at_most", "first_not_const",
          "positive", "activation", "option", "not_both", "above_one", "rank", "type", "not_type", "const_int32", "cast",
          "broadcast", "keep_num_dims", "paddings", "depthwise", "lstm"}  # what each means: _broken
SIGN_BIT = 5  # ActivationFunctionType.SIGN_BIT: the one fused activation the delegate lacks


def readiness(model: bytes) -> dict:
    """{"ops", "gpu_ops", "fallback_ops", "partitions", "refused": [{"index", "op", "why"}], "fallback": [...]}:
    the ops the rules refuse, and every op outside the largest run of supported ones (the delegate takes one)."""
    from ai_edge_litert import schema_py_generated as schema

    from .tensors import parse_model

    _, _, graph, tensors, ops = parse_model(model)
    # a float16 model's weights reach its ops through DEQUANTIZE: the delegate reads them as the float16
    # constants they are (FP16GraphPartitionHelper), so its rules see constants there
    for op in ops:
        if op.op == "DEQUANTIZE" and op.inputs and tensors[op.inputs[0]].constant and \
                tensors[op.inputs[0]].dtype == "float16":
            tensors = {**tensors, op.outputs[0]: replace(tensors[op.outputs[0]], constant=True)}
    refused = []
    for op in ops:
        raw = graph.Operators(op.index)
        inputs = [int(i) for i in raw.InputsAsNumpy()] if raw.InputsLength() else []
        options = schema.OperatorT.InitFromObj(raw).builtinOptions
        why = refusal(op.op, op.kind, inputs, op.outputs, tensors, options)
        if why:
            refused.append({"index": op.index, "op": op.op, "why": why})
    runs, run = [], []
    refused_at = {r["index"] for r in refused}
    for op in ops:
        if op.index in refused_at:
            runs, run = runs + [run] if run else runs, []
        else:
            run.append(op.index)
    runs += [run] if run else []
    largest = max(runs, key=len) if runs else []
    fallback = [{"index": op.index, "op": op.op} for op in ops if op.index not in largest]
    return {"ops": len(ops), "gpu_ops": len(largest), "fallback_ops": len(ops) - len(largest), "partitions": len(runs),
            "refused": refused, "fallback": fallback,
            "rules": f"LiteRT {gpu_rules.LITERT_COMMIT}: gpu_compatibility.cc and model_builder.cc"}


def refusal(name: str, kind: str, inputs: list[int], outputs: list[int], tensors: dict, options) -> str | None:
    """Why the GPU delegate would not take this op, or None."""
    if kind != "builtin":
        return None if kind == "custom" and name in gpu_rules.CUSTOM_OPS else f"{kind} op {name} has no GPU kernel"
    if name not in gpu_rules.RULES:
        return f"{name} has no GPU kernel"
    for rule in gpu_rules.RULES[name]:
        why = _broken(rule, inputs, outputs, tensors, options)
        if why:
            return why
    return _tensor_refusal(name, inputs, outputs, tensors)


def _tensor_refusal(name: str, inputs: list[int], outputs: list[int], tensors: dict) -> str | None:
    for side, indices, extra in (("input", inputs, gpu_rules.EXTRA_INPUT_TYPES),
                                 ("output", outputs, gpu_rules.EXTRA_OUTPUT_TYPES)):
        allowed = gpu_rules.TENSOR_TYPES + extra.get(name, ())
        for i in (i for i in indices if i >= 0):
            t = tensors[i]
            if len(t.shape) > gpu_rules.MAX_RANK:
                return f"{side} {t.name!r} has rank {len(t.shape)} (at most {gpu_rules.MAX_RANK})"
            if not t.constant and t.dtype not in allowed:
                return f"{side} {t.name!r} is {t.dtype} (computed tensors: {', '.join(allowed)})"
    return None


def _broken(rule: tuple, inputs: list[int], outputs: list[int], tensors: dict, options) -> str | None:
    """What breaks one rule (gpu_rules.RULES), or None."""
    kind, *args = rule
    if kind not in CHECKS:
        raise ValueError(f"gpu_rules: no such check {kind!r}")  # (a misspelt rule would otherwise pass)
    present = [i for i in inputs if i >= 0]
    runtime = [i for i in present if not tensors[i].constant]
    consts = len(present) - len(runtime)

    def field(name):
        return getattr(options, name, None)

    def tensor(k):
        return tensors[inputs[k]] if k < len(inputs) and inputs[k] >= 0 else None

    if kind == "io":
        allowed, n_out = args
        if len(runtime) not in allowed or len(outputs) != n_out:
            return (f"takes {' or '.join(map(str, allowed))} computed input(s) and {n_out} output(s); "
                    f"has {len(runtime)} and {len(outputs)}")
    elif kind == "consts" and consts != args[0]:
        return f"takes {args[0]} constant input(s); has {consts}"
    elif kind == "inputs" and len(inputs) != args[0]:
        return f"takes {args[0]} inputs; has {len(inputs)}"
    elif kind == "min_inputs" and len(inputs) < args[0]:
        return f"takes at least {args[0]} inputs; has {len(inputs)}"
    elif kind == "outputs" and len(outputs) != args[0]:
        return f"takes {args[0]} output(s); has {len(outputs)}"
    elif kind == "operands" and not ((len(runtime), consts) in ((2, 0), (1, 1)) and len(outputs) == 1):
        return "takes two computed operands, or one and a constant"
    elif kind == "conv_io" and not (1 <= len(runtime) <= 2 and len(outputs) == 1 and len(inputs) >= 2):
        return f"takes 1 or 2 computed inputs and a filter; has {len(runtime)} computed"
    elif kind == "runtime_at_most" and len(runtime) > args[0]:
        return f"takes at most {args[0]} computed inputs; has {len(runtime)}"
    elif kind == "first_not_const" and present and tensors[present[0]].constant:
        return "a constant input"
    elif kind == "positive":
        bad = [f"{name} {field(name)}" for name in args if (field(name) or 0) <= 0]
        if bad:
            return "needs positive " + ", ".join(bad)
    elif kind == "activation" and field("fusedActivationFunction") == SIGN_BIT:
        return "a fused SIGN_BIT activation"
    elif kind == "option" and field(args[0]) != args[1]:
        return f"{args[0]} {field(args[0])} (needs {args[1]})"
    elif kind == "not_both" and field(args[0]) and field(args[1]):
        return f"both {args[0]} and {args[1]}"
    elif kind == "above_one" and (field(args[0]) or 0) <= 1:
        return f"{args[0]} {field(args[0])} (needs more than 1)"
    elif kind == "rank":
        t = tensor(args[0])
        if t is None or len(t.shape) not in args[1]:
            return f"input {args[0]} of rank {len(t.shape) if t else 'none'} (needs {' or '.join(map(str, args[1]))})"
    elif kind == "type":
        t = tensor(args[0])
        if t is None or t.dtype not in args[1]:
            return f"input {args[0]} is {t.dtype if t else 'missing'} (needs {', '.join(args[1])})"
    elif kind == "not_type":
        t = tensor(args[0])
        if t is not None and t.dtype == args[1]:
            return f"input {args[0]} is {args[1]}"
    elif kind == "const_int32":
        t = tensor(args[0])
        if t is None or not t.constant or t.dtype != "int32":
            return f"input {args[0]} (the axes) must be a constant int32 tensor"
    elif kind == "cast":
        source, target = tensor(0), tensors[outputs[0]] if outputs else None
        pairs = {("bool", "float16"), ("bool", "float32"), ("float16", "bool"), ("float32", "bool"),
                 ("float32", "float32"), ("float32", "int32"), ("int32", "float32"), ("int32", "int32")}
        if source is None or target is None or (source.dtype, target.dtype) not in pairs:
            return f"casts {source.dtype if source else '?'} to {target.dtype if target else '?'}"
    elif kind == "broadcast":
        return _broadcast(tensor(0), tensor(1))
    elif kind == "keep_num_dims" and field("keepNumDims") and present and outputs and \
            len(tensors[present[0]].shape) != len(tensors[outputs[0]].shape):
        return "keep_num_dims with input and output of different ranks"
    elif kind == "paddings":
        t = tensor(1)
        if t is None or len(t.shape) != 2 or t.shape[0] not in (3, 4) or t.shape[1] != 2:
            return f"paddings of shape {t.shape if t else 'none'} (needs 4x2 or 3x2)"
    elif kind == "depthwise":
        return _depthwise(tensor(0), tensor(1), tensor(2), tensors[outputs[0]], field("depthMultiplier"))
    elif kind == "lstm":
        return _lstm(inputs, outputs, runtime, consts, tensors, options)
    return None


def _broadcast(a, b) -> str | None:
    """ADD and MUL with the enhanced broadcast (the flag LiteRT's own model check passes)."""
    if a is None or b is None:
        return "takes two inputs"
    if len(a.shape) > 1 and len(b.shape) > 1 and len(a.shape) != len(b.shape):
        longer, shorter = (a.shape, b.shape) if len(a.shape) >= len(b.shape) else (b.shape, a.shape)
        for x, y in zip(reversed(longer), reversed(shorter)):
            if x != y and x != 1 and y != 1:
                return f"cannot broadcast {a.shape} with {b.shape}"
    return None


def _depthwise(source, weights, bias, output, multiplier) -> str | None:
    if source is None or weights is None or len(source.shape) != 4 or len(weights.shape) != 4 or len(output.shape) != 4:
        return "input, filter and output must be 4-D"
    if source.shape[0] != output.shape[0] or weights.shape[3] != output.shape[3] or \
            output.shape[3] != source.shape[3] * (multiplier or 0):
        return "filter, depth multiplier and output channels disagree"
    if bias is not None and math.prod(bias.shape) != output.shape[3]:
        return "bias size differs from the output channels"
    return None


def _lstm(inputs, outputs, runtime, consts, tensors, options) -> str | None:
    kernel = getattr(options, "kernelType", 0)
    activation = getattr(options, "fusedActivationFunction", 0)
    if kernel == 0:  # the full kernel
        if len(inputs) not in (20, 24) or len(outputs) != 1:
            return f"takes 20 or 24 inputs and 1 output; has {len(inputs)} and {len(outputs)}"
        return None if activation == 4 else "only a tanh activation"  # (TFLite's sigmoid has no schema value)
    if len(runtime) != 3 or consts != 2 or len(outputs) != 4:
        return "the basic kernel takes 3 computed inputs, 2 constants and 4 outputs"
    if tensors[outputs[3]].shape and tensors[outputs[3]].shape[-1] % 4:
        return "activation depth not a multiple of 4"
    if activation != 4 or getattr(options, "cellClip", 0) or getattr(options, "projClip", 0):
        return "only tanh, without cell or projection clipping"
    return None
