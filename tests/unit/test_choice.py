"""The ship choice (steps/choice.py): hybrid targets step aside, ship_by, baselines, named targets."""
import pytest

from edgebuild.steps.choice import choose


def target(name, size, latency, passed=True, hybrid=False, baseline=False):
    return {"name": name, "metrics": {"size_bytes": size, "latency_ms_median": latency},
            "verdict": {"passed": passed}, "hybrid": hybrid, "baseline": baseline}


TARGETS = [target("fp32", 9000, 0.4), target("fp16", 5000, 0.5), target("dyn8", 2500, 0.8, hybrid=True),
           target("int8", 3000, 0.3)]


def test_a_hybrid_target_does_not_ship_while_another_passed():
    choice = choose(TARGETS)
    assert choice.target == "int8"  # the smallest of fp32, fp16, int8: dyn8 is smaller, but hybrid
    assert choice.why == "the smallest of the 3 non-hybrid targets that passed every threshold (3000 bytes)"
    assert choice.passed_over["dyn8"].startswith("a hybrid model")
    assert choice.passed_over["fp32"] == "larger than int8 (9000 bytes)"
    assert list(choice.passed_over) == ["fp32", "fp16", "dyn8"]  # in the recipe's order


def test_a_hybrid_target_ships_when_nothing_else_passed():
    targets = [target("fp32", 9000, 0.4, passed=False), target("dyn8", 2500, 0.8, hybrid=True)]
    choice = choose(targets)
    assert choice.target == "dyn8" and choice.why.startswith("the only hybrid target")
    assert choice.passed_over == {"fp32": "missed a threshold"}


def test_ship_names_a_hybrid_target():
    assert choose(TARGETS, ship="dyn8").target == "dyn8"


def test_ship_by_latency_picks_the_fastest_and_keeps_figures_out_of_the_reasons():
    choice = choose(TARGETS, ship_by="latency")
    assert choice.target == "int8"
    assert "0." not in choice.why and not any("0." in r for r in choice.passed_over.values())
    assert choice.figures.startswith("int8 0.300 ms, fp32 0.400 ms")
    fast_fp32 = [target("fp32", 9000, 0.1), target("int8", 3000, 0.3)]
    assert choose(fast_fp32, ship_by="latency").target == "fp32"
    assert choose(fast_fp32, ship_by="size").target == "int8"


@pytest.mark.parametrize("passed", [True, False])
def test_a_baseline_never_ships(passed):
    targets = [target("fp32", 900, 0.1, passed=passed, baseline=True), target("int8", 3000, 0.3)]
    choice = choose(targets)
    assert choice.target == "int8"
    assert choice.passed_over == {"fp32": "baseline: true (measured, never shipped)"}


def test_nothing_ships_when_every_gated_target_failed():
    choice = choose([target("fp32", 900, 0.1, passed=False), target("int8", 3000, 0.3, passed=False)])
    assert choice.target is None and choice.why == "no target passed every threshold"


def test_a_tie_in_size_goes_to_the_first_name_and_says_so():
    choice = choose([target("fp32", 3296, 0.1), target("dyn8", 3296, 0.1)])
    assert choice.target == "dyn8" and choice.passed_over == {"fp32": "the same size as dyn8, which comes first by name"}
