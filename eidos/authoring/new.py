"""``eidos new overlay|check``: a new rule file from flags or from answers to prompts.

Every value is checked against the compiled rule base before anything is written: facts
and their values against the fact schema, components against the catalog, ``extends``
against the overlays, requirement expressions with eidos' own parser and type checker.
A wrong one is a usage error (exit 2) with a did-you-mean. The rendered file is then
compiled over the rule base (:mod:`eidos.authoring.layered`) and refused if that reports
anything, warnings included, so what is written is lint-clean. Strings are spelled by
:mod:`eidos.importers.quoting`.
"""

from __future__ import annotations

import attrs

from eidos.authoring import text as t
from eidos.authoring.layered import declares
from eidos.errors import UsageError
from eidos.importers import quoting
from eidos.lang.diagnostics import did_you_mean

KINDS = ("overlay", "check")
SEVERITIES = ("error", "warning", "info")


@attrs.frozen(slots=True)
class Requirement:
    name: str
    expr: str
    severity: str | None = None
    remedy: str | None = None


@attrs.frozen(slots=True)
class Draft:
    """What the author asked for, already validated against the rule base."""

    kind: str
    name: str
    when: tuple = ()  # (FactSchema, value) pairs; empty with always=True means `when always`
    always: bool = False
    extends: str | None = None
    components: tuple[tuple[str, str | None], ...] = ()
    requirements: tuple[Requirement, ...] = ()
    doc: str = ""
    category: str = ""


# ------------------------------------------------------------------------- validation


def _no_control(what: str, text: str) -> str:
    bad = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise UsageError(f"{what} contains the control character {bad!r}")
    return text


def check_name(graph, kind: str, name: str, replacing: str | None = None) -> str:
    """A valid, unused name; one declared in ``replacing`` (the file being overwritten
    with --force) is free again."""
    if not quoting.is_name(name):
        raise UsageError(f"--name {name!r}: not a valid {kind} name",
                         hint="letters, digits, '_' and inner '-', starting with a letter (e.g. h100-large)")
    table = graph.overlays if kind == "overlay" else graph.checks
    if name in table and not declares(replacing, kind, name):
        span = table[name].span
        raise UsageError(f"--name {name}: {'an' if kind == 'overlay' else 'a'} {kind} of that name already exists ({span.file}:{span.line})",
                         hint="choose another name")
    return name


def check_when(graph, item: str) -> tuple | None:
    """``FACT=VALUE`` as (schema, typed value); ``always`` as None."""
    if item.strip() == "always":
        return None
    if "=" not in item:
        raise UsageError(f"--when {item!r}: expected FACT=VALUE (or 'always')",
                         hint="e.g. --when accelerator=h100")
    fact, raw = (part.strip() for part in item.split("=", 1))
    spec = graph.facts.get(fact)
    if spec is None:
        raise UsageError(f"--when {item}: unknown fact '{fact}' (known: {', '.join(sorted(graph.facts))})",
                         hint=did_you_mean(fact, graph.facts))
    _no_control(f"--when {fact}", raw)
    value = spec.coerce(raw)  # FactValueError is a UsageError with its own did-you-mean
    return spec, value


def check_extends(graph, name: str) -> str:
    if name not in graph.overlays:
        raise UsageError(f"--extends {name}: unknown overlay", hint=did_you_mean(name, graph.overlays))
    return name


def check_component(graph, item: str) -> tuple[str, str | None]:
    from eidos.engine import names

    key, _, version = item.partition("@")
    spec = graph.component_by_key(key.strip())
    if spec is None:
        known = list(graph.components) + [a for c in graph.components.values() for a in c.aliases]
        raise UsageError(f"--component {item}: unknown component '{key}'", hint=did_you_mean(key, known))
    if not version:
        return spec.name, None
    what = "tag" if spec.kind == "kustomize" else "version"
    problem = names.problem(what, version)
    if problem is not None or spec.kind == "manifest":
        message, hint = problem or (f"{spec.name} is a manifest bundle: it has no version", None)
        raise UsageError(f"--component {item}: {message}", hint=hint)
    return spec.name, version


