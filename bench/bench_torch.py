"""PyTorch sources: edgebuild's cold build against a hand-written litert-torch pipeline, run in the same session.

    python bench/bench_torch.py [--model photos|mobilenet|both] [--repeat N]

Both start from the same saved torch.export program and the same .npz of pictures (NHWC, 0..1), and make
the same three models: float32 (litert-torch, taking NHWC), weight_only_int8 and int8 (the LiteRT Quantizer,
100 calibration samples), each evaluated on every test picture in LiteRT.

- photos: the photos-torch example's CNN (models/train_photos_torch.py, trained once here), 32x32 pictures.
- mobilenet: a MobileNetV2 (width 1.0, 2.2 M parameters) written here in plain PyTorch (PyPI's torchvision
  does not import beside torch 2.13), seeded random weights, 96x96 pictures of seeded noise, 5 classes.
- handwritten: litert_torch.to_channel_last_io + convert, litert_quantizer's recipes, ai_edge_litert.
- edgebuild -n 1 / -n 2: `edgebuild build` of the one recipe, cold (it also writes inspect, golden
  vectors, reports and the Android, iOS and Linux bundles, which the hand-written pipeline does not).

Prints each median wall time, its ratio to the hand-written pipeline, and each side's peak memory.
Goal: -n 2 at or under 1.0x.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
ENV = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")

MOBILENET = """
import sys, numpy as np, torch
from torch import nn

def block(cin, cout, stride, expand):
    hidden = cin * expand
    layers = [] if expand == 1 else [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
    layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
               nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers)

class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body
    def forward(self, x):
        return x + self.body(x)

class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    def __init__(self, classes):
        super().__init__()
        layers, cin = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()], 32
        for expand, cout, repeats, stride in self.SETTINGS:
            for i in range(repeats):
                body = block(cin, cout, stride if i == 0 else 1, expand)
                layers.append(Residual(body) if (stride if i == 0 else 1) == 1 and cin == cout else body)
                cin = cout
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(), nn.AdaptiveAvgPool2d(1),
                   nn.Flatten(), nn.Linear(1280, classes), nn.Softmax(dim=-1)]
        self.net = nn.Sequential(*layers)
    def forward(self, x):
        return self.net(x)

torch.manual_seed(0)
model = MobileNetV2(5).eval()
torch.export.save(torch.export.export(model, (torch.zeros(1, 3, 96, 96),)), sys.argv[1])
rng = np.random.default_rng(0)
x = rng.uniform(0, 1, (300, 96, 96, 3)).astype(np.float32)
y = rng.integers(0, 5, 300)
np.savez(sys.argv[2], x_train=x[:225], y_train=y[:225], x_test=x[225:], y_test=y[225:])
"""

PHOTOS = """
import sys, os, subprocess, numpy as np
from pathlib import Path
from PIL import Image
from edgebuild.steps.datasets import image_files, split_train_test
root, program, npz = sys.argv[1], sys.argv[2], sys.argv[3]
files = image_files(Path(root) / "data/photos")
x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in files]) * np.float32(1 / 255)
y = np.asarray([["flower", "temple"].index(os.path.basename(os.path.dirname(p))) for p in files])
s = split_train_test(x, y, 0.25, 0)
np.savez(npz, x_train=s.x_train, y_train=s.y_train, x_test=s.x_test, y_test=s.y_test)
subprocess.run([sys.executable, os.path.join(root, "models/train_photos_torch.py"), "--out", program], check=True,
               env=dict(os.environ, EDGEBUILD_DATA=npz), stdout=subprocess.DEVNULL)
