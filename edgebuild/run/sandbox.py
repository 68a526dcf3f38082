"""Steps that run native code (TensorFlow's converter and calibrator, the LiteRT interpreter, the LiteRT
Quantizer) run in a child process, the sandbox, so that a crash there fails that step and not the build.

TensorFlow 2.21 segfaults calibrating a Keras LSTM with a fixed batch size; the interpreters abort on
some models. In the build's own process that ended the whole build with status 139 and no message,
and doit's records of every step that had succeeded were lost with it. Here:

- each build process (and each worker of `-n N`) keeps one sandbox: a spawned child that imports
  TensorFlow once and runs the isolated steps one after the other, so the isolation costs a pickle of
  the step's arguments per step, not an import;
- the child's progress lines come back through a queue as they are said;
- when the child dies of a signal, the step fails with one line naming the recipe, the step, the tool,
  the signal and what it was doing, the temporary files it left beside its outputs are removed, and the
  next isolated step gets a fresh child.

The build process itself then never imports TensorFlow (the steps that need it are all isolated).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from ..errors import StepError

ISOLATED = ("data", "source", "reference", "float", "convert/", "evaluate/", "debug/", "golden", "bundle/")
TOOLS = {"convert/": "TensorFlow's converter", "float": "TensorFlow's converter", "evaluate/": "the LiteRT interpreter",
         "debug/": "TensorFlow's quantization debugger", "bundle/": "the LiteRT interpreter",
         "golden": "the LiteRT interpreter",
         "reference": "TensorFlow", "source": "TensorFlow", "data": "the data step"}
_DONE = "\0done"

_box: "Sandbox | None" = None
_box_lock = threading.Lock()


def _pytorch_source(step) -> bool:
    from ..steps.sources import is_pytorch

    recipe = next((a for a in step.args if hasattr(a, "spec")), None)
    return recipe is not None and is_pytorch(recipe)


def isolated(step) -> bool:
    return step.name.startswith(ISOLATED)


class Sandbox:
    """One child process (forked, or spawned where TensorFlow is already imported) running isolated steps in turn."""

    def __init__(self):
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        from .. import progress

        # forked while this process is light (it never imports TensorFlow: every step that does runs in
        # here): the child starts with the modules already imported, a second or so less than a spawn
        # (or after importing it only, before doit forked its workers: warm.py); a process that ran it spawns
        from . import warm

        context = get_context("fork" if "tensorflow" not in sys.modules or warm.IMPORTED_NOT_RUN else "spawn")
        self.owner = os.getpid()
        self.lines = context.SimpleQueue()
        self.count = 0  # steps sent: each line comes back with its step's number
        self.processes: list = []
        self.executor = ProcessPoolExecutor(1, mp_context=context, initializer=_start_child,
                                            initargs=(self.lines, progress.verbose()))
        # a doit worker (a forked multiprocessing child) ends through os._exit after joining its own children:
        # without this its idle sandbox kept it, and `doit -n 2`, waiting forever
        from multiprocessing import util

        util.Finalize(self, Sandbox.close, args=(self,), exitpriority=10)

    def warm(self, modules: list[str]) -> None:
        """Import `modules` in the child before any step comes (a step sent meanwhile waits for them). Not in a
        thread beside the steps: two threads importing at once can deadlock on the import locks, and a step's
        tool_output redirects the whole process's output."""
        self.executor.submit(_import_quietly, modules)

    def run(self, step, label: str | None, where: str, log: Path | None):
        from concurrent.futures.process import BrokenProcessPool

        from .. import progress

        self.count += 1
        number = self.count
        # the build's environment and verbosity as they are now: a sandbox outlives one build in a process
        future = self.executor.submit(_run_step, step.action, step.args, label, dict(os.environ), os.getcwd(),
                                      progress.verbose(), number)
        self.processes = list((getattr(self.executor, "_processes", None) or {}).values()) or self.processes
        said = []
        while True:  # its lines, as they are said, until the marker after the last (or the child's death)
            if not self.lines._reader.poll(0.05):  # (SimpleQueue: written at once, so a crash loses none)
                if future.done() and not self.lines._reader.poll(0):
                    break
                continue
            sender, line = self.lines.get()
            if sender != number:  # (a line of a step before, left by a crash)
                continue
            if line == _DONE:
                break
            said.append(line)
            progress.relay([line])
        try:
            error = future.result()
        except BrokenProcessPool:
            raise StepError(self._crash_line(step, where, log, said)) from None
        if error is not None:
            raise StepError(error)

    def _crash_line(self, step, where: str, log: Path | None, said: list[str]) -> str:
        code = self._exit_code()
        self.close()
        _clear()
        _remove_temporaries(step)
        name = signal.Signals(-code).name if code is not None and code < 0 else f"exit status {code}"
        tool = next((tool for prefix, tool in TOOLS.items() if step.name.startswith(prefix)), "native code")
        if step.name in ("source", "float", "reference") and _pytorch_source(step):
            tool = "torch" if step.name != "float" else "litert-torch"
        # what it was doing, when its last line said (progress lines start "calibrating on ...", "training: ...")
        words = said[-1].split(": ", 1)[-1].split() if said else []
        doing = words[0].rstrip(":") if words and words[0].rstrip(":").endswith("ing") else ""
        while_ = f" while {doing}" if doing else ""
        full = f"; full output: {_shown(log, step)}" if log is not None else ""
        return f"{where}: {tool} crashed ({name}){while_}{full}"

    def _exit_code(self, wait: float = 5.0) -> int | None:
        """The dead child's exit code (minus the signal's number). The executor's own thread reaps the child
        too: between its waitpid and its recording the status, ours finds no child and the code reads None
        (seen once in CI as "crashed (exit status None)"), so look again until it is recorded."""
        import time

        deadline = time.monotonic() + wait
        while True:
            for process in self.processes:
                process.join(0.05)
            code = next((p.exitcode for p in self.processes if p.exitcode is not None), None)
            if code is not None or time.monotonic() > deadline:
                return code
            time.sleep(0.01)

    def close(self) -> None:
        """Stop the child: it holds nothing worth waiting for between steps. (Terminated, not asked: at a
        doit worker's exit, multiprocessing no longer delivers the executor's polite shutdown message.)"""
        processes = list((getattr(self.executor, "_processes", None) or {}).values()) or self.processes
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(5)