def check_requirement(graph, item: str) -> tuple[str, str]:
    """``NAME:EXPR``, the expression parsed and type-checked as a requirement."""
    from eidos.lang.diagnostics import Reporter
    from eidos.lang.expr import Checker
    from eidos.lang.parser import parse_expression

    name, sep, expr = item.partition(":")
    name, expr = name.strip(), expr.strip()
    if not sep or not expr:
        raise UsageError(f"--require {item!r}: expected NAME:EXPR",
                         hint='e.g. --require kernel:\'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8\'')
    if not quoting.is_name(name):
        raise UsageError(f"--require {item}: {name!r} is not a valid requirement name",
                         hint="letters, digits, '_' and inner '-' (e.g. k8s-version)")
    _no_control(f"--require {name}", expr)
    reporter = Reporter()
    parsed = parse_expression(expr, f"--require {name}", reporter)
    if parsed is not None:
        Checker({n: f.type for n, f in graph.facts.items()}, reporter).check(parsed, "measurements")
    errors = [d for d in reporter.sorted() if d.is_error]
    if errors:
        first = errors[0]
        raise UsageError(f"--require {name}: {first.message}", hint=first.hint)
    return name, expr


def check_severity(value: str) -> str:
    if value not in SEVERITIES:
        raise UsageError(f"--severity {value}: expected one of {', '.join(SEVERITIES)}",
                         hint=did_you_mean(value, SEVERITIES))
    return value


def _per_requirement(flag: str, values: list[str], count: int) -> list[str | None]:
    if not values:
        return [None] * count
    if len(values) == 1:
        return values * count
    if len(values) == count:
        return list(values)
    raise UsageError(f"{flag} given {len(values)} times for {count} --require: give it once (for all) "
                     "or once per --require, in the same order")


def draft_from_flags(graph, kind: str, args) -> Draft:
    """The draft the flags describe (``--name`` given: nothing is asked)."""
    if kind == "check" and (args.extends or args.component):
        raise UsageError("a check has no --extends or --component (checks only test snapshots)")
    if kind == "overlay" and args.category:
        raise UsageError("--category is for checks")
    name = check_name(graph, kind, args.name, args.out if args.force else None)
    tests = [check_when(graph, w) for w in args.when or []]
    extends = check_extends(graph, args.extends) if args.extends else None
    components = tuple(check_component(graph, c) for c in args.component or [])
    reqs = [check_requirement(graph, r) for r in args.require or []]
    severities = [check_severity(s) for s in args.severity or []]
    if (args.remedy or severities) and not reqs:
        raise UsageError("--severity and --remedy describe a --require; none was given")
    for remedy in args.remedy or []:
        _no_control("--remedy", remedy)
    requirements = tuple(
        Requirement(n, e, s, r) for (n, e), s, r in zip(
            reqs, _per_requirement("--severity", severities, len(reqs)),
            _per_requirement("--remedy", list(args.remedy or []), len(reqs))))
    return _finish(graph, Draft(kind, name, tuple(x for x in tests if x is not None),
                                always=any(x is None for x in tests), extends=extends,
                                components=components, requirements=requirements,
                                doc=_no_control("--doc", args.doc or ""),
                                category=_no_control("--category", args.category or "")))


def _finish(graph, draft: Draft) -> Draft:
    """Whole-draft rules the single values cannot show."""
    if draft.always and draft.when:
        raise UsageError("--when always cannot be combined with fact tests")
    if len({s.name for s, _ in draft.when}) != len(draft.when):
        raise UsageError("--when names a fact twice: a fact has one value per query")
    if not draft.when and not draft.always:
        if draft.kind == "check" or draft.extends is None:
            raise UsageError(f"a {draft.kind} needs a condition: --when FACT=VALUE (repeatable), "
                             "or --when always to apply to every cluster"
                             + (", or --extends PARENT" if draft.kind == "overlay" else ""))
        raise UsageError(f"an overlay that extends {draft.extends} needs a --when of its own: without one "
                         f"it applies exactly where {draft.extends} does (lint warns W501)")
    if draft.kind == "check" and not draft.requirements:
        raise UsageError("a check needs at least one --require NAME:EXPR (what it tests)")
    if len({r.name for r in draft.requirements}) != len(draft.requirements):
        raise UsageError("two --require share a name: each requirement needs its own")
    if len({c for c, _ in draft.components}) != len(draft.components):
        raise UsageError("--component names a component twice")
    return draft


# ---------------------------------------------------------------------------- prompts


