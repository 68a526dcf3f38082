"""The arithmetic between a picture or raw values and a model, and between a model's outputs and the task's
result, in NumPy alone.

The build runs it (the data step, the evaluation, the golden vectors) and the Linux bundle's package ships
this very file as its own `processing.py`, so a board computes what was measured here by construction,
not by a second copy kept in step by hand. It imports nothing but NumPy (inside each function, so that
validating a recipe loads none) and must keep to that: the package runs where edgebuild is not installed.
"""
from __future__ import annotations

GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601, in float32 and in this order, as the Kotlin and Swift wrappers


# --- raw values -> the model's input --------------------------------------------------------------

def is_placeholder(label: str) -> bool:
    """A label map's filler for an unused class index (COCO's '???'): no letter or digit. It keeps its position,
    may repeat, and no dataset category may name it."""
    return not any(c.isalnum() for c in label)


def picture_values(image, color_mode: str):
    """A PIL picture's raw values as the apps read them: RGB 0..255, or gray from RGB by GRAY_WEIGHTS (not
    PIL's rounded integer "L", which the apps could only approximate), in float32."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return rgb if color_mode != "grayscale" else to_gray(rgb)


def to_gray(rgb):
    """(..., 3) RGB values to gray: 0.299 R + 0.587 G + 0.114 B, float32 products summed left to right."""
    import numpy as np

    r, g, b = (np.float32(w) * rgb[..., i].astype(np.float32) for i, w in enumerate(GRAY_WEIGHTS))
    return (r + g) + b


def resize_bilinear(images, size):
    """Bilinear resize of (N, H, W[, C]) images with half-pixel centres, as tf.image.resize does."""
    import numpy as np

    height, width = images.shape[1:3]
    out_h, out_w = size

    def axis(n_in: int, n_out: int):
        src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0, n_in - 1)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, (src - low).astype(np.float32)

    y0, y1, wy = axis(height, out_h)
    x0, x1, wx = axis(width, out_w)
    shape_y = (1, out_h, 1) + (1,) * (images.ndim - 3)
    shape_x = (1, 1, out_w) + (1,) * (images.ndim - 3)
    wy, wx = wy.reshape(shape_y), wx.reshape(shape_x)
    rows = images[:, y0] * (1 - wy) + images[:, y1] * wy
    return (rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx).astype(np.float32)


def apply_preprocess(x, resolved: dict):
    """resize, then scale, then normalize (`resolved`: the data step's preprocess.json): the order the apps repeat."""
    import numpy as np

    x = x.astype(np.float32)
    if resolved["resize"] and tuple(x.shape[1:3]) != tuple(resolved["resize"]):
        x = resize_bilinear(x, resolved["resize"])
    if resolved["scale"] is not None:
        x = x * np.float32(resolved["scale"])
    if resolved["mean"] is not None:
        x = (x - np.asarray(resolved["mean"], np.float32)) / np.asarray(resolved["std"], np.float32)
    return x.astype(np.float32)


def quantize(x, dtype, scale: float, zero_point: int):
    """Features in the model's input type: as they are for a float input; for an integer one, rounded (ties to
    even) to the quantization grid, a NaN to the zero point, an infinity clipped to the type's range."""
    import numpy as np

    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    info = np.iinfo(dtype)
    q = np.round(x / scale + zero_point)
    q = np.where(np.isnan(q), zero_point, q)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(y, scale: float, zero_point: int):
    """An output in float32: as it is, or (q - zero point) x scale for an integer one."""
    import numpy as np

    if not np.issubdtype(y.dtype, np.integer):
        return y.astype(np.float32)
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


# --- the model's outputs -> the task's result -----------------------------------------------------

def class_scores(output, n_labels: int):
    """One score per label: the output itself, or [1 - p, p] for a single sigmoid unit."""
    import numpy as np

    output = np.asarray(output, np.float32).reshape(-1)
    if output.size == 1 and n_labels == 2:
        return np.asarray([np.float32(1) - output[0], output[0]], np.float32)
    return output


def top_classes(scores, k: int):
    """The k best labels' indices: highest score first, NaN last, ties to the earlier label."""
    import numpy as np

    return [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")[:k]]


def predicted_mask(outputs):
    """[N, h, w] class indices from scores [N, h, w, C] (or one sigmoid channel, [N, h, w] or [N, h, w, 1]): the
    class of the highest score, NaN counting as -infinity, ties to the earlier class; for one sigmoid channel,
    1 where the score is above 0.5. The metrics and the bundles' wrappers (golden vectors) use this rule."""
    import numpy as np

    outputs = np.asarray(outputs)
    if outputs.ndim == 4 and outputs.shape[-1] > 1:
        if np.isnan(outputs).any():
            outputs = np.where(np.isnan(outputs), -np.inf, outputs)
        return outputs.argmax(axis=-1)
    return (outputs.reshape(outputs.shape[:3]) > 0.5).astype(np.int64)


def to_pixels(box, width: float, height: float) -> list[float]:
    """(ymin, xmin, ymax, xmax) in 0..1 -> COCO's [x, y, w, h] in the picture's pixels, clipped to it."""
    ymin, xmin, ymax, xmax = (float(v) for v in box)
    x0, x1 = min(max(xmin * width, 0.0), width), min(max(xmax * width, 0.0), width)
    y0, y1 = min(max(ymin * height, 0.0), height), min(max(ymax * height, 0.0), height)
    return [x0, y0, max(x1 - x0, 0.0), max(y1 - y0, 0.0)]


def picture_detections(detections: dict, i: int, width: float, height: float) -> list[list[float]]:
    """Picture i's detections as [class, score, x, y, w, h] rows in its own pixels (`detections`: the
    TFLite_Detection_PostProcess op's boxes, classes, scores and count, each with its batch)."""
    count = int(detections["count"][i])
    return [[int(detections["classes"][i, k]), float(detections["scores"][i, k]),
             *to_pixels(detections["boxes"][i, k], width, height)] for k in range(count)]


def has_batch(input_shape) -> bool:
    """Whether a model's input has a batch dimension. Every input has one but an input of rank 1, which is one
    sample of a 1-D signal (a waveform [samples], as YAMNet's [15600]), taken one sample per invoke."""
    return len(input_shape) != 1


def starts_with_batch(shape, batched: bool) -> bool:
    """Whether a tensor of `shape` starts with a batch dimension: always for a model whose input has one; for one
    without, only an output starting with 1 that has more dimensions ([1, classes] is one sample's)."""
    return batched or (len(shape) >= 2 and shape[0] == 1)


def batch_of_one(y, batched: bool):
    """One invoke's output array as a batch of one (a [classes] output gets [1, classes])."""
    return y if starts_with_batch(y.shape, batched) else y[None]
