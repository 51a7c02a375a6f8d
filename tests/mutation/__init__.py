"""A small AST mutation tester for eidos: ``python -m tests.mutation MODULE...`` (docs/testing.md)."""
