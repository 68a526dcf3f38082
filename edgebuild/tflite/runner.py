"""One .tflite model in the LiteRT interpreter, taking and returning float arrays: the one runner the
evaluation, the kinds, the golden vectors and the bundles' checks share.

Quantized inputs and outputs are converted with the tensors' own scale and zero point (processing.py).
A model whose input has no batch dimension (a [samples] waveform: processing.has_batch) takes one sample per
invoke; its outputs are given a batch dimension, so that every caller sees [N, ...] either way.
"""
from __future__ import annotations

BATCH = 1024  # samples per invoke where the batch dimension can grow


class TFLiteRunner:
    """One .tflite model in the LiteRT interpreter, taking and returning float arrays."""

    def __init__(self, model_path, num_threads: int = 1, kernels: str = "AUTO"):
        """`model_path`: a .tflite file, or its bytes; `kernels`: LiteRT's OpResolverType (AUTO: XNNPACK where it
        applies; BUILTIN_WITHOUT_DEFAULT_DELEGATES: the built-in optimized kernels; BUILTIN_REF: the reference ones)."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = {"experimental_op_resolver_type": OpResolverType[kernels]} if kernels != "AUTO" else {}
        if isinstance(model_path, (bytes, bytearray)):  # a model held in memory (the keep_float search)
            self.interpreter = Interpreter(model_content=bytes(model_path), num_threads=num_threads, **resolver)
        else:
            self.interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads, **resolver)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.outputs = self.interpreter.get_output_details()
        from ..processing import has_batch

        self.batched = has_batch(self.input["shape"])
        self._batch = None
        self._model = model_path
        self._one_at_a_time: bool | None = None

    def quantize(self, x):
        from ..processing import quantize

        scale, zero_point = self.input["quantization"]
        return quantize(x, self.input["dtype"], scale, zero_point)

    def dequantize(self, y, output: dict | None = None):
        from ..processing import dequantize

        scale, zero_point = (output or self.output)["quantization"]
        return dequantize(y, scale, zero_point)

    @property
    def sample_shape(self) -> list[int]:
        """The input's shape for one sample: without its batch dimension."""
        return self.shape_of(self.input)

    def shape_of(self, details: dict | None = None) -> list[int]:
        """A tensor's shape for one sample (the first output's by default)."""
        from .tensors import sample_shape

        return [int(s) for s in sample_shape((details or self.output)["shape"], self.batched)]

    def feed(self, sample):
        """One prepared sample (float, without a batch dimension) as the model's input tensor takes it."""
        return self.quantize(sample[None] if self.batched else sample)

    def batch_of_one(self, y):
        """One invoke's output tensor as a batch of one: a model without a batch dimension gives [classes]."""
        from ..processing import batch_of_one

        return batch_of_one(y, self.batched)

    def invoke(self, model_input):
        """The raw output tensor (quantized where the model's is) for an input already in the model's dtype."""
        import numpy as np

        self.interpreter.set_tensor(self.input["index"], model_input)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self.output["index"]))

    def run_each(self, x) -> list:
        """Every output (in the model's order, dequantized) for a whole array, one sample per invoke: for
        models whose batch cannot grow (TFLite_Detection_PostProcess takes one picture)."""
        import numpy as np

        found = [[] for _ in self.outputs]
        for sample in x:
            self.interpreter.set_tensor(self.input["index"], self.feed(sample))
            self.interpreter.invoke()
            for k, output in enumerate(self.outputs):
                raw = self.batch_of_one(np.array(self.interpreter.get_tensor(output["index"])))
                found[k].append(self.dequantize(raw, output)[0])
        return [np.stack(values) for values in found]

    def one_at_a_time(self) -> bool:
        """Whether `run` takes one sample per invoke: a model without a batch dimension or whose batch is fixed
        (a streaming LSTM's), and a dynamic-range model, whose ops quantize their activations on the fly over what
        one invoke holds: batched, its scores moved by up to 0.16 and a keyword clip changed class, against one
        clip per invoke as the apps run it."""
        if self._one_at_a_time is None:
            from pathlib import Path

            from .tensors import has_hybrid_ops

            signature = self.input.get("shape_signature")
            fixed = signature is not None and len(signature) and signature[0] != -1
            maybe_hybrid = any(t["dtype"].__name__ in ("int8", "uint8") for t in self.interpreter.get_tensor_details())
            data = self._model if isinstance(self._model, (bytes, bytearray)) else None
            self._one_at_a_time = not self.batched or bool(fixed) or (maybe_hybrid and has_hybrid_ops(
                bytes(data) if data is not None else Path(self._model).read_bytes()))
        return self._one_at_a_time

    def run(self, x):
        """Outputs for a whole array, in batches (the batch dimension is resized as needed), or one sample per
        invoke where batching would change them (`one_at_a_time`)."""
        import numpy as np

        if self.one_at_a_time():
            return np.concatenate([self.dequantize(self.batch_of_one(self.invoke(self.feed(sample)))) for sample in x])
        outputs = []
        for start in range(0, len(x), BATCH):
            chunk = x[start:start + BATCH]
            if self._batch != len(chunk):
                self.interpreter.resize_tensor_input(self.input["index"], [len(chunk), *x.shape[1:]])
                self.interpreter.allocate_tensors()
                self.input = self.interpreter.get_input_details()[0]
                self.output = self.interpreter.get_output_details()[0]
                self._batch = len(chunk)
            outputs.append(self.dequantize(self.invoke(self.quantize(chunk))))
        return np.concatenate(outputs)
