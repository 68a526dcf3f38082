"""Sound: audio_folder datasets (soundfile, soxr), waveform models with a log-mel front end, their int8 with the
front end kept float, and the AudioProperties metadata MediaPipe's AudioClassifier reads.

The keywords example is built once for this module (a seeded Keras training on its 120 clips)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import Project, one_example

RATE = 16000


def tone(rate: int, seconds: float) -> np.ndarray:
    """A band-limited test signal (three sines under 4 kHz, and an envelope), sampled at `rate`."""
    t = np.arange(int(round(rate * seconds))) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t + 1.0)
            + 0.1 * np.sin(2 * np.pi * 3210 * t + 2.0)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))


def test_a_22050_hz_stereo_file_gives_its_16_khz_mono_twins_clip(tmp_path):
    """The same sound, recorded as 22,050 Hz stereo 24-bit and as 16 kHz mono float: the clips agree within 1e-3
    (soxr's high quality resampler; the sines are far under both Nyquist frequencies), away from the ends."""
    from edgebuild.modalities.sound import read_clip

    mono = tone(RATE, 1.0)
    left, right = tone(22050, 1.0) * 1.5, tone(22050, 1.0) * 0.5  # their mean is the sound
    soundfile.write(tmp_path / "twin.wav", mono.astype(np.float32), RATE, subtype="FLOAT")
    soundfile.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 22050, subtype="PCM_24")
    a, seconds_a = read_clip(tmp_path / "twin.wav", RATE)
    b, seconds_b = read_clip(tmp_path / "stereo.wav", RATE)
    assert (len(a), len(b), seconds_a, seconds_b) == (RATE, RATE, 1.0, 1.0)
    assert np.abs(a[200:-200] - b[200:-200]).max() < 1e-3
    assert np.abs(a - mono).max() < 1e-6


def test_mixing_and_resampling_agree_with_scipys_polyphase_resampler(tmp_path):
    """Another way to the same clip: the channels' mean by hand, then scipy.signal.resample_poly (160/441)."""
    from scipy.signal import resample_poly

    from edgebuild.modalities.sound import read_clip

    t = np.arange(22050) / 44100
    channels = np.stack([tone(44100, 0.5), 0.2 * np.sin(2 * np.pi * 5000 * t)], axis=1)
    soundfile.write(tmp_path / "c.flac", channels, 44100, subtype="PCM_16")
    ours, _ = read_clip(tmp_path / "c.flac", RATE)
    stored = soundfile.read(tmp_path / "c.flac", dtype="float64")[0]
    theirs = resample_poly(stored.mean(axis=1), 160, 441)
    assert len(ours) == len(theirs) == 8000
    assert np.sqrt(np.mean((ours[100:-100] - theirs[100:-100]) ** 2)) < 1e-3


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_each_wav_sample_format_reads_as_the_same_sound(tmp_path, subtype):
    from edgebuild.modalities.sound import read_clip

    sound = tone(RATE, 0.25)
    soundfile.write(tmp_path / "s.wav", sound, RATE, subtype=subtype)
    read, _ = read_clip(tmp_path / "s.wav", RATE)
    assert np.abs(read - sound).max() < {"PCM_U8": 1e-2}.get(subtype, 1e-4)


def test_a_clip_is_cut_at_its_end_and_padded_with_silence_at_its_end():
    from edgebuild.modalities.sound import fit

    samples = np.arange(1, 11, dtype=np.float32)
    assert fit(samples, 4).tolist() == [1, 2, 3, 4]
    assert fit(samples, 12).tolist() == [*range(1, 11), 0, 0]


@pytest.fixture(scope="module")
def keywords(tmp_path_factory):
    project = one_example(tmp_path_factory.mktemp("keywords") / "p", "keywords.yaml", "train_keywords.py", "keywords")
    project.edit("recipes/keywords.yaml", "  - {name: int8, quantization: int8, calibration_samples: 90}",
                 "  - {name: int8, quantization: int8, calibration_samples: 90}\n"
                 "  - {name: whole, quantization: int8, calibration_samples: 90, keep_float: [], baseline: true}\n"
                 "  - {name: auto, quantization: int8, calibration_samples: 90, keep_float: auto, baseline: true}\n"
                 "  - {name: fp16, quantization: float16}\n  - {name: dyn8, quantization: dynamic_int8}")
    result = project.build()
    assert result.exit_code == 0, result.output
    return project


