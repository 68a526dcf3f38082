"""The microcontroller bundle (TensorFlow Lite Micro): its files, its C++ compiled with g++ -Wall -Werror against
the TFLM methods it calls, its stated arena run in PyPI's tflite-micro (and the arena just below the measured one
refused), and an op TFLM lacks failing the ship step in one line before anything is generated."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, Project

sys.path.insert(0, str(Path(__file__).parent / "tflm_stubs"))
import make_headers  # noqa: E402

TRAIN = """\
import argparse, os
import numpy as np
import tensorflow as tf
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--activation", default="relu"); a = p.parse_args()
tf.keras.utils.set_random_seed(0)
d = np.load(os.environ["EDGEBUILD_DATA"])
m = tf.keras.Sequential([tf.keras.Input((8, 8), batch_size=1), tf.keras.layers.Flatten(),
                         tf.keras.layers.Dense(16, activation=a.activation), tf.keras.layers.Dense(10, activation="softmax")])
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(d["x_train"], d["y_train"], epochs=8, verbose=0)
m.save(a.out)
"""
RECIPE = """\
name: NAME
model: {script: train.py, args: ["--activation", "ACTIVATION"]}
dataset: {source: sklearn_digits}
preprocess: {scale: 0.0625}
labels: [zero, one, two, three, four, five, six, seven, eight, nine]
targets:
  - {name: int8, quantization: int8, io: int8, calibration_samples: 100}
thresholds: {min_accuracy: 0.5, max_arena_kb: 64, max_flash_kb: 64}
bundles: {micro: {enabled: true}, android: {enabled: false}, ios: {enabled: false}}
"""
TFLM_AT = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
try:
    interpreter = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=int(sys.argv[2]))
    interpreter.set_input(np.zeros(interpreter.get_input_details(0)["shape"], np.int8), 0)
    interpreter.invoke()
except Exception as exc:
    print("refused:", exc)
    sys.exit(1)
print("ran")
"""


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("micro") / "p")
    project.write("train.py", TRAIN)
    project.write("recipes/tiny.yaml", RECIPE.replace("NAME", "tiny-digits").replace("ACTIVATION", "relu"))
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def bundle(project) -> Path:
    return project.path("dist/tiny-digits/micro")


def stated_arena(project) -> int:
    settings = (bundle(project) / "src/tiny_digits_settings.h").read_text()
    return int(re.search(r"kTinyDigitsArenaSize = (\d+);", settings).group(1))


def test_the_bundle_holds_the_model_array_resolver_settings_and_examples(micro):
    folder = bundle(micro)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["README.md", "examples/arduino/tiny_digits/tiny_digits.ino", "examples/main.cc",
                     "examples/tiny-digits-golden.json", "examples/tiny_digits_golden.h", "manifest.json",
                     "model/tiny-digits-labels.txt", "model/tiny-digits-metadata.json", "model/tiny-digits.tflite",
                     "src/tiny_digits_model.cc", "src/tiny_digits_model.h", "src/tiny_digits_ops.cc",
                     "src/tiny_digits_ops.h", "src/tiny_digits_settings.h"]
    model = micro.path("build/tiny-digits/shipped.tflite").read_bytes()
    source = (folder / "src/tiny_digits_model.cc").read_text()
    assert "alignas(16) const unsigned char g_tiny_digits_model[] = {" in source
    listed = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", source))
    assert listed == model and f"g_tiny_digits_model_len = {len(model)};" in source
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [f for f in files if f != "manifest.json"]
    assert micro.path("dist/tiny-digits-micro.zip").is_file()


