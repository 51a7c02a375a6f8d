"""One conformance run: every requirement of the chosen version, judged by its mapped checks,
as verdicts of the ordinary ``validate`` report model (so every ``--output`` format works,
and CTRF/JUnit name each test by the requirement id).

How a requirement's verdict follows from its checks:

* every check passes -> ``pass`` (claimed ``Implemented`` in PRODUCT.yaml);
* a check fails -> ``fail`` for a MUST (severity error), ``warn`` for a SHOULD (warning);
* a check errors -> ``error``;
* a check was skipped (prerequisite missing, ``--no-workloads``) -> ``error`` for a MUST
  (it could not be established, and a MUST must be), ``skip`` for a SHOULD;
* no check exists (mapping ``checks: []``) -> ``skip`` with what the vendor must add.

Only ``pass`` is ever claimed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import attrs

from eidos.conformance import requirements as reqs
from eidos.conformance.behaviour import ProbeOptions
from eidos.conformance.checks import CHECKS, Outcome, run_check
from eidos.conformance.probe import Probe
from eidos.conformance.workload import DraOptions, DraRun, run_dra
from eidos.errors import EnvironmentFailure
from eidos.validate.verdicts import NodeResult, Report, Verdict


@attrs.frozen
class RunOptions:
    version: str
    version_source: str  # "flag" | "cluster"
    workloads: bool = True
    image: str | None = None
    timeout: float = 300.0
    poll_interval: float = 2.0
    cleanup: bool = True
    run_id: str = attrs.field(factory=lambda: secrets.token_hex(4))


@attrs.frozen
class RequirementResult:
    requirement: reqs.Requirement
    verdict: Verdict
    outcomes: tuple[Outcome, ...]
    manual: str  # the mapping's note when eidos has no check

    @property
    def claimed(self) -> bool:
        return self.verdict.status == "pass"


@attrs.frozen
class ConformanceResult:
    requirement_set: reqs.RequirementSet
    server_version: str  # gitVersion, or "" when unknown
    cluster: str
    results: tuple[RequirementResult, ...]
    report: Report


class Context:
    """What a check gets: the shared probe, the run id, the behavioural tests' options, and
    the DRA run (done once)."""

    def __init__(self, probe: Probe, opts: RunOptions, warn: Callable[[str], None]):
        self.probe, self.opts, self.warn = probe, opts, warn
        self.run_id = opts.run_id
        self._dra: DraRun | None = None

    def probe_options(self) -> ProbeOptions:
        """The behavioural tests' options (each test makes its own namespace from the run id)."""
        return ProbeOptions(run_id=self.run_id, timeout=self.opts.timeout, poll_interval=self.opts.poll_interval,
                            cleanup=self.opts.cleanup, **({"image": self.opts.image} if self.opts.image else {}))

    def dra_run(self) -> DraRun:
        if self._dra is None:
            self._dra = self._run_dra()
        return self._dra

    def _run_dra(self) -> DraRun:
        from eidos.conformance.checks import NO_WORKLOADS, gpu_device_class

        what = "the DRA workload (ResourceClaim-backed pod, then a pod without a claim)"
        if not self.opts.workloads:
            return DraRun(Outcome("dra-claim-pod", "skip", NO_WORKLOADS, what=what),
                          Outcome("dra-isolation", "skip", NO_WORKLOADS, what=what))
        try:
            cls, _ = gpu_device_class(self.probe)
        except EnvironmentFailure as err:  # an API failure reading DeviceClasses: the run cannot start
            why = f"could not run: {getattr(err, 'message', err)}"
            return DraRun(Outcome("dra-claim-pod", "error", why, what=what),
                          Outcome("dra-isolation", "error", why, what=what))
        if self.probe.served("resource.k8s.io/v1") is None:
            why = "cannot run: resource.k8s.io/v1 is not served"
            return DraRun(Outcome("dra-claim-pod", "skip", why, what=what),
                          Outcome("dra-isolation", "skip", why, what=what))
        dra = DraOptions(run_id=self.run_id, device_class=cls, timeout=self.opts.timeout,
                         poll_interval=self.opts.poll_interval, cleanup=self.opts.cleanup,
                         **({"image": self.opts.image} if self.opts.image else {}))
        return run_dra(self.probe.cluster, dra, warn=self.warn)


