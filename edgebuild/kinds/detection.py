"""detection: boxes, each with a class and a score, from an SSD-style head.

The model gives box encodings [N, 4] (ty, tx, th, tw against N anchors, the SSD box coder) and class
scores [N, C] or [N, C+1] (background first). The conversion appends TensorFlow Lite's built-in
TFLite_Detection_PostProcess op (steps/postprocess.py), so the shipped model gives the four outputs
every runtime reads: boxes (ymin, xmin, ymax, xmax in 0..1), classes, scores, count. The unconverted
model's outputs go through `postprocess`, a NumPy copy of that op, so the reference is measured the
same way.

Metrics are COCO's, from pycocotools (the reference evaluator): mAP@[.5:.95], AP at IoU 0.5, AP per
class and the precision-recall curve at IoU 0.5, with boxes in each picture's own pixels.

The data step's targets (y) hold each picture's size and boxes in one float array, [n, 1 + B, 6]:
row 0 is (width, height, box count, image id, 0, 0), rows 1.. are (class, x, y, width, height,
iscrowd) in pixels, padded with class -1 (`pack_boxes`, `unpack_boxes`).
"""
from __future__ import annotations

import contextlib
import io

from ..errors import StepError
from ..processing import is_placeholder, picture_detections, to_pixels  # noqa: F401
from .base import TaskKind, at_least, at_most, json_float

OP = "TFLite_Detection_PostProcess"
ROLES = ("boxes", "classes", "scores", "count")  # the op's outputs, in its own order
METADATA_NAMES = {"boxes": "location", "classes": "category", "scores": "score", "count": "number of detections"}
REPORT_PICTURES = 4  # the first test pictures the report draws boxes on
SHOWN_SCORE = 0.5  # the report draws, and the golden tests compare, detections scoring at least this
BOX_FLOOR = 0.001  # pixels added to the measured box tolerance: identical kernel sets still leave rounding room


# --- the targets: pictures' sizes and boxes ----------------------------------------------------------

def pack_boxes(pictures: list[tuple[int, int, int, list]]):
    """[(width, height, image id, [(class, x, y, w, h, iscrowd), ...]), ...] -> [n, 1 + B, 6] float32."""
    import numpy as np

    most = max((len(boxes) for *_, boxes in pictures), default=0)
    packed = np.zeros((len(pictures), 1 + most, 6), np.float32)
    packed[:, 1:, 0] = -1
    for i, (width, height, image_id, boxes) in enumerate(pictures):
        packed[i, 0, :4] = (width, height, len(boxes), image_id)
        if boxes:
            packed[i, 1:1 + len(boxes)] = np.asarray(boxes, np.float32)
    return packed


def unpack_boxes(y) -> list[tuple[float, float, object]]:
    """[(width, height, boxes [k, 6]: class, x, y, w, h, iscrowd), ...] from the packed targets."""
    return [(float(row[0, 0]), float(row[0, 1]), row[1:1 + int(row[0, 2])]) for row in y]


# --- the post-processing op, in NumPy ---------------------------------------------------------------

def decode(encodings, anchors, scales):
    """SSD box encodings [..., N, 4] (ty, tx, th, tw) against anchors [N, 4] (y, x, h, w) -> boxes
    (ymin, xmin, ymax, xmax), as TFLite_Detection_PostProcess decodes them."""
    import numpy as np

    encodings, anchors = np.asarray(encodings, np.float32), np.asarray(anchors, np.float32)
    y_scale, x_scale, h_scale, w_scale = (np.float32(s) for s in scales)
    y = encodings[..., 0] / y_scale * anchors[:, 2] + anchors[:, 0]
    x = encodings[..., 1] / x_scale * anchors[:, 3] + anchors[:, 1]
    half_h = np.float32(0.5) * np.exp(encodings[..., 2] / h_scale) * anchors[:, 2]
    half_w = np.float32(0.5) * np.exp(encodings[..., 3] / w_scale) * anchors[:, 3]
    return np.stack([y - half_h, x - half_w, y + half_h, x + half_w], axis=-1)


def _iou(box, boxes):
    import numpy as np

    def area(b):
        return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    top = np.maximum(box[0], boxes[:, 0])
    left = np.maximum(box[1], boxes[:, 1])
    bottom = np.minimum(box[2], boxes[:, 2])
    right = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    union = area(box) + area(boxes) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where((area(box) > 0) & (area(boxes) > 0) & (union > 0), inter / union, 0.0)
    return iou


