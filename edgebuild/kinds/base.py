"""The interface every task kind implements (`TaskKind`), and the small pieces kinds share."""
from __future__ import annotations

from typing import Callable, NamedTuple

COMMON_THRESHOLDS = ("max_size_kb", "max_latency_ms", "min_output_snr_db", "min_output_cosine", "max_gpu_fallback_ops",
                     "max_arena_kb", "max_flash_kb")


# The golden vectors' tolerances (bundle/golden.py): MARGIN times the largest difference measured between
# LiteRT's kernel sets, plus FLOAT_FLOOR for a float output. Here, where the kinds that size their own
# tolerances and the golden step both read them.
MARGIN = 2.0
FLOAT_FLOOR = 1e-6  # added to a float output's tolerance: two identical kernel sets still leave rounding room


class Rule(NamedTuple):
    """A gate rule: the metric it reads, how a value is shown, the failure line, when the measured value passes."""

    metric: str
    show: Callable | None
    template: str
    ok: Callable


def at_least(metric: str, threshold: str, digits: int = 4) -> Rule:
    return Rule(metric, lambda v: f"{v:.{digits}f}", f"{metric} {{m}} < {threshold} {{l}}", lambda m, l: m >= l)


def at_most(metric: str, threshold: str, digits: int = 4) -> Rule:
    return Rule(metric, lambda v: f"{v:.{digits}f}", f"{metric} {{m}} > {threshold} {{l}}",
                lambda m, l: m <= l + 1e-12)


class OutputMetadata(NamedTuple):
    """What the shipped model's standard metadata says of its output."""

    name: str  # the output's metadata name (MediaPipe's ImageEmbedder reports a regression's values under it)
    description: str
    labels: list[str]  # packed as TENSOR_AXIS_LABELS on the output; none: no file
    summary: str  # the model's description when the recipe gives none: "<recipe>: <summary>"


