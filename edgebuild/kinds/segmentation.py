"""segmentation: a score per class for every pixel; masks hold a class index per pixel (255: ignore).

Metrics are computed at the model's output resolution, against the masks resized (nearest) to it:
one confusion matrix over every test pixel that is not ignored; a class's IoU is TP / (TP + FP + FN),
and `miou` the mean over the classes whose denominator is not 0.
"""
from __future__ import annotations

from ..errors import StepError
from ..processing import predicted_mask  # noqa: F401
from .base import OutputMetadata, TaskKind, at_least, at_most
from .classification import class_indices, confusion_counts

IGNORE = 255
REPORT_PICTURES = 4  # the first test pictures whose masks the report shows


def resize_nearest(masks, size: tuple[int, int]):
    """Nearest-neighbour resize of (N, H, W) masks: each output pixel takes the input pixel under its
    centre (as tf.image.resize with method="nearest" and PIL's NEAREST)."""
    import numpy as np

    height, width = masks.shape[1:3]
    rows = np.minimum(((np.arange(size[0]) + 0.5) * (height / size[0])).astype(int), height - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * (width / size[1])).astype(int), width - 1)
    return masks[:, rows][:, :, cols]


def mask_confusion(masks, predicted, n_classes: int):
    """The [true, predicted] pixel counts over every pixel whose mask is not IGNORE."""
    if masks.shape[1:3] != predicted.shape[1:3]:
        masks = resize_nearest(masks, predicted.shape[1:3])
    valid = masks != IGNORE
    return confusion_counts(masks[valid], predicted[valid], n_classes)


def iou_from_confusion(confusion):
    """(IoU per class, None where TP + FP + FN is 0; their mean; pixel accuracy)."""
    import numpy as np

    confusion = np.asarray(confusion, np.float64)
    tp = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    ious = [float(t / d) if d > 0 else None for t, d in zip(tp, denominator)]
    present = [v for v in ious if v is not None]
    total = confusion.sum()
    return ious, (float(np.mean(present)) if present else 0.0), (float(tp.sum() / total) if total else 0.0)


