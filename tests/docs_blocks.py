"""Fenced code blocks of README.md and docs/*.md, for the tests that keep the docs true.

One parser for every doc test (tests/test_docs_language.py, tests/test_docs_examples.py):
a block is its file, the line of its opening fence, the language (first word of the info
string), the markers after it (``{run}``, ``{no-run}``) and its body. The conventions are
documented in docs/testing.md#examples-in-the-docs-run.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


@attrs.frozen
class Block:
    file: Path
    line: int  # of the opening fence, 1-based
    language: str
    markers: tuple[str, ...]
    body: str

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def runs(self) -> bool:
        return "run" in self.markers

    @property
    def shell(self) -> bool:
        return self.language in SHELL_LANGUAGES


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order (unclosed fences end at the file's end)."""
    blocks: list[Block] = []
    opened = None  # (fence, line, info, indent)
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _FENCE.match(line)
        if opened is None:
            if match:
                opened = (match.group(2), number, match.group(3).strip(), len(match.group(1)))
                body = []
            continue
        if match and match.group(2).startswith(opened[0]) and not match.group(3).strip():
            blocks.append(_block(path, opened, body))
            opened = None
        else:
            body.append(line[opened[3]:] if line[:opened[3]].strip() == "" else line)
    if opened is not None:
        blocks.append(_block(path, opened, body))
    return blocks


def _block(path: Path, opened, body: list[str]) -> Block:
    _, line, info, _ = opened
    language, _, rest = info.partition(" ")
    markers = tuple(m.strip() for m in re.findall(r"\{([^}]*)\}", rest))
    return Block(path, line, language, markers, "\n".join(body) + "\n")


def all_blocks() -> list[Block]:
    return [b for f in DOC_FILES for b in fenced_blocks(f)]
