"""Progress lines for long steps, and a log for what TensorFlow and training scripts print.

TensorFlow writes to file descriptors 1 and 2 from C++, so `tool_output` redirects the
descriptors themselves into the step's log file; progress lines still reach the terminal
through a duplicate of the original stderr. EDGEBUILD_VERBOSE=1 (`edgebuild build -v`)
lets everything through.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from pathlib import Path

_terminal = None  # set while tool output is redirected
_step: contextvars.ContextVar[str | None] = contextvars.ContextVar("edgebuild_step", default=None)
_captured: contextvars.ContextVar[list | None] = contextvars.ContextVar("edgebuild_captured", default=None)
_verbose: bool | None = None  # set by `edgebuild build -v` for one build; else EDGEBUILD_VERBOSE decides


def verbose() -> bool:
    if _verbose is not None:
        return _verbose
    return os.environ.get("EDGEBUILD_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def verbosity(on: bool):
    """Show (or hide) tools' own output for the duration of one build, then restore what was."""
    global _verbose
    before, _verbose = _verbose, on
    try:
        yield
    finally:
        _verbose = before


def say(message: str) -> None:
    """One indented progress line, naming the step it is about: under -n N and --dask, steps run side by
    side and their lines interleave, so a line under another step's title must still say whose it is."""
    step = _step.get()
    line = f"   {step}{' ' if message.startswith('| ') else ': '}{message}\n" if step else f"   {message}\n"
    captured = _captured.get()
    if captured is not None:  # a step on a Dask worker: its lines go back to the client with its outputs
        captured.append(line)
        return
    if _sink is not None:  # a step in the sandbox (run/sandbox.py): its lines go to the build, as said
        _sink(line)
        return
    terminal.write(line)
    terminal.flush()


_sink = None


def send_lines_to(sink) -> None:
    """In the sandbox's child process: every progress line goes to `sink` (the build reads them)."""
    global _sink
    _sink = sink


def send_line(text: str) -> None:
    if _sink is not None:
        _sink(text)


@contextlib.contextmanager
def step_named(name: str | None):
    """The progress lines said inside this block name the step `name` (doit's task name, recipe:step)."""
    token = _step.set(name)
    try:
        yield
    finally:
        _step.reset(token)


@contextlib.contextmanager
def captured_lines():
    """Collect the progress lines said inside this block (a list, filled as they come) instead of writing them."""
    lines: list[str] = []
    token = _captured.set(lines)
    try:
        yield lines
    finally:
        _captured.reset(token)


def relay(lines: list[str]) -> None:
    """Write progress lines collected elsewhere (captured_lines on a Dask worker) as they were said."""
    for line in lines:
        terminal.write(line)
    terminal.flush()


class _Terminal:
    """stderr as the user sees it, even while fds 1 and 2 are redirected into a log."""

    def write(self, text: str) -> int:
        return (_terminal or sys.stderr).write(text)

    def flush(self) -> None:
        (_terminal or sys.stderr).flush()


terminal = _Terminal()
_interrupt_said = False


def say_interrupted(detail: str = "") -> None:
    """The one line a Ctrl-C leaves (whichever of doit's reporter, the CLI or dodo.py sees it first)."""
    global _interrupt_said
    if not _interrupt_said:
        _interrupt_said = True
        terminal.write(f"edgebuild: interrupted{detail}\n")
        terminal.flush()


@contextlib.contextmanager
def interrupts_kept():
    """A Ctrl-C that lands while C++ runs Python code (TensorFlow's calibrator pulling the
    representative dataset) raises KeyboardInterrupt there, and TensorFlow swallows it: the build
    went on to the end and exited 0. Inside this block a Ctrl-C is also recorded, and raised again
    when the block ends. Only the main thread can set signal handlers; elsewhere nothing changes. A build
    started with Ctrl-C ignored (a background job of a script: the shell sets that) keeps ignoring it: it
    caught one only inside these blocks, and lost one that landed between steps."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    caught = []

    def handler(signum, frame):
        caught.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def quiet_interrupts() -> None:
    """Under plain `doit`: a Ctrl-C ends with one line and status 130, not a traceback."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            say_interrupted()
        else:
            previous(kind, value, traceback)
    sys.excepthook = hook


def _unredirected_stderr(saved_fd: int):
    """Where progress goes while fd 2 points at a log: sys.stderr, or a copy of the original fd 2 under it."""
    try:
        on_fd_2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a capturing stream (pytest, doit) with no descriptor
        on_fd_2 = False
    return os.fdopen(os.dup(saved_fd), "w", buffering=1) if on_fd_2 else _Borrowed(sys.stderr)


class _Borrowed:
    """A stream used as is, whose close() leaves it open."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


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
            _terminal = _unredirected_stderr(saved[2])
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


def tensorflow_imported() -> bool:
    return "tensorflow" in sys.modules


def tensorflow(log: Path | None = None):
    """TensorFlow, imported with its start-up chatter sent to `log` (or dropped), without the garbage
    collector: the import makes a few hundred thousand objects that live as long as the process, and
    collections during it walked them again and again (0.7 to 1 s of a 6 to 7 s import here). They are
    then frozen out of its reach (gc.freeze): each full collection walked them all, and in a process
    forked after the import (the workers of `-n N`, the sandboxes) wrote to each one, so the kernel copied
    their pages from the parent. Training digits-dense in a sandbox took 4.4 to 5.0 s against 3.6 s in a
    plain `python`; frozen, 2.2 to 3.6 s."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    import gc

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose() else "2")
    collecting = gc.isenabled()
    gc.disable()
    try:
        with tool_output(log or Path(os.devnull)):
            import absl.logging
            import tensorflow as tf

            if not verbose():
                tf.get_logger().setLevel("ERROR")
                absl.logging.set_verbosity(absl.logging.ERROR)
            # absl's handler keeps the stream it found at import (doit's capture of stderr); point it at the real one.
            absl.logging.get_absl_handler().python_handler.stream = sys.__stderr__
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    return tf
