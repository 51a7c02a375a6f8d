"""Hypothesis profiles for the fuzzers: a small budget by default, a larger one on demand.

``EIDOS_FUZZ_EXAMPLES=5000 python -m pytest -q -p no:cacheprovider tests/fuzz`` runs every
fuzzer with 5,000 examples (random seeds, so repeated deep runs explore further); without
it each fuzzer runs ``DEFAULT_EXAMPLES`` derandomized examples, so CI is reproducible and the
whole set stays well under two minutes on two busy cores.

The profiles are registered here but never *loaded*: loading would change the defaults of
every other hypothesis test in the session. Fuzzers apply them with :func:`fuzz_settings`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 25
_env = os.environ.get("EIDOS_FUZZ_EXAMPLES", "").strip()
_deep = _env.isdigit() and int(_env) > 0

_common = dict(
    deadline=None,  # wall time per example is bounded by fuzzkit.bounded instead
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("eidos-fuzz-ci", max_examples=DEFAULT_EXAMPLES, derandomize=True, **_common)
settings.register_profile(
    "eidos-fuzz-deep", max_examples=int(_env) if _deep else DEFAULT_EXAMPLES, derandomize=False, **_common
)
PROFILE = "eidos-fuzz-deep" if _deep else "eidos-fuzz-ci"
