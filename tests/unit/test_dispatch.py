"""doit starts the steps that become ready together in the order they are listed (graph/dispatch.py)."""
import random

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
from doit.reporter import ConsoleReporter

from edgebuild.graph.dispatch import ready_in_listed_order


def started_order(tmp_path, listed: list[str], jobs: int) -> list[str]:
    started = []

    class Recorder(ConsoleReporter):
        def execute_task(self, task):
            if task.actions:  # (not the group task)
                started.append(task.name)

    def task_all():
        yield {"name": "first", "actions": ["true"]}
        for name in listed:  # all waiting on "first": ready together when it finishes
            yield {"name": name, "actions": ["true"], "task_dep": ["all:first"]}

    config = {"dep_file": str(tmp_path / f"db{jobs}"), "backend": "sqlite3", "reporter": Recorder, "verbosity": 0}
    args = ["run", *(["-n", str(jobs), "-P", "process"] if jobs > 1 else [])]
    assert DoitMain(ModuleTaskLoader({"DOIT_CONFIG": config, "task_all": task_all})).run(args) == 0
    return started


def test_steps_ready_together_start_in_the_order_they_are_listed(tmp_path):
    ready_in_listed_order()
    listed = [f"step{i:02d}" for i in range(40)]
    random.Random(0).shuffle(listed)  # (neither alphabetical nor in the order of creation)
    expected = ["all:first", *(f"all:{name}" for name in listed)]
    assert started_order(tmp_path, listed, 1) == expected
    # two workers take the steps in that order; each says it started when it does, so neighbours may swap
    started = started_order(tmp_path, listed, 2)
    assert sorted(started) == sorted(expected)
    assert max(abs(started.index(name) - i) for i, name in enumerate(expected)) <= 1, started
