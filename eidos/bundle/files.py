"""The in-memory bundle: relative paths to bytes, built completely before anything is written.

Building in memory first is what makes the on-disk write all-or-nothing and the output
byte-identical between runs: paths are checked here (no absolute paths, no ``..``, no
duplicates) and always listed in sorted order.
"""

from __future__ import annotations

from collections.abc import Iterator

from eidos.lang import record


@record.frozen
class File:
    content: bytes
    executable: bool = False


class FileSet:
    def __init__(self) -> None:
        self._files: dict[str, File] = {}

    def add(self, path: str, content: str | bytes, *, executable: bool = False) -> None:
        parts = path.split("/")
        if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"unsafe bundle path {path!r}")
        if path in self._files:
            raise ValueError(f"bundle path {path!r} written twice")
        data = content.encode("utf-8") if isinstance(content, str) else content
        self._files[path] = File(data, executable)

    def update(self, other: FileSet) -> None:
        for path, file in other.items():
            self.add(path, file.content, executable=file.executable)

    def items(self) -> Iterator[tuple[str, File]]:
        for path in sorted(self._files):
            yield path, self._files[path]

    def paths(self) -> list[str]:
        return sorted(self._files)

    def __contains__(self, path: str) -> bool:
        return path in self._files

    def __getitem__(self, path: str) -> File:
        return self._files[path]

    def __len__(self) -> int:
        return len(self._files)