def _shown(log: Path, step) -> str:
    recipe = next((a for a in step.args if hasattr(a, "shown")), None)
    return recipe.shown(log) if recipe is not None else str(log)


def _remove_temporaries(step) -> None:
    """The temporary files (layout.temporary_path: '.<stem>.*<suffix>') a crashed step left beside its outputs."""
    for output in step.owned:
        output = Path(output)
        for stray in output.parent.glob(f".{output.stem}.*{output.suffix}"):
            if stray.is_file():
                stray.unlink()
            elif stray.is_dir():
                import shutil

                shutil.rmtree(stray, ignore_errors=True)


def _clear() -> None:
    global _box
    with _box_lock:
        _box = None


_exit_hook_pid: int | None = None


def _close_at_exit() -> None:
    """Stop this process's sandbox before concurrent.futures' own exit hook joins its manager thread:
    in a forked doit worker the executor's shutdown message never reached the child, and the worker,
    and `-n 2`, waited for it forever (1 build in 5 here)."""
    with _box_lock:
        box = _box
    if box is not None and box.owner == os.getpid():
        box.close()


def stop_current() -> None:
    """Stop this process's sandbox child, if it has one (before an exit that skips the exit hooks)."""
    _close_at_exit()


def leave(code: int) -> None:
    """Exit at once with `code`, without Python's teardown of TensorFlow (about a second here, after the build
    has finished). Every artifact is already written and closed, each through a rename; this process's sandbox
    child is stopped and stdout and stderr are flushed first."""
    stop_current()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def leave_at_doit_exit() -> None:
    """Under `doit -n N`, where the build process imported TensorFlow for its workers: doit ends with
    sys.exit(status) once its database is closed and every worker joined (doit/__main__.py); that call now
    leaves at once, as `edgebuild build` does (cli.run)."""
    def exit_now(status=None):
        if status is not None and not isinstance(status, int):
            print(status, file=sys.stderr)
        leave(0 if status is None else status if isinstance(status, int) else 1)

    sys.exit = exit_now


