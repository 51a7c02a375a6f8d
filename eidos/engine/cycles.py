"""Cycle checks over the two relations rules declare: ``extends`` and ``needs``.

Both are pure functions over names, so they can be tested (and reasoned about) without a
rule file; the compiler turns what they find into diagnostics. Both are linear in the
size of the relation: an overlay's ancestry is built from its parent's (memoized), so a
chain of a thousand ``extends`` costs a thousand steps, not half a million.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen(slots=True)
class Unknown:
    """``child`` extends ``parent``, which does not exist."""

    child: str
    parent: str


@attrs.frozen(slots=True)
class Cycle:
    """The members of an inheritance cycle, starting and ending with its smallest name."""

    members: tuple[str, ...]


def ancestries(parents: Mapping[str, str | None]) -> tuple[dict[str, tuple[str, ...] | None], list]:
    """Root-first ancestry of every name (None when it reaches an unknown parent or a cycle),
    and the problems found: each ``Unknown`` once at the overlay that names the parent, each
    ``Cycle`` once."""
    chains: dict[str, tuple[str, ...] | None] = {}
    problems: list = []
    for start in sorted(parents):
        if start in chains:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        result: tuple[str, ...] | None
        while True:
            if node is None:
                result = ()
                break
            if node in chains:
                result = chains[node]
                break
            if node not in parents:
                problems.append(Unknown(path[-1], node))
                result = None
                break
            if node in on_path:
                members = path[on_path[node]:]
                i = members.index(min(members))
                problems.append(Cycle(tuple(members[i:] + members[:i] + [members[i]])))
                for m in members:
                    chains[m] = None
                result = None
                break
            on_path[node] = len(path)
            path.append(node)
            node = parents[node]
        for name in reversed(path):
            if name in chains:  # a cycle member, already None
                result = None
                continue
            result = None if result is None else result + (name,)
            chains[name] = result
    return chains, problems


def needs_cycles(edges: Mapping[str, set[str]]) -> list[tuple[str, ...]]:
    """Each distinct cycle of the ``needs`` relation (as a path ``a -> b -> a``), found by an
    iterative depth-first search from each name in order; a set of members is reported once."""
    state: dict[str, int] = {}
    found: list[tuple[str, ...]] = []
    seen: set[frozenset] = set()
    for root in sorted(edges):
        if root in state:
            continue
        stack: list[str] = [root]
        iters = [iter(sorted(edges.get(root, ())))]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                iters.pop()
                state[stack.pop()] = 2
                continue
            if state.get(nxt) == 1:
                cycle = tuple(stack[stack.index(nxt):] + [nxt])
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    found.append(cycle)
            elif nxt not in state:
                state[nxt] = 1
                stack.append(nxt)
                iters.append(iter(sorted(edges.get(nxt, ()))))
    return found
