"""A failed step poisons no record of the steps after it.

The build runs doit with "continue", so one failure does not stop the other recipes. doit then marks
every step downstream of the failed one as failed too ("unmet dependency") and removes its success
record (doit/runner.py, Runner._handle_task_error -> remove_success). Those steps did not run and their
outputs are as the last good build left them, yet after the fix they all rerun, even when the fixed
step gives the same bytes: 141 s instead of 7 s for an unreadable picture that was removed again.

Here only the step that failed loses its record. A step that was merely not run keeps its own: when
its inputs come back byte-identical it is up to date, and when they differ doit reruns it as usual.
"""
from __future__ import annotations


def keep_records_of_steps_not_run() -> None:
    """Make doit's runners (every kind: -n 1, -n N processes, Dask's threads) keep the success record of a
    step that was not run because a step before it failed. Idempotent."""
    from doit import runner
    from doit.exceptions import UnmetDependency

    if getattr(runner.Runner, "_edgebuild_keeps_records", False):
        return
    handle_error = runner.Runner._handle_task_error

    def _handle_task_error(self, node, base_fail):
        if not isinstance(base_fail, UnmetDependency):
            return handle_error(self, node, base_fail)
        self.dep_manager.remove_success = lambda task: None  # (this call only: the class's method is restored)
        try:
            return handle_error(self, node, base_fail)
        finally:
            del self.dep_manager.remove_success

    runner.Runner._handle_task_error = _handle_task_error
    runner.Runner._edgebuild_keeps_records = True