def current() -> Sandbox:
    """This process's sandbox (a forked doit worker starts its own)."""
    global _box, _exit_hook_pid
    with _box_lock:
        if _box is None or _box.owner != os.getpid():
            if _exit_hook_pid != os.getpid():  # (threading's exit hooks run last-registered first)
                import concurrent.futures.process  # noqa: F401 - registers its hook before ours

                threading._register_atexit(_close_at_exit)
                _exit_hook_pid = os.getpid()
            _box = Sandbox()
        return _box


class _Hook:  # (multiprocessing keeps after-fork hooks by a weak reference to an object)
    pass


_hook = _Hook()
_hook_registered = False


def warm_workers(modules: list[str]) -> None:
    """Have each `-n N` worker doit forks next start its sandbox at once, importing `modules` there, each on
    its own core. doit hands the steps that a finished one made ready to the other worker first, so under
    -n 2 a PyTorch recipe's float step (litert-torch's conversion, the longest chain) landed in the worker
    that had not run its source step, and imported torch and litert-torch there itself, 5 s on that chain.
    Importing them in the build process before forking, as TensorFlow is, made every step wait for both
    imports in turn."""
    global _hook_registered
    from . import warm

    warm.WORKERS_IMPORT[:], warm.BUILD_PID = list(modules), os.getpid()
    if modules and not _hook_registered:
        from multiprocessing import util

        util.register_after_fork(_hook, _worker_started)
        _hook_registered = True


def _worker_started(_hook) -> None:
    """After a fork: in a doit worker of the build that asked, start the sandbox warming. Not in a sandbox (a
    ForkProcess of the fork context, forked by a worker, or by the build process itself)."""
    import multiprocessing

    from . import warm

    sandbox_child = type(multiprocessing.current_process()).__name__ == "ForkProcess"
    if warm.WORKERS_IMPORT and os.getppid() == warm.BUILD_PID and not sandbox_child:
        current().warm(list(warm.WORKERS_IMPORT))


def run(step, label: str | None, where: str, log: Path | None) -> None:
    """Run an isolated step in the sandbox; StepError for its own errors and for a crash."""
    box = current()
    if getattr(box.executor, "_broken", False):  # (its child died between steps, in a warm-up import)
        box.close()
        _clear()
        box = current()
    box.run(step, label, where, log)


# --- in the child ---------------------------------------------------------------------------------------

_number = 0  # in the child: the step running, whose number its lines carry


def _start_child(lines, verbose: bool) -> None:
    from .. import progress

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle: it stops the child
    from . import warm

    warm.exit_with_parent()  # a build killed with SIGKILL cannot stop its sandbox: it stops itself

    warm.ran_here()  # (this child runs it)
    progress.send_lines_to(lambda line: lines.put((_number, line)))


def _import_quietly(modules: list[str]) -> None:
    """Import `modules` here ahead of the steps that need them (Sandbox.warm), their start-up chatter dropped;
    one that is missing or fails is left for its step to report."""
    import importlib

    from .. import progress

    for module in modules:
        try:
            with progress.tool_output(Path(os.devnull)):
                importlib.import_module(module)
        except Exception:  # (ImportError, or whatever a broken install raises)
            return


def _run_step(action, args, label, environ: dict, cwd: str, verbose: bool, number: int) -> str | None:
    """Run one step here, in the build's environment; its EdgebuildError's message, or None. The marker
    after its lines tells the parent they are all sent."""
    global _number
    from .. import progress

    _number = number
    from ..errors import EdgebuildError
    from . import warm

    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)
    os.chdir(cwd)
    try:
        with progress.step_named(label), progress.verbosity(verbose):
            action(*args)
        return None
    except EdgebuildError as exc:
        return str(exc)
    finally:
        warm.release_memory()
        progress.send_line(_DONE)
