"""Version values and their one total order.

Cluster versions come in many dialects: ``v1.33.5-eks-3025e55`` (EKS), ``v1.32.4-gke.1415000``
(GKE), ``6.8.0-1028-aws`` (Ubuntu kernels), ``580.82.07`` (drivers), ``1.2.3-rc.1``
(pre-releases), ``1.2.3.4`` (four parts). Every comparison operator in eidos goes through
``Version.key`` so that ``==``, ``<`` and ranges can never disagree (the reference compared
at the shorter precision for ``<`` but at full precision for ``==``).

The order:

* a leading ``v``/``V`` is ignored;
* numeric release parts compare numerically, missing parts count as zero
  (``1.30 == 1.30.0 < 1.30.5``), leading zeros are insignificant (``24.04 == 24.4``);
* a pre-release (suffix starting with alpha, beta, rc, pre, preview or dev) orders
  before its release, pre-releases among themselves by SemVer precedence;
* any other suffix (``-eks-…``, ``-1028-aws``, ``-gke.…``, ``+build``, and the bare ``+`` GKE's
  Container-Optimized OS kernels end with, ``6.6.72+``) is a vendor or
  build tag: kept for display, ignored by comparison, so ``v1.33.5-eks-3025e55 == 1.33.5``.

That makes the order a total preorder: versions that differ only in vendor tags are
equal, and every operator agrees with every other.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Union

from eidos.lang import record

from eidos.lang.limits import MAX_VERSION_CHARS

_VERSION_RE = re.compile(
    r"""^[vV]?
    (?P<release>\d+(?:\.\d+)*)
    (?P<suffix>(?:[-+~][0-9A-Za-z]|[A-Za-z])[0-9A-Za-z.+~_-]*|\+)?$""",
    re.VERBOSE,
)
_PRERELEASE_TAGS = ("alpha", "beta", "rc", "pre", "preview", "dev")
_PRERELEASE_RE = re.compile(r"^(?:" + "|".join(_PRERELEASE_TAGS) + r")(?:[0-9.]|$)", re.IGNORECASE)

Identifier = tuple[int, Union[int, str]]

# the pre-release part of a release's comparison key: after every pre-release (0, …)
_RELEASED = (1, ())


class VersionError(ValueError):
    """A string that is not a version; the message says why in user terms."""


def _identifiers(text: str) -> tuple[Identifier, ...]:
    """SemVer-style identifiers: numbers sort before words, numbers numerically."""
    out: list[Identifier] = []
    for part in re.split(r"[.\-]", text):
        if not part:
            continue
        # split "rc1" into "rc", 1 so rc2 < rc10
        for chunk in re.findall(r"\d+|[^\d]+", part):
            out.append((0, int(chunk)) if chunk.isdigit() else (1, chunk.lower()))
    return tuple(out)


def _significant(release: tuple[int, ...]) -> tuple[int, ...]:
    """``release`` without trailing zeros (but at least one part): 1.32.0 == 1.32."""
    if len(release) > 1 and release[-1] == 0:
        end = len(release) - 1
        while end > 1 and release[end - 1] == 0:
            end -= 1
        return release[:end]
    return release


@record.frozen(eq=False)
class Version:
    """A parsed version; ``text`` keeps the spelling the user wrote."""

    text: str
    release: tuple[int, ...]
    prerelease: tuple[Identifier, ...] | None
    vendor: str
    # the comparison key, computed once (every comparison reads both sides' keys): derived
    # state, not a field, so it is rebuilt when a pickled Version is read back
    __slots__ = ("_key",)

    def __setstate__(self, state) -> None:
        for name, value in zip(self.__record_fields__, state):
            object.__setattr__(self, name, value)
        self.__attrs_post_init__()

    def __attrs_post_init__(self) -> None:
        pre = (0, self.prerelease) if self.prerelease is not None else _RELEASED
        object.__setattr__(self, "_key", (_significant(self.release), pre))

    @classmethod
    def parse(cls, text: str) -> "Version":
        if not isinstance(text, str):
            raise VersionError(f"expected a version string, got {type(text).__name__}")
        return _parse_cached(text)

    @classmethod
    def _parse(cls, text: str) -> "Version":
        if not isinstance(text, str):
            raise VersionError(f"expected a version string, got {type(text).__name__}")
        raw = text.strip()
        if not raw:
            raise VersionError("empty version")
        if len(raw) > MAX_VERSION_CHARS:
            # also keeps every part well below int()'s 4,300-digit limit
            raise VersionError(f"a version of {len(raw)} characters is too long (the limit is {MAX_VERSION_CHARS})")
        m = _VERSION_RE.match(raw)
        if not m:
            raise VersionError(f"'{text}' is not a version (expected digits separated by dots, e.g. 1.32.4)")
        release = tuple(map(int, m.group("release").split(".")))
        suffix = m.group("suffix") or ""
        prerelease: tuple[Identifier, ...] | None = None
        vendor = ""
        if suffix:
            build_split = suffix.split("+", 1)
            head = build_split[0]
            tag = head[1:] if head[:1] in "-~" else head
            if tag and _PRERELEASE_RE.match(tag):
                prerelease = _identifiers(tag)
                vendor = ("+" + build_split[1]) if len(build_split) > 1 else ""
            else:
                vendor = suffix
        return cls(raw, release, prerelease, vendor)

    @property
    def key(self) -> tuple:
        """The comparison key; equal keys mean equal versions."""
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: "Version") -> bool:
        return self._key < other._key

    def __le__(self, other: "Version") -> bool:
        return self._key <= other._key

    def __gt__(self, other: "Version") -> bool:
        return self._key > other._key

    def __ge__(self, other: "Version") -> bool:
        return self._key >= other._key

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Version({self.text!r})"


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Version:
    """Versions are immutable and rule bases repeat the same few hundred spellings."""
    return Version._parse(text)


@lru_cache(maxsize=8192)
def version_key(text: str) -> tuple:
    """``Version.parse(text).key``, raising ``VersionError`` as it does.

    Comparison closures need only the key of a measured text, and most measured texts are
    plain releases (``1.4.0``, ``v2.14.3``, ``570.133.20``): their key is read here in a
    third of the time a full parse takes, without building a ``Version``. The plain test
    accepts exactly what ``_VERSION_RE`` accepts without a suffix: an optional ``v``, then
    non-empty runs of decimal digits joined by single dots (``str.isdigit`` also admits
    digits such as ``²`` that ``\\d`` and ``int`` refuse; ``int`` raising sends those, and
    every other text, to the full parse, which gives its error)."""
    if len(text) <= MAX_VERSION_CHARS:
        body = text[1:] if text[:1] in ("v", "V") else text
        if body.replace(".", "").isdigit():
            try:
                return _significant(tuple(map(int, body.split(".")))), _RELEASED
            except ValueError:  # an empty part (1..2, .1, 1.) or a digit int() refuses
                pass
    return _parse_cached(text)._key


# every per-text cache of this module: what "never seen before" empties (bench/peers.py)
CACHES = (_parse_cached, version_key)


def parse_version(value: object) -> Version:
    """Coerce a snapshot or query value to a version (ints count as one-part versions)."""
    if type(value) is str:  # nearly every measured version: Version.parse's own path
        return _parse_cached(value)
    if isinstance(value, Version):
        return value
    if isinstance(value, bool):
        raise VersionError(f"expected a version, got the boolean {str(value).lower()}")
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_VERSION_CHARS:  # str() itself fails past 4,300 digits
            raise VersionError(f"expected a version, got an integer of {value.bit_length()} bits")
        return Version.parse(str(value))
    if isinstance(value, float):
        raise VersionError(
            f"expected a version, got the number {value!r}; versions must be strings "
            "(a YAML float loses trailing zeros)"
        )
    return Version.parse(str(value))


def is_version(text: str) -> bool:
    try:
        Version.parse(text)
    except VersionError:
        return False
    return True
