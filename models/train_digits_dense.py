"""Train the tutorials' dense digits classifier: Flatten 28x28 -> Dense 128 relu -> Dense 10.

Run by edgebuild as `python models/train_digits_dense.py --out PATH [--epochs N]`; the
prepared data (scikit-learn digits upsampled to 28x28 and scaled to 0..1) is at $EDGEBUILD_DATA.
Everything is seeded, so the same data and arguments give the same weights.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

tf.keras.utils.set_random_seed(args.seed)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train, y_train = data["x_train"], data["y_train"]

model = tf.keras.Sequential([
    tf.keras.Input(x_train.shape[1:]),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])


class EpochLine(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1}/{args.epochs}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}", flush=True)


model.fit(x_train, y_train, epochs=args.epochs, verbose=0, callbacks=[EpochLine()])
model.save(args.out)
