"""``eidos test``: unit tests for rule bases, written next to the rules.

A test file (``*_test.yaml``) lists cases; each case is a query (facts, a snapshot, or
both) and what the rule base must answer: overlays applied, components and their
versions, values at value paths, requirements, inferred facts, check verdicts.
``model`` holds the data, ``loader`` reads and checks test files (every mistake is an
error at ``file:line``), ``runner`` answers each case through the engine's front door and
the validation machinery, ``compare`` turns expected-versus-actual into mismatches,
``coverage`` finds the overlays and checks no case exercises, and ``report`` renders the
run as text (like pytest) or JUnit XML. The format is documented in docs/testing-rules.md.
"""
