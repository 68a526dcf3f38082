"""Make models/wine_savedmodel/, the checked-in SavedModel of recipes/wine_savedmodel.yaml.

A small classifier of scikit-learn's wine data (13 features, 3 cultivars), trained on the
recipe's own training split, seeded, exported with Keras' `model.export` (a TensorFlow
SavedModel with a serving_default signature). Run from the repository root:
    python models/make_wine_savedmodel.py
"""
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_wine

from edgebuild.steps.datasets import split_train_test

ROOT = Path(__file__).resolve().parent.parent
wine = load_wine()
data = split_train_test(wine.data.astype(np.float32), wine.target, 0.3, 0)  # the recipe's test_fraction and seed

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
normalize = tf.keras.layers.Normalization()
normalize.adapt(data.x_train)
model = tf.keras.Sequential([
    tf.keras.Input((13,)),
    normalize,
    tf.keras.layers.Dense(12, activation="relu"),
    tf.keras.layers.Dense(3, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(data.x_train, data.y_train, epochs=80, batch_size=16, verbose=0)
print("test accuracy", model.evaluate(data.x_test, data.y_test, verbose=0)[1])
out = ROOT / "models" / "wine_savedmodel"
shutil.rmtree(out, ignore_errors=True)
model.export(str(out))
