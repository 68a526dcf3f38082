"""Make the photos-cnn example's data and model: data/photos/<label>/*.png and models/photos_cnn.keras.

The images are 32x32 RGB crops of scikit-learn's two bundled sample photos (a temple in China, a
flower; no download), at a quarter of their size, from seeded random places. The model is a small
CNN trained on the recipe's own training split (so its test accuracy is honest), seeded.
Run from the repository root:
    python models/make_photos_cnn.py
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from sklearn.datasets import load_sample_images

from edgebuild.steps.datasets import image_files, split_train_test

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "photos"
LABELS = ["flower", "temple"]  # load_sample_images(): china.jpg (a temple), flower.jpg
PER_LABEL, SIZE = 80, 32

photos = load_sample_images()
rng = np.random.default_rng(0)
for label, name in zip(LABELS, ["flower.jpg", "china.jpg"]):
    image = Image.fromarray(photos.images[photos.filenames.index(next(f for f in photos.filenames
                                                                           if f.endswith(name)))])
    small = np.asarray(image.resize((image.width // 4, image.height // 4), Image.Resampling.BILINEAR))
    (FOLDER / label).mkdir(parents=True, exist_ok=True)
    for i in range(PER_LABEL):
        y, x = rng.integers(0, small.shape[0] - SIZE), rng.integers(0, small.shape[1] - SIZE)
        Image.fromarray(small[y:y + SIZE, x:x + SIZE]).save(FOLDER / label / f"{i:03d}.png", optimize=True)

# The recipe's data: every image in image_files order, split with test_fraction 0.25, seed 0; scale 1/255.
files = image_files(FOLDER)
x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in files]) * np.float32(1 / 255)
y = np.asarray([LABELS.index(p.parent.name) for p in files])
data = split_train_test(x, y, 0.25, 0)

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
model = tf.keras.Sequential([
    tf.keras.Input((SIZE, SIZE, 3)),
    tf.keras.layers.Conv2D(16, 3, strides=2, activation="relu", padding="same"),
    tf.keras.layers.Conv2D(32, 3, strides=2, activation="relu", padding="same"),
    tf.keras.layers.GlobalAveragePooling2D(),
    tf.keras.layers.Dense(len(LABELS), activation="softmax"),
], name="photos_cnn")
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(data.x_train, data.y_train, epochs=60, batch_size=16, verbose=0)
print("test accuracy", model.evaluate(data.x_test, data.y_test, verbose=0)[1])
model.save(ROOT / "models" / "photos_cnn.keras")
