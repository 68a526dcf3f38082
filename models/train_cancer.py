"""Train a small tabular classifier on scikit-learn's breast-cancer data (30 features, 2 classes).

The recipe standardizes each feature (`normalize: fit`) before the model sees it: a
Normalization layer inside the model (--normalization-layer, recipes/cancer_mixed.yaml) leaves
int8's single input scale to cover features from 0.05 to 2500, and int8 accuracy collapses
unless those ops stay in float (keep_float). Run by edgebuild as
`python models/train_cancer.py --out PATH`; data at $EDGEBUILD_DATA.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--normalization-layer", action="store_true",
                    help="standardize inside the model (a Keras Normalization layer adapted to the training split), "
                         "for a recipe without normalize: fit")
args = parser.parse_args()

tf.keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train, y_train = data["x_train"], data["y_train"]

inside = []
if args.normalization_layer:
    normalization = tf.keras.layers.Normalization()
    normalization.adapt(x_train)
    inside = [normalization]
model = tf.keras.Sequential([
    tf.keras.Input(x_train.shape[1:]),
    *inside,
    tf.keras.layers.Dense(16, activation="relu"),
    tf.keras.layers.Dense(2, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
print(f"{args.epochs} epochs: training accuracy {history.history['accuracy'][-1]:.4f}", flush=True)
model.save(args.out)
