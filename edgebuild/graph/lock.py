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


def _forget_in_child() -> None:
    """A forked process (a -n worker, the sandbox) does not hold the build's lock: it closes its copies of
    the descriptors (the parent's still hold the flock). The sandbox outlives a build; its copy kept the
    lock held after the build released it, and the next build waited forever."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


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
