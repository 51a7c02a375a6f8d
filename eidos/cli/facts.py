"""Fact flags derived from the fact schema, shared by every command that takes facts.

The flags (``--service``, ``--accelerator``, …) are not hard-coded: they are read from
the rule base's ``fact`` declarations, so a rule base that declares ``fact region`` gets
``--region``. Because argparse needs the flags before parsing, the chosen command loads
the rule graph first (cached, so this costs a file read) using any ``--rules`` it can
see in argv.
"""

from __future__ import annotations

import argparse

from eidos.errors import UsageError

FLAG_ALIASES = {"accelerator": ["--gpu"]}


def _rules_from_argv(argv: list[str]) -> list[str]:
    dirs = []
    for i, arg in enumerate(argv):
        if arg == "--rules" and i + 1 < len(argv):
            dirs.append(argv[i + 1])
        elif arg.startswith("--rules="):
            dirs.append(arg.split("=", 1)[1])
    return dirs


def add_rules_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", action="append", default=[], metavar="DIR",
                        help="a rule base layered over the embedded one (repeatable)")
    parser.add_argument("--no-cache", action="store_true", help="compile the rules even if a cached graph exists")


def add_fact_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> None:
    """Add --rules and one flag per declared fact (only when the command was chosen)."""
    add_rules_arguments(parser)
    group = parser.add_argument_group("facts", "what the cluster is (from the rule base's fact schema)")
    group.add_argument("--fact", action="append", default=[], metavar="NAME=VALUE",
                       help="set any declared fact by name")
    group.add_argument("--snapshot", metavar="FILE|-|cm://NS/NAME",
                       help="infer facts from a snapshot (flags override what is inferred)")
    if argv is None:
        return
    from eidos import engine

    # The command was chosen: rules that do not compile, or an unreadable --rules
    # directory, are reported now (exit 2 with every diagnostic), before argparse
    # would complain about fact flags it has not been told about.
    rules, use_cache = _rules_from_argv(argv), "--no-cache" not in argv
    graph = _load_graph(rules, use_cache=use_cache)
    # the command resolves with this graph: load_graph_from_args takes it from the
    # namespace instead of reading and hashing every rule file a second time (issue 17)
    parser.set_defaults(_rule_graph=(tuple(rules), use_cache, graph))
    for name in sorted(graph.facts):
        spec = graph.facts[name]
        flags = [f"--{name}"] + FLAG_ALIASES.get(name, [])
        if spec.kind == "enum":
            helptext = " | ".join(spec.values)
        else:
            helptext = spec.kind
        if spec.doc:
            helptext = f"{spec.doc} ({helptext})"
        group.add_argument(*flags, dest=f"fact_{name}", metavar=name.upper(), help=helptext)


def facts_from_args(args: argparse.Namespace, graph) -> tuple[dict, dict]:
    """Typed facts from flags; returns (facts, where each came from)."""
    raw: dict[str, str] = {}
    for item in getattr(args, "fact", []) or []:
        if "=" not in item:
            raise UsageError(f"--fact {item}: expected NAME=VALUE")
        name, value = item.split("=", 1)
        raw[name.strip()] = value
    for key, value in vars(args).items():
        if key.startswith("fact_") and value is not None:
            raw[key[5:]] = value
    facts, sources = {}, {}
    for name, value in raw.items():
        spec = graph.facts.get(name)
        if spec is None:
            from eidos.lang.diagnostics import did_you_mean

            raise UsageError(f"unknown fact '{name}'", hint=did_you_mean(name, graph.facts))
        from eidos.engine.facts import coerce_fact

        facts[name] = coerce_fact(spec, value)  # the one coercion (flags, rule literals, inference)
        sources[name] = {"value": str(facts[name]), "from": "flag"}
    return facts, sources


def load_graph_from_args(args: argparse.Namespace):
    rules, use_cache = args.rules or [], not getattr(args, "no_cache", False)
    loaded = getattr(args, "_rule_graph", None)  # loaded for the fact flags, same invocation
    if loaded is not None and loaded[:2] == (tuple(rules), use_cache):
        return loaded[2]
    return _load_graph(rules, use_cache=use_cache)


# The parser needs the graph for the fact flags and the command needs it again to resolve:
# one graph per process for the same rule files (keyed by their content digest), so that
# ``--no-cache`` compiles once, not twice.
_loaded: dict[str, object] = {}


def _load_graph(rules, *, use_cache: bool):
    from eidos import engine
    from eidos.engine import sources

    ruleset = sources.collect(list(rules))
    digest = ruleset.digest
    graph = _loaded.get(digest)
    if graph is None:
        graph = engine.load_graph(rules, use_cache=use_cache, ruleset=ruleset)
        _loaded.clear()  # keep only the latest: in-process callers (tests) change rule files
        _loaded[digest] = graph
    return graph


def snapshot_facts(args: argparse.Namespace, graph, given: tuple[str, ...] = (), snapshot=None) -> tuple[dict, dict]:
    """Facts inferred from ``--snapshot`` (empty when none was given); a fact neither
    inferred nor ``given`` by a flag is reported on stderr with why (inference notices).
    A caller that already loaded the snapshot passes it (``-`` can be read only once)."""
    source = getattr(args, "snapshot", None)
    if not source:
        return {}, {}
    from eidos.cli import console
    from eidos.engine.inference import infer_facts, notices
    from eidos.snapshot.io import load_snapshot

    if snapshot is None:
        snapshot = load_snapshot(source)

    def lookup(operand):
        return snapshot.lookup(operand.segments)

    facts, sources = infer_facts(graph, lookup)
    for item in notices(graph, lookup, facts, given=given):
        console.notice("notice: " + item["message"])
    return facts, sources


def resolve_from_args(args: argparse.Namespace, *, explain: bool = False, snapshot=None):
    """(graph, recipe) for the facts given on the command line and/or inferred from a snapshot."""
    from eidos import engine

    graph = load_graph_from_args(args)
    flag_facts, flag_sources = facts_from_args(args, graph)
    facts, sources = snapshot_facts(args, graph, given=tuple(flag_facts), snapshot=snapshot)
    for name, value in flag_facts.items():
        if name in sources and facts.get(name) != value:
            flag_sources[name]["overrides"] = sources[name]
    facts.update(flag_facts)
    sources.update(flag_sources)
    if not facts:
        flags = ", ".join(f"--{n}" for n in sorted(graph.facts))
        hint = "the snapshot gave no fact either" if getattr(args, "snapshot", None) else None
        raise UsageError(f"no facts given: pass at least one of {flags}, or --snapshot", hint=hint)
    return graph, engine.resolve(graph, facts, explain=explain, fact_sources=sources)
