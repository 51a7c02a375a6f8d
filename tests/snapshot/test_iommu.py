"""The iommu collector: /sys/kernel/iommu_groups under the host root, bounded and honest."""

from __future__ import annotations

import pytest

from eidos.snapshot.collectors import iommu
from eidos.snapshot.collectors.base import HostContext, Unavailable


def _groups(root, types):
    base = root / "sys/kernel/iommu_groups"
    base.mkdir(parents=True)
    for i, kind in enumerate(types):
        g = base / str(i)
        (g / "devices").mkdir(parents=True)
        if kind is not None:
            (g / "type").write_text(kind + "\n")
    (base / "reserved_regions").write_text("")  # not a group
    return base


def test_counts_groups_and_translating_domains(tmp_path):
    _groups(tmp_path, ["identity", "DMA-FQ", "DMA", "identity", "unmanaged"])
    (sub,), note = iommu.collect(HostContext(root=tmp_path))
    assert sub.name == "iommu" and note is None
    assert sub.data == {"groups": 5, "translated-groups": 2,
                        "types": {"DMA": 1, "DMA-FQ": 1, "identity": 2, "unmanaged": 1}}


def test_passthrough_and_no_iommu(tmp_path):
    _groups(tmp_path / "pt", ["identity"] * 3)
    (sub,), _ = iommu.collect(HostContext(root=tmp_path / "pt"))
    assert sub.data["translated-groups"] == 0
    _groups(tmp_path / "none", [])
    (sub,), _ = iommu.collect(HostContext(root=tmp_path / "none"))
    assert sub.data == {"groups": 0, "translated-groups": 0, "types": {}}


def test_old_kernel_without_type_files_leaves_the_count_out(tmp_path):
    # before Linux 5.11 groups have no type file: translation is unknown, not "0 groups translate"
    _groups(tmp_path, [None, None])
    (sub,), _ = iommu.collect(HostContext(root=tmp_path))
    assert sub.data == {"groups": 2, "types": {"unknown": 2}}


def test_absent_sysfs_is_unavailable(tmp_path):
    with pytest.raises(Unavailable, match="does not mount /sys"):
        iommu.collect(HostContext(root=tmp_path))


def test_symlinked_type_cannot_escape_the_root(tmp_path):
    outside = tmp_path / "secret"
    outside.write_text("DMA\n")
    root = tmp_path / "root"
    base = _groups(root, ["identity"])
    (base / "0" / "type").unlink()
    (base / "0" / "type").symlink_to(outside)  # absolute: resolved inside the root, absent there
    (sub,), _ = iommu.collect(HostContext(root=root))
    assert sub.data["types"] == {"unknown": 1}
