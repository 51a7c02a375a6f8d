"""Reading a --rules directory (eidos.engine.sources.collect): what is read, what is refused.

The walk is written with plain strings and one stat per file (issue 17); these pin what
it must keep doing: nested relative paths with '/', hidden files and __pycache__ skipped,
a symlink inside the layer followed, one pointing out refused, a dangling one ignored,
an oversized or non-UTF-8 rule file refused with its name, and a digest that sees every
file's path and bytes.
"""

from __future__ import annotations

import os

import pytest

from eidos.engine import sources
from eidos.errors import InputError


def _layer(tmp_path):
    root = tmp_path / "base"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.eidos").write_text("fact os enum { ubuntu }\n")
    (root / "sub" / "b.eidos").write_text("# b\n")
    (root / "sub" / "deeper" / "c.eidos").write_text("# c\n")
    (root / "sub" / "values.yaml").write_text("x: 1\n")
    (root / ".hidden.eidos").write_text("# never read\n")
    (root / ".git").mkdir()
    (root / ".git" / "x.eidos").write_text("# never read\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "y.eidos").write_text("# never read\n")
    return root


def test_nested_paths_and_skipped_entries(tmp_path):
    root = _layer(tmp_path)
    ruleset = sources.collect([str(root)], embedded=False)
    assert [f.rel for f in ruleset.files] == ["a.eidos", "sub/b.eidos", "sub/deeper/c.eidos"]
    assert [f.display for f in ruleset.files] == [f"{root}/a.eidos", f"{root}/sub/b.eidos",
                                                   f"{root}/sub/deeper/c.eidos"]
    assert ruleset.files[0].text == "fact os enum { ubuntu }\n"


def test_digest_sees_payload_bytes_and_paths(tmp_path):
    root = _layer(tmp_path)
    before = sources.collect([str(root)], embedded=False).digest
    (root / "sub" / "values.yaml").write_text("x: 2\n")  # not a rule file, still part of the base
    changed = sources.collect([str(root)], embedded=False).digest
    assert changed != before
    os.rename(root / "sub" / "values.yaml", root / "sub" / "other.yaml")
    assert sources.collect([str(root)], embedded=False).digest not in (before, changed)


def test_symlinks_inside_followed_outside_refused_dangling_ignored(tmp_path):
    root = _layer(tmp_path)
    os.symlink(root / "sub" / "b.eidos", root / "link.eidos")
    os.symlink(root / "missing.eidos", root / "dangling.eidos")
    ruleset = sources.collect([str(root)], embedded=False)
    assert "link.eidos" in [f.rel for f in ruleset.files]
    assert "dangling.eidos" not in [f.rel for f in ruleset.files]
    outside = tmp_path / "outside.eidos"
    outside.write_text("# secret\n")
    os.symlink(outside, root / "sub" / "escape.eidos")
    with pytest.raises(InputError, match="escape.eidos: symlink points outside the rule base"):
        sources.collect([str(root)], embedded=False)


def test_oversized_and_non_utf8_rule_files_are_refused(tmp_path, monkeypatch):
    root = _layer(tmp_path)
    (root / "sub" / "bad.eidos").write_bytes(b"fact \xff\n")
    with pytest.raises(InputError, match="sub/bad.eidos: not UTF-8 text"):
        sources.collect([str(root)], embedded=False)
    (root / "sub" / "bad.eidos").unlink()
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 10)
    with pytest.raises(InputError, match="a.eidos: file is larger than"):
        sources.collect([str(root)], embedded=False)
