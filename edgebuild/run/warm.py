"""Worker processes that import TensorFlow as soon as they start, not when their first step arrives.

With `edgebuild build -n N`, doit forks N workers at the start of the build. The first of them gets
the data step; the second would sit idle until the source step is done and only then pay for
TensorFlow's import (2 to 5 s here) inside the first step it runs, on the build's critical path.
While `forked_workers_import_tensorflow()` is active, every worker forked from this one starts its
sandbox (run/sandbox.py, where the steps that need TensorFlow run) at once, and the sandbox imports
TensorFlow, so the import overlaps the other worker's steps. Only the workers themselves: the
sandboxes they fork start nothing more.

A step never runs beside the import: the sandbox runs the import and then the steps, one after the
other (the import redirects file descriptors 1 and 2 while it runs, and a step importing Keras at
the same moment could deadlock Python's import locks).
"""
from __future__ import annotations

import contextlib

_armed = False
_registered = False


class _Hook:
    """What multiprocessing's after-fork registry holds on to (it keeps weak references)."""


_HOOK = _Hook()


def _start_sandbox_in_worker(_hook) -> None:
    """In a doit worker, right after multiprocessing set it up (its finalizers cleared): start its sandbox,
    which imports TensorFlow while the worker waits for its first step. Forking the sandbox is quick; doing
    it here, not in a thread, also registers the sandbox's finalizer where the worker's exit runs it."""
    global _armed
    if not _armed:
        return
    _armed = False  # (this worker's own forks, its sandbox, start nothing)
    from . import sandbox

    try:
        sandbox.start()
    except Exception:  # noqa: BLE001 - the first step that needs it starts it again and reports why not
        pass


def release_memory() -> None:
    """Give the memory a finished step freed back to the system (glibc's malloc_trim), so a worker
    that converted a large model does not keep its peak for the rest of the build."""
    if _libc is False:
        return
    try:
        (_libc or _load_libc()).malloc_trim(0)
    except (OSError, AttributeError):
        _disable_trim()


_libc = None


def _load_libc():
    global _libc
    import ctypes

    _libc = ctypes.CDLL("libc.so.6")
    return _libc


def _disable_trim() -> None:
    global _libc
    _libc = False  # not glibc: nothing to do


@contextlib.contextmanager
def forked_workers_import_tensorflow():
    """While active, multiprocessing children forked from this one (doit's workers) start their sandbox,
    which imports TensorFlow, as they start. Spawned processes and subprocesses start nothing."""
    global _armed, _registered
    if not _registered:
        from multiprocessing import util

        util.register_after_fork(_HOOK, _start_sandbox_in_worker)
        _registered = True
    _armed = True
    try:
        yield
    finally:
        _armed = False
