"""The golden picture (golden.json "pictures") the apps' Bitmap / CGImage entry points are checked with: what the
data step makes of it when it is a PNG file, and what the generated Kotlin makes of it, as float32 bits."""
from __future__ import annotations

import io

import numpy as np


def data_step_values(picture: dict, color_mode: str, size: tuple[int, int]) -> list[int]:
    """The picture saved as a PNG and read back by the data step's own reader and resize, as float32 bits."""
    from PIL import Image

    from edgebuild.steps.datasets import picture_values, resize_bilinear

    rgb = np.asarray(picture["rgb"], np.uint8).reshape(picture["height"], picture["width"], 3)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    with Image.open(io.BytesIO(png.getvalue())) as image:
        values = picture_values(image, color_mode)
    values = values if values.ndim == 3 else values[..., None]
    return bits(resize_bilinear(values[None], size)[0].reshape(-1))


def bits(values) -> list[int]:
    return [int(b) for b in np.asarray([np.float32(v) for v in values], np.float32).view(np.int32)]


def argb(picture: dict) -> list[int]:
    """The picture's pixels as Bitmap.getPixels gives them: opaque ARGB, as (negative) Kotlin Ints."""
    rgb = picture["rgb"]
    return [(0xFF000000 | rgb[3 * i] << 16 | rgb[3 * i + 1] << 8 | rgb[3 * i + 2]) - (1 << 32) for i in range(len(rgb) // 3)]


def kotlin_call(processing: str, picture: dict) -> str:
    """A Kotlin statement printing what `processing`.pictureToRaw makes of a small picture, as float32 bits."""
    colors = ", ".join(str(v) for v in argb(picture))
    return (f"println({processing}.pictureToRaw(intArrayOf({colors}), {picture['width']}, {picture['height']})"
            f".joinToString(\",\") {{ java.lang.Float.floatToIntBits(it).toString() }})")


def kotlin_line(picture: dict) -> str:
    """A picture as a harness reads it from a file: "<width>x<height> <argb>,<argb>,...\"."""
    return f"{picture['width']}x{picture['height']} " + ",".join(str(v) for v in argb(picture))