def postprocess(encodings, scores, anchors, options: dict, background: bool) -> dict:
    """The op's fast (not "regular") non-maximum suppression over a batch: for each box its best class
    score; boxes at or above the score threshold, best first, each dropping the later ones it overlaps
    by more than the IoU threshold, up to max_detections; each reports its `max_classes_per_detection`
    best classes. Returns {"boxes": [n, D, 4], "classes": [n, D], "scores": [n, D], "count": [n]}."""
    import numpy as np

    boxes_all = decode(encodings, anchors, options["scales"])
    scores = np.asarray(scores, np.float32)
    if background:
        scores = scores[..., 1:]
    per_box = options["max_classes_per_detection"]
    slots = options["max_detections"] * per_box
    n = len(scores)
    out = {"boxes": np.zeros((n, slots, 4), np.float32), "classes": np.zeros((n, slots), np.float32),
           "scores": np.zeros((n, slots), np.float32), "count": np.zeros(n, np.float32)}
    for i in range(n):
        best = scores[i].max(axis=1)
        kept = np.flatnonzero(best >= np.float32(options["score_threshold"]))
        order = kept[np.argsort(-best[kept], kind="stable")]
        boxes = boxes_all[i]
        active = np.ones(len(order), bool)
        selected = []
        for j, anchor in enumerate(order):
            if len(selected) >= options["max_detections"]:
                break
            if not active[j]:
                continue
            selected.append(anchor)
            later = order[j + 1:]
            active[j + 1:] &= _iou(boxes[anchor], boxes[later]) <= options["iou_threshold"]
        slot = 0
        for anchor in selected:
            classes = np.argsort(-scores[i, anchor], kind="stable")[:per_box]
            for label in classes:
                out["boxes"][i, slot] = boxes[anchor]
                out["classes"][i, slot] = label
                out["scores"][i, slot] = scores[i, anchor, label]
                slot += 1
        out["count"][i] = slot
    return out


def op_options(recipe) -> dict:
    """The op's settings from the recipe's `detection:` block (its defaults when there is none)."""
    spec = recipe.detection
    return {"scales": list(spec.scales), "max_detections": spec.max_detections,
            "max_classes_per_detection": spec.max_classes_per_detection,
            "score_threshold": spec.score_threshold, "iou_threshold": spec.iou_threshold}


