"""Acceptance gates: a pure function from thresholds and measured metrics to a verdict.

Two steps use it: gate/<t> writes each target's verdict.json; `check`, the recipe's last
step, fails the build when any target failed, after the summary, report and bundles are written.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import GateFailed
from ..graph.step import Step
from ..kinds import Rule, all_rules, at_least
from ..layout import read_json, write_json


@dataclass(frozen=True)
class Check:
    threshold: str
    limit: float
    measured: float
    passed: bool
    message: str  # the failure line, also set for a check that passed (for reports)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    failures: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


# threshold -> (metric it reads, how it is shown, the failure line, measured passes when ...): the thresholds
# every task has, then each task kind's own (edgebuild.kinds: accuracy, MAE, mIoU ...)
RULES = {
    "min_output_snr_db": at_least("output_snr_db", "min_output_snr_db", 2),
    "min_output_cosine": at_least("output_cosine", "min_output_cosine", 5),
    "max_size_kb": Rule("size_bytes", None, "size {m} KB > max_size_kb {l}", lambda m, l: m <= l),
    "max_latency_ms": Rule("latency_ms_median", lambda v: f"{v:.3f}", "latency {m} ms > max_latency_ms {l}",
                           lambda m, l: m <= l),
    "max_arena_kb": Rule("tflm_arena_bytes", None, "TensorFlow Lite Micro arena {m} KB > max_arena_kb {l}",
                         lambda m, l: m <= l),
    "max_flash_kb": Rule("tflm_flash_bytes", None, "TensorFlow Lite Micro flash {m} KB > max_flash_kb {l}",
                         lambda m, l: m <= l),
    "max_gpu_fallback_ops": Rule("gpu_fallback_ops", lambda v: f"{v:g}",
                                 "gpu_fallback_ops {m} > max_gpu_fallback_ops {l} (advisory: LiteRT's GPU delegate "
                                 "rules read from the model; `edgebuild inspect` names the ops)", lambda m, l: m <= l),
    **all_rules(),
}


def judge(where: str, limits: dict, metrics: dict) -> Verdict:
    """Check every limit against the metrics; `where` prefixes each failure (`recipes/x.yaml: name/target`)."""
    checks = []
    for threshold, limit in sorted(limits.items()):
        metric, show, template, ok = RULES[threshold]
        if metric not in metrics:  # (TFLM's figures of a target with an op TFLM lacks)
            lacks = ", ".join(metrics.get("tflm_lacks", []))
            why = f"no kernel for {lacks}" if lacks else metrics.get("tflm_refuses", "not measured")
            checks.append(Check(threshold, limit, float("nan"), False,
                                f"{where}: {threshold}: TensorFlow Lite Micro cannot run this target ({why})"))
            continue
        measured = metrics[metric]
        if threshold.endswith("_kb"):
            measured = measured / 1000
            shown_m, shown_l = f"{measured:.1f}", f"{limit:g}"
        elif threshold == "max_latency_ms":
            shown_m, shown_l = show(measured), f"{limit:g}"
        else:
            shown_m, shown_l = show(measured), show(limit)
        passed = ok(measured, limit)
        checks.append(Check(threshold, limit, measured, passed, f"{where}: {template.format(m=shown_m, l=shown_l)}"))
    failures = [c.message for c in checks if not c.passed]
    return Verdict(passed=not failures, failures=failures, checks=checks)


def write_verdict(recipe, layout, target: str) -> Verdict:
    verdict = judge(recipe.where(target), recipe.thresholds_for(recipe.target(target)),
                    read_json(layout.metrics(target)))
    if not verdict.passed and recipe.target(target).keep_float == "auto":
        verdict.failures.append(search_line(recipe.where(target), read_json(layout.mixed(target))))
    write_json(layout.verdict(target), verdict.to_json())
    return verdict


def search_line(where: str, mixed: dict) -> str:
    """The one line a failed keep_float search adds: how far its best attempt got."""
    best, budget = mixed["best"], mixed["max_float_layers"]
    limit = (f"the budget of {budget} float ops" if budget else
             f"float16 size (about {mixed['float16_size_bytes']} bytes)" if mixed["float16_size_bytes"] else "all ops")
    return (f"{where}: keep_float: auto found no passing model within {limit} in {mixed['conversions']} "
            f"conversions; the best kept {best['float_layers']} of {mixed['ops']} ops in float: {mixed['metric']} "
            f"{best['value']:.4f}, {best['size_bytes']} bytes")


def step(recipe, layout, target: str) -> Step:
    """gate/<t>: metrics.json -> verdict.json, rerun when the target's thresholds change."""
    search = (layout.mixed(target),) if recipe.target(target).keep_float == "auto" else ()
    return Step(f"gate/{target}", "check the thresholds", write_verdict, (recipe, layout, target),
                reads=(layout.metrics(target), *search), writes=(layout.verdict(target),),
                config={"limits": recipe.thresholds_for(recipe.target(target)), "where": recipe.where(target)})


def fail_on_gate_failures(layout) -> None:
    """Fail the build, after the summary and report are written, when any target missed a threshold."""
    failures = read_json(layout.summary)["failures"]
    if failures:
        raise GateFailed(failures)


def check_step(recipe, layout) -> Step:
    """check: the recipe's last step; writes nothing, fails while a gate fails."""
    return Step("check", "fail the build if a gate failed", fail_on_gate_failures, (layout,),
                reads=(layout.summary, layout.report_html))
