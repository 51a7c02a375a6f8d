"""The bounds the language core puts on its input, in one place.

Rule layers and snapshots are written by others, and several steps downstream of the
parser cannot defend themselves: Python's recursion limit (every tree walk), ``int()``
(a ValueError past 4,300 digits), ``float()`` (``1e999`` is infinity, which no JSON or
YAML consumer accepts), regular expressions (a size explosion at compile time). Each
bound below is enforced *before* the step it protects, and a violation is a diagnostic
with a location, never a traceback. docs/language.md#limits lists them for authors.
"""

from __future__ import annotations

# Nesting of expressions (parentheses, ``not``, ``and``/``or`` groups) and of list/map
# values in ``set``. Every later stage walks these trees recursively with a few Python
# frames per level; 100 levels stay far below the interpreter's limit of 1,000 frames
# while being about ten times deeper than any hand-written condition.
MAX_NESTING = 100

# Digits of an integer literal (sign excluded). int64 needs 19; Python refuses to convert
# more than 4,300.
MAX_INT_DIGITS = 64

# Characters of a version literal (``1.2.3-rc.1``) or a version read from a snapshot; also
# keeps every dotted number convertible to a finite float.
MAX_VERSION_CHARS = 256

# Regular expressions in ``matches``: the pattern text, the largest counted repetition
# (RE2's own limit, made explicit so ``a{99999999999}`` is an error rather than a literal),
# and the size of the compiled program (RE2's measure of the automaton it builds).
MAX_REGEX_CHARS = 1000
MAX_REGEX_REPEAT = 1000
MAX_REGEX_PROGRAM = 10_000
