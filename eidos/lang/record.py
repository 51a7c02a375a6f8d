"""Frozen, slotted data classes defined without generating code at import (issue 17).

The engine's data (syntax tree, IR, rule graph, recipe) is a few dozen frozen classes.
Declared with ``attrs.frozen``, each costs about 3 million instructions to *define*:
attrs writes the source of ``__init__``, ``__eq__``, ``__hash__``, ``__repr__`` and the
pickling methods and compiles it, then builds the class a second time with slots; and
``import attrs`` itself is another 150 million (it imports ``inspect``). A warm ``eidos
recipe`` defines them all yet constructs few: most objects come out of the compiled-rule
cache through pickle, which never calls ``__init__``.

``@frozen`` gives the same class shape and behaviour without that cost:

* ``__init__``, ``__eq__`` and ``__hash__`` (the methods whose speed matters when the
  compiler builds thousands of nodes and closures are cached per IR node) are generated
  and compiled the first time each is called, to the same code attrs writes (positional
  or keyword arguments, defaults, ``factory``, validators, ``__attrs_post_init__``;
  same class, then field by field; a per-class seed hashed with the fields);
* ``repr`` and pickling (by field values, through ``__getstate__``/``__setstate__``) are
  shared functions over the fields, so defining a class compiles nothing;
* instances are frozen (assignment and deletion raise attrs' ``FrozenInstanceError``) and
  slotted; equality requires the same class and equal fields (those with ``eq=True``), the
  hash agrees with it, and ``repr`` reads ``Name(field=value, …)`` like attrs';
* ``attrs.has``, ``attrs.fields``, ``attrs.evolve`` and ``attrs.asdict`` keep working on
  these classes: ``__attrs_attrs__`` is built with attrs' public ``make_class`` the first
  time something asks for it (importing attrs only then).

A class may also declare ``__slots__`` of its own for derived state that is not a field.

Only what eidos' declarations use is supported: annotated fields, plain defaults and
:func:`field` (``default``, ``factory``, ``eq``, ``repr``, ``validator``), ``eq=False`` for a class that
defines its own comparisons, ``__attrs_post_init__``, and inheritance of fields from
another record. Anything else is a ``TypeError`` at definition, not a silent difference.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

_MISSING = object()
_set = object.__setattr__


class _Field:
    """What :func:`field` declares; replaced by the slot when the class is built."""

    __slots__ = ("default", "eq", "factory", "repr", "validator")

    def __init__(self, default, factory, eq, repr, validator):
        self.default, self.factory, self.eq, self.repr = default, factory, eq, repr
        self.validator = validator


def field(*, default: Any = _MISSING, factory=None, eq: bool = True, repr: bool = True,
          validator=None) -> Any:
    """A field with a default, a default ``factory``, left out of equality or ``repr``, or
    checked by ``validator(instance, field, value)``. As in attrs, ``eq`` may also be a key
    function (equality and hash compare ``eq(value)``) and ``repr`` a function giving the
    text shown; a field named ``_x`` is the ``__init__`` (and :func:`evolve`) argument ``x`` (``field.name`` is its name; run after
    every field is set and before ``__attrs_post_init__``, as attrs does)."""
    if default is not _MISSING and factory is not None:
        raise TypeError("a field takes a default or a factory, not both")
    return _Field(default, factory, eq, repr, validator)


class _Spec:
    """One field: name, default (or ``_MISSING``), factory, and whether eq/repr see it."""

    __slots__ = ("alias", "default", "eq", "factory", "name", "repr", "validator")

    def __init__(self, name, default=_MISSING, factory=None, eq=True, repr=True, validator=None):
        self.name, self.default, self.factory, self.eq, self.repr = name, default, factory, eq, repr
        self.validator = validator
        self.alias = name.lstrip("_")  # attrs' init name for a private attribute

    @property
    def mandatory(self) -> bool:
        return self.default is _MISSING and self.factory is None


def _is_classvar(annotation) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def frozen(cls=None, /, *, eq: bool = True):
    """Make ``cls`` a frozen, slotted record (see the module docstring)."""
    if cls is None:
        return lambda c: _build(c, eq)
    return _build(cls, eq)


def _build(cls: type, eq: bool) -> type:
    specs: list[_Spec] = []
    for base in cls.__mro__[-2:0:-1]:  # inherited fields first, as attrs orders them
        for spec in base.__dict__.get("__record_specs__", ()):
            specs = [s for s in specs if s.name != spec.name] + [spec]
    ns = dict(cls.__dict__)
    own = []
    for name, annotation in ns.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = ns.pop(name, _MISSING)
        if value.__class__ is _Field:
            own.append(_Spec(name, value.default, value.factory, value.eq, value.repr, value.validator))
        else:
            own.append(_Spec(name, value))
    if specs:
        own_names = {s.name for s in own}
        specs = [s for s in specs if s.name not in own_names]
    specs += own
    seen_default = False
    for spec in specs:
        if spec.default is _MISSING and spec.factory is None:
            if seen_default:
                raise ValueError(f"{cls.__qualname__}: no mandatory attributes allowed after an attribute "
                                 f"with a default value or factory; {spec.name!r} is one")
        else:
            seen_default = True
    for key, value in ns.items():
        code = getattr(value, "__code__", None)
        if code is not None and "__class__" in code.co_freevars:
            raise TypeError(f"{cls.__qualname__}.{key}: zero-argument super() in a record is not supported")
    ns.pop("__dict__", None)
    ns.pop("__weakref__", None)
    # Slots the body declares itself hold derived state (Version's comparison key): not
    # fields, so not in __init__, equality, repr or pickles; the class fills them itself.
    extra = ns.pop("__slots__", ())
    extra = (extra,) if isinstance(extra, str) else tuple(extra)
    for name in extra:
        ns.pop(name, None)  # the member descriptor of the class being rebuilt
    names = tuple([s.name for s in specs])
    ns["__slots__"] = tuple([s.name for s in own]) + extra
    ns["__record_specs__"] = tuple(specs)
    ns["__record_fields__"] = ns["__match_args__"] = names
    ns["__record_values__"] = _values(names)
    ns["__record_repr__"] = tuple([(s.name, s.repr if callable(s.repr) else repr) for s in specs if s.repr])
    # The methods are shared by every record: defining a class creates no function. As
    # attrs' auto_detect does, a method the class body writes itself is kept (Version
    # has its own __repr__; one with its own __eq__ keeps its hash too).
    own_body = cls.__dict__
    for key, method in _METHODS.items():
        if key in _FROZEN or key not in own_body:
            ns[key] = method
    if eq and "__eq__" not in own_body:
        ns.update(_EQ_METHODS)
    return type(cls)(cls.__name__, cls.__bases__, ns)


def is_record(cls) -> bool:
    """True for a class :func:`frozen` built (not for attrs classes)."""
    return isinstance(cls, type) and "__record_specs__" in cls.__dict__


def fields(cls) -> tuple[str, ...]:
    """The field names of a record class, in ``__init__`` order."""
    return cls.__record_fields__


def defaults(cls) -> dict[str, Any]:
    """Each field's plain default, by name (fields without one, or with a factory, are left out)."""
    return {s.name: s.default for s in cls.__record_specs__ if s.default is not _MISSING}


