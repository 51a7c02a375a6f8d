"""The API group and version every eidos document carries, defined once.

Recipes, snapshots and validation reports are different kinds in the same API version;
bumping it is one edit here, so no document kind can drift from the others.
"""

from __future__ import annotations

GROUP = "eidos.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
