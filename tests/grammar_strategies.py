"""Hypothesis strategies that write valid .eidos programs (grammar-based generation)."""

from __future__ import annotations

from hypothesis import strategies as st

FACT_VALUES = {
    "service": ["eks", "gke", "aks"],
    "accelerator": ["h100", "gb200", "a100"],
    "os": ["ubuntu", "rhel", "cos"],
    "intent": ["training", "inference"],
}
PATHS = ['K8s.server.version', 'OS.release.VERSION_ID', 'OS.sysctl["/proc/sys/kernel/osrelease"]']
VERSIONS = ["1.28", "1.30.5", "v1.32.4", "6.8.0-1028-aws", "24.04", "1.2.3.4"]


@st.composite
def fact_atom(draw):
    fact = draw(st.sampled_from(sorted(FACT_VALUES)))
    values = FACT_VALUES[fact]
    kind = draw(st.sampled_from(["eq", "ne", "in", "notin"]))
    if kind == "eq":
        return f"{fact} == {draw(st.sampled_from(values))}"
    if kind == "ne":
        return f"{fact} != {draw(st.sampled_from(values))}"
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
    return f"{fact} {'in' if kind == 'in' else 'not in'} {{{', '.join(chosen)}}}"


def conditions():
    return st.recursive(
        fact_atom(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda c: f"not ({c})"),
        ),
        max_leaves=4,
    )


@st.composite
def requirement(draw):
    path = draw(st.sampled_from(PATHS))
    op = draw(st.sampled_from([">=", ">", "<", "<=", "==", "!="]))
    return f"require {path} {op} {draw(st.sampled_from(VERSIONS))}"
