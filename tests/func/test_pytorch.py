"""PyTorch sources: torch.export programs converted by litert-torch, measured against torch itself.

The photos-torch example is built once for this module (a seeded PyTorch training, litert-torch, the LiteRT
Quantizer, LiteRT, MediaPipe); the other tests save tiny programs of their own."""
import json

import numpy as np
import pytest

from conftest import one_example

torch = pytest.importorskip("torch")
pytest.importorskip("litert_torch")

import mediapipe_task  # noqa: E402


def save_program(module, example, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(torch.export.export(module.eval(), (example,)), str(path))


def torch_outputs(program_path, x_nhwc):
    """The program's own outputs for NHWC pictures, fed to it channels first, one at a time."""
    module = torch.export.load(str(program_path)).module()
    with torch.no_grad():
        return np.concatenate([module(torch.from_numpy(np.ascontiguousarray(s[None].transpose(0, 3, 1, 2)))).numpy()
                               for s in x_nhwc])


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    project = one_example(tmp_path_factory.mktemp("photos") / "p", "photos_torch.yaml", "train_photos_torch.py",
                          "photos")
    result = project.build()
    assert result.exit_code == 0, result.output
    project.first_output = result.output
    return project


def prepared(project, name):
    from edgebuild.layout import RecipeLayout
    from edgebuild.steps.datasets import load_prepared

    return load_prepared(RecipeLayout(project.root, name), "x_test", "y_test")


def test_the_float32_model_takes_nhwc_pictures_and_gives_torchs_outputs(photos):
    from edgebuild.tflite.runner import TFLiteRunner

    data = prepared(photos, "photos-torch")
    runner = TFLiteRunner(photos.path("build/photos-torch/fp32/model.tflite"))
    detail = runner.interpreter.get_input_details()[0]
    assert list(detail["shape"]) == [1, 32, 32, 3] and detail["dtype"] == np.float32
    ours = np.concatenate([runner.run(s[None]) for s in data.x_test])
    theirs = torch_outputs(photos.path("build/photos-torch/source/model.pt2"), data.x_test)
    assert ours.shape == theirs.shape == (len(data.x_test), 2)
    assert np.abs(ours - theirs).max() < 1e-5


def test_the_reference_is_torchs_own_and_int8_keeps_its_accuracy(photos):
    data = prepared(photos, "photos-torch")
    theirs = torch_outputs(photos.path("build/photos-torch/source/model.pt2"), data.x_test).argmax(-1)
    reference = json.loads(photos.path("build/photos-torch/reference.json").read_text())
    assert reference["format"] == "pytorch"
    confusion = np.zeros((2, 2), int)
    np.add.at(confusion, (data.y_test, theirs), 1)
    assert reference["confusion"] == confusion.tolist()
    assert reference["accuracy"] == pytest.approx(float(np.mean(theirs == data.y_test)))
    int8 = json.loads(photos.path("build/photos-torch/int8/metrics.json").read_text())
    assert int8["accuracy"] >= reference["accuracy"] - 0.03
    from edgebuild.tflite.precision import shortfall

    assert shortfall(photos.path("build/photos-torch/int8/model.tflite").read_bytes(), "int8", False) is None


def test_mediapipe_reads_the_shipped_model_as_it_is(photos, tmp_path):
    from edgebuild.tflite.runner import TFLiteRunner

    from test_published import CLASSIFIER

    shipped = photos.path("build/photos-torch/shipped.tflite")
    pictures = mediapipe_task.pictures_of(photos, "photos-torch")
    found = mediapipe_task.run(CLASSIFIER, shipped, pictures, tmp_path)
    runner = TFLiteRunner(shipped)
    ours = [int(np.argmax(runner.run((p[None] / np.float32(255)).astype(np.float32)))) for p in pictures]
    assert [top[0][0] for top in found["top"]] == [["flower", "temple"][i] for i in ours]


def test_an_edit_to_the_script_retrains_and_nothing_else(photos):
    before = photos.path("build/photos-torch/source/model.pt2").read_bytes()
    assert photos.build().executed == []  # a second build: nothing to do
    photos.edit("models/train_photos_torch.py", "model.eval()\n", "model.eval()  # an edit\n")
    result = photos.build()
    assert result.exit_code == 0
    assert result.executed == ["photos-torch:source"]
    assert photos.path("build/photos-torch/source/model.pt2").read_bytes() == before  # seeded: the same program


def test_a_script_retrains_with_the_installed_packages_inside_the_project(photos, tmp_path):
    """The README's setup puts `.venv` inside the clone it builds. Modules a script imports from the project are
    forgotten after it runs; torch, installed there, was forgotten too, and importing it again in the same
    process failed ("SystemError: ... bad call flags"). Here torch is found through a site-packages folder
    inside the project, and a fresh `edgebuild build` process retrains after an edit."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path / "p"
    shutil.copytree(photos.root, root, symlinks=True)
    site = root / ".venv/lib/site-packages"
    site.mkdir(parents=True)
    (site / "torch").symlink_to(Path(torch.__file__).parent)
    with open(root / "models/train_photos_torch.py", "a") as script:
        script.write("# an edit\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *sys.path]), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "photos-torch:source" in done.stdout + done.stderr
    assert (root / "build/photos-torch/source/model.pt2").read_bytes() == \
        photos.path("build/photos-torch/source/model.pt2").read_bytes()


def test_an_nchw_segmenter_gives_nhwc_maps(project):
    """A program taking [N, C, H, W] and giving [N, K, H, W] ships taking NHWC pictures and giving NHWC maps."""
    from edgebuild.tflite.runner import TFLiteRunner

    rng = np.random.default_rng(0)
    x = rng.random((24, 8, 8, 3), dtype=np.float32)
    y = (x[..., 0] > 0.5).astype(np.uint8)  # the red channel decides the class of each pixel
    np.savez(project.root / "masks.npz", x_train=x[:16], y_train=y[:16], x_test=x[16:], y_test=y[16:])
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.Softmax(dim=1))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].weight[1, 0, 0, 0], net[0].weight[0, 0, 0, 0] = 20.0, -20.0
        net[0].bias[1], net[0].bias[0] = -10.0, 10.0  # red above one half
    save_program(net, torch.zeros(1, 3, 8, 8), project.root / "models/seg.pt2")
    project.write("recipes/seg.yaml", """\
        task: segmentation
        model: {pytorch: models/seg.pt2}
        dataset: {source: npz, path: masks.npz}
        labels: [dark, red]
        targets: [{name: fp32, quantization: float32}]
        thresholds: {min_pixel_accuracy: 0.95}
        bundles: {android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
        """)
    result = project.build()
    assert result.exit_code == 0, result.output
    runner = TFLiteRunner(project.path("build/seg/fp32/model.tflite"))
    assert list(runner.interpreter.get_input_details()[0]["shape"]) == [1, 8, 8, 3]
    assert list(runner.interpreter.get_output_details()[0]["shape"]) == [1, 8, 8, 2]
    ours = np.concatenate([runner.run(s[None]) for s in x[16:]])
    theirs = torch_outputs(project.path("models/seg.pt2"), x[16:]).transpose(0, 2, 3, 1)
    assert np.abs(ours - theirs).max() < 1e-5
    source = json.loads(project.path("build/seg/source/source.json").read_text())
    assert source["layout"] == "nchw" and source["output_shape"] == [8, 8, 2]


class Erfinv(torch.nn.Module):  # an op litert-torch has no lowering for
    def forward(self, x):
        return torch.softmax(torch.special.erfinv(x.clamp(-0.5, 0.5)).mean(dim=(2, 3)), dim=-1)


class Mean(torch.nn.Module):
    def forward(self, x):
        return torch.softmax(x.mean(dim=(2, 3)), dim=-1)


class FirstThree(torch.nn.Module):  # one sample of 48 values, without a batch dimension
    def forward(self, x):
        return torch.softmax(x[:3], dim=-1)


def test_bad_programs_and_layouts_are_one_line_each(project):
    rng = np.random.default_rng(0)
    np.savez(project.root / "small.npz", x_train=rng.random((8, 4, 4, 3), dtype=np.float32), y_train=np.arange(8) % 3,
             x_test=rng.random((6, 4, 4, 3), dtype=np.float32), y_test=np.arange(6) % 3)
    np.savez(project.root / "cubes.npz", x_train=rng.random((8, 3, 3, 3), dtype=np.float32), y_train=np.arange(8) % 3,
             x_test=rng.random((6, 3, 3, 3), dtype=np.float32), y_test=np.arange(6) % 3)
    save_program(Erfinv(), torch.zeros(1, 3, 4, 4), project.root / "models/erfinv.pt2")
    save_program(Mean(), torch.zeros(1, 3, 5, 5), project.root / "models/wrong_size.pt2")
    save_program(Mean(), torch.zeros(1, 3, 3, 3), project.root / "models/cube.pt2")
    (project.root / "models/broken.pt2").write_bytes(b"not a program")
    save_program(FirstThree(), torch.zeros(48), project.root / "models/unbatched.pt2")
    for name, program, data in (("erfinv", "erfinv", "small"), ("wrong-size", "wrong_size", "small"),
                                ("cube", "cube", "cubes"), ("broken", "broken", "small"),
                                ("unbatched", "unbatched", "small")):
        project.write(f"recipes/{name}.yaml", f"""\
            model: {{pytorch: models/{program}.pt2}}
            dataset: {{source: npz, path: {data}.npz}}
            labels: [a, b, c]
            targets: [{{name: fp32, quantization: float32}}]
            bundles: {{android: {{enabled: false}}, ios: {{enabled: false}}, linux: {{enabled: false}}}}
            """)
    project.write("models/not_a_program.py", """\
        import sys
        open(sys.argv[2], "wb").write(b"weights")
        """)
    project.write("recipes/garbage.yaml", """\
        model: {script: models/not_a_program.py, saves: pytorch}
        dataset: {source: npz, path: small.npz}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}]
        """)
    result = project.build()
    assert result.exit_code != 0
    lines = {line.split(":", 1)[0]: line for line in result.failures}
    assert len(result.failures) == 6 and all("\n" not in line for line in result.failures)
    assert lines["recipes/garbage.yaml"].startswith(
        "recipes/garbage.yaml: garbage: model.script: models/not_a_program.py saved a file torch.export.load cannot "
        "read (")
    assert lines["recipes/garbage.yaml"].endswith("(full output: build/garbage/logs/source.log)")
    assert not project.path("build/garbage/source/model.pt2").exists()  # nothing half-written
    assert lines["recipes/erfinv.yaml"].startswith(
        "recipes/erfinv.yaml: erfinv: model.pytorch: models/erfinv.pt2: litert-torch cannot convert it: RuntimeError: "
        "Lowering not found: aten.erfinv.default (full output: build/erfinv/logs/float.log)")
    assert lines["recipes/wrong-size.yaml"] == (
        "recipes/wrong-size.yaml: wrong-size: model.pytorch: models/wrong_size.pt2: input shape (3, 5, 5) does not match the "
        "preprocessed data's (4, 4, 3) or, channels first, (3, 4, 4); change preprocess (resize) or the program's "
        "input (full output: build/wrong-size/logs/source.log)")
    assert lines["recipes/cube.yaml"].startswith(
        "recipes/cube.yaml: cube: model.pytorch: models/cube.pt2: the input layout cannot be told: (3, 3, 3) reads as NCHW "
        "and as NHWC")
    assert lines["recipes/broken.yaml"].startswith(
        "recipes/broken.yaml: broken: model.pytorch: models/broken.pt2: cannot load model.pt2 as a torch.export program:")
    assert lines["recipes/broken.yaml"].endswith("(full output: build/broken/logs/source.log)")
    assert lines["recipes/unbatched.yaml"] == (  # (a .tflite or SavedModel source may take one [samples] waveform)
        "recipes/unbatched.yaml: unbatched: model.pytorch: models/unbatched.pt2: the program's input [48] has no "
        "batch dimension; export it with one: torch.export.export(model, (x[None],)) (full output: "
        "build/unbatched/logs/source.log)")


def test_modes_a_pytorch_source_cannot_take_are_refused_when_the_recipe_loads(project):
    from edgebuild.errors import RecipeError
    from edgebuild.recipe import load_recipe

    save_program(Mean(), torch.zeros(1, 3, 4, 4), project.root / "models/m.pt2")
    project.write("recipes/m.yaml", """\
        model: {pytorch: models/m.pt2}
        dataset: {source: sklearn_digits}
        labels: [a, b, c, d, e, f, g, h, i, j]
        targets:
          - {name: half, quantization: float16}
          - {name: dyn8, quantization: dynamic_int8, backend: converter}
        """)
    with pytest.raises(RecipeError) as caught:
        load_recipe(project.path("recipes/m.yaml"), project.root)
    assert caught.value.problems == [
        "recipes/m.yaml:5: targets[0].quantization: float16 is not available for a PyTorch source: litert-torch "
        "converts to float32 only, and the LiteRT Quantizer's float16 casting left this kind of model's weights in "
        "float32; expected float32, weight_only_int8/int4, dynamic_int8/int4, int8, int16x8 or custom",
        "recipes/m.yaml:6: targets[1].backend: a PyTorch source is converted by litert-torch and quantized by the "
        "LiteRT Quantizer only; expected backend: litert_quantizer (or leave it out)"]


IMPORT_WATCH = """\
import os, sys
from importlib.machinery import PathFinder


