"""Judging one compiled rule on one snapshot: the verdict, its reason and the values seen.

The decision table (docs/validate.md repeats it for users):

* the check does not apply to the facts                 -> ``skip`` (why not)
* a measured value has the wrong type (``EvalError``)   -> ``error``
* the expression is unknown because values are absent, or false only because a whole
  collector's data is absent (``exists`` on a subtype the snapshot lacks):
  ``error`` for an error-severity rule, ``skip`` for warning/info (they may be absent);
  the reason says which collector did not deliver and why, and the remedy is how to
  re-take the snapshot (the rule's own fix, an upgrade say, would be wrong advice)
* true, but every value it mentions is absent (``not exists P or …``) -> ``skip``; unless
  the rule only tests presence and each path's subtype was collected (``not exists
  OS.kmod.nouveau`` with a module list that lacks it): a measured absence -> ``pass``
* true                                                  -> ``pass``
* false                                                 -> ``fail`` (error) or ``warn``

The fast path is one closure call plus one lookup per path; ``trace`` (slower) only runs
to explain an evaluation error.
"""

from __future__ import annotations

import json

from eidos.lang import record
from eidos.lang.expr import EvalError, Exist, atoms, trace
from eidos.lang.measurements import MISSING
from eidos.validate import hostos
from eidos.validate.plan import Rule
from eidos.validate.verdicts import Deferred, Judged, Verdict

# Which collector fills which subtype (eidos agent names); other subtypes fall back to
# "any collector of that measurement type that did not succeed".
_COLLECTOR_OF = {
    ("OS", "release"): "os-release",
    ("OS", "kernel"): "kernel",
    ("OS", "sysctl"): "sysctl",
    ("OS", "kmod"): "kmod",
    ("OS", "cmdline"): "cmdline",
    ("OS", "grub"): "cmdline",
    ("K8s", "server"): "k8s-server",
    ("K8s", "node"): "k8s-nodes",
    ("K8s", "nodes"): "k8s-nodes",
    ("K8s", "cluster"): "k8s-nodes",
    ("K8s", "image"): "k8s-images",
    ("K8s", "policy"): "k8s-policy",
    ("K8s", "nic-policy"): "k8s-policy",
    ("K8s", "dra"): "k8s-dra",
    ("K8s", "helm"): "k8s-helm",
    ("OS", "iommu"): "iommu",
}


