"""How many worker processes a build with `-n JOBS` should use: as many as pay for their start-up.

Each doit worker process imports TensorFlow (2 to 5 s here; see warm.py). On small models the
parallel work (conversions, evaluations) is shorter than that import, so a second worker made
`-n 2` slower than `-n 1` (digits-dense: 1.51x against 1.21x of the hand-written pipeline).
A build therefore uses more than one worker only when the conversions it will run (out of date
by doit's own check) are estimated at PARALLEL_MIN_SECONDS or more. The estimate is per target,
from the model's parameters (a Keras file's size / 4, or the last build's source.json), with the
per-conversion cost measured here: about 0.3 s plus 2.3 s per million parameters (0.4 s at 0.1 M,
5.5 s at MobileNetV2's 2.26 M). A threshold or template edit converts nothing, so it runs in one
process whatever `-n` says.
"""
from __future__ import annotations

from pathlib import Path

from ..layout import RecipeLayout, read_json
from ..recipe import Recipe

PARALLEL_MIN_SECONDS = 12.0
UNKNOWN_PARAMS = 100_000  # a training script never built before


def estimated_params(recipe: Recipe) -> int:
    model = recipe.spec.model
    info = RecipeLayout(recipe.root, recipe.name).source_info
    try:
        return int(read_json(info)["params"] or UNKNOWN_PARAMS)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if model.keras or model.tflite:
        path = recipe.path(model.keras or model.tflite)
        return path.stat().st_size // 4 if path.is_file() else UNKNOWN_PARAMS
    if model.saved_model:
        folder = Path(recipe.path(model.saved_model)) / "variables"
        return sum(p.stat().st_size for p in folder.glob("variables.data-*")) // 4 or UNKNOWN_PARAMS
    return UNKNOWN_PARAMS


def parallel_seconds(recipes: list[Recipe], stale: set[str] | None = None) -> float:
    """Estimated seconds of the conversions this build runs: every target's, or, given the doit task
    names that are out of date, only those targets whose `<recipe>:convert/<target>` is among them."""
    def converting(recipe: Recipe) -> int:
        return sum(1 for t in recipe.spec.targets if stale is None or f"{recipe.name}:convert/{t.name}" in stale)
    return sum(converting(r) * (0.3 + 2.3 * estimated_params(r) / 1e6) for r in recipes)


def workers(jobs: int, seconds: float) -> int:
    """`jobs`, or 1 when `seconds` of conversions (none at all, or too few) would not pay for a second worker."""
    return jobs if jobs <= 1 or (seconds > 0 and seconds >= PARALLEL_MIN_SECONDS) else 1
