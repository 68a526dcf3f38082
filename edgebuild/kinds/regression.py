"""regression: k float values per sample (y shaped [n] or [n, k]); MAE, RMSE, largest error."""
from __future__ import annotations

from ..errors import StepError
from .base import OutputMetadata, TaskKind, at_most

REPORT_POINTS, HISTOGRAM_BINS = 500, 12


def _columns(values):
    import numpy as np

    values = np.asarray(values, np.float64)
    return values.reshape(len(values), -1)


class Regression(TaskKind):
    name = "regression"
    labels_required = False
    rules = {"max_mae": at_most("mae", "max_mae", 4), "max_rmse": at_most("rmse", "max_rmse", 4),
             "max_mae_increase": at_most("mae_increase", "max_mae_increase", 4)}
    search_limits = ("max_mae", "max_mae_increase")
    primary = "mae"
    primary_label = "MAE"  # as reports name it
    higher_is_better = False
    shown = ("mae", "rmse", "max_abs_error", "mae_increase")
    columns = (("mae", "MAE", "%.4g"), ("mae_increase", "MAE increase", "%+.4g"), ("rmse", "RMSE", "%.4g"),
               ("max_abs_error", "largest error", "%.4g"))
    verb = "predict"  # what the bundles' wrappers call it
    wrapper = "Regressor"
    report_files = ("predicted.svg", "residuals.svg")

    def report_context(self, summary, focus, data):
        from .. import charts

        metrics, name = focus["metrics"], focus["name"]
        output = (summary["labels"] or ["value"])[0]
        histogram = metrics["residual_histogram"]
        edges = histogram["edges"]
        rows = [(f"{edges[i]:.3g} to {edges[i + 1]:.3g}", count, str(count), None)
                for i, count in enumerate(histogram["counts"])]
        files = {
            "predicted.svg": charts.xy(f"{name}: predicted against true {output}", metrics["predicted_vs_true"],
                                       f"true {output}", f"predicted {output}"),
            "residuals.svg": charts.bar_chart(f"{name}: residuals (predicted - true), samples per bin", rows),
        }
        return {}, {k: v.encode() for k, v in files.items()}

    def prepare_y(self, recipe, y, part):
        import numpy as np

        y = np.asarray(y)
        if y.dtype.kind not in "fiub" or y.ndim not in (1, 2):
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y is {y.dtype} of shape {tuple(y.shape)}; "
                            f"a regression recipe expects numbers shaped [n] or [n, k]")
        y = y.astype(np.float32)
        if not np.isfinite(y).all():
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y holds NaN or infinite values")
        width = 1 if y.ndim == 1 else y.shape[1]
        if recipe.labels and len(recipe.labels) != width:
            raise StepError(f"{recipe.where()}: labels: {len(recipe.labels)} names but the {part} data's y has "
                            f"{width} value{'s' if width > 1 else ''} per sample; expected one name per value")
        return y

    def check_output(self, recipe, output_shape, y_test):
        import math

        width = 1 if y_test.ndim == 1 else y_test.shape[1]
        size = math.prod(d for d in output_shape if d is not None) if output_shape else 1
        if size != width or any(d is None for d in output_shape):
            return (f"model: its output has shape {tuple(output_shape)} per sample, the data's y has {width} "
                    f"value{'s' if width > 1 else ''}; expected one output per value")
        return None

    def measure(self, recipe, outputs, y):
        import numpy as np

        truth, predicted = _columns(y), _columns(outputs)
        error = predicted - truth
        absolute = np.abs(error)
        metrics = {"mae": float(absolute.mean()), "rmse": float(np.sqrt((error ** 2).mean())),
                   "max_abs_error": float(absolute.max())}
        if error.shape[1] > 1:
            names = self.output_names(recipe, error.shape[1])
            metrics["mae_per_output"] = {name: float(v) for name, v in zip(names, absolute.mean(axis=0))}
        # for the report: the first output's predictions against the truth, and a histogram of its residuals
        counts, edges = np.histogram(error[:, 0], bins=HISTOGRAM_BINS)
        metrics["predicted_vs_true"] = [[float(t), float(p)] for t, p in zip(truth[:REPORT_POINTS, 0],
                                                                          predicted[:REPORT_POINTS, 0])]
        metrics["residual_histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        return metrics

    def compare(self, metrics, reference):
        return {"mae_increase": metrics["mae"] - reference["mae"]}

    def line(self, metrics):
        increase = f" (increase {metrics['mae_increase']:+.4g})" if "mae_increase" in metrics else ""
        return f"MAE {metrics['mae']:.4g}{increase}, RMSE {metrics['rmse']:.4g}"

    def output_metadata(self, recipe, tensor, labels_file):
        import math

        width = math.prod(tensor.shape[1:])
        names = self.output_names(recipe, width)
        if width == 1:  # one value: the output's name is its name, no labels file
            return OutputMetadata(names[0], f"The predicted {names[0]}, {tensor.dtype}", [], f"predicts {names[0]}")
        return OutputMetadata("values", f"The {width} predicted values, named in the order of {labels_file}, "
                                        f"{tensor.dtype}", names, f"predicts {', '.join(names)}")

    def golden_tolerance(self, outputs, measured, samples):
        return {"value": outputs[0]["value"]}

    def golden(self, recipe, output):
        from .base import json_float

        values = output.reshape(-1)
        return {"values": [{"name": name, "value": json_float(v)}
                           for name, v in zip(self.output_names(recipe, values.size), values)]}

    def output_names(self, recipe, width):
        if recipe.labels:
            return list(recipe.labels)
        return ["value"] if width == 1 else [f"value_{i}" for i in range(width)]


KIND = Regression()
