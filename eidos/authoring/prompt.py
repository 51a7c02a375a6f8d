"""The questions ``eidos new`` asks, through ``input()`` so tests drive them with stdin.

Questions go to stderr (stdout may be the generated file). An answer the validator refuses
is explained and asked again, a few times; end of input is a usage error (exit 2) naming
the question, never a traceback or a loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from eidos.errors import UsageError

MAX_TRIES = 5


class Prompter:
    """Asks questions on ``out`` and reads answers with ``read`` (``input`` by default)."""

    def __init__(self, read: Callable[[], str] | None = None, out: TextIO | None = None):
        self._read = read or input
        self._out = out

    def _say(self, text: str) -> None:
        stream = self._out or sys.stderr
        stream.write(text)
        stream.flush()

    def _answer(self, question: str) -> str:
        self._say(question)
        try:
            return self._read().strip()
        except EOFError:
            self._say("\n")
            raise UsageError(f"input ended before an answer to: {question.strip()}",
                             hint="answer every question, or pass the flags (eidos new KIND --name NAME ...)") from None

    def ask(self, question: str, *, default: str = "", check: Callable[[str], object] | None = None,
            choices: Sequence[str] = ()) -> str:
        """One answer; empty means ``default``. ``check`` raises UsageError to refuse it;
        with ``choices`` (listed once), a number picks the n-th."""
        if choices:
            self._say("".join(f"  {i}) {c}\n" for i, c in enumerate(choices, 1)))
        suffix = f" [{default}]" if default else ""
        for _ in range(MAX_TRIES):
            answer = self._answer(f"{question}{suffix}: ") or default
            if choices and answer.isdigit() and 1 <= int(answer) <= len(choices):
                answer = choices[int(answer) - 1]
            if check is None:
                return answer
            try:
                check(answer)
            except UsageError as err:
                self._say(f"  {err.message}" + (f" ({err.hint})" if err.hint else "") + "\n")
                continue
            return answer
        raise UsageError(f"no acceptable answer to: {question} (after {MAX_TRIES} tries)")

    def confirm(self, question: str, *, default: bool = False) -> bool:
        def check(answer: str) -> None:
            if answer.lower() not in ("y", "yes", "n", "no"):
                raise UsageError("answer y or n")

        answer = self.ask(question + " (y/n)", default="y" if default else "n", check=check)
        return answer.lower() in ("y", "yes")
