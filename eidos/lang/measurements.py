"""The measurement types a snapshot can hold and a rule path can start with.

A path ``K8s.server.version`` reads: measurement type ``K8s``, subtype ``server``, key
``version``; deeper segments walk into nested data. The compiler rejects paths whose
type is not listed here, so a typo like ``k8s.server.version`` fails in CI, not silently
on a cluster.
"""

from __future__ import annotations

# NCCL: results of nccl-tests runs (eidos validate --fabric --from-log; eidos/fabric/measure.py)
MEASUREMENT_TYPES = ("K8s", "GPU", "OS", "SystemD", "NCCL")

MISSING = object()  # a lookup that found nothing; distinct from a stored None
