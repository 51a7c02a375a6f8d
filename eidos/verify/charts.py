"""Finding and loading charts under ``--charts DIR`` (laid out ``NAME/VERSION/``), and Helm itself.

Helm v4's engine comes from the optional ``helm-python-sdk`` package (``pip install
'eidos[verify]'``); it is imported only here, and only when ``verify`` runs, so a missing
extra is a clear usage error, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from eidos.errors import UsageError

EXTRA_HINT = "install the verify extra: pip install 'eidos[verify]'"


def helm_module():
    """The ``helm_python`` module (Helm v4 through its C ABI), or a usage error."""
    try:
        import helm_python
    except ImportError as err:
        raise UsageError(
            f"eidos verify needs Helm's engine from the helm-python-sdk package ({err})",
            hint=EXTRA_HINT,
        ) from None
    return helm_python


def require_extras() -> None:
    """Fail early (exit 2) when any package of the ``verify`` extra is missing."""
    helm_module()
    for module, package in (("jsonschema", "jsonschema"), ("kubernetes_validate", "kubernetes-validate")):
        try:
            __import__(module)
        except ImportError as err:
            raise UsageError(f"eidos verify needs the {package} package ({err})", hint=EXTRA_HINT) from None


def chart_dir(charts: Path, chart: str, version: str) -> tuple[Path | None, str]:
    """(the chart directory, "") or (None, why it is not usable)."""
    base = charts / chart
    candidates = [version]
    if version.startswith("v"):
        candidates.append(version[1:])
    else:
        candidates.append("v" + version)
    for name in candidates:
        path = base / name
        if (path / "Chart.yaml").is_file():
            missing = missing_dependencies(path)
            if missing:
                return None, (f"{chart} {version} under {charts} lacks its dependencies "
                              f"{', '.join(missing)} in charts/ (run helm dependency build)")
            return path, ""
    if not base.is_dir():
        return None, f"no chart {chart!r} under {charts}"
    have = sorted(p.name for p in base.iterdir() if (p / "Chart.yaml").is_file())
    return None, f"no {chart} {version} under {charts} (have: {', '.join(have) or 'none'})"


def missing_dependencies(chart: Path) -> list[str]:
    """Dependencies Chart.yaml declares that charts/ does not hold (Helm refuses to install)."""
    from eidos.io import yamlio

    meta = yamlio.load((chart / "Chart.yaml").read_text(encoding="utf-8"), str(chart / "Chart.yaml"))
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    sub = chart / "charts"
    have: set[str] = set()
    if sub.is_dir():
        for entry in sub.iterdir():
            if (entry / "Chart.yaml").is_file():
                have.add(entry.name)
                inner = yamlio.load((entry / "Chart.yaml").read_text(encoding="utf-8"), str(entry))
                if isinstance(inner, dict) and inner.get("name"):
                    have.add(str(inner["name"]))
            elif entry.name.endswith(".tgz"):
                have.add(entry.name.rsplit("-", 1)[0])
    return sorted(str(d["name"]) for d in deps or () if isinstance(d, dict) and d.get("name") not in have)
