"""Dataset kinds end to end: a folder of images and an .npz, built, converted and bundled."""
import json

import numpy as np
from conftest import IRIS_RECIPE

TRAIN_IMAGES = """\
import argparse, os
import numpy as np
import tensorflow as tf
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
tf.keras.utils.set_random_seed(0)
d = np.load(os.environ["EDGEBUILD_DATA"])
m = tf.keras.Sequential([tf.keras.Input(d["x_train"].shape[1:]), tf.keras.layers.Flatten(),
                         tf.keras.layers.Dense(2, activation="softmax")])
m.compile(tf.keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
m.fit(d["x_train"], d["y_train"], epochs=40, verbose=0)
m.save(a.out)
"""


def test_image_folder_is_resized_scaled_and_bundled_with_bitmap_input(project):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 210)):
        folder = project.root / "images" / label
        folder.mkdir(parents=True)
        for i in range(12):  # different sizes: the recipe's resize makes them one
            size = (10 + i % 3, 12)
            pixels = np.clip(rng.normal(level, 20, size[::-1]), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").convert("RGB").save(folder / f"{i:02d}.png")
    project.write("train.py", TRAIN_IMAGES)
    project.write("recipes/shades.yaml", """\
        model: {script: train.py}
        dataset: {source: image_folder, path: images, color_mode: grayscale, test_fraction: 0.25}
        preprocess: {resize: [8, 8], scale: 0.00392156862745098}
        labels: [dark, light]
        targets:
          - {name: q, quantization: int8, io: int8, calibration_samples: 10}
        thresholds: {min_accuracy: 0.9}
        """)
    result = project.build()
    assert result.exit_code == 0, result.failures
    data = np.load(project.path("build/shades/data.npz"))
    assert data["x_train"].shape == (18, 8, 8) and data["x_test"].shape == (6, 8, 8)
    assert 0 <= data["x_test"].min() and data["x_test"].max() <= 1
    assert json.loads(project.path("build/shades/q/metrics.json").read_text())["accuracy"] == 1.0
    kotlin = project.path("dist/shades/android/src/main/java/com/example/shades/ShadesClassifier.kt").read_text()
    assert "fun classify(bitmap: Bitmap" in kotlin
    meta = json.loads(project.path("dist/shades/android/src/main/assets/shades-metadata.json").read_text())
    assert meta["preprocess"]["image"] == {"height": 8, "width": 8, "channels": 1, "color": "grayscale"}
    assert meta["preprocess"]["resize"] == [8, 8]


def test_npz_dataset_uses_its_own_split(iris_project):
    from sklearn.datasets import load_iris

    iris = load_iris()
    np.savez(iris_project.path("iris.npz"), x_train=iris.data[::2], y_train=iris.target[::2],
             x_test=iris.data[1::2], y_test=iris.target[1::2])
    iris_project.write("recipes/iris.yaml", IRIS_RECIPE.replace(
        "  source: sklearn_iris\n  test_fraction: 0.3\n  seed: 0\n", "  source: npz\n  path: iris.npz\n"))
    assert iris_project.build().exit_code == 0
    data = np.load(iris_project.path("build/iris/data.npz"))
    np.testing.assert_array_equal(data["x_test"], iris.data[1::2].astype(np.float32))
    assert json.loads(iris_project.path("build/iris/reference.json").read_text())["n_test"] == 75
    # an edited .npz re-prepares the data and everything after it
    np.savez(iris_project.path("iris.npz"), x_train=iris.data[::3], y_train=iris.target[::3],
             x_test=iris.data[1::3], y_test=iris.target[1::3])
    rebuilt = iris_project.build().executed
    assert rebuilt[:2] == ["iris:data", "iris:source"] and "iris:reference" in rebuilt
