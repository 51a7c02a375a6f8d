"""``eidos verify``: render a recipe's bundle with the real charts and check it would deploy.

Modules: ``charts`` (find charts, load Helm), ``chartinfo`` (what a chart defaults and
reads), ``render`` (Helm v4 rendering into objects), ``deadvalues``, ``schema``, ``order``
(CRDs before their objects), ``refs`` (dangling ConfigMaps/Secrets), ``cells`` (the
recipes of ``--all``), ``run`` (the orchestration), ``reports``. See docs/verify.md.
"""
