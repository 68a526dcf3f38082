"""Dataset kinds and preprocessing: a recipe's `dataset` + `preprocess` -> train/test arrays.

The data step writes them once to build/<recipe>/data.npz; training scripts, calibration
and evaluation all read that file, so they see the same split and the same preprocessing.
NumPy, scikit-learn and Pillow are imported inside functions: validating a recipe needs none.
"""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import StepError
from ..graph.step import Step
from ..kinds.segmentation import resize_nearest
from ..layout import RecipeLayout, write_bytes, write_json
from ..processing import GRAY_WEIGHTS, apply_preprocess, is_placeholder, picture_values, resize_bilinear, to_gray  # noqa: F401 (shared with the Linux package)
from ..recipe import Recipe
from ..recipe.schema import DatasetSource, Preprocess

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
GOLDEN_CANDIDATES = 24  # test samples the golden step picks its vectors from (those whose decision is stable)
FORMAT = 3  # of data.npz; a new format re-prepares every recipe's data
KERAS_DATASETS = {DatasetSource.keras_mnist: ("mnist", "mnist.npz"),
                  DatasetSource.keras_fashion_mnist: ("fashion_mnist", "fashion-mnist")}


@dataclass
class Split:
    """Arrays of one prepared dataset; x_train/y_train are None when the source has no training part."""

    x_test: "object" = None
    y_test: "object" = None
    x_train: "object" = None
    y_train: "object" = None
    golden_raw: "object" = None  # the first test samples before scale/normalize (resized): bundles' golden vectors


# --- sources ------------------------------------------------------------------------------------

def _sklearn(loader_name: str, images: bool) -> Callable[[Recipe], tuple]:
    def load(recipe: Recipe):
        import numpy as np
        from sklearn import datasets

        bunch = getattr(datasets, loader_name)()
        x = bunch.images if images else bunch.data
        return x.astype(np.float32), bunch.target  # the task's kind types y (prepare_y)
    return load


def _load_npz(recipe: Recipe) -> Split:
    import numpy as np

    with np.load(recipe.path(recipe.spec.dataset.path)) as data:
        arrays = {key: data[key] for key in data.files}
    split = Split(x_test=arrays["x_test"].astype(np.float32), y_test=arrays["y_test"])
    if "x_train" in arrays:
        split.x_train = arrays["x_train"].astype(np.float32)
        split.y_train = arrays.get("y_train")
    return split


def files_under(folder: Path, suffixes, depth: int) -> list[Path]:
    """The files `depth` levels under `folder` (1: its own; 2: those of its folders) with one of `suffixes`
    (lowercase), in pathlib's order, part by part. With os.scandir, not glob and is_file: every no-op build
    lists every dataset's files."""
    found: list[tuple[str, ...]] = []

    def walk(path: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(path) as entries:
                listed = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in listed:
            if len(parts) + 1 < depth:
                if entry.is_dir():
                    walk(entry.path, (*parts, entry.name))
            elif os.path.splitext(entry.name)[1].lower() in suffixes and entry.is_file():
                found.append((*parts, entry.name))

    walk(str(folder), ())
    return [folder.joinpath(*parts) for parts in sorted(found)]


def image_files(folder: Path) -> list[Path]:
    """Every image under an image_folder dataset, in a fixed order (also the data step's file_dep)."""
    return files_under(folder, IMAGE_SUFFIXES, 2)


def audio_files(folder: Path) -> list[Path]:
    """Every clip under an audio_folder dataset, in a fixed order (also the data step's file_dep)."""
    return files_under(folder, _sound().AUDIO_SUFFIXES, 2)


def _load_image_folder(recipe: Recipe):
    import numpy as np
    from PIL import Image

    folder = recipe.path(recipe.spec.dataset.path)
    color_mode = recipe.spec.dataset.color_mode
    size = recipe.preprocess.resize
    xs, ys = [], []
    for path in image_files(folder):
        label = path.parent.name
        if label not in recipe.labels or is_placeholder(label):
            raise StepError(f"{recipe.where()}: dataset.path: folder {label!r} in {recipe.spec.dataset.path} "
                            f"is not one of the labels ({_shown_labels(recipe.labels)})")
        try:
            with Image.open(path) as image:
                pixels = picture_values(image, color_mode)
        except OSError as exc:
            raise StepError(f"{recipe.where()}: dataset.path: cannot read image {path}: {exc}") from exc
        if size is not None:  # resize each image now so images of different sizes stack
            pixels = resize_bilinear(pixels[None], size)[0]
        xs.append(pixels)
        ys.append(recipe.labels.index(label))
    if not xs:
        raise StepError(f"{recipe.where()}: dataset.path: no PNG or JPEG files in sub-folders of "
                        f"{recipe.spec.dataset.path}")
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise StepError(f"{recipe.where()}: dataset.path: images differ in size ({', '.join(map(str, sorted(shapes)))});"
                        " expected preprocess.resize to make them one size")
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def _load_keras(recipe: Recipe) -> Split:
    import numpy as np

    module_name, cache_name = KERAS_DATASETS[recipe.spec.dataset.source]
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module_name).load_data()
    except Exception as exc:  # keras raises a bare Exception when the download fails
        raise StepError(
            f"{recipe.where()}: dataset.source: {recipe.spec.dataset.source.value} is downloaded by Keras on first use "
            f"and could not be fetched ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"put {cache_name} in ~/.keras/datasets/ while online, or export the arrays to an .npz and use source: npz"
        ) from exc
    return Split(x_test=x_test.astype(np.float32), y_test=y_test, x_train=x_train.astype(np.float32), y_train=y_train)