UNBATCHED = """\
name: single
model: {tflite: models/single.tflite}
dataset: {source: audio_folder, path: data/keywords, sample_rate: 16000, clip_seconds: 1.0, test_fraction: 0.25, seed: 0}
labels: [background, down, "no", up, "yes"]
targets:
  - {name: fp32, quantization: float32}
  - {name: int8, quantization: int8, calibration_samples: 90}
  - {name: dyn8, quantization: dynamic_int8}
thresholds: {min_accuracy: 0.8}
bundles: {android: {package: com.example.single}, ios: {module: Single}}
"""
UNBATCHED_SAVED = """\
name: single-saved
model: {saved_model: models/single_saved}
dataset: {source: audio_folder, path: data/keywords, sample_rate: 16000, clip_seconds: 1.0, test_fraction: 0.25, seed: 0}
labels: [background, down, "no", up, "yes"]
targets:
  - {name: fp32, quantization: float32}
  - {name: int8, quantization: int8, calibration_samples: 90}
thresholds: {min_accuracy: 0.8}
bundles: {android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
"""


@pytest.fixture(scope="module")
def unbatched(keywords):
    """The keywords model as a .tflite taking one [16000] waveform without a batch dimension and giving [5]
    scores (as YAMNet takes [15600]), built beside keywords from the same clips."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(keywords.path("build/keywords/source/model.keras"), compile=False)
    archive = keras.export.ExportArchive()  # (from_concrete_functions gave NaNs for this Keras 3 model)
    archive.track(model)
    archive.add_endpoint("serve", lambda samples: model(samples[None], training=False)[0],
                         input_signature=[tf.TensorSpec([RATE], tf.float32)])
    archive.write_out(str(keywords.path("models/single_saved")), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(keywords.path("models/single_saved")))
    keywords.path("models/single.tflite").write_bytes(converter.convert())
    keywords.path("recipes/single.yaml").write_text(UNBATCHED)
    keywords.path("recipes/single-saved.yaml").write_text(UNBATCHED_SAVED)
    result = keywords.build("recipes/single.yaml", "recipes/single-saved.yaml")
    assert result.exit_code == 0, result.output
    return keywords


def metrics(project, target, recipe="keywords"):
    return json.loads(project.path(f"build/{recipe}/{target}/metrics.json").read_text())


def test_int8_keeps_the_front_end_float_and_its_accuracy(keywords):
    """The default for a sound model's int8: the ops from the waveform through the log-mel spectrogram stay
    float (found from the graph), the network after them is int8; quantizing the front end too loses most of it."""
    fp32, int8, whole, fp16, dyn8 = (metrics(keywords, t)["accuracy"] for t in ("fp32", "int8", "whole", "fp16", "dyn8"))
    assert int8 >= fp32 - 0.05 and fp16 >= fp32 - 0.05 and dyn8 >= fp32 - 0.05  # (float16, dynamic_int8 work too)
    assert whole < int8 - 0.2
    mixed = json.loads(keywords.path("build/keywords/int8/mixed.json").read_text())
    assert mixed["mode"] == "front_end"
    kept = [op["op"] for op in mixed["kept"]]
    assert "LOG" in kept and "FULLY_CONNECTED" in kept and "CONV_2D" not in kept  # (the mel matrix is a matmul)
    for report in ("report.html", "report.md"):  # which ops stayed float, and why
        assert f"keep_float: front_end keeps {len(kept)} ops in float: the model" in \
            keywords.path(f"build/keywords/{report}").read_text()
    from edgebuild.tflite.inspection import inspect_model

    model = inspect_model(keywords.path("build/keywords/int8/model.tflite"))
    convs = [op for op in model.ops if op.op == "CONV_2D"]
    assert convs and all(model.tensors[op.inputs[1]].dtype == "int8" for op in convs)
    assert model.inputs[0].dtype == "float32" and model.inputs[0].shape == [1, RATE]


def test_keep_float_auto_finds_a_split_inside_the_front_end(keywords):
    """keep_float: auto's search tries the heads of the ops in execution order (a dataflow order): on the keywords
    model a head passes, and the 1-minimal result keeps only front-end ops, the LOG among them, at int8's accuracy."""
    auto = json.loads(keywords.path("build/keywords/auto/mixed.json").read_text())
    front = json.loads(keywords.path("build/keywords/int8/mixed.json").read_text())
    assert auto["passed"] and auto["fully_quantized"]["passed"] is False
    assert any(step["how"].startswith("input side: first") and step["passed"] for step in auto["steps"])
    kept = [op["name"] for op in auto["kept"]]
    assert kept and set(kept) <= {op["name"] for op in front["kept"]}
    assert "LOG" in [op["op"] for op in auto["kept"]]
    assert metrics(keywords, "auto")["accuracy"] >= metrics(keywords, "int8")["accuracy"] - 0.05


