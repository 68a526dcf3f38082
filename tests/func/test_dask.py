"""Builds on a Dask cluster (`--dask local:2`): the same bytes as a local build, steps on both workers,
a killed worker survived, undeclared reads refused, and a no-op that starts no cluster."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, all_examples

EXAMPLES = ["digits_cnn", "wine_savedmodel", "photos_cnn", "digits_tflite"]
MEASURED_HERE = ("metrics.json", "verdict.json", "summary.json", "report.html", "report.md", "latency.svg",
                 "map_latency.svg")


def example_project(root: Path, examples=EXAMPLES) -> Path:
    (root / "recipes").mkdir(parents=True)
    for part in ("models", "data", "quant"):
        shutil.copytree(REPO / part, root / part)
    for name in examples:
        shutil.copy(REPO / "recipes" / f"{name}.yaml", root / "recipes")
    return root


def edgebuild(root: Path, *args, timeout=900) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("EDGEBUILD_DASK", None)
    return subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def artifacts(root: Path) -> dict[str, bytes]:
    """Every file under build/ and dist/ but what is measured on the machine (latency) or logged, and the
    source step's traced export, into which TensorFlow stamps its object ids (the models converted from it
    are the same). A keep_float search's mixed.json is compared without the latencies it measured."""
    return {p.relative_to(root).as_posix(): _unmeasured(p) for top in ("build", "dist")
            for p in sorted((root / top).rglob("*")) if p.is_file() and p.name not in MEASURED_HERE
            and "logs" not in p.parts and not p.name.startswith(".") and "/source/export/" not in p.as_posix()}


def _unmeasured(path: Path) -> bytes:
    if path.name != "mixed.json":
        return path.read_bytes()

    def drop(value):
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items() if not k.startswith("latency")}
        return [drop(v) for v in value] if isinstance(value, list) else value
    return json.dumps(drop(json.loads(path.read_text())), sort_keys=True).encode()


@pytest.fixture(scope="module")
def local_build(examples) -> dict[str, bytes]:
    """EXAMPLES' artifacts in the tests' one local build of every example (conftest.examples)."""
    from edgebuild import api

    names = {recipe.name for recipe in api.validate(root=examples.root) if Path(recipe.file).stem in EXAMPLES}
    return {path: data for path, data in artifacts(examples.root).items() if _recipe_of(path) in names}


