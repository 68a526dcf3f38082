"""Running a MediaPipe task on a shipped model, for the task kinds' tests: in its own process, because bad
metadata can abort the whole process; and the test pictures a recipe's model saw."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def run(script: str, model: Path, pictures, tmp_path) -> dict:
    """`script` (python -c) reads the model and an .npy of pictures from argv and prints one JSON line."""
    np.save(tmp_path / "pictures.npy", pictures)
    done = subprocess.run([sys.executable, "-c", script, str(model), str(tmp_path / "pictures.npy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def pictures_of(project, name):
    from edgebuild.layout import RecipeLayout
    from edgebuild.steps.datasets import load_prepared

    x = load_prepared(RecipeLayout(project.root, name), "x_test").x_test
    return np.round(x * 255).astype(np.uint8)  # the recipe scales pixels by 1/255: these are the pictures
