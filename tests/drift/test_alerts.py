"""Drift alerts against a real HTTP server on loopback: bodies, retries, back-off, timeouts."""

from __future__ import annotations

import pytest

from eidos.drift import alerts
from eidos.errors import InputError
from tests.drift.webhook import Receiver

DIFF = {
    "summary": {"nodes": 1, "drifted": 1, "changes": 2},
    "nodes": [{"node": "gpu-1", "status": "drifted", "verdicts": [], "changes": [
        {"path": "GPU.smi.driver-version", "kind": "changed", "before": "570.133.20",
         "after": "580.82.07", "direction": "upgrade"},
        {"path": 'OS.sysctl["/proc/sys/vm/swappiness"]', "kind": "added", "after": 10}]},
        {"node": "gpu-2", "status": "same", "changes": [], "verdicts": []}],
}


def body(fmt="alertmanager", status="firing"):
    return alerts.BODIES[fmt](status=status, install="default", namespace="gpu-operator", baseline="golden",
                              diff=DIFF, fingerprint="ab" * 32, starts_at="2026-11-30T14:00:00Z",
                              ends_at=None if status == "firing" else "2026-11-30T15:00:00Z")


def test_alertmanager_body_has_the_webhook_config_fields():
    doc = body()
    # the version 4 payload Alertmanager sends to webhook_config receivers
    assert set(doc) == {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                        "commonLabels", "commonAnnotations", "externalURL", "alerts"}
    assert doc["version"] == "4" and doc["status"] == "firing"
    (alert,) = doc["alerts"]  # one alert per drifted node; gpu-2 is the same as the baseline
    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert alert["labels"]["alertname"] == "EidosDrift" and alert["labels"]["node"] == "gpu-1"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert "580.82.07" in alert["annotations"]["description"] and "upgrade" in alert["annotations"]["description"]
    resolved = body(status="resolved")
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"] == "2026-11-30T15:00:00Z"


def test_json_body_has_text_for_chat_tools():
    doc = body("json")
    assert doc["text"].startswith("eidos drift gpu-operator/default: 1 node(s) drifted from baseline golden")
    assert "gpu-1" in doc["text"] and "GPU.smi.driver-version" in doc["text"]
    assert [n["node"] for n in doc["nodes"]] == ["gpu-1"]
    assert "resolved" in body("json", "resolved")["text"]


def test_success_posts_once():
    with Receiver() as hook:
        delivery = alerts.post(hook.url, body(), timeout=5, retries=3, backoff=0.01)
    assert delivery.attempts == 1 and delivery.status == 200
    assert len(hook.requests) == 1
    assert hook.requests[0]["body"] == body()
    assert hook.requests[0]["headers"]["Content-Type"] == "application/json"


def test_500_then_success_retries_with_backoff():
    slept, warned = [], []
    with Receiver([500, 503]) as hook:
        delivery = alerts.post(hook.url, body(), timeout=5, retries=3, backoff=0.05,
                               sleep=slept.append, warn=warned.append)
    assert delivery.attempts == 3 and len(hook.requests) == 3
    assert slept == [0.05, 0.1]  # exponential
    assert "HTTP 500" in warned[0] and "HTTP 503" in warned[1]
    assert all(r["body"] == hook.requests[0]["body"] for r in hook.requests)


def test_backoff_is_bounded():
    slept = []
    with Receiver([500] * 6) as hook, pytest.raises(alerts.AlertFailed):
        alerts.post(hook.url, body(), timeout=5, retries=5, backoff=10, sleep=slept.append)
    assert slept == [10, 20, 30, 30, 30]  # capped at MAX_BACKOFF
    assert len(hook.requests) == 6


def test_timeout_gives_up_with_a_clear_message():
    with Receiver([("sleep", 2), ("sleep", 2)]) as hook, pytest.raises(alerts.AlertFailed) as info:
        alerts.post(hook.url, body(), timeout=0.3, retries=1, backoff=0.01)
    message = info.value.message
    assert "not delivered after 2 attempt(s)" in message and "no answer within 0.3s" in message
    assert len(hook.requests) == 2
    assert "T0KEN" not in message and "/hooks" not in message  # the URL's secret path never shows
    assert message.startswith("webhook http://127.0.0.1:")


def test_client_error_is_not_retried():
    with Receiver([400]) as hook, pytest.raises(alerts.AlertFailed, match="HTTP 400"):
        alerts.post(hook.url, body(), timeout=5, retries=3, backoff=0.01)
    assert len(hook.requests) == 1


def test_unreachable_is_retried_then_fails():
    with Receiver() as hook:
        url = hook.url
    slept = []
    with pytest.raises(alerts.AlertFailed, match="after 3 attempt"):
        alerts.post(url, body(), timeout=2, retries=2, backoff=0.01, sleep=slept.append)
    assert len(slept) == 2


def test_url_file(tmp_path):
    good = tmp_path / "url"
    good.write_text("https://hooks.example.com/services/SECRET\n")
    assert alerts.read_url(str(good)) == "https://hooks.example.com/services/SECRET"
    bad = tmp_path / "bad"
    bad.write_text("ftp://x/SECRET")
    with pytest.raises(InputError) as info:
        alerts.read_url(str(bad))
    assert "SECRET" not in info.value.message
    with pytest.raises(InputError, match="cannot read"):
        alerts.read_url(str(tmp_path / "missing"))
    assert alerts.where("https://hooks.example.com:8443/services/SECRET?x=1") == "https://hooks.example.com:8443"
