"""Fixtures for the distribution tests: a private epmd, erl nodes, Python nodes.

Every ``erl`` runs with a private epmd (``ERL_EPMD_PORT``), a random cookie,
on loopback only, and is ended by its pid (``erlnode.py``).  Tests that need
Erlang are skipped, saying why, only where ``erl`` is not installed.
"""
from __future__ import annotations

import contextlib
import itertools
import sys
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
