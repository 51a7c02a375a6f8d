"""Snapshots: what a GPU node and its cluster looked like, captured by collectors.

``model`` holds the document classes and the path lookup rules use; ``io`` reads and writes
them (files, ``-``, ``cm://``); ``collectors`` gather data from a host root, ``nvidia-smi``,
``systemctl`` and the Kubernetes API; ``cluster`` is the one module that talks to the API
server; ``agent`` runs the collectors on a GPU node through a Job. Importing this package is
cheap: nothing here imports the ``kubernetes`` client until a cluster is actually used.
"""

from eidos.snapshot.io import load_snapshot, parse_snapshot, write_snapshot
from eidos.snapshot.model import CollectorStatus, Measurement, Snapshot, Subtype

__all__ = [
    "CollectorStatus",
    "Measurement",
    "Snapshot",
    "Subtype",
    "load_snapshot",
    "parse_snapshot",
    "write_snapshot",
]
