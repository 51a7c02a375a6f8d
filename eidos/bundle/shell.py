"""Recipe text inside generated shell scripts and comments: the one place data meets syntax.

``deploy.sh`` and ``undeploy.sh`` are run by operators against production clusters, and
the recipe they come from may be a hand-edited document. So no recipe text is ever shell
syntax:

* every value placed in a command (names, namespaces, versions, tags, repository URLs,
  paths, values-file names) goes through :func:`quote`, POSIX single quotes
  (``shlex.quote``): inside them the shell expands nothing, so ``$(...)``, backticks,
  ``;``, quotes, globs and even newlines stay one literal argument;
* messages are printed by :func:`say`, ``printf '%s\\n' '<quoted>'``, never
  ``echo "..."``: double quotes would still run ``$(...)``, and ``echo`` may interpret
  backslashes;
* comments are built by :func:`comment` from :func:`printable` text, so a newline (or any
  other character a terminal or shell could treat as a line break or control) cannot end
  the comment and start a command.

The recipe loader (``model.parse_recipe``) already refuses control characters in the
fields a bundle uses; this module is the second line, so that a ``Context`` built by other
code is just as safe.
"""

from __future__ import annotations

import shlex


def quote(value: str) -> str:
    """One shell word that means exactly ``value``."""
    return shlex.quote(value)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    r"""``text`` with every non-printable character written as ``\n``, ``\xNN``, ``\uNNNN``.

    "Non-printable" is what ``str.isprintable`` refuses (except the plain space): C0 and
    C1 controls, DEL, line and paragraph separators, format characters such as
    bidirectional overrides, unassigned code points. The result is one line.
    """
    out = []
    for ch in text:
        if ch == " " or ch.isprintable():
            out.append(ch)
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return "".join(out)


def comment(text: str) -> str:
    """A single ``# ...`` line (with its newline) that no text can break out of."""
    return f"# {printable(text)}".rstrip() + "\n"


def say(text: str) -> str:
    """A command that prints ``text`` literally, followed by a newline."""
    return f"printf '%s\\n' {quote(text)}"