def evolve(inst, **changes):
    """A copy of ``inst`` with ``changes`` (like ``attrs.evolve``, without importing attrs)."""
    for spec in inst.__record_specs__:
        if spec.alias not in changes:
            changes[spec.alias] = getattr(inst, spec.name)
    return inst.__class__(**changes)


# ---------------------------------------------------------------- the shared methods
def _frozen_setattr(self, name, value):
    from attrs.exceptions import FrozenInstanceError  # only on this error path

    raise FrozenInstanceError()


def _frozen_delattr(self, name):
    from attrs.exceptions import FrozenInstanceError

    raise FrozenInstanceError()


def _values(names: tuple[str, ...]):
    """A function giving the tuple of ``names``' values (attrgetter gives a bare value for one)."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda self: (get(self),)
    return attrgetter(*names)


def _getstate(self):
    return self.__class__.__record_values__(self)


def _setstate(self, state):
    for name, value in zip(self.__class__.__record_fields__, state):
        _set(self, name, value)


def _repr(self):
    cls = self.__class__
    inner = ", ".join([f"{name}={show(getattr(self, name))}" for name, show in cls.__record_repr__])
    return f"{cls.__qualname__.rsplit('>.', 1)[-1]}({inner})"


def _lazy(name: str, make):
    """A method that, on first call, builds the class's real one with ``make(cls)``,
    installs it and calls it: what is never called is never compiled. One stub per method
    name serves every record: the class it stands in for is the first in the instance's
    MRO that still holds it."""

    def stub(self, *args, **kwargs):
        for cls in type(self).__mro__:
            if cls.__dict__.get(name) is stub:
                break
        else:  # pragma: no cover - only reachable by calling the stub on a foreign object
            raise TypeError(f"record {name} called on a foreign object")
        real = make(cls)
        type.__setattr__(cls, name, real)
        return real(self, *args, **kwargs)

    stub.__name__ = stub.__qualname__ = name
    return stub


def _compile(cls: type, name: str, source: str, env: dict[str, Any]):
    code = compile(source, f"<record {name} {cls.__module__}.{cls.__qualname__}>", "exec")
    exec(code, env)  # noqa: S102 - source built by this module from the class's own field names
    method = env[name]
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    method.__module__ = cls.__module__
    return method


def _eq_terms(cls: type, env: dict[str, Any]) -> list[str]:
    """The expression each eq field is compared and hashed by (``{}``: ``self`` or ``other``);
    a key function given as ``eq`` is put in ``env`` and applied to the value."""
    terms = []
    for s in cls.__record_specs__:
        if not s.eq:
            continue
        if callable(s.eq):
            env[f"_k_{s.name}"] = s.eq
            terms.append(f"_k_{s.name}({{}}.{s.name})")
        else:
            terms.append(f"{{}}.{s.name}")
    return terms


def _compile_eq(cls: type):
    """attrs' ``__eq__``: same class, then each eq field compared in turn (``==`` and
    ``and``, as attrs 26 writes it: no identity shortcut, first difference stops)."""
    env: dict[str, Any] = {}
    test = " and ".join(f"{term.format('self')} == {term.format('other')}" for term in _eq_terms(cls, env)) or "True"
    source = ("def __eq__(self, other):\n"
              "    if other.__class__ is not self.__class__:\n"
              "        return NotImplemented\n"
              f"    return {test}\n")
    return _compile(cls, "__eq__", source, env)


def _compile_hash(cls: type):
    """attrs' ``__hash__``: a per-class seed and the eq fields, hashed as one tuple."""
    env: dict[str, Any] = {}
    fields = "".join(f", {term.format('self')}" for term in _eq_terms(cls, env))
    seed = hash(f"eidos.record {cls.__module__}.{cls.__qualname__}")
    source = f"def __hash__(self):\n    return hash(({seed}{fields}))\n"
    return _compile(cls, "__hash__", source, env)