def mask_folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(pictures under images/, masks under masks/) of a mask_folder dataset, in a fixed order."""
    return files_under(folder / "images", IMAGE_SUFFIXES, 1), files_under(folder / "masks", {".png"}, 1)


def _load_mask_folder(recipe: Recipe):
    """Pictures (bilinear to preprocess.resize) and their masks (nearest to the same size)."""
    import numpy as np
    from PIL import Image

    rel = recipe.spec.dataset.path
    pictures, masks = mask_folder_files(recipe.path(rel))
    by_stem = {p.stem: p for p in masks}
    where = f"{recipe.where()}: dataset.path"
    for picture in pictures:
        if picture.stem not in by_stem:
            raise StepError(f"{where}: picture {rel}/images/{picture.name} has no mask; expected "
                            f"{rel}/masks/{picture.stem}.png")
    strays = sorted(set(by_stem) - {p.stem for p in pictures})
    if strays:
        raise StepError(f"{where}: mask {rel}/masks/{by_stem[strays[0]].name} has no picture in {rel}/images/")
    if not pictures:
        raise StepError(f"{where}: no PNG or JPEG pictures in {rel}/images/")
    color_mode = recipe.spec.dataset.color_mode
    size = recipe.preprocess.resize
    n_labels = len(recipe.labels)
    xs, ys = [], []
    for picture in pictures:
        mask_path = by_stem[picture.stem]
        try:
            with Image.open(picture) as image:
                pixels = picture_values(image, color_mode)
            with Image.open(mask_path) as image:
                if image.mode not in ("L", "P"):
                    raise StepError(f"{where}: mask {rel}/masks/{mask_path.name} is a {image.mode} picture; expected "
                                    f"an 8-bit single-channel PNG (a class index per pixel)")
                mask = np.asarray(image, dtype=np.uint8)
        except OSError as exc:
            raise StepError(f"{where}: cannot read {picture.name} or its mask: {exc}") from exc
        if mask.shape != pixels.shape[:2]:
            raise StepError(f"{where}: mask {rel}/masks/{mask_path.name} is {mask.shape[1]}x{mask.shape[0]}, its picture "
                            f"{picture.name} {pixels.shape[1]}x{pixels.shape[0]}; expected the same size")
        bad = mask[(mask != 255) & (mask >= n_labels)]
        if bad.size:
            raise StepError(f"{where}: mask {rel}/masks/{mask_path.name} holds class {int(bad.max())}; the recipe "
                            f"names {n_labels} labels (0..{n_labels - 1}, and 255 for 'ignore')")
        if size is not None:
            pixels = resize_bilinear(pixels[None], size)[0]
            mask = resize_nearest(mask[None], size)[0]
        xs.append(pixels)
        ys.append(mask)
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise StepError(f"{where}: pictures differ in size ({', '.join(map(str, sorted(shapes)))}); expected "
                        "preprocess.resize to make them one size")
    return np.stack(xs), np.stack(ys)


def _coco_json(recipe: Recipe, rel: str) -> dict:
    """A COCO annotations file, checked for the lists the build reads; one StepError line otherwise."""
    import json

    where = f"{recipe.where()}: dataset"
    try:
        data = json.loads(recipe.path(rel).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StepError(f"{where}: {rel} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise StepError(f"{where}: cannot read {rel}: {exc}") from exc
    missing = [key for key in ("images", "annotations", "categories")
               if not isinstance(data, dict) or not isinstance(data.get(key), list)]
    if missing:
        raise StepError(f"{where}: {rel} is not a COCO annotations file: expected an object with images, annotations "
                        f"and categories lists; it has no {' or '.join(repr(m) for m in missing)} list")
    return data


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _shown_labels(labels) -> str:
    """The labels a category or folder may name, without placeholders, and at most 20 of them."""
    named = [label for label in labels if not is_placeholder(label)]
    return ", ".join(named[:20]) + (f", ... ({len(named)} in all)" if len(named) > 20 else "")


def coco_pictures(recipe: Recipe, rel: str) -> list[tuple[Path, int, list]]:
    """(picture path, image id, [(label index, x, y, w, h, iscrowd), ...]) of every image of a COCO file,
    in image id order, checked: categories named by the labels, ids that exist, boxes of four numbers."""
    data = _coco_json(recipe, rel)
    where = f"{recipe.where()}: dataset: {rel}"
    folder = recipe.path(rel).parent
    labels = list(recipe.labels)
    categories = {}
    for entry in data["categories"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or not isinstance(entry.get("name"), str):
            raise StepError(f"{where}: category {entry!r:.80}: expected an object with an integer id and a name")
        if entry["name"] not in labels or is_placeholder(entry["name"]):
            placeholder = " names a placeholder of the label map" if entry["name"] in labels else " is not one of the labels"
            raise StepError(f"{where}: category {entry['name']!r} (id {entry['id']}){placeholder} "
                            f"({_shown_labels(labels)}); expected every category named in labels")
        categories[entry["id"]] = labels.index(entry["name"])
    images = {}
    for entry in data["images"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or \
                not isinstance(entry.get("file_name"), str) or not entry["file_name"]:
            raise StepError(f"{where}: image {entry!r:.80}: expected an object with an integer id and a file_name")
        name = entry["file_name"]
        if name.startswith(("/", "\\")) or ".." in Path(name).parts or "\0" in name:
            raise StepError(f"{where}: image id {entry['id']}: file_name {name!r:.200} is not inside the file's "
                            f"folder; expected a path relative to it")
        if entry["id"] in images:
            raise StepError(f"{where}: image id {entry['id']} is used twice; expected unique image ids")
        images[entry["id"]] = (folder / name, [])
    for entry in data["annotations"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("image_id"), int):
            raise StepError(f"{where}: annotation {entry!r:.80}: expected an object with an image_id, category_id "
                            f"and bbox")
        ident = f"annotation id {entry.get('id')} (image id {entry['image_id']})"
        if entry["image_id"] not in images:
            raise StepError(f"{where}: {ident}: no image has that id")
        if entry.get("category_id") not in categories:
            raise StepError(f"{where}: {ident}: category_id {entry.get('category_id')!r} is not one of the "
                            f"file's categories")
        box = entry.get("bbox")
        if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box) or box[2] < 0 or box[3] < 0:
            raise StepError(f"{where}: {ident}: bbox {box!r:.80}; expected [x, y, width, height] in pixels")
        images[entry["image_id"]][1].append((categories[entry["category_id"]], *map(float, box),
                                             1 if entry.get("iscrowd") else 0))
    return [(path, ident, boxes) for ident, (path, boxes) in sorted(images.items())]


BOX_SLACK = 1.0  # pixels a box may reach beyond its picture (rounding in annotation tools)


def _load_coco_file(recipe: Recipe, rel: str):
    """Pictures (bilinear to preprocess.resize) and their packed boxes (kinds.detection.pack_boxes)."""
    import numpy as np
    from PIL import Image

    from ..kinds.detection import pack_boxes

    where = f"{recipe.where()}: dataset: {rel}"
    color_mode = recipe.spec.dataset.color_mode
    size = recipe.preprocess.resize
    xs, packed = [], []
    for path, ident, boxes in coco_pictures(recipe, rel):
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name no file system takes (too long, say)
            found = False
        if not found:
            raise StepError(f"{where}: image id {ident}: picture {recipe.shown(path)} not found (file_name is "
                            f"relative to the folder of {rel})")
        try:
            with Image.open(path) as image:
                pixels = picture_values(image, color_mode)
        except OSError as exc:
            raise StepError(f"{where}: image id {ident}: cannot read picture {recipe.shown(path)}: {exc}") from exc
        height, width = pixels.shape[:2]
        for label, x, y, w, h, _ in boxes:
            if x < -BOX_SLACK or y < -BOX_SLACK or x + w > width + BOX_SLACK or y + h > height + BOX_SLACK:
                raise StepError(f"{where}: image id {ident}: box [{x:g}, {y:g}, {w:g}, {h:g}] of "
                                f"{recipe.labels[label]!r} lies outside its {width}x{height} picture")
        if size is not None:
            pixels = resize_bilinear(pixels[None], size)[0]
        xs.append(pixels)
        packed.append((width, height, ident, boxes))
    if not xs:
        raise StepError(f"{where}: no images; expected at least one")
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise StepError(f"{where}: pictures differ in size ({', '.join(map(str, sorted(shapes)))}); expected "
                        "preprocess.resize to stretch them to the model's input size")
    return np.stack(xs), pack_boxes(packed)


def _load_coco(recipe: Recipe):
    spec = recipe.spec.dataset
    if spec.test_path is None:
        return _load_coco_file(recipe, spec.path)
    x_train, y_train = _load_coco_file(recipe, spec.path)
    x_test, y_test = _load_coco_file(recipe, spec.test_path)
    return Split(x_test=x_test, y_test=y_test, x_train=x_train, y_train=y_train)


def coco_files(recipe: Recipe) -> list[Path]:
    """The files a coco dataset is read from: its JSON files and the pictures they name (as far as they
    can be read now: a broken file is reported by the data step itself)."""
    import json

    spec = recipe.spec.dataset
    found = []
    for rel in filter(None, (spec.path, spec.test_path)):
        path = recipe.path(rel)
        found.append(path)
        try:
            images = json.loads(path.read_text(encoding="utf-8")).get("images", [])
            names = {entry["file_name"] for entry in images if isinstance(entry.get("file_name"), str)}
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        for name in sorted(names):
            if name.startswith(("/", "\\")) or ".." in Path(name).parts:
                continue
            try:
                if (path.parent / name).is_file():
                    found.append(path.parent / name)
            except (OSError, ValueError):  # a name no file system takes: the data step says so
                continue
    return found


SOURCES: dict[DatasetSource, Callable] = {
    DatasetSource.sklearn_digits: _sklearn("load_digits", images=True),
    DatasetSource.sklearn_breast_cancer: _sklearn("load_breast_cancer", images=False),
    DatasetSource.sklearn_iris: _sklearn("load_iris", images=False),
    DatasetSource.sklearn_wine: _sklearn("load_wine", images=False),
    DatasetSource.sklearn_diabetes: _sklearn("load_diabetes", images=False),
    DatasetSource.mask_folder: _load_mask_folder,
    DatasetSource.coco: _load_coco,
    DatasetSource.image_folder: _load_image_folder,
    DatasetSource.npz: _load_npz,
    DatasetSource.keras_mnist: _load_keras,
    DatasetSource.keras_fashion_mnist: _load_keras,
    DatasetSource.audio_folder: lambda recipe: _load_audio_folder(recipe),
}


def _load_audio_folder(recipe) -> tuple:
    """(x [clips, samples] float32, y label indices) of an audio_folder dataset; one line per fault."""
    import numpy as np

    from ..modalities.sound import AUDIO_SUFFIXES, fit, rate_and_samples, read_clip

    dataset = recipe.spec.dataset
    folder = recipe.path(dataset.path)
    rate, length = rate_and_samples(dataset)
    where = f"{recipe.where()}: dataset.path"
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not any(p.suffix.lower() in AUDIO_SUFFIXES for p in sub.iterdir() if p.is_file()):
            raise StepError(f"{where}: folder {sub.name!r} in {dataset.path} has no WAV or FLAC clips")
    xs, ys, longest = [], [], 0.0
    for path in audio_files(folder):
        label = path.parent.name
        if label not in recipe.labels:
            raise StepError(f"{where}: folder {label!r} in {dataset.path} is not one of the labels "
                            f"({', '.join(recipe.labels)})")
        try:
            samples, seconds = read_clip(path, rate)
        except OSError as exc:
            raise StepError(f"{where}: cannot read audio file {path}: {exc}") from exc
        if not len(samples):
            raise StepError(f"{where}: audio file {path} holds no samples")
        longest = max(longest, seconds)
        xs.append(fit(samples, length))
        ys.append(recipe.labels.index(label))
    if not xs:
        raise StepError(f"{where}: no WAV or FLAC files in sub-folders of {dataset.path}")
    if longest < length / rate:
        raise StepError(f"{recipe.where()}: dataset.clip_seconds: {length / rate:g} s is longer than every clip "
                        f"(the longest is {longest:.3g} s); expected at most {longest:.3g}")
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def _sound():
    from ..modalities import sound

    return sound


def split_train_test(x, y, test_fraction: float, seed: int) -> Split:
    """Shuffle with the recipe's seed, then hold out the last `test_fraction` for testing."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(x))
    n_train = int(len(x) * (1 - test_fraction))
    train, test = order[:n_train], order[n_train:]
    return Split(x_test=x[test], y_test=y[test], x_train=x[train], y_train=y[train])


