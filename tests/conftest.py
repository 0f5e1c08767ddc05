"""Shared fixtures: every runtime test runs on stdlib asyncio and on uvloop.

* ``run(main, *args, **kwargs)`` is ``actors.run`` on the parametrized loop.
  Assertions that need the runtime go inside ``main``: an exception raised in
  ``main`` propagates out of ``actors.run``.
* ``clock`` is a fresh ``actors.MockClock(autojump=True)``: pass it as
  ``run(main, clock=clock)`` whenever a test involves time, so timers fire
  instantly and deterministically (tests never sleep for real).
* ``aio_run(fn, *args)`` runs a plain asyncio coroutine function on the same
  loop, for tests that embed ``actors.Runtime`` in an asyncio program.

Plain helpers (``echo``, ``roundtrip``, ``wait_down``, ``run_script``, ...)
live in ``helpers.py``: ``from helpers import ...``.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

import actors

# ``from helpers import ...`` in the test modules: make sure tests/ is on
# sys.path whatever the import mode (pytest's default "prepend" mode adds it
# anyway; "importlib" mode does not).
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

LOOPS = ["asyncio", "uvloop"]


@pytest.fixture(params=LOOPS)
def loop_name(request: pytest.FixtureRequest) -> str:
    """The event loop under test; uvloop is skipped when not installed."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return request.param


@pytest.fixture
def run(loop_name: str):
    """``actors.run`` bound to the parametrized event loop."""

    def _run(main, *args, **kwargs):
        return actors.run(main, *args, loop=loop_name, **kwargs)

    return _run


@pytest.fixture
def aio_run(loop_name: str):
    """Run a plain asyncio coroutine function on the parametrized loop."""

    def _run(fn, *args):
        factory = None
        if loop_name == "uvloop":
            import uvloop

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(fn(*args))

    return _run


@pytest.fixture
def clock() -> actors.MockClock:
    """A virtual clock that jumps to the next timer whenever all processes block."""
    return actors.MockClock(autojump=True)
