"""Node selectors and tolerations, injected only when the user asks for them.

The reference tool injected ``tolerations: [{operator: Exists}]`` into every component when
no flag was given and replaced whatever the values held. Here nothing happens without a
flag, and what the values already hold wins: selector keys are added only where absent,
tolerations are appended only when not already present. Conflicts become warnings that say
which value was kept, so ``--set`` remains the way to override a curated value.
"""

from __future__ import annotations

from typing import Any

from eidos.lang import record

from eidos.bundle.model import ROLES, Component
from eidos.bundle.values import format_path, get, parse_path, set_path
from eidos.errors import UsageError

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@record.frozen
class NodeRole:
    """What the user asked for one node role (system or accelerated)."""

    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[tuple[str, str], ...], ...] = ()  # each toleration as ordered items

    @property
    def empty(self) -> bool:
        return not self.node_selector and not self.tolerations


@record.frozen
class SchedulingRequest:
    system: NodeRole = NodeRole()
    accelerated: NodeRole = NodeRole()

    def role(self, name: str) -> NodeRole:
        return self.system if name == "system" else self.accelerated

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ROLES:
            role = self.role(name)
            if role.empty:
                continue
            entry: dict[str, Any] = {}
            if role.node_selector:
                entry["nodeSelector"] = dict(role.node_selector)
            if role.tolerations:
                entry["tolerations"] = [dict(t) for t in role.tolerations]
            out[name] = entry
        return out


def parse_selector(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"{flag} {text!r}: expected KEY=VALUE (e.g. nodeGroup=system)")
    return key, value


def parse_toleration(text: str, flag: str) -> tuple[tuple[str, str], ...]:
    """``key=value:Effect`` (Equal), ``key:Effect`` (Exists); the effect may be omitted."""
    body, effect = text, ""
    if ":" in text:
        body, _, effect = text.rpartition(":")
        if effect not in EFFECTS:
            raise UsageError(
                f"{flag} {text!r}: unknown effect {effect!r}; expected one of {', '.join(EFFECTS)}"
            )
    key, sep, value = body.partition("=")
    if not key or ":" in body:
        raise UsageError(f"{flag} {text!r}: expected KEY=VALUE:EFFECT or KEY:EFFECT")
    items = [("key", key), ("operator", "Equal" if sep else "Exists")]
    if sep:
        items.append(("value", value))
    if effect:
        items.append(("effect", effect))
    return tuple(items)


def build_request(
    system_selectors: list[str],
    accelerated_selectors: list[str],
    system_tolerations: list[str],
    accelerated_tolerations: list[str],
) -> SchedulingRequest:
    def role(selectors: list[str], tolerations: list[str], prefix: str) -> NodeRole:
        pairs: dict[str, str] = {}
        for text in selectors:
            key, value = parse_selector(text, f"--{prefix}-node-selector")
            pairs[key] = value
        tols: list[tuple[tuple[str, str], ...]] = []
        for text in tolerations:
            tol = parse_toleration(text, f"--{prefix}-toleration")
            if tol not in tols:
                tols.append(tol)
        return NodeRole(node_selector=tuple(pairs.items()), tolerations=tuple(tols))

    return SchedulingRequest(
        system=role(system_selectors, system_tolerations, "system"),
        accelerated=role(accelerated_selectors, accelerated_tolerations, "accelerated"),
    )


def inject(component: Component, values: dict, request: SchedulingRequest) -> list[str]:
    """Merge the requested scheduling into ``values`` in place; return warnings."""
    warnings: list[str] = []
    for role_name in ROLES:
        wanted = request.role(role_name)
        paths = component.scheduling.role(role_name)
        where = f"{component.name} ({role_name} nodes)"
        if wanted.node_selector:
            for text in paths.node_selector:
                path = parse_path(text, f"{component.name} scheduling path")
                current = get(values, path)
                if current is None:
                    set_path(values, path, dict(wanted.node_selector), where)
                    continue
                if not isinstance(current, dict):
                    warnings.append(
                        f"{where}: {format_path(path)} is not a mapping; node selector not added"
                    )
                    continue
                for key, value in wanted.node_selector:
                    if key not in current:
                        current[key] = value
                    elif current[key] != value:
                        warnings.append(
                            f"{where}: {format_path(path)} already selects {key}={current[key]}; "
                            f"kept it instead of {key}={value}"
                        )
        if wanted.tolerations:
            for text in paths.tolerations:
                path = parse_path(text, f"{component.name} scheduling path")
                current = get(values, path)
                if current is None:
                    set_path(values, path, [dict(t) for t in wanted.tolerations], where)
                    continue
                if not isinstance(current, list):
                    warnings.append(
                        f"{where}: {format_path(path)} is not a list; tolerations not added"
                    )
                    continue
                for tol in wanted.tolerations:
                    if dict(tol) not in current:
                        current.append(dict(tol))
    return warnings


def unused_roles(components: list[Component], request: SchedulingRequest) -> list[str]:
    """Warnings for flags no component can take (no registered paths for that role)."""
    warnings = []
    for role_name in ROLES:
        wanted = request.role(role_name)
        for kind, asked, attr in (
            ("node selectors", wanted.node_selector, "node_selector"),
            ("tolerations", wanted.tolerations, "tolerations"),
        ):
            if asked and not any(getattr(c.scheduling.role(role_name), attr) for c in components):
                warnings.append(
                    f"no component registers {role_name} {kind} paths; {kind} not applied"
                )
    return warnings