def test_a_dynamic_range_model_is_measured_one_clip_per_invoke_as_the_apps_run_it(keywords):
    """A dynamic_int8 model quantizes its activations over what one invoke holds: batched, its scores here moved by
    up to 0.16 and a clip changed class. Its measured accuracy and confusion are those of one clip per invoke."""
    from edgebuild.tflite.runner import TFLiteRunner

    data = np.load(keywords.path("build/keywords/data.npz"))
    runner = TFLiteRunner(keywords.path("build/keywords/dyn8/model.tflite"))
    assert runner.one_at_a_time()
    each = np.array([int(np.argmax(runner.invoke(clip[None]))) for clip in data["x_test"]])
    measured = metrics(keywords, "dyn8")
    assert measured["accuracy"] == float((each == data["y_test"]).mean())
    confusion = np.zeros((5, 5), int)
    np.add.at(confusion, (data["y_test"], each), 1)
    assert measured["confusion"] == confusion.tolist()
    assert not TFLiteRunner(keywords.path("build/keywords/fp32/model.tflite")).one_at_a_time()


def test_the_report_shows_clips_of_each_label_with_each_targets_class_beside_the_truth(keywords):
    """The first two test clips of each label, as a waveform and spectrogram picture inline in report.html (and
    charts/clips.png for report.md), with the true label and the class each target gave it: here recomputed by
    running each target's model in LiteRT on the prepared clips."""
    import base64
    import io
    from html.parser import HTMLParser

    from PIL import Image

    from edgebuild.tflite.runner import TFLiteRunner

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.inside, self.cell = [], False, None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "table":
                self.inside = attrs.get("id") == "clips"
            elif self.inside and tag == "tr":
                self.rows.append([])
            elif self.inside and tag in ("td", "th"):
                self.cell = ""
            elif self.inside and tag == "img":
                self.rows[-1].append(attrs["src"])

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if self.inside and tag in ("td", "th") and self.cell is not None:
                if self.cell:
                    self.rows[-1].append(self.cell)
                self.cell = None
            elif tag == "table":
                self.inside = False

    parser = Rows()
    parser.feed(keywords.path("build/keywords/report.html").read_text())
    header, *rows = parser.rows
    names = [t["name"] for t in json.loads(keywords.path("build/keywords/summary.json").read_text())["targets"]]
    assert header == ["clip", "waveform and spectrogram", "true", *names] and len(names) == 6
    labels = ["background", "down", "no", "up", "yes"]
    data = np.load(keywords.path("build/keywords/data.npz"))
    x_test, y_test = data["x_test"], data["y_test"]
    expected = [i for k in range(len(labels)) for i in np.flatnonzero(y_test == k)[:2]]
    assert [int(row[0].lstrip("#")) for row in rows] == expected and len(rows) == 10
    classes = {t: [int(np.argmax(TFLiteRunner(keywords.path(f"build/keywords/{t}/model.tflite")).run(x_test[i][None])))
                   for i in expected] for t in names}
    for n, (row, i) in enumerate(zip(rows, expected)):
        _, picture, truth, *found = row
        assert truth == labels[y_test[i]]
        assert [f.removesuffix(" (wrong)") for f in found] == [labels[classes[t][n]] for t in names]
        assert all(f.endswith(" (wrong)") == (f.removesuffix(" (wrong)") != truth) for f in found)
        image = Image.open(io.BytesIO(base64.b64decode(picture.removeprefix("data:image/png;base64,"))))
        assert image.size == (2 * 240 + 4, 64)
    assert Image.open(keywords.path("build/keywords/charts/clips.png")).size == (2 * 240 + 4, 10 * 64 + 9 * 4)
    assert "(charts/clips.png)" in keywords.path("build/keywords/report.md").read_text()
    assert 'id="confusion"' in keywords.path("build/keywords/report.html").read_text()


