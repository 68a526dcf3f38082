"""The keep_float: auto search, with a fake measure: which ops in float make a model pass, and at what size."""
import itertools

from edgebuild.steps.mixed import Attempt, pinned, search

NODES = [f"op{i}" for i in range(12)]
FLOAT_COST = 100  # bytes an op adds when kept in float


def fake(needed_any_of: list[set[str]], base_size: int = 1000):
    """A model that passes when the kept ops include one of the `needed_any_of` sets."""
    calls = []

    def measure(kept):
        calls.append(kept)
        passed = any(need <= set(kept) for need in needed_any_of)
        return Attempt(kept, 0.95 if passed else 0.5, base_size + FLOAT_COST * len(kept), 0.1, passed)
    return measure, calls


def smallest_passing(needed_any_of: list[set[str]]) -> int:
    return min(len(need) for need in needed_any_of)


def test_a_model_that_passes_fully_quantized_keeps_nothing():
    measure, calls = fake([set()])
    result = search(NODES, measure)
    assert result.passed and result.best.kept == () and calls == [()]


def test_the_input_side_pair_the_ranking_misses_is_found():
    """The wine case: the first two ops (normalization) break the model; the largest-error ops do not."""
    measure, calls = fake([{"op0", "op1"}])
    result = search(NODES, measure, rankings=[("error", ["op7", "op9", "op3", "op0", "op1"])])
    assert result.passed and result.best.kept == ("op0", "op1")
    assert len(calls) <= 4 * len(NODES).bit_length() + 2  # few conversions, not every subset


def test_an_op_deep_inside_is_isolated_by_pruning():
    for bad in NODES:
        measure, _ = fake([{bad}])
        result = search(NODES, measure)
        assert result.best.kept == (bad,), bad


def test_the_result_is_the_smallest_of_the_orderings_and_one_minimal():
    for a, b in itertools.combinations(["op0", "op4", "op8", "op11"], 2):
        measure, _ = fake([{a, b}])
        result = search(NODES, measure)
        assert set(result.best.kept) == {a, b}
        for node in result.best.kept:  # dropping any kept op fails
            assert not any(need <= set(result.best.kept) - {node} for need in [{a, b}])


def test_a_budget_that_cannot_pass_reports_the_best_attempt():
    measure, _ = fake([set(NODES[:6])])
    result = search(NODES, measure, max_float=3)
    assert not result.passed
    assert len(result.best.kept) <= 3
    assert all(len(a.kept) <= 3 for a in result.attempts)


def test_the_search_stops_at_float16_size():
    measure, calls = fake([set(NODES)])  # only all-float passes
    cap = 1000 + FLOAT_COST * 4  # "float16-sized" after 4 float ops
    result = search(NODES, measure, size_cap=cap)
    assert not result.passed
    assert max(len(k) for k in calls) <= 4


def test_each_set_is_measured_once():
    measure, calls = fake([{"op5"}])
    search(NODES, measure, rankings=[("error", ["op5"]), ("again", ["op5"])])
    assert len(calls) == len(set(calls))


def test_pinned_patterns_match_exactly_their_op():
    import re

    names = ["sequential/dense/MatMul;x", "sequential/dense/MatMul;x1", "a.b(c)"]
    for name, pattern in zip(names, pinned(names)):
        assert [n for n in names if re.search(pattern, n)] == [name]
