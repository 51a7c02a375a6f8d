"""Put a bundle on disk all at once, or not at all.

The files go into a fresh temporary directory next to the target, which then replaces the
target by rename. A failure at any point removes the temporary directory and leaves the
previous bundle untouched; a successful ``--force`` run leaves no file of the previous
bundle behind, because the whole directory is swapped rather than overwritten.

``--force`` replaces only an empty directory or a previous eidos bundle (one holding a
``bundle.json`` written by eidos): ``-o ~ --force`` must never delete a home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from eidos.bundle.files import FileSet
from eidos.bundle.summary import SUMMARY
from eidos.errors import EnvironmentFailure, UsageError


def _is_bundle(directory: Path) -> bool:
    try:
        data = json.loads((directory / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("kind") == "Bundle"
        and str(data.get("generator", "")).startswith("eidos")
    )


def check_target(target: Path, force: bool) -> None:
    """Fail early (before any work) if ``target`` may not be written."""
    if target.is_symlink():
        raise UsageError(f"output {target} is a symbolic link; give the real directory")
    if not target.exists():
        if not target.parent.is_dir():
            raise UsageError(f"output {target}: parent directory {target.parent} does not exist")
        return
    if not target.is_dir():
        raise UsageError(f"output {target} exists and is not a directory")
    if not any(target.iterdir()):
        return
    if not force:
        raise UsageError(
            f"output directory {target} is not empty",
            hint="pass --force to replace a previous bundle, or choose another directory",
        )
    if not _is_bundle(target):
        raise UsageError(
            f"refusing to replace {target}: it is not an eidos bundle (no eidos {SUMMARY})",
            hint="remove it yourself or choose another directory",
        )


def _write_tree(root: Path, files: FileSet) -> None:
    for path, file in files.items():
        dest = root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(file.content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(dest, 0o755 if file.executable else 0o644)


def write_bundle(files: FileSet, target: Path, *, force: bool) -> None:
    target = Path(os.path.abspath(target))
    check_target(target, force)
    parent = target.parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as err:
        raise EnvironmentFailure(
            f"cannot create a temporary directory in {parent}: {err.strerror or err}"
        ) from None
    backup: Path | None = None
    try:
        os.chmod(staging, 0o755)
        _write_tree(staging, files)
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(backup)
            os.rename(target, backup)
        os.rename(staging, target)
    except BaseException as err:
        if backup is not None and not target.exists():
            try:
                os.rename(backup, target)
                backup = None
            except OSError:
                pass
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):
            kept = f"; the previous bundle is kept at {backup}" if backup is not None else ""
            raise EnvironmentFailure(
                f"cannot write bundle to {target}: {err.strerror or err}{kept}"
            ) from None
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
