"""Plain helpers shared by the test modules (fixtures live in conftest.py).

Import them as ``from helpers import ...``: ``tests/`` is on ``sys.path``
(pytest's default "prepend" import mode puts the directory of a test module
there, and ``conftest.py`` also adds it, so the import works under
``--import-mode=importlib`` too).
"""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import actors

__all__ = [
    "Inventory",
    "PyEpmd",
    "echo",
    "expect",
    "nothing",
    "now",
    "roundtrip",
    "run_script",
    "start_inventory",
    "wait_down",
    "wait_forever",
]


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


# -- distribution ----------------------------------------------------------------


class PyEpmd:
    """``python -m actors epmd`` on a free port (``port``), ended by its pid."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(actors.__file__).resolve().parent.parent)}
        self.proc = subprocess.Popen([sys.executable, "-m", "actors", "epmd", "--port", "0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ""
        found = re.search(r"listening on [\d.]+:(\d+)", line)
        if found is None:
            self.stop()
            raise RuntimeError(f"python -m actors epmd did not start: {line!r}")
        self.port = int(found.group(1))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Inventory(actors.GenServer):
    """A server with a secret that its ``format_status`` hides (for the
    observer's views of another node)."""

    def init(self) -> None:
        self.apples = 3
        self.api_key = "sk-secret"

    def handle_call(self, request: Any, from_: Any) -> Any:
        self.apples += 1
        return self.apples

    def format_status(self, status: dict[str, Any]) -> dict[str, Any]:
        status["state"] = {**status["state"], "api_key": "***"}
        return status


async def start_inventory(name: str, to: Any) -> None:
    """Start an ``Inventory`` registered as ``name`` (unlinked); send
    ``("inventory", pid)`` to ``to`` (spawned on a peer node)."""
    pid = await Inventory.start(name=name)
    actors.send(to, ("inventory", pid))