# --- preprocessing ------------------------------------------------------------------------------


def resolve_preprocess(preprocess: Preprocess, x_train) -> dict:
    """The preprocessing with `normalize: fit` turned into numbers (per feature, from the training split)."""
    import numpy as np

    resolved = {"resize": list(preprocess.resize) if preprocess.resize else None, "scale": preprocess.scale,
                "mean": None, "std": None}
    norm = preprocess.normalize
    if norm == "fit":
        scaled = x_train.reshape(-1, x_train.shape[-1]) * np.float32(preprocess.scale or 1.0)
        std = scaled.std(axis=0)
        resolved["mean"] = [float(v) for v in scaled.mean(axis=0)]
        resolved["std"] = [float(v) if v > 0 else 1.0 for v in std]
    elif norm is not None:
        resolved["mean"], resolved["std"] = norm.mean, norm.std
    return resolved


def raw_range(x) -> list[float] | None:
    """The smallest and largest finite raw value: what the bundles and the metadata call the data's own units
    (a picture's 0..255, scikit-learn's digits' 0..16)."""
    import numpy as np

    finite = np.asarray(x)[np.isfinite(x)]
    return [float(finite.min()), float(finite.max())] if finite.size else None


# --- the data step ------------------------------------------------------------------------------

def prepare(recipe: Recipe) -> tuple[Split, dict]:
    """Load the dataset, split it when the source has no split of its own, preprocess both parts.

    Returns the arrays and the resolved preprocessing (see `resolve_preprocess`).
    """
    spec = recipe.spec.dataset
    loaded = SOURCES[spec.source](recipe)
    split = loaded if isinstance(loaded, Split) else split_train_test(*loaded, spec.test_fraction, spec.seed)
    split.y_test = recipe.kind.prepare_y(recipe, split.y_test, "test")
    if split.y_train is not None:
        split.y_train = recipe.kind.prepare_y(recipe, split.y_train, "train")
    if recipe.preprocess.normalize == "fit" and split.x_train is None:
        raise StepError(f"{recipe.where()}: preprocess.normalize: fit needs a training split; "
                        f"{spec.path} has no x_train")
    resolved = resolve_preprocess(recipe.preprocess, split.x_train)
    resolved["raw_range"] = raw_range(split.x_train if split.x_train is not None else split.x_test)
    split.golden_raw = apply_preprocess(split.x_test[:GOLDEN_CANDIDATES], {**resolved, "scale": None, "mean": None})
    split.x_test = apply_preprocess(split.x_test, resolved)
    if split.x_train is not None:
        split.x_train = apply_preprocess(split.x_train, resolved)
    return split, resolved


