"""Worker processes that have TensorFlow without each paying for its import; memory given back after steps.

`doit -n N` and `edgebuild build -n N` fork N workers, and each worker forks a sandbox (sandbox.py)
where the steps that need TensorFlow run. Left to themselves, N sandboxes imported TensorFlow at once
(2 to 5 s each, on the same cores): `doit -n 2` built digits-dense in 17 s against 12 s for `-n 1`.
`import_before_forking()` imports it once in the build process, before doit forks its workers, and only
when a step that needs it is out of date: the workers and their sandboxes then get it with the fork,
so a second worker costs a fork, not an import. It is only imported there, never run, so forking after
it is safe (TensorFlow starts its thread pools on first use); a process that ran it spawns instead.
"""
from __future__ import annotations

IMPORTED_NOT_RUN = False  # TensorFlow imported in this process (or the one it was forked from), never run

NEEDS_TENSORFLOW = ("source", "reference", "float", "convert/", "debug/")  # (evaluations need LiteRT only)


def needs_tensorflow(stale: set[str] | None, names) -> bool:
    """Whether a step that imports TensorFlow will run: one of the `stale` doit task names ("<recipe>:<step>"),
    or of every task's `names` when nothing was ever built (`stale` None)."""
    pending = names if stale is None else stale
    return any(name.split(":", 1)[-1].startswith(NEEDS_TENSORFLOW) for name in pending)


def import_before_forking(jobs: int, stale: set[str] | None, names) -> bool:
    """Import TensorFlow here when `jobs` > 1 workers will be forked and a step needs it. True if imported;
    `ran_here()` must follow in a process that goes on to run TensorFlow itself (a test run)."""
    global IMPORTED_NOT_RUN
    if jobs <= 1 or not needs_tensorflow(stale, names):
        return False
    from .. import progress

    already = progress.tensorflow_imported()
    progress.tensorflow()
    IMPORTED_NOT_RUN = IMPORTED_NOT_RUN or not already
    return True


def ran_here() -> None:
    """This process may now run TensorFlow: its sandboxes are spawned, not forked, from here on."""
    global IMPORTED_NOT_RUN
    IMPORTED_NOT_RUN = False
    WORKERS_IMPORT.clear()  # (the workers of a later build here import what that build needs)


# PyTorch steps: what each imports. torch takes 1 to 1.5 s here, litert-torch 3 to 4 s more (JAX with it).
TORCH_STEPS = {"source": ("torch",), "reference": ("torch",), "float": ("torch", "litert_torch")}


def torch_modules(pending) -> list[str]:
    """What the `pending` steps of PyTorch recipes ("<recipe>:<step>") import, in import order."""
    wanted = {module for name in pending for module in TORCH_STEPS.get(name.split(":", 1)[-1], ())}
    return [module for module in ("torch", "litert_torch") if module in wanted]


WORKERS_IMPORT: list[str] = []  # what the workers doit forks next import in their sandboxes (sandbox.warm_workers)
BUILD_PID: int | None = None  # the process that forks them


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


_watching = None  # the pid whose parent this process watches (a forked child watches again)


def exit_with_parent() -> None:
    """End this process when its parent is gone: for the processes a build starts itself (doit's `-n`
    workers, the sandbox children), which nothing else stops when the build is killed with SIGKILL. Each kept
    TensorFlow's 700 to 900 MB, asleep for good: four of them after one run of the tests (issue 35). A daemon
    thread looks once a second whether the process was given to another parent (init, or a subreaper), as
    the kernel does when the parent dies, and then exits at once, as the killed build did."""
    import os
    import threading
    import time

    global _watching
    if _watching == os.getpid():
        return
    _watching = os.getpid()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="edgebuild-exit-with-parent", daemon=True).start()

