"""Processes of other nodes in the core (docs/api.md section 8), without a network.

The core hands every operation on a remote pid to the distribution layer's
handler; here a recording handler stands in for it.  Rules: remote pids are
``Pid`` values, equal (the same object) when they name the same process,
with ``.node`` and a ``<N.x.y>`` repr; local pids say ``Node.self()``; the
operations that cross nodes reach the handler, with the right arguments; a
runtime that is not a node fails links, monitors and calls to other nodes
with ``"noconnection"`` and drops sends; signals from other nodes follow the
rules of section 3; a lost connection fires every link and monitor over it.
"""
from __future__ import annotations

import re
from typing import Any

import pytest

import actors
from actors import ANY, Down, Exit, lowlevel

pytestmark = pytest.mark.actors


class Recorder:
    """A distribution handler that records what the core asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, hook: str) -> Any:
        return lambda *args: self.calls.append((hook, *args))


class _Node:
    def __init__(self) -> None:
        self.handler = Recorder()

    def __enter__(self) -> Recorder:
        lowlevel.set_node("here@host", 7, self.handler)
        return self.handler

    def __exit__(self, *exc: Any) -> None:
        lowlevel.set_node(None)


def remote(id: int = 5, node: str = "there@host") -> actors.Pid:
    return lowlevel.remote_pid(node, id, 0, 3)


async def test_remote_pids_are_interned_pids_with_their_node():
    with _Node():
        a, b = remote(5), remote(5)
        assert a is b and a == b and hash(a) == hash(b)
        assert isinstance(a, actors.Pid) and a.node == "there@host"
        assert remote(6) != a and remote(5, "other@host") != a
        assert re.fullmatch(r"<[1-9]\d*\.5\.0>", repr(a))
        assert actors.self().node == "here@host" == actors.Node.self()
        assert not actors.Process.alive(a)
    assert actors.self().node == "nonode@nohost"


async def test_a_local_pid_round_trips_to_itself():
    with _Node():
        me = actors.self()
        node, id, serial, creation = lowlevel.pid_to_wire(me)
        assert (node, creation) == ("here@host", 7)
        assert lowlevel.remote_pid(node, id, serial, creation) is me
        ref = actors.make_ref()
        assert lowlevel.remote_ref(*lowlevel.ref_to_wire(ref)) is ref
        # a pid of an earlier incarnation of this node is a dead local pid
        old = lowlevel.remote_pid(node, id, serial, creation - 1)
        assert old is not me and old.node == "here@host" and not actors.Process.alive(old)


async def test_operations_on_remote_pids_reach_the_handler():
    with _Node() as h:
        r = remote()
        me = actors.self()
        actors.send(r, ("hello", 1))
        actors.send(("name", "there@host"), "by name")
        actors.link(r)
        actors.unlink(r)
        ref = actors.monitor(r)
        assert actors.demonitor(ref) is True
        actors.exit(r, "custom")
        hooks = [c[0] for c in h.calls]
        assert hooks == ["send", "send", "link", "unlink", "monitor", "demonitor", "exit"]
        assert h.calls[0] == ("send", r, ("hello", 1))
        assert h.calls[1][1].name_at == ("name", "there@host")
        assert h.calls[2] == ("link", me, r)
        assert h.calls[4] == ("monitor", me, r, ref)
        assert h.calls[6] == ("exit", me, r, "custom", False)


async def test_a_local_exit_reaches_remote_links_and_monitors():
    with _Node() as h:
        r = remote()

        async def linked():
            actors.link(r)
            lowlevel.remote_monitor(r, actors.self(), ref)
            await actors.receive("go")
            raise actors.ProcessExit("gone")

        ref = lowlevel.remote_ref("there@host", 3, (1, 2, 3))
        pid = actors.spawn(linked)
        mref = actors.monitor(pid)
        actors.send(pid, "go")
        await actors.receive(Down(mref, pid, ANY), timeout=5)
        assert ("exit", pid, r, "gone", True) in h.calls
        assert ("down", pid, r, ref, "gone") in h.calls


async def test_signals_from_another_node_follow_the_local_rules():
    with _Node():
        r = remote()
        actors.Process.flag("trap_exit", True)
        me = actors.self()
        assert lowlevel.remote_link(r, me) is True
        lowlevel.remote_exit(r, me, "boom", True)
        assert await actors.receive(timeout=5) == Exit(r, "boom")
        lowlevel.remote_exit(r, me, "again", True)      # not linked any more: ignored
        lowlevel.remote_exit(r, me, "direct", False)    # exit/2: delivered
        assert await actors.receive(timeout=5) == Exit(r, "direct")

        async def victim():
            await actors.receive()

        pid = actors.spawn(victim)
        ref = actors.monitor(pid)
        lowlevel.remote_exit(r, pid, "kill", False)
        assert await actors.receive(Down(ref, pid, ANY), timeout=5) == Down(ref, pid, "killed")
        assert lowlevel.remote_link(r, pid) is False    # dead: the caller answers noproc
        assert lowlevel.remote_monitor(r, pid, actors.make_ref()) is None
        assert lowlevel.remote_monitor(r, "nobody", actors.make_ref()) is None


async def test_a_lost_connection_fires_every_link_and_monitor_once():
    with _Node() as h:
        r = remote()
        actors.Process.flag("trap_exit", True)
        actors.link(r)
        ref = actors.monitor(r)
        nref = actors.monitor(("name", "there@host"))
        name_proxy = h.calls[-1][2]
        assert name_proxy.name_at == ("name", "there@host")
        lowlevel.remote_gone(r)
        lowlevel.remote_gone(r)                         # once only
        got = [await actors.receive(timeout=5) for _ in range(2)]
        assert set(got) == {Exit(r, "noconnection"), Down(ref, r, "noconnection")}
        assert lowlevel.receive_nowait(default=None) is None
        lowlevel.remote_gone(name_proxy)
        assert await actors.receive(timeout=5) == Down(nref, ("name", "there@host"), "noconnection")


async def test_not_a_node_links_monitors_and_calls_fail_noconnection():
    r = lowlevel.remote_pid("there@host", 5, 0, 3)
    actors.Process.flag("trap_exit", True)
    actors.link(r)
    assert await actors.receive(timeout=5) == Exit(r, "noconnection")
    ref = actors.monitor(r)
    assert await actors.receive(timeout=5) == Down(ref, r, "noconnection")
    ref = actors.monitor(("name", "there@host"))
    assert await actors.receive(timeout=5) == Down(ref, ("name", "there@host"), "noconnection")
    with pytest.raises(actors.CallExit) as info:
        await actors.GenServer.call(r, "x")
    assert info.value.reason == "noconnection"
    assert actors.send(r, "dropped") == "dropped"
    assert actors.send(("name", "there@host"), "dropped") == "dropped"


async def test_bad_remote_destinations_are_typeerrors():
    for bad in [("name",), ("name", 1), (1, "node@host"), ("a", "b", "c")]:
        with pytest.raises(TypeError, match="name, node"):
            actors.send(bad, "x")
        with pytest.raises(TypeError, match="name, node"):
            actors.monitor(bad)
    with pytest.raises(TypeError):
        lowlevel.set_node("no-at-sign", 1, Recorder())
    with pytest.raises(TypeError):
        lowlevel.set_node("a@b", 1, None)
    with pytest.raises(TypeError):
        lowlevel.remote_pid(1, 2, 3, 4)
