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
