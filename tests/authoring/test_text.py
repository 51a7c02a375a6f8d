"""The text pieces generated files are made of: each reads back, through eidos' own parser,
as exactly what went in."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.authoring import text as t
from eidos.authoring.new import Draft, Requirement, render
from eidos.importers.quoting import Unquotable
from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.parser import parse_module


@pytest.mark.parametrize("raw, literal", [
    ("v1.30.14-eks-3025e55", "1.30.14"), ("22.04", "22.04"), ("2", "2"), ("6.8.0-1024-aws", "6.8.0"),
    ("1.33.0-rc.1", None), ("Ubuntu", None), ("", None),
])
def test_version_literal(raw, literal):
    assert t.version_literal(raw) == literal


def test_comment_stays_on_one_line():
    assert t.comment("a", '"b"') == '# a "b"'
    with pytest.raises(Unquotable):
        t.comment("a\nb")


class _Graph:
    """Just enough of a graph for render(): no parent chain."""

    overlays: ClassVar[dict] = {}


def _parse(text):
    reporter = Reporter()
    module = parse_module(SourceFile("<t>", text), reporter)
    assert not reporter.has_errors, [d.render() for d in reporter.sorted()]
    return module


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_TEXT, remedy=_TEXT, category=_TEXT, version=st.sampled_from(["v1.2.3", "25.8.1", "1.2.3-rc.1"]))
def test_free_text_round_trips_through_the_parser(doc, remedy, category, version):
    check = render(_Graph(), Draft("check", "c", always=True, doc=doc, category=category,
                                   requirements=(Requirement("r", "exists GPU.smi.driver", "warning", remedy),)))
    (decl,) = _parse(check).decls
    assert (decl.doc, decl.category) == (doc, category)
    assert decl.requires[0].remedy == remedy and decl.requires[0].severity.value == "warning"
    overlay = render(_Graph(), Draft("overlay", "o", always=True, doc=doc, components=(("gpu-operator", version),)))
    (decl,) = _parse(overlay).decls
    assert decl.doc == doc and decl.components[0].version.value == version
