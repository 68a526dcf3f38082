"""Make the shapes-segmentation example's data and model: data/shapes/{images,masks}/*.png and
models/shapes_segmenter.keras.

Each picture is 32x32 RGB: a textured background (seeded noise over stripes of a random colour) with
one to three filled shapes (circle, square, triangle) of random colours and sizes. Its mask is an 8-bit
PNG with the class index of every pixel (0 background, 1 circle, 2 square, 3 triangle) and 255 on a
one-pixel ring around each shape, where a pixel is part shape and part background ("ignore", as in
Pascal VOC). The model is a small encoder-decoder CNN trained on the recipe's own training split (so
its test mIoU is honest), seeded. Run from the repository root:
    python models/make_shapes.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "shapes"
LABELS = ["background", "circle", "square", "triangle"]
COUNT, SIZE, IGNORE = 320, 32, 255


def picture(rng):
    stripes = (np.arange(SIZE)[:, None] + np.arange(SIZE)[None, :] * rng.integers(0, 3)) // rng.integers(2, 6) % 2
    base = rng.integers(40, 200, size=3)
    pixels = base + stripes[..., None] * rng.integers(-40, 40, size=3) + rng.normal(0, 12, (SIZE, SIZE, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    mask = Image.new("L", (SIZE, SIZE), 0)
    for _ in range(rng.integers(1, 4)):
        label = int(rng.integers(1, 4))
        r = int(rng.integers(4, 9))
        cx, cy = (int(v) for v in rng.integers(r, SIZE - r, size=2))
        shape = Image.new("L", (SIZE, SIZE), 0)
        draw = ImageDraw.Draw(shape)
        if label == 1:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        elif label == 2:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=255)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=255)
        inside = np.asarray(shape) > 0
        ring = np.asarray(shape.filter(ImageFilter.MaxFilter(3))) > 0
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        image.paste(Image.new("RGB", (SIZE, SIZE), colour), mask=shape)
        m = np.asarray(mask).copy()
        m[ring] = IGNORE
        m[inside] = label
        mask = Image.fromarray(m)
    return image, mask


def make_data():
    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        (FOLDER / sub).mkdir(parents=True, exist_ok=True)
    for i in range(COUNT):
        image, mask = picture(rng)
        image.save(FOLDER / "images" / f"{i:03d}.png", optimize=True)
        mask.save(FOLDER / "masks" / f"{i:03d}.png", optimize=True)


def train():
    import tensorflow as tf

    from edgebuild.steps.datasets import mask_folder_files, split_train_test

    pictures, masks = mask_folder_files(FOLDER)
    x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in pictures]) * np.float32(1 / 255)
    y = np.stack([np.asarray(Image.open(p)) for p in masks])
    data = split_train_test(x, y, 0.25, 0)  # the recipe's split: test_fraction 0.25, seed 0
    weights = (data.y_train != IGNORE).astype(np.float32)  # ignored pixels teach nothing
    targets = np.where(data.y_train == IGNORE, 0, data.y_train)

    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    inputs = tf.keras.Input((SIZE, SIZE, 3))
    h = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    h = tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(h)
    outputs = tf.keras.layers.Conv2D(len(LABELS), 1, activation="softmax")(h)
    model = tf.keras.Model(inputs, outputs, name="shapes_segmenter")
    model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    model.fit(data.x_train, targets, sample_weight=weights, epochs=250, batch_size=16, verbose=0)
    print("test pixel accuracy", model.evaluate(data.x_test, np.where(data.y_test == IGNORE, 0, data.y_test),
                                                sample_weight=(data.y_test != IGNORE).astype(np.float32), verbose=0)[1])
    model.save(ROOT / "models" / "shapes_segmenter.keras")


if __name__ == "__main__":
    make_data()
    train()
