"""Bundle test fixtures (helpers live in bundlekit.py so test modules can import them)."""

from __future__ import annotations

import pytest
from bundlekit import gb200_document


@pytest.fixture
def gb200() -> dict:
    return gb200_document()
