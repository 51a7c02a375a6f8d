"""Mutation operators: where a module can be changed by one small, plausible bug.

Each mutant is one edit of the source text: the original node's exact span is replaced
by the ``ast.unparse`` of the mutated node (expressions in parentheses). Splicing, rather
than unparsing the whole module, keeps every other line, comment and line number as the
author wrote it, so a survivor's ``file:line`` is the line a developer opens.

The operators are the usual mutmut set: comparison swaps, ``and``/``or``, ``not``
removed, ``True``/``False``, constants +1, altered strings, arithmetic swaps,
``continue``/``break``, ``return x`` → ``return None``, a statement or call removed, an
``if``/``while`` condition negated. Not mutated, because every change there is either
equivalent or not a behaviour: docstrings, type annotations, decorators (``slots=True``,
cache sizes), ``from __future__`` imports, the parts of f-strings (Python 3.11 gives
them no reliable positions), and lines carrying a ``# mutation: equivalent`` pragma.
"""

from __future__ import annotations

import ast
import copy
from typing import Iterator

import attrs

PRAGMA = "# mutation: equivalent"

_CMP_SWAP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
             ast.FloorDiv: ast.Mult, ast.Mod: ast.Mult}
_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.And: "and", ast.Or: "or",
}


@attrs.frozen
class Mutant:
    """One edit of one module: replace the text between two positions."""

    path: str  # as given, relative to the project root
    line: int  # 1-based, of the mutated node's start
    col: int
    end_line: int
    end_col: int
    operator: str  # short operator name, e.g. "compare"
    description: str  # what changed, e.g. "`<` -> `<=`"
    replacement: str

    @property
    def ident(self) -> str:
        return f"{self.path}:{self.line}:{self.col}:{self.operator}:{self.description}"

    def apply(self, source: str) -> str:
        """The module text with this one mutation applied."""
        lines = source.splitlines(keepends=True)
        starts = [0]
        for text in lines:
            starts.append(starts[-1] + len(text))
        # ast offsets are UTF-8 byte offsets within a line; convert to character offsets
        begin = starts[self.line - 1] + _char_col(lines[self.line - 1], self.col)
        end = starts[self.end_line - 1] + _char_col(lines[self.end_line - 1], self.end_col)
        return source[:begin] + self.replacement + source[end:]


def _char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def mutants(path: str, source: str) -> list[Mutant]:
    """Every mutant of ``source``, in source order (deterministic)."""
    tree = ast.parse(source)
    skip_lines = {i for i, text in enumerate(source.splitlines(), 1) if PRAGMA in text}
    out = [m for m in _Finder(path).run(tree) if m.line not in skip_lines]
    out.sort(key=lambda m: (m.line, m.col, m.operator, m.description))
    return out


