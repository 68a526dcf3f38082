"""regression: k float values per sample (y shaped [n] or [n, k]); MAE, RMSE, largest error."""
from __future__ import annotations

from ..errors import StepError
from . import TaskKind, at_most


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
    higher_is_better = False
    shown = ("mae", "rmse", "max_abs_error", "mae_increase")
    columns = (("mae", "MAE", "%.4g"), ("mae_increase", "MAE increase", "%+.4g"), ("rmse", "RMSE", "%.4g"),
               ("max_abs_error", "largest error", "%.4g"))
    wrapper = "Regressor"

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

        error = _columns(outputs) - _columns(y)
        absolute = np.abs(error)
        metrics = {"mae": float(absolute.mean()), "rmse": float(np.sqrt((error ** 2).mean())),
                   "max_abs_error": float(absolute.max())}
        if error.shape[1] > 1:
            names = self.output_names(recipe, error.shape[1])
            metrics["mae_per_output"] = {name: float(v) for name, v in zip(names, absolute.mean(axis=0))}
        return metrics

    def compare(self, metrics, reference):
        return {"mae_increase": metrics["mae"] - reference["mae"]}

    def line(self, metrics):
        increase = f" (increase {metrics['mae_increase']:+.4g})" if "mae_increase" in metrics else ""
        return f"MAE {metrics['mae']:.4g}{increase}, RMSE {metrics['rmse']:.4g}"

    def output_names(self, recipe, width):
        if recipe.labels:
            return list(recipe.labels)
        return ["value"] if width == 1 else [f"value_{i}" for i in range(width)]


KIND = Regression()
