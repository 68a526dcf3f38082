"""A package the build needs at run time but that is not installed is one line naming it and how to install it,
never a fault of the model. The environment lacks the package for real: a `sitecustomize` on PYTHONPATH makes
its import fail in every process the build starts, as in a venv without it."""
import os
import subprocess
import sys
import textwrap

from conftest import REPO

BLOCKER = """\
import sys
from importlib.machinery import PathFinder


class _WithoutSome(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in {absent!r}:
            return None
        return PathFinder.find_spec(name, path, target)


sys.meta_path[:] = [_WithoutSome if finder is PathFinder else finder for finder in sys.meta_path]
"""


def without(tmp_path, *modules) -> dict:
    folder = tmp_path / "absent"
    folder.mkdir(parents=True)
    (folder / "sitecustomize.py").write_text(BLOCKER.format(absent=set(modules)))
    return dict(os.environ, PYTHONPATH=str(folder), TF_CPP_MIN_LOG_LEVEL="2")


def test_a_micro_recipe_without_tflite_micro_says_what_to_install(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "m.yaml").write_text(textwrap.dedent("""\
        model: {tflite: m.tflite}
        dataset: {source: sklearn_digits}
        labels: [a, b, c, d, e, f, g, h, i, j]
        targets: [{name: fp32, quantization: none}]
        bundles: {micro: {enabled: true}}
        """))
    (tmp_path / "m.tflite").write_bytes((REPO / "models/digits_cnn_float.tflite").read_bytes())
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "validate"], cwd=tmp_path, capture_output=True,
                          text=True, env=without(tmp_path, "tflite_micro"), timeout=120)
    assert done.returncode == 2
    assert done.stderr == ("recipes/m.yaml:5: bundles.micro.enabled: the micro bundle needs tflite-micro (TensorFlow "
                           "Lite Micro's interpreter; PyPI has wheels for Linux x86_64 only), which is not installed "
                           "here: pip install 'tflite-micro==0.dev20261023182759'\n")
    # with it installed, the same recipe is fine
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "validate"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_tflms_child_without_tflite_micro_blames_no_model(tmp_path):
    script = textwrap.dedent(f"""\
        from pathlib import Path
        from edgebuild.errors import StepError
        from edgebuild.tflite import tflm
        try:
            tflm.arena(Path({str(REPO / 'models/digits_cnn_float.tflite')!r}), Path({str(tmp_path / 'log')!r}), "r: x/t")
        except StepError as exc:
            print(exc)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=without(tmp_path, "tflite_micro"), timeout=120)
    assert done.stdout == ("r: x/t: bundles.micro needs tflite-micro, which is not installed here: "
                           "pip install 'tflite-micro==0.dev20261023182759'\n"), done.stderr


def test_a_dask_build_without_distributed_says_what_to_install(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "t.yaml").write_text(textwrap.dedent("""\
        model: {tflite: m.tflite}
        dataset: {source: sklearn_digits}
        preprocess: {scale: 0.0625}
        labels: [a, b, c, d, e, f, g, h, i, j]
        targets: [{name: fp32, quantization: none}]
        bundles: {android: {enabled: false}, ios: {enabled: false}, linux: {enabled: false}}
        """))
    (tmp_path / "m.tflite").write_bytes((REPO / "models/digits_cnn_float.tflite").read_bytes())
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "build", "--dask", "local:1"], cwd=tmp_path,
                          capture_output=True, text=True, env=without(tmp_path, "distributed", "dask"), timeout=600)
    assert done.returncode == 2 and done.stderr == (
        "--dask local:1: Dask's distributed is not installed; from edgebuild's checkout, pip install -e "
        "'.[dask]' (on this machine and on the workers)\n")


def test_a_pytorch_recipe_without_the_torch_extra_says_what_to_install(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "p.yaml").write_text(textwrap.dedent("""\
        model:
          script: train.py
          saves: pytorch
        dataset: {source: sklearn_digits}
        labels: [a, b, c, d, e, f, g, h, i, j]
        targets: [{name: fp32, quantization: float32}]
        """))
    (tmp_path / "train.py").write_text("import torch\n")
    expected = ("recipes/p.yaml:2: model.script: a PyTorch source needs {}, which is not installed here: pip install "
                "torch==2.13.0 'edgebuild[torch]' (torch first: the CPU build)\n")
    for absent, named in ((("litert_torch",), "litert-torch"), (("torch", "litert_torch"), "torch and litert-torch")):
        done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "validate"], cwd=tmp_path, capture_output=True,
                              text=True, env=without(tmp_path / absent[0], *absent), timeout=120)
        assert (done.returncode, done.stderr) == (2, expected.format(named))
    done = subprocess.run([sys.executable, "-m", "edgebuild.cli", "validate"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
