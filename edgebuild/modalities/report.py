"""A modality's own section of a recipe's report, from the prepared test split and what each target predicted.

sound: for the first test clips of each label, a picture of the waveform and its spectrogram, the true label and
each target's class (a classifier's `predicted_classes`, saved by its evaluation).
"""
from __future__ import annotations

import base64

from . import SOUND, of

CLIPS_PER_LABEL = 2


def context(recipe, summary: dict, x_test, y_test) -> tuple[dict, dict[str, bytes]]:
    """(values for templates/report/modalities/<name>.*.j2, files under charts/)."""
    if of(recipe) is not SOUND:
        return {}, {}
    from .. import charts
    from .sound import rate_and_samples

    rate = rate_and_samples(recipe.spec.dataset)[0]
    labels, targets = summary["labels"], summary["targets"]
    chosen = [i for k in range(len(labels)) for i in [j for j, y in enumerate(y_test) if int(y) == k][:CLIPS_PER_LABEL]]
    clips, pictures = [], []
    for i in chosen:
        png = charts.clip_png(x_test[i], rate)
        pictures.append(png)
        truth = int(y_test[i])
        classes = [int(t["metrics"]["predicted_classes"][i]) for t in targets]
        clips.append({"index": i, "truth": labels[truth], "png": base64.b64encode(png).decode(),
                      "found": [(t["name"], labels[c], c == truth) for t, c in zip(targets, classes)]})
    section = {"clips": clips, "clip_rate": rate, "clip_targets": [t["name"] for t in targets],
               "clips_per_label": CLIPS_PER_LABEL}
    return section, ({"clips.png": charts.stacked_png(pictures)} if pictures else {"clips.png": b""})
