"""Fixtures for the snapshot tests (helpers live in snaphelpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from snaphelpers import emulated_cluster, fake_host


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """A running emulator plus a kubeconfig for it; KUBECONFIG points at that file."""
    with emulated_cluster(tmp_path, monkeypatch) as server:
        yield server


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
