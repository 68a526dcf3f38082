"""The TFLiteConverter's int8 against the LiteRT Quantizer's a8w8, on the same model and data.

    python bench/bench_quantizers.py [--mobilenet]

Builds one recipe with two int8 targets (100 calibration samples each): `conv` through the
TFLiteConverter, `lrq` with `backend: litert_quantizer` (the float step converts the model to
float32 once; its time is shown apart). Prints each target's size, accuracy and the wall time of
its steps (EDGEBUILD_TIMES), and the quantizer's time as a ratio to the converter's, measured in
the same build. The model is the checked-in digits-cnn, or with --mobilenet the seeded
MobileNetV2 (96x96x3, 2.26 M parameters) of bench_mobilenet.py.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

TARGETS = """targets:
  - {name: conv, quantization: int8, calibration_samples: 100}
  - {name: lrq, quantization: int8, calibration_samples: 100, backend: litert_quantizer}
thresholds: {min_accuracy: 0.0}
bundles: {android: {enabled: false}, ios: {enabled: false}}
"""


def digits_project(root: Path) -> None:
    (root / "models").mkdir(parents=True)
    shutil.copy(REPO / "models" / "digits_cnn.keras", root / "models")
    recipe = (REPO / "recipes" / "digits_cnn.yaml").read_text().split("targets:")[0]
    (root / "recipes").mkdir()
    (root / "recipes" / "digits.yaml").write_text(recipe + TARGETS)


def mobilenet_project(root: Path) -> None:
    import bench_mobilenet

    (root / "models").mkdir(parents=True)
    (root / "data").mkdir()
    subprocess.run([PY, "-c", bench_mobilenet.MAKE, str(root / "models" / "mobilenet.keras"),
                    str(root / "data" / "images.npz")], check=True, capture_output=True)
    (root / "recipes").mkdir()
    recipe = bench_mobilenet.RECIPE.split("targets:")[0]
    (root / "recipes" / "mobilenet.yaml").write_text(recipe + TARGETS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mobilenet", action="store_true", help="the MobileNetV2-size model instead of digits-cnn")
    args = parser.parse_args()
    import measure as _measure

    _measure.compile_checkout(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        (mobilenet_project if args.mobilenet else digits_project)(root)
        env = dict(os.environ, EDGEBUILD_TIMES="1", TF_CPP_MIN_LOG_LEVEL="2")
        out = subprocess.run([PY, "-m", "edgebuild.cli", "build"], cwd=root, env=env, capture_output=True,
                             text=True).stderr
        times, current = {}, None
        for line in out.splitlines():
            if line.startswith(".  "):
                current = line[3:].strip().split(":", 1)[-1]
            elif line.strip().startswith("(") and line.strip().endswith("s)") and current:
                times[current] = float(line.strip()[1:-2])
        name = next((root / "build").glob("*/summary.json"))
        summary = json.loads(name.read_text())
    print(f"{'digits-cnn' if not args.mobilenet else 'MobileNetV2 96x96x3'}: reference accuracy "
          f"{summary['reference']['accuracy']:.4f}")
    print(f"{'target':34} {'bytes':>9} {'accuracy':>9} {'quantize s':>11} {'evaluate s':>11}")
    for target in summary["targets"]:
        label = "conv (TFLiteConverter int8)" if target["name"] == "conv" else "lrq (LiteRT Quantizer a8w8)"
        print(f"{label:34} {target['metrics']['size_bytes']:9d} {target['metrics']['accuracy']:9.4f} "
              f"{times.get('convert/' + target['name'], 0):11.2f} {times.get('evaluate/' + target['name'], 0):11.2f}")
    print(f"float step (the quantizer's float32 model, once per recipe): {times.get('float', 0):.2f} s")
    conv, lrq = times.get("convert/conv", 0), times.get("convert/lrq", 0)
    if conv:
        print(f"quantize time, LiteRT Quantizer / converter: {lrq / conv:.2f} "
              f"({(lrq + times.get('float', 0)) / conv:.2f} with the float step)")


if __name__ == "__main__":
    main()
