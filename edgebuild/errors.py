"""One error hierarchy: the CLI and doit tasks catch EdgebuildError and print its message.

Anything else that escapes is a bug in edgebuild and keeps its traceback.
"""
from __future__ import annotations


class EdgebuildError(Exception):
    """A problem the user can fix: the message is one line per problem, no traceback."""

    exit_code = 1


class RecipeError(EdgebuildError):
    """One or more problems in recipe files, each `file:line: field: what was expected`."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class InputError(EdgebuildError):
    """A file named on the command line or by a recipe is missing or unreadable."""

    exit_code = 2


class GateFailed(EdgebuildError):
    """A target missed a threshold: one line per failure, naming recipe, target, threshold and value."""

    def __init__(self, failures: list[str]):
        self.failures = list(failures)
        super().__init__("\n".join(self.failures))


class StepError(EdgebuildError):
    """A build step failed for a reason the recipe's author can act on (bad model, failed script)."""
