"""Install order: every object of a custom kind needs its CRD installed first.

A fresh install applies components in the recipe's deployment order; Helm rejects a
release whose objects have a kind the API server does not know yet. So the CRD of every
custom kind a component renders must come from the same component or one before it.
"""

from __future__ import annotations

from eidos.verify.findings import Finding

# API groups the Kubernetes API server serves itself (no CRD needed).
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "apiregistration.k8s.io", "coordination.k8s.io", "certificates.k8s.io", "discovery.k8s.io",
    "node.k8s.io", "resource.k8s.io", "flowcontrol.apiserver.k8s.io", "events.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io",
})


def crd_kinds(objects) -> dict[tuple[str, str], dict]:
    """(group, kind) -> CRD body, for every CustomResourceDefinition among ``objects``."""
    out: dict[tuple[str, str], dict] = {}
    for obj in objects:
        if obj.kind == "CustomResourceDefinition" and obj.group == "apiextensions.k8s.io":
            spec = obj.body.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if spec.get("group") and kind:
                out.setdefault((spec["group"], kind), obj.body)
    return out


def _enabling_source(component, kind: str) -> tuple[str, str]:
    """(value path, file:line) of the value most likely to have switched ``kind`` on."""
    values = (component.provenance or {}).get("values") or {}
    needle = kind.lower()
    for path in sorted(values):
        if needle in path.lower().replace("_", ""):
            return path, values[path]
    prov = component.provenance or {}
    return "", prov.get("included") or prov.get("declared") or ""


def install_order(order: list[str], components: dict, objects_by_component: dict) -> list[Finding]:
    """Findings for objects whose CRD comes later in ``order`` or from no component."""
    definer: dict[tuple[str, str], str] = {}
    for name in order:
        for key in crd_kinds(objects_by_component.get(name, ())):
            definer.setdefault(key, name)
    position = {name: i for i, name in enumerate(order)}
    findings: list[Finding] = []
    for name in order:
        seen: set[tuple[str, str]] = set()
        for obj in objects_by_component.get(name, ()):
            key = (obj.group, obj.kind)
            if obj.group in BUILTIN_GROUPS or key in seen:
                continue
            seen.add(key)
            path, source = _enabling_source(components[name], obj.kind)
            where = definer.get(key)
            step = position[name] + 1
            if where is None:
                message = (f"{name} (step {step}) renders {obj.kind} ({obj.api_version}, {obj.ref}) "
                           "but no component of the bundle installs its CRD: the install fails")
            elif position[where] > position[name]:
                message = (f"{name} (step {step}) renders {obj.kind} ({obj.api_version}, {obj.ref}) "
                           f"but its CRD comes from {where} (step {position[where] + 1}): "
                           "a fresh install fails")
            else:
                continue
            findings.append(Finding(
                severity="error", check="install-order", component=name,
                key=path or f"{obj.kind}.{obj.group}", message=message, source=source,
                hint=f"disable it in {name}'s values or make {name} need {where}" if where else
                f"disable it in {name}'s values or add the component that defines {obj.kind}",
            ))
    return findings
