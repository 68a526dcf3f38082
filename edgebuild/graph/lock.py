"""One build at a time per project: a second `doit` or `edgebuild build` waits for the first, and says so.

doit's dependency file and the artifacts are written by one build; two at once would race on both.
The lock is an flock on `.edgebuild.lock` beside `.doit.db` (outside build/, which only steps own);
the kernel drops it when the process ends, so a killed build never leaves it held.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .. import progress

LOCK_FILE = ".edgebuild.lock"
_held: dict[Path, int] = {}  # root -> descriptor, for locks this process holds


def acquire(root: Path) -> bool:
    """Take the project's lock, waiting (and saying so) while another build holds it.
    Returns False if this process already held it."""
    root = Path(root).resolve()
    if root in _held:
        return False
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        progress.terminal.write(f"edgebuild: another build is running in {root}; waiting for it to finish\n")
        progress.terminal.flush()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    _held[root] = fd
    return True


def release(root: Path) -> None:
    fd = _held.pop(Path(root).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the flock


@contextlib.contextmanager
def project_lock(root: Path):
    """Hold the lock for the duration of a build (a no-op if this process already holds it)."""
    taken = acquire(root)
    try:
        yield
    finally:
        if taken:
            release(root)