def _compile_init(cls: type):
    """The same ``__init__`` attrs generates for a frozen slotted class."""
    specs = cls.__record_specs__
    env: dict[str, Any] = {"_set": _set, "_MISSING": _MISSING}
    params, body = [], []
    for spec in specs:
        arg = spec.alias
        if spec.factory is not None:
            env[f"_f_{arg}"] = spec.factory
            params.append(f"{arg}=_MISSING")
            body.append(f"    if {arg} is _MISSING:\n        {arg} = _f_{arg}()")
        elif spec.default is not _MISSING:
            env[f"_d_{arg}"] = spec.default
            params.append(f"{arg}=_d_{arg}")
        else:
            params.append(arg)
        body.append(f"    _set(self, {spec.name!r}, {arg})")
    for spec in specs:
        if spec.validator is not None:
            env[f"_v_{spec.alias}"], env[f"_s_{spec.alias}"] = spec.validator, spec
            body.append(f"    _v_{spec.alias}(self, _s_{spec.alias}, {spec.alias})")
    if hasattr(cls, "__attrs_post_init__"):
        body.append("    self.__attrs_post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    return _compile(cls, "__init__", source, env)


class _AttrsView:
    """``__attrs_attrs__`` on demand: built with ``attr.make_class`` the first time attrs'
    own functions (``has``, ``fields``, ``evolve``, ``asdict``) look at the class."""

    def __get__(self, obj, owner):
        import attr

        these = {}
        for spec in owner.__record_specs__:
            if spec.factory is not None:
                default = attr.Factory(spec.factory)
            else:
                default = attr.NOTHING if spec.default is _MISSING else spec.default
            these[spec.name] = attr.ib(default=default, eq=spec.eq, repr=spec.repr, validator=spec.validator)
        shadow = attr.make_class(owner.__name__, these, frozen=True, slots=True)
        value = shadow.__attrs_attrs__
        type.__setattr__(owner, "__attrs_attrs__", value)
        return value


_METHODS = {
    "__init__": _lazy("__init__", _compile_init),
    "__setattr__": _frozen_setattr,
    "__delattr__": _frozen_delattr,
    "__getstate__": _getstate,
    "__setstate__": _setstate,
    "__repr__": _repr,
    "__attrs_attrs__": _AttrsView(),
}
_FROZEN = frozenset({"__setattr__", "__delattr__", "__attrs_attrs__"})  # never the class's own
_EQ_METHODS = {
    "__eq__": _lazy("__eq__", _compile_eq),
    "__hash__": _lazy("__hash__", _compile_hash),
}
