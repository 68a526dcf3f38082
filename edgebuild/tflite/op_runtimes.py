"""Which TensorFlow Lite runtime a model needs: each builtin op version's minimum runtime, from TFLite's own
table (runtime_versions.txt), and the ops no pinned runtime has (Select TF "flex" ops, custom ops other
than those LiteRT builds in).

Runtimes are compared on TensorFlow's version scale, which TensorFlowLiteSwift follows. LiteRT's Maven
artifacts have their own numbers: edgebuild/runtimes.py's LITERT_LEVELS puts them on that scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .tensors import BUILT_IN_CUSTOM_OPS


@dataclass(frozen=True)
class OpNeed:
    op: str
    version: int
    kind: str  # builtin, custom or flex
    runtime: str | None  # the oldest runtime with this op version; None: not in the table (or not builtin)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@lru_cache(maxsize=1)
def table() -> dict[str, dict[int, str]]:
    """{op: {version: oldest runtime}}, read from runtime_versions.txt."""
    result: dict[str, dict[int, str]] = {}
    for line in (Path(__file__).with_name("runtime_versions.txt")).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        op, *pairs = line.split()
        result[op] = {int(v): runtime for v, runtime in (pair.split(":") for pair in pairs)}
    return result


def needs(op_codes: list[dict]) -> list[OpNeed]:
    """Each op code of a model (the inspection's `op_codes`: op, version, kind) with its oldest runtime."""
    return [OpNeed(c["op"], c["version"], c["kind"],
                   table().get(c["op"], {}).get(c["version"]) if c["kind"] == "builtin" else None)
            for c in op_codes]


def minimum(op_codes: list[dict]) -> OpNeed | None:
    """The op version that needs the newest runtime (None when no op is in the table)."""
    known = [n for n in needs(op_codes) if n.runtime is not None]
    newest = max((version_key(n.runtime) for n in known), default=None)
    return next((n for n in known if version_key(n.runtime) == newest), None)  # (the first, in the model's order)


def problems(op_codes: list[dict], level: str, runtime: str) -> list[str]:
    """Why a model cannot run on `runtime` (shown as named, e.g. "LiteRT 2.3.0"), which runs ops up to `level`."""
    found = []
    for need in needs(op_codes):
        if need.kind == "flex":
            found.append(f"{need.op} is a Select TF (flex) op, which {runtime} does not include")
        elif need.kind == "custom" and need.op not in BUILT_IN_CUSTOM_OPS:
            found.append(f"custom op {need.op} has no kernel in {runtime}")
        elif need.runtime is not None and version_key(need.runtime) > version_key(level):
            found.append(f"{need.op} version {need.version} needs TensorFlow Lite {need.runtime}, newer than {runtime}"
                         + (f" (which runs ops up to {level})" if level not in runtime else ""))
    return found
