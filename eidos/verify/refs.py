"""Dangling references: ConfigMaps and Secrets named by workloads but created by nothing.

A pod that mounts a missing ConfigMap never starts; an operator told to read a missing
ConfigMap (``driver.kernelModuleConfig.name`` of the GPU Operator) never deploys the
driver. Everything the bundle renders, in every component, is what exists on a fresh
cluster; a reference marked ``optional: true`` is not a finding.
"""

from __future__ import annotations

from eidos.verify.findings import Finding

_POD_KINDS = {"Pod": (), "Deployment": ("template",), "DaemonSet": ("template",),
              "StatefulSet": ("template",), "ReplicaSet": ("template",), "Job": ("template",),
              "CronJob": ("jobTemplate", "spec", "template")}

# Custom resources whose fields name ConfigMaps the operator reads: (kind, spec path) -> (kind, values path)
WELL_KNOWN = {
    ("ClusterPolicy", ("driver", "kernelModuleConfig", "name")): ("ConfigMap", "driver.kernelModuleConfig.name"),
    ("ClusterPolicy", ("dcgmExporter", "config", "name")): ("ConfigMap", "dcgmExporter.config.name"),
}


def _get(node, path):
    for seg in path:
        if not isinstance(node, dict):
            return None
        node = node.get(seg)
    return node


def _pod_spec(body: dict) -> dict | None:
    kind = body.get("kind")
    if kind not in _POD_KINDS:
        return None
    spec = body.get("spec") if kind == "Pod" else _get(body.get("spec") or {}, _POD_KINDS[kind] + ("spec",))
    return spec if isinstance(spec, dict) else None


def pod_references(spec: dict) -> list[tuple[str, str, str]]:
    """(kind, name, where) for each non-optional ConfigMap/Secret a pod spec needs."""
    refs: list[tuple[str, str, str]] = []

    def add(kind, ref, where, name_key="name"):
        if isinstance(ref, dict) and ref.get(name_key) and not ref.get("optional"):
            refs.append((kind, str(ref[name_key]), where))

    for vol in spec.get("volumes") or ():
        if not isinstance(vol, dict):
            continue
        add("ConfigMap", vol.get("configMap"), f"volume {vol.get('name')}")
        add("Secret", vol.get("secret"), f"volume {vol.get('name')}", "secretName")
        for src in (vol.get("projected") or {}).get("sources") or ():
            if isinstance(src, dict):
                add("ConfigMap", src.get("configMap"), f"volume {vol.get('name')}")
                add("Secret", src.get("secret"), f"volume {vol.get('name')}")
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or ():
            if not isinstance(c, dict):
                continue
            for ef in c.get("envFrom") or ():
                if isinstance(ef, dict):
                    add("ConfigMap", ef.get("configMapRef"), f"container {c.get('name')} envFrom")
                    add("Secret", ef.get("secretRef"), f"container {c.get('name')} envFrom")
            for env in c.get("env") or ():
                vf = env.get("valueFrom") if isinstance(env, dict) else None
                if isinstance(vf, dict):
                    add("ConfigMap", vf.get("configMapKeyRef"), f"container {c.get('name')} env {env.get('name')}")
                    add("Secret", vf.get("secretKeyRef"), f"container {c.get('name')} env {env.get('name')}")
    return refs


# Created by Kubernetes itself in every namespace (the service-account token volume's CA).
CLUSTER_PROVIDED = {("ConfigMap", "kube-root-ca.crt")}


def _created(objects) -> set[tuple[str, str, str]]:
    made: set[tuple[str, str, str]] = set()
    for obj in objects:
        if obj.kind in ("ConfigMap", "Secret") and obj.group == "":
            made.add((obj.kind, obj.namespace, obj.name))
        elif obj.kind == "Certificate" and obj.group == "cert-manager.io":
            secret = (obj.body.get("spec") or {}).get("secretName")
            if secret:  # cert-manager writes the certificate into this Secret
                made.add(("Secret", obj.namespace, str(secret)))
    return made


def dangling_references(components: dict, objects_by_component: dict) -> list[Finding]:
    everything = [o for objs in objects_by_component.values() for o in objs]
    made = _created(everything)
    findings: list[Finding] = []
    for name, objects in objects_by_component.items():
        component = components[name]
        values_prov = (component.provenance or {}).get("values") or {}
        for obj in objects:
            refs: list[tuple[str, str, str, str]] = []  # kind, name, where, values path
            spec = _pod_spec(obj.body)
            if spec is not None:
                refs += [(k, n, w, "") for k, n, w in pod_references(spec)]
            for (kind, path), (ref_kind, value_path) in WELL_KNOWN.items():
                if obj.kind == kind:
                    ref = _get(obj.body.get("spec") or {}, path)
                    if isinstance(ref, str) and ref:
                        refs.append((ref_kind, ref, "spec." + ".".join(path), value_path))
            # an operator's custom resource (cluster-scoped) reads ConfigMaps in its own namespace
            namespace = obj.namespace or component.namespace
            for kind, ref_name, where, value_path in refs:
                if (kind, namespace, ref_name) in made or (kind, ref_name) in CLUSTER_PROVIDED:
                    continue
                source = values_prov.get(value_path, "") if value_path else ""
                findings.append(Finding(
                    severity="error" if kind == "ConfigMap" else "warning",
                    check="dangling-reference", component=name,
                    key=value_path or f"{obj.ref}",
                    message=f"{obj.ref} ({where}) needs {kind} {namespace}/{ref_name}, "
                    "which nothing in the bundle creates",
                    source=source,
                    hint=f"ship the {kind} with the component (a manifest) or drop the reference",
                ))
    return findings