def test_the_resolver_registers_exactly_the_models_ops(micro):
    from edgebuild.tflite import tflm_ops
    from edgebuild.tflite.inspection import inspect_model

    ops = {op.op for op in inspect_model(micro.path("build/tiny-digits/shipped.tflite")).ops}
    calls = re.findall(r"resolver\.(Add\w+)\(\)", (bundle(micro) / "src/tiny_digits_ops.cc").read_text())
    assert sorted(calls) == sorted(tflm_ops.BUILTIN_OPS[op] for op in ops)
    assert f"MicroMutableOpResolver<kTinyDigitsOpCount>" in (bundle(micro) / "src/tiny_digits_ops.h").read_text()
    assert f"constexpr int kTinyDigitsOpCount = {len(ops)};" in (bundle(micro) / "src/tiny_digits_ops.h").read_text()


def test_the_cpp_compiles_with_all_warnings_as_errors(micro, tmp_path):
    if shutil.which("g++") is None:
        pytest.fail("g++ not found")
    include = make_headers.write(tmp_path / "tflm")
    folder = bundle(micro)
    for source in ("src/tiny_digits_model.cc", "src/tiny_digits_ops.cc", "examples/main.cc"):
        compiled = subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", "-c", str(folder / source), "-I",
                                   str(folder / "src"), "-I", str(include), "-o", str(tmp_path / "out.o")],
                                  capture_output=True, text=True)
        assert compiled.returncode == 0, source + "\n" + compiled.stderr


def test_the_stated_arena_runs_the_model_in_tflm_and_the_measured_one_is_the_least(micro):
    pytest.importorskip("tflite_micro")
    model = micro.path("build/tiny-digits/shipped.tflite")
    readme = (bundle(micro) / "README.md").read_text()
    measured = int(re.search(r"needed (\d+) bytes to allocate and run it", readme).group(1))
    assert stated_arena(micro) >= measured + 1024
    at = [subprocess.run([sys.executable, "-c", TFLM_AT, str(model), str(size)], capture_output=True, text=True,
                         timeout=120) for size in (stated_arena(micro), measured, measured - 256)]
    assert [r.returncode == 0 and r.stdout.strip() == "ran" for r in at] == [True, True, False]


def test_the_golden_tolerance_is_measured_against_tflm(micro):
    golden = (bundle(micro) / "examples/tiny_digits_golden.h").read_text()
    said = re.search(r"; tolerance (\d+) steps? \(measured: (\d+)\)", golden)  # the one output's
    steps, measured = int(said.group(1)), int(said.group(2))
    assert steps == 2 * measured + 1
    assert f"if (a - b > {steps} || b - a > {steps}) return false;" in golden
    vectors = json.loads(micro.path("build/tiny-digits/golden.json").read_text())["vectors"]
    assert f"constexpr int kTinyDigitsGoldenCount = {len(vectors)};" in golden
    from edgebuild.tflite.runner import TFLiteRunner  # the expected outputs are the reference kernels'

    import numpy as np

    reference = TFLiteRunner(micro.path("build/tiny-digits/shipped.tflite"), kernels="BUILTIN_REF")
    outputs = golden.split("GoldenOutput0[]")[1].split("};")[0]
    expected = [bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", block)) for block in outputs.split("},")[:-1]]
    inputs = [np.frombuffer(bytes.fromhex(v["input_hex"]), np.int8).reshape(1, 8, 8) for v in vectors]
    assert expected == [reference.invoke(x).tobytes() for x in inputs]
    assert "reference kernels" in golden


def test_an_op_tflm_lacks_fails_the_ship_step_before_anything_is_generated(tmp_path):
    project = Project(tmp_path / "p")
    project.write("train.py", TRAIN)
    project.write("recipes/gelu.yaml", RECIPE.replace("NAME", "gelu-digits").replace("ACTIVATION", "gelu").replace(
        ", max_arena_kb: 64, max_flash_kb: 64", ""))
    result = project.build()
    assert result.exit_code != 0
    lines = [f for f in result.failures if "bundles.micro" in f]
    assert lines == ["recipes/gelu.yaml: gelu-digits/int8: bundles.micro: TensorFlow Lite Micro (tflite-micro at "
                     "90b983c2b3f1) has no kernel for GELU"], result.failures
    assert not project.path("dist/gelu-digits").exists()
    from edgebuild.steps.gate import judge

    metrics = json.loads(project.path("build/gelu-digits/int8/metrics.json").read_text())
    assert metrics["tflm_lacks"] == ["GELU"] and "tflm_arena_bytes" not in metrics
    assert judge("w", {"max_arena_kb": 64}, metrics).failures == [
        "w: max_arena_kb: TensorFlow Lite Micro cannot run this target (no kernel for GELU)"]


