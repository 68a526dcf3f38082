"""Make models/digits_cnn.keras, the checked-in model of recipes/digits_cnn.yaml.

A small CNN on scikit-learn's 8x8 digits, trained on the recipe's own training split (so
its test accuracy is honest) and seeded. Run from the repository root:
    python models/make_digits_cnn.py
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

from edgebuild.steps.datasets import split_train_test

ROOT = Path(__file__).resolve().parent.parent
digits = load_digits()
# The recipe's split (test_fraction 0.2, seed 0) and preprocessing (scale 1/16).
data = split_train_test(digits.images.astype(np.float32) * np.float32(0.0625), digits.target, 0.2, 0)

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
model = tf.keras.Sequential([
    tf.keras.Input((8, 8)),
    tf.keras.layers.Reshape((8, 8, 1)),
    tf.keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
    tf.keras.layers.MaxPooling2D(),
    tf.keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
    tf.keras.layers.GlobalAveragePooling2D(),
    tf.keras.layers.Dense(10, activation="softmax"),
], name="digits_cnn")
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(data.x_train, data.y_train, epochs=100, batch_size=32, verbose=0)
print("test accuracy", model.evaluate(data.x_test, data.y_test, verbose=0)[1])
model.save(ROOT / "models" / "digits_cnn.keras")
