"""The gate is a pure function: limits and metrics in, verdict with exact messages out."""
from edgebuild.steps.gate import judge

METRICS = {"accuracy": 0.912, "accuracy_drop": 0.025, "size_bytes": 412_345, "latency_ms_median": 2.3104}


def test_every_failure_named_with_threshold_and_measured_value():
    verdict = judge("recipes/digits.yaml: digits-dense/int8",
                    {"min_accuracy": 0.95, "max_accuracy_drop": 0.01, "max_size_kb": 400, "max_latency_ms": 2.0},
                    METRICS)
    assert not verdict.passed
    assert verdict.failures == [
        "recipes/digits.yaml: digits-dense/int8: accuracy_drop 0.0250 > max_accuracy_drop 0.0100",
        "recipes/digits.yaml: digits-dense/int8: latency 2.310 ms > max_latency_ms 2",
        "recipes/digits.yaml: digits-dense/int8: size 412.3 KB > max_size_kb 400",
        "recipes/digits.yaml: digits-dense/int8: accuracy 0.9120 < min_accuracy 0.9500",
    ]


def test_limits_met_pass_and_are_recorded():
    verdict = judge("r: n/t", {"min_accuracy": 0.912, "max_size_kb": 412.345}, METRICS)
    assert verdict.passed and verdict.failures == []
    assert [(c.threshold, c.measured, c.passed) for c in verdict.checks] == [
        ("max_size_kb", 412.345, True), ("min_accuracy", 0.912, True)]


def test_no_limits_no_checks():
    assert judge("r: n/t", {}, METRICS).to_json() == {"passed": True, "failures": [], "checks": []}


def test_equal_drop_passes_despite_float_rounding():
    drop = 0.9638888888888889 - 0.9611111111111111  # 0.0027777...; the limit written as 0.00277777777777778
    assert judge("r: n/t", {"max_accuracy_drop": round(drop, 17)}, {**METRICS, "accuracy_drop": drop}).passed
