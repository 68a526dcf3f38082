"""--help, validate, schema, listing and a no-op build never import TensorFlow, NumPy or LiteRT."""
import subprocess
import sys

HEAVY = ("tensorflow", "numpy", "ai_edge_litert", "sklearn", "keras")

CHECK = """
import sys, contextlib, io
from edgebuild import cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        cli.main({argv!r})
    except SystemExit:
        pass
heavy = [m for m in {heavy!r} if m in sys.modules]
print(",".join(heavy))
"""


def heavy_imports(argv, cwd):
    code = CHECK.format(argv=argv, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_help_and_validate_and_schema_stay_light(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "m.keras").write_text("")
    (tmp_path / "recipes" / "r.yaml").write_text(
        "model: {keras: m.keras}\ndataset: {source: sklearn_iris}\nlabels: [a, b, c]\n"
        "targets: [{name: f, quantization: float32}]\n")
    for argv in (["--help"], ["validate"], ["schema"], ["list"], ["build", "--help"]):
        assert heavy_imports(argv, tmp_path) == "", argv


def test_validating_a_published_tflite_source_stays_light(tmp_path):
    """A .tflite source's labels, normalization and tensor types are read when the recipe loads, without NumPy
    (tflite/flatbuffer.py): PyPI's flatbuffers would import it."""
    import shutil

    from conftest import REPO

    (tmp_path / "recipes").mkdir()
    shutil.copy(REPO / "models/published/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite", tmp_path / "ssd.tflite")
    (tmp_path / "recipes" / "r.yaml").write_text(
        "task: detection\nmodel: {tflite: ssd.tflite}\ndataset: {source: coco, path: c.json}\n"
        "targets: [{name: asis, quantization: none}]\n")
    (tmp_path / "c.json").write_text('{"images": [], "annotations": [], "categories": []}')
    for argv in (["validate"], ["list"]):
        assert heavy_imports(argv, tmp_path) == "", argv
    out = subprocess.run([sys.executable, "-m", "edgebuild.cli", "validate"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0 and "ok (1 targets)" in out.stdout, out.stderr
