"""A build step, declared once beside the code that runs it: what it runs, reads and writes.

Each step module (datasets, sources, convert, evaluate, gate, inspection, quantdebug, summary,
report, bundle) has a `step(...)` function returning a `Step`; `tasks.py` only turns those into
doit tasks, `api.status` walks them, and the prune step keeps exactly what they declare.

    reads   files the step opens (doit's file_dep: a change reruns the step)
    writes  files, or folders whose every file the step owns (doit's targets); each is recorded
            after a run (size, mtime, sha256), so a deleted or hand-edited output reruns the step
    config  the part of the recipe the outputs depend on (doit's config_changed)
    log     where the step's tools (TensorFlow, a training script) print; owned, but optional
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Step:
    name: str  # "convert/int8"; doit calls it "<recipe>:convert/int8"
    doc: str
    action: Callable | None  # action(*args); None for a step that only checks (see `check`)
    args: tuple = ()
    reads: tuple[Path, ...] = ()
    writes: tuple[Path, ...] = ()
    config: dict = field(default_factory=dict)
    log: Path | None = None
    # Read only when an earlier step wrote them, and stood for by a file in `reads` that records
    # their digest or that they are made from (doit fails a step whose file_dep is missing): the
    # ship step's shipped.tflite (ship.json), a large Keras model's traced export (model.keras).
    reads_if_present: tuple[Path, ...] = ()

    def __post_init__(self):
        for name in ("reads", "writes", "reads_if_present"):
            object.__setattr__(self, name, tuple(Path(p) for p in getattr(self, name)))

    @property
    def owned(self) -> tuple[Path, ...]:
        """Every path this step may leave under build/ or dist/."""
        return self.writes + ((self.log,) if self.log else ())


# --- outputs as they were written: a deleted or edited one reruns its step ------------------------

def _files(path: Path):
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        yield path


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stamps(paths, previous: dict | None = None) -> dict[str, list]:
    """{file: [size, mtime_ns, sha256]} of every file under `paths`; a sha256 is reused from
    `previous` when size and mtime match, so checking an unchanged build hashes nothing."""
    previous = previous or {}
    result = {}
    for root in paths:
        for path in _files(Path(root)):
            stat = path.stat()
            key = str(path)
            old = previous.get(key)
            if old and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                result[key] = old
            else:
                result[key] = [stat.st_size, stat.st_mtime_ns, _digest(path)]
    return result


OUTPUTS_KEY = "edgebuild_outputs"


def outputs_intact(task, values) -> bool:
    """doit uptodate check: every file the step wrote last time is still there with the same bytes,
    and no other file appeared inside a folder it owns."""
    recorded = values.get(OUTPUTS_KEY)
    if recorded is None:
        return not task.targets  # never recorded: only a step without outputs can be up to date
    now = stamps(task.targets, recorded)
    return {k: v[0::2] for k, v in now.items()} == {k: v[0::2] for k, v in recorded.items()}


__all__ = ["OUTPUTS_KEY", "Step", "outputs_intact", "stamps"]
