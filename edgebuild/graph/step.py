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
import os
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
        for name in ("reads", "writes", "reads_if_present"):  # (a Path is kept: making it again costs a no-op build)
            object.__setattr__(self, name, tuple(p if isinstance(p, Path) else Path(p) for p in getattr(self, name)))

    @property
    def owned(self) -> tuple[Path, ...]:
        """Every path this step may leave under build/ or dist/."""
        return self.writes + ((self.log,) if self.log else ())


# --- outputs as they were written: a deleted or edited one reruns its step ------------------------

def _files(path) -> list[str]:
    """The files at or under `path`, as strings, sorted: os.walk, not Path.rglob, which made these checks a
    fifth of a no-op build (269 steps' outputs checked)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        found = [os.path.join(folder, name) for folder, _, names in os.walk(path) for name in names]
        return sorted(f for f in found if os.path.isfile(f))
    return [path] if os.path.isfile(path) else []


def _digest(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stamps(paths, previous: dict | None = None) -> dict[str, list]:
    """{file: [size, mtime_ns, sha256]} of every file under `paths`; a sha256 is reused from
    `previous` when size and mtime match, so checking an unchanged build hashes nothing."""
    previous = previous or {}
    result = {}
    for root in paths:
        for key in _files(root):
            stat = os.stat(key)
            old = previous.get(key)
            if old and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                result[key] = old
            else:
                result[key] = [stat.st_size, stat.st_mtime_ns, _digest(key)]
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


def config_digest(config: dict) -> str:
    """The digest doit's config_changed records for a config dict (the same bytes: builds made before
    `up_to_date` stay up to date)."""
    import json

    return hashlib.md5(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def up_to_date(config: dict):
    """The one doit `uptodate` check of a step: its config is unchanged (as doit's config_changed records it)
    and its outputs are intact. One plain function per task, not config_changed's object and a second
    callable: doit inspects each uptodate callable's signature on every status check, 562 of them in a
    no-op build of the examples."""
    digest = config_digest(config)

    def check(task, values) -> bool:
        return values.get("_config_changed") == digest and outputs_intact(task, values)

    def configure_task(task) -> None:
        task.value_savers.append(lambda: {"_config_changed": digest})

    check.configure_task = configure_task
    check.config = config  # (what the tests and `edgebuild list` read back)
    return check


__all__ = ["OUTPUTS_KEY", "Step", "config_digest", "outputs_intact", "stamps", "up_to_date"]
