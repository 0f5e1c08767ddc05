"""Fixtures for the distribution tests: a private epmd, erl nodes, Python nodes.

Every ``erl`` runs with a private epmd (``ERL_EPMD_PORT``), a random cookie,
on loopback only, and is ended by its pid (``erlnode.py``).  Tests that need
Erlang are skipped, saying why, only where ``erl`` is not installed.

A second Python node is another OS process (``start_python_node``, and the
module-scoped fixture ``remote_python``): it runs ``remote_node.py`` with the
same ``actors`` as the tests, on the private epmd, and is ended by its pid.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import actors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from erlnode import EPMD, ERL, Epmd, ErlNode, random_cookie  # noqa: E402

HOST = "127.0.0.1"
_names = itertools.count()


def unique_name(prefix: str = "py") -> str:
    """A node name no other test uses: ``prefixN@127.0.0.1``."""
    return f"{prefix}{next(_names)}@{HOST}"


@pytest.fixture(scope="module")
def epmd():
    """A private epmd on a free port, for the module's nodes."""
    if ERL is None or EPMD is None:
        pytest.skip("Erlang/OTP (erl, epmd) is not installed: apt-get install erlang-nox")
    daemon = Epmd()
    yield daemon
    daemon.stop()


@pytest.fixture
def cookie() -> str:
    return random_cookie()


@pytest.fixture
def erl(epmd, cookie):
    """A fresh hidden erl node on the private epmd, with the test's cookie."""
    node = ErlNode(unique_name("erl"), cookie=cookie, epmd=epmd)
    yield node
    node.stop()


@contextlib.asynccontextmanager
async def python_node(epmd: Epmd, cookie: str, **options: Any) -> AsyncIterator[str]:
    """This runtime as a fresh node on the private epmd, for the block."""
    name = unique_name()
    await actors.Node.start(name, cookie=cookie, epmd_port=epmd.port, **options)
    try:
        yield name
    finally:
        await actors.Node.stop()


# -- a Python node in another OS process --------------------------------------------------------

_HERE = Path(__file__).resolve().parent


class PythonNode:
    """A Python node in its own OS process, running ``remote_node.py``: a
    ``TaskSupervisor`` ``"tasks"``, an ``Agent`` ``"agent"`` and a
    ``spawn_targets.Store`` ``"server"``; spawns allowed for ``spawn_targets``.

    Attributes:
        name: its node name.
        cookie: its cookie.
    """

    def __init__(self, epmd: Epmd, cookie: str) -> None:
        self.name = unique_name("pyremote")
        self.cookie = cookie
        src = str(Path(actors.__file__).resolve().parents[1])   # the actors under test
        path = os.pathsep.join([src, str(_HERE)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        self.proc = subprocess.Popen(
            [sys.executable, str(_HERE / "remote_node.py"), self.name, cookie, str(epmd.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": path})
        self.output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.strip() == "ready":
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(30) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"the Python node {self.name} did not start; output:\n"
                               + "\n".join(self.output[-30:]))

    def kill(self) -> None:
        """End the OS process abruptly (SIGKILL to its pid), as a crash would."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Close its stdin (it stops), then end it by its pid if it has not; idempotent."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_python_node(epmd: Epmd, cookie: str) -> PythonNode:
    """Start a Python node in another OS process (stop it with ``.stop()``)."""
    return PythonNode(epmd, cookie)


@pytest.fixture(scope="module")
def remote_python(epmd):
    """One Python node in another OS process, shared by the module's tests
    (they take their own keys in its agent and server)."""
    node = start_python_node(epmd, random_cookie())
    yield node
    node.stop()
