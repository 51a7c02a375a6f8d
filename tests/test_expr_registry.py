"""The expression registry is complete: every AST kind, IR class, grammar rule and operator
spelling has its declaration, and every declared kind works end to end.

A forgotten piece (a grammar rule without a callback, an AST class nobody checks, an IR
class nobody compiles, an operator in the grammar but not in the registry) must fail here,
not at run time on someone's cluster. The second half proves that the gap finder does
notice each kind of omission.
"""

from __future__ import annotations

import re
import typing

import attrs
import pytest

from eidos.io.resources import grammar_path
from eidos.lang import ast
from eidos.lang import parser as parser_mod
from eidos.lang.diagnostics import Reporter, SourceFile, Span
from eidos.lang.expr import IR, REGISTRY, Checker, FactType, closure, render, trace
from eidos.lang.expr.ir import Atom, Node
from eidos.lang.expr.logic import CLOSURE_OF
from eidos.lang.expr.registry import Kind, Registry
from eidos.lang.measurements import MISSING

FACTS = {
    "nodes": FactType("nodes", "int"),
    "service": FactType("service", "enum", ("eks", "gke", "aks")),
}

# One worked example per kind: (context, text, data, the value a reviewer expects).
EXAMPLES = {
    "comparison": ("facts", "nodes >= 2", {"nodes": 3}, True),
    "set membership": ("facts", "service in {eks, gke}", {"service": "aks"}, False),
    "range": ("facts", "nodes in 2..<8", {"nodes": 8}, False),
    "regex match": ("measurements", 'K8s.server.version matches "-eks-"',
                    {"K8s.server.version": "v1.33.5-eks-3025e55"}, True),
    "text test": ("measurements", 'OS.release.ID startswith "ubu"', {"OS.release.ID": "ubuntu"}, True),
    "presence": ("measurements", "exists OS.kmod.nvidia_peermem", {}, False),
    "not": ("facts", "not nodes == 1", {}, None),
    "and": ("facts", "nodes == 1 and service == eks", {"nodes": 1, "service": "gke"}, False),
    "or": ("facts", "nodes == 1 or service == eks", {"nodes": 2, "service": "gke"}, False),
    "always": ("facts", "always", {}, True),
}


def _leaf_classes(base: type) -> set[type]:
    out, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if attrs.has(sub):
                out.add(sub)
    return out


def _grammar_rules(lark) -> set[str]:
    """Callback names the parser calls: every rule except inlined helpers and single-child ``?rules``."""
    names = set()
    for rule in lark.rules:
        name = rule.alias or rule.origin.name
        if isinstance(name, str) and name.startswith("_"):
            continue
        if rule.options.expand1 and not rule.alias and len(rule.expansion) == 1:
            continue
        names.add(str(name))
    return names


def _token_spellings(name: str) -> set[str]:
    line = re.search(rf"^{name}(?:\.\d+)?:(.*)$", grammar_path().read_text(encoding="utf-8"), re.MULTILINE)
    assert line, f"terminal {name} is not in the grammar"
    return set(re.findall(r'"([^"]*)"', line.group(1)))


def registry_gaps(registry, ast_classes, ir_classes, builder_own: set[str], grammar_rules: set[str]) -> list[str]:
    """Everything that is used somewhere but declared nowhere (or the other way round)."""
    kinds = list(registry)
    gaps = []
    declared_ast = {k.ast_type for k in kinds}
    declared_ir = {k.ir_type for k in kinds}
    hooks = registry.syntax_hooks()
    for cls in sorted(ast_classes - declared_ast, key=lambda c: c.__name__):
        gaps.append(f"AST class {cls.__name__} has no kind")
    for cls in sorted(ir_classes - declared_ir, key=lambda c: c.__name__):
        gaps.append(f"IR class {cls.__name__} has no kind")
    for rule in sorted(grammar_rules - set(hooks) - builder_own):
        gaps.append(f"grammar rule {rule} has no parser callback")
    for rule in sorted(set(hooks) - grammar_rules):
        gaps.append(f"kind rule {rule} is not in the grammar")
    for kind in kinds:
        if kind.is_atom != issubclass(kind.ir_type, Atom):
            gaps.append(f"kind {kind.name}: atoms compile, connectives combine")
        if not kind.is_atom and kind.combine not in CLOSURE_OF:
            gaps.append(f"kind {kind.name}: its Kleene function has no closure builder in logic.CLOSURE_OF")
        if kind.token is not None and set(kind.ops) != _token_spellings(kind.token):
            gaps.append(f"kind {kind.name}: operators {sorted(kind.ops)} but {kind.token} spells "
                        f"{sorted(_token_spellings(kind.token))}")
    return gaps


