"""Drift alerts: a webhook POST, Alertmanager-compatible or plain JSON, with bounded retries.

Two bodies:

* ``alertmanager`` — the payload Alertmanager's ``webhook_config`` receivers get
  (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config; sample v4
  payload: docs.rs crate alertmanager-webhook-types, assets/sample-v4-payload.json):
  ``version: "4"``, ``groupKey``, ``truncatedAlerts``, ``status`` (firing | resolved),
  ``receiver``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``, ``externalURL`` and
  ``alerts``, each with ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``
  (``0001-01-01T00:00:00Z`` while firing), ``generatorURL`` and ``fingerprint``. One alert per
  drifted node, all in one POST: anything that consumes Alertmanager notifications
  (alertmanager-webhook receivers, incident tools) reads it unchanged;
* ``json`` — ``{"text": …}`` plus the drift summary: the ``text`` field is what chat
  tools' incoming webhooks show (Slack's incoming webhooks take ``{"text": "…"}``,
  https://api.slack.com/messaging/webhooks; other chat tools with Slack-compatible incoming
  webhooks read the same field).

Delivery: a timeout per attempt; on a connection error, a timeout, HTTP 408, 429 or 5xx the
POST is retried after an exponential back-off (``backoff``, ``2×backoff``, … capped at
:data:`MAX_BACKOFF`), at most ``retries`` times; any other 4xx is final (retrying a
rejected body cannot help). Messages never contain the URL (chat webhook URLs carry their
token in the path): only its scheme and host.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import attrs

from eidos.errors import EnvironmentFailure, InputError

MAX_BACKOFF = 30.0
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert
ALERT_NAME = "EidosDrift"
RECEIVER = "eidos-drift"
MAX_LISTED = 20  # changes spelled out per node in an annotation or text
_RETRY_STATUS = frozenset({408, 429})


class AlertFailed(EnvironmentFailure):
    """The webhook did not accept the alert after every attempt."""


def read_url(path: str) -> str:
    """The webhook URL from a file (the Secret volume); errors name the file, never its content."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise InputError(f"{path}: cannot read the webhook URL ({err.strerror or err})") from None
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"{path}: the webhook URL must be http:// or https:// with a host")
    return text


def where(url: str) -> str:
    """What messages may say about the webhook: scheme and host, never path or query."""
    parsed = urllib.parse.urlsplit(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}"


def _changes_text(node: dict) -> list[str]:
    lines = []
    for v in node.get("verdicts", []):
        lines.append(f"{v['id']}: {v['before']} -> {v['after']}")
    for c in node.get("changes", []):
        if c["kind"] == "changed":
            how = f" ({c['direction']})" if c.get("direction") else ""
            lines.append(f"{c['path']}: {json.dumps(c.get('before'))} -> {json.dumps(c.get('after'))}{how}")
        else:
            value = c.get("after") if c["kind"] == "added" else c.get("before")
            lines.append(f"{c['path']} {c['kind']} ({json.dumps(value)})")
    if len(lines) > MAX_LISTED:
        lines = lines[:MAX_LISTED] + [f"… and {len(lines) - MAX_LISTED} more (eidos drift status)"]
    return lines


def drifted_nodes(diff: dict) -> list[dict]:
    return [n for n in diff.get("nodes", []) if n.get("status") != "same"]


def alertmanager_body(*, status: str, install: str, namespace: str, baseline: str, diff: dict,
                      fingerprint: str, starts_at: str, ends_at: str | None = None) -> dict:
    """The webhook_config payload (version 4) for a firing or resolved drift event."""
    common = {"alertname": ALERT_NAME, "severity": "warning", "namespace": namespace,
              "drift_install": install, "baseline": baseline}
    alerts = []
    for node in drifted_nodes(diff) or [{"node": "", "changes": [], "verdicts": []}]:
        labels = {**common, **({"node": node["node"]} if node.get("node") else {})}
        lines = _changes_text(node)
        alerts.append({
            "status": status,
            "labels": labels,
            "annotations": {
                "summary": (f"{node.get('node') or 'node'} drifted from baseline {baseline}: "
                            f"{len(node.get('changes', []))} change(s)") if status == "firing"
                else f"no drift from baseline {baseline} any more",
                "description": "\n".join(lines),
            },
            "startsAt": starts_at,
            "endsAt": ends_at or NEVER,
            "generatorURL": "",
            "fingerprint": fingerprint[:16],
        })
    group = {"alertname": ALERT_NAME, "drift_install": install}
    return {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": RECEIVER,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": alerts,
    }


def json_body(*, status: str, install: str, namespace: str, baseline: str, diff: dict,
              fingerprint: str, starts_at: str, ends_at: str | None = None) -> dict:
    """A plain body for chat tools: ``text`` to show, the structured summary beside it."""
    nodes = drifted_nodes(diff)
    if status == "firing":
        head = (f"eidos drift {namespace}/{install}: {len(nodes)} node(s) drifted from baseline "
                f"{baseline}")
        body = [f"{n['node']}:\n" + "\n".join(f"  {line}" for line in _changes_text(n)) for n in nodes]
        text = "\n".join([head, *body])
    else:
        text = f"eidos drift {namespace}/{install}: no drift from baseline {baseline} any more (resolved)"
    return {"text": text, "status": status, "install": install, "namespace": namespace,
            "baseline": baseline, "fingerprint": fingerprint, "startsAt": starts_at,
            **({"endsAt": ends_at} if ends_at else {}),
            "summary": diff.get("summary", {}), "nodes": nodes}


BODIES: dict[str, Callable[..., dict]] = {"alertmanager": alertmanager_body, "json": json_body}


@attrs.frozen
class Delivery:
    attempts: int
    status: int  # the accepting HTTP status


def post(url: str, body: dict, *, timeout: float = 10.0, retries: int = 3, backoff: float = 1.0,
         sleep: Callable[[float], None] = time.sleep, warn: Callable[[str], None] | None = None) -> Delivery:
    """POST ``body`` as JSON; retry what can succeed later (see the module doc)."""
    from eidos import __version__

    data = json.dumps(body, sort_keys=True).encode("utf-8")
    target = where(url)
    last = ""
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"eidos/{__version__}"})
        retry = True
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return Delivery(attempt, resp.status)
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
            retry = err.code >= 500 or err.code in _RETRY_STATUS
        except TimeoutError:
            last = f"no answer within {timeout:g}s"
        except urllib.error.URLError as err:
            reason = err.reason
            last = (f"no answer within {timeout:g}s" if isinstance(reason, TimeoutError)
                    else f"{type(reason).__name__}: {getattr(reason, 'strerror', None) or reason}")
        except OSError as err:
            last = f"{type(err).__name__}: {err.strerror or err}"
        if not retry or attempt > retries:
            break
        delay = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        if warn:
            warn(f"webhook {target}: attempt {attempt} failed ({last}); retrying in {delay:g}s")
        sleep(delay)
    raise AlertFailed(f"webhook {target}: alert not delivered after {attempt} attempt(s): {last}",
                      hint="check the URL in the webhook Secret and that the receiver is reachable from the pod")
