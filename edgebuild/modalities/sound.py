"""Sound: audio clips read with soundfile (libsndfile: WAV of 8/16/24/32-bit PCM or float, FLAC), mixed down to
mono (the channels' mean), resampled with soxr (the SoX resampler, high quality) to the recipe's rate, and cut
or padded to `clip_seconds`: a longer clip loses its end, a shorter one gets silence (zeros) at its end. The
model takes that waveform, float32 in -1..1, and computes its own features, as MediaPipe's AudioClassifier
feeds it. The shipped model's metadata says AudioProperties (the rate, one channel).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import StepError

AUDIO_SUFFIXES = {".wav", ".flac"}
DEFAULT_RATE, DEFAULT_SECONDS = 16000, 1.0


def rate_and_samples(dataset) -> tuple[int, int]:
    """(sample rate, samples per clip) of an audio_folder dataset, its defaults filled in."""
    rate = dataset.sample_rate or DEFAULT_RATE
    return rate, int(round(rate * (dataset.clip_seconds or DEFAULT_SECONDS)))


def audio_files(folder: Path) -> list[Path]:
    """Every clip under an audio_folder dataset, in a fixed order (also the data step's file_dep)."""
    return sorted(p for p in folder.glob("*/*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def read_clip(path: Path, rate: int) -> "tuple[object, float]":
    """(the clip as mono float32 samples at `rate`, its length in seconds as recorded); OSError when
    libsndfile cannot read it."""
    import numpy as np
    import soundfile

    try:
        samples, recorded = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise OSError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc
    mono = samples.mean(axis=1, dtype=np.float64).astype(np.float32)
    seconds = len(mono) / recorded if recorded else 0.0
    if len(mono) and recorded != rate:
        import soxr

        mono = soxr.resample(mono, recorded, rate, quality="HQ").astype(np.float32)
    return mono, seconds


def fit(samples, length: int):
    """`samples` cut at its end, or padded with zeros at its end, to `length`."""
    import numpy as np

    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), np.float32)])


def load_folder(recipe) -> tuple:
    """(x [clips, samples] float32, y label indices) of an audio_folder dataset; one line per fault."""
    import numpy as np

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
