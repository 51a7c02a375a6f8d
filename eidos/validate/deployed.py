"""Deployed component versions against the recipe: one warning-level rule per component.

A recipe pins each Helm component's chart version; a cluster that runs another version
(gpu-operator v25.3.0 where the recipe says v25.10.1) is not what the recipe was validated
with. The deployed version is read, per snapshot, from the first source that has it:

1. ``K8s.helm["<release>.version"]`` — the Helm releases the later reference's agent
   records (``<release>.chart``, ``.version``, ``.namespace``) and eidos' own
   ``eidos snapshot --helm-releases`` records in the same form, looked up by the component's
   name, then by its chart's name (``prometheus`` is released as ``kube-prometheus-stack``),
   then as ``<namespace>/<name>`` (eidos' key when one release name is used in several
   namespaces);
2. ``K8s.image["<chart>"]`` (or ``[".../<chart>"]``, as eidos keys images by repository)
   — only for operators whose image tag is the chart version
   (``gpu-operator``, ``network-operator``: NVIDIA releases both under one version);
   other images carry their own versions and would give false verdicts.

When neither is in the snapshot the rule reads the Helm path, which is absent, so the
verdict is ``skip`` with the reason (a warning-level rule may be absent), never a guess.
The expression is built per snapshot because the path depends on which source exists;
it is compiled once per distinct text (``ClosureCache``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from eidos.lang.measurements import MISSING
from eidos.lang.versions import Version, is_version
from eidos.validate.plan import ClosureCache, Rule, operands_of

IMAGE_CARRIES_CHART_VERSION = frozenset({"gpu-operator", "network-operator"})


def _literal(version: str) -> str:
    return version.lstrip("vV") if is_version(version) else '"' + version.replace('"', '\\"') + '"'


def _source(component, snapshot) -> tuple[str, tuple]:
    """The path (as rule text and as lookup segments) the deployed version is read from."""
    helm = snapshot.lookup(("K8s", "helm"))
    if isinstance(helm, dict):
        # eidos' own collector keys a release name used in several namespaces as
        # <namespace>/<release>; the recipe's namespace picks the one it deploys
        ns = getattr(component, "namespace", None) or component.name
        names = [n for n in (component.name, component.chart) if n]
        for key in dict.fromkeys(names + [f"{ns}/{n}" for n in names]):
            if key and f"{key}.version" in helm:
                return f'K8s.helm["{key}.version"]', ("K8s", "helm", f"{key}.version")
    chart = component.chart or component.name
    images = snapshot.lookup(("K8s", "image"))
    if chart in IMAGE_CARRIES_CHART_VERSION and isinstance(images, dict):
        # the reference keys images by bare name (gpu-operator), eidos by repository
        # (nvcr.io/nvidia/gpu-operator); a repository running several tags (a list) cannot
        # say which one is deployed, so it is not used
        for key in sorted(images):
            if (key == chart or key.endswith("/" + chart)) and isinstance(images[key], str):
                return f'K8s.image["{key}"]', ("K8s", "image", key)
    return f'K8s.helm["{component.name}.version"]', ("K8s", "helm", f"{component.name}.version")


def deployed_version(component, snapshot) -> tuple[str, str] | None:
    """``(path, version)`` the snapshot shows deployed for ``component``, or None.

    The same source the ``component:<name>`` rules read, so an overlay pinned from a
    snapshot (``eidos recipe --emit-overlay``) and a later verdict never disagree.
    """
    path, segments = _source(component, snapshot)
    value = snapshot.lookup(segments)
    return (path, value) if isinstance(value, str) else None


@lru_cache(maxsize=1024)
def _compile(text: str):
    """Text -> IR, once per distinct text in the process (a fleet repeats the same few). The
    expression tests only a measurement path against a constant, so no fact types are needed."""
    from eidos.lang.diagnostics import Reporter
    from eidos.lang.expr import Checker
    from eidos.lang.parser import parse_expression

    reporter = Reporter()
    expr = parse_expression(text, "<deployed>", reporter)
    ir = None
    if expr is not None:
        ir = Checker({}, reporter).check(expr, "measurements")
    if ir is None or reporter.has_errors:  # a version string the language cannot hold: no rule
        return None
    return ir


# The spellings :func:`_direct` types without the parser: a key of these characters (no quote,
# backslash or space, so the path text holds it verbatim), a three-part numeric version
# (written bare: the language lexes it as a version), any other text of these characters
# (written quoted: a string). Everything else goes through the parser.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@:+-]{0,252}")
_PLAIN_VERSION = re.compile(r"[vV]?[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}")
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9._+-]{1,128}")


def _direct(segments: tuple, version: str):
    """The IR :func:`_compile` gives ``<path> == <literal>`` for the plain spellings above,
    built without the parser, or ``None`` (then :func:`_compile` parses). A warm
    ``eidos validate`` would otherwise import the parser and read one cached parse per
    pinned component (issue 17); tests/validate/test_deployed.py checks both agree."""
    from eidos.lang.ast import format_path
    from eidos.lang.expr.ir import Cmp, Const, Operand

    if not _PLAIN_KEY.fullmatch(segments[2]):
        return None
    if _PLAIN_VERSION.fullmatch(version):
        text = version.lstrip("vV")  # as _literal writes it
        const = Const("version", Version.parse(text), text)
    elif _PLAIN_TEXT.fullmatch(version) and not is_version(version):
        const = Const("string", version, json.dumps(version))
    else:
        return None
    return Cmp("==", Operand("path", format_path(segments), tuple(segments)), const)


def deployed_rules(components, snapshot, graph, cache: ClosureCache) -> list[Rule]:
    """One ``component:<name>`` rule per Helm component of the recipe that pins a version."""
    out: list[Rule] = []
    for c in components:
        if getattr(c, "type", "helm") != "helm" or not c.version:
            continue
        path, segments = _source(c, snapshot)
        text = f"{path} == {_literal(c.version)}"
        ir = _direct(segments, c.version) or _compile(text)
        if ir is None:
            continue
        ref = c.chart_ref or c.chart or c.name
        if c.repository and not c.is_oci:
            ref += f" --repo {c.repository}"
        remedy = (f"Deploy the recipe's version: helm upgrade --install {c.name} {ref} -n {c.namespace or c.name} "
                  f"--version {c.version} --reuse-values (or apply the bundle eidos bundle writes for this recipe); "
                  "if the cluster's version is intended, validate against a recipe that pins it.")
        source = (getattr(c, "provenance", None) or {}).get("version") or "recipe"
        out.append(Rule(f"component:{c.name}", "requirement", f"component/{c.name}", "components",
                        f"component {c.name}", text, "warning",
                        f"The recipe deploys {c.name} {c.version}; the cluster runs another version.",
                        remedy, source, ir, cache.get(ir), operands_of(ir),
                        applies=f"the recipe deploys {c.name} {c.version} (chart {c.chart or c.name})"))
    return out
