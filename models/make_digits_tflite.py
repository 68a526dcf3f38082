"""Make models/digits_cnn_float.tflite, the float .tflite source of recipes/digits_tflite.yaml.

No published float .tflite classifies data that is available offline, so the example's "published
model" is the checked-in digits-cnn Keras model converted to float32 with TFLiteConverter, as a
model downloaded from a model zoo would arrive. Run from the repository root:
    python models/make_digits_tflite.py
"""
from pathlib import Path

import keras
import tensorflow as tf

ROOT = Path(__file__).resolve().parent.parent
model = keras.models.load_model(ROOT / "models" / "digits_cnn.keras", compile=False)
flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
(ROOT / "models" / "digits_cnn_float.tflite").write_bytes(flatbuffer)
print(len(flatbuffer), "bytes")
