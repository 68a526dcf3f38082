"""classification: one score per class (or one sigmoid unit for two); accuracy, confusion, top-k."""
from __future__ import annotations

import math

from ..errors import StepError
from ..processing import class_scores, top_classes  # noqa: F401
from .base import OutputMetadata, TaskKind, at_least, at_most

TOP_K = 3  # the labels the bundles' wrappers return by default, and the golden vectors hold


def predicted_classes(outputs):
    """Class indices from model outputs: argmax, or a 0.5 cut for a single sigmoid unit."""
    import numpy as np

    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0.5).astype(np.int64)
    return outputs.argmax(axis=1)


def confusion_counts(y_true, y_pred, n_classes: int):
    """The [true, predicted] counts of class indices 0..n_classes-1 (samples, or a mask's pixels)."""
    import numpy as np

    pairs = np.asarray(y_true, np.int64) * n_classes + np.asarray(y_pred, np.int64)
    return np.bincount(pairs.reshape(-1), minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def class_indices(recipe, y, part: str):
    """Integer class indices 0..len(labels)-1 (also a segmentation mask's pixels, 255 aside): float values
    that are not whole numbers are a regression's targets, which the message says."""
    import numpy as np

    y = np.asarray(y)
    if y.dtype.kind == "f":
        bad = y[~np.isfinite(y) | (y != np.round(y))] if y.size else y
        if bad.size:
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y holds values that are not class indices "
                            f"(such as {float(bad.flat[0]):g}); a {recipe.spec.task.value} recipe expects integers "
                            f"0..{len(recipe.labels) - 1}; for values to predict, set task: regression")
    elif y.dtype.kind not in "iub":
        raise StepError(f"{recipe.where()}: dataset: the {part} data's y is {y.dtype}; expected class indices")
    return y.astype(np.int64)


class Classification(TaskKind):
    name = "classification"
    rules = {"min_accuracy": at_least("accuracy", "min_accuracy"),
             "max_accuracy_drop": at_most("accuracy_drop", "max_accuracy_drop")}
    search_limits = ("min_accuracy", "max_accuracy_drop")
    primary = "accuracy"
    primary_label = "accuracy"  # as reports name it
    shown = ("accuracy", "accuracy_drop")
    columns = (("accuracy", "accuracy", "%.4f"), ("accuracy_drop", "drop", "%+.4f"))
    verb = "classify"  # what the bundles' wrappers call it
    wrapper = "Classifier"
    report_arrays = ("predicted_classes",)  # each test sample's class: the report names it beside a clip's picture

    def prepare_y(self, recipe, y, part):
        import numpy as np

        stored_as_float = np.asarray(y).dtype.kind == "f"  # whole numbers stored as floats: maybe values to predict
        y = class_indices(recipe, y, part)
        n_classes = len(recipe.labels)
        if y.ndim != 1:
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y has shape {tuple(y.shape)}; a "
                            f"classification recipe expects one class index per sample")
        if len(y) and (y.min() < 0 or y.max() >= n_classes):
            hint = "; if y holds values to predict, set task: regression" if stored_as_float else ""
            raise StepError(f"{recipe.where()}: labels: the {part} data has class {int(y.max())} but the recipe "
                            f"names {n_classes} labels{hint}")
        return y

    def check_output(self, recipe, output_shape, y_test):
        width, n_labels = output_shape[-1] if output_shape else 1, len(recipe.labels)
        if any(d != 1 for d in output_shape[:-1]):
            return (f"labels: a classification model gives one score per class; its output has shape "
                    f"{tuple(output_shape)} per sample (for a score per pixel, set task: segmentation)")
        if width != n_labels and not (width == 1 and n_labels == 2):
            return f"labels: {n_labels} labels but the model's output has {width} units; expected one label per output"
        return None

    def measure(self, recipe, outputs, y):
        y_pred = predicted_classes(outputs)
        return {"accuracy": float((y_pred == y).mean()),
                "confusion": confusion_counts(y, y_pred, len(recipe.labels)).tolist(),
                "predicted_classes": y_pred.astype("int32")}

    def compare(self, metrics, reference):
        return {"accuracy_drop": reference["accuracy"] - metrics["accuracy"]}

    def near_chance(self, reference, labels):
        """Accuracy within the 95% interval (normal approximation) of always answering the test split's most
        frequent class."""
        rows = [sum(row) for row in reference["confusion"]]
        n = sum(rows)
        if not n:
            return None
        share = max(rows) / n
        upper = share + 1.96 * math.sqrt(share * (1 - share) / n)
        if reference["accuracy"] > upper:
            return None
        return (f"the unconverted model itself is near chance: accuracy {reference['accuracy']:.4f}, while always "
                f"answering {labels[rows.index(max(rows))]!r} scores {share:.4f} (95% interval up to {min(upper, 1):.4f} "
                f"on {n} test samples); train the model before tuning its quantization")

    def output_metadata(self, recipe, tensor, labels_file):
        labels = list(recipe.labels)
        return OutputMetadata(tensor.name, f"Scores of the {len(labels)} classes, in the order of {labels_file}, "
                                           f"{tensor.dtype}", labels, f"{len(labels)} classes")

    def report_context(self, summary, focus, data):
        confusion = focus["metrics"]["confusion"]
        per_class = [(label, row[i], sum(row), row[i] / sum(row) if sum(row) else None)
                     for i, (label, row) in enumerate(zip(summary["labels"], confusion))]
        return {"confusion": confusion, "per_class": per_class}, {}

    def golden(self, recipe, output):
        from .base import json_float

        scores = class_scores(output, len(recipe.labels))
        order = top_classes(scores, TOP_K)  # NaN last, ties: the earlier label first (as the Linux package ranks)
        return {"scores": [json_float(s) for s in scores],
                "top": [{"label": recipe.labels[i], "score": json_float(scores[i])} for i in order]}

    def golden_tolerance(self, outputs, measured, samples):
        return {"score": outputs[0]["value"]}

    def stable_decision(self, recipe, per_kernel, tolerance, sample):
        """The same winner under every kernel set, ahead of its runner-up by more than the score tolerance."""
        import numpy as np

        winners = set()
        for outputs in per_kernel:
            scores = class_scores(outputs[0][0], len(recipe.labels))
            order = np.argsort(-scores, kind="stable")
            gap = scores[order[0]] - scores[order[1]]
            if not gap > tolerance["score"]:  # (a NaN gap is no decision)
                return False
            winners.add(int(order[0]))
        return len(winners) == 1

    def line(self, metrics):
        drop = f" (drop {metrics['accuracy_drop']:+.4f})" if "accuracy_drop" in metrics else ""
        return f"accuracy {metrics['accuracy']:.4f}{drop}"


KIND = Classification()
