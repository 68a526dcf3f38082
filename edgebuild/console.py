"""What `doit` and `edgebuild build` print: one line per step run, then a closing line and every failure.

Up-to-date steps are counted, not listed; a step not run because an earlier one failed is
counted too, so each failure is shown once, at its cause.

Exit status, the same under `doit` and `edgebuild build`: 0 success, 1 a step or gate failed,
2 a bad recipe or argument (or a bug in edgebuild, which keeps its traceback), 130 Ctrl-C.
doit itself calls a step skipped after a failure an error (2), which would make a gate that
failed look like a broken recipe to a CI script; this reporter files such a skip under the
failure it follows, so the build ends with doit's own "task failed" status, 1.
"""
from __future__ import annotations

import os
import sys
import time

from doit.exceptions import TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter

from . import progress
from .recipe import PRUNE_TASK


class NotRunAfterFailure(TaskFailed):
    """A step doit skipped because a step it depends on failed: part of that failure, not an error."""


class BuildReporter(ConsoleReporter):
    desc = "edgebuild: a line per step run, every failure at the end"

    def __init__(self, outstream, options):
        # Progress, not results: the terminal's stderr, beside the steps' own progress lines.
        super().__init__(progress.terminal if outstream is sys.stdout else outstream, options)
        self.task_started = 0.0
        self.started = time.perf_counter()
        self.executed: list[str] = []
        self.up_to_date = 0
        self.not_run = 0
        self.failure_lines: list[str] = []

    def execute_task(self, task):
        if task.actions:
            self.executed.append(task.name)
            self.write(f".  {task.title()}\n")
            self.outstream.flush()
            self.task_started = time.perf_counter()

    def add_success(self, task):
        if task.actions and os.environ.get("EDGEBUILD_TIMES"):
            self.write(f"   ({time.perf_counter() - self.task_started:.2f}s)\n")

    def skip_uptodate(self, task):
        if task.actions and task.name != PRUNE_TASK:  # housekeeping, not a step of any recipe
            self.up_to_date += 1

    def skip_ignore(self, task):
        pass

    def add_failure(self, task, fail):
        if isinstance(fail, UnmetDependency):
            self.not_run += 1
            # doit decides its exit status from this object's class right after this call returns
            fail.__class__ = NotRunAfterFailure
        elif isinstance(fail, TaskFailed):  # (the same line from several steps, as "the cluster went away": once)
            self.failure_lines.extend(line for line in fail.message.splitlines() if line not in self.failure_lines)
        else:  # an exception edgebuild did not expect: keep the traceback, it is a bug
            self.failure_lines.append(f"{task.name}: {fail.get_msg().rstrip()}")

    def complete_run(self):
        seconds = time.perf_counter() - self.started
        if isinstance(sys.exc_info()[1], KeyboardInterrupt):  # doit reports while the Ctrl-C unwinds
            done = max(len(self.executed) - 1, 0)
            progress.say_interrupted(f" after {seconds:.1f}s, during {self.executed[-1] if self.executed else 'start-up'};"
                                     f" {done} steps done are kept, the next build goes on from there")
            return
        parts = [f"{len(self.executed)} steps run", f"{self.up_to_date} up to date"]
        if self.not_run:
            parts.append(f"{self.not_run} not run after a failure")
        self.write(f"edgebuild: {', '.join(parts)} in {seconds:.1f}s\n")
        if self.failure_lines:
            self.write(f"edgebuild: {len(self.failure_lines)} failure{'s' if len(self.failure_lines) > 1 else ''}:\n")
            for line in self.failure_lines:
                self.write(f"{line}\n")
        for message in self.runtime_errors:
            self.write(f"edgebuild: {message}\n")
        self.outstream.flush()
