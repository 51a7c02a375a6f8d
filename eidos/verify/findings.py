"""What ``eidos verify`` reports: one finding per problem, each pointing at its cause.

A finding names the component, the check that raised it, the value path or object at
fault, and the rule or values ``file:line`` that set it (from the recipe's provenance),
so a reader goes straight from the report to the line to change.
"""

from __future__ import annotations

import attrs

SEVERITIES = ("error", "warning", "info", "skip")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# check name -> what it means (documented in docs/verify.md, used by SARIF rule ids)
CHECKS = {
    "dead-value": "a value the bundle sets that the chart neither defaults nor reads",
    "values-schema": "values the chart's values.schema.json rejects",
    "object-schema": "a rendered object invalid for its kind (built-in schema or the CRD shipped)",
    "install-order": "an object of a custom kind whose CRD is installed later or by no component",
    "dangling-reference": "a ConfigMap or Secret referenced but created by nothing in the bundle",
    "namespace": "objects the chart puts outside the component's namespace",
    "render": "the chart failed to render with the bundle's values",
    "chart-missing": "the component's chart is not under --charts: not verified",
    "not-helm": "the component is not a Helm chart: its manifests are rendered, not its chart",
}


@attrs.frozen(order=False)
class Finding:
    severity: str  # error | warning | info | skip
    check: str  # a key of CHECKS
    component: str
    message: str
    key: str = ""  # value path or object (Kind/namespace/name) at fault
    source: str = ""  # rule or values file:line that set it ("" when unknown)
    hint: str = ""

    def sort_key(self) -> tuple:
        return (self.component, _RANK[self.severity], self.check, self.key, self.message)

    def as_dict(self) -> dict:
        doc = {
            "severity": self.severity,
            "check": self.check,
            "component": self.component,
            "key": self.key,
            "message": self.message,
            "source": self.source,
        }
        if self.hint:
            doc["hint"] = self.hint
        return doc


def sorted_findings(findings) -> tuple[Finding, ...]:
    """Deterministic order, duplicates dropped."""
    return tuple(sorted(set(findings), key=Finding.sort_key))
