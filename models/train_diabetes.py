"""Train a small regression MLP on scikit-learn's diabetes data: 10 measurements -> disease progression
one year later (a score from 25 to 346).

The recipe standardizes each feature (`normalize: fit`); the model predicts the score itself, so its
MAE is in the score's own units. Run by edgebuild as `python models/train_diabetes.py --out PATH`;
data at $EDGEBUILD_DATA.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=100)
args = parser.parse_args()

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train, y_train = data["x_train"], data["y_train"]

model = tf.keras.Sequential([
    tf.keras.Input(x_train.shape[1:]),
    tf.keras.layers.Dense(16, activation="relu"),
    tf.keras.layers.Dense(1),
    tf.keras.layers.Rescaling(float(y_train.std()), offset=float(y_train.mean())),  # the score's own units
])
model.compile(tf.keras.optimizers.Adam(0.003), "mae")
history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
print(f"{args.epochs} epochs: training MAE {history.history['loss'][-1]:.2f}", flush=True)
model.save(args.out)
