"""Fixtures for the snapshot tests (helpers live in snaphelpers.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from snaphelpers import KMockThread, fake_host


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """A running emulator plus a kubeconfig for it; KUBECONFIG points at that file."""
    server = KMockThread().start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
              - name: kmock
                cluster: {{server: "{server.url}"}}
            users:
              - name: tester
                user: {{token: "s3cr3t-token-must-not-leak"}}
            contexts:
              - name: kmock
                context: {{cluster: kmock, user: tester}}
            current-context: kmock
            """
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    server.kubeconfig = kubeconfig
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def host(tmp_path) -> Path:
    return fake_host(tmp_path / "host")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """PATH with only a private bin dir (fake tools use absolute paths); no cluster config."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("NODE_NAME", raising=False)
    return bin_dir
