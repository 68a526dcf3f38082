"""What a recipe's input is, apart from what its model predicts (kinds/): pictures, sound, or a feature vector.

The data step, the source step's shape check and the metadata writer ask the recipe's modality what differs
by input: which files a dataset reads, how a clip or a picture becomes a sample, how a wrong input size is
put right, and how the shipped model's metadata describes its input. A new modality is one module here,
registered in MODALITIES.

    image     pictures (image_folder, mask_folder, coco, the scikit-learn and Keras picture sets, an npz with
              a color_mode): ImageProperties in the metadata
    sound     audio clips (audio_folder): a mono waveform in -1..1 at the recipe's sample rate; AudioProperties
    features  a feature vector (tables): FeatureProperties
"""
from __future__ import annotations

from dataclasses import dataclass

from ..recipe.schema import IMAGE_SOURCES, SOUND_SOURCES, DatasetSource


@dataclass(frozen=True)
class Modality:
    name: str
    resize_hint: str  # how a recipe makes its samples the size a model takes
    report_files: tuple[str, ...] = ()  # its own pictures in the report (build/<recipe>/charts/), drawn by report.py
    float_io: bool = False  # its quantized models keep float32 input and output (the apps feed float samples)


IMAGE = Modality("image", "change preprocess (resize) or the model's input")
SOUND = Modality("sound", "set dataset.clip_seconds so that sample_rate * clip_seconds is the model's input length",
                 report_files=("clips.png",), float_io=True)
FEATURES = Modality("features", "change the model's input to the dataset's features")
MODALITIES = {m.name: m for m in (IMAGE, SOUND, FEATURES)}


def of(recipe) -> Modality:
    """The recipe's input modality, from its dataset."""
    dataset = recipe.spec.dataset
    if dataset.source in SOUND_SOURCES:
        return SOUND
    if dataset.source in IMAGE_SOURCES or (dataset.source == DatasetSource.npz and "color_mode" in dataset.model_fields_set):
        return IMAGE
    return FEATURES