def _real_inputs():
    lark = parser_mod._parser("module")
    own = set(vars(parser_mod._Builder)) - set(REGISTRY.syntax_hooks())
    return _leaf_classes(ast.ExprNode), _leaf_classes(Node), own, _grammar_rules(lark)


def test_every_kind_is_declared_once_and_completely():
    ast_classes, ir_classes, own, rules = _real_inputs()
    assert registry_gaps(REGISTRY, ast_classes, ir_classes, own, rules) == []
    # the public unions list exactly the declared classes
    assert set(typing.get_args(ast.Expr)) == ast_classes == {k.ast_type for k in REGISTRY}
    assert set(typing.get_args(IR)) == ir_classes == {k.ir_type for k in REGISTRY}


def test_every_kind_has_a_worked_example():
    assert set(EXAMPLES) == {k.name for k in REGISTRY}


def _lookup(data):
    """Facts by name, paths by their canonical text (``Operand.name`` is either)."""
    return lambda op: data.get(op.name, MISSING)


def _checked(allow: str, text: str, reporter: Reporter):
    wrapper = f"overlay o {{ when {text} }}" if allow == "facts" else f"overlay o {{ when always require {text} }}"
    module = parser_mod.parse_module(SourceFile("t.eidos", wrapper), reporter)
    decl = module.decls[0]
    node = decl.when[0] if allow == "facts" else decl.requires[0].expr
    return node, Checker(FACTS, reporter).check(node, allow)


@pytest.mark.parametrize("kind", list(REGISTRY), ids=lambda k: k.name)
def test_each_kind_parses_checks_evaluates_traces_and_renders(kind):
    allow, text, data, expected = EXAMPLES[kind.name]
    r = Reporter()
    node, ir = _checked(allow, text, r)
    assert not r.items, [d.render() for d in r.items]
    assert type(node) is kind.ast_type
    assert type(ir) is kind.ir_type
    lookup = _lookup(data)
    assert closure(ir)(lookup) is expected
    value, _ = trace(ir, lookup)
    assert value is expected
    assert render(ir) == text  # the examples are written canonically
    _, again = _checked(allow, render(ir), r)
    assert again == ir


# ---------------------------------------------------------------- the gap finder finds gaps


def _without(name: str) -> Registry:
    reduced = Registry()
    for kind in REGISTRY:
        if kind.name != name:
            reduced.declare(kind)
    return reduced


def test_a_kind_left_out_of_the_registry_is_found():
    ast_classes, ir_classes, own, rules = _real_inputs()
    gaps = registry_gaps(_without("text test"), ast_classes, ir_classes, own, rules)
    assert "AST class TextTest has no kind" in gaps
    assert "IR class TextTest has no kind" in gaps
    assert "grammar rule text_test has no parser callback" in gaps


def test_a_new_ast_or_ir_class_without_a_kind_is_found():
    # stand-ins: not real subclasses, which would leak into every other test's class scan
    @attrs.frozen
    class Between:
        span: Span

    @attrs.frozen
    class BetweenE:
        operand: object

    ast_classes, ir_classes, own, rules = _real_inputs()
    gaps = registry_gaps(REGISTRY, ast_classes | {Between}, ir_classes | {BetweenE}, own, rules)
    assert gaps == ["AST class Between has no kind", "IR class BetweenE has no kind"]


def test_a_grammar_rule_without_a_callback_is_found():
    ast_classes, ir_classes, own, rules = _real_inputs()
    gaps = registry_gaps(REGISTRY, ast_classes, ir_classes, own, rules | {"between"})
    assert gaps == ["grammar rule between has no parser callback"]


def test_an_operator_spelled_in_the_grammar_but_not_declared_is_found():
    ast_classes, ir_classes, own, rules = _real_inputs()
    text = next(k for k in REGISTRY if k.name == "text test")
    reduced = Registry()
    for kind in REGISTRY:
        reduced.declare(kind if kind is not text else attrs.evolve(text, ops={"startswith": str.startswith}))
    gaps = registry_gaps(reduced, ast_classes, ir_classes, own, rules)
    assert len(gaps) == 1 and "TEXT_OP spells ['contains', 'endswith', 'startswith']" in gaps[0]


