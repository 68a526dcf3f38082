"""What the converter, the LiteRT Quantizer or LiteRT said, as one readable line, and what a user can do.

LiteRT's Python errors glue its C++ error reporter's messages together without separators:

    failed to delegate CONCATENATION node #65tflite/kernels/conv.cc:390 affine_quantization->zero_point->data[i]
    != 0 (-11 != 0)Node number 0 (CONV_2D) failed to prepare.

`first_complaint` cuts such a text where each message starts, drops the notes that are no fault (an op
XNNPACK leaves to the built-in kernels), and puts the failing node first:
`CONV_2D (node 0) failed to prepare: tflite/kernels/conv.cc:390 affine_quantization->zero_point->data[i] != 0 (-11 != 0)`.
"""
from __future__ import annotations

import re

# where one of LiteRT's (or TensorFlow's) messages starts inside a glued text
_STARTS = re.compile(r"(?=(?:tensorflow/(?:lite|compiler)/[\w/.]+:\d+|tflite/[\w/.]+:\d+|Node number \d+ \(|"
                     r"failed to delegate |Failed to |Didn't find |Encountered unresolved |ERROR: |error: ))")
_NOTES = re.compile(r"^(failed to delegate |INFO: |WARNING: |Created TensorFlow Lite)")
_NODE = re.compile(r"^Node number (\d+) \((\w+)\) failed to (\w+)\.?$")

HINTS = (  # (pattern in the tool's text, what the user can do)
    (re.compile(r"zero_point.*!= 0"),
     "the quantizer gave an op's weights a non-zero zero point, which LiteRT's kernel refuses: keep that op in "
     "float (keep_float), or pick another mode or backend"),
    (re.compile(r"Didn't find (op for builtin opcode|custom op)|Encountered unresolved custom op"),
     "the model has an op this LiteRT cannot run: see `edgebuild inspect` for its ops"),
)


def first_complaint(text: str, fallback: str = "no message") -> str:
    """The first real complaint in a tool's error text, on one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    parts = [part.strip() for line in lines for part in _STARTS.split(line) if part.strip()]
    real = [part for part in parts if not _NOTES.match(part)] or parts
    if not real:
        return fallback
    node = next((m for m in map(_NODE.match, real) if m), None)
    others = [part for part in real if not _NODE.match(part)]
    if node is not None:
        said = f"{node.group(2)} (node {node.group(1)}) failed to {node.group(3)}"
        return f"{said}: {others[0]}" if others else said
    return real[0]


def hint(text: str) -> str | None:
    """What the user can do about a known failure, or None."""
    return next((advice for pattern, advice in HINTS if pattern.search(str(text))), None)


def one_line(text: str, fallback: str = "no message") -> str:
    """The first complaint, and the hint when the cause is known."""
    advice = hint(text)
    return first_complaint(text, fallback) + (f" ({advice})" if advice else "")