def test_tflm_measures_each_target_and_the_gate_reads_it(micro):
    from edgebuild.steps.gate import judge

    metrics = json.loads(micro.path("build/tiny-digits/int8/metrics.json").read_text())
    assert metrics["tflm_arena_bytes"] == stated_arena(micro)
    # the model, and the settings header's constants: 2 input dims, 10 labels (a 32-bit pointer and a NUL each)
    labels = RECIPE.split("labels: [")[1].split("]")[0].split(", ")
    constants = 4 * 2 + sum(4 + len(label) + 1 for label in labels)
    assert metrics["tflm_flash_bytes"] == micro.path("build/tiny-digits/int8/model.tflite").stat().st_size + constants
    settings = micro.path("dist/tiny-digits/micro/src/tiny_digits_settings.h").read_text()
    assert settings.count("[] = {") == 2  # the dims and the labels: the only arrays the header puts in flash
    assert abs(metrics["tflm_accuracy"] - metrics["accuracy"]) <= 0.01  # TFLM's kernels, LiteRT's within a step
    report = micro.path("build/tiny-digits/report.md").read_text()
    ops = ", ".join(sorted(json.loads(micro.path("build/tiny-digits/int8/inspect.json").read_text())["op_counts"]))
    assert f"| int8 | {metrics['tflm_arena_bytes']} | {metrics['tflm_flash_bytes']} | {metrics['tflm_accuracy']:.4f} | " \
           f"{ops} |" in report.split("## TensorFlow Lite Micro")[1]
    assert 'id="micro"' in micro.path("build/tiny-digits/report.html").read_text()
    listed = report.split("## Bundles")[1].split("## Gates")[0]  # the bundles enabled, and only those
    assert [line.split("`")[1] for line in listed.splitlines() if line.startswith("- ")] == [
        "dist/tiny-digits/linux/", "dist/tiny-digits/micro/"]
    limit = (metrics["tflm_arena_bytes"] - 16) / 1000
    verdict = judge("recipes/tiny.yaml: tiny-digits/int8", {"max_arena_kb": limit}, metrics)
    assert verdict.failures == [f"recipes/tiny.yaml: tiny-digits/int8: TensorFlow Lite Micro arena "
                                f"{metrics['tflm_arena_bytes'] / 1000:.1f} KB > max_arena_kb {limit:g}"]


def test_a_micro_threshold_without_the_micro_bundle_is_a_recipe_error(tmp_path):
    from edgebuild import api
    from edgebuild.errors import EdgebuildError

    project = Project(tmp_path / "p")
    project.write("train.py", TRAIN)
    project.write("recipes/tiny.yaml", RECIPE.replace("NAME", "tiny").replace("ACTIVATION", "relu").replace(
        "micro: {enabled: true}", "micro: {enabled: false}"))
    with pytest.raises(EdgebuildError) as raised:
        api.validate(root=project.root)
    assert "recipes/tiny.yaml:8: thresholds.max_arena_kb: a TensorFlow Lite Micro threshold; expected bundles: " \
           "{micro: {enabled: true}} with it" in str(raised.value)


