"""What every fuzzer shares: the profile, a wall-clock bound, and the outcome contract."""

from __future__ import annotations

import contextlib
import signal
import threading
import time

from hypothesis import settings

from eidos.errors import EidosError

# Generous: the slowest legitimate example (a 64 KiB document on a loaded machine) takes
# well under a second; a hang or a super-linear path blows through this.
BOUND_SECONDS = 20.0


def fuzz_settings(scale: float = 1.0) -> settings:
    """The active profile (see conftest.py), with ``scale`` x its example budget for the
    cheap fuzzers and less for the expensive ones."""
    from tests.fuzz.conftest import PROFILE

    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=max(1, int(base.max_examples * scale)))


class Hang(AssertionError):
    pass


@contextlib.contextmanager
def bounded(seconds: float = BOUND_SECONDS):
    """Fail (not hang) when the body runs past ``seconds``: SIGALRM interrupts Python code
    in the main thread; elsewhere only the elapsed time is checked afterwards."""
    start = time.monotonic()
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        def on_alarm(signum, frame):
            raise Hang(f"no result after {seconds:g}s")

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f}s (bound {seconds:g}s)"


def outcome(fn, *args, **kwargs):
    """Run ``fn``: a result, or an ``EidosError`` with a message. Anything else (a traceback
    a user would see as an internal error) propagates and fails the fuzzer."""
    with bounded():
        try:
            return fn(*args, **kwargs), None
        except EidosError as err:
            assert err.message.strip(), f"{type(err).__name__} without a message"
            assert 2 <= err.exit_code <= 3, err.exit_code
            return None, err
