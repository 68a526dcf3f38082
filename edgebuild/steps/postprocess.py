"""A detector's TFLite_Detection_PostProcess op, appended when the source is traced for conversion.

TensorFlow 2.21's converter emits the op from a tf.function whose `experimental_implements` names it
and carries its attributes (the pattern of TF Object Detection API's export_tflite_graph_lib_tf2.py);
the function's body is a placeholder the converter replaces. The Keras model is exported with that
function after it, as every Keras source is (export.py); freezing the graph first inlines the function
and erases the op.
"""
from __future__ import annotations

from pathlib import Path

from .. import progress
from ..errors import StepError
from .export import write_export
from ..recipe import Recipe


TRACE = "static output shapes"  # how the op is traced: in the source and conversion steps' config, so a change
# here retraces and reconverts (the conversions read the export through model.keras, whose bytes do not change)


def implements(options: dict, num_classes: int) -> str:
    """The op's attributes, as the converter reads them from `experimental_implements`."""
    y, x, h, w = options["scales"]
    attributes = [("max_detections", "i", options["max_detections"]),
                  ("max_classes_per_detection", "i", options["max_classes_per_detection"]),
                  ("use_regular_nms", "b", "false"),
                  ("nms_score_threshold", "f", repr(float(options["score_threshold"]))),
                  ("nms_iou_threshold", "f", repr(float(options["iou_threshold"]))),
                  ("y_scale", "f", repr(float(y))), ("x_scale", "f", repr(float(x))),
                  ("h_scale", "f", repr(float(h))), ("w_scale", "f", repr(float(w))),
                  ("num_classes", "i", num_classes)]
    return " ".join(['name: "TFLite_Detection_PostProcess"',
                     *(f'attr {{ key: "{key}" value {{ {kind}: {value} }} }}' for key, kind, value in attributes)])


def load_anchors(recipe: Recipe, count: int):
    """The recipe's anchors, checked against the model's box count; a StepError names what is wrong."""
    import numpy as np

    spec = recipe.spec.detection
    if spec is None or spec.anchors is None:
        raise StepError(f"{recipe.where()}: detection.anchors: required: the model gives raw box encodings for "
                        f"{count} anchors; expected a .npy file of [{count}, 4] anchors (y, x, height, width in 0..1)")
    try:
        anchors = np.load(recipe.path(spec.anchors), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StepError(f"{recipe.where()}: detection.anchors: cannot read {spec.anchors}: {exc}") from exc
    if anchors.shape != (count, 4) or not np.isfinite(anchors).all():
        raise StepError(f"{recipe.where()}: detection.anchors: {spec.anchors} holds {anchors.dtype} "
                        f"{tuple(anchors.shape)}; expected [{count}, 4] finite anchors, one per box encoding")
    return anchors.astype(np.float32)


def export_with_postprocess(recipe: Recipe, model, folder: Path, log: Path) -> None:
    """Export the Keras `model` (box encodings, class scores) with the op after it, as a SavedModel at `folder`."""
    from ..kinds.detection import op_options

    tf = progress.tensorflow(log)
    encodings_shape, scores_shape = (list(o.shape) for o in model.outputs)
    anchors = tf.constant(load_anchors(recipe, encodings_shape[1]))
    n_labels = len(recipe.labels)
    background = scores_shape[-1] == n_labels + 1

    options = op_options(recipe)
    slots = options["max_detections"] * options["max_classes_per_detection"]  # (the op's fast NMS fills this many)

    @tf.function(experimental_implements=implements(options, n_labels))
    def detection_postprocess(box_encodings, class_predictions, anchor_boxes):
        # A placeholder the converter puts the op in place of. Its outputs' shapes become the op's outputs' static
        # shapes in the model: LiteRT resizes them anyway, but TensorFlow Lite Micro sizes tensors from the
        # flatbuffer, and with scalar shapes its kernel would write past them.
        return (tf.zeros([1, slots, 4], tf.float32), tf.zeros([1, slots], tf.float32),
                tf.zeros([1, slots], tf.float32), tf.zeros([1], tf.float32))

    def serve(image):
        encodings, scores = model(image, training=False)
        if not background:  # the op skips a background column first
            scores = tf.concat([tf.zeros_like(scores[..., :1]), scores], axis=-1)
        return detection_postprocess(encodings, scores, anchors)

    spec = model.inputs[0]
    signature = [tf.TensorSpec([1, *spec.shape[1:]], dtype=spec.dtype, name=spec.name)]
    try:
        write_export(model, serve, signature, folder, log)
    except StepError:
        raise
    except Exception as exc:
        raise StepError(f"{recipe.where()}: model: cannot trace the detector with TFLite_Detection_PostProcess: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                        f"(full output: {recipe.shown(log)})") from exc
