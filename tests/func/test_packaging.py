"""edgebuild as an installed tool: a wheel in a fresh venv builds a project made by `edgebuild init`."""
import site
import subprocess
import sys
import sysconfig

import pytest
from conftest import REPO


@pytest.mark.slow
def test_wheel_installs_and_builds_an_init_project_outside_the_repo(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist")],
                   cwd=REPO, check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("edgebuild-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # the fresh venv sees this environment's dependencies (TensorFlow is 500 MB), but edgebuild only from the wheel
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    with open(f"{purelib}/zz-deps.pth", "w") as pth:
        pth.write("\n".join(sorted(deps)) + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True)
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import edgebuild; print(edgebuild.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert where.startswith(str(venv)), where
    edgebuild = str(venv / "bin" / "edgebuild")
    subprocess.run([edgebuild, "init", "myproject"], cwd=tmp_path, check=True, capture_output=True)
    project = tmp_path / "myproject"
    built = subprocess.run([edgebuild, "build"], cwd=project, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert (project / "build" / "digits" / "int8" / "model.tflite").stat().st_size > 1000
    again = subprocess.run([edgebuild, "build"], cwd=project, capture_output=True, text=True)
    assert "edgebuild: 0 steps run, 25 up to date" in again.stderr
