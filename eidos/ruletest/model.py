"""The data of a rule-test run: cases as read from test files, and what each run found."""

from __future__ import annotations

from typing import Any

import attrs

# what a case's ``expect`` may hold, in the order mismatches are reported
EXPECT_KEYS = ("error", "facts", "overlays", "components", "values", "requirements", "checks")
CASE_KEYS = ("name", "doc", "facts", "snapshot", "expect")
STATUSES = ("pass", "fail", "warn", "skip", "error")


@attrs.frozen(slots=True)
class Case:
    """One test case: a query and the expected answer.

    ``lines`` maps a key path inside the case (``("expect", "components", "gpu-operator")``)
    to its line in the test file, so a mismatch points at the expectation that failed."""

    file: str  # as shown to the user (relative to the directory given)
    line: int
    name: str
    facts: tuple[tuple[str, Any], ...]  # typed, in file order
    snapshot: str | None  # path to read, resolved against the test file
    expect: dict = attrs.field(eq=False)
    lines: dict = attrs.field(eq=False, repr=False, factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"

    def line_of(self, *path) -> int:
        """Line of the deepest key of ``path`` the file has a line for (else the case's line)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line:
                return line
        return self.line


@attrs.frozen(slots=True)
class Mismatch:
    """One expectation the rule base did not meet."""

    what: str  # e.g. "components.gpu-operator.version"
    expected: Any
    actual: Any
    line: int
    note: str = ""  # extra help: did you mean, missing/unexpected items


@attrs.frozen(slots=True)
class CaseResult:
    case: Case
    mismatches: tuple[Mismatch, ...]
    overlays: tuple[str, ...] = ()  # applied (for coverage)
    checks: tuple[str, ...] = ()  # check names whose verdicts the case asserted (for coverage)

    @property
    def passed(self) -> bool:
        return not self.mismatches


@attrs.frozen(slots=True)
class Uncovered:
    kind: str  # overlay | check
    name: str
    source: str  # file:line


@attrs.frozen(slots=True)
class Coverage:
    overlays_total: int
    checks_total: int
    uncovered: tuple[Uncovered, ...]

    def missing(self, kind: str) -> tuple[Uncovered, ...]:
        return tuple(u for u in self.uncovered if u.kind == kind)


@attrs.frozen(slots=True)
class RunResult:
    results: tuple[CaseResult, ...]
    coverage: Coverage
    files: int

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    @property
    def passed(self) -> int:
        return len(self.results) - self.failed
