"""eidos: executable knowledge about GPU Kubernetes clusters.

The package is a one-way pipeline: ``.eidos`` sources are parsed (``parser``) into a
typed AST (``ast``), compiled with whole-graph checks (``compiler``) into a rule graph
(``graph``), which the ``matcher`` resolves against facts into a recipe (``recipe``).
I/O lives at the edges (``sources``, ``cache``, ``output``, ``cli``).
"""

__version__ = "0.1.0"
