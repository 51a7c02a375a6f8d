"""CNCF Kubernetes AI Conformance: ``eidos validate --conformance ai``.

The requirement files CNCF publishes per Kubernetes version are shipped as data
(``requirements/``), mapped to eidos checks (``mapping.yaml``), judged against a live cluster
(:mod:`eidos.conformance.checks`, :mod:`eidos.conformance.workload`) and written as a
submission (:mod:`eidos.conformance.product`) that passes CNCF's own rules
(:mod:`eidos.conformance.cncf`). docs/conformance.md is the user's guide.
"""
