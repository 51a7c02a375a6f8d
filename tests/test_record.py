"""eidos.lang.record: frozen records behave like the attrs classes they replace (issue 17).

Each property is checked against a twin declared with ``attrs.frozen``, so a record whose
equality ignores a field, whose hash disagrees with its equality, whose repr or defaults
differ, or that can be mutated or mis-pickled fails here.
"""

from __future__ import annotations

import copy
import pickle

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.engine import cache
from eidos.lang import record
from eidos.lang.expr import ir


@record.frozen
class Point:
    x: int
    y: object
    label: str = "p"
    tags: list = record.field(factory=list)
    note: str = record.field(default="", eq=False, repr=False)


@attrs.frozen(slots=True)
class PointTwin:
    x: int
    y: object
    label: str = "p"
    tags: list = attrs.field(factory=list)
    note: str = attrs.field(default="", eq=False, repr=False)


@record.frozen
class Empty:
    pass


@record.frozen
class Checked:
    low: int
    high: int

    def __attrs_post_init__(self):
        if self.low > self.high:
            raise ValueError("low above high")


@record.frozen
class Derived(Checked):
    name: str = "d"


values = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.tuples(st.integers(0, 2)))


@given(values, values, values, values, st.text(max_size=2), st.text(max_size=2))
def test_equality_hash_and_repr_match_attrs(x1, y1, x2, y2, note1, note2):
    a, b = Point(x1, y1, tags=(), note=note1), Point(x2, y2, tags=(), note=note2)
    ta, tb = PointTwin(x1, y1, tags=(), note=note1), PointTwin(x2, y2, tags=(), note=note2)
    assert (a == b) is (ta == tb)
    assert (a != b) is (ta != tb)
    if a == b:
        assert hash(a) == hash(b)
    assert repr(a) == repr(ta).replace("PointTwin(", "Point(")


def test_defaults_factory_keywords_and_errors_match_attrs():
    p, t = Point(1, y=2), PointTwin(1, y=2)
    assert (p.label, p.tags, p.note) == (t.label, t.tags, t.note)
    assert Point(1, 2).tags is not Point(1, 2).tags  # a fresh list each time, like attrs' factory
    assert Point(1, 2, "q", [3]) == Point(x=1, y=2, label="q", tags=[3])
    with pytest.raises(TypeError):
        Point(1)
    with pytest.raises(TypeError):
        Point(1, 2, nope=3)
    assert Point(1, 2) != PointTwin(1, 2) and Point(1, 2) != (1, 2)
    for unhashable in (Point(1, 2), PointTwin(1, 2)):  # a list field: attrs' hash raises too
        with pytest.raises(TypeError):
            hash(unhashable)