class _Watch(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and name in ("tensorflow", "torch", "litert_torch"):
            real = spec.loader.exec_module

            def exec_module(module, real=real):
                with open(os.environ["IMPORTS_SEEN"], "a") as seen:
                    seen.write(f"{name} {os.getpid()}\\n")
                return real(module)
            spec.loader.exec_module = exec_module
        return spec


sys.meta_path[:] = [_Watch if finder is PathFinder else finder for finder in sys.meta_path]
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_build_of_pytorch_recipes_alone_imports_no_tensorflow(project, tmp_path, jobs):
    """In any process the build starts (doit's workers, the sandboxes, the data step's helper): an import hook
    on PYTHONPATH records every import of tensorflow, torch and litert_torch, and the process. Under -n 2 each
    worker's sandbox imports torch as it starts (run/warm.py), whichever worker the PyTorch steps land in: when
    only the float step is out of date, torch is imported in two processes."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    np.savez(project.root / "small.npz", x_train=rng.random((8, 4, 4, 3), dtype=np.float32), y_train=np.arange(8) % 3,
             x_test=rng.random((6, 4, 4, 3), dtype=np.float32), y_test=np.arange(6) % 3)
    save_program(Mean(), torch.zeros(1, 3, 4, 4), project.root / "models/m.pt2")
    project.write("recipes/m.yaml", """\
        model: {pytorch: models/m.pt2}
        dataset: {source: npz, path: small.npz}
        labels: [a, b, c]
        targets: [{name: fp32, quantization: float32}, {name: int8, quantization: int8}]
        """)
    (tmp_path / "watch").mkdir()
    (tmp_path / "watch/sitecustomize.py").write_text(IMPORT_WATCH)
    seen = tmp_path / "seen.txt"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "watch"), IMPORTS_SEEN=str(seen), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "-n", jobs], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    imported = [line.split() for line in seen.read_text().splitlines()]
    names = {name for name, _ in imported}
    assert "torch" in names and "litert_torch" in names  # (the hook saw the build's processes)
    assert "tensorflow" not in names
    if jobs == "2":
        project.path("build/m/source/float.tflite").unlink()
        seen.unlink()
        done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "-n", jobs], cwd=project.root, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0 and "1 steps run" in done.stderr + done.stdout, done.stderr + done.stdout
        imported = [line.split() for line in seen.read_text().splitlines()]
        assert len({pid for name, pid in imported if name == "torch"}) == 2, imported


def test_keep_float_lists_a_pytorch_models_ops_through_the_quantizers_recipe(photos):
    """A listed op stays float in an int8 target: a no_quantize rule in the LiteRT Quantizer's recipe."""
    from edgebuild.tflite.inspection import inspect_model

    photos.edit("recipes/photos_torch.yaml", "  - {name: int8, quantization: int8, calibration_samples: 100}\n",
                "  - {name: int8, quantization: int8, calibration_samples: 100}\n"
                "  - {name: mixed, quantization: int8, keep_float: ['ChannelLastIOWrapper;8$']}\n")
    result = photos.build()
    assert result.exit_code == 0, result.output
    assert "photos-torch:convert/mixed" in result.executed and "photos-torch:convert/int8" not in result.executed
    mixed = json.loads(photos.path("build/photos-torch/mixed/mixed.json").read_text())
    assert [op["op"] for op in mixed["kept"]] == ["FULLY_CONNECTED"]
    rules = json.loads(photos.path("build/photos-torch/mixed/litert_recipe.json").read_text())
    assert rules[-1]["algorithm_key"] == "no_quantize"
    model = inspect_model(photos.path("build/photos-torch/mixed/model.tflite"))
    fully_connected = next(op for op in model.ops if op.op == "FULLY_CONNECTED")
    assert model.tensors[fully_connected.inputs[1]].dtype == "float32"
    conv = next(op for op in model.ops if op.op == "CONV_2D")
    assert model.tensors[conv.inputs[1]].dtype == "int8"


def test_the_micro_bundle_runs_a_pytorch_int8_target_in_tflm(photos):
    """The int8 target, shipped to microcontrollers: tflite-micro's interpreter runs it on the test split."""
    photos.edit("recipes/photos_torch.yaml", "bundles:\n", "ship: int8\nbundles:\n  micro: {enabled: true}\n")
    result = photos.build()
    assert result.exit_code == 0, result.output
    int8 = json.loads(photos.path("build/photos-torch/int8/metrics.json").read_text())
    reference = json.loads(photos.path("build/photos-torch/reference.json").read_text())
    assert int8["tflm_accuracy"] >= reference["accuracy"] - 0.03 and 0 < int8["tflm_arena_bytes"] < 64_000
    assert photos.path("dist/photos-torch/micro").is_dir() and photos.path("dist/photos-torch-micro.zip").is_file()