def output_roles(model: bytes) -> list[int] | None:
    """The positions, among the model's outputs, of the op's boxes, classes, scores and count (the
    converter stores them in another order); None when the model does not end in the op."""
    from ..tflite.tensors import parse_model

    _, _, graph, _, ops = parse_model(model)
    outputs = [int(i) for i in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
    op = next((op for op in ops if op.op == OP), None)
    if op is None or len(op.outputs) != 4 or sorted(op.outputs) != sorted(outputs):
        return None
    return [outputs.index(tensor) for tensor in op.outputs]


# --- COCO evaluation --------------------------------------------------------------------------------

def coco_evaluate(labels, y, detections: dict, max_detections: int) -> dict:
    """COCO's bbox metrics through pycocotools: mAP@[.5:.95], AP50, AP per class, the precision at
    each of COCO's 101 recall points at IoU 0.5 (the mean over classes)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    pictures = unpack_boxes(y)
    images, annotations, results = [], [], []
    for i, (width, height, boxes) in enumerate(pictures):
        images.append({"id": i, "width": width, "height": height})
        for label, x, top, w, h, crowd in boxes.tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(label),
                                "bbox": [x, top, w, h], "area": w * h, "iscrowd": int(crowd)})
        for label, score, *box in picture_detections(detections, i, width, height):
            results.append({"image_id": i, "category_id": label, "bbox": box, "score": score})
    categories = [{"id": k, "name": name} for k, name in enumerate(labels)]
    named = [not is_placeholder(name) for name in labels]  # (a label map's '???' lines name no class)
    empty = {"map": 0.0, "map50": 0.0, "ap_per_class": {n: None for n, k in zip(labels, named) if k},
             "pr_curve_50": []}
    if not annotations or not results:
        return empty
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools reports on stdout
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations, "categories": categories}
        truth.createIndex()
        found = truth.loadRes(results)
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.params.maxDets = [1, 10, max(100, max_detections)]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"]  # [IoU thresholds, recall points, classes, areas, max detections]
    per_class = []
    for k in range(len(labels)):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        per_class.append(float(values.mean()) if values.size else None)
    at_50 = precision[0, :, :, 0, -1]
    curve = [float(row[row > -1].mean()) if (row > -1).any() else 0.0 for row in at_50]
    return {"map": max(float(evaluation.stats[0]), 0.0), "map50": max(float(evaluation.stats[1]), 0.0),
            "ap_per_class": {n: ap for n, ap, k in zip(labels, per_class, named) if k}, "pr_curve_50": curve}


class Detection(TaskKind):
    name = "detection"
    rules = {"min_map": at_least("map", "min_map"), "min_map50": at_least("map50", "min_map50"),
             "max_map_drop": at_most("map_drop", "max_map_drop"),
             "max_map50_drop": at_most("map50_drop", "max_map50_drop")}
    search_limits = ("min_map", "max_map_drop")
    primary = "map"
    primary_label = "mAP"
    shown = ("map", "map_drop", "map50")
    columns = (("map", "mAP", "%.4f"), ("map_drop", "drop", "%+.4f"), ("map50", "AP50", "%.4f"))
    verb = "detect"
    wrapper = "Detector"
    report_files = ("detections.png", "pr_curve.svg", "map_latency.svg")
    report_reads_data = True
    shipped_outputs = 4  # boxes, classes, scores, count
    float_outputs = True  # the post-processing op stays float; MediaPipe refuses int8 outputs

    def report_context(self, summary, focus, data):
        import base64

        from .. import charts

        labels, targets = summary["labels"], summary["targets"]
        count = min(REPORT_PICTURES, len(data.golden_raw))
        height, width = data.golden_raw.shape[1:3]
        zoom = 4
        rows = []
        for i, (w, h, boxes) in enumerate(unpack_boxes(data.y_test[:count])):
            sx, sy = width / w * zoom, height / h * zoom  # the picture as the model saw it, zoomed

            def scaled(found, with_score):
                return [(label, score if with_score else None, x * sx, y * sy, bw * sx, bh * sy)
                        for label, score, x, y, bw, bh in found if not with_score or score >= SHOWN_SCORE]
            truth = [(int(b[0]), None, *b[1:5]) for b in boxes.tolist()]
            rows.append([scaled(truth, False), *(scaled(t["metrics"]["sample_detections"][i], True) for t in targets)])
        png = charts.boxes_grid_png(data.golden_raw[:count], rows, labels, zoom)
        metrics = focus["metrics"]
        recall = [k / (len(metrics["pr_curve_50"]) - 1) for k in range(len(metrics["pr_curve_50"]))]
        limits = focus["thresholds"]
        files = {
            "detections.png": png,
            "pr_curve.svg": charts.curve(f"{focus['name']}: precision against recall at IoU 0.5 (mean over classes)",
                                         list(zip(recall, metrics["pr_curve_50"])), "recall", "precision").encode(),
            "map_latency.svg": charts.scatter(
                "mAP against median latency", [(t["name"], t["metrics"]["latency_ms_median"], t["metrics"]["map"],
                                                t["verdict"]["passed"]) for t in targets],
                "median latency (ms)", "mAP", x_limit=limits.get("max_latency_ms"), y_limit=limits.get("min_map"),
                x_limit_label=f"max_latency_ms {limits['max_latency_ms']:g}" if "max_latency_ms" in limits else "",
                y_limit_label=f"min_map {limits['min_map']:g}" if "min_map" in limits else "").encode(),
        }
        ap_rows = [(label, [t["metrics"]["ap_per_class"].get(label) for t in targets]) for label in labels
                   if not is_placeholder(label)]
        if len(ap_rows) > 20:  # (a published detector's 80 COCO classes: those the test pictures hold)
            ap_rows = [row for row in ap_rows if any(v is not None for v in row[1])] or ap_rows
        return {"box_columns": ["true boxes", *(t["name"] for t in targets)], "shown_score": SHOWN_SCORE,
                "boxes_png": base64.b64encode(png).decode(), "ap_rows": ap_rows,
                "pr_curve": files["pr_curve.svg"].decode(), "map_latency": files["map_latency.svg"].decode()}, files

    def prepare_y(self, recipe, y, part):
        import numpy as np

        y = np.asarray(y, np.float32)
        if y.ndim != 3 or y.shape[-1] != 6:
            raise StepError(f"{recipe.where()}: dataset: the {part} data's y has shape {tuple(y.shape)}; a detection "
                            f"recipe reads its boxes from a COCO file (dataset.source: coco)")
        return y

    def check_outputs(self, recipe, output_shapes, y_test):
        shapes = [tuple(s) for s in output_shapes]
        if len(shapes) == 4 and recipe.spec.model.tflite is not None:
            return None  # a .tflite that ends in the op (run_tflite finds its outputs by the op, or says why not)
        n_labels = len(recipe.labels)
        contract = (f"a detection model gives box encodings [N, 4] and class scores [N, {n_labels}] or "
                    f"[N, {n_labels + 1}] (background first), in that order (or, as a .tflite, ends in {OP})")
        shown = [str(s) for s in shapes]
        found = f"its outputs have shapes {', '.join(shown[:-1])} and {shown[-1]}" if len(shown) > 1 else \
            f"its output has shape {shown[0]}" if shown else "it has no output"
        if len(shapes) != 2 or len(shapes[0]) != 2 or len(shapes[1]) != 2:
            return f"model: {contract}; {found}"
        (anchors, four), (count, classes) = shapes
        if four != 4 or anchors != count or classes not in (n_labels, n_labels + 1):
            return f"model: {contract}; {found}"
        return None

    def check_output(self, recipe, output_shape, y_test):
        return self.check_outputs(recipe, [output_shape], y_test)

    def from_model(self, recipe, outputs):
        """The unconverted model's (box encodings, scores) -> detections, through the NumPy op (which reads
        the recipe's anchors: the one file a kind reads itself, as the op carries them in the model)."""
        import numpy as np

        encodings, scores = outputs
        anchors = np.load(recipe.path(recipe.spec.detection.anchors), allow_pickle=False)
        return postprocess(encodings, scores, anchors, op_options(recipe),
                           background=scores.shape[-1] == len(recipe.labels) + 1)

    def run_tflite(self, recipe, model, x):
        """The converted model's detections for each sample (the op takes one picture per invoke)."""
        from ..tflite.runner import TFLiteRunner

        runner = TFLiteRunner(model)
        data = bytes(model) if isinstance(model, (bytes, bytearray)) else open(model, "rb").read()
        roles = output_roles(data)
        if roles is None:
            raise StepError(f"{recipe.where()}: the converted model does not end in {OP}")
        outputs = runner.run_each(x)
        return {role: outputs[position] for role, position in zip(ROLES, roles)}

    def measure(self, recipe, outputs, y):
        metrics = coco_evaluate(list(recipe.labels), y, outputs, op_options(recipe)["max_detections"])
        pictures = unpack_boxes(y[:REPORT_PICTURES])
        metrics["sample_detections"] = [picture_detections(outputs, i, w, h) for i, (w, h, _) in enumerate(pictures)]
        metrics["detections"] = int(sum(outputs["count"]))
        return metrics

    def compare(self, metrics, reference):
        return {"map_drop": reference["map"] - metrics["map"], "map50_drop": reference["map50"] - metrics["map50"]}

    def line(self, metrics):
        drop = f" (drop {metrics['map_drop']:+.4f})" if "map_drop" in metrics else ""
        return f"mAP {metrics['map']:.4f}{drop}, AP50 {metrics['map50']:.4f}"

    def outputs_metadata(self, recipe, model, labels_file):
        """The four outputs as MediaPipe's ObjectDetector and the Task Library find them: by these names, in
        the file's own output order; the labels name class indices (TENSOR_VALUE_LABELS on `category`)."""
        from ..tflite.metadata import OutputFacts

        op = next(op for op in model.ops if op.op == OP)
        labels = list(recipe.labels)
        options = op_options(recipe)
        slots = options["max_detections"] * options["max_classes_per_detection"]
        described = {
            "boxes": OutputFacts("location", f"Up to {slots} boxes, each (ymin, xmin, ymax, xmax) as fractions of the "
                                             f"picture's height and width.", None, boxes=True),
            "classes": OutputFacts("category", f"The class index of each box; line k of {labels_file} names class k.",
                                   "value"),
            "scores": OutputFacts("score", "The score of each box, 0..1.", None),
            "count": OutputFacts("number of detections", "How many of the boxes, classes and scores are filled.", None),
        }
        outputs = [described[ROLES[op.outputs.index(t.index)]] for t in model.outputs]
        return outputs, labels, f"detects {len(labels)} classes"

    def golden_tolerance(self, outputs, measured, samples):
        """Scores and box sides (in the picture's pixels) MARGIN x as far apart as two kernel sets put the same
        detection, over the detections scoring at least SHOWN_SCORE (what an app shows: the op also returns
        every near-zero candidate, whose order is kernel noise), on the inputs where every set found the same
        such classes in the same order."""
        from .base import FLOAT_FLOOR, MARGIN

        found = [[_confident(_rows(view, sample)) for view in per_kernel] for per_kernel, sample in zip(measured, samples)]
        agreeing = [sets for sets in found if _same_classes(sets)]
        score = box = 0.0
        for sets in agreeing:
            for i, a in enumerate(sets):
                for b in sets[i + 1:]:
                    for x, y in zip(a, b):
                        score = max(score, abs(x[1] - y[1]))
                        box = max(box, *(abs(p - q) for p, q in zip(_sides(x), _sides(y))))
        return {"score": MARGIN * score + FLOAT_FLOOR, "box": MARGIN * box + BOX_FLOOR, "min_score": SHOWN_SCORE,
                "measured": {"score": score, "box": box, "inputs": len(agreeing)},
                "how": f"{MARGIN:g} x the largest difference between any two kernel sets' scores and box sides for the "
                       f"same detection scoring at least {SHOWN_SCORE:g}, plus {FLOAT_FLOOR:g} for scores and "
                       f"{BOX_FLOOR:g} pixel for boxes, on the {len(agreeing)} of {len(found)} test samples on which "
                       f"every set found the same such classes in the same order"}

    def stable_decision(self, recipe, per_kernel, tolerance, sample):
        """Every kernel set finds the same classes scoring at least SHOWN_SCORE, in the same order; no score lies
        within the score tolerance of SHOWN_SCORE, and the shown ones are apart by more than it (neither which
        are shown nor their order can change); their scores and boxes agree within the tolerances."""
        sets = [_rows(view, sample) for view in per_kernel]
        shown = [_confident(rows) for rows in sets]
        if not _same_classes(shown):
            return False
        for rows, confident in zip(sets, shown):
            if not all(abs(row[1] - SHOWN_SCORE) > tolerance["score"] for row in rows):  # (NaN: no decision)
                return False
            scores = [row[1] for row in confident]
            if not all(a - b > tolerance["score"] for a, b in zip(scores, scores[1:])):
                return False
            for x, y in zip(confident, shown[0]):
                if not (abs(x[1] - y[1]) <= tolerance["score"]
                        and all(abs(p - q) <= tolerance["box"] for p, q in zip(_sides(x), _sides(y)))):
                    return False
        return True

    def output_roles(self, model):
        positions = output_roles(model)
        return dict(zip(ROLES, positions)) if positions is not None else None

    def measured_outputs(self, outputs, roles):
        """The slots past the count zeroed: TFLite_Detection_PostProcess leaves them unwritten (any bytes)."""
        import numpy as np

        if roles is None:
            return outputs
        count = outputs[roles["count"]].reshape(-1)[0]
        filled = int(np.clip(np.nan_to_num(count), 0, outputs[roles["scores"]].shape[-1]))
        settled = [np.array(value) for value in outputs]
        for role, k in roles.items():
            if role != "count":
                settled[k][:, filled:] = 0
        return settled

    def golden(self, recipe, outputs, sample):
        """The detections the wrappers must give for one picture (`sample`: its raw pixels, whose size boxes
        are measured in): label, class index, score, box (left, top, right, bottom) clipped to the picture."""
        import numpy as np

        height, width = sample.shape[:2]
        batch = {role: value[None] for role, value in outputs.items()}
        found = picture_detections(batch, 0, width, height)
        filled = int(np.clip(np.nan_to_num(outputs["count"].reshape(-1)[0]), 0, outputs["scores"].size))
        settled = {}  # the outputs' bytes, with the slots past the count zeroed: the op leaves them unwritten
        for role, value in outputs.items():
            value = np.array(value, np.float32)
            if role != "count":
                value[filled:] = 0
            settled[role] = value.tobytes().hex()
        return {"width": width, "height": height, "outputs_hex": settled, "detections": [
            {"label": recipe.labels[label] if 0 <= label < len(recipe.labels) else f"class {label}", "index": label,
             "score": json_float(score), "box": [json_float(v) for v in (x, y, x + w, y + h)]}
            for label, score, x, y, w, h in found]}


def _rows(outputs: dict, sample) -> list[list[float]]:
    """One input's detections (`outputs`: {role: output with its batch of one}) in its picture's pixels."""
    height, width = sample.shape[:2]
    return picture_detections(outputs, 0, width, height)


def _confident(rows: list[list[float]]) -> list[list[float]]:
    """The detections an app shows: scoring at least SHOWN_SCORE."""
    return [row for row in rows if row[1] >= SHOWN_SCORE]


def _same_classes(sets: list[list]) -> bool:
    return len({tuple(row[0] for row in rows) for rows in sets}) == 1


def _sides(row) -> tuple[float, float, float, float]:
    """left, top, right, bottom of a [class, score, x, y, w, h] row: what the wrappers give."""
    _, _, x, y, w, h = row
    return x, y, x + w, y + h


KIND = Detection()