def test_frozen_slotted_and_post_init():
    p = Point(1, 2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del p.x
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    with pytest.raises(ValueError, match="low above high"):
        Checked(2, 1)
    d = Derived(1, 2, "n")
    assert record.fields(Derived) == ("low", "high", "name") and d.low == 1 and d.name == "n"
    with pytest.raises(ValueError, match="low above high"):
        Derived(3, 1)
    assert Empty() == Empty() and hash(Empty()) == hash(Empty()) and repr(Empty()) == "Empty()"


def test_declaration_errors():
    with pytest.raises(ValueError, match="mandatory"):
        @record.frozen
        class Bad:
            a: int = 0
            b: int
    with pytest.raises(TypeError, match="super"):
        @record.frozen
        class UsesSuper:
            a: int

            def __repr__(self):
                return super().__repr__()


def test_attrs_functions_still_work():
    p = Point(1, 2, tags=[1], note="n")
    assert attrs.has(Point)
    assert [f.name for f in attrs.fields(Point)] == ["x", "y", "label", "tags", "note"]
    assert attrs.fields(Point).label.default == "p"
    assert attrs.evolve(p, x=5) == Point(5, 2, tags=[1]) and attrs.evolve(p, x=5).note == "n"
    assert record.evolve(p, label="z") == attrs.evolve(p, label="z")
    assert attrs.asdict(p) == {"x": 1, "y": 2, "label": "p", "tags": [1], "note": "n"}


def test_pickles_and_copies_round_trip_through_the_cache_decoder():
    node = ir.AndE((ir.Cmp("==", ir.Operand("fact", "os"), ir.Const("enum", "ubuntu", "ubuntu")), ir.TrueE()))
    data = pickle.dumps(node, protocol=pickle.HIGHEST_PROTOCOL)
    back = cache.safe_loads(data)
    assert back == node and hash(back) == hash(node) and type(back.items[0]) is ir.Cmp
    assert copy.deepcopy(node) == node and copy.copy(node) == node
    with pytest.raises(pickle.UnpicklingError):
        cache.safe_loads(pickle.dumps(Point(1, 2)))  # a record outside eidos.lang/eidos.engine


def test_no_code_is_compiled_until_a_class_is_instantiated():
    @record.frozen
    class Lazy:
        a: int

    stub = Lazy.__dict__["__init__"]
    assert stub.__code__.co_filename == record.__file__
    Lazy(1)
    real = Lazy.__dict__["__init__"]
    assert real is not stub and "record __init__" in real.__code__.co_filename
    for name, use in (("__eq__", lambda: Lazy(1) == Lazy(1)), ("__hash__", lambda: hash(Lazy(2)))):
        assert Lazy.__dict__[name].__code__.co_filename == record.__file__
        use()
        assert f"record {name}" in Lazy.__dict__[name].__code__.co_filename
    assert Lazy(1) == Lazy(1) and Lazy(1) != Lazy(2) and hash(Lazy(3)) == hash(Lazy(3))


def test_validators_run_after_every_field_is_set_and_before_post_init():
    seen = []

    def positive(inst, field, value):
        seen.append((field.name, inst.a, inst.b))
        if value <= 0:
            raise ValueError(f"{field.name} must be positive")

    @record.frozen
    class Validated:
        a: int = record.field(default=1, validator=positive)
        b: int = record.field(default=2, validator=positive)

        def __attrs_post_init__(self):
            seen.append("post")

    Validated(3, 4)
    assert seen == [("a", 3, 4), ("b", 3, 4), "post"]
    with pytest.raises(ValueError, match="b must be positive"):
        Validated(1, 0)
    assert record.defaults(Validated) == {"a": 1, "b": 2}


def test_methods_the_class_writes_itself_are_kept_as_attrs_does():
    @record.frozen
    class Own:
        text: str

        def __repr__(self):
            return f"Own({self.text!r})"

        def __eq__(self, other):
            return isinstance(other, Own) and self.text.lower() == other.text.lower()

        def __hash__(self):
            return hash(self.text.lower())

    @attrs.frozen(slots=True)
    class OwnTwin:
        text: str

        def __repr__(self):
            return f"Own({self.text!r})"

    assert repr(Own("A")) == repr(OwnTwin("A")) == "Own('A')"
    assert Own("A") == Own("a") and hash(Own("A")) == hash(Own("a"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Own("A").text = "b"  # type: ignore[misc]


def test_version_keeps_its_own_repr_and_order():
    from eidos.lang.versions import Version

    assert repr(Version.parse("1.2.3-rc1")) == "Version('1.2.3-rc1')"
    assert Version.parse("1.2") == Version.parse("1.2.0") and Version.parse("1.2.0-rc1") < Version.parse("1.2.0")


def test_warm_recipe_and_bundle_import_no_attrs(tmp_path):
    # the point of records (issue 17): a warm recipe or bundle neither imports attrs nor
    # compiles a class's methods at definition; an engine or bundle module going back to
    # attrs.frozen, or anything on the path importing attrs, fails this
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    probe = (
        "import contextlib, io, json, sys\n"
        "from eidos.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    rc = main(sys.argv[1:])\n"
        "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))\n"
    )
    env = dict(os.environ, EIDOS_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("EIDOS_NO_CACHE", None)
    query = ["--service", "eks", "--accelerator", "gb200", "--os", "ubuntu", "--intent", "training"]
    for argv in (["recipe", *query], ["bundle", *query, "--out", str(tmp_path / "b"), "--force"]):
        for _ in range(2):  # the first run compiles the rules (and may import anything); the second is warm
            out = subprocess.run([sys.executable, "-c", probe, *argv], env=env, cwd=root, check=True,
                                 capture_output=True, text=True, timeout=300)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["rc"] == 0
        assert not {m for m in result["modules"] if m.split(".")[0] in ("attr", "attrs")}, argv[0]


def test_key_function_eq_callable_repr_and_private_names_match_attrs():
    """What Verdict needs from records: ``eq`` as a key function (a deferred value compares
    by what it computes), ``repr`` as a function, and a ``_private`` field taking ``private=``
    in ``__init__`` and evolve — each checked against the attrs class written the same way."""
    import attrs

    from eidos.lang import record

    key = str.lower

    @record.frozen
    class R:
        name: str
        _note: str = record.field(eq=key, repr=lambda v: f"<{v}>")

    @attrs.frozen(slots=True)
    class A:
        name: str
        _note: str = attrs.field(eq=key, repr=lambda v: f"<{v}>")

    r1, r2, r3 = R("x", note="Hi"), R("x", note="HI"), R("x", note="ho")
    a1, a2, a3 = A("x", note="Hi"), A("x", note="HI"), A("x", note="ho")
    assert (r1 == r2, r1 == r3) == (a1 == a2, a1 == a3) == (True, False)
    assert hash(r1) == hash(r2)  # the hash follows the key, as equality does
    assert repr(r1) == repr(a1).replace("A(", "R(") == "R(name='x', _note=<Hi>)"
    assert record.evolve(r1, note="yo")._note == attrs.evolve(a1, note="yo")._note == "yo"
    assert record.evolve(r1, name="y") == R("y", note="hi")
    with pytest.raises(TypeError):
        R("x", _note="Hi")  # attrs' init name drops the underscore; so does the record's