@pytest.mark.slow
def test_a_cluster_build_gives_the_local_bytes_and_uses_both_workers(tmp_path, local_build):
    root = example_project(tmp_path / "p")
    result = edgebuild(root, "--dask", "local:2")
    assert result.returncode == 0, result.stderr
    built = artifacts(root)
    assert sorted(built) == sorted(local_build)
    assert [name for name in built if built[name] != local_build[name]] == []
    (line,) = [l for l in result.stderr.splitlines() if "steps ran on the cluster" in l]
    counts = [int(part.split(" on ")[0]) for part in line.split("steps ran on the cluster: ")[1].split(", ")]
    assert len(counts) == 2 and min(counts) > 0  # both workers ran steps
    heavy = [l for l in result.stderr.splitlines() if l.startswith(".  ") and
             l[3:].split(":", 1)[-1].startswith(("data", "source", "reference", "float", "convert/", "evaluate/",
                                                "debug/"))]
    assert sum(counts) == len(heavy)
    metrics = json.loads((root / "build/digits-cnn/fp32/metrics.json").read_text())
    assert metrics["latency_host"] and metrics["latency_cpu"]  # which machine the latency is from

    # a no-op starts no cluster: the client never even imports distributed
    again = subprocess.run([sys.executable, "-c", NOOP], cwd=root, capture_output=True, text=True,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["0", "False", "False"]
    assert "ran on the cluster" not in again.stderr


NOOP = """
import sys
from edgebuild import api
result = api.build(dask="local:2")
print(len(result.executed), "distributed" in sys.modules, "tensorflow" in sys.modules)
"""

CLIENT_IMPORTS = """
import sys
from edgebuild import api
result = api.build(dask="local:2")
print(result.exit_code, "tensorflow" in sys.modules)
"""


@pytest.mark.slow
def test_the_client_imports_no_tensorflow_when_every_heavy_step_runs_on_the_cluster(tmp_path):
    root = example_project(tmp_path / "p")
    for name in EXAMPLES[1:]:
        (root / "recipes" / f"{name}.yaml").unlink()
    done = subprocess.run([sys.executable, "-c", CLIENT_IMPORTS], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


def _recipe_of(path: str) -> str:
    """The recipe an artifact belongs to: build/<recipe>/..., dist/<recipe>/... or dist/<recipe>-<platform>.zip."""
    import re

    return re.sub(r"-(android|ios|linux|micro)\.zip$", "", path.split("/")[1])


def busiest_worker(build: subprocess.Popen) -> "psutil.Process":
    """The process under the build using the most CPU now: the Dask worker running the conversion (a
    LocalCluster's workers are child processes of the client, their nannies live in the client)."""
    import psutil

    def cpu(process) -> float | None:  # None: it ended meanwhile (a step's short-lived child)
        try:
            return process.cpu_percent(None)
        except psutil.NoSuchProcess:
            return None

    workers = [p for p in psutil.Process(build.pid).children(recursive=True) if cpu(p) is not None]
    time.sleep(0.5)
    usage = {p: u for p in workers if (u := cpu(p)) is not None}
    return max(usage, key=usage.get)


def _finish(build: subprocess.Popen, seen: list[str], extra=()) -> str:
    """The rest of the build's stderr, or a failure naming what it printed when it hangs."""
    try:
        return build.communicate(timeout=300)[1]
    except subprocess.TimeoutExpired:
        for process in [*__import__("psutil").Process(build.pid).children(recursive=True), *extra]:
            process.kill()
        build.kill()
        rest = build.communicate()[1]
        pytest.fail("the build did not end within 300 s of the kill:\n" + "".join(seen) + rest[-3000:])


def _kill_when(build: subprocess.Popen, starts: str, victim) -> list[str]:
    """Read the build's stderr until a step starting with `starts` begins; then SIGKILL `victim()`."""
    seen = []
    for line in build.stderr:
        seen.append(line)
        if line.startswith(starts):
            victim().send_signal(signal.SIGKILL)
            break
    return seen


def _build(root: Path, address: str) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("EDGEBUILD_DASK", None)
    return subprocess.Popen([sys.executable, "-m", "edgebuild.cli", "build", "--dask", address], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_worker_killed_during_a_conversion_is_survived(tmp_path, local_build):
    """local:2: the worker running a conversion is killed; the step (and any whose inputs died with it) is
    run again, and the build gives the bytes of a local build."""
    root = example_project(tmp_path / "p")
    build = _build(root, "local:2")
    seen = _kill_when(build, ".  wine-savedmodel:convert/", lambda: busiest_worker(build))
    rest = _finish(build, seen)
    assert build.returncode == 0, "".join(seen) + rest
    built = artifacts(root)
    assert [name for name in built if built[name] != local_build.get(name)] == []


@pytest.mark.slow
def test_a_killed_build_takes_its_local_cluster_with_it(tmp_path):
    """SIGKILL the build mid-step: its LocalCluster's nannies lived in it, and its workers (children of it, with
    TensorFlow imported) end too, as does its sandbox; nothing is left at work in the project."""
    import psutil

    root = example_project(tmp_path / "p", ["digits_tflite"])
    build = _build(root, "local:2")
    started = []

    def build_and_its_children():
        for child in psutil.Process(build.pid).children(recursive=True):
            with __import__("contextlib").suppress(psutil.Error):
                started.append((child, " ".join(child.cmdline())))
        return psutil.Process(build.pid)
    seen = _kill_when(build, ".  digits-tflite:source", build_and_its_children)
    build.communicate(timeout=60)
    workers = [p for p, command in started if "spawn_main" in command]
    assert len(workers) >= 2, "".join(seen)  # (the LocalCluster's two workers were running)
    started = [p for p, _ in started]
    gone, alive = psutil.wait_procs(started, timeout=15)
    for process in alive:
        process.kill()
    assert alive == [], "".join(seen)


@pytest.fixture
def scheduler(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes (one thread each), as a team would start them."""
    import psutil

    file = tmp_path / "scheduler.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    bin_dir = Path(sys.executable).parent
    started = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(file), "--port", "0",
                                 "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for _ in range(60):
        if file.exists() and json.loads(file.read_text() or "{}").get("address"):
            break
        time.sleep(0.5)
    address = json.loads(file.read_text())["address"]
    for _ in range(2):
        started.append(subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1",
                                         "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    yield address, [psutil.Process(p.pid) for p in started]
    for process in started:
        for child in psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []:
            child.kill()
        process.kill()
        process.wait()


def _busiest_worker(nannies):
    """The worker process (a nanny's child) whose own and children's CPU use is the highest now: the one running
    a step (a training script runs in a child of it; killing that child alone would fail the step, not the worker)."""
    import psutil

    def tree(worker):
        with __import__("contextlib").suppress(psutil.Error):
            return [worker, *worker.children(recursive=True)]
        return []

    def use(worker) -> float:
        total = 0.0
        for process in tree(worker):
            with __import__("contextlib").suppress(psutil.Error):
                total += process.cpu_percent(None)
        return total

    workers = [w for nanny in nannies if nanny.is_running() for w in nanny.children()]
    for worker in workers:
        use(worker)
    time.sleep(0.5)
    return max(workers, key=use)


@pytest.mark.slow
def test_a_worker_killed_on_a_real_scheduler_is_survived_and_every_example_is_the_local_build(
        tmp_path, examples, scheduler):
    """Issue 35, as found: every example on a real scheduler, the worker converting cancer-tabular's trained model
    SIGKILLed (cancer-mixed is training meanwhile, or trains after, on the restarted worker or the other one);
    every artifact of every example is the tests' local build's (conftest.examples). (This is also the suite's
    second clean build of the examples: the bytes depend neither on the folder nor on the order steps ran; and its
    cluster build of every task kind, the detector's, the sound models' and the PyTorch model's included.)"""
    address, (scheduler_process, *workers) = scheduler
    root = all_examples(tmp_path / "p").root
    build = _build(root, address)
    seen = _kill_when(build, ".  cancer-tabular:float", lambda: _busiest_worker(workers))
    rest = _finish(build, seen, workers)
    assert build.returncode == 0, "".join(seen) + rest
    built, local = artifacts(root), artifacts(examples.root)
    assert sorted(built) == sorted(local) and "build/cancer-mixed/source/model.keras" in built
    assert "dist/shapes-detection-android.zip" in built  # (the detector's anchors went out with its steps)
    assert "build/photos-torch/source/float.tflite" in built  # (litert-torch's conversion, on a worker)
    # the workers' progress lines come back with their results, each naming its step (once: a killed step's never)
    said = [line for line in ("".join(seen) + rest).splitlines() if line.startswith("   shapes-detection:evaluate/")]
    assert len(said) == 3 and all(" KB, " in line for line in said), rest
    # (a training script's model.keras is saved without Keras' stamps, so it is the same too)
    assert [name for name in built if built[name] != local[name]] == []


# run in each worker process: a thread drawing from Python's global random all the time, as the worker's event
# loop does now and then (dask's sizeof samples the items of each result and input it holds; a connect retry
# after a worker died draws its jitter)
DRAWS = """
import random, threading, time
def draw():
    while True:
        random.random()
        time.sleep(0.0002)
threading.Thread(target=draw, name="draws", daemon=True).start()
"""
CANCER = """\
name: cancer
model: {script: models/train_cancer.py, args: ["--epochs", "5"]}
dataset: {source: sklearn_breast_cancer, test_fraction: 0.25, seed: 1}
preprocess: {normalize: fit}
labels: [malignant, benign]
targets: [{name: fp32, quantization: float32}]
thresholds: {min_accuracy: 0.5}
bundles: {android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
"""


@pytest.mark.slow
def test_a_script_trains_the_weights_it_trains_here_forked_after_other_steps_and_on_a_worker_whose_threads_draw_from_random(
        tmp_path, scheduler):
    """Issue 35's cause: Keras seeds each layer from Python's global random after the script's random.seed, and a
    training run as __main__ inside the Dask worker shared that stream with the worker's own threads: cancer-mixed
    trained other weights on a cluster (0.9883 against 0.9859) when a draw fell between the two. On a worker the
    script now runs in a fresh interpreter, with the environment the worker was started in (not the nanny's
    OMP_NUM_THREADS=1 and PYTHONHASHSEED=6640): every artifact is a local build's. So is each of two trainings
    under -n 2, in sandboxes forked after TensorFlow's import, after other steps."""
    from distributed import Client

    address, _ = scheduler
    local, forked, root = tmp_path / "here", tmp_path / "forked", tmp_path / "p"
    for project in (local, forked, root):
        (project / "recipes").mkdir(parents=True)
        (project / "models").mkdir()
        shutil.copy(REPO / "models/train_cancer.py", project / "models")
        (project / "recipes/cancer.yaml").write_text(CANCER)
    assert edgebuild(local).returncode == 0
    expected = artifacts(local)
    assert "build/cancer/source/model.keras" in expected

    # -n 2: TensorFlow imported before doit forks its workers, each worker's sandbox forked from there; two
    # trainings at once, each after its recipe's data step in that sandbox
    (forked / "recipes/again.yaml").write_text(CANCER.replace("name: cancer", "name: again"))
    result = edgebuild(forked, "-n", "2")
    assert result.returncode == 0, result.stderr
    built = artifacts(forked)
    assert [name for name in sorted(expected) if built.get(name) != expected[name]] == []
    assert built["build/again/source/model.keras"] == expected["build/cancer/source/model.keras"]

    with Client(address, timeout=60) as client:
        client.run(exec, DRAWS, {})
    result = edgebuild(root, "--dask", address)
    assert result.returncode == 0, result.stderr
    built = artifacts(root)
    assert [name for name in sorted(set(built) | set(expected)) if built.get(name) != expected.get(name)] == []


@pytest.mark.slow
def test_a_scheduler_that_goes_away_ends_the_build_in_one_line(tmp_path, scheduler):
    address, (scheduler_process, *workers) = scheduler
    root = example_project(tmp_path / "p")
    build = _build(root, address)
    seen = _kill_when(build, ".  wine-savedmodel:convert/", lambda: scheduler_process)
    rest = _finish(build, seen, workers)
    assert build.returncode == 1, "".join(seen) + rest
    failures = [line for line in rest.split("failure:\n" if " 1 failure:" in rest else "failures:\n")[-1].splitlines()
                if not line.startswith("edgebuild: dask ")]  # (the summary of which worker ran what)
    assert "ERROR" not in "".join(seen) + rest
    assert failures == [f"dask {address}: the cluster went away during the build; the steps that finished are "
                        f"kept, build again to do the rest"], rest
    assert "Traceback" not in "".join(seen) + rest
    assert (root / "build/digits-cnn/data.npz").exists()  # what finished is kept


UNDECLARED = """\
import argparse, pathlib, keras
parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
print(pathlib.Path("notes.txt").read_text())   # read, but not listed under the recipe's inputs:
keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]).save(args.out)
"""


@pytest.mark.slow
def test_a_step_that_reads_an_undeclared_file_fails_on_the_worker_naming_it(tmp_path):
    root = tmp_path / "p"
    (root / "recipes").mkdir(parents=True)
    (root / "train.py").write_text(UNDECLARED)
    (root / "notes.txt").write_text("not declared\n")
    (root / "recipes" / "iris.yaml").write_text(
        "name: iris\nmodel: {script: train.py}\ndataset: {source: sklearn_iris}\nlabels: [a, b, c]\n"
        "targets: [{name: fp32, quantization: float32}]\n")
    assert edgebuild(root).returncode == 0  # here, the file is simply there
    shutil.rmtree(root / "build")
    (root / ".doit.db").unlink()
    result = edgebuild(root, "--dask", "local:2")
    assert result.returncode == 1
    failure = [l for l in result.stderr.splitlines() if l.startswith("recipes/iris.yaml: iris: model.script")]
    assert failure and "notes.txt" in failure[0], result.stderr


def test_a_bad_address_is_one_line(tmp_path, iris_project):
    result = edgebuild(iris_project.root, "--dask", "local:zero")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "--dask local:zero: expected local:N with N a number of workers, e.g. local:2")


def test_latency_local_keeps_evaluations_here(iris_project):
    from edgebuild import api
    from edgebuild.graph.tasks import recipe_steps
    from edgebuild.run import remote

    (recipe,) = api.validate(root=iris_project.root)
    steps = {s.name: s for s in recipe_steps(recipe)}
    assert remote.runs_remotely(steps["evaluate/fp32"], recipe) and remote.runs_remotely(steps["convert/fp32"], recipe)
    assert not remote.runs_remotely(steps["bundle/android"], recipe) and not remote.runs_remotely(steps["gate/fp32"], recipe)
    iris_project.edit("recipes/iris.yaml", "labels:", "latency: local\nlabels:")
    (recipe,) = api.validate(root=iris_project.root)
    steps = {s.name: s for s in recipe_steps(recipe)}
    assert not remote.runs_remotely(steps["evaluate/fp32"], recipe) and remote.runs_remotely(steps["convert/fp32"], recipe)
