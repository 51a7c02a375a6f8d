"""The language core: grammar-driven parser, AST, expressions, versions, diagnostics."""
