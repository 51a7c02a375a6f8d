"""Put a bundle on disk all at once, or not at all.

The files go into a fresh temporary directory next to the target (``.NAME.*.tmp``), which
then replaces the target by rename: an existing bundle is moved aside (``.NAME.*.old``),
the new one is renamed into place, and the old one is deleted. The two renames run with
SIGINT, SIGTERM and SIGHUP held back, and any failure or signal removes the temporary
directory (``eidos.io.output.guarded``), so the target is always either the complete
previous bundle or the complete new one, and no ``*.tmp`` or ``*.old`` sibling is left. A
successful ``--force`` run leaves no file of the previous bundle behind, because the whole
directory is swapped rather than overwritten. Only if putting the previous bundle back
fails does an error name the ``.old`` directory, and then it exists.

``--force`` replaces only an empty directory or a previous eidos bundle (one holding a
``bundle.json`` written by eidos): ``-o ~ --force`` must never delete a home directory.
Without ``--force`` a non-empty directory is refused (exit 2) before any work is done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eidos.bundle.files import FileSet
from eidos.bundle.summary import SUMMARY


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
    from eidos.io.output import check_output_dir

    check_output_dir(target, force, is_ours=_is_bundle, kind="an eidos bundle", marker=SUMMARY,
                     earlier="a previous bundle")


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
    """Write ``files`` as the directory ``target``, swapping it in whole (see the module docstring)."""
    from eidos.io.output import replace_directory

    target = Path(os.path.abspath(target))
    check_target(target, force)
    replace_directory(target, lambda staging: _write_tree(staging, files),
                      recheck=lambda t: check_target(t, force), label="bundle")