AUDIO_CLASSIFIER = """\
import json, sys
import numpy as np
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import audio
from mediapipe.tasks.python.components.containers.audio_data import AudioData

clips, found, refused = np.load(sys.argv[1]), [], []
for model in sys.argv[2:]:
    options = audio.AudioClassifierOptions(base_options=tasks.BaseOptions(model_asset_path=model), max_results=1,
                                           running_mode=audio.RunningMode.AUDIO_CLIPS)
    try:
        classifier = audio.AudioClassifier.create_from_options(options)
    except (RuntimeError, ValueError):
        refused.append(True)
        continue
    refused.append(False)
    with classifier:
        found.append([classifier.classify(AudioData.create_from_array(clip.astype(np.float32), 16000))[0]
                      .classifications[0].categories[0].category_name for clip in clips])
print(json.dumps({"top": found, "refused": refused}))
"""


def test_mediapipes_audio_classifier_reads_the_shipped_models_as_they_are(keywords, unbatched, tmp_path):
    """fp32 and int8, each with the metadata the ship step writes (AudioProperties 16 kHz mono, the labels), of the
    keywords model and of its twin without a batch dimension ([16000] in): on the test clips, MediaPipe's top
    category is LiteRT's; the int8 model without its metadata is refused (MediaPipe needs AudioProperties to know
    the rate). One MediaPipe process reads all five."""
    from edgebuild.bundle.model_metadata import shipped_bytes
    from edgebuild.layout import RecipeLayout
    from edgebuild.recipe import load_recipe
    from edgebuild.steps.datasets import load_prepared
    from edgebuild.tflite.runner import TFLiteRunner

    clips = load_prepared(RecipeLayout(keywords.root, "keywords"), "x_test").x_test
    models, expected = [], []
    for name, target in (("keywords", "fp32"), ("keywords", "int8"), ("single", "fp32"), ("single", "int8")):
        recipe = load_recipe(keywords.path(f"recipes/{name}.yaml"), keywords.root)
        shipped = tmp_path / f"{name}-{target}.tflite"
        shipped.write_bytes(shipped_bytes(recipe, RecipeLayout(keywords.root, name), target))
        models.append(str(shipped))
        expected.append([recipe.labels[i] for i in TFLiteRunner(shipped).run(clips).argmax(-1)])
    models.append(str(keywords.path("build/keywords/int8/model.tflite")))
    np.save(tmp_path / "clips.npy", clips)
    done = subprocess.run([sys.executable, "-c", AUDIO_CLASSIFIER, str(tmp_path / "clips.npy"), *models],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["top"] == expected
    assert found["refused"] == [False, False, False, False, True], found


def test_the_shipped_models_metadata_says_audio(keywords):
    from edgebuild.tflite.metadata import read

    found = read(keywords.path("build/keywords/shipped.tflite").read_bytes())
    (tensor,) = found["subgraphs"][0]["inputs"]
    assert tensor["content"] == "AudioProperties" and tensor["audio"] == {"sample_rate": RATE, "channels": 1}
    assert found["labels"] == ["background", "down", "no", "up", "yes"]


def sound_project(project: Project, **folders) -> None:
    for label, clips in folders.items():
        (project.root / "clips" / label).mkdir(parents=True, exist_ok=True)
        for name, data in clips:
            path = project.root / "clips" / label / name
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                soundfile.write(path, data, RATE)


RECIPE = """\
model: {keras: m.keras}
dataset: {source: audio_folder, path: clips, clip_seconds: %s}
labels: [a, b]
targets: [{name: fp32, quantization: float32}]
"""


@pytest.mark.parametrize("case, expected", [
    ("unreadable", "recipes/s.yaml: s: dataset.path: cannot read audio file {root}/clips/b/bad.wav: "),
    ("empty", "recipes/s.yaml: s: dataset.path: audio file {root}/clips/b/empty.wav holds no samples"),
    ("no clips", "recipes/s.yaml: s: dataset.path: folder 'b' in clips has no WAV or FLAC clips"),
    ("too long", "recipes/s.yaml: s: dataset.clip_seconds: 2 s is longer than every clip (the longest is 0.5 s); "
                 "expected at most 0.5"),
])
def test_bad_clips_are_one_line_and_leave_nothing_half_written(project, case, expected):
    good = [("one.wav", tone(RATE, 0.5).astype(np.float32))]
    folders = {"a": good, "b": good}
    if case == "unreadable":
        folders["b"] = good + [("bad.wav", b"RIFF not really a wave file")]
    elif case == "empty":
        folders["b"] = good + [("empty.wav", np.zeros(0, np.float32))]
    elif case == "no clips":
        folders["b"] = [("notes.txt", b"no sound here")]
    sound_project(project, **folders)
    (project.root / "m.keras").write_bytes(b"")  # (the data step fails before the model is read)
    project.write("recipes/s.yaml", RECIPE % ("2.0" if case == "too long" else "0.5"))
    result = project.build()
    assert result.exit_code != 0
    (line,) = result.failures
    assert line.startswith(expected.format(root=project.root)), line
    assert not project.path("build/s/data.npz").exists()


def test_front_end_asked_of_a_model_without_a_spectrogram_is_one_line_and_the_default_quantizes_it_whole(project):
    """The default keep_float: front_end of a sound int8 target quantizes a model with no RFFT2D whole; the same
    words written in the recipe are a mistake about the model, and fail that target in one line."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    sound_project(project, a=[(f"{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32)) for i in range(4)],
                  b=[(f"{i}.wav", tone(RATE, 0.5).astype(np.float32)) for i in range(4)])
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((8000,)), tf.keras.layers.Reshape((8000, 1)),
                                 tf.keras.layers.Conv1D(4, 64, strides=32, activation="relu"),
                                 tf.keras.layers.GlobalMaxPooling1D(), tf.keras.layers.Dense(2, activation="softmax")])
    model.save(project.root / "m.keras")
    project.write("recipes/s.yaml", """\
        model: {keras: m.keras}
        dataset: {source: audio_folder, path: clips, clip_seconds: 0.5, test_fraction: 0.5, seed: 0}
        labels: [a, b]
        targets:
          - {name: default, quantization: int8, calibration_samples: 4}
          - {name: asked, quantization: int8, calibration_samples: 4, keep_float: front_end}
        thresholds: {min_accuracy: 0.0}
        """)
    result = project.build()
    assert result.failures == ["recipes/s.yaml: s/asked: keep_float: front_end: the model has no spectral front end "
                               "(no RFFT2D op); expected a model that computes its own spectrogram, or another "
                               "keep_float"], result.output
    mixed = json.loads(project.path("build/s/default/mixed.json").read_text())
    assert mixed["kept"] == [] and "every op is quantized" in mixed["why"]
    assert project.path("build/s/default/model.tflite").exists()
    assert not project.path("build/s/asked/model.tflite").exists()


def test_a_model_of_another_length_is_one_line_and_a_spectrogram_model_cannot_go_to_tflm(project):
    """A waveform model must take sample_rate * clip_seconds samples: another length is one line before anything
    converts. A model with RFFT2D (Keras' MelSpectrogram) builds, and its micro bundle fails the ship step in one
    line naming the op TFLM lacks, before anything is generated."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    sound_project(project, a=[(f"{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32)) for i in range(4)],
                  b=[(f"{i}.wav", tone(RATE, 0.5).astype(np.float32)) for i in range(4)])
    tf.keras.utils.set_random_seed(0)
    waveform = tf.keras.Input((4000,))  # a quarter of a second; the clips are half a second long
    mel = tf.keras.layers.MelSpectrogram(fft_length=256, sequence_stride=160, num_mel_bins=8)(waveform)
    scores = tf.keras.layers.Dense(2, activation="softmax")(tf.keras.layers.Flatten()(mel))
    tf.keras.Model(waveform, scores).save(project.root / "m.keras")
    recipe = """\
        model: {keras: m.keras}
        dataset: {source: audio_folder, path: clips, clip_seconds: SECONDS, test_fraction: 0.5, seed: 0}
        labels: [a, b]
        targets: [{name: fp32, quantization: float32}]
        thresholds: {min_accuracy: 0.0}
        bundles: {micro: {enabled: true}, android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
        """
    project.write("recipes/s.yaml", recipe.replace("SECONDS", "0.5"))
    result = project.build()
    (line,) = result.failures
    assert line.startswith("recipes/s.yaml: s: ") and "(4000,)" in line.replace("None, ", "") and line.endswith(
        "set dataset.clip_seconds so that sample_rate * clip_seconds is the model's input length"), line
    assert not project.path("build/s/fp32/model.tflite").exists()

    project.write("recipes/s.yaml", recipe.replace("SECONDS", "0.25"))
    result = project.build()
    (line,) = result.failures
    assert line.startswith("recipes/s.yaml: s/fp32: bundles.micro: TensorFlow Lite Micro") and "RFFT2D" in line, line
    assert project.path("build/s/fp32/model.tflite").exists() and not project.path("dist/s/micro").exists()


