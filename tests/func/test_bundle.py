"""Android and iOS bundles: file trees, manifests, deterministic zips, Kotlin that compiles and
computes what Python computed on the JVM, Swift that parses, and doit reruns only when needed."""
import hashlib
import json
import shutil
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import linux_board
import pictures
import pytest
import swift_api
from conftest import IRIS_RECIPE, Project

from edgebuild import runtimes
from edgebuild.tflite import metadata as tflite_metadata

STUBS = Path(__file__).parent / "kotlin_stubs"
NASTY_LABELS = ['quote " and \\ backslash', "${price} $x */ /*", "日本語 😀\nnew line"]

TRAIN_DIGITS = """\
import argparse, os
import numpy as np
import tensorflow as tf
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
tf.keras.utils.set_random_seed(0)
d = np.load(os.environ["EDGEBUILD_DATA"])
m = tf.keras.Sequential([tf.keras.Input((8, 8)), tf.keras.layers.Flatten(),
                         tf.keras.layers.Dense(10, activation="softmax")])
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(d["x_train"], d["y_train"], epochs=8, verbose=0)
m.save(a.out)
"""

DIGITS_RECIPE = """\
name: digits8
description: "Digits: 8x8 */ pixels, uint8 io"
model: {script: train.py}
dataset: {source: sklearn_digits}
preprocess: {scale: 0.0625, normalize: {mean: 0.3, std: 0.4}}
labels: [zero, one, two, three, four, five, six, seven, eight, nine]
targets:
  - {name: fp32, quantization: float32}
  - {name: u8, quantization: int8, io: uint8, calibration_samples: 100}
thresholds: {min_accuracy: 0.5}
bundles: {android: {package: org.example.digits}}
"""


@pytest.fixture(scope="module")
def bundled(tmp_path_factory, iris_keras):
    project = Project(tmp_path_factory.mktemp("bundle") / "p")
    (project.root / "models").mkdir(parents=True)
    shutil.copy(iris_keras, project.root / "models" / "iris.keras")
    nasty = IRIS_RECIPE.replace("name: iris", "name: nasty").replace(
        "labels: [setosa, versicolor, virginica]", "labels: " + json.dumps(NASTY_LABELS, ensure_ascii=False))
    project.write("recipes/nasty.yaml", nasty)
    project.write("recipes/twin.yaml", IRIS_RECIPE.replace("name: iris", "name: twin") + "ship: int8\n")  # int8 io
    project.write("train.py", TRAIN_DIGITS)
    project.write("recipes/digits8.yaml", DIGITS_RECIPE)
    result = project.build()
    assert result.exit_code == 0, result.failures
    return project


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_bundle_trees(bundled):
    assert tree(bundled.path("dist/digits8/android")) == [
        "README.md", "litert.gradle.kts", "manifest.json",
        "src/androidTest/assets/digits8-golden.json",
        "src/androidTest/java/org/example/digits/Digits8GoldenTest.kt",
        "src/main/assets/digits8-labels.txt", "src/main/assets/digits8-metadata.json", "src/main/assets/digits8.tflite",
        "src/main/java/org/example/digits/Digits8Classifier.kt",
        "src/main/java/org/example/digits/Digits8Processing.kt"]
    assert tree(bundled.path("dist/digits8/ios")) == [
        "Digits8.podspec", "Podfile.snippet", "README.md",
        "Sources/Digits8/Digits8Classifier.swift", "Sources/Digits8/Digits8Processing.swift",
        "Sources/Digits8/Resources/digits8-labels.txt", "Sources/Digits8/Resources/digits8-metadata.json",
        "Sources/Digits8/Resources/digits8.tflite",
        "Tests/Digits8Tests/Digits8GoldenTests.swift", "Tests/Digits8Tests/Resources/digits8-golden.json",
        "manifest.json"]
    assert tree(bundled.path("dist/digits8/linux")) == [
        "README.md", "manifest.json", "pyproject.toml",
        "src/digits8/__init__.py", "src/digits8/__main__.py", "src/digits8/digits8-labels.txt",
        "src/digits8/digits8-metadata.json", "src/digits8/digits8.tflite", "src/digits8/processing.py",
        "tests/digits8-golden.json", "tests/test_golden.py"]