class _Finder:
    def __init__(self, path: str):
        self.path = path

    def run(self, tree: ast.Module) -> Iterator[Mutant]:
        yield from self._body(tree.body)

    # -- traversal -------------------------------------------------------------
    def _body(self, stmts: list[ast.stmt]) -> Iterator[Mutant]:
        for i, stmt in enumerate(stmts):
            if i == 0 and _is_docstring(stmt):
                continue
            yield from self._stmt(stmt)

    def _stmt(self, node: ast.stmt) -> Iterator[Mutant]:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                yield from self._expr(default)
            yield from self._body(node.body)
            return
        if isinstance(node, ast.ClassDef):
            yield from self._body(node.body)
            return
        yield from self._statement_mutants(node)
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from self._body_no_doc(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.expr):
                        yield from self._expr(item)
                    elif isinstance(item, ast.AST):
                        yield from self._other(item)
            elif isinstance(value, ast.expr):
                yield from self._expr(value)
            elif isinstance(value, ast.AST):
                yield from self._other(value)

    def _body_no_doc(self, stmts):
        for stmt in stmts:
            yield from self._stmt(stmt)

    def _other(self, node: ast.AST) -> Iterator[Mutant]:
        """Handlers, comprehensions, keywords, match cases: walk their children."""
        if isinstance(node, ast.comprehension):
            yield from self._expr(node.iter)
            for cond in node.ifs:
                if not _is_not(cond):  # `not` removal already covers it
                    yield self._negate(cond)
                yield from self._expr(cond)
            return
        for name, value in ast.iter_fields(node):
            if name == "annotation":
                continue
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.stmt):
                    yield from self._stmt(item)
                elif isinstance(item, ast.expr):
                    yield from self._expr(item)
                elif isinstance(item, ast.AST):
                    yield from self._other(item)

    def _expr(self, node: ast.expr) -> Iterator[Mutant]:
        if isinstance(node, ast.JoinedStr):
            return
        if isinstance(node, ast.Lambda):
            yield from self._expr(node.body)
            return
        yield from self._expression_mutants(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                yield from self._expr(child)
            elif isinstance(child, ast.comprehension):
                yield from self._other(child)
            elif isinstance(child, ast.keyword):
                yield from self._expr(child.value)

    # -- mutants ---------------------------------------------------------------
    def _make(self, node: ast.AST, operator: str, description: str, new: ast.AST, *, paren: bool) -> Mutant:
        text = ast.unparse(ast.fix_missing_locations(new))
        return Mutant(self.path, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                      operator, description, f"({text})" if paren else text)

    def _negate(self, test: ast.expr) -> Mutant:
        src = ast.unparse(test)
        return self._make(test, "negate", f"`{_short(src)}` -> `not (...)`",
                          ast.UnaryOp(ast.Not(), copy.deepcopy(test)), paren=True)

    def _statement_mutants(self, node: ast.stmt) -> Iterator[Mutant]:
        if isinstance(node, ast.Continue):
            yield self._make(node, "break", "`continue` -> `break`", ast.Break(), paren=False)
        elif isinstance(node, ast.Break):
            yield self._make(node, "break", "`break` -> `continue`", ast.Continue(), paren=False)
        elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
            yield self._make(node, "return", f"`return {_short(ast.unparse(node.value))}` -> `return None`",
                             ast.Return(ast.Constant(None)), paren=False)
        elif isinstance(node, (ast.If, ast.While)) and not _is_not(node.test):
            yield self._negate(node.test)
        elif _removable(node):
            yield self._make(node, "remove", f"removed `{_short(ast.unparse(node))}`", ast.Pass(), paren=False)

    def _expression_mutants(self, node: ast.expr) -> Iterator[Mutant]:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                swap = _CMP_SWAP.get(type(op))
                if swap is None:
                    continue
                new = copy.deepcopy(node)
                new.ops[i] = swap()
                yield self._make(node, "compare", f"`{_SYMBOL[type(op)]}` -> `{_SYMBOL[swap]}`", new, paren=True)
        elif isinstance(node, ast.BoolOp):
            new = copy.deepcopy(node)
            new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            yield self._make(node, "boolop", f"`{_SYMBOL[type(node.op)]}` -> `{_SYMBOL[type(new.op)]}`",
                             new, paren=True)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield self._make(node, "not", f"`{_short(ast.unparse(node))}` -> without `not`",
                             copy.deepcopy(node.operand), paren=True)
        elif isinstance(node, ast.IfExp) and not _is_not(node.test):
            yield self._negate(node.test)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
            new = copy.deepcopy(node)
            new.op = _BIN_SWAP[type(node.op)]()
            yield self._make(node, "arith", f"`{_SYMBOL[type(node.op)]}` -> `{_SYMBOL[type(new.op)]}`",
                             new, paren=True)
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                yield self._make(node, "constant", f"`{value}` -> `{not value}`", ast.Constant(not value),
                                 paren=False)
            elif isinstance(value, int):
                yield self._make(node, "constant", f"`{value}` -> `{value + 1}`", ast.Constant(value + 1),
                                 paren=True)
            elif isinstance(value, str):
                new = f"XX{value}XX"
                yield self._make(node, "string", f"{_short(repr(value))} -> {_short(repr(new))}",
                                 ast.Constant(new), paren=False)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_not(node: ast.expr) -> bool:
    """Negating ``not x`` gives ``x``: the same mutant as dropping the ``not``."""
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _removable(node: ast.stmt) -> bool:
    """Statements whose removal is a plausible bug: calls, raises, deletes, stores into things."""
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Call)
    if isinstance(node, (ast.Raise, ast.Delete, ast.AugAssign)):
        return True
    if isinstance(node, ast.Assign):
        return all(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets)
    return False


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
