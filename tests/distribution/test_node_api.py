"""``actors.Node``'s arguments and defaults (docs/api.md section 8).

Rules: bad arguments are TypeError/ValueError naming the argument, raised
before anything starts; one node per runtime; ``cookie=None`` reads
``~/.erlang.cookie`` (creating it, mode 0600, with >= 128 random bits) as
``erl`` does; listening beyond loopback without TLS logs a warning; ``run(main,
node=...)`` makes the runtime a node while main runs; a runtime that is not a
node says ``nonode@nohost`` and pings nobody.
"""
from __future__ import annotations

import logging
import os
import stat

import pytest

import actors
from actors import Node

from conftest import python_node, unique_name

@pytest.mark.actors
async def test_not_a_node():
    assert Node.self() == "nonode@nohost" and not Node.alive() and Node.list() == []
    assert await Node.ping("anyone@127.0.0.1") == "pang"
    with pytest.raises(RuntimeError, match="not a node"):
        await Node.connect("anyone@127.0.0.1")
    await Node.stop()                           # nothing to stop: no error


@pytest.mark.parametrize("name, error", [
    (42, TypeError), ("no-at-sign", ValueError), ("@host", ValueError), ("name@", ValueError),
    ("a@b@c", ValueError),
])
@pytest.mark.actors
async def test_bad_names_are_refused_before_starting(name, error):
    with pytest.raises(error, match="node"):
        await Node.start(name, cookie="c")
    assert not Node.alive()


@pytest.mark.parametrize("options, error, named", [
    ({"cookie": 42}, TypeError, "cookie"), ({"cookie": ""}, ValueError, "cookie"),
    ({"cookie": "bad\ncookie"}, ValueError, "cookie"), ({"hidden": "yes"}, TypeError, "hidden"),
    ({"listen": 127001}, TypeError, "listen"), ({"allow_spawn": "mod"}, TypeError, "allow_spawn"),
    ({"allow_spawn": [1]}, TypeError, "allow_spawn"), ({"ssl": "tls"}, TypeError, "ssl"),
])
@pytest.mark.actors
async def test_bad_options_are_refused_before_starting(options, error, named):
    options = {"cookie": "c", **options}
    with pytest.raises(error, match=named):
        await Node.start(unique_name(), **options)
    assert not Node.alive()


@pytest.mark.actors
async def test_one_node_per_runtime(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        with pytest.raises(RuntimeError, match=me):
            await Node.start(unique_name(), cookie=cookie, epmd_port=epmd.port)
        assert Node.self() == me


@pytest.mark.actors
async def test_cookie_none_creates_the_cookie_file_owner_only(epmd, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    await Node.start(unique_name(), epmd_port=epmd.port)
    try:
        path = tmp_path / ".erlang.cookie"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600
        text = path.read_text()
        assert len(text) >= 28 and text.isalpha() and text.isupper()   # >= 128 bits
    finally:
        await Node.stop()
    await Node.start(unique_name(), epmd_port=epmd.port)    # and reads it the next time
    try:
        assert (tmp_path / ".erlang.cookie").read_text() == text
    finally:
        await Node.stop()


@pytest.mark.actors
async def test_a_readable_cookie_file_is_refused(epmd, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / ".erlang.cookie"
    path.write_text("SECRET")
    path.chmod(0o644)
    with pytest.raises(OSError, match="owner"):
        await Node.start(unique_name(), epmd_port=epmd.port)
    assert not Node.alive()


@pytest.mark.actors
async def test_listening_beyond_loopback_without_tls_warns(epmd, cookie, caplog):
    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        async with python_node(epmd, cookie):
            pass
    assert not [r for r in caplog.records if "unencrypted" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        async with python_node(epmd, cookie, listen="0.0.0.0"):
            pass
    assert [r for r in caplog.records if r.levelno == logging.WARNING
            and "0.0.0.0" in r.getMessage()]


def test_run_with_node_makes_the_runtime_a_node_while_main_runs(epmd, cookie):
    name = unique_name()

    async def main():
        return Node.self(), Node.alive(), actors.self().node

    os.environ["ERL_EPMD_PORT"] = str(epmd.port)
    try:
        assert actors.run(main, node=name, cookie=cookie) == (name, True, name)
    finally:
        del os.environ["ERL_EPMD_PORT"]
    with pytest.raises(TypeError, match="node"):
        actors.run(main, node=42)   # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cookie"):
        actors.run(main, cookie="c")


@pytest.mark.actors
async def test_node_monitor_checks_its_arguments(epmd, cookie):
    with pytest.raises(TypeError, match="node"):
        Node.monitor(42)            # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flag"):
        Node.monitor("a@b", flag="yes")   # type: ignore[arg-type]
    async with python_node(epmd, cookie):
        Node.monitor("nobody@127.0.0.1")
        Node.monitor("nobody@127.0.0.1", False)
        Node.monitor("other@127.0.0.1")
        assert await actors.receive(timeout=10) == actors.NodeDown("other@127.0.0.1")
