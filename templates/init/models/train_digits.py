"""Train the starter recipe's model: 8x8 digits -> Dense 32 relu -> Dense 10 softmax.

edgebuild runs this as `python models/train_digits.py --out PATH [args...]`. The prepared
data (split and preprocessed as the recipe says) is an .npz at $EDGEBUILD_DATA with x_train,
y_train, x_test, y_test. Save a Keras model to --out. Seed everything: the same data and
arguments should give the same model, so builds are reproducible.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])

model = tf.keras.Sequential([
    tf.keras.Input(data["x_train"].shape[1:]),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(32, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(data["x_train"], data["y_train"], epochs=args.epochs, verbose=0)
print(f"trained {args.epochs} epochs: accuracy {history.history['accuracy'][-1]:.4f}")  # shown as progress
model.save(args.out)
