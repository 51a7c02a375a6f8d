"""Objects that land outside their component's namespace.

The bundles create the component's namespace and install the release there; a chart
value that moves the objects elsewhere (``namespaceOverride``) leaves that namespace
empty and puts the objects into another component's, where uninstalling or upgrading one
release surprises the other. Reported as a warning at the value that moved them; objects
a chart places elsewhere by design (no value of the bundle moved them) are not reported.
"""

from __future__ import annotations

from eidos.verify.findings import Finding


def _moving_value(component, namespace: str) -> tuple[str, str]:
    values = (component.provenance or {}).get("values") or {}
    for path in sorted(values):
        if "namespace" in path.rsplit(".", 1)[-1].lower():
            node = component.values
            for seg in path.split("."):
                node = node.get(seg) if isinstance(node, dict) else None
            if node == namespace:
                return path, values[path]
    return "", ""


def foreign_namespaces(components: dict, objects_by_component: dict) -> list[Finding]:
    findings: list[Finding] = []
    for name, objects in objects_by_component.items():
        component = components[name]
        elsewhere: dict[str, list[str]] = {}
        for obj in objects:
            if obj.namespace and obj.namespace != component.namespace:
                elsewhere.setdefault(obj.namespace, []).append(obj.ref)
        for namespace, refs in sorted(elsewhere.items()):
            key, source = _moving_value(component, namespace)
            if not key:
                continue  # the chart's own design (leader-election roles in kube-system, ...)
            findings.append(Finding(
                severity="warning", check="namespace", component=name, key=key,
                message=f"{len(refs)} object(s) land in namespace {namespace}, not the component's "
                f"namespace {component.namespace} (e.g. {refs[0]})",
                source=source,
                hint="install the component into that namespace, or drop the override",
            ))
    return findings
