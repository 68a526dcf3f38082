"""Rewriting a .tflite through its object API (ModelT) without losing weights stored outside the flatbuffer.

The LiteRT Quantizer writes a large model's buffers after the flatbuffer, each named by an `offset` and a
`size` from the file's start (2.4 MB MobileNetV2 weights came out so). ModelT keeps the offsets but not the
bytes they point at, so a repacked model (metadata written in, a signature added) pointed past its own end:
LiteRT refused it with "Constant buffer 2 specified an out of range offset". Such buffers are put back
inside the flatbuffer before packing; a model under 2 GB needs no offsets.
"""
from __future__ import annotations


def inline_buffers(tree, model: bytes) -> None:
    """Give each of `tree`'s buffers stored at an offset of `model` its bytes, in place."""
    import numpy as np

    for buffer in tree.buffers or []:
        offset, size = int(getattr(buffer, "offset", 0) or 0), int(getattr(buffer, "size", 0) or 0)
        if offset > 1:
            buffer.data = np.frombuffer(model, np.uint8, count=size, offset=offset)
            buffer.offset, buffer.size = 0, 0
