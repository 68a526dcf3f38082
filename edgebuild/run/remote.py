"""Run a build's heavy steps on a Dask cluster (`edgebuild build --dask ADDRESS`), while doit, here,
still decides what is up to date, keeps its state, orders the steps and writes every artifact.

Every step declares what it reads and writes (step.py), so a step is a function from its input
files to its output files, and that is what makes it safe to run elsewhere:

- the client sends the step's declared inputs (each file once per build, by content hash: Dask
  then moves it between workers itself, so a large source model is not sent again per target);
- the worker writes them into a scratch copy of the project, runs the step there, and returns
  its declared outputs (and its log); a read of a file the step did not declare fails there,
  naming the file, because the scratch copy has no such file;
- the client writes the outputs with write-then-rename, as a local build does.

Workers need no shared filesystem, only the same edgebuild. A worker that dies mid-step has its
step rerun on another one (Dask's scheduler does that; RETRIES more for other failures of the
machinery); a step that fails for real returns its one-line message instead of raising, so it is
not retried and fails the build as it would locally. TensorFlow is imported by the workers only.
`--dask local:N` starts a LocalCluster of N single-threaded worker processes on this machine.
The cluster starts with the first step that needs it: a build with nothing to do starts none.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from collections import Counter
from pathlib import Path

from ..errors import EdgebuildError, InputError

HEAVY = ("data", "source", "reference", "float", "convert/", "evaluate/", "debug/")  # what runs on the cluster
RETRIES = 1
LOST_INPUT_RETRIES = 3  # a step resubmitted when a dead worker took its scattered inputs with it
# Dask's scatter to a worker killed meanwhile never returned (a local:2 build hung in Client.scatter, seen
# in CI and reproduced here): it is given up after this long, plus a second per 5 MB, and sent again
SCATTER_TIMEOUT_S = 30.0
SCATTER_BYTES_PER_S = 5_000_000
GONE_AFTER_S = 10.0  # a scheduler unreachable this long is taken as gone (Dask reconnects in well under a second)
ENV = "EDGEBUILD_DASK"
CURRENT: "Cluster | None" = None  # the cluster of the build running in this process, if any
LOCAL_STEPS = threading.Lock()  # steps run here during a cluster build take turns


def runs_remotely(step, recipe) -> bool:
    """Whether a step goes to the cluster: the TensorFlow and LiteRT work; a recipe with
    `latency: local` keeps its evaluations here, so latency is measured on this machine."""
    if not step.name.startswith(HEAVY):
        return False
    return not (step.name.startswith("evaluate/") and recipe is not None and recipe.spec.latency == "local")


def check_address(address: str) -> None:
    """A --dask address as a user can fix it: local:N, or a scheduler's address; and Dask installed."""
    from importlib.util import find_spec

    if find_spec("distributed") is None:
        raise InputError(f"--dask {address}: Dask's distributed is not installed; from edgebuild's "
                         f"checkout, pip install -e '.[dask]' (on this machine and on the workers)")
    if address.startswith("local:"):
        count = address.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise InputError(f"--dask {address}: expected local:N with N a number of workers, e.g. local:2")
    elif "://" not in address and ":" not in address:
        raise InputError(f"--dask {address}: expected a scheduler address such as tcp://host:8786, or local:N")


