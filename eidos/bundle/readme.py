"""README pieces shared by every deployer (component table, requirements, verification)."""

from __future__ import annotations

from eidos.bundle.context import Context, component_row
from eidos.bundle.shell import printable


def _cell(text: str) -> str:
    """A table cell: no '|' that would split it, no control character that would break it."""
    return printable(text.replace("\n", " ")).replace("|", "\\|")


def components_table(ctx: Context) -> str:
    rows = [
        "| # | Component | Namespace | Chart / source | Version | Repository |",
        "|---|---|---|---|---|---|",
    ]
    for index, component in enumerate(ctx.components, 1):
        what, version, where = component_row(component)
        rows.append(
            f"| {index} | {_cell(component.name)} | {_cell(component.namespace)} | {_cell(what)} "
            f"| {_cell(version)} | {_cell(where)} |"
        )
    return "\n".join(rows) + "\n"


def requirements_section(ctx: Context) -> str:
    reqs = ctx.recipe.document.get("requirements") or []
    rows = []
    for req in reqs:
        if isinstance(req, dict) and req.get("expr"):
            rows.append(
                f"| {_cell(str(req.get('name', '')))} | `{_cell(str(req['expr']))}` "
                f"| {_cell(str(req.get('severity', '')))} |"
            )
    if not rows:
        return ""
    return (
        "## Cluster requirements\n\n"
        "The recipe holds only on clusters that meet these; check with `eidos validate`.\n\n"
        "| Requirement | Expression | Severity |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
    )
