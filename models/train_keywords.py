"""Train the keywords examples' classifiers: 1 s of 16 kHz waveform -> features -> small CNN.

Run by edgebuild as `python models/train_keywords.py --out PATH [--front-end mel|conv] [--epochs N]`; the
prepared clips (mono float32 waveforms in -1..1, [clips, 16000]) are at $EDGEBUILD_DATA. Everything is seeded.
- `mel` (keywords.yaml): Keras' MelSpectrogram layer, which converts to TFLite builtins (RFFT2D and the ops
  around it), so the shipped model takes the waveform as MediaPipe's AudioClassifier feeds it.
- `conv` (keywords_micro.yaml): a learned filter bank, a strided 1-D convolution over the raw waveform, so that
  every op is one TensorFlow Lite Micro has (it has no RFFT2D). With no spectrogram to lean on, it trains on
  each clip and seven copies shifted in time by up to 1/8 s and louder or softer by up to 2x.
"""
import argparse
import os

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--front-end", choices=["mel", "conv"], default="mel")
parser.add_argument("--epochs", type=int, default=None, help="default: 40 (mel), 20 (conv)")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

tf.keras.utils.set_random_seed(args.seed)
tf.config.experimental.enable_op_determinism()
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train, y_train = data["x_train"], data["y_train"]
classes = int(y_train.max()) + 1

epochs = args.epochs or {"mel": 40, "conv": 20}[args.front_end]
waveform = tf.keras.Input(x_train.shape[1:], name="waveform")
if args.front_end == "mel":
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
else:
    rng = np.random.default_rng(args.seed)
    copies_x, copies_y = [x_train], [y_train]
    for _ in range(7):
        shifts = rng.integers(-2000, 2000, len(x_train))
        gains = rng.uniform(0.5, 2.0, len(x_train)).astype(np.float32)
        copies_x.append(np.clip(np.stack([np.roll(c, s) for c, s in zip(x_train, shifts)]) * gains[:, None], -1, 1))
        copies_y.append(y_train)
    x_train, y_train = np.concatenate(copies_x), np.concatenate(copies_y)
    x = tf.keras.layers.Reshape((x_train.shape[1], 1))(waveform)
    x = tf.keras.layers.Conv1D(24, 64, strides=16, activation="relu", name="filter_bank")(x)  # 4 ms windows, 1 ms hop
    x = tf.keras.layers.MaxPooling1D(4)(x)
    x = tf.keras.layers.Conv1D(32, 5, strides=2, activation="relu", padding="same")(x)
    x = tf.keras.layers.MaxPooling1D(2)(x)
    x = tf.keras.layers.Conv1D(32, 5, activation="relu", padding="same")(x)
    x = tf.keras.layers.MaxPooling1D(2)(x)
    x = tf.keras.layers.Conv1D(32, 3, activation="relu", padding="same")(x)
    x = tf.keras.layers.GlobalMaxPooling1D()(x)
    x = tf.keras.layers.Dropout(0.3)(x)
scores = tf.keras.layers.Dense(classes, activation="softmax", name="scores")(x)
model = tf.keras.Model(waveform, scores, name="keywords")
model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])


class EpochLine(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}",
                  flush=True)


model.fit(x_train, y_train, epochs=epochs, batch_size=16 if args.front_end == "mel" else 32, verbose=0,
          callbacks=[EpochLine()])
model.save(args.out)