def test_a_waveform_model_without_a_batch_dimension_builds_as_one_with_it(unbatched, board_python, tmp_path):
    """A [samples] input (no batch dimension) is fed one clip per invoke everywhere: the reference and every target
    measure what the batched keywords model does (the same float32 classes), int8 keeps its front end float through
    the LiteRT Quantizer's calibration (a .tflite source) and TFLiteConverter's (a SavedModel), and the Linux
    package's golden tests pass on a board."""
    from edgebuild.tflite.inspection import inspect_model
    from linux_board import prove

    single = inspect_model(unbatched.path("build/single/fp32/model.tflite"))
    assert single.inputs[0].shape == [RATE] and single.outputs[0].shape == [5]
    source = json.loads(unbatched.path("build/single/source/source.json").read_text())
    assert source["batched"] is False and source["input_shape"] == [RATE] and source["output_shapes"] == [[5]]
    assert "batched" not in json.loads(unbatched.path("build/keywords/source/source.json").read_text())
    batched = np.load(unbatched.path("build/keywords/fp32/predicted_classes.npy"))
    assert np.array_equal(np.load(unbatched.path("build/single/fp32/predicted_classes.npy")), batched)
    fp32 = metrics(unbatched, "fp32")["accuracy"]
    assert metrics(unbatched, "fp32", "single")["accuracy"] == fp32
    assert metrics(unbatched, "int8", "single")["accuracy"] >= fp32 - 0.05
    assert metrics(unbatched, "dyn8", "single")["accuracy"] >= fp32 - 0.05
    assert json.loads(unbatched.path("build/single/int8/mixed.json").read_text())["mode"] == "front_end"
    # a SavedModel of the same signature: run one clip per call in TensorFlow, calibrated by TFLiteConverter
    assert json.loads(unbatched.path("build/single-saved/reference.json").read_text())["accuracy"] == fp32
    assert metrics(unbatched, "fp32", "single-saved")["accuracy"] == fp32
    assert metrics(unbatched, "int8", "single-saved")["accuracy"] >= fp32 - 0.05
    assert inspect_model(unbatched.path("build/single-saved/int8/model.tflite")).inputs[0].shape == [RATE]
    golden = json.loads(unbatched.path("build/single/golden.json").read_text())
    assert golden["vectors"] and all(len(v["input_hex"]) == RATE * 4 * 2 for v in golden["vectors"])
    proved = prove(unbatched.path("dist/single/linux"), "single", board_python, tmp_path)
    assert proved.returncode == 0, proved.stdout + proved.stderr


