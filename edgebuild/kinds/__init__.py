"""Task kinds: what a recipe's `task:` changes, each kind one module behind `TaskKind`.

The steps never test which task a recipe has; they ask its kind:

    data       prepare_y: check and type the targets (class indices, floats, masks)
    source     check_outputs: do the model's outputs fit the labels and the data
    reference, evaluate/<t>, keep_float: auto
               from_model / run_tflite: a model's outputs as measure takes them;
               measure: metrics of a model's outputs on the test split; compare: against the reference
    gate       rules: the kind's own thresholds; search_limits: what keep_float: auto meets
    ship       output_metadata: the output's part of the standard metadata
    bundles    wrapper, golden vectors, templates (templates/<platform>/<kind>/)
    report     columns of the target table and its own section (templates/report/kinds/<kind>.*.j2)

Adding a kind: a module here with a `TaskKind` subclass (the interface is in base.py), its templates
(templates/android/<kind>/, templates/ios/<kind>/, templates/report/kinds/), its thresholds in
`schema.Thresholds`, its name in `schema.Task`, and one line in `KINDS` below. The kinds do no I/O of
their own (the steps read and write), and import NumPy only inside functions: validating a recipe asks
a kind for its thresholds.
"""
from __future__ import annotations

from . import classification, detection, regression, segmentation
from .base import COMMON_THRESHOLDS, OutputMetadata, Rule, TaskKind, at_least, at_most, json_float

__all__ = ["COMMON_THRESHOLDS", "KINDS", "OutputMetadata", "Rule", "TaskKind", "all_rules", "at_least", "at_most",
           "json_float", "kind_of"]

KINDS: dict[str, TaskKind] = {kind.name: kind for kind in (classification.KIND, regression.KIND, segmentation.KIND,
                                                       detection.KIND)}


def kind_of(recipe) -> TaskKind:
    """The kind of a Recipe (or a RecipeSpec)."""
    spec = getattr(recipe, "spec", recipe)
    return KINDS[spec.task.value]


def all_rules() -> dict[str, Rule]:
    """Every kind's threshold rules (names are unique across kinds)."""
    return {name: rule for kind in KINDS.values() for name, rule in kind.rules.items()}
