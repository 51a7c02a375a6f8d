"""``eidos --version``: everything a bug report needs to reproduce a result.

The same eidos version can give different recipes with a different embedded rule base
(a development checkout, a patched install), so the rule base's digest is printed with
the interpreter and platform.
"""

from __future__ import annotations

import argparse
import sys

from eidos import __version__


def rule_base_line() -> str:
    """``rule base sha256:…`` for the embedded rules, or why it could not be read."""
    from eidos.engine import sources
    from eidos.errors import EidosError

    try:
        ruleset = sources.collect([])
    except EidosError as err:
        return f"rule base: unreadable ({err.message})"
    except OSError as err:
        return f"rule base: unreadable ({err.strerror or err})"
    return f"rule base: sha256:{ruleset.digest} (embedded, {len(ruleset.files)} rule files)"


def version_text() -> str:
    import platform  # only for --version: its import compiles nine regular expressions

    py = sys.version_info
    lines = [
        f"eidos {__version__}",
        f"python: {py.major}.{py.minor}.{py.micro} ({platform.python_implementation()})",
        f"platform: {platform.platform()}",
        rule_base_line(),
    ]
    return "\n".join(lines) + "\n"


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` to stdout and exit 0 (computed only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(version_text())
        sys.stdout.flush()
        parser.exit(0)
