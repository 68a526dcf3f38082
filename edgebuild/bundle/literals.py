"""Kotlin and Swift literals that compile whatever a label holds, and the names types get."""
from __future__ import annotations

import json


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(value: str, escapes: dict[str, str], non_ascii) -> str:
    """A double-quoted literal: printable ASCII as is, `escapes` for the rest, `non_ascii` beyond ASCII."""
    out = []
    for ch in str(value):
        if ch in escapes:
            out.append(escapes[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(non_ascii(ch))
    return '"' + "".join(out) + '"'


def _utf16_escapes(ch: str) -> str:
    """Kotlin's \\uXXXX escapes are UTF-16 code units: a character beyond the BMP takes two."""
    data = ch.encode("utf-16-be")
    return "".join(f"\\u{data[i]:02x}{data[i + 1]:02x}" for i in range(0, len(data), 2))


def kotlin_string(value: str) -> str:
    """A Kotlin string literal: quotes, backslashes, `$` templates, newlines and non-ASCII escaped."""
    return _literal(value, {**_ESCAPES, "$": "\\$"}, _utf16_escapes)


def swift_string(value: str) -> str:
    """A Swift string literal: quotes, backslashes (so no interpolation), newlines, non-ASCII escaped."""
    return _literal(value, _ESCAPES, lambda ch: f"\\u{{{ord(ch):x}}}")


def c_string(value: str) -> str:
    """A C/C++ string literal of the UTF-8 bytes: printable ASCII as itself (quote, backslash and '?' escaped,
    against trigraphs), every other byte as a three-digit octal escape, which no following digit can extend."""
    out = []
    for byte in str(value).encode("utf-8"):
        ch = chr(byte)
        out.append("\\" + ch if ch in '"\\?' else ch if 32 <= byte < 127 else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def comment_text(value: str) -> str:
    """Text safe inside /* */ and // comments of Kotlin and Swift: one line, no comment terminator."""
    return " ".join(str(value).split()).replace("*/", "* /").replace("/*", "/ *")


def docstring_text(value: str) -> str:
    """Text safe inside a Python triple-quoted docstring: one line, backslashes and quotes escaped."""
    return " ".join(str(value).split()).replace("\\", "\\\\").replace('"', '\\"')


def float_literal(value: float) -> str:
    """The shortest text that reads back as the same float32 (with an `f` suffix added by templates)."""
    import numpy as np

    return repr(float(np.float32(value)))


def filters() -> dict:
    """The Jinja filters bundle templates write literals with (code: nothing is HTML-escaped)."""
    return {"kt": kotlin_string, "swift": swift_string, "c_string": c_string, "comment": comment_text, "doc": docstring_text,
            "f32": float_literal,
            "json": lambda v: json.dumps(v, ensure_ascii=False)}
