"""Make the shapes-detection example's data, anchors and model:
data/shapes_detection/{train,test}.json (COCO) with pictures/*.png, models/shapes_anchors.npy and
models/shapes_detector.keras.

Each picture is RGB, of one of a few sizes (72..96 wide, 60..72 high: the model's 64x64 input
stretches them, as MediaPipe does), a textured background (stripes over a colour gradient) with one to
three filled shapes (circle, square, triangle) of random colours and sizes. Their boxes go into COCO
annotation files: 480 pictures for training, 60 for testing.

The model is a small SSD-style CNN: an 8x8 grid with three square anchors per cell (192 anchors),
box encodings (ty, tx, th, tw, scales 10, 10, 5, 5) and softmax class scores with background first.
It is trained here on the training file only (so its test mAP is honest), seeded. Run from the
repository root:
    python models/make_shapes_detection.py
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "shapes_detection"
LABELS = ["circle", "square", "triangle"]
SIZES = [(72, 60), (80, 64), (96, 72), (64, 64)]  # (width, height)
COUNTS = {"train": 480, "test": 60}
INPUT, GRID, ANCHOR_SIZES = 64, 8, (0.2, 0.32, 0.5)
SCALES = (10.0, 10.0, 5.0, 5.0)


def picture(rng):
    width, height = SIZES[int(rng.integers(len(SIZES)))]
    stripes = (np.arange(height)[:, None] + np.arange(width)[None, :] * rng.integers(0, 3)) // rng.integers(3, 8) % 2
    base = rng.integers(40, 200, size=3)
    gradient = np.linspace(0, 1, width)[None, :, None] * rng.integers(-40, 40, size=3)
    pixels = base + stripes[..., None] * rng.integers(-30, 30, size=3) + gradient
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        label = int(rng.integers(3))
        r = int(rng.integers(6, 17))
        cx, cy = int(rng.integers(r, width - r)), int(rng.integers(r, height - r))
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        if label == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif label == 1:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
        boxes.append((label, [cx - r, cy - r, 2 * r + 1, 2 * r + 1]))
    return image, boxes


def make_data():
    rng = np.random.default_rng(0)
    (FOLDER / "pictures").mkdir(parents=True, exist_ok=True)
    for part, count in COUNTS.items():
        images, annotations = [], []
        for i in range(count):
            image, boxes = picture(rng)
            name = f"pictures/{part}-{i:03d}.png"
            image.save(FOLDER / name, optimize=True)
            images.append({"id": i + 1, "file_name": name, "width": image.width, "height": image.height})
            for label, box in boxes:
                annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": label + 1,
                                    "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        coco = {"images": images, "annotations": annotations,
                "categories": [{"id": k + 1, "name": name} for k, name in enumerate(LABELS)]}
        (FOLDER / f"{part}.json").write_text(json.dumps(coco, indent=1) + "\n")


def anchors():
    """[GRID * GRID * 3, 4] (y, x, h, w) in 0..1: for each cell, row by row, three square anchors."""
    centres = (np.arange(GRID) + 0.5) / GRID
    rows = [(y, x, s, s) for y in centres for x in centres for s in ANCHOR_SIZES]
    return np.asarray(rows, np.float32)


def load(part):
    coco = json.loads((FOLDER / f"{part}.json").read_text())
    by_image = {image["id"]: [] for image in coco["images"]}
    for a in coco["annotations"]:
        by_image[a["image_id"]].append(a)
    xs, truths = [], []
    for image in coco["images"]:
        with Image.open(FOLDER / image["file_name"]) as picture_file:
            pixels = np.asarray(picture_file.convert("RGB").resize((INPUT, INPUT), Image.BILINEAR), np.float32)
        xs.append(pixels / 255.0)
        w, h = image["width"], image["height"]
        truths.append([(a["category_id"] - 1, (a["bbox"][1] / h, a["bbox"][0] / w, (a["bbox"][1] + a["bbox"][3]) / h,
                                               (a["bbox"][0] + a["bbox"][2]) / w)) for a in by_image[image["id"]]])
    return np.stack(xs), truths


def iou(box, boxes):
    top, left = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    bottom, right = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(boxes) - inter)


def targets(truths, anchor_boxes):
    """SSD matching: an anchor is a box's when their IoU is at least 0.5, and each box has its best anchor."""
    corners = np.stack([anchor_boxes[:, 0] - anchor_boxes[:, 2] / 2, anchor_boxes[:, 1] - anchor_boxes[:, 3] / 2,
                        anchor_boxes[:, 0] + anchor_boxes[:, 2] / 2, anchor_boxes[:, 1] + anchor_boxes[:, 3] / 2], 1)
    n = len(anchor_boxes)
    classes = np.zeros((len(truths), n), np.int32)
    encodings = np.zeros((len(truths), n, 4), np.float32)
    for i, boxes in enumerate(truths):
        if not boxes:
            continue
        overlaps = np.stack([iou(np.asarray(b), corners) for _, b in boxes])  # [boxes, anchors]
        best_box = overlaps.argmax(0)
        matched = overlaps.max(0) >= 0.5
        for k in range(len(boxes)):
            best_box[overlaps[k].argmax()] = k
            matched[overlaps[k].argmax()] = True
        for a in np.flatnonzero(matched):
            label, (y0, x0, y1, x1) = boxes[best_box[a]]
            ay, ax, ah, aw = anchor_boxes[a]
            cy, cx, h, w = (y0 + y1) / 2, (x0 + x1) / 2, y1 - y0, x1 - x0
            classes[i, a] = label + 1
            encodings[i, a] = [(cy - ay) / ah * SCALES[0], (cx - ax) / aw * SCALES[1],
                               np.log(h / ah) * SCALES[2], np.log(w / aw) * SCALES[3]]
    return classes, encodings


