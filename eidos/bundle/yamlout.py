"""YAML that means the same thing to Helm, Argo CD and Flux as it does to eidos.

Those tools read YAML with Go libraries that still apply YAML 1.1 rules, where a plain
``yes``, ``on``, ``y`` or ``1:20`` is a bool or a number. ruamel (YAML 1.2) writes those
strings unquoted, so a values string ``"on"`` would reach a chart as ``true``. This dumper
quotes every string a 1.1 or 1.2 reader could take for something else, writes multi-line
strings as literal blocks, and keeps keys in the order given. ruamel is imported lazily.
"""

from __future__ import annotations

import io
import re
from typing import Any

_YAML11_WORDS = {
    "y",
    "n",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
    "~",
    "",
    "<<",
    "=",
}
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_FLOAT11 = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$")


def _is_number(text: str) -> bool:
    """Would Go's ParseInt(base 0) or ParseFloat (what go-yaml falls back on) accept it?"""
    plain = text.replace("_", "")
    for parse in (lambda t: int(t, 0), float):
        try:
            parse(plain)
            return True
        except ValueError:
            pass
    return False


def _needs_quotes(text: str) -> bool:
    return (
        text.lower() in _YAML11_WORDS
        or _is_number(text)
        or bool(_SEXAGESIMAL.match(text) or _TIMESTAMP.match(text) or _FLOAT11.match(text))
    )


def _dumper():
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):
        pass

    def represent_str(representer, data: str):
        style = None
        if "\n" in data:
            style = "|"
        elif _needs_quotes(data):
            style = "'"
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Representer.add_representer(str, represent_str)
    y = YAML(typ="safe", pure=True)
    y.Representer = Representer
    y.default_flow_style = False
    y.sort_base_mapping_type_on_output = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def dump(data: Any, header: str = "") -> str:
    """Block YAML for one document, optionally after a comment header (lines without '#')."""
    buf = io.StringIO()
    _dumper().dump(data, buf)
    lead = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return lead + buf.getvalue()


def dump_all(documents: list[Any], header: str = "") -> str:
    """Several documents separated by ``---``, for files holding more than one object."""
    lead = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return lead + "".join("---\n" + dump(doc) for doc in documents)