class Cluster:
    """The Dask client of one build, created on first use; what was sent, and which worker ran what."""

    def __init__(self, address: str):
        self.address = address
        self._client = None
        self._cluster = None
        self._lock = threading.Lock()
        self._sent: dict[str, object] = {}
        self.per_worker: Counter = Counter()
        self.futures: set = set()
        self.gone = False  # the scheduler went away: later steps fail at once, with the same line

    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self):
        import logging

        from distributed import Client, LocalCluster

        # Dask's client side logs its reconnection attempts, and a closed connection with its traceback
        # (distributed.batched, at INFO), on stderr; what a user needs of them is the one line run() gives
        # when the scheduler is gone for good
        for name in ("distributed", "distributed.client"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if self.address.startswith("local:"):
            count = self.address.split(":", 1)[1]
            self._cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.CRITICAL)
            return Client(self._cluster)
        try:
            return Client(self.address, timeout=30)
        except OSError as exc:
            raise InputError(f"--dask {self.address}: cannot reach the Dask scheduler: {exc}") from exc

    def send(self, path: Path):
        """A future holding the file's bytes, scattered once per content."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if digest not in self._sent:
                self._sent[digest] = None
        if self._sent[digest] is None:
            (future,) = self._scatter(data)
            with self._lock:
                if self._sent[digest] is None:
                    self._sent[digest] = future
        return self._sent[digest]

    def _scatter(self, data: bytes) -> list:
        """client.scatter([data]), given up after a time (TimeoutError): the timeout scatter takes only bounds
        its wait for a worker, not the sending, so the call runs under Client.sync's own deadline."""
        import functools

        client, done = self.client(), {}

        def scatter() -> None:  # (in a thread of its own, so that a scheduler gone meanwhile ends the wait here)
            try:
                done["futures"] = client.sync(functools.partial(client.scatter, [data], hash=False, asynchronous=True),
                                              callback_timeout=SCATTER_TIMEOUT_S + len(data) / SCATTER_BYTES_PER_S)
            except BaseException as exc:  # noqa: BLE001 - raised again in the step's thread
                done["error"] = exc

        sender = threading.Thread(target=scatter, name="edgebuild-scatter", daemon=True)
        sender.start()
        lost_since = None
        while sender.is_alive():
            sender.join(1.0)
            if sender.is_alive():
                lost_since = self._still_there(lost_since)
        if "error" in done:
            raise done["error"]
        return done["futures"]

    def run(self, step, root: Path, label: str | None = None, where: str | None = None) -> dict:
        """Run `step` on the cluster; returns {"outputs": {relative path: bytes}, "worker": ..., "lines": [...]}
        or {"error": line, "lines": [...]}: `lines` are its progress lines, named `label`.

        A worker killed while it held the only copy of an input (scattered there) loses it: Dask then
        cancels the step ("lost dependencies"), and a scatter to it meanwhile never returns. The inputs are
        sent again and the step resubmitted, up to LOST_INPUT_RETRIES times. A step whose workers keep dying
        (KilledWorker), and a scheduler that went away, end in one line."""
        if self.gone:
            raise EdgebuildError(self._gone_line())
        writes = [r for r in (_relative(p, root) for p in step.owned) if r is not None]
        for attempt in range(LOST_INPUT_RETRIES + 1):
            inputs = {}
            try:
                for path in _files(step.reads) + _files(p for p in step.reads_if_present if p.exists()):
                    relative = _relative(path, root)
                    if relative is not None:  # files outside the project (edgebuild's templates) are on the worker too
                        inputs[relative] = self.send(path)
                future = self.client().submit(run_here, step.action, step.args, inputs, writes, str(root), step.name,
                                              label, pure=False, retries=RETRIES,
                                              key=f"edgebuild-{step.name}-{os.urandom(4).hex()}")
                self.futures.add(future)
                try:
                    result = self._result(future)
                finally:
                    self.futures.discard(future)
            except EdgebuildError:
                raise
            except Exception as exc:  # noqa: BLE001 - sorted below into what is retried and what is one line
                from distributed.scheduler import KilledWorker

                if not isinstance(exc, KilledWorker) and attempt < LOST_INPUT_RETRIES and self._reachable():
                    self._forget(inputs.values())  # a worker died with inputs, or while they were sent
                    continue
                raise EdgebuildError(self._failure_line(step, where or label, exc)) from exc
            if "worker" in result:
                with self._lock:
                    self.per_worker[result["worker"]] += 1
            return result
        raise AssertionError("unreachable")

    def _result(self, future):
        """The future's result; a scheduler that stays unreachable for GONE_AFTER_S ends the wait (Dask's client
        would go on trying to reconnect for its whole connect timeout, 30 s, before failing the future)."""
        lost_since = None
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                lost_since = self._still_there(lost_since)

    def _still_there(self, lost_since: float | None) -> float | None:
        """While waiting on the cluster, once a second: None while the client is connected, else since when it
        is not; EdgebuildError (the cluster went away) once that is GONE_AFTER_S, or another step found it gone."""
        import time

        if self.client().status == "running" and not self.gone:
            return None
        lost_since = lost_since or time.monotonic()
        if self.gone or time.monotonic() - lost_since > GONE_AFTER_S:
            self.gone = True
            raise EdgebuildError(self._gone_line())
        return lost_since

    def _reachable(self) -> bool:
        """Whether the scheduler still answers (a dead worker is survived; a dead scheduler is not). A client
        reconnecting is given GONE_AFTER_S: asked meanwhile, scheduler_info() waited out Dask's whole reconnect
        window (its connect timeout, 30 s) before the build could say the cluster went away."""
        import time

        client, deadline = self.client(), time.monotonic() + GONE_AFTER_S
        while client.status == "connecting" and time.monotonic() < deadline and not self.gone:
            time.sleep(0.1)
        if client.status == "running" and not self.gone:
            try:
                client.scheduler_info()
                if client.status == "running":
                    return True
            except Exception:  # noqa: BLE001 - any failure to answer is "not reachable"
                pass
        self.gone = True  # (known from now on: the other steps' threads need not wait again)
        return False

    def _forget(self, futures) -> None:
        """Drop scattered inputs (one of them was lost with its worker): the next send scatters them again."""
        lost = {id(f) for f in futures}
        with self._lock:
            for digest, future in list(self._sent.items()):
                if id(future) in lost:
                    del self._sent[digest]

    def _failure_line(self, step, label, exc) -> str:
        from distributed.scheduler import KilledWorker

        name = label or step.name
        if isinstance(exc, KilledWorker) or self._reachable():
            return (f"{name}: the Dask workers that ran it died ({type(exc).__name__}): a crash in native code, "
                    f"or out of memory; see the workers' logs")
        self.gone = True
        return self._gone_line()

    def _gone_line(self) -> str:
        return (f"dask {self.address}: the cluster went away during the build; the steps that finished are kept, "
                f"build again to do the rest")

    def summary(self) -> str | None:
        if not self.per_worker:
            return None
        parts = [f"{n} on {worker}" for worker, n in sorted(self.per_worker.items())]
        return f"edgebuild: dask {self.address}: {sum(self.per_worker.values())} steps ran on the cluster: {', '.join(parts)}"

    def close(self) -> None:
        """Cancel what is still running (Ctrl-C) and shut the client (and a local cluster) down."""
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            if self.futures:
                client.cancel(list(self.futures))
            client.close()
        if cluster is not None:
            cluster.close()


