"""A peer node that lies cannot reach past its own processes (docs/api.md section 8).

A raw connection stands in for a hostile node: it completes the handshake
with the right cookie, then sends control messages a real node never would.
Rules: a signal whose sender is not a process of the node that sent it is
ignored (a peer cannot speak for a third node); a message addressed to a pid
of another node is never forwarded; answers to monitors or spawns nobody
asked for are dropped; a spawn request for a module outside ``allow_spawn``
is answered ``not_allowed`` and runs nothing.  The node serves on.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

import actors
from actors import ANY, Atom, Down, Exit
from actors.dist.epmd import port_please
from actors.dist.etf import ExternalPid, ExternalRef, decode_from, encode
from actors.dist.handshake import Connection, dial
from actors.dist.node import (
    EXIT2_TAG,
    EXIT_TAG,
    LINK_TAG,
    MONITOR_P_EXIT_TAG,
    SEND_TAG,
    SPAWN_REPLY_TAG,
    SPAWN_REQUEST_TAG,
)

import spawn_targets as targets
from conftest import HOST, python_node, unique_name

pytestmark = pytest.mark.actors


def packet(control: tuple[Any, ...], message: Any = None) -> bytes:
    return b"p" + encode(control) + (b"" if message is None else encode(message))


async def liar(epmd, me: str, cookie: str) -> tuple[Connection, str]:
    name = unique_name("liar")
    info = await port_please(me, epmd_port=epmd.port)
    assert info is not None
    return await dial(name, 1, me, HOST, info.port, cookie), name


def wire_pid(pid: actors.Pid) -> ExternalPid:
    return ExternalPid(*actors.lowlevel.pid_to_wire(pid))


async def test_signals_in_the_name_of_a_third_node_are_ignored(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        actors.Process.flag("trap_exit", True)
        target = wire_pid(actors.self())
        third = ExternalPid("third@127.0.0.1", 1, 0, 1)
        conn.send(packet((LINK_TAG, third, target)))
        conn.send(packet((EXIT_TAG, third, target, Atom("forged"))))
        conn.send(packet((EXIT2_TAG, third, target, Atom("kill"))))
        # its own process may signal us
        own = ExternalPid(name, 9, 0, 1)
        conn.send(packet((EXIT2_TAG, own, target, Atom("real"))))
        got = await actors.receive(Exit(ANY, ANY), timeout=10)
        assert got.reason == "real" and got.pid.node == name
        assert actors.lowlevel.receive_nowait(default=None) is None
        conn.close()


async def test_messages_for_another_nodes_pids_are_not_forwarded(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        elsewhere = actors.lowlevel.remote_pid("victim@127.0.0.1", 1, 0, 1)
        ref = actors.monitor(elsewhere)          # would open a connection if anything were sent
        await actors.receive(Down(ref, elsewhere, "noconnection"), timeout=10)
        conn.send(packet((SEND_TAG, Atom(""), ExternalPid("victim@127.0.0.1", 1, 0, 1)), "relay"))
        conn.send(packet((SEND_TAG, Atom(""), wire_pid(actors.self())), "for me"))
        assert await actors.receive(timeout=10) == "for me"
        assert actors.Node.list() == [name]
        conn.close()


async def test_unasked_answers_are_dropped_and_the_node_serves_on(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        own = ExternalPid(name, 9, 0, 1)
        target = wire_pid(actors.self())
        ref = ExternalRef(me, 12345, (1, 2, 3))
        conn.send(packet((MONITOR_P_EXIT_TAG, own, target, ref, Atom("fake"))))
        conn.send(packet((SPAWN_REPLY_TAG, ref, target, 0, own)))
        conn.send(packet((SEND_TAG, Atom(""), target), "still here"))
        assert await actors.receive(timeout=10) == "still here"
        assert actors.lowlevel.receive_nowait(default=None) is None
        conn.close()


async def test_a_spawn_outside_allow_spawn_runs_nothing(epmd, cookie):
    async with python_node(epmd, cookie, allow_spawn=["spawn_targets"]) as me:
        conn, name = await liar(epmd, me, cookie)
        own = ExternalPid(name, 9, 0, 1)
        before = len(actors.Process.list())
        for mfa in ((Atom("os"), Atom("system"), 1), (Atom("spawn_targets"), Atom("nosuch"), 0),
                    (Atom("spawn_targets"), Atom("__class__"), 0)):
            req = ExternalRef(name, 1, (len(mfa[1]), 0, 0))
            conn.send(packet((SPAWN_REQUEST_TAG, req, own, own, mfa, []), ["echo pwned"]))
            reply = await asyncio.wait_for(conn.recv(), 10)
            assert reply is not None
            control, _ = decode_from(reply, 1)
            assert control[0] == SPAWN_REPLY_TAG and control[1] == req
            assert control[4] in ("not_allowed", "badarg")
        assert control[4] == "badarg"
        assert len(actors.Process.list()) == before
        conn.close()


async def test_a_flood_of_service_requests_runs_at_most_max_serving_at_once(epmd, cookie,
                                                                            monkeypatch):
    """A service (a name the bridge answers, as the observer's) runs each
    request in a process of its own, but never more than ``MAX_SERVING`` at
    once: the others are answered ``{error, busy}`` at once.  Requests that
    are not ``{Ref, From, Request}``, or speak for another node, are dropped."""
    from actors.dist.bridge import MAX_SERVING
    from actors.dist.node import REG_SEND_TAG

    test = actors.self()

    async def slow(request: Any) -> Any:
        actors.send(test, ("started", request))
        await actors.receive("never")

    monkeypatch.setitem(actors.node.SERVICES, "slow_service", slow)
    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        own = ExternalPid(name, 7, 0, 1)
        third = ExternalPid("third@127.0.0.1", 7, 0, 1)
        service = Atom("slow_service")
        conn.send(packet((REG_SEND_TAG, own, Atom(""), service), "not a request"))
        conn.send(packet((REG_SEND_TAG, third, Atom(""), service),
                         (ExternalRef(name, 1, (99, 0, 0)), third, "forged")))
        for i in range(MAX_SERVING + 3):
            conn.send(packet((REG_SEND_TAG, own, Atom(""), service),
                             (ExternalRef(name, 1, (i, 0, 0)), own, i)))
        busy = []
        while len(busy) < 3:
            answer = await asyncio.wait_for(conn.recv(), 10)
            assert answer is not None
            control, end = decode_from(answer, 1)
            if control[0] == SEND_TAG:
                busy.append(decode_from(answer, end)[0])
        assert [ref.ids[0] for ref, _ in busy] == [MAX_SERVING, MAX_SERVING + 1, MAX_SERVING + 2]
        assert all(reply == (Atom("error"), Atom("busy")) for _, reply in busy)
        started = [(await actors.receive(("started", ANY), timeout=10))[1]
                   for _ in range(MAX_SERVING)]
        assert sorted(started) == list(range(MAX_SERVING))          # never "forged"
        assert actors.lowlevel.receive_nowait(("started", ANY), default=None) is None
        assert actors.Node.list() == [name]                           # it serves on
        conn.close()


async def test_a_spawn_answered_too_late_is_abandoned(epmd, cookie, monkeypatch):
    """A node that answers a spawn request after ``SPAWN_TIMEOUT``: the caller
    got ``StartError("timeout")``; the late answer reaches nobody, the link it
    would have made is undone with exit ``abandoned`` (Erlang's
    ``spawn_request_abandon``), and the caller is not linked to anything."""
    monkeypatch.setattr(actors.node, "SPAWN_TIMEOUT", 0.2)
    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        with pytest.raises(actors.StartError, match="did not answer") as caught:
            await actors.Node.spawn_link(name, targets.idle)
        assert caught.value.reason == "timeout"
        while True:                                    # the request it sat on
            request = await asyncio.wait_for(conn.recv(), 10)
            assert request is not None
            control, _ = decode_from(request, 1)
            if control[0] == SPAWN_REQUEST_TAG:
                break
        _, req, frm, _, _, opts = control
        assert Atom("link") in opts
        late = ExternalPid(name, 11, 0, 1)
        conn.send(packet((SPAWN_REPLY_TAG, req, frm, 0, late)))
        undo = await asyncio.wait_for(conn.recv(), 10)
        assert undo is not None
        assert decode_from(undo, 1)[0] == (EXIT_TAG, frm, late, Atom("abandoned"))
        assert actors.Process.info(actors.self(), "links") == []
        assert actors.lowlevel.receive_nowait(default=None) is None
        conn.close()
