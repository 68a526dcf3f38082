"""Make the keywords example's clips: data/keywords/<label>/*.wav, 1 s of 16 kHz mono 16-bit PCM each.

The words "yes", "no", "up" and "down" are spoken by Debian's espeak-ng (apt-get install espeak-ng) in
four voices, two speeds and three pitches, each placed at a seeded random moment of its second, at a
seeded random loudness, over seeded noise; the fifth class, "background", is noise alone. The clips are
kept in the repository, so a build needs neither espeak-ng nor this script. Run from the repository root:
    python models/make_keywords.py
"""
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import soxr

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "keywords"
WORDS = ["yes", "no", "up", "down"]
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-us+f3"]
SPEEDS, PITCHES = [130, 175], [30, 50, 75]
RATE = 16000

rng = np.random.default_rng(0)


def noise(n: int) -> np.ndarray:
    """White or brown (integrated, so mostly low) noise, at a random level."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        white = np.cumsum(white)
        white -= np.linspace(white[0], white[-1], n)  # no drift
        white /= np.abs(white).max() + 1e-9
    else:
        white /= 4.0
    return white * rng.uniform(0.005, 0.05)


def save(samples: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.clip(samples, -1, 1), RATE, subtype="PCM_16")


with tempfile.TemporaryDirectory() as tmp:
    for word in WORDS:
        for voice in VOICES:
            for speed in SPEEDS:
                for pitch in PITCHES:
                    spoken = Path(tmp) / "spoken.wav"
                    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(spoken),
                                    word], check=True)
                    samples, rate = soundfile.read(spoken, dtype="float32")
                    samples = soxr.resample(samples, rate, RATE)
                    voiced = np.flatnonzero(np.abs(samples) > 0.01)
                    samples = samples[voiced[0]:voiced[-1] + 1][:RATE]  # the word, without espeak's silence
                    clip = noise(RATE)
                    start = rng.integers(0, RATE - len(samples) + 1)
                    clip[start:start + len(samples)] += samples * rng.uniform(0.3, 0.9) / np.abs(samples).max()
                    save(clip, FOLDER / word / f"{voice.replace('+', '_')}_s{speed}_p{pitch}.wav")
for i in range(24):
    save(noise(RATE), FOLDER / "background" / f"noise_{i:02d}.wav")
print("clips:", len(list(FOLDER.glob("*/*.wav"))))
