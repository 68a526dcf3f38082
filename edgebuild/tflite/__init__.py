"""Reading and writing .tflite files: any model's operators, tensors and weights (inspection.py), and the
standard TFLite metadata (metadata/)."""