def draft_from_prompts(graph, kind: str, ask, replacing: str | None = None) -> Draft:
    """Ask for everything, offering the schema's facts and values and the catalog's components."""
    name = ask.ask(f"{kind} name", check=lambda a: check_name(graph, kind, a, replacing))
    extends = None
    if kind == "overlay":
        overlays = sorted(graph.overlays)
        extends = ask.ask("extends which overlay (empty: none)", choices=overlays,
                          check=lambda a: a == "" or check_extends(graph, a)) or None
    doc = ask.ask("doc (one sentence: why this rule exists; empty: none)", check=lambda a: _no_control("doc", a))
    facts = sorted(graph.facts)
    tests: list = []
    always = False
    while True:
        fact = ask.ask("when: fact to test (empty: done; 'always': every cluster)", choices=facts,
                       check=lambda a: _fact_answer(graph, a))
        if fact == "always":
            always = True
            break
        if not fact:
            break
        spec = graph.facts[fact]
        value = ask.ask(f"{fact} ==", choices=spec.values if spec.kind == "enum" else (),
                        check=lambda a, f=fact: check_when(graph, f"{f}={a}"))
        tests.append(check_when(graph, f"{fact}={value}"))
    category = ""
    components: list = []
    if kind == "check":
        category = ask.ask("category (e.g. gpu, kubernetes, os; empty: none)", check=lambda a: _no_control("category", a))
    else:
        catalog = sorted(graph.components)
        while True:
            comp = ask.ask("component to include (empty: done)", choices=catalog,
                           check=lambda a: a == "" or check_component(graph, a))
            if not comp:
                break
            version = ask.ask(f"{comp} version (empty: the catalog's {graph.component_by_key(comp).version or 'default'})",
                              check=lambda a, c=comp: a == "" or check_component(graph, f"{c}@{a}"))
            components.append(check_component(graph, f"{comp}@{version}" if version else comp))
    requirements: list = []
    while True:
        needed = kind == "check" and not requirements
        rname = ask.ask("requirement name" + (" (a check tests at least one)" if needed else " (empty: done)"),
                        check=lambda a, n=needed: _requirement_name_answer(a, needed=n))
        if not rname:
            break
        expr = ask.ask(f"{rname}: expression over snapshot data (e.g. K8s.server.version >= 1.30)",
                       check=lambda a, n=rname: check_requirement(graph, f"{n}:{a}"))
        severity = ask.ask("severity", default="error", choices=SEVERITIES, check=check_severity)
        remedy = ask.ask("remedy (what to change, where; empty: none)", check=lambda a: _no_control("remedy", a))
        requirements.append(Requirement(rname, expr, None if severity == "error" else severity, remedy or None))
    return _finish(graph, Draft(kind, name, tuple(tests), always=always, extends=extends,
                                components=tuple(components), requirements=tuple(requirements),
                                doc=doc, category=category))


def _fact_answer(graph, answer: str) -> None:
    if answer not in ("", "always") and answer not in graph.facts:
        raise UsageError(f"unknown fact '{answer}'", hint=did_you_mean(answer, graph.facts))


def _requirement_name_answer(answer: str, *, needed: bool) -> None:
    if not answer and needed:
        raise UsageError("a check needs at least one requirement (what it tests)")
    if answer and not quoting.is_name(answer):
        raise UsageError(f"{answer!r} is not a valid requirement name", hint="letters, digits, '_' and inner '-'")


# ----------------------------------------------------------------------------- render


def render(graph, draft: Draft) -> str:
    """The file text: one declaration, strings quoted, requirements ``replace``-ing an
    ancestor's name where the parent chain defines it."""
    inherited: set[str] = set()
    if draft.extends:
        for link in graph.overlays[draft.extends].chain:
            inherited.update(r.name for r in graph.overlays[link].requirements if r.name)
    head = f"{draft.kind} {draft.name}"
    if draft.extends:
        head += f" extends {draft.extends}"
    lines = [head + " {"]
    if draft.doc:
        lines.append(f"  doc {quoting.string(draft.doc)}")
    if draft.always:
        lines.append("  when always")
    elif draft.when:
        lines.append("  when " + t.when_clause(list(draft.when)))
    if draft.category:
        lines.append(f"  category {quoting.string(draft.category)}")
    for r in draft.requirements:
        keyword = "replace" if r.name in inherited else "require"
        lines.extend(t.requirement(keyword, r.name, r.expr, severity=r.severity, remedy=r.remedy))
    for comp, version in draft.components:
        if version:
            lines += [f"  component {comp} {{", f"    version {quoting.string(version)}", "  }"]
        else:
            lines.append(f"  component {comp}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def verified(graph, draft: Draft, rules: list[str], display: str, filename: str | None = None) -> str:
    """The rendered text, compiled over the rule base; any diagnostic is a usage error."""
    from eidos.authoring.layered import diagnostics_for
    from eidos.errors import RulesError

    text = render(graph, draft)
    found = diagnostics_for(text, filename or f"{draft.name}.eidos", rules, display)
    if found:
        raise RulesError(found) if any(d.is_error for d in found) else UsageError(
            "the new file would draw lint warnings:\n" + "\n".join(d.render() for d in found),
            hint="change the flags or answers that lead to it")
    return text