def test_the_registry_refuses_a_second_declaration():
    kind = next(iter(REGISTRY))
    reduced = Registry()
    reduced.declare(kind)
    with pytest.raises(ValueError, match="declared twice"):
        reduced.declare(kind)


# ---------------------------------------------------------------- declarations that cannot work are refused


def _kind(**changes) -> Kind:
    fields = dict(name="probe", ast_type=type("ProbeAst", (), {}), ir_type=type("ProbeIR", (), {}),
                  syntax={"probe_rule": lambda b, ch: None}, check=lambda c, e, allow: None,
                  render=lambda ir: "probe", compile=lambda ir: (lambda lookup: True))
    fields.update(changes)
    return Kind(**fields)


def test_a_kind_is_an_atom_or_a_connective_and_only_atoms_negate():
    with pytest.raises(ValueError, match="an atom has 'compile', a connective 'combine'"):
        _kind(compile=None)
    with pytest.raises(ValueError, match="an atom has 'compile', a connective 'combine'"):
        _kind(combine=all)
    with pytest.raises(ValueError, match="only an atom has 'negate'"):
        _kind(compile=None, combine=all, negate=lambda ir: ir)
    assert _kind(negate=lambda ir: ir).is_atom


def test_a_grammar_rule_is_declared_once_and_unknown_nodes_are_refused():
    registry = Registry()
    first = _kind()
    assert registry.declare(first) is first
    assert registry.syntax_hooks() == {"probe_rule": first.syntax["probe_rule"]}
    with pytest.raises(ValueError, match="grammar rule 'probe_rule' is declared twice"):
        registry.declare(_kind(name="other", ast_type=type("A2", (), {}), ir_type=type("I2", (), {})))
    assert registry.for_ast(first.ast_type()) is first and registry.for_ir(first.ir_type()) is first
    with pytest.raises(TypeError, match="no expression kind is declared for object"):
        registry.for_ast(object())
    with pytest.raises(TypeError, match="no expression kind is declared for object"):
        registry.for_ir(object())


# ---------------------------------------------------------------- what the checker says, and renders


def _diagnostics(allow: str, text: str):
    r = Reporter()
    facts = dict(FACTS, gpu_ok=FactType("gpu_ok", "bool"), ratio=FactType("ratio", "float"))
    wrapper = f"overlay o {{ when {text} }}" if allow == "facts" else f"overlay o {{ when always require {text} }}"
    module = parser_mod.parse_module(SourceFile("t.eidos", wrapper), r)
    decl = module.decls[0]
    ir = Checker(facts, r).check(decl.when[0] if allow == "facts" else decl.requires[0].expr, allow)
    return ir, [(d.code, d.message, d.hint) for d in r.items]


def test_a_set_keeps_each_member_once():
    ir, found = _diagnostics("measurements", 'OS.release.ID in {"a", "b", "a"}')
    assert not found and render(ir) == 'OS.release.ID in {"a", "b"}'


def test_a_range_may_mix_integers_and_floats_but_not_other_types():
    for text in ("ratio in 1..2.5", "ratio in 1.5..<3"):
        ir, found = _diagnostics("facts", text)
        assert not found and render(ir) == text
    _, found = _diagnostics("measurements", "K8s.server.version in 1.30.0..2")
    assert found == [("E301", "range ends differ in type (version and int)", None)]


def test_text_tests_on_a_boolean_fact_say_how_to_compare_it():
    _, found = _diagnostics("facts", 'gpu_ok matches "t"')
    assert found == [("E301", "'matches' needs text; 'gpu_ok' is a bool fact",
                      "compare booleans with == true or == false")]


def test_an_invalid_pattern_names_re2_syntax():
    _, found = _diagnostics("measurements", 'OS.release.ID matches "(a)\\\\1"')
    assert [(code, hint) for code, _, hint in found] == [
        ("E302", "patterns use RE2 syntax: no backreferences or lookaround; repetitions up to {1000}")]


def test_exists_in_a_condition_is_refused_with_its_reason():
    _, found = _diagnostics("facts", "exists OS.kmod.nvidia_peermem")
    assert found == [("E301", "'exists' tests measurements, which conditions cannot see",
                      "derive a fact from the snapshot with 'infer', then test the fact")]
