"""Plain helpers shared by the test modules (fixtures live in conftest.py).

Import them as ``from helpers import ...``: ``tests/`` is on ``sys.path``
(pytest's default "prepend" import mode puts the directory of a test module
there, and ``conftest.py`` also adds it, so the import works under
``--import-mode=importlib`` too).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import actors

__all__ = ["echo", "wait_forever", "roundtrip", "wait_down", "now", "expect",
           "nothing", "run_script"]


# -- small process helpers ----------------------------------------------------


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


# -- time and mailbox assertions ----------------------------------------------

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


# -- programs that could crash or hang the interpreter ------------------------


def run_script(loop_name: str, body: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run ``body`` (which uses LOOP for the loop name) in a fresh interpreter:
    for programs that could crash (segfault) or hang the interpreter if a rule
    broke. ``timeout`` is only a guard: a correct core finishes them at once."""
    code = textwrap.dedent(body).replace("LOOP", repr(loop_name))
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the program hung (still running after {timeout} s)")
