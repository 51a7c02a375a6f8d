"""Exceptions that carry the exit code the CLI contract promises.

Every failure a user can cause maps to one of four exit codes; keeping the code on the
exception means the CLI never has to guess how bad an error is.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


class EidosError(Exception):
    """Base class: a message meant for the user, plus the exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(EidosError):
    """Bad invocation: unknown flag value, missing argument, conflicting options."""

    exit_code = EXIT_USAGE


class InputError(EidosError):
    """Input that cannot be read or understood (files, documents, rule sources)."""

    exit_code = EXIT_USAGE


class EnvironmentFailure(EidosError):
    """The world failed us: cluster unreachable, timeout, disk full."""

    exit_code = EXIT_ENVIRONMENT


class RulesError(InputError):
    """Rule sources that do not compile; carries every diagnostic found."""

    def __init__(self, diagnostics):
        self.diagnostics = list(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"rules do not compile: {errors} error(s)")
