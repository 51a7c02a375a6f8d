"""Verify recipes against real charts: render every component, run every check, collect findings.

One recipe (:func:`verify_recipe`) or every recipe the rule base can produce
(:func:`verify_all`, see :mod:`eidos.verify.cells`). Renders are cached per chart and
values, so recipes that share a component's values render it once.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from eidos.errors import InputError
from eidos.verify import charts as chartmod
from eidos.verify.chartinfo import ChartInfo, load_chart_info
from eidos.verify.deadvalues import dead_values, manifest_reads
from eidos.verify.findings import Finding, sorted_findings
from eidos.verify.namespaces import foreign_namespaces
from eidos.verify.order import crd_kinds, install_order
from eidos.verify.refs import dangling_references
from eidos.verify.render import objects_from, render_chart, render_manifest_chart, chart_crds
from eidos.verify.schema import object_schema, values_schema


@attrs.frozen
class ComponentStatus:
    name: str
    status: str  # verified | skipped
    chart: str = ""
    version: str = ""
    reason: str = ""


@attrs.frozen
class RecipeResult:
    label: str
    cells: tuple[str, ...]  # the fact combinations that resolve to this recipe
    overlays: tuple[str, ...]
    components: tuple[ComponentStatus, ...]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)


@attrs.frozen
class VerifyReport:
    charts: str
    recipes: tuple[RecipeResult, ...]

    @property
    def exit_code(self) -> int:
        return 1 if any(r.errors for r in self.recipes) else 0


def _text(data) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


class Verifier:
    """Holds the caches (chart facts, renders) across the recipes of one run."""

    def __init__(self, graph, charts: Path):
        self.graph = graph
        self.charts = charts
        self.helm = chartmod.helm_module()
        self._info: dict[Path, ChartInfo] = {}
        self._renders: dict[tuple, tuple[list, list[Finding]]] = {}

    def info(self, path: Path) -> ChartInfo:
        if path not in self._info:
            self._info[path] = load_chart_info(path)
        return self._info[path]

    def _render(self, component, path: Path):
        key = (str(path), component.name, component.namespace, json.dumps(component.values, sort_keys=True, default=str))
        if key in self._renders:
            return self._renders[key]
        findings: list[Finding] = []
        objects: list = []
        try:
            manifests = render_chart(self.helm, path, component.values, component.name, component.namespace)
            crd_files = chart_crds(self.helm, path)
        except self.helm.HelmError as err:  # HelmRenderError, HelmValuesError, HelmChartLoadError...
            findings.append(Finding(
                severity="error", check="render", component=component.name,
                key=component.chart, message=f"helm could not render {component.chart} "
                f"{component.version}: {getattr(err, 'detail', None) or err}",
            ))
        else:
            try:
                objects = objects_from(manifests, component.name, component.namespace)
                objects += objects_from(crd_files, component.name, component.namespace, crds=True)
            except InputError as err:
                findings.append(Finding(
                    severity="error", check="render", component=component.name,
                    key=component.chart, message=err.message,
                ))
        self._renders[key] = (objects, findings)
        return objects, findings

    def render_component(self, component) -> tuple[list, list[Finding]]:
        """The objects a Helm component's chart renders with its values (and render findings)."""
        path, why = chartmod.chart_dir(self.charts, component.chart, component.version)
        if path is None:
            return [], [Finding(severity="skip", check="chart-missing", component=component.name,
                                key=component.chart, message=f"not verified: {why}")]
        return self._render(component, path)

    def _merged(self, path: Path, values: dict) -> dict:
        with self.helm.Chart.load(str(path)) as chart:
            return chart.merge_values(values)

    def verify(self, recipe, label: str = "recipe", cells: tuple[str, ...] = ()) -> RecipeResult:
        from eidos import engine
        from eidos.bundle import BundleOptions, make_bundle

        document = engine.recipe_document(recipe)
        bundle = make_bundle(document, self.graph.read_payload, BundleOptions(deployer="script"), source=label)
        by_name = {c.name: c for c in recipe.components}
        order = [n for n in recipe.deployment_order if n in by_name]
        findings: list[Finding] = []
        statuses: list[ComponentStatus] = []
        objects: dict[str, list] = {}
        for name in order:
            component = by_name[name]
            objs: list = []
            manifest_texts: dict[str, str] = {}
            if component.manifests:
                prefix = f"components/{name}/manifests/"
                files = {p[len(prefix):]: _text(f.content) for p, f in bundle.files.items() if p.startswith(prefix)}
                manifest_texts = {k: v for k, v in files.items() if k.startswith("templates/")}
                try:
                    rendered = render_manifest_chart(self.helm, files, component.manifest_release, component.namespace)
                    objs += objects_from(rendered, name, component.namespace)
                except (self.helm.HelmError, InputError) as err:
                    findings.append(Finding(
                        severity="error", check="render", component=name, key="manifests",
                        message=f"helm could not render {name}'s manifests: {getattr(err, 'detail', None) or err}",
                    ))
            if component.type != "helm":
                statuses.append(ComponentStatus(name, "verified" if component.manifests else "skipped",
                                                reason="" if component.manifests else f"a {component.type} component"))
                objects[name] = objs
                continue
            path, why = chartmod.chart_dir(self.charts, component.chart, component.version)
            if path is None:
                statuses.append(ComponentStatus(name, "skipped", component.chart, component.version, why))
                findings.append(Finding(
                    severity="skip", check="chart-missing", component=name, key=component.chart,
                    message=f"not verified: {why}",
                    source=(component.provenance or {}).get("version", ""),
                ))
                objects[name] = objs
                continue
            info = self.info(path)
            rendered, render_findings = self._render(component, path)
            findings += render_findings
            objs += rendered
            objects[name] = objs
            findings += dead_values(component, info, manifest_reads(component, manifest_texts))
            if info.schema:
                findings += values_schema(component, info.schema, self._merged(path, component.values))
            statuses.append(ComponentStatus(name, "verified", component.chart, component.version))
        crds: dict = {}
        for name in order:
            for key, body in crd_kinds(objects.get(name, ())).items():
                crds.setdefault(key, body)
        findings += install_order(order, by_name, objects)
        findings += dangling_references(by_name, objects)
        findings += foreign_namespaces(by_name, objects)
        for name in order:
            findings += object_schema(name, objects.get(name, ()), crds)
        return RecipeResult(label, cells, tuple(recipe.overlays), tuple(statuses), sorted_findings(findings))


def verify_recipe(graph, recipe, charts: Path, label: str = "recipe") -> VerifyReport:
    chartmod.require_extras()
    return VerifyReport(str(charts), (Verifier(graph, charts).verify(recipe, label),))


def verify_all(graph, charts: Path, progress=None) -> VerifyReport:
    from eidos.verify.cells import recipe_cells

    chartmod.require_extras()
    verifier = Verifier(graph, charts)
    results = []
    groups = recipe_cells(graph)
    for i, (label, recipe, cells) in enumerate(groups, 1):
        if progress:
            progress(i, len(groups), label)
        results.append(verifier.verify(recipe, label, cells))
    return VerifyReport(str(charts), tuple(results))