def test_a_target_tflm_refuses_is_recorded_and_fails_only_when_it_ships(tmp_path):
    """float16 weights: TFLM's DEQUANTIZE takes integer inputs only. The target's evaluation records TFLM's own
    complaint instead of failing the build; shipping it fails the ship step in one line."""
    project = Project(tmp_path / "p")
    project.write("train.py", TRAIN)
    recipe = RECIPE.replace("NAME", "half").replace("ACTIVATION", "relu").replace(
        ", max_arena_kb: 64, max_flash_kb: 64", "").replace("targets:\n", "targets:\n  - {name: fp16, quantization: float16}\n")
    project.write("recipes/half.yaml", recipe)
    assert project.build().exit_code == 0  # (int8 ships: the smaller)
    metrics = json.loads(project.path("build/half/fp16/metrics.json").read_text())
    assert "DEQUANTIZE" in metrics["tflm_refuses"] and "was not true" in metrics["tflm_refuses"]
    assert "tflm_arena_bytes" not in metrics and "accuracy" in metrics
    assert f"| fp16 | refused: " in project.path("build/half/report.md").read_text()
    project.write("recipes/half.yaml", recipe + "ship: fp16\n")
    result = project.build()
    assert result.exit_code != 0
    assert [f for f in result.failures if "bundles.micro" in f] == [
        f"recipes/half.yaml: half/fp16: bundles.micro: TensorFlow Lite Micro cannot run it: {metrics['tflm_refuses']} "
        "(ship a target it runs, such as an int8 one, with `ship:`)"], result.failures


DETECTOR_HARNESS = """
#include <cstdio>
#include <vector>
#include "det_golden.h"
int main(int argc, char** argv) {
  FILE* f = std::fopen(argv[1], "rb");
  for (int v = 0; v < kDetGoldenCount; ++v) {
    std::vector<std::vector<unsigned char>> outputs;
    const unsigned char* given[kDetOutputCount];
    for (int k = 0; k < kDetOutputCount; ++k) {
      outputs.emplace_back(4 * kDetOutputSizes[k]);
      if (std::fread(outputs[k].data(), 1, outputs[k].size(), f) != outputs[k].size()) return 2;
      given[k] = outputs[k].data();
    }
    std::printf("%d\\n", DetGoldenAgrees(v, given) ? 1 : 0);
  }
  return 0;
}
"""