def test_the_smallest_passing_target_ships_with_its_measurements(bundled):
    summary = json.loads(bundled.path("build/digits8/summary.json").read_text())
    u8 = next(t for t in summary["targets"] if t["name"] == "u8")
    assert u8["metrics"]["size_bytes"] < summary["targets"][0]["metrics"]["size_bytes"]
    meta = json.loads(bundled.path("dist/digits8/android/src/main/assets/digits8-metadata.json").read_text())
    assert meta["target"] == "u8" and meta["quantization"] == "int8"
    assert meta["measured"]["accuracy"] == u8["metrics"]["accuracy"]
    assert meta["measured"]["size_bytes"] == u8["metrics"]["size_bytes"]
    assert not [key for key in meta["measured"] if key.startswith("latency")]  # measured here, not what ships
    assert (meta["input"]["dtype"], meta["output"]["dtype"]) == ("uint8", "uint8")
    assert meta["preprocess"]["scale"] == 0.0625 and meta["preprocess"]["mean"] == 0.3
    assert meta["labels"][0] == "zero" and len(meta["recipe_hash"]) == 64
    shipped = bundled.path("dist/digits8/android/src/main/assets/digits8.tflite").read_bytes()
    assert shipped == bundled.path("build/digits8/shipped.tflite").read_bytes()
    # the measured model, plus standard metadata (test_metadata.py holds it to giving the same outputs)
    assert tflite_metadata.read(shipped)["labels"] == meta["labels"]
    assert tflite_metadata.signatures(shipped) == tflite_metadata.signatures(
        bundled.path("build/digits8/u8/model.tflite").read_bytes())