def test_sound_recipes_refuse_what_a_waveform_model_cannot_take(project):
    from edgebuild.errors import RecipeError
    from edgebuild.recipe import load_recipe

    sound_project(project, a=[("one.wav", tone(RATE, 0.5).astype(np.float32))])
    (project.root / "m.keras").write_bytes(b"")
    project.write("recipes/s.yaml", """\
        model: {keras: m.keras}
        dataset: {source: audio_folder, path: clips}
        preprocess: {scale: 2.0}
        labels: [a]
        targets: [{name: q, quantization: int8, io: int8}]
        """)
    with pytest.raises(RecipeError) as caught:
        load_recipe(project.path("recipes/s.yaml"), project.root)
    assert caught.value.problems == [
        "recipes/s.yaml:3: preprocess.scale: a sound model takes the waveform as it is, float samples in -1..1, as "
        "MediaPipe's AudioClassifier feeds them; leave preprocess out and compute features in the model",
        "recipes/s.yaml:5: targets[0].io: a sound model's input is the waveform, float samples as MediaPipe's "
        "AudioClassifier feeds them; leave io out (float32)"]


def test_the_linux_package_reads_a_clip_at_another_rate_as_the_build_did(keywords, board_python, tmp_path):
    """On a board: the package's golden tests pass, and its command line, given a golden clip as a 22,050 Hz
    stereo WAV (resampled by SciPy, not soxr), reads it back to the build's samples within 2e-3 and gives the
    golden scores within the golden tolerance."""
    from scipy.signal import resample_poly

    from linux_board import prove, run

    proved = prove(keywords.path("dist/keywords/linux"), "keywords", board_python, tmp_path)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    golden = json.loads(keywords.path("build/keywords/golden.json").read_text())
    vector = golden["vectors"][0]
    samples = np.asarray(vector["raw"], np.float64)
    other = resample_poly(samples, 441, 320)
    soundfile.write(tmp_path / "clip.wav", np.stack([other, other], axis=1), 22050, subtype="FLOAT")
    read = run(board_python, "-c", "import json, sys, keywords; raw, _ = keywords.Model().raw_values(sys.argv[1]); "
               "print(json.dumps(raw.tolist()))", str(tmp_path / "clip.wav"), cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    back = np.asarray(json.loads(read.stdout), np.float64)
    assert back.shape == samples.shape and np.abs(back[100:-100] - samples[100:-100]).max() < 2e-3
    done = run(board_python, "-m", "keywords", str(tmp_path / "clip.wav"), "--json", "--top-k", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scores = {c["label"]: c["score"] for c in json.loads(done.stdout)}
    expected = dict(zip(golden["labels"], vector["scores"]))
    assert max(abs(scores[label] - expected[label]) for label in expected) <= golden["tolerance"]["score"]


KOTLIN_HARNESS = """\
fun hex(buffer: java.nio.ByteBuffer): String {
    buffer.rewind()
    val bytes = ByteArray(buffer.remaining())
    buffer.get(bytes)
    return bytes.joinToString("") { "%02x".format(it) }
}

fun main() {
    val pcm = shortArrayOf(PCM)
    val samples = com.example.keywords.KeywordsProcessing.samples(pcm)
    println(samples.size)
    println(hex(com.example.keywords.KeywordsProcessing.fillInput(samples, com.example.keywords.KeywordsProcessing.inputBuffer())))
    println(com.example.keywords.KeywordsProcessing.SAMPLE_RATE)
}
"""


def test_the_android_wrapper_takes_16_bit_pcm_on_the_jvm(keywords, tmp_path):
    """KeywordsAudioClassifier.classify(ShortArray): the generated Kotlin (with Android and LiteRT stand-ins)
    compiles, and turns a short clip of 16-bit samples into the model's input bytes as NumPy does: each
    sample / 32768, padded with silence at its end to the model's 16,000 samples."""
    stubs = Path(__file__).parent / "kotlin_stubs"  # (Android's and LiteRT's types, as test_bundle.py uses them)
    if shutil.which("kotlinc") is None:
        pytest.fail("kotlinc not found: .ci/run installs Debian's kotlin package")
    wrapper = keywords.path("dist/keywords/android/src/main/java/com/example/keywords/KeywordsAudioClassifier.kt")
    assert "fun classify(pcm: ShortArray" in wrapper.read_text()
    pcm = np.array([0, 1, -1, 32767, -32768, 12345, -20000], np.int16)
    harness = tmp_path / "PcmCheck.kt"
    harness.write_text(KOTLIN_HARNESS.replace("PCM", ", ".join(f"({int(v)}).toShort()" for v in pcm)))
    sources = sorted(str(p) for p in keywords.path("dist/keywords/android/src/main").rglob("*.kt"))
    jar = tmp_path / "pcm.jar"
    compiled = subprocess.run(["kotlinc", *sources, *sorted(str(p) for p in stubs.glob("*.kt")), str(harness),
                               "-include-runtime", "-d", str(jar)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    ran = subprocess.run(["java", "-cp", str(jar), "PcmCheckKt"], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    expected = np.zeros(RATE, "<f4")
    expected[:len(pcm)] = pcm / np.float32(32768)
    assert ran.stdout.split() == [str(RATE), expected.tobytes().hex(), str(RATE)]


def test_the_ios_wrapper_takes_samples_and_an_audio_buffer(keywords):
    """Checked with tree-sitter-swift against the real APIs' model (swift_api.py): it parses, calls only what
    TensorFlowLiteSwift declares, imports AVFoundation, and has both audio entry points."""
    import swift_api

    (source,) = keywords.path("dist/keywords/ios").rglob("KeywordsAudioClassifier.swift")
    text = source.read_bytes()
    tree = swift_api._parser().parse(text)
    assert not tree.root_node.has_error
    assert swift_api.problems(text, "float32", "float32") == []
    assert "AVFoundation" in swift_api.imports(text)
    assert b"public func classify(samples: [Float]" in text
    assert b"public func classify(buffer: AVAudioPCMBuffer" in text
