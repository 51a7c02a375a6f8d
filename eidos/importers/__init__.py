"""Importers: turn another tool's recipe data into an eidos rule layer.

Each source format has its own modules (``aicr_*`` for NVIDIA AICR); what they share —
quoting text for the ``.eidos`` grammar, the findings report, writing the output tree —
lives in modules of its own so a second importer reuses them.
"""
