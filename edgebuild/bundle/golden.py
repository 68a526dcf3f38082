"""Golden vectors: test inputs with the bytes and labels the LiteRT interpreter gave for them, so the
apps' own tests prove on a device that they give what edgebuild measured."""
from __future__ import annotations

from ..evaluate import TFLiteRunner

TOP_K = 3


def golden_vectors(runner: TFLiteRunner, raw, preprocess: dict, labels: list[str]) -> list[dict]:
    """Test inputs with what the LiteRT interpreter gave for them, for the apps' own tests."""
    import numpy as np

    from ..datasets import apply_preprocess

    vectors = []
    for sample in raw:
        features = apply_preprocess(sample[None], {**preprocess, "resize": None})
        model_input = runner.quantize(features)
        raw_output = runner.invoke(model_input)
        scores = class_scores(runner.dequantize(raw_output)[0], len(labels))
        order = np.argsort(-scores, kind="stable")[:TOP_K]
        vectors.append({
            "raw": [float(v) for v in sample.reshape(-1)],
            "input_hex": model_input.tobytes().hex(),
            "output_hex": raw_output.tobytes().hex(),
            "scores": [float(s) for s in scores],
            "top": [{"label": labels[i], "score": float(scores[i])} for i in order],
        })
    return vectors


def class_scores(output, n_labels: int):
    """One score per label: the output itself, or [1 - p, p] for a single sigmoid unit."""
    import numpy as np

    output = np.asarray(output, np.float32).reshape(-1)
    if output.size == 1 and n_labels == 2:
        return np.asarray([np.float32(1) - output[0], output[0]], np.float32)
    return output