def write_prepared(recipe: Recipe, layout: RecipeLayout) -> None:
    """The data step. In a process that has not imported TensorFlow yet (a cold build's first step),
    prepare in a spawned worker while this process imports TensorFlow for the steps that follow:
    the two imports (scikit-learn's and TensorFlow's) then take one core each instead of adding up.
    """
    from multiprocessing import current_process

    from .. import progress

    if recipe.preprocess_note:  # the recipe's preprocessing wins over the model's metadata: said once, when it applies
        progress.say(f"warning: {recipe.preprocess_note}")
    if recipe.pytorch or progress.tensorflow_imported() or progress.verbose() or current_process().daemon:
        _write_prepared(recipe, layout)  # (a Dask worker is a daemon process: it may not start children)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as worker:
        prepared = worker.submit(_write_prepared, recipe, layout)
        progress.tensorflow(layout.log("data"))
        prepared.result()  # re-raises the worker's StepError


def _write_prepared(recipe: Recipe, layout: RecipeLayout) -> None:
    import numpy as np

    split, resolved = prepare(recipe)
    arrays = {k: v for k, v in vars(split).items() if v is not None}
    buffer = io.BytesIO()
    # np.savez stamps each entry with the current time; fixed stamps keep identical data byte-identical,
    # so re-preparing unchanged data does not retrain or reconvert anything downstream.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w",
                              force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    write_bytes(layout.data, buffer.getvalue())
    write_json(layout.preprocess, resolved)


