"""Train the keywords example's classifier: 1 s of 16 kHz waveform -> log-mel spectrogram -> small CNN.

Run by edgebuild as `python models/train_keywords.py --out PATH [--epochs N]`; the prepared clips (mono
float32 waveforms in -1..1, [clips, 16000]) are at $EDGEBUILD_DATA. The model computes its own features
with Keras' MelSpectrogram layer, which converts to TFLite builtins (RFFT2D and the ops around it), so the
shipped model takes the waveform as MediaPipe's AudioClassifier feeds it. Everything is seeded.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

tf.keras.utils.set_random_seed(args.seed)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train, y_train = data["x_train"], data["y_train"]
classes = int(y_train.max()) + 1

waveform = tf.keras.Input(x_train.shape[1:], name="waveform")
mel = tf.keras.layers.MelSpectrogram(fft_length=512, sequence_stride=320, sampling_rate=16000, num_mel_bins=32,
                                     min_freq=60.0, max_freq=7600.0, power_to_db=True, top_db=80.0,
                                     name="log_mel")(waveform)  # [batch, mel bins, frames]
x = tf.keras.layers.Reshape((*mel.shape[1:], 1))(mel)
x = tf.keras.layers.Rescaling(1 / 40.0, offset=1.0)(x)  # decibels around -40..0 -> about 0..1
x = tf.keras.layers.Conv2D(32, 3, activation="relu", padding="same")(x)
x = tf.keras.layers.MaxPooling2D(2)(x)
x = tf.keras.layers.Conv2D(64, 3, activation="relu", padding="same")(x)
x = tf.keras.layers.MaxPooling2D(2)(x)
x = tf.keras.layers.Conv2D(64, 3, activation="relu", padding="same")(x)
x = tf.keras.layers.GlobalMaxPooling2D()(x)  # a word anywhere in its second
scores = tf.keras.layers.Dense(classes, activation="softmax", name="scores")(x)
model = tf.keras.Model(waveform, scores, name="keywords")
model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])


class EpochLine(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}/{args.epochs}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}",
                  flush=True)


model.fit(x_train, y_train, epochs=args.epochs, batch_size=16, verbose=0, callbacks=[EpochLine()])
model.save(args.out)