def show(value: object) -> str:
    """A measured value as a report shows it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


# How to get each measurement type's data into a snapshot, for "re-take" remedies.
_RETAKE = {
    "K8s": "with access to the cluster: eidos snapshot without --no-cluster (a kubeconfig that can read "
           "nodes, pods and ClusterPolicies), or eidos snapshot --deploy-agent",
    "GPU": "on a GPU node where nvidia-smi runs: eidos snapshot --deploy-agent (the agent runs on a node "
           "labelled nvidia.com/gpu.present=true)",
    "OS": "with the host's root: eidos snapshot --host-root /host in a pod mounting / at /host, "
          "or eidos snapshot --deploy-agent",
    "SystemD": "on the node with the host's systemd reachable: eidos snapshot --deploy-agent",
}


def retake_remedy(snapshot, gaps: list) -> str:
    """What to do when an ``error`` verdict comes from data the snapshot lacks, not from
    the cluster: the rule's own fix (an upgrade, say) would be wrong advice. ``gaps`` are
    the absent operands (``.segments``, ``.name``); paths needing the same re-take share
    one sentence."""
    by_how: dict[str, list[str]] = {}
    nccl: list[str] = []
    for op in gaps:
        segments, path = tuple(op.segments), op.name
        if segments[0] == "NCCL":
            nccl.append(path)
            continue
        if segments[:2] == hostos.SUBTYPE:
            how = ("so it carries the host's OS: with eidos' agent (eidos snapshot --deploy-agent reads the "
                   "host's os-release), or with cluster access so the kubelet's os-image (K8s.node.os-image) "
                   "is recorded")
        elif len(segments) > 2 and snapshot.lookup(segments[:2]) is not MISSING:
            how = (f"with eidos' own collectors (eidos snapshot --deploy-agent): this snapshot has "
                   f"{segments[0]}.{segments[1]} without these keys")
        else:
            how = _RETAKE.get(segments[0], "with eidos snapshot --deploy-agent")
        by_how.setdefault(how, []).append(path)
    sentences = [f"Re-take the snapshot {how} (needed: {', '.join(paths)}); then validate again."
                 for how, paths in by_how.items()]
    if nccl:
        # NCCL results come from a test log, not a collector: a key is absent because the run
        # did not print it (no footer: it crashed or hung; no device list or NCCL_DEBUG=INFO)
        sentences.append(f"The NCCL log does not give {', '.join(nccl)}: run the test to completion with "
                         "NCCL_DEBUG=INFO and the full output (eidos fabric parse LOG shows what it holds); "
                         "then validate again.")
    return " ".join(sentences)


def absence_reason(snapshot, segments: tuple) -> str:
    """Why a path is absent, naming the collector that should have delivered it."""
    mtype = segments[0]
    sub = segments[1] if len(segments) > 1 else None
    if tuple(segments[:2]) == hostos.SUBTYPE:
        host = snapshot.lookup(hostos.SUBTYPE)
        if host is MISSING:
            return hostos.NO_HOST_OS
        return (f"OS.host has no {segments[2] if len(segments) > 2 else 'such key'} "
                f"(from {host.get('source')}: {host.get('PRETTY_NAME', '?')!r} does not say)")
    wanted = _COLLECTOR_OF.get((mtype, sub))
    broken = [c for c in snapshot.collectors if c.type == mtype and not c.ok]
    named = [c for c in broken if c.name == wanted] or ([] if wanted else broken)
    if sub is not None and snapshot.lookup((mtype, sub)) is not MISSING:
        return f"{mtype}.{sub} has no such key"
    if named:
        c = named[0]
        return f"{c.name} collector {c.status}" + (f": {c.reason}" if c.reason else "")
    if mtype not in snapshot.types():
        return f"the snapshot has no {mtype} measurement"
    return f"the snapshot has no {mtype}.{sub}"


def _found(rule: Rule, values, snapshot=None, host=None) -> str:
    """``P = value, …`` for a reason; ``host`` is the snapshot's OS.host data when already
    looked up (a deferred reason keeps that, not the whole snapshot)."""
    parts = []
    for op, value in zip(rule.operands, values):
        parts.append(f"{op.name} not in snapshot" if value is MISSING else f"{op.name} = {show(value)}")
    if host is None and snapshot is not None:
        host = _host_info(rule, values, snapshot)
    if isinstance(host, dict):
        parts.append(f"OS.host from {host.get('source')}: {host.get('PRETTY_NAME', '?')!r}")
    return ", ".join(parts)


def _host_info(rule: Rule, values, snapshot):
    """The snapshot's OS.host data when the rule read a value from it (the reason names its
    source), else None."""
    for op, v in zip(rule.operands, values):
        if v is not MISSING and tuple(op.segments[:2]) == hostos.SUBTYPE:
            return snapshot.lookup(hostos.SUBTYPE)
    return None


def _holds(rule: Rule, values, host) -> str:
    return f"holds: {_found(rule, values, host=host)}"


def _expected(rule: Rule, values, host) -> str:
    return f"expected {rule.expr}; found {_found(rule, values, host=host)}"


def _actual(operands, values) -> tuple:
    return tuple((op.name, None if v is MISSING else v) for op, v in zip(operands, values))


def _verdict(rule: Rule, status: str, values, reason, remedy: str | None = None) -> Verdict:
    """The verdict; ``actual`` and (when given so) ``reason`` are built only when read."""
    return Verdict(rule.id, rule.kind, rule.name, rule.category, rule.origin, rule.expr, rule.severity,
                   status, Deferred(_actual, rule.operands, values), reason, rule.message,
                   rule.remedy if remedy is None else remedy, rule.source)


def _absence_measured(rule: Rule, snapshot, missing: list) -> bool:
    """True when a rule only tests presence (``exists``) and each absent path's subtype was
    collected: ``not exists OS.kmod.nouveau`` on a snapshot whose module list lacks nouveau
    is a measured absence (pass), not a value the snapshot failed to carry (skip)."""
    if not all(isinstance(a, Exist) for a in atoms(rule.ir)):
        return False
    return all(snapshot.lookup(tuple(op.segments[:2])) is not MISSING for op in missing)


def _explained(rule: Rule, verdict: Verdict, snapshot) -> Verdict:
    """``verdict`` with why the rule applied and every test its expression made (--explain)."""
    if verdict.status == "skip" and rule.skip_reason is not None:
        return record.evolve(verdict, applies=rule.skip_reason)
    look = snapshot.lookup
    _, atoms = trace(rule.ir, lambda op: look(op.segments))
    steps = []
    for a in atoms:
        got = "absent" if a.actual is MISSING or a.actual is None else show(a.actual)
        gave = {True: "true", False: "false", None: "unknown"}.get(a.result, str(a.result))
        steps.append(f"{a.text}: found {got} -> {gave}" + (f" ({a.error})" if a.error else ""))
    return record.evolve(verdict, applies=rule.applies, trace=tuple(steps))


def evaluate(rule: Rule, snapshot, *, explain: bool = False) -> Verdict:
    """The verdict of ``rule`` on ``snapshot`` (never raises for bad snapshot data).

    With ``explain``, the verdict also says why the rule applied and traces each test of
    its expression (slower: a second, recording evaluation)."""
    verdict = _judge(rule, snapshot)
    return _explained(rule, verdict, snapshot) if explain else verdict


def judge_all(rules, snapshot) -> Judged:
    """The verdicts of ``rules`` on ``snapshot`` (as ``evaluate`` gives them, in order),
    deciding each status at once and building each ``Verdict`` only when it is read.

    The rule set is compiled once into a plan (``judging.RulePlan``: keyed closures, the
    paths to read grouped by subtype, a status table per rule) that every snapshot judged
    with the same rules reuses. Each path is read once per snapshot; a rule that holds or
    fails on values that are all present — nearly every rule on a real snapshot — costs
    one closure call and one table lookup; the others (absent values, evaluation errors,
    skipped checks) are judged in full by ``evaluate``'s own code."""
    from eidos.validate import judging

    return judging.judge_all(rules, snapshot)