class Segmentation(TaskKind):
    name = "segmentation"
    rules = {"min_miou": at_least("miou", "min_miou"), "max_miou_drop": at_most("miou_drop", "max_miou_drop"),
             "min_pixel_accuracy": at_least("pixel_accuracy", "min_pixel_accuracy")}
    search_limits = ("min_miou", "max_miou_drop")
    primary = "miou"
    primary_label = "mIoU"  # as reports name it
    shown = ("miou", "miou_drop", "pixel_accuracy")
    columns = (("miou", "mIoU", "%.4f"), ("miou_drop", "drop", "%+.4f"), ("pixel_accuracy", "pixel accuracy", "%.4f"))
    verb = "segment"  # what the bundles' wrappers call it
    wrapper = "Segmenter"
    report_files = ("masks.png",)
    report_reads_data = True
    report_arrays = ("sample_masks",)  # (DeepLabV3's four 257x257 masks made metrics.json 3 MB)

    def report_context(self, summary, focus, data):
        import base64

        from .. import charts

        count = min(REPORT_PICTURES, len(data.golden_raw))
        targets = summary["targets"]
        rows = [[data.y_test[i], *(t["metrics"]["sample_masks"][i] for t in targets)] for i in range(count)]
        png = charts.mask_grid_png(data.golden_raw[:count], rows)
        columns = ["picture", "true mask", *(t["name"] for t in targets)]
        iou_rows = [(label, [t["metrics"]["iou_per_class"].get(label) for t in targets]) for label in summary["labels"]]
        return {"mask_columns": columns, "masks_png": base64.b64encode(png).decode(), "iou_rows": iou_rows,
                "colours": [(label, "#%02x%02x%02x" % charts.MASK_COLOURS[i % len(charts.MASK_COLOURS)])
                            for i, label in enumerate(summary["labels"])]}, {"masks.png": png}

    def prepare_y(self, recipe, y, part):
        import numpy as np

        y = class_indices(recipe, y, part)
        if y.ndim == 4 and y.shape[-1] == 1:
            y = y[..., 0]
        if y.ndim != 3:
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y has shape {tuple(y.shape)}; a "
                            f"segmentation recipe expects masks shaped [n, height, width]")
        bad = y[(y != IGNORE) & ((y < 0) | (y >= len(recipe.labels)))]
        if bad.size:
            raise StepError(f"{recipe.where()}: labels: the {part} masks hold class {int(bad.max())} but the recipe "
                            f"names {len(recipe.labels)} labels (255 means 'ignore')")
        return y.astype(np.uint8)

    def check_output(self, recipe, output_shape, y_test):
        n_labels = len(recipe.labels)
        channels = output_shape[-1] if len(output_shape) == 3 else None
        if len(output_shape) == 2 and n_labels == 2:
            return None
        if len(output_shape) != 3 or not (channels == n_labels or (channels == 1 and n_labels == 2)):
            return (f"labels: a segmentation model gives [height, width, classes] per picture, one channel per label "
                    f"({n_labels}); its output has shape {tuple(output_shape)}")
        return None

    def measure(self, recipe, outputs, y):
        predicted = predicted_mask(outputs)
        confusion = mask_confusion(y, predicted, len(recipe.labels))
        ious, miou, pixel_accuracy = iou_from_confusion(confusion)
        return {"miou": miou, "pixel_accuracy": pixel_accuracy,
                "iou_per_class": dict(zip(recipe.labels, ious)), "confusion": confusion.tolist(),
                "sample_masks": predicted[:REPORT_PICTURES].astype(int).tolist()}

    def compare(self, metrics, reference):
        return {"miou_drop": reference["miou"] - metrics["miou"]}

    def output_metadata(self, recipe, tensor, labels_file):
        labels = list(recipe.labels)
        shape = "x".join(str(d) for d in tensor.shape[1:3])
        return OutputMetadata(tensor.name, f"Scores of the {len(labels)} classes for each pixel of a {shape} mask, "
                                           f"in the order of {labels_file}, {tensor.dtype}", labels,
                              f"segments {len(labels)} classes")

    def bundle_values(self, output_tensor):
        shape = output_tensor["shape"]
        return {"mask": {"height": shape[0], "width": shape[1], "channels": shape[2] if len(shape) == 3 else 1}}

    def golden_tolerance(self, outputs, measured, samples):
        """Pixels whose class may differ: MARGIN x the most on which two kernel sets disagreed, plus one."""
        import math

        from .base import MARGIN

        differing = max((_differing(per_kernel) for per_kernel in measured), default=0)
        pixels = int(math.ceil(MARGIN * differing)) + 1
        size = predicted_mask(measured[0][0][0])[0].size if measured else 1
        return {"mask_pixels": pixels, "mask_share": pixels / size, "measured": {"mask_pixels": differing},
                "how": f"{MARGIN:g} x the most pixels on which two kernel sets' masks disagreed on the first "
                       f"{len(measured)} test samples, plus one"}

    def stable_decision(self, recipe, per_kernel, tolerance, sample):
        """The kernel sets' masks disagree on few enough pixels that MARGIN x that stays within the tolerance:
        every test sample measured does; an edge vector (NaN, infinities) may not."""
        from .base import MARGIN

        return MARGIN * _differing(per_kernel) < tolerance["mask_pixels"]

    def golden(self, recipe, output):
        mask = predicted_mask(output[None])[0]
        return {"mask_shape": list(mask.shape), "mask": [int(v) for v in mask.reshape(-1)]}

    def line(self, metrics):
        drop = f" (drop {metrics['miou_drop']:+.4f})" if "miou_drop" in metrics else ""
        return f"mIoU {metrics['miou']:.4f}{drop}, pixel accuracy {metrics['pixel_accuracy']:.4f}"


def _differing(per_kernel) -> int:
    """The most pixels on which any two kernel sets' masks disagree, for one input."""
    masks = [predicted_mask(outputs[0])[0] for outputs in per_kernel]
    return max((int((a != b).sum()) for i, a in enumerate(masks) for b in masks[i + 1:]), default=0)


KIND = Segmentation()
