"""Sound: audio clips read with soundfile (libsndfile: WAV of 8/16/24/32-bit PCM or float, FLAC), mixed down to
mono (the channels' mean), resampled with soxr (the SoX resampler, high quality) to the recipe's rate, and cut
or padded to `clip_seconds`: a longer clip loses its end, a shorter one gets silence (zeros) at its end. The
model takes that waveform, float32 in -1..1, and computes its own features, as MediaPipe's AudioClassifier
feeds it. The shipped model's metadata says AudioProperties (the rate, one channel).

This module imports nothing of edgebuild's: the Linux bundle ships it as it is (sound.py), so a board reads a
clip with the very code the data step ran.
"""
from __future__ import annotations

from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac"}
DEFAULT_RATE, DEFAULT_SECONDS = 16000, 1.0


def rate_and_samples(dataset) -> "tuple[int, int]":
    """(sample rate, samples per clip) of an audio_folder dataset, its defaults filled in."""
    rate = dataset.sample_rate or DEFAULT_RATE
    return rate, int(round(rate * (dataset.clip_seconds or DEFAULT_SECONDS)))


def clip(path, rate: int, samples: int):
    """A clip file as the model takes it: mono float32 at `rate`, cut or padded to `samples`."""
    return fit(read_clip(Path(path), rate)[0], samples)


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
