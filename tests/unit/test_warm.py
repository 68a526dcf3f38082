"""Which builds import TensorFlow before doit forks its workers (run/warm.py), and how many workers doit forks."""
import pytest

from edgebuild.api import _doit_jobs
from edgebuild.run import warm

NAMES = ["_prune", "iris:data", "iris:source", "iris:convert/fp32", "iris:evaluate/fp32", "iris:gate/fp32",
         "iris:bundle/android", "_index"]


@pytest.mark.parametrize("stale, needed", [
    (None, True),  # never built: everything runs
    ({"iris:convert/fp32", "iris:evaluate/fp32"}, True),
    ({"iris:gate/fp32", "iris:bundle/android", "_index"}, False),  # a threshold edit
    ({"iris:evaluate/fp32"}, False),  # LiteRT only
    (set(), False),  # a no-op
])
def test_tensorflow_is_imported_only_for_steps_that_need_it(stale, needed):
    assert warm.needs_tensorflow(stale, NAMES) is needed


@pytest.mark.parametrize("argv, jobs", [
    ([], 1), (["-n", "2"], 2), (["run", "-n2"], 2), (["--process=3"], 3), (["--process", "4", "iris"], 4),
    (["-n", "2", "-P", "thread"], 1), (["-n", "2", "--parallel-type=thread"], 1), (["list"], 1),
])
def test_doit_worker_count_from_its_command_line(argv, jobs):
    assert _doit_jobs(argv) == jobs


def test_one_worker_imports_nothing_ahead():
    assert warm.import_before_forking(1, None, NAMES) is False
