"""Shared fixtures: every runtime test runs on stdlib asyncio and on uvloop.

* ``run(main, *args, **kwargs)`` is ``actors.run`` on the parametrized loop.
  Assertions that need the runtime go inside ``main``: an exception raised in
  ``main`` propagates out of ``actors.run``.
* ``clock`` is a fresh ``actors.MockClock(autojump=True)``: pass it as
  ``run(main, clock=clock)`` whenever a test involves time, so timers fire
  instantly and deterministically (tests never sleep for real).
* ``aio_run(fn, *args)`` runs a plain asyncio coroutine function on the same
  loop, for tests that embed ``actors.Runtime`` in an asyncio program.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

import actors

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


# -- small process helpers shared by the test modules -------------------------
# (imported as ``from conftest import ...``: pytest puts tests/ on sys.path)


async def echo():
    """A process that answers ``(pid, x)`` with ``("echo", x)`` forever."""
    while True:
        sender, x = await actors.receive((actors.ANY, actors.ANY))
        actors.send(sender, ("echo", x))


async def wait_forever():
    """A process that blocks in receive until it is killed."""
    await actors.receive("never sent to anybody")


async def roundtrip(server, x="sync"):
    """Ask an ``echo`` process for ``x``: proves the scheduler ran the others."""
    actors.send(server, (actors.self(), x))
    return await actors.receive(("echo", x))


async def wait_down(pid):
    """Monitor ``pid`` and wait for it to be gone; return the exit reason."""
    ref = actors.monitor(pid)
    down = await actors.receive((ref, actors.ANY, actors.ANY))
    return down.reason


_NOTHING = object()


def now() -> float:
    """The runtime's (virtual) clock."""
    return actors.lowlevel.current_scheduler().now()


async def expect(pattern, timeout=30.0):
    """The next message matching ``pattern``; Timeout (failing the test) if none comes."""
    return await actors.receive(pattern, timeout=timeout)


async def nothing(pattern=actors.ANY, timeout=0):
    """Assert that no message matching ``pattern`` is (or arrives) within ``timeout``."""
    msg = await actors.receive(pattern, timeout=timeout, default=_NOTHING)
    assert msg is _NOTHING, f"unexpected message {msg!r}"


def run_script(loop_name: str, body: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run ``body`` (which uses LOOP for the loop name) in a fresh interpreter:
    for programs that could crash or hang the interpreter if a rule broke."""
    code = textwrap.dedent(body).replace("LOOP", repr(loop_name))
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the program hung (still running after {timeout} s)")