def test_a_detector_runs_in_tflm_and_its_example_accepts_tflms_own_outputs(tmp_path):
    """The example detector (int8, four outputs from TFLite_Detection_PostProcess, whose shapes the conversion makes
    static: TFLM sizes tensors from the model) measured in TFLM, bundled, its C++ compiled; the example's check,
    compiled with g++, accepts what TFLM's own kernels give for the golden inputs and refuses a moved box."""
    import numpy as np

    from edgebuild.tflite import tflm

    project = Project(tmp_path / "p")
    shutil.copytree(REPO / "data" / "shapes_detection", project.root / "data" / "shapes_detection")
    (project.root / "models").mkdir()
    for name in ("shapes_detector.keras", "shapes_anchors.npy"):
        shutil.copy(REPO / "models" / name, project.root / "models")
    recipe = (REPO / "recipes" / "shapes_detection.yaml").read_text().replace("name: shapes-detection", "name: det")
    project.write("recipes/det.yaml", recipe + "bundles: {micro: {enabled: true}, android: {enabled: false}, "
                                               "ios: {enabled: false}, linux: {enabled: false}}\nship: int8\n")
    result = project.build()
    assert result.exit_code == 0, result.failures
    metrics = json.loads(project.path("build/det/int8/metrics.json").read_text())
    assert abs(metrics["tflm_map"] - metrics["map"]) <= 0.05 and metrics["tflm_arena_bytes"] > 0
    folder = project.path("dist/det/micro")
    include = make_headers.write(tmp_path / "tflm")
    for source in ("src/det_model.cc", "src/det_ops.cc", "examples/main.cc"):
        compiled = subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", "-c", str(folder / source), "-I",
                                   str(folder / "src"), "-I", str(include), "-o", str(tmp_path / "out.o")],
                                  capture_output=True, text=True)
        assert compiled.returncode == 0, source + "\n" + compiled.stderr
    (tmp_path / "harness.cc").write_text(DETECTOR_HARNESS)
    built = subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", str(tmp_path / "harness.cc"), "-I",
                            str(folder / "src"), "-I", str(folder / "examples"), "-o", str(tmp_path / "harness")],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    golden = json.loads(project.path("build/det/golden.json").read_text())
    inputs = [bytes.fromhex(v["input_hex"]) for v in golden["vectors"]]
    settings = (folder / "src/det_settings.h").read_text()
    arena = int(re.search(r"kDetArenaSize = (\d+);", settings).group(1))
    tensor = json.loads(project.path("dist/det/micro/model/det-metadata.json").read_text())["input"]
    found = tflm.outputs(project.path("build/det/shipped.tflite"), arena, inputs, tensor["dtype"], [1, *tensor["shape"]], 4,
                         tmp_path / "tflm.log", "det")
    boxes = int(re.search(r"kDetBoxesOutput = (\d+);", settings).group(1))

    def verdicts(outputs) -> list[str]:
        (tmp_path / "outputs.bin").write_bytes(b"".join(b"".join(per) for per in outputs))
        ran = subprocess.run([str(tmp_path / "harness"), str(tmp_path / "outputs.bin")], capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.split()

    assert verdicts(found) == ["1"] * len(inputs)
    moved = [list(per) for per in found]
    first = np.frombuffer(moved[0][boxes], np.float32).copy()
    first[0] += 0.25  # the first box's top edge, a quarter of the picture down
    moved[0][boxes] = first.tobytes()
    assert verdicts(moved) == ["0"] + ["1"] * (len(inputs) - 1)


CLASSIFIER_HARNESS = """
#include <cstdio>
#include "tiny_digits_golden.h"
int main(int argc, char** argv) {
  FILE* f = std::fopen(argv[1], "rb");
  for (int v = 0; v < kTinyDigitsGoldenCount; ++v) {
    unsigned char output[kTinyDigitsOutputSize];
    if (std::fread(output, 1, sizeof(output), f) != sizeof(output)) return 2;
    const unsigned char* given[] = {output};
    std::printf("%d\\n", TinyDigitsGoldenAgrees(v, given) ? 1 : 0);
  }
  return 0;
}
"""


def test_the_classifier_example_requires_tflms_winner_where_it_is_clear(micro, tmp_path):
    """The example's check, compiled with g++, accepts what TFLM's own kernels give for the golden inputs, and
    refuses an output whose winner moved to the runner-up (both values swapped) on a vector whose winner is clear."""
    import numpy as np

    from edgebuild.tflite import tflm

    folder = bundle(micro)
    (tmp_path / "harness.cc").write_text(CLASSIFIER_HARNESS)
    built = subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", str(tmp_path / "harness.cc"), "-I",
                            str(folder / "src"), "-I", str(folder / "examples"), "-o", str(tmp_path / "harness")],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    vectors = json.loads(micro.path("build/tiny-digits/golden.json").read_text())["vectors"]
    inputs = [bytes.fromhex(v["input_hex"]) for v in vectors]
    found = tflm.outputs(micro.path("build/tiny-digits/shipped.tflite"), stated_arena(micro), inputs, "int8",
                         [1, 8, 8], 1, tmp_path / "tflm.log", "tiny")

    def verdicts(outputs) -> list[str]:
        (tmp_path / "outputs.bin").write_bytes(b"".join(per[0] for per in outputs))
        ran = subprocess.run([str(tmp_path / "harness"), str(tmp_path / "outputs.bin")], capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.split()

    assert verdicts(found) == ["1"] * len(inputs)
    clear = next(i for i, v in enumerate(vectors) if v["stable"])
    swapped = [list(per) for per in found]
    values = np.frombuffer(swapped[clear][0], np.int8).copy()
    first, second = np.argsort(-values.astype(int), kind="stable")[:2]
    values[[first, second]] = values[[second, first]]
    swapped[clear][0] = values.tobytes()
    assert verdicts(swapped)[clear] == "0"
    assert "kTinyDigitsGoldenStable[] = {" in (folder / "examples/tiny_digits_golden.h").read_text()