def load_prepared(layout: RecipeLayout, *names: str) -> Split:
    """The prepared arrays, or only those named: a step reads only what it uses (MNIST's x_train is 188 MB)."""
    import numpy as np

    with np.load(layout.data) as data:
        return Split(**{key: data[key] for key in data.files if not names or key in names})


PICTURE_FILES = (DatasetSource.image_folder, DatasetSource.mask_folder, DatasetSource.coco)


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """data: the dataset's own files -> data.npz and preprocess.json."""
    spec = recipe.spec
    reads = []
    if spec.dataset.source == DatasetSource.npz:
        reads = [recipe.path(spec.dataset.path)]
    elif spec.dataset.source == DatasetSource.image_folder:
        reads = image_files(recipe.path(spec.dataset.path))
    elif spec.dataset.source == DatasetSource.mask_folder:
        reads = [p for files in mask_folder_files(recipe.path(spec.dataset.path)) for p in files]
    elif spec.dataset.source == DatasetSource.coco:
        reads = coco_files(recipe)
    elif spec.dataset.source == DatasetSource.audio_folder:
        reads = audio_files(recipe.path(spec.dataset.path))
    return Step("data", "prepare the dataset: load, split, preprocess", write_prepared, (recipe, layout),
                reads=reads, writes=(layout.data, layout.preprocess),
                config={"dataset": spec.dataset.identity(),
                        "preprocess": recipe.preprocess.model_dump(mode="json"),
                        "labels": list(recipe.labels), "task": recipe.spec.task.value, "format": FORMAT,
                        **({"gray": "bt601-float32"} if spec.dataset.source in PICTURE_FILES and spec.dataset.color_mode == "grayscale"
                           else {})},
                log=layout.log("data"))