def _files(paths) -> list[Path]:
    found = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.append(path)
    return found


def _relative(path: Path, root: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def write_outputs(step, root: Path, outputs: dict[str, bytes | None]) -> None:
    """The worker's outputs, written here as a local step writes them (write-then-rename): a declared
    folder gets exactly the files the worker left in it (None: it left it empty), and a declared file
    the worker did not write is not left behind from an earlier build."""
    from ..layout import write_bytes

    for declared in map(Path, step.owned):
        relative = _relative(declared, root)
        if relative is None:
            continue
        inside = {k: v for k, v in outputs.items() if k.startswith(relative + "/")}
        if inside or outputs.get(relative, b"") is None:  # a folder
            for stale in _files([declared]):
                if _relative(stale, root) not in inside:
                    stale.unlink()
            declared.mkdir(parents=True, exist_ok=True)
            for name, data in sorted(inside.items()):
                write_bytes(root / name, data)
        elif relative in outputs:
            write_bytes(declared, outputs[relative])
        elif declared.is_file():
            declared.unlink()


# --- on the worker ---------------------------------------------------------------------------------

def _rebase(value, root: Path, scratch: Path):
    """The step's arguments with the project root moved to the scratch copy."""
    from ..layout import RecipeLayout
    from ..recipe import Recipe

    if isinstance(value, Recipe):
        return dataclasses.replace(value, root=scratch)
    if isinstance(value, RecipeLayout):
        return RecipeLayout(scratch, value.name)
    if isinstance(value, (list, tuple)):
        return type(value)(_rebase(v, root, scratch) for v in value)
    if isinstance(value, Path) and _relative(value, root) is not None:
        return scratch / _relative(value, root)
    return value


def run_here(action, args, inputs: dict[str, bytes], writes: list[str], root: str, name: str,
             label: str | None = None) -> dict:
    """Run one step in a scratch copy of the project that holds only its declared inputs; its progress
    lines (named `label`) go back with its result, for the client to show."""
    from .. import progress

    from ..steps import sources

    sources.SCRIPTS_IN_PROCESS = False  # (see there: the worker's own threads draw from Python's random)
    sources.SCRIPT_ENVIRONMENT_APART_FROM = _nanny_environment()
    scratch = Path(tempfile.mkdtemp(prefix="edgebuild-step-"))
    with progress.step_named(label), progress.captured_lines() as lines:
        result = _run_in_scratch(action, args, inputs, writes, root, name, scratch)
    return {**result, "lines": [line.replace(str(scratch), root) for line in lines]}


def _nanny_environment() -> dict[str, str]:
    """What a Dask nanny adds to its worker's environment (one thread per math library, its malloc setting, a
    fixed PYTHONHASHSEED): left out of a training script's, which gets the environment the worker was started in."""
    import dask

    added = {k: str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}).items()}
    return {**added, "PYTHONHASHSEED": "6640"}


def _run_in_scratch(action, args, inputs: dict[str, bytes], writes: list[str], root: str, name: str,
                    scratch: Path) -> dict:
    import platform

    try:
        for relative, data in inputs.items():
            path = scratch / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            action(*_rebase(args, Path(root), scratch))
        except EdgebuildError as exc:
            return {"error": str(exc).replace(str(scratch), root)}
        except FileNotFoundError as exc:
            missing = _relative(Path(exc.filename), scratch) if exc.filename else None
            if missing is None:
                raise
            return {"error": f"{name}: reads {missing}, which the step does not declare (on a Dask worker only "
                             f"declared inputs are there; declare it in the step's reads)"}
        outputs: dict[str, bytes | None] = {}
        for relative in writes:
            path = scratch / relative
            if path.is_dir():
                files = _files([path])
                outputs.update({p.relative_to(scratch).as_posix(): p.read_bytes() for p in files})
                if not files:
                    outputs[relative] = None
            elif path.is_file():
                outputs[relative] = path.read_bytes()
        from distributed import get_worker

        return {"outputs": outputs, "worker": f"{get_worker().address} ({platform.node()})"}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
