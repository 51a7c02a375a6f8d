"""Writing ``.eidos`` files for authors: overlays pinned from a snapshot (``eidos recipe
--emit-overlay``) and new overlays or checks built from flags or prompts (``eidos new``).

Everything written here is spelled through :mod:`eidos.importers.quoting` (the one quoting
that round-trips through eidos' parser) and compiled over the rule base before it is
written (:mod:`eidos.authoring.layered`), so a generated file is never one lint rejects.
"""
