"""Acceptance gates: a pure function from thresholds and measured metrics to a verdict."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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


# threshold -> (metric it reads, how it is shown, measured passes when ...)
RULES = {
    "min_accuracy": ("accuracy", lambda v: f"{v:.4f}", "accuracy {m} < min_accuracy {l}", lambda m, l: m >= l),
    "max_accuracy_drop": ("accuracy_drop", lambda v: f"{v:.4f}", "accuracy_drop {m} > max_accuracy_drop {l}",
                          lambda m, l: m <= l + 1e-12),
    "max_size_kb": ("size_bytes", None, "size {m} KB > max_size_kb {l}", lambda m, l: m <= l),
    "max_latency_ms": ("latency_ms_median", lambda v: f"{v:.3f}", "latency {m} ms > max_latency_ms {l}",
                       lambda m, l: m <= l),
}


def judge(where: str, limits: dict, metrics: dict) -> Verdict:
    """Check every limit against the metrics; `where` prefixes each failure (`recipes/x.yaml: name/target`)."""
    checks = []
    for threshold, limit in sorted(limits.items()):
        metric, show, template, ok = RULES[threshold]
        measured = metrics[metric]
        if threshold == "max_size_kb":
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
