"""Golden vectors: test inputs with the bytes and labels the LiteRT interpreter gave for them, so the
apps' own tests prove on a device that they give what edgebuild measured.

Besides the first test samples, three edge vectors put NaN, +infinity and -infinity into the first
sample, so the apps' preprocessing, quantization and top-k are held to the same rules as here:
a NaN quantizes to the zero point, an infinity to the end of the type's range, and a NaN score
ranks after every number (NumPy's order). JSON has no NaN or infinity, so such a value is written
as the string "NaN", "Infinity" or "-Infinity", which Java's Double.valueOf and Foundation's
JSONDecoder (`.convertFromString`) read back.
"""
from __future__ import annotations

from typing import Callable

from ..kinds import json_float
from ..steps.evaluate import TFLiteRunner

EDGE_VALUES = (float("nan"), float("inf"), float("-inf"))


def edge_samples(raw):
    """The first sample three times, with NaN, +inf and -inf in its first values (one each, in turn)."""
    import numpy as np

    first = np.asarray(raw[0], np.float32)
    samples = []
    for shift in range(len(EDGE_VALUES)):
        sample = first.copy().reshape(-1)
        for i, value in enumerate(EDGE_VALUES):
            sample[(i + shift) % sample.size] = value
        samples.append(sample.reshape(first.shape))
    return samples


def golden_vectors(runner: TFLiteRunner, raw, preprocess: dict, expected: Callable[[object], dict],
                   roles: dict[str, int] | None = None) -> list[dict]:
    """Test inputs (the data's own, then the edge vectors) with what the LiteRT interpreter gave for them:
    the raw output's bytes, and what the wrapper makes of it (`expected(dequantized output)`: the task
    kind's golden fields, such as the top labels). For a model of several outputs (`roles`: name -> position)
    `expected` gets {name: dequantized output} and the raw sample, and records the outputs' bytes itself."""
    import numpy as np

    from ..steps.datasets import apply_preprocess

    vectors = []
    for sample in [*raw, *edge_samples(raw)]:
        features = apply_preprocess(sample[None], {**preprocess, "resize": None})
        model_input = runner.quantize(features)
        vector = {"raw": [json_float(v) for v in sample.reshape(-1)], "input_hex": model_input.tobytes().hex()}
        if roles is None:
            raw_output = runner.invoke(model_input)
            vector["output_hex"] = raw_output.tobytes().hex()
            vector.update(expected(runner.dequantize(raw_output)[0]))
        else:
            runner.invoke(model_input)
            outputs = [np.array(runner.interpreter.get_tensor(d["index"])) for d in runner.outputs]
            vector.update(expected({role: runner.dequantize(outputs[k], runner.outputs[k])[0]
                                    for role, k in roles.items()}, sample))
        vectors.append(vector)
    return vectors