def test_manifests_and_zips_match_the_folders(bundled):
    for name in ("digits8", "nasty", "twin"):
        for platform in ("android", "ios"):
            folder = bundled.path(f"dist/{name}/{platform}")
            manifest = json.loads((folder / "manifest.json").read_text())
            listed = {f["path"]: f for f in manifest["files"]}
            assert sorted(listed) == [p for p in tree(folder) if p != "manifest.json"]
            for path, entry in listed.items():
                data = (folder / path).read_bytes()
                assert (entry["size"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
            with zipfile.ZipFile(bundled.path(f"dist/{name}-{platform}.zip")) as archive:
                infos = archive.infolist()
                assert [i.filename for i in infos] == sorted(f"{name}-{platform}/{p}" for p in tree(folder))
                assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
                assert {i.external_attr >> 16 for i in infos} == {0o644}
                for info in infos:
                    assert archive.read(info) == (folder / info.filename.split("/", 1)[1]).read_bytes()


def test_labels_file_keeps_one_line_per_label(bundled):
    text = bundled.path("dist/nasty/android/src/main/assets/nasty-labels.txt").read_text()
    assert text.splitlines() == ['quote " and \\ backslash', "${price} $x */ /*", "日本語 😀\\nnew line"]


def test_rebundling_the_same_build_is_byte_identical(bundled):
    zips = {p: p.read_bytes() for p in bundled.path("dist").glob("*.zip")}
    shutil.rmtree(bundled.path("dist"))
    result = bundled.build()
    assert sorted(result.executed) == sorted(f"{n}:bundle/{p}" for n in ("digits8", "nasty", "twin")
                                             for p in ("android", "ios", "linux"))
    assert {p: p.read_bytes() for p in bundled.path("dist").glob("*.zip")} == zips


def test_kotlin_compiles_and_computes_what_python_did(bundled, tmp_path):
    """Generated Kotlin + Android/LiteRT stand-ins compile; the pure part, run on the JVM on the golden
    vectors, quantizes the inputs to the same bytes and gives the same labels and scores (to the bit), and
    resizes the golden picture of the grayscale digits8 as the data step does (to the bit)."""
    if shutil.which("kotlinc") is None:
        pytest.fail("kotlinc not found: .ci/run installs Debian's kotlin package")
    sources = sorted(str(p) for p in bundled.path("dist").glob("*/android/src/**/*.kt"))
    checks, expected = [], []
    bundles = (("digits8", "org.example.digits", "Digits8"), ("nasty", "com.example.nasty", "Nasty"),
               ("twin", "com.example.twin", "Twin"))
    for name, package, prefix in bundles:
        golden = json.loads(bundled.path(f"build/{name}/golden.json").read_text())  # (with the raw bytes)
        assert [v for v in golden["vectors"] if "NaN" in v["raw"] and "Infinity" in v["raw"]]  # the edge vectors
        for vector in golden["vectors"]:
            raw = ", ".join(kotlin_float(v) for v in vector["raw"])
            checks.append(f'check({package}.{prefix}Processing.inputBuffer(floatArrayOf({raw})), "{vector["output_hex"]}", '
                          f'{len(vector["top"])}, {{ s -> {package}.{prefix}Processing.scores(s) }}, '
                          f'{{ s, k -> {package}.{prefix}Processing.topK(s, k).map {{ it.label to it.score }} }})')
            expected.append(vector["input_hex"])
            # Java's floatToIntBits gives every NaN as 0x7fc00000, which is also np.float32("NaN")
            expected += [f"{t['label'].encode().hex()} {int(np.float32(t['score']).view(np.int32))}" for t in vector["top"]]
        for picture in golden.get("pictures", []):  # (the Bitmap entry point's resize, to the bit)
            checks.append(pictures.kotlin_call(f"{package}.{prefix}Processing", picture))
            expected.append(",".join(str(b) for b in pictures.bits(picture["raw"])))
    harness = tmp_path / "GoldenCheck.kt"
    harness.write_text(HARNESS.replace("CHECKS", "\n    ".join(checks)))
    jar = tmp_path / "check.jar"
    stubs = sorted(str(p) for p in STUBS.glob("*.kt"))
    compiled = subprocess.run(["kotlinc", *sources, *stubs, str(harness), "-include-runtime", "-d", str(jar)],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    kotlin_warnings = [line for line in compiled.stderr.splitlines() if "warning:" in line and "VM warning" not in line]
    assert kotlin_warnings == []
    ran = subprocess.run(["java", "-cp", str(jar), "GoldenCheckKt"], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == expected


def test_the_golden_picture_is_what_the_data_step_makes_of_it_and_only_picture_models_get_one(bundled):
    """The apps' picture entry points are checked against golden.json's picture: another size than the model's on
    both axes (so the resize interpolates), whose raw values are what the data step's reader and resize give
    for it as a PNG, to the bit; a model of tabular values gets none, and no Bitmap entry point."""
    golden = json.loads(bundled.path("build/digits8/golden.json").read_text())
    [picture] = golden["pictures"]
    assert (picture["height"], picture["width"]) != (8, 8) and picture["height"] % 8 and picture["width"] % 8
    assert pictures.data_step_values(picture, "grayscale", (8, 8)) == pictures.bits(picture["raw"])
    assert "pictures" not in json.loads(bundled.path("build/nasty/golden.json").read_text())
    wrapper = bundled.path("dist/digits8/android/src/main/java/org/example/digits/Digits8Classifier.kt").read_text()
    assert "fun classify(bitmap: Bitmap" in wrapper and "createScaledBitmap" not in wrapper
    assert "fun classify(bitmap" not in next(bundled.path("dist/nasty/android").rglob("NastyClassifier.kt")).read_text()
    test = bundled.path("dist/digits8/android/src/androidTest/java/org/example/digits/Digits8GoldenTest.kt").read_text()
    assert "wrapper.classify(raw), wrapper.classify(bitmap)" in test
    swift = next(bundled.path("dist/digits8/ios").rglob("Digits8GoldenTests.swift")).read_text()
    assert "try wrapper.classify(image: image)" in swift


def test_the_bundle_readme_and_the_report_say_what_the_delegates_take(bundled):
    """Advisory and labelled so: the GPU delegate's share by its rules, in the bundle README; XNNPACK's share
    counted here and the GPU's, per target, in metrics.json and the report."""
    from edgebuild.tflite import gpu_delegate

    gpu = gpu_delegate.readiness(bundled.path("build/digits8/shipped.tflite").read_bytes())
    readme = bundled.path("dist/digits8/android/README.md").read_text()
    assert "GPU delegate, advisory (LiteRT's rules read from the model, not run on a GPU): it takes " \
           f"{gpu['gpu_ops']} of the model's {gpu['ops']} ops" in readme
    for target in ("fp32", "u8"):
        metrics = json.loads(bundled.path(f"build/digits8/{target}/metrics.json").read_text())
        inspected = json.loads(bundled.path(f"build/digits8/{target}/inspect.json").read_text())
        assert metrics["gpu_fallback_ops"] == inspected["gpu"]["fallback_ops"]
        assert metrics["ops"] == len(inspected["ops"]) and 0 < metrics["xnnpack_nodes"] <= metrics["ops"]
    report = bundled.path("build/digits8/report.md").read_text()
    assert "## Delegates (advisory)" in report and "| u8 |" in report.split("## Delegates (advisory)")[1]

def kotlin_float(value) -> str:
    """A golden raw value (a number, or "NaN" / "Infinity" / "-Infinity") as a Kotlin Float literal."""
    special = {"NaN": "Float.NaN", "Infinity": "Float.POSITIVE_INFINITY", "-Infinity": "Float.NEGATIVE_INFINITY"}
    return special.get(value) or f"{float(np.float32(value))!r}f"


HARNESS = """\
import java.nio.ByteBuffer
import java.nio.ByteOrder

fun hex(buffer: ByteBuffer): String {
    val bytes = ByteArray(buffer.remaining())
    buffer.duplicate().get(bytes)
    return bytes.joinToString("") { "%02x".format(it) }
}

fun check(input: ByteBuffer, outputHex: String, k: Int, scores: (ByteBuffer) -> FloatArray,
          top: (FloatArray, Int) -> List<Pair<String, Float>>) {
    println(hex(input))
    val bytes = ByteArray(outputHex.length / 2) { outputHex.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
    val output = ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder())
    output.put(bytes)
    for ((label, score) in top(scores(output), k)) {
        println(label.toByteArray(Charsets.UTF_8).joinToString("") { "%02x".format(it) } + " " +
                java.lang.Float.floatToIntBits(score))
    }
}

fun main() {
    CHECKS
}
"""


ALLOCATION_HARNESS = """\
import java.lang.management.ManagementFactory

fun main() {
    val p = org.example.digits.Digits8Processing
    val mx = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    val id = Thread.currentThread().id
    val buffer = p.inputBuffer()
    val raw = FloatArray(p.INPUT_SIZE) { (it % 17).toFloat() }
    val pixels = IntArray(13 * 11) { it * 0x010203 }  // a picture of another size than the model's
    val work = FloatArray(13 * 11 * p.IMAGE_CHANNELS)
    val values = FloatArray(p.INPUT_SIZE)
    for (i in 0 until 20000) { p.fillInput(raw, buffer); p.pictureToRaw(pixels, 13, 11, work, values) }  // warm up the JIT
    val before = mx.getThreadAllocatedBytes(id)
    for (i in 0 until 20000) { p.fillInput(raw, buffer); p.pictureToRaw(pixels, 13, 11, work, values) }
    val allocated = mx.getThreadAllocatedBytes(id) - before
    val fresh = p.inputBuffer(raw)
    println("${allocated / 20000} ${buffer == fresh}")
}
"""


def test_the_wrappers_fill_one_input_buffer_without_allocating(bundled, tmp_path):
    """The Kotlin wrapper holds one input buffer, raw array and (per picture size) pixel arrays, and fills them
    on every call: on the JVM, 20,000 calls of fillInput and pictureToRaw (read and resize) allocate less than a
    byte each (the JVM's own counter), and fill the same bytes as a new buffer. The Swift wrapper keeps its Data
    and arrays the same way."""
    if shutil.which("kotlinc") is None:
        pytest.fail("kotlinc not found: .ci/run installs Debian's kotlin package")
    source = bundled.path("dist/digits8/android/src/main/java/org/example/digits/Digits8Processing.kt")
    harness = tmp_path / "Allocations.kt"
    harness.write_text(ALLOCATION_HARNESS)
    jar = tmp_path / "allocations.jar"
    compiled = subprocess.run(["kotlinc", str(source), str(harness), "-include-runtime", "-d", str(jar)],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    ran = subprocess.run(["java", "-cp", str(jar), "AllocationsKt"], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    per_call, same = ran.stdout.split()
    assert int(per_call) == 0 and same == "true"
    wrapper = bundled.path("dist/digits8/android/src/main/java/org/example/digits/Digits8Classifier.kt").read_text()
    assert "private val input: ByteBuffer = Digits8Processing.inputBuffer()" in wrapper
    assert "Digits8Processing.fillInput(features, input)" in wrapper and "inputBuffer(features)" not in wrapper
    assert "Digits8Processing.pictureToRaw(picture, width, height, pictureValues, raw)" in wrapper
    assert "if (picture.size != width * height) {" in wrapper  # (a new size only: a camera's frames keep theirs)
    swift = next(bundled.path("dist/digits8/ios").rglob("Digits8Classifier.swift")).read_text()
    assert "private var input = Data(count: Digits8Processing.inputBytes)" in swift
    assert "Digits8Processing.fillInput(features, into: &input)" in swift and "inputData(" not in swift
    assert "Digits8Processing.pictureToRaw(picture, width: width, height: height, work: &pictureValues, into: &raw)" \
        in swift and "if picture.count != width * height * 4 {" in swift


def test_kotlin_and_swift_literals_escape_every_label(bundled):
    kotlin = bundled.path("dist/nasty/android/src/main/java/com/example/nasty/NastyProcessing.kt").read_text()
    assert '"quote \\" and \\\\ backslash"' in kotlin
    assert '"\\${price} \\$x */ /*"' in kotlin
    assert '"\\u65e5\\u672c\\u8a9e \\ud83d\\ude00\\nnew line"' in kotlin
    swift = bundled.path("dist/nasty/ios/Sources/Nasty/NastyProcessing.swift").read_text()
    assert '"${price} $x */ /*"' in swift and '"\\u{65e5}\\u{672c}\\u{8a9e} \\u{1f600}\\nnew line"' in swift
    digits = bundled.path("dist/digits8/android/src/main/java/org/example/digits/Digits8Processing.kt").read_text()
    assert " * Digits: 8x8 * / pixels, uint8 io" in digits  # a description cannot close the comment


def test_swift_parses_with_a_real_swift_grammar(bundled):
    import tree_sitter
    import tree_sitter_swift

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    files = sorted(bundled.path("dist").glob("*/ios/**/*.swift"))
    assert len(files) == 9
    for path in files:
        root = parser.parse(path.read_bytes()).root_node
        assert not root.has_error, path
    broken = parser.parse(files[0].read_bytes().replace(b"public enum", b"public enum {", 1)).root_node
    assert broken.has_error  # the check can fail


def test_runtime_versions_are_pinned_in_one_place_and_match(bundled):
    assert runtimes.LITERT_ANDROID == metadata.version("ai-edge-litert")
    gradle = bundled.path("dist/digits8/android/litert.gradle.kts").read_text()
    assert f'implementation("com.google.ai.edge.litert:litert:{runtimes.LITERT_ANDROID}")' in gradle
    assert 'noCompress += "tflite"' in gradle
    podspec = bundled.path("dist/digits8/ios/Digits8.podspec").read_text()
    assert f"s.dependency 'TensorFlowLiteSwift', '{runtimes.TFLITE_SWIFT}'" in podspec


def test_bundles_rerun_only_when_what_they_carry_changes(bundled):
    bundled.edit("recipes/digits8.yaml", "thresholds: {min_accuracy: 0.5}", "thresholds: {min_accuracy: 0.4}")
    result = bundled.build()
    assert "digits8:ship" in result.executed and not [t for t in result.executed if "bundle/" in t]
    bundled.edit("recipes/digits8.yaml", "package: org.example.digits", "package: org.example.digits2")
    assert [t for t in bundled.build().executed if "bundle/" in t] == ["digits8:bundle/android"]
    assert bundled.path("dist/digits8/android/src/main/java/org/example/digits2/Digits8Classifier.kt").exists()
    bundled.edit("recipes/digits8.yaml", "labels: [zero,", "labels: [nought,")
    assert [t for t in bundled.build().executed if "bundle/" in t] == ["digits8:bundle/android", "digits8:bundle/ios",
                                                                       "digits8:bundle/linux"]


def test_no_passing_target_means_no_bundle(bundled):
    bundled.edit("recipes/nasty.yaml", "min_accuracy: 0.5", "min_accuracy: 1.0")
    result = bundled.build()
    assert result.exit_code == 1
    assert not bundled.path("dist/nasty").exists() and not bundled.path("dist/nasty-android.zip").exists()
    bundled.edit("recipes/nasty.yaml", "min_accuracy: 1.0", "min_accuracy: 0.5")
    assert bundled.build().exit_code == 0 and bundled.path("dist/nasty-ios.zip").exists()


def test_a_clean_rebuild_gives_byte_identical_bundles_and_zips(bundled, tmp_path):
    """Everything in a bundle is a function of the recipe and its inputs: latency, which a new build
    measures anew, stays in build/ (metrics, summary, reports)."""
    again = Project(tmp_path / "again")
    for part in ("recipes", "models", "train.py"):
        source = bundled.path(part)
        if source.is_dir():
            shutil.copytree(source, again.root / part, dirs_exist_ok=True)
        else:
            shutil.copy(source, again.root / part)
    assert again.build().exit_code == 0
    for name in ("digits8", "nasty", "twin"):
        for platform in ("android", "ios", "linux"):
            first, second = bundled.path(f"dist/{name}/{platform}"), again.path(f"dist/{name}/{platform}")
            assert tree(first) == tree(second)
            for path in tree(first):
                assert (first / path).read_bytes() == (second / path).read_bytes(), path
            zip_name = f"dist/{name}-{platform}.zip"
            assert bundled.path(zip_name).read_bytes() == again.path(zip_name).read_bytes()


IOS_MODULES = {"digits8": "Digits8", "nasty": "Nasty", "twin": "Twin"}


def classifier_swift(bundled, name: str) -> bytes:
    module = IOS_MODULES[name]
    return bundled.path(f"dist/{name}/ios/Sources/{module}/{module}Classifier.swift").read_bytes()


def test_generated_swift_calls_only_what_the_real_apis_declare(bundled):
    """Checked against the model of TensorFlowLiteSwift and TensorFlowLiteC in swift_api.py: int8 io goes
    through the C API (twin), every other model through the Swift API (digits8: uint8, nasty: float32)."""
    for name, module in IOS_MODULES.items():
        meta = json.loads(bundled.path(f"dist/{name}/ios/Sources/{module}/Resources/{name}-metadata.json").read_text())
        source = classifier_swift(bundled, name)
        assert swift_api.problems(source, meta["input"]["dtype"], meta["output"]["dtype"]) == [], name
    assert json.loads(bundled.path("dist/twin/ios/Sources/Twin/Resources/twin-metadata.json").read_text())["input"][
        "dtype"] == "int8"
    twin = {c.name for c in swift_api.calls(classifier_swift(bundled, "twin"))}
    assert {"TfLiteTensorCopyFromBuffer", "TfLiteTensorCopyToBuffer"} <= twin and "copy" not in twin
    digits = [(c.receiver, c.name) for c in swift_api.calls(classifier_swift(bundled, "digits8"))]
    assert ("interpreter", "copy") in digits and ("interpreter", "output") in digits
    assert "s.dependency 'TensorFlowLiteC'" in bundled.path("dist/twin/ios/Twin.podspec").read_text()
    assert "s.dependency 'TensorFlowLiteC'" not in bundled.path("dist/digits8/ios/Digits8.podspec").read_text()


def test_the_api_check_fails_when_swift_would_hand_int8_to_the_swift_api(bundled):
    from edgebuild import api
    from edgebuild.bundle import ios, render
    from edgebuild.bundle.context import context
    from edgebuild.layout import RecipeLayout

    recipe = next(r for r in api.validate(root=bundled.root) if r.name == "twin")
    ctx = context(recipe, RecipeLayout(bundled.root, "twin"), "ios", ios.settings(recipe))
    ctx.update(c_api=False, c_api_tensors=[])  # as the wrapper was before: TensorFlowLiteSwift for every model
    source = render.environment(recipe, "ios").get_template("classification/Wrapper.swift.j2").render(**ctx).encode()
    found = swift_api.problems(source, "int8", "int8")
    assert found == [
        "interpreter.copy: the input tensor is int8, which Tensor.DataType has no case for: it throws "
        "invalidTensorDataType",
        "interpreter.output: the output tensor is int8, which Tensor.DataType has no case for: it throws "
        "invalidTensorDataType"]


def test_bundles_side_by_side_declare_no_type_twice(bundled):
    """Three iOS bundles in one app target, three Android bundles in one app: every type name is unique."""
    import re

    swift = [m for path in sorted(bundled.path("dist").glob("*/ios/Sources/**/*.swift"))
             for m in re.findall(r"^(?:public )?(?:final )?(?:struct|class|enum|protocol) (\w+)", path.read_text(), re.M)]
    kotlin = [m for path in sorted(bundled.path("dist").glob("*/android/src/main/**/*.kt"))
              for m in re.findall(r"^(?:data )?(?:class|object|interface) (\w+)", path.read_text(), re.M)]
    assert len(swift) == 3 * 4 and len(kotlin) == 3 * 3  # Classifier, its error (Swift), Processing, Recognition
    assert sorted(set(swift)) == sorted(swift) and sorted(set(kotlin)) == sorted(kotlin)
    assert "TwinRecognition" in swift and "Digits8Recognition" in kotlin


def test_ios_bundle_is_a_pod_whose_test_imports_its_module(bundled):
    for name, module in IOS_MODULES.items():
        folder = bundled.path(f"dist/{name}/ios")
        podspec = (folder / f"{module}.podspec").read_text()
        assert f"s.name = '{module}'" in podspec and f"s.module_name = '{module}'" in podspec
        assert f"t.source_files = 'Tests/{module}Tests/*.swift'" in podspec
        test = (folder / f"Tests/{module}Tests/{module}GoldenTests.swift").read_bytes()
        assert f"import {module}" in swift_api.imports(test) or module in swift_api.imports(test)
        assert f"pod '{module}', :path => '{name}-ios', :testspecs => ['Tests']" in (folder / "Podfile.snippet").read_text()
        assert f"pod '{module}', :path => '{name}-ios', :testspecs => ['Tests']" in (folder / "README.md").read_text()


def test_the_bundle_and_metadata_name_the_datas_own_units(bundled):
    """digits8's pictures are scikit-learn's 0..16: its README says so where a Bitmap would feed 0..255, and the
    metadata says 0 to 16; iris (no picture) says nothing about pictures."""
    readme = bundled.path("dist/digits8/android/README.md").read_text()
    assert "The training data's raw values run from 0.0 to 16.0, not a picture's 0..255" in readme
    assert b"(0 to 16 in the training data)" in bundled.path("build/digits8/shipped.tflite").read_bytes()
    assert "0..255" not in bundled.path("dist/twin/android/README.md").read_text()
    assert "digits" not in bundled.path("dist/twin/android/README.md").read_text()


def test_the_golden_asset_is_the_build_ones_vectors_in_one_line_without_the_raw_bytes(bundled):
    """The apps' tests read labels, scores and raw values; the input and output bytes are edgebuild's own tests'
    (on the JVM here), so the bundled file leaves them out, and is one line of JSON."""
    from edgebuild.bundle.render import BUILD_ONLY

    for name in ("digits8", "nasty", "twin"):
        built = json.loads(bundled.path(f"build/{name}/golden.json").read_text())
        for asset in (bundled.path(f"dist/{name}/android/src/androidTest/assets/{name}-golden.json"),
                      next(bundled.path(f"dist/{name}/ios").rglob(f"{name}-golden.json"))):
            text = asset.read_text()
            assert text.count("\n") == 1
            shipped = json.loads(text)
            assert shipped["vectors"] == [{k: v for k, v in vector.items() if k not in BUILD_ONLY}
                                          for vector in built["vectors"]]
            assert {k: v for k, v in shipped.items() if k not in ("vectors", "top_k")} == \
                   {k: v for k, v in built.items() if k != "vectors"}
    raw = json.loads(bundled.path("build/digits8/golden.json").read_text())["vectors"][0]["raw"]
    assert all(isinstance(v, int) for v in raw)  # scikit-learn's digits are whole numbers: written as such



def test_the_linux_package_installs_without_tensorflow_and_passes_its_golden_tests(bundled, board_python, tmp_path):
    """Each classifier's wheel, built and installed in a venv without TensorFlow: its golden tests (input bytes,
    scores, winners, the picture read as training read it, the command line) pass there."""
    for name in ("digits8", "nasty", "twin"):
        ran = linux_board.prove(bundled.path(f"dist/{name}/linux"), name, board_python, tmp_path / name)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        golden = json.loads(bundled.path(f"build/{name}/golden.json").read_text())
        assert f"{2 * len(golden['vectors']) + bool(golden.get('pictures')) + 1} passed" in ran.stdout, ran.stdout
    # the processing the package ships is the build's own, byte for byte
    from edgebuild import processing

    assert bundled.path("dist/digits8/linux/src/digits8/processing.py").read_bytes() == \
        Path(processing.__file__).read_bytes()


def test_the_linux_command_line_reads_a_picture_and_names_the_winner(bundled, board_python, tmp_path):
    """`python -m digits8 picture.png` on the board: the golden picture gives the label the build's golden vector has."""
    from PIL import Image

    linux_board.install(bundled.path("dist/digits8/linux"), board_python, tmp_path)
    golden = json.loads(bundled.path("build/digits8/golden.json").read_text())
    picture = golden["pictures"][0]
    path = tmp_path / "picture.png"
    Image.fromarray(np.asarray(picture["rgb"], np.uint8).reshape(picture["height"], picture["width"], 3)).save(path)
    shown = linux_board.run(board_python, "-m", "digits8", str(path), cwd=tmp_path)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 3 and all(line.split("\t")[0] in golden["labels"] for line in lines)
    if golden["vectors"][0]["stable"]:  # the picture is the first vector's values, blown up
        assert lines[0].split("\t")[0] == golden["vectors"][0]["top"][0]["label"]
    missing = linux_board.run(board_python, "-m", "digits8", str(tmp_path / "none.png"), cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "none.png" in missing.stderr


def test_the_linux_golden_tests_fail_for_another_model(bundled, board_python, tmp_path):
    """The golden tests can fail: twin's package with nasty's float model in place of its int8 one fails them."""
    bundle = tmp_path / "twin"
    shutil.copytree(bundled.path("dist/twin/linux"), bundle)
    shutil.copy(bundled.path("dist/nasty/linux/src/nasty/nasty.tflite"), bundle / "src/twin/twin.tflite")
    ran = linux_board.prove(bundle, "twin", board_python, tmp_path / "work")
    assert ran.returncode == 1 and "test_the_model_input_is_the_builds_to_the_byte" in ran.stdout, ran.stdout
