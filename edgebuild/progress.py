"""Progress lines for long steps, and a log for what TensorFlow and training scripts print.

TensorFlow writes to file descriptors 1 and 2 from C++, so `tool_output` redirects the
descriptors themselves into the step's log file; progress lines still reach the terminal
through a duplicate of the original stderr. EDGEBUILD_VERBOSE=1 (`edgebuild build -v`)
lets everything through.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

_terminal = None  # set while tool output is redirected


def verbose() -> bool:
    return os.environ.get("EDGEBUILD_VERBOSE", "") not in ("", "0")


def say(message: str) -> None:
    """One indented progress line under the task doit just announced."""
    stream = _terminal or sys.stderr
    stream.write(f"   {message}\n")
    stream.flush()


@contextlib.contextmanager
def tool_output(log: Path):
    """Send everything written to fds 1 and 2 to `log` (appended), unless verbose."""
    global _terminal
    if verbose() or _terminal is not None:
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with open(log, "ab") as sink:
        try:
            _terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1)
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            _terminal.close()
            _terminal = None


def tensorflow(log: Path | None = None):
    """Import TensorFlow with its start-up chatter sent to `log` (or dropped), and return it."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose() else "2")
    with tool_output(log or Path(os.devnull)) if log or not verbose() else contextlib.nullcontext():
        import tensorflow as tf

        if not verbose():
            tf.get_logger().setLevel("ERROR")
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        # absl's handler keeps the stream it found at import (doit's capture of stderr); point it at the real one.
        import absl.logging

        absl.logging.get_absl_handler().python_handler.stream = sys.__stderr__
    return tf
