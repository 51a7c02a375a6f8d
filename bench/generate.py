"""Generated rule bases with the shapes real ones have, at any size.

Shape: a fact schema like the embedded one plus a ``zone`` fact whose width grows with the
rule base (a rule base grows by covering more environments: about 20 overlays per zone),
so a query matches a handful of overlays whatever the size, as in real rule bases; a
40-component catalog with values files; overlays in inheritance chains up to six deep,
rooted at a zone and each adding one or two fact tests (equality, ``in`` sets, an
occasional ``nodes`` bound), customising one or two components (a values file, ``set``s)
and adding requirements (named ones refined with ``replace`` down the chain).
``shape`` writes every fact test one way (``==``, ``in``, an ``or`` of equalities, or
``not (f != v)``) to measure each condition shape alone; the two-valued shapes (``in``,
``or``) get twice the zones, so a query still meets about as many overlays.
Deterministic for a given size, seed and shape (``mixed``, the default, gives the same
rule base as before shapes existed).
"""

from __future__ import annotations

import random
from pathlib import Path

BASE_FACTS = {
    "service": ["eks", "gke", "aks", "oke", "kind"],
    "accelerator": ["h100", "h200", "gb200", "b200", "a100", "l40", "l40s"],
    "os": ["ubuntu", "rhel", "cos", "amazonlinux"],
    "intent": ["training", "inference"],
    "platform": ["kubeflow", "dynamo"],
}
COMPONENTS = 40
OVERLAYS_PER_ZONE = 20


def fact_space(overlays: int, shape: str = "mixed") -> dict[str, list[str]]:
    zones = max(2, overlays // OVERLAYS_PER_ZONE)
    if shape in ("in", "or"):
        zones *= 2  # each root overlay covers two zones: as many overlays per zone as the others
    return {**BASE_FACTS, "zone": [f"z{i:04d}" for i in range(zones)]}


# How a generated overlay spells its fact tests (``write_rule_base(shape=…)``): the mixed
# shape of real rule bases, or every test in one shape, so the scaling scenario can show
# that resolve stays flat whichever way a condition is written (issue 17).
SHAPES = ("mixed", "==", "in", "or", "not")


def _test(rng: random.Random, shape: str, fact: str, values: list[str]) -> str:
    """One test of ``fact``; ``mixed`` draws ``in`` for a quarter of the multi-valued facts."""
    if shape == "mixed":
        shape = "in" if rng.random() < 0.25 and len(values) > 2 else "=="
    if shape == "==":
        return f"{fact} == {rng.choice(values)}"
    if shape == "not":
        return f"not ({fact} != {rng.choice(values)})"
    pair = rng.sample(values, 2)
    if shape == "in":
        return f"{fact} in {{ {', '.join(pair)} }}"
    return f"({fact} == {pair[0]} or {fact} == {pair[1]})"


def write_rule_base(root: Path, overlays: int, seed: int = 42, shape: str = "mixed") -> Path:
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (choose from {', '.join(SHAPES)})")
    rng = random.Random(seed)
    facts_space = fact_space(overlays, shape)
    root.mkdir(parents=True, exist_ok=True)
    (root / "values").mkdir(exist_ok=True)
    facts = "\n".join(f"fact {name}: enum {{ {', '.join(values)} }}" for name, values in facts_space.items())
    (root / "facts.eidos").write_text(facts + "\nfact nodes: int\n")

    catalog = []
    for i in range(COMPONENTS):
        (root / "values" / f"c{i:02d}.yaml").write_text(
            f"replicas: {1 + i % 3}\nimage:\n  repository: registry.example.com/c{i:02d}\n  tag: v1.{i}.0\n"
            "resources:\n  limits:\n    cpu: 500m\n    memory: 512Mi\n"
        )
        # components need one of the base's (always included), as operators need cert-manager
        needs = f"\n  needs c{rng.randrange(min(i, 5)):02d}" if i and rng.random() < 0.5 else ""
        catalog.append(
            f'component c{i:02d} {{\n  helm repo "https://charts.example.com" chart "c{i:02d}" version "v1.{i}.0"\n'
            f'  values "values/c{i:02d}.yaml"{needs}\n}}'
        )
    (root / "catalog.eidos").write_text("\n\n".join(catalog) + "\n")

    decls = ["overlay base {\n  when always\n  require k8s: K8s.server.version >= 1.25\n"
             + "".join(f"  component c{i:02d}\n" for i in range(5)) + "}"]
    tested: dict[str, set[str]] = {"base": set()}
    depth = {"base": 0}
    names = ["base"]
    for n in range(overlays):
        name = f"o{n:05d}"
        candidates = [p for p in names[-50:] if p != "base" and depth[p] < 6 and len(tested[p]) < len(facts_space)]
        parent = rng.choice(candidates) if candidates and rng.random() < 0.8 else "base"
        tests, used = [], set(tested[parent])
        if parent == "base":
            zone_shape = "==" if shape == "mixed" else shape
            tests.append(_test(rng, zone_shape, "zone", facts_space["zone"]))
            used.add("zone")
        free = [f for f in facts_space if f not in used]
        for fact in rng.sample(free, k=min(len(free), rng.choice((1, 1, 2)))):
            tests.append(_test(rng, shape, fact, facts_space[fact]))
            used.add(fact)
        if rng.random() < 0.1:
            tests.append(f"nodes >= {rng.choice((2, 4, 8, 16))}")
        body = [f"  when {' and '.join(tests)}"]
        if parent == "base" or rng.random() < 0.3:
            body.append(f"  replace k8s: K8s.server.version >= 1.{26 + depth[parent] + 1}")
        body.append(f'  require OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.{rng.randrange(1, 9)}')
        for _ in range(rng.choice((1, 2))):
            c = rng.randrange(COMPONENTS)
            values = f'    values "values/c{rng.randrange(COMPONENTS):02d}.yaml"\n' if rng.random() < 0.3 else ""
            body.append(
                f"  component c{c:02d} {{\n{values}    set settings.{name} = \"{rng.randrange(10**6)}\"\n"
                f"    set image.tag = \"v2.{rng.randrange(50)}.0\"\n  }}"
            )
        decls.append(f"overlay {name} extends {parent} {{\n" + "\n".join(body) + "\n}")
        tested[name] = used
        depth[name] = depth[parent] + 1
        names.append(name)
    per_file = 500
    for i in range(0, len(decls), per_file):
        (root / f"overlays-{i // per_file:03d}.eidos").write_text("\n\n".join(decls[i:i + per_file]) + "\n")
    return root


def random_query(rng: random.Random, overlays: int, shape: str = "mixed") -> dict:
    query = {name: rng.choice(values) for name, values in fact_space(overlays, shape).items()}
    query["nodes"] = rng.choice((1, 2, 4, 8, 16, 32))
    return query