def judge(req: reqs.Requirement, rset: reqs.RequirementSet, mapping: reqs.Mapping,
          outcomes: tuple[Outcome, ...]) -> Verdict:
    must = req.level == "MUST"
    statuses = [o.status for o in outcomes]
    if not mapping.checks:
        status, reason, remedy = "skip", "not established by eidos: " + mapping.manual, mapping.manual
    elif "fail" in statuses:
        bad = [o for o in outcomes if o.status == "fail"]
        status = "fail" if must else "warn"
        reason = "; ".join(f"{o.check}: {o.reason}" for o in bad)
        remedy = "; ".join(o.remedy for o in bad if o.remedy)
    elif "error" in statuses or ("skip" in statuses and must):
        bad = [o for o in outcomes if o.status in ("error", "skip")]
        status = "error"
        reason = "could not be established: " + "; ".join(f"{o.check}: {o.reason}" for o in bad)
        remedy = "; ".join(o.remedy for o in bad if o.remedy) or "rerun with the behavioural tests and the permissions they need"
    elif "skip" in statuses:
        bad = [o for o in outcomes if o.status == "skip"]
        status, reason = "skip", "not established: " + "; ".join(f"{o.check}: {o.reason}" for o in bad)
        remedy = ""
    else:
        status, reason, remedy = "pass", "; ".join(f"{o.check}: {o.reason}" for o in outcomes), ""
    return Verdict(
        id=f"conformance:{req.id}", kind="requirement", name=req.id, category=req.category,
        origin=rset.name, expr="all of: " + (", ".join(mapping.checks) or "(no eidos check)"),
        severity="error" if must else "warning", status=status,
        actual=tuple((o.check, o.status) for o in outcomes), reason=reason,
        message=f"{req.level} {req.id}: {status}", remedy=remedy, source=rset.source(req))


def run_conformance(cluster, opts: RunOptions, *, warn: Callable[[str], None] | None = None,
                    progress: Callable[[str], None] | None = None, fail_on: str = "error",
                    allow_errors: bool = False) -> ConformanceResult:
    warn = warn or (lambda message: None)
    progress = progress or (lambda message: None)
    rset = reqs.load(opts.version)
    mapping = reqs.load_mapping()
    probe = Probe(cluster)
    try:
        git_version = str(probe.server_version().get("gitVersion") or "")
    except EnvironmentFailure:  # the version was given with --k8s-version; a later check reports the API failure
        git_version = ""
    ctx = Context(probe, opts, warn)
    done: dict[str, Outcome] = {}
    results = []
    for req in rset.requirements:
        m = mapping.get(req.id)
        if m is None:  # a shipped version with an unmapped id is a packaging bug, caught by the tests
            raise KeyError(f"mapping.yaml has no entry for requirement {req.id}")
        outcomes = []
        for cid in m.checks:
            if cid not in done:
                progress(f"{req.id}: {CHECKS[cid].title}")
                done[cid] = run_check(cid, ctx)
            outcomes.append(done[cid])
        verdict = judge(req, rset, m, tuple(outcomes))
        results.append(RequirementResult(req, verdict, tuple(outcomes), m.manual))
    node = NodeResult(
        node="cluster", snapshot=cluster.description, timestamp=None,
        criteria=(("k8s-version", opts.version),) + ((("server-version", git_version),) if git_version else ()),
        fact_sources=(("k8s-version", "flag" if opts.version_source == "flag" else "cluster /version"),
                      ("server-version", "cluster /version")),
        overlays=(), verdicts=tuple(r.verdict for r in results))
    report = Report(nodes=(node,), fail_on=fail_on, allow_errors=allow_errors,
                    recipe_source=f"CNCF AI conformance {rset.name}")
    return ConformanceResult(rset, git_version, cluster.description, tuple(results), report)