def make_model():
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    anchor_boxes = anchors()
    np.save(ROOT / "models" / "shapes_anchors.npy", anchor_boxes)
    x, truths = load("train")
    classes, encodings = targets(truths, anchor_boxes)
    per_cell = len(ANCHOR_SIZES)
    inputs = keras.Input((INPUT, INPUT, 3), name="image")
    h = inputs
    for filters in (16, 32, 48):
        h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    boxes = keras.layers.Reshape((GRID * GRID * per_cell, 4), name="box_encodings")(
        keras.layers.Conv2D(per_cell * 4, 3, padding="same")(h))
    logits = keras.layers.Reshape((GRID * GRID * per_cell, len(LABELS) + 1))(
        keras.layers.Conv2D(per_cell * (len(LABELS) + 1), 3, padding="same")(h))
    scores = keras.layers.Softmax(name="class_scores")(logits)
    model = keras.Model(inputs, [boxes, scores], name="shapes_detector")
    optimizer = keras.optimizers.Adam(2e-3)

    @tf.function
    def train_step(images, true_classes, true_boxes):
        with tf.GradientTape() as tape:
            predicted_boxes, predicted_scores = model(images, training=True)
            positive = tf.cast(true_classes > 0, tf.float32)
            cross = keras.losses.sparse_categorical_crossentropy(true_classes, predicted_scores)
            n_pos = tf.maximum(tf.reduce_sum(positive), 1.0)
            # hard negatives: the three times as many background anchors that score worst
            negative_loss = tf.reshape(cross * (1 - positive), [-1])
            k = tf.cast(tf.minimum(3 * n_pos, tf.cast(tf.size(negative_loss), tf.float32)), tf.int32)
            hard = tf.math.top_k(negative_loss, k).values
            huber = keras.losses.huber(true_boxes[..., None], predicted_boxes[..., None])
            box_loss = tf.reduce_sum(tf.reduce_sum(huber, -1) * positive)
            loss = (tf.reduce_sum(cross * positive) + tf.reduce_sum(hard) + box_loss) / n_pos
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(1)
    flipped_classes, flipped_encodings = targets([[(label, (y0, 1 - x1, y1, 1 - x0)) for label, (y0, x0, y1, x1) in t]
                                                  for t in truths], anchor_boxes)
    x_all = np.concatenate([x, x[:, :, ::-1]])  # and each picture mirrored
    classes, encodings = np.concatenate([classes, flipped_classes]), np.concatenate([encodings, flipped_encodings])
    for epoch in range(40):
        order = rng.permutation(len(x_all))
        losses = [float(train_step(x_all[order[i:i + 32]], classes[order[i:i + 32]], encodings[order[i:i + 32]]))
                  for i in range(0, len(x_all), 32)]
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f}")
    model.save(ROOT / "models" / "shapes_detector.keras")


if __name__ == "__main__":
    make_data()
    make_model()
