"""Build time and memory at a real model's size, as ratios against a hand-written pipeline run in the same run.

    python bench/bench_mobilenet.py [--alpha A] [--repeat N] [--before PATH]

The model is tf.keras.applications.MobileNetV2(alpha=A (1.0; 0.35 has 0.41 M parameters, as many layers),
input 96x96x3, weights=None, 5 classes),
seeded (no download), saved as .keras; the data are 225 training and 75 test images of seeded noise
(the build's cost does not depend on what the pixels show). Four targets: float32, float16,
dynamic_int8, int8 (uint8 io, 100 calibration samples).

- handwritten: what the tutorials do by hand, per target: load the .keras, from_keras_model,
  convert, then evaluate every test image in the LiteRT interpreter.
- edgebuild -n 1 and -n 2: `edgebuild build` of one recipe, cold (also inspect, the int8
  debugger, reports and both bundles, which the hand-written pipeline does not do).
- with --before PATH: the same edgebuild build from another checkout (e.g. a git worktree of the
  previous commit), run in the same session, for before/after figures.

Prints the median wall time of each, the ratios, and each side's peak memory (the largest sum of
resident sets over the whole process tree, so -n 2 counts both workers), then where edgebuild's
time went, step by step (EDGEBUILD_TIMES=1, one -n 1 build).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run as measured  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
LABELS = ["a", "b", "c", "d", "e"]

MAKE = """
import sys, numpy as np, tensorflow as tf
tf.keras.utils.set_random_seed(0)
model = tf.keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=float(sys.argv[3]), weights=None, classes=5)
model.save(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (300, 96, 96, 3)).astype(np.float32)
y = rng.integers(0, 5, 300)
np.savez(sys.argv[2], x_train=x[:225], y_train=y[:225], x_test=x[225:], y_test=y[225:])
"""

RECIPE = f"""\
name: mobilenet
model: {{keras: models/mobilenet.keras}}
dataset: {{source: npz, path: data/images.npz}}
preprocess: {{scale: 0.00392156862745098}}
labels: {LABELS}
targets:
  - {{name: fp32, quantization: float32}}
  - {{name: fp16, quantization: float16}}
  - {{name: dyn8, quantization: dynamic_int8}}
  - {{name: int8, quantization: int8, io: uint8, calibration_samples: 100}}
thresholds: {{min_accuracy: 0.0}}
"""

HANDWRITTEN = """
import sys, numpy as np, tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
data = np.load(sys.argv[2])
x_train, x_test, y_test = data["x_train"] / 255.0, data["x_test"] / 255.0, data["y_test"]
x_train, x_test = x_train.astype(np.float32), x_test.astype(np.float32)
def representative():
    for sample in x_train[:100]:
        yield [sample[None]]
for mode in ("float32", "float16", "dynamic_int8", "int8"):
    model = tf.keras.models.load_model(sys.argv[1], compile=False)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.uint8
    flat = converter.convert()
    interpreter = Interpreter(model_content=flat)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    correct = 0
    for sample, label in zip(x_test, y_test):
        if mode == "int8":
            scale, zero = inp["quantization"]
            sample = np.clip(np.round(sample / scale + zero), 0, 255).astype(np.uint8)
        interpreter.set_tensor(inp["index"], sample[None])
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(out["index"])) == label)
    print(mode, len(flat), correct / len(y_test))
"""


def project(tmp: Path, name: str, model: Path, data: Path) -> Path:
    root = tmp / name
    (root / "recipes").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "data").mkdir()
    os.link(model, root / "models" / "mobilenet.keras")
    os.link(data, root / "data" / "images.npz")
    (root / "recipes" / "mobilenet.yaml").write_text(RECIPE)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="cold builds of each side (the median is used)")
    parser.add_argument("--alpha", type=float, default=1.0, help="MobileNetV2's width multiplier")
    parser.add_argument("--before", type=Path, help="another edgebuild checkout to measure beside this one")
    args = parser.parse_args()
    import measure as _measure

    _measure.compile_checkout(REPO)
    if args.before:
        _measure.compile_checkout(args.before)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))  # this checkout's edgebuild, whatever is installed
    before_env = dict(env, PYTHONPATH=str(args.before.resolve())) if args.before else None
    build = [PY, "-m", "edgebuild.cli", "build"]
    sides: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, data = tmp / "mobilenet.keras", tmp / "images.npz"
        subprocess.run([PY, "-c", MAKE, str(model), str(data), str(args.alpha)], check=True, env=env, capture_output=True)
        for i in range(args.repeat):  # alternate, so drift in the machine's speed hits every side
            runs = [("handwritten", [PY, "-c", HANDWRITTEN, str(model), str(data)], tmp, env)]
            if before_env:
                runs.append(("edgebuild -n 1, before", build, project(tmp, f"before{i}", model, data), before_env))
            runs += [("edgebuild -n 1", build, project(tmp, f"one{i}", model, data), env),
                     ("edgebuild -n 2", [*build, "-n", "2"], project(tmp, f"two{i}", model, data), env)]
            for name, command, cwd, run_env in runs:
                sides.setdefault(name, []).append(measured(command, cwd, run_env))
        steps = {"now": step_times(project(tmp, "steps", model, data), env)}
        if before_env:
            steps["before"] = step_times(project(tmp, "steps-before", model, data), before_env)
    base = statistics.median(t for t, _ in sides["handwritten"])
    goals = {"edgebuild -n 1": "<= 0.7", "edgebuild -n 2": "<= 0.5"}
    print(f"MobileNetV2 alpha {args.alpha} 96x96x3, 4 targets, 225/75 images; median of {args.repeat}")
    print(f"{'side':28} {'seconds':>8} {'ratio':>6} {'peak MB (PSS, all processes)':>29}  goal")
    for name, runs in sides.items():
        seconds = statistics.median(t for t, _ in runs)
        print(f"{name:28} {seconds:8.1f} {seconds / base:6.2f} {max(m for _, m in runs):29.0f}  {goals.get(name, '')}")
    print("\nedgebuild -n 1, seconds per step (steps under 0.2 s left out):")
    names = [name for name, _ in steps["now"]] + [n for n, _ in steps.get("before", []) if n not in dict(steps["now"])]
    print(f"  {'step':28} {'now':>7}" + (f" {'before':>7}" if "before" in steps else ""))
    for name in names:
        now, before = dict(steps["now"]).get(name, 0.0), dict(steps.get("before", [])).get(name, 0.0)
        if max(now, before) >= 0.2:
            print(f"  {name:28} {now:7.2f}" + (f" {before:7.2f}" if "before" in steps else ""))


def step_times(root: Path, env: dict) -> list[tuple[str, float]]:
    """Each step's wall time in one cold build, from the reporter's EDGEBUILD_TIMES lines."""
    out = subprocess.run([PY, "-m", "edgebuild.cli", "build"], cwd=root, env=dict(env, EDGEBUILD_TIMES="1"),
                         capture_output=True, text=True, check=True).stderr
    steps, current = [], None
    for line in out.splitlines():
        if line.startswith(".  "):
            current = line[3:].strip()
        elif line.strip().startswith("(") and line.strip().endswith("s)") and current:
            steps.append((current.split(":", 1)[-1], float(line.strip()[1:-2])))
    return steps


if __name__ == "__main__":
    main()
