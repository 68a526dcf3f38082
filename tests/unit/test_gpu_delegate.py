"""Delegate readiness on real converted models: the GPU delegate's rules as data (advisory), XNNPACK's share
counted in LiteRT's interpreter, and the max_gpu_fallback_ops gate."""
import numpy as np
import pytest
import tensorflow as tf

from edgebuild.steps.evaluate import xnnpack_nodes
from edgebuild.tflite.runner import TFLiteRunner
from edgebuild.steps.gate import judge
from edgebuild.tflite import gpu_delegate, gpu_rules
from edgebuild.tflite.inspection import inspect_model


@tf.function
def sliced(x):
    """A STRIDED_SLICE that drops an axis (shrink_axis_mask): the GPU delegate refuses it, between two runs."""
    y = tf.nn.relu(x * 2.0)
    return tf.nn.tanh(y[:, 0] + 1.0)


@tf.function
def five_dimensional(x):
    return tf.reshape(x * 2.0, [1, 2, 2, 2, 8]) + 1.0


@tf.function
def cumulative(x):
    return tf.math.cumsum(x * 2.0, axis=1) + 1.0


KERNEL = np.random.default_rng(0).normal(size=(3, 3, 3, 4)).astype(np.float32)


@tf.function
def convolution(x):
    kernel = tf.constant(KERNEL)
    return tf.nn.softmax(tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME")), axis=[1, 2]))


def convert(function, shape, tmp_path, name: str):
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function(tf.TensorSpec(shape))], function)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(converter.convert())
    return path


def test_an_op_the_rules_refuse_and_the_runs_around_it(tmp_path):
    model = convert(sliced, [1, 8, 8, 3], tmp_path, "sliced")
    found = gpu_delegate.readiness(model.read_bytes())
    ops = [op.op for op in inspect_model(model).ops]
    assert [(r["op"], "shrinkAxisMask" in r["why"]) for r in found["refused"]] == [("STRIDED_SLICE", True)]
    cut = ops.index("STRIDED_SLICE")
    before, after = list(range(cut)), list(range(cut + 1, len(ops)))
    taken = max(before, after, key=len)  # the delegate takes the largest run; the rest stays on the CPU
    assert found["partitions"] == 2 and found["gpu_ops"] == len(taken)
    assert [f["index"] for f in found["fallback"]] == [i for i in range(len(ops)) if i not in taken]
    assert found["fallback_ops"] == len(ops) - len(taken) > 1
    verdict = judge("recipes/x.yaml: x/fp32", {"max_gpu_fallback_ops": 0}, {"gpu_fallback_ops": found["fallback_ops"]})
    assert verdict.failures == [f"recipes/x.yaml: x/fp32: gpu_fallback_ops {found['fallback_ops']} > max_gpu_fallback_ops "
                                "0 (advisory: LiteRT's GPU delegate rules read from the model; `edgebuild inspect` "
                                "names the ops)"]
    assert judge("w", {"max_gpu_fallback_ops": found["fallback_ops"]}, {"gpu_fallback_ops": found["fallback_ops"]}).passed
    text = inspect_model(model).text()
    assert "GPU delegate (advisory" in text and f"STRIDED_SLICE #{cut} (shrinkAxisMask" in text


def test_a_tensor_of_rank_five_is_refused_where_it_is_made_and_read(tmp_path):
    found = gpu_delegate.readiness(convert(five_dimensional, [1, 64], tmp_path, "five").read_bytes())
    assert [r["op"] for r in found["refused"]] == ["RESHAPE", "ADD"]
    assert all("rank 5" in r["why"] for r in found["refused"])


def test_a_float_convolution_and_its_float16_and_int8_versions_run_whole_on_the_gpu(tmp_path):
    def converted(mode: str) -> bytes:
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [convolution.get_concrete_function(tf.TensorSpec([1, 8, 8, 3]))], convolution)
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            converter.representative_dataset = lambda: ([tf.random.stateless_uniform([1, 8, 8, 3], [i, 0])]
                                                        for i in range(8))
        return converter.convert()

    for mode in ("float32", "float16", "int8"):
        model = converted(mode)
        found = gpu_delegate.readiness(model)
        assert found["refused"] == [] and found["fallback_ops"] == 0 and found["gpu_ops"] == found["ops"], mode
    ops = {op.op for op in inspect_model_bytes(converted("float16"), tmp_path).ops}
    assert "DEQUANTIZE" in ops  # (its float16 weights reach CONV_2D through DEQUANTIZE, which the delegate folds)


def inspect_model_bytes(model: bytes, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    return inspect_model(path)


def test_xnnpack_takes_what_it_has_kernels_for(tmp_path):
    whole = TFLiteRunner(convert(convolution, [1, 8, 8, 3], tmp_path, "conv")).interpreter
    taken, ops = xnnpack_nodes(whole)
    assert taken == ops > 0
    runner = TFLiteRunner(convert(cumulative, [1, 16], tmp_path, "cumsum"))
    names = [op["op_name"] for op in runner.interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    assert "CUMSUM" in names and xnnpack_nodes(runner.interpreter) == (len(names) - 1, len(names))  # no CUMSUM kernel


def test_every_rule_names_a_check_the_reader_has():
    """A misspelt rule would pass every op: the reader refuses to read one, and every rule here is readable."""
    assert {rule[0] for rules in gpu_rules.RULES.values() for rule in rules} <= gpu_delegate.CHECKS
    with pytest.raises(ValueError, match="no such check"):
        gpu_delegate._broken(("spelt_wrong",), [], [], {}, None)
