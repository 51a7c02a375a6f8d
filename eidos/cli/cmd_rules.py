"""``eidos rules list|show``: inspect the rule base (embedded, plus any ``--rules`` layers).

The views come from :mod:`eidos.engine.inspect`; this module only parses flags and
renders them as a table/text for people or JSON for tools.
"""

from __future__ import annotations

import io

from eidos.cli.facts import add_rules_arguments
from eidos.cli.options import add_output_arguments
from eidos.errors import UsageError

ACTIONS = ("list", "show")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "rules",
        help="list the rule base's overlays, components, checks, facts and inference rules, or show one",
        description="'eidos rules list [overlays|components|checks|facts|infer]' lists declarations with "
        "where each is declared; 'eidos rules show NAME' shows one overlay, component, check or fact: "
        "location, doc, condition (with every extends ancestor folded in), requirements, components with "
        "versions and values, and what uses it. Reads the embedded rule base plus any --rules layers.",
    )
    p.add_argument("action", choices=ACTIONS, help="list declarations, or show one by name")
    p.add_argument("target", nargs="?", metavar="KIND|NAME",
                   help="for list: overlays, components, checks, facts or infer (default: all); "
                   "for show: the name of an overlay, component, check or fact")
    add_rules_arguments(p)
    add_output_arguments(p, ("table", "json"), default="table",
                         format_help="table (list) or text (show) for people, json for tools (default table)")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.cli.facts import load_graph_from_args
    from eidos.engine import inspect
    from eidos.io import yamlio
    from eidos.io.output import emit
    from eidos.lang.diagnostics import did_you_mean

    if args.action == "list":
        kinds = tuple(inspect.KINDS)
        if args.target is not None:
            singular = {kind: plural for plural, kind in inspect.KINDS.items()}
            args.target = singular.get(args.target, args.target)  # 'overlay' means 'overlays'
            if args.target not in inspect.KINDS:
                raise UsageError(f"rules list: unknown kind {args.target!r}; expected one of {', '.join(inspect.KINDS)}",
                                 hint=did_you_mean(args.target, inspect.KINDS))
            kinds = (args.target,)
        graph = load_graph_from_args(args)
        entries = inspect.list_entries(graph, kinds)
        if args.output == "json":
            text = yamlio.dump_json([e.to_dict() for e in entries])
        else:
            text = _table(entries)
    else:
        if not args.target:
            raise UsageError("rules show: which one? give the name of an overlay, component, check or fact",
                             hint="'eidos rules list' lists them")
        graph = load_graph_from_args(args)
        found = inspect.describe(graph, args.target)
        if not found:
            raise UsageError(f"rules show: no overlay, component, check or fact is named {args.target!r}",
                             hint=did_you_mean(args.target, inspect.names(graph)) or "'eidos rules list' lists them")
        text = yamlio.dump_json(found) if args.output == "json" else "\n".join(_details(d) for d in found)
    emit(text, args.out)
    return 0


def _table(entries) -> str:
    rows = [("KIND", "NAME", "LOCATION", "SUMMARY")] + [(e.kind, e.name, e.location, e.summary) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


_HEAD = ("kind", "name", "location")


def _details(item: dict) -> str:
    """A declaration for people: a header line, then every non-empty field, nested by indentation."""
    out = io.StringIO()
    out.write(f"{item['kind']} {item['name']}  ({item['location']})\n")
    for key, value in item.items():
        if key not in _HEAD:
            _field(out, key, value, 1)
    return out.getvalue()


def _field(out: io.StringIO, key: str, value, level: int) -> None:
    pad = "  " * level
    if value in (None, "", [], {}):
        return
    if isinstance(value, dict) and not any(isinstance(v, (dict, list)) for v in value.values()):
        shown = ", ".join(f"{k}={_scalar(v)}" for k, v in value.items() if v not in (None, ""))
        out.write(f"{pad}{key}: {shown}\n")
    elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        out.write(f"{pad}{key}: {', '.join(_scalar(v) for v in value)}\n")
    elif isinstance(value, list):
        out.write(f"{pad}{key}:\n")
        for entry in value:
            _entry(out, entry, level + 1)
    else:
        out.write(f"{pad}{key}: {_scalar(value)}\n")


def _entry(out: io.StringIO, entry, level: int) -> None:
    """One item of a list of records: its identifying fields on the first line, the rest below."""
    import json

    pad = "  " * level
    if not isinstance(entry, dict):
        out.write(f"{pad}- {_scalar(entry)}\n")
        return
    if "op" in entry:
        target = entry.get("file") or entry.get("path")
        value = f" = {json.dumps(entry['value'])}" if "value" in entry else ""
        out.write(f"{pad}- {entry['op']} {target}{value}  ({entry['location']})\n")
        return
    first = [str(entry[k]) if k != "location" else f"({entry[k]})"
             for k in ("name", "overlay", "op", "role", "path", "file", "value", "version", "condition", "location")
             if k in entry and entry[k] not in (None, "", False) and not (k == "version" and "op" in entry)]
    out.write(f"{pad}- {' '.join(first)}\n")
    shown = {"name", "overlay", "op", "role", "path", "file", "value", "version", "condition", "location"}
    for key, value in entry.items():
        if key not in shown and value not in (False,):
            _field(out, key, value, level + 1)


def _scalar(value) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value)
