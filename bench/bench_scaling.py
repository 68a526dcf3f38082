"""How a cold build's cost grows with model size, targets and recipes.

    python bench/bench_scaling.py

Models are made at bench time, seeded, no download: a small dense model (8x8 -> 64 -> 10), a
small CNN (8x8x1, two 3x3 convolutions) and MobileNetV2 (alpha 1.0, 96x96x3, 2.26 M parameters),
each with 300 seeded noise samples (225 train / 75 test). For each model, a recipe with one
target (float32) and one with four (float32, float16, dynamic_int8, int8): the difference is the
cost of three more targets. Then 1, 4 and 16 recipes of the dense model with four targets each.
Every build is cold, `edgebuild build -n 1`; peak memory is the largest sum over the process tree.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run  # noqa: E402

PY = sys.executable
BUILD = [PY, "-m", "edgebuild.cli", "build"]

MAKE = """
import sys, numpy as np, tensorflow as tf
kind, model_path, data_path = sys.argv[1:]
tf.keras.utils.set_random_seed(0)
layers = tf.keras.layers
if kind == "dense":
    shape = (8, 8)
    model = tf.keras.Sequential([tf.keras.Input(shape), layers.Flatten(), layers.Dense(64, activation="relu"),
                                 layers.Dense(10, activation="softmax")])
elif kind == "cnn":
    shape = (8, 8, 1)
    model = tf.keras.Sequential([tf.keras.Input(shape), layers.Conv2D(16, 3, activation="relu"),
                                 layers.Conv2D(32, 3, activation="relu"), layers.Flatten(),
                                 layers.Dense(10, activation="softmax")])
else:
    shape = (96, 96, 3)
    model = tf.keras.applications.MobileNetV2(input_shape=shape, alpha=1.0, weights=None, classes=10)
model.save(model_path)
rng = np.random.default_rng(0)
x = rng.uniform(0, 1, (300, *shape)).astype(np.float32)
y = rng.integers(0, 10, 300)
np.savez(data_path, x_train=x[:225], y_train=y[:225], x_test=x[225:], y_test=y[225:])
"""

ALL_TARGETS = """\
  - {name: fp32, quantization: float32}
  - {name: fp16, quantization: float16}
  - {name: dyn8, quantization: dynamic_int8}
  - {name: int8, quantization: int8, calibration_samples: 100}
"""


def recipe(name: str, kind: str, targets: str) -> str:
    return (f"name: {name}\nmodel: {{keras: models/{kind}.keras}}\ndataset: {{source: npz, path: data/{kind}.npz}}\n"
            f"labels: [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9]\ntargets:\n{targets}thresholds: {{min_accuracy: 0.0}}\n")


def project(tmp: Path, name: str, made: Path, recipes: dict[str, str]) -> Path:
    root = tmp / name
    for folder in ("recipes", "models", "data"):
        (root / folder).mkdir(parents=True)
    for path in made.iterdir():
        (root / ("models" if path.suffix == ".keras" else "data") / path.name).hardlink_to(path)
    for recipe_name, text in recipes.items():
        (root / "recipes" / f"{recipe_name}.yaml").write_text(text)
    return root


def main() -> None:
    import measure

    measure.compile_checkout(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = tmp / "made"
        made.mkdir()
        for kind in ("dense", "cnn", "mobilenet"):
            subprocess.run([PY, "-c", MAKE, kind, str(made / f"{kind}.keras"), str(made / f"{kind}.npz")],
                           check=True, capture_output=True)
        print(f"{'model':10} {'1 target s':>11} {'4 targets s':>12} {'per extra target s':>19} {'peak MB':>8}")
        for kind in ("dense", "cnn", "mobilenet"):
            one, _ = run(BUILD, project(tmp, f"{kind}1", made, {"m": recipe("m", kind, ALL_TARGETS.splitlines(True)[0])}))
            four, peak = run(BUILD, project(tmp, f"{kind}4", made, {"m": recipe("m", kind, ALL_TARGETS)}))
            print(f"{kind:10} {one:11.1f} {four:12.1f} {(four - one) / 3:19.1f} {peak:8.0f}")
        print(f"\n{'recipes (dense, 4 targets)':27} {'seconds':>8} {'per recipe s':>13} {'peak MB':>8}")
        for count in (1, 4, 16):
            recipes = {f"r{i}": recipe(f"r{i}", "dense", ALL_TARGETS) for i in range(count)}
            seconds, peak = run(BUILD, project(tmp, f"many{count}", made, recipes))
            print(f"{count:27} {seconds:8.1f} {seconds / count:13.1f} {peak:8.0f}")


if __name__ == "__main__":
    main()
