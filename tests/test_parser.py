"""The grammar: every construct parses to the AST it should; bad input gives located errors."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.parser import parse_module


def parse(text: str):
    r = Reporter()
    module = parse_module(SourceFile("t.eidos", text), r)
    return module.decls, r.sorted()


def one(text: str):
    decls, diags = parse(text)
    assert not diags, [d.render() for d in diags]
    assert len(decls) == 1
    return decls[0]


def test_enum_fact_with_aliases_and_doc():
    d = one('fact os: enum { ubuntu, rhel } alias { al2 = rhel } doc "the host OS"')
    assert isinstance(d, ast.FactDecl)
    assert d.kind == "enum" and [v.value for v in d.values] == ["ubuntu", "rhel"]
    assert [(a.value, b.value) for a, b in d.aliases] == [("al2", "rhel")]
    assert d.doc == "the host OS"
    assert (d.name.span.line, d.name.span.col) == (1, 6)


def test_scalar_facts():
    for kind in ("int", "float", "version", "string", "bool"):
        assert one(f"fact x: {kind}").kind == kind


def test_helm_component():
    d = one(
        """component gpu-operator {
          helm repo "https://helm.ngc.nvidia.com/nvidia" chart "gpu-operator" version "v25.10.1"
          namespace "gpu-operator"
          values "a.yaml"
          values "b.yaml"
          manifest "m.yaml"
          needs cert-manager, prometheus
          aliases gpuoperator
          display "GPU Operator"
          scheduling system { node-selector "operator.nodeSelector" tolerations "operator.tolerations", "x.y" }
          set driver.enabled = true
          unset driver.rdma
        }"""
    )
    assert isinstance(d, ast.ComponentDecl)
    assert d.helm.version.value == "v25.10.1"  # the v is kept verbatim
    assert [v.value for v in d.values] == ["a.yaml", "b.yaml"]
    assert [n.value for n in d.needs] == ["cert-manager", "prometheus"]
    assert d.scheduling[0].role.value == "system"
    assert [p.value for p in d.scheduling[0].toleration_paths] == ["operator.tolerations", "x.y"]
    assert d.sets[0].path == ("driver", "enabled") and d.sets[0].value.value is True
    assert d.unsets[0].path == ("driver", "rdma")
    assert d.display == "GPU Operator"


def test_kustomize_component():
    d = one('component t { kustomize source "https://git.example/x.git" tag "0.6.1" path "deploy/prod" }')
    assert (d.kustomize.source.value, d.kustomize.tag.value, d.kustomize.path.value) == (
        "https://git.example/x.git", "0.6.1", "deploy/prod")


def test_overlay_with_everything():
    d = one(
        """overlay gb200 extends eks-training {
          doc "GB200"
          when accelerator == gb200
          when os in { ubuntu, rhel }
          require k8s: K8s.server.version >= 1.32.4
            severity warning
            message "too old"
            remedy "upgrade " "the control plane"
          replace kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8
          component gpu-operator {
            version "v25.3.3"
            values "v.yaml"
            manifest "m.yaml"
            drop manifest "old.yaml"
            needs a, b
            drop needs c
            namespace "gpu"
            set cdi = { enabled: true, "default": false, list: [1, 2.5, "x", null] }
            set devicePlugin.env[0].value = "cdi"
            set "nvidia.com/gpu".count = 8
            unset tuning.legacy
          }
          drop component nvsentinel
        }"""
    )
    assert isinstance(d, ast.OverlayDecl)
    assert d.parent.value == "eks-training" and d.doc == "GB200"
    assert len(d.when) == 2
    req, rep = d.requires
    assert req.name.value == "k8s" and not req.replace and req.severity.value == "warning"
    assert req.remedy == "upgrade the control plane"
    assert rep.replace and isinstance(rep.expr, ast.Compare)
    assert rep.expr.left.segments == ("OS", "sysctl", "/proc/sys/kernel/osrelease")
    use = d.components[0]
    assert use.version.value == "v25.3.3" and use.namespace.value == "gpu"
    assert [s.path for s in use.sets] == [("cdi",), ("devicePlugin", "env", 0, "value"), ("nvidia.com/gpu", "count")]
    cdi = use.sets[0].value
    assert cdi.kind == "map" and [k for k, _ in cdi.value] == ["enabled", "default", "list"]
    assert [n.value for n in use.drop_needs] == ["c"]
    assert d.drops[0].value == "nvsentinel"


def test_expressions():
    d = one(
        """check c {
          when (service == eks or service == gke) and not intent == training and nodes in 2..<16
          require exists OS.kmod.nvidia_peermem
          require SystemD."containerd.service".ActiveState == "active"
          require K8s.server.version matches "-eks-"
          require GPU.smi["driver-version"] not in { 550.54.14, 550.54.15 }
          require K8s.server.version in 1.30..1.33
          require GPU.smi.gpu[0].model != "x"
          category "gpu"
        }"""
    )
    assert isinstance(d, ast.CheckDecl) and d.category == "gpu"
    cond = d.when[0]
    assert isinstance(cond, ast.And)
    assert isinstance(cond.items[0], ast.Or) and isinstance(cond.items[1], ast.Not)
    rng = cond.items[2]
    assert isinstance(rng, ast.InRange) and not rng.include_high
    kinds = [type(r.expr).__name__ for r in d.requires]
    assert kinds == ["Exists", "Compare", "Matches", "InSet", "InRange", "Compare"]
    assert d.requires[1].expr.left.segments == ("SystemD", "containerd.service", "ActiveState")
    assert d.requires[3].expr.negated
    assert d.requires[5].expr.left.segments == ("GPU", "smi", "gpu", 0, "model")


def test_text_operators():
    d = one(
        """check c {
          when always
          require K8s.node.os-image startswith "Ubuntu "
          require OS.release.PRETTY_NAME endswith "LTS"
          require K8s.server.version contains "-eks-"
          require not K8s.node.contains contains "x"
        }"""
    )
    exprs = [r.expr for r in d.requires]
    assert [(e.op, e.text) for e in exprs[:3]] == [("startswith", "Ubuntu "), ("endswith", "LTS"), ("contains", "-eks-")]
    assert all(isinstance(e, ast.TextTest) for e in exprs[:3])
    assert exprs[0].operand.segments == ("K8s", "node", "os-image")
    assert (exprs[0].span.line, exprs[0].span.col, exprs[0].span.end_col) == (3, 19, 57)
    # the operator words stay names wherever a name is expected
    assert isinstance(exprs[3], ast.Not) and exprs[3].operand.operand.segments == ("K8s", "node", "contains")
    assert one("fact startswith: string").name.value == "startswith"


def test_text_operators_need_a_quoted_string():
    _, diags = parse('overlay o { when always require K8s.a.b startswith Ubuntu }')
    assert [d.code for d in diags] == ["E101"] and "a string" in diags[0].hint


def test_parentheses_build_no_node_and_keep_the_inner_span():
    d = one("overlay o { when ((service == eks)) }")
    cond = d.when[0]
    assert isinstance(cond, ast.Compare) and (cond.span.col, cond.span.end_col) == (20, 34)


def test_empty_lists_and_maps_have_positions():
    d = one('component c {\n  set a = []\n  set b = {}\n}')
    a, b = (s.value for s in d.sets)
    assert (a.kind, a.value, a.span.line, a.span.col, a.span.end_col) == ("list", (), 2, 11, 13)
    assert (b.kind, b.value, b.span.line, b.span.col, b.span.end_col) == ("map", (), 3, 11, 13)


def test_infer():
    a, b = parse('infer service = eks when K8s.server.version matches "-eks-"\ninfer nodes = K8s.node.count')[0]
    assert a.fact.value == "service" and a.value.kind == "symbol" and isinstance(a.when, ast.Matches)
    assert isinstance(b.value, ast.PathRef) and b.when is None


def test_keywords_are_names_where_a_name_is_expected():
    """'version' is a keyword in component bodies but a plain path segment or component name elsewhere."""
    d = one("overlay o { when always component version require K8s.server.version >= 1.2 }")
    assert d.components[0].name.value == "version"
    assert d.requires[0].expr.left.segments == ("K8s", "server", "version")


def test_comments_and_blank_lines():
    decls, diags = parse("# a comment\n\nfact a: int  # trailing\n# end\n")
    assert not diags and len(decls) == 1


def test_syntax_error_location_and_hint():
    _, diags = parse("overlay o {\n  when service = eks\n}\n")
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("E101", 2, 16)]
    assert "==" in diags[0].hint
    assert diags[0].source_line == "  when service = eks"
    assert "^" in diags[0].render()


def test_several_errors_in_one_file_are_all_reported():
    text = (
        "fact a: enum { x, y }\n"
        "overlay one {\n  when a ==\n}\n"
        "overlay fine { when a == x }\n"
        "overlay two {\n  require K8s.server.version >=\n}\n"
    )
    decls, diags = parse(text)
    assert [(d.code, d.span.line) for d in diags] == [("E101", 4), ("E101", 8)]
    assert [getattr(d.name, "value", None) for d in decls] == ["a", "fine"]


def test_unterminated_string_and_bad_character():
    _, diags = parse('component c {\n  namespace "oops\n}\n')
    assert diags[0].code == "E103" and (diags[0].span.line, diags[0].span.col) == (2, 13)
    _, diags = parse("fact a: int\nfact b: int $\n")
    assert diags[0].code == "E102" and diags[0].span.line == 2


def test_invalid_escape():
    _, diags = parse('component c { namespace "a\\qb" }')
    assert [d.code for d in diags] == ["E103"]


def test_unexpected_end_of_file():
    _, diags = parse("overlay o {\n  when always\n")
    assert diags and diags[0].code == "E101" and "end of file" in diags[0].message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable, max_size=200))
def test_arbitrary_text_never_raises(text):
    decls, diags = parse(text)
    for d in diags:
        assert d.code.startswith("E1") and d.span.line >= 1
