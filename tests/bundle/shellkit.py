"""Run generated deploy.sh / undeploy.sh for real, against stub ``helm``/``kubectl``/``git``.

The stubs log every invocation's argv (fields separated by US, records by RS, so newlines in
arguments survive) and succeed; ``kubectl config current-context`` prints a context name.
PATH holds only the stub directory and the system directories for ``dirname``/``cat``, so a
real ``kubectl`` on the machine is never reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eidos.bundle.files import FileSet

_STUB = r"""#!/bin/bash
{ printf '%s' "${0##*/}"; for a in "$@"; do printf '\037%s' "$a"; done; printf '\036'; } >>"$STUB_LOG"
if [ "${0##*/}" = kubectl ] && [ "${1:-}" = config ]; then echo stub-context; fi
for a in "$@"; do [ "$a" = - ] && cat >/dev/null; done
exit 0
"""


def write(files: FileSet, root: Path) -> Path:
    for path, file in files.items():
        dest = root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(file.content)
        if file.executable:
            dest.chmod(0o755)
    return root


def stub_bin(root: Path) -> Path:
    bin_dir = root / "stub-bin"
    bin_dir.mkdir()
    for tool in ("helm", "kubectl", "git"):
        (bin_dir / tool).write_text(_STUB)
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def run_script(
    bundle_dir: Path, script: str, work: Path
) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Run ``bash <script> --yes`` in a clean environment; return the result and the argv log."""
    if not shutil.which("bash"):
        pytest.skip("bash not installed")
    bin_dir = work / "stub-bin"
    if not bin_dir.exists():
        stub_bin(work)
    log = work / f"{script}.argv"
    log.write_bytes(b"")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "STUB_LOG": str(log),
        "HOME": str(work),
        "LC_ALL": "C.UTF-8",
    }
    result = subprocess.run(
        ["bash", str(bundle_dir / script), "--yes"],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    text = log.read_bytes().decode("utf-8")
    calls = [record.split("\x1f") for record in text.split("\x1e") if record]
    return result, calls


def shellcheck(path: Path) -> None:
    """shellcheck one script; skip visibly when the tool is missing."""
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed")
    result = subprocess.run(
        ["shellcheck", str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