def _decided(rule: Rule, status: str, found: dict, snapshot) -> Verdict:
    """The verdict of a rule whose status was decided on values all present: ``found``
    maps each path's name to its value (``judging``), the reason is built when read."""
    look = snapshot.lookup
    values = []
    for op in rule.operands:
        value = found.get(op.name, _UNSEEN)
        values.append(look(op.segments) if value is _UNSEEN else value)
    host = _host_info(rule, values, snapshot)
    if status == "pass":
        reason = Deferred(_holds, rule, values, host) if values else "holds"
    else:
        reason = Deferred(_expected, rule, values, host)
    return _verdict(rule, status, values, reason)


def _judge(rule: Rule, snapshot) -> Verdict:
    if rule.skip_reason is not None:
        return Verdict(rule.id, rule.kind, rule.name, rule.category, rule.origin, rule.expr,
                       rule.severity, "skip", (), rule.skip_reason, rule.message, rule.remedy, rule.source)
    look = snapshot.lookup
    operands = rule.operands
    values = [look(op.segments) for op in operands]
    # the closure reads the values just looked up: each path is looked up once
    if len(operands) == 1:
        only, value = operands[0].name, values[0]

        def lookup(op):
            return value if op.name == only else look(op.segments)
    else:
        seen = {op.name: v for op, v in zip(operands, values)}

        def lookup(op):
            v = seen.get(op.name, _UNSEEN)
            return look(op.segments) if v is _UNSEEN else v

    try:
        result = rule.fn(lookup)
    except EvalError:
        _, atoms = trace(rule.ir, lookup)
        bad = [a for a in atoms if a.error]
        why = "; ".join(f"cannot evaluate {a.text}: {a.error}" for a in bad) or "cannot evaluate"
        return _verdict(rule, "error", values, why)

    if result is True and _complete(values):
        if not values:
            return _verdict(rule, "pass", values, "holds")
        return _verdict(rule, "pass", values, Deferred(_holds, rule, values, _host_info(rule, values, snapshot)))
    if result is False and _complete(values):
        status = "fail" if rule.severity == "error" else "warn"
        return _verdict(rule, status, values, Deferred(_expected, rule, values, _host_info(rule, values, snapshot)))
    missing = [(op, v) for op, v in zip(operands, values) if v is MISSING]
    if result is True:
        if missing and len(missing) == len(values):
            paths = ", ".join(op.name for op, _ in missing)
            if _absence_measured(rule, snapshot, [op for op, _ in missing]):
                return _verdict(rule, "pass", values, f"holds: {paths} absent from the collected data")
            return _verdict(rule, "skip", values, f"nothing to check: {paths} not in snapshot, which the rule allows")
        return _verdict(rule, "pass", values, f"holds: {_found(rule, values, snapshot)}" if values else "holds")
    uncollected = [op for op, _ in missing if snapshot.lookup(tuple(op.segments[:2])) is MISSING]
    if result is None or uncollected:
        gaps = uncollected if result is not None else [op for op, _ in missing]
        why = "; ".join(f"{op.name} not in snapshot ({absence_reason(snapshot, op.segments)})" for op in gaps)
        why = why or "the expression's value is unknown for this snapshot"
        if rule.severity == "error":
            # the cluster was not judged: the fix is a better snapshot, not the rule's remedy
            fix = retake_remedy(snapshot, gaps) if gaps else None
            return _verdict(rule, "error", values, why, fix)
        return _verdict(rule, "skip", values, f"{why}; {'an' if rule.severity[0] in 'aeiou' else 'a'} {rule.severity}-severity rule may be absent")
    status = "fail" if rule.severity == "error" else "warn"
    return _verdict(rule, status, values, f"expected {rule.expr}; found {_found(rule, values, snapshot)}")


_UNSEEN = object()


def _complete(values) -> bool:
    """No value is absent (by identity: ``in`` would call ``==`` on measured values)."""
    for v in values:
        if v is MISSING:
            return False
    return True
