"""check cuda-driver-version-hopper (rules/checks.eidos) holds the line its doc gives: the CUDA
version an R535 driver reports, 12.2 (CUDA 12.2 toolkit release notes: CUDA 12.2 GA needs
535.54.03 or later), the oldest branch it accepts for current NGC containers in
forward-compatibility mode on H100/H200. R525 reports 12.0 and R530 12.1 (same table), R580
reports 13.0. Each expected verdict is written from those numbers, not from a run."""

from __future__ import annotations

import pytest

from eidos.validate.fleet import Validator
from tests.validate.helpers import snap

VERDICT = "check:cuda-driver-version-hopper:cuda"


def _verdict(graph, accelerator: str, model: str, cuda: str, driver: str):
    s = snap({"GPU": {"smi": {"cuda-version": cuda, "driver": driver, "gpu-count": 8, "gpu.model": model}}})
    node = Validator(graph, flag_facts={"accelerator": accelerator}).node(s, "<test>")
    return {v.id: v for v in node.verdicts}[VERDICT]


@pytest.mark.parametrize(
    ("accelerator", "model", "cuda", "driver", "status"),
    [
        ("h100", "NVIDIA H100 80GB HBM3", "12.0", "525.147.05", "warn"),  # R525: below the floor
        ("h100", "NVIDIA H100 80GB HBM3", "12.1", "530.30.02", "warn"),   # R530: below the floor
        ("h100", "NVIDIA H100 80GB HBM3", "12.2", "535.261.03", "pass"),  # R535: the floor itself
        ("h100", "NVIDIA H100 80GB HBM3", "13.0", "580.82.07", "pass"),   # R580: CUDA 13 natively
        ("h200", "NVIDIA H200", "12.1", "530.30.02", "warn"),
        ("h200", "NVIDIA H200", "12.4", "550.54.15", "pass"),             # R550
    ],
)
def test_hopper_cuda_floor_is_r535(embedded_graph, accelerator, model, cuda, driver, status):
    v = _verdict(embedded_graph, accelerator, model, cuda, driver)
    assert v.status == status
    if status == "warn":  # severity warning: a miss warns, it does not fail the node
        assert "R535" in v.message


def test_not_applied_off_hopper(embedded_graph):
    # the check's `when` is accelerator in {h100, h200}: a Blackwell node is judged by cuda-driver-version
    v = _verdict(embedded_graph, "gb200", "NVIDIA GB200", "12.1", "530.30.02")
    assert v.status == "skip"  # not applicable, although 12.1 is below the Hopper floor