class TaskKind:
    """What one task kind answers for the steps, grouped by who asks. A new kind is a subclass in a module of
    its own, one line in KINDS (kinds/__init__.py), and its templates (templates/<platform>/<name>/,
    templates/report/kinds/<name>.*.j2). Write it one group at a time; what is not listed as required has a
    default that fits a model of one output:

        group       required                                           asked by
        data        name, prepare_y, check_output                      recipe checks, data and source steps
        metrics     rules, primary, primary_label, measure,            evaluate, gate, keep_float: auto
                    compare, line
        metadata    output_metadata                                    ship (standard metadata)
        bundles     wrapper, verb, golden                              golden step, bundle templates
        report      shown, columns                                     summary, ship.json, reports
    """

    # --- data: what the recipe checks, the data step and the source step ask --------------------------

    name: str
    labels_required: bool = True  # classification and segmentation name their classes

    def prepare_y(self, recipe, y, part: str):
        """The targets of one split, checked and typed; a StepError names what is wrong."""
        raise NotImplementedError

    def check_output(self, recipe, output_shape: list, y_test) -> str | None:
        """Why the model's output (shape without the batch) does not fit the labels and data, or None."""
        raise NotImplementedError

    def check_outputs(self, recipe, output_shapes: list[list], y_test) -> str | None:
        """Why the model's outputs do not fit, or None; most kinds take one output (`check_output`)."""
        if len(output_shapes) != 1:
            return f"model: expected one output; the model has {len(output_shapes)}"
        return self.check_output(recipe, output_shapes[0], y_test)

    # --- metrics and gates: what the evaluation, the gate and keep_float: auto ask --------------------

    rules: dict[str, Rule] = {}  # its own thresholds, in report order
    search_limits: tuple[str, ...] = ()  # the thresholds keep_float: auto must meet (besides max_size_kb)
    primary: str  # the metric that sums a model up (reports, the index, ship.json's reference)
    primary_label: str  # how reports name it
    higher_is_better: bool = True

    @property
    def thresholds(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def measure(self, recipe, outputs, y) -> dict:
        """Metrics of a model's (float) outputs against the test split's targets."""
        raise NotImplementedError

    def compare(self, metrics: dict, reference: dict) -> dict:
        """The metrics relative to the unconverted model's (drops, increases)."""
        raise NotImplementedError

    def line(self, metrics: dict) -> str:
        """The progress line's part on the metrics."""
        raise NotImplementedError

    def from_model(self, recipe, outputs):
        """The unconverted model's outputs as `measure` takes them (detection decodes its boxes)."""
        return outputs

    def run_tflite(self, recipe, model, x):
        """A converted model's outputs for the samples `x`, as `measure` takes them (`model`: path or bytes)."""
        from ..tflite.runner import TFLiteRunner

        return TFLiteRunner(model).run(x)

    def near_chance(self, reference: dict, labels: list[str]) -> str | None:
        """When the unconverted model does no better than guessing (its metrics in reference.json), the one line
        that says so beside the gate failures, so the user trains the model instead of tuning quantization."""
        return None

    # --- metadata: what the ship step writes into the shipped model -----------------------------------

    shipped_outputs: int = 1  # the shipped model's outputs, which its standard metadata describes
    float_outputs: bool = False  # its models keep float32 outputs whatever a target's io (detection's op)

    def output_metadata(self, recipe, tensor, labels_file: str) -> OutputMetadata:
        """The output's part of the standard metadata (`tensor`: inspection.TensorInfo)."""
        raise NotImplementedError

    def outputs_metadata(self, recipe, model, labels_file: str) -> tuple[list, list[str], str]:
        """(tflite.metadata.OutputFacts per output, labels packed as labels_file, the model's summary) for
        the shipped model (`model`: its inspection.Inspection); most kinds have one output (`output_metadata`)."""
        from ..tflite.metadata import OutputFacts

        (tensor,) = model.outputs
        quantized = (f", quantized with scale {tensor.scales[0]:.9g} and zero point {tensor.zero_points[0]}"
                     if tensor.scales else "")
        output = self.output_metadata(recipe, tensor, labels_file)
        return [OutputFacts(output.name, output.description + quantized, "axis" if output.labels else None)], \
            output.labels, output.summary

    def output_names(self, recipe, width: int) -> list[str]:
        """What the output's values are called: the labels."""
        return list(recipe.labels)

    # --- bundles: what the golden step and the app wrappers ask ---------------------------------------

    wrapper: str  # the bundles' class suffix: <Name>Classifier, <Name>Regressor, ...
    verb: str  # the wrappers' method: classify, predict, segment

    def golden(self, recipe, output) -> dict:
        """What the bundles' wrappers must make of one sample's (dequantized) output, for the golden vectors
        (a kind with `output_roles` gets {role: output} and the raw sample)."""
        raise NotImplementedError

    def bundle_values(self, output_tensor: dict) -> dict:
        """What the bundles' templates need to know besides the tensors (bundle/context.py's `_tensor`)."""
        return {}

    def golden_tolerance(self, outputs: list[dict], measured: list[list], samples: list) -> dict:
        """The tolerances the bundles' golden tests use, by name (bundle/golden.py). `outputs`: each output's
        measured difference and tolerance (`value`, in the output's own units); `measured`: for each candidate
        input, each kernel set's dequantized outputs (a list by position, or {role: output} for a kind with
        `output_roles`); `samples`: the candidates' raw values. A key "measured" holds what was measured."""
        return {}

    def measured_outputs(self, outputs: list, roles: dict[str, int] | None) -> list:
        """One invoke's raw outputs as kernel sets are compared (a detector zeroes the slots its op leaves unwritten)."""
        return outputs

    def stable_decision(self, recipe, per_kernel: list, tolerance: dict, sample) -> bool:
        """Whether one input's decision holds beyond `tolerance` under every kernel set (`per_kernel`: for each
        set, the dequantized outputs, as in golden_tolerance; `sample`: the raw input). Inputs that do not are
        kept out of the golden vectors when others do, and the apps' tests check only what they can."""
        return True

    def output_roles(self, model: bytes) -> dict[str, int] | None:
        """For a model of several outputs, where each sits among them ({role: position}); None: one output."""
        return None

    # --- report: what the summary and the reports show ------------------------------------------------

    shown: tuple[str, ...] = ()  # the metrics ship.json and the bundles' metadata carry
    columns: tuple[tuple[str, str, str], ...] = ()  # report table: (metric, header, printf format)
    report_files: tuple[str, ...] = ()  # its own files under build/<recipe>/charts/
    report_reads_data: bool = False  # its report section shows the test split's first samples (data.npz)
    # a measured value too large for metrics.json (a segmenter's sample masks): the evaluation saves it as
    # build/<recipe>/<target>/<name>.npy, and the report puts it back into the target's metrics to draw it
    report_arrays: tuple[str, ...] = ()

    def report_context(self, summary: dict, focus: dict, data) -> tuple[dict, dict[str, bytes]]:
        """Its report section's values (templates/report/kinds/<name>.*.j2), and its files under charts/
        (`report_files`) as bytes; `focus` is the shipped target (else the best one) from summary.json;
        `data`: the test split's golden_raw and y_test when `report_reads_data`, else None."""
        return {}, {}


NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def json_float(value: float) -> float | str:
    """A float as JSON can carry it: itself, or "NaN" / "Infinity" / "-Infinity" (golden vectors hold them)."""
    import math

    value = float(value)
    return value if math.isfinite(value) else NON_FINITE[repr(value)]