"""

HANDWRITTEN = """
import sys, numpy as np, torch, litert_torch
from litert_quantizer import Quantizer, recipe
from ai_edge_litert.interpreter import Interpreter
data = np.load(sys.argv[2])
x_train, x_test, y_test = data["x_train"], data["x_test"], data["y_test"]
nhwc = litert_torch.to_channel_last_io(torch.export.load(sys.argv[1]).module(), args=[0])
float_model = litert_torch.convert(nhwc, (torch.from_numpy(x_test[:1]),))
float_model.export(sys.argv[3] + "/fp32.tflite")
flat = open(sys.argv[3] + "/fp32.tflite", "rb").read()
models = {"fp32": flat}
for name, rules in (("w8", recipe.weight_only_wi8_afp32()), ("int8", recipe.static_wi8_ai8())):
    quantizer = Quantizer(bytearray(flat), rules)
    key = "serving_default"
    signature = Interpreter(model_content=flat).get_signature_list()[key]
    calibration = None
    if quantizer.need_calibration:
        calibration = quantizer.calibrate({key: [{signature["inputs"][0]: s[None]} for s in x_train[:100]]})
    models[name] = bytes(quantizer.quantize(calibration).quantized_model)
for name, model in models.items():
    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    given, taken = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    right = 0
    for sample, label in zip(x_test, y_test):
        interpreter.set_tensor(given["index"], sample[None].astype(given["dtype"]))
        interpreter.invoke()
        right += int(np.argmax(interpreter.get_tensor(taken["index"])) == label)
    print(name, len(model), right / len(y_test))
"""

RECIPE = """\
name: {name}-torch
model: {{pytorch: models/net.pt2}}
dataset: {{source: npz, path: data/images.npz}}
labels: {labels}
targets:
  - {{name: fp32, quantization: float32}}
  - {{name: w8, quantization: weight_only_int8}}
  - {{name: int8, quantization: int8, calibration_samples: 100}}
thresholds: {{min_accuracy: 0.0}}
"""


def setup(kind: str, root: Path) -> None:
    (root / "recipes").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "data").mkdir()
    program, npz = root / "models/net.pt2", root / "data/images.npz"
    if kind == "mobilenet":
        subprocess.run([PY, "-c", MOBILENET, str(program), str(npz)], check=True, env=ENV, stderr=subprocess.DEVNULL)
        labels = ["a", "b", "c", "d", "e"]
    else:
        shutil.copytree(REPO / "data/photos", root / "data/photos")
        shutil.copy(REPO / "models/train_photos_torch.py", root / "models")
        subprocess.run([PY, "-c", PHOTOS, str(root), str(program), str(npz)], check=True, env=ENV)
        labels = ["flower", "temple"]
    (root / "recipes" / f"{kind}.yaml").write_text(RECIPE.format(name=kind, labels=labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["photos", "mobilenet", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    measure.compile_checkout(REPO)
    for kind in (["photos", "mobilenet"] if args.model == "both" else [args.model]):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "p"
            setup(kind, root)
            times: dict[str, list[tuple[float, float]]] = {"handwritten": [], "edgebuild -n 1": [], "edgebuild -n 2": []}
            for _ in range(args.repeat):
                out = Path(tmp) / "hand"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                times["handwritten"].append(measure.run([PY, "-c", HANDWRITTEN, str(root / "models/net.pt2"),
                                                         str(root / "data/images.npz"), str(out)], root, ENV))
                for jobs in (1, 2):
                    for part in ("build", "dist", ".doit.db"):
                        shutil.rmtree(root / part, ignore_errors=True)
                        (root / part).unlink(missing_ok=True) if (root / part).is_file() else None
                    times[f"edgebuild -n {jobs}"].append(measure.run(
                        [PY, "-m", "edgebuild.cli", "build", "-n", str(jobs)], root, ENV))
            base = statistics.median(t for t, _ in times["handwritten"])
            print(f"{kind} ({args.repeat} runs each; medians)")
            for name, found in times.items():
                wall = statistics.median(t for t, _ in found)
                peak = max(m for _, m in found)
                print(f"  {name:16s} {wall:6.1f} s  {wall / base:4.2f}x  peak {peak:6.0f} MB")


if __name__ == "__main__":
    main()
