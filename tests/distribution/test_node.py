"""A Python node the BEAM can ping (issue 11): ``actors.dist.node.DistNode``.

Rules tested, against real ``erl`` nodes on a private epmd: ``net_adm:ping``
of a Python node answers ``pong`` with the cookie and ``pang`` without; the
Python node's ``ping`` is ``net_adm:ping`` the other way; both sides list the
connection (erl's ``nodes(hidden)``); a lost connection leaves ``nodes()``
and fires ``on_nodedown`` once, with a reason; one connection per peer, even
when connects race; a peer that breaks the protocol after the handshake is
disconnected and the node serves the others on.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.dist.epmd import port_please, register
from actors.dist.etf import Atom, ExternalPid, ExternalRef, ImproperList, encode
from actors.dist.handshake import dial, start_server
from actors.dist.node import NO_MESSAGE, DistNode, ProtocolError, parse_packet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import unique_name
from erlnode import ErlNode, free_port

HOST = "127.0.0.1"
class Events:
    """Records a node's nodeup/nodedown callbacks; waits for them."""

    def __init__(self, node: DistNode) -> None:
        self.up: asyncio.Queue[str] = asyncio.Queue()
        self.down: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        node.on_nodeup = self.up.put_nowait
        node.on_nodedown = lambda peer, reason: self.down.put_nowait((peer, reason))

    async def nodedown(self) -> tuple[str, str]:
        return await asyncio.wait_for(self.down.get(), 10)

    async def nodeup(self) -> str:
        return await asyncio.wait_for(self.up.get(), 10)


# -- with erl --------------------------------------------------------------------------

def test_erl_pings_a_python_node(aio_run, epmd, erl, cookie):
    """net_adm:ping answers pong; both sides then list the connection."""
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        events = Events(node)
        try:
            assert await erl.aeval(f"net_adm:ping('{node.name}')") == "pong"
            assert await events.nodeup() == erl.name
            assert node.nodes() == [erl.name]
            assert await erl.aeval("nodes(hidden)") == f"['{node.name}']"
            assert await erl.aeval("nodes()") == "[]"          # we are hidden
        finally:
            await node.stop()

    aio_run(main)


def test_a_visible_python_node_is_in_a_visible_erl_nodes_list(aio_run, epmd, cookie):
    """hidden=False: a visible node, in erl's nodes() (global's and rex's
    messages to it go to on_control)."""
    async def main():
        erl = ErlNode(unique_name("vis"), cookie=cookie, epmd=epmd,
                      hidden=False)
        try:
            node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port, hidden=False)
            try:
                info = await port_please(node.name, epmd_port=epmd.port)
                assert info is not None and not info.hidden
                assert await erl.aeval(f"net_adm:ping('{node.name}')") == "pong"
                assert await erl.aeval("{nodes(), nodes(hidden)}") == f"{{['{node.name}'],[]}}"
                assert await node.ping(erl.name) == "pong"
            finally:
                await node.stop()
        finally:
            erl.stop()

    aio_run(main)


def test_erl_with_another_cookie_gets_pang(aio_run, epmd, erl, cookie):
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        try:
            assert await erl.aeval(f"erlang:set_cookie('{node.name}', wrong), "
                                   f"net_adm:ping('{node.name}')") == "pang"
            assert node.nodes() == []
            assert await erl.aeval("nodes(hidden)") == "[]"
        finally:
            await node.stop()

    aio_run(main)


def test_python_pings_erl(aio_run, epmd, erl, cookie):
    """ping() is net_adm:ping: pong, and the connection stays up on both sides."""
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        try:
            assert await node.ping(erl.name) == "pong"
            assert node.nodes() == [erl.name]
            assert await erl.aeval("nodes(hidden)") == f"['{node.name}']"
            assert await node.ping(erl.name) == "pong"          # over the same connection
            assert node.nodes() == [erl.name]
        finally:
            await node.stop()

    aio_run(main)


def test_python_ping_with_another_cookie_or_to_nobody_is_pang(aio_run, epmd, erl):
    async def main():
        node = await DistNode.start(unique_name(), "wrong", epmd_port=epmd.port)
        try:
            assert await node.ping(erl.name) == "pang"
            assert await node.ping(f"nobody@{HOST}") == "pang"
            assert node.nodes() == []
            assert await erl.aeval("nodes(hidden)") == "[]"
        finally:
            await node.stop()

    aio_run(main)


def test_a_ping_that_gets_no_answer_is_pang_after_the_timeout(aio_run, epmd, erl, cookie):
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        try:
            assert await node.ping(erl.name) == "pong"
            erl.suspend()
            try:
                assert await node.ping(erl.name, timeout=0.3) == "pang"
            finally:
                erl.resume()
            assert await node.ping(erl.name) == "pong"
        finally:
            await node.stop()

    aio_run(main)


def test_killing_erl_fires_nodedown_once(aio_run, epmd, erl, cookie):
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        events = Events(node)
        try:
            assert await node.ping(erl.name) == "pong"
            erl.kill()
            assert await events.nodedown() == (erl.name, "connection_closed")
            assert node.nodes() == []
            assert await node.ping(erl.name) == "pang"
        finally:
            await node.stop()
        assert events.down.empty()                  # stop() had nothing more to report

    aio_run(main)


def test_erl_sees_nodedown_when_the_python_node_disconnects_or_stops(aio_run, epmd, erl,
                                                                    cookie):
    async def main():
        erl.monitor_nodes()
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        events = Events(node)
        try:
            assert await node.ping(erl.name) == "pong"
            await erl.aexpect(rf"event nodeup '{node.name}'")
            assert node.disconnect(erl.name) is True
            assert await events.nodedown() == (erl.name, "disconnect")
            await erl.aexpect(rf"event nodedown '{node.name}' connection_closed")
            assert node.disconnect(erl.name) is False
            assert await erl.aeval(f"net_adm:ping('{node.name}')") == "pong"
            await erl.aexpect(rf"event nodeup '{node.name}'")
        finally:
            await node.stop()
        assert await events.nodedown() == (erl.name, "net_kernel_terminated")
        await erl.aexpect(rf"event nodedown '{node.name}' connection_closed")
        assert await erl.aeval(f"net_adm:ping('{node.name}')") == "pang"

    aio_run(main)


def test_other_control_messages_go_to_on_control(aio_run, epmd, erl, cookie):
    """A message to a registered name other than net_kernel's is_auth is the
    handler's: it sees the control tuple and the message."""
    async def main():
        node = await DistNode.start(unique_name(), cookie, epmd_port=epmd.port)
        got: asyncio.Queue[tuple[str, tuple[Any, ...], Any]] = asyncio.Queue()
        node.on_control = lambda peer, control, message: got.put_nowait(
            (peer, control, message))
        try:
            assert await erl.aeval(f"{{mailbox, '{node.name}'}} ! {{hello, 42}}, "
                                   f"{{net_kernel, '{node.name}'}} ! hi") == "hi"
            peer, control, message = await asyncio.wait_for(got.get(), 10)
            assert peer == erl.name
            assert control[0] == 6 and control[3] == "mailbox"
            assert isinstance(control[1], ExternalPid) and control[1].node == erl.name
            assert message == ("hello", 42)
            peer, control, message = await asyncio.wait_for(got.get(), 10)
            assert (control[0], control[3], message) == (6, "net_kernel", "hi")
        finally:
            await node.stop()

    aio_run(main)


# -- Python to Python ---------------------------------------------------------------------

async def two_nodes(cookie: str = "secret") -> tuple[DistNode, DistNode]:
    """Two Python nodes on an in-process epmd (stop b, then a: a runs the epmd)."""
    port = free_port()
    a = await DistNode.start(unique_name("a"), cookie, epmd_port=port, builtin_epmd=True)
    b = await DistNode.start(unique_name("b"), cookie, epmd_port=port)
    return a, b


def test_two_python_nodes_ping_each_other(aio_run):
    async def main():
        a, b = await two_nodes()
        try:
            assert await a.ping(b.name) == "pong"
            assert await b.ping(a.name) == "pong"
            assert a.nodes() == [b.name] and b.nodes() == [a.name]
            assert await a.ping(a.name) == "pong"
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


def test_start_registers_with_epmd_and_stop_unregisters(aio_run):
    async def main():
        a, b = await two_nodes()
        try:
            info = await port_please(b.name, epmd_port=a.epmd_port)
            assert info is not None and info.port == b.port and info.hidden
            assert b.pid == ExternalPid(b.name, 0, 0, b.creation)
        finally:
            await b.stop()
        assert await port_please(b.name, epmd_port=a.epmd_port) is None
        await b.stop()                                           # idempotent
        await a.stop()

    aio_run(main)


def test_concurrent_connects_make_one_connection(aio_run):
    async def main():
        a, b = await two_nodes()
        a_events, b_events = Events(a), Events(b)
        try:
            assert await asyncio.gather(*[a.connect(b.name) for _ in range(10)]) == [True] * 10
            assert await b_events.nodeup() == a.name
            assert await a_events.nodeup() == b.name
            assert a.nodes() == [b.name] and b.nodes() == [a.name]
            assert await a.connect(b.name) is True
            assert b_events.up.empty() and a_events.up.empty()
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


def test_simultaneous_connects_from_both_sides_end_with_one_connection(aio_run):
    """Both dial at once: net_kernel's rule (the greater name keeps its own
    outgoing connection) leaves exactly one, which both use."""
    async def main():
        a, b = await two_nodes()
        try:
            results = await asyncio.gather(a.connect(b.name), b.connect(a.name),
                                           a.connect(b.name), b.connect(a.name))
            assert results == [True] * 4
            assert a.nodes() == [b.name] and b.nodes() == [a.name]
            assert await a.ping(b.name) == "pong" and await b.ping(a.name) == "pong"
            conn_a, conn_b = a.connection(b.name), b.connection(a.name)
            assert conn_a is not None and conn_b is not None
            assert not conn_a.closed and not conn_b.closed
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


def test_a_peer_that_connects_anew_replaces_its_old_connection(aio_run):
    """Status "alive", answered true (its old connection is dead, e.g. it
    restarted): nodedown for the old connection, nodeup for the new one."""
    async def main():
        a, b = await two_nodes()
        events = Events(a)
        try:
            name = unique_name("again")
            first = await dial(name, 1, a.name, HOST, a.port, "secret")
            assert await events.nodeup() == name
            second = await dial(name, 2, a.name, HOST, a.port, "secret")
            assert await events.nodedown() == (name, "replaced")
            assert await events.nodeup() == name
            assert a.nodes() == [name]
            connection = a.connection(name)
            assert connection is not None and connection.peer_creation == 2
            assert await asyncio.wait_for(first.wait_closed(), 10) == "connection_closed"
            assert not second.closed
            second.close()
            assert await events.nodedown() == (name, "connection_closed")
            assert events.down.empty() and a.nodes() == []
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


def test_a_python_node_with_another_cookie_gets_pang(aio_run):
    async def main():
        port = free_port()
        a = await DistNode.start(unique_name("a"), "one", epmd_port=port, builtin_epmd=True)
        b = await DistNode.start(unique_name("b"), "two", epmd_port=port)
        try:
            assert await a.ping(b.name) == "pang"
            assert await b.ping(a.name) == "pang"
            assert a.nodes() == [] and b.nodes() == []
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


# -- hostile peers -----------------------------------------------------------------------

MALFORMED = {
    "not p": b"x" + encode((2, Atom(""), Atom("x"))),
    "bad etf": b"p\x83junk",
    "control not a tuple": b"p" + encode(42),
    "unknown tag": b"p" + encode((99, 1, 2)),
    "wrong arity": b"p" + encode((6, Atom("x"))) + encode("m"),
    "message missing": b"p" + encode((6, Atom("x"), Atom(""), Atom("net_kernel"))),
    "unexpected message": b"p" + encode((20, 1, 2, 3)) + encode("m"),
    "trailing bytes": b"p" + encode((2, Atom(""), Atom("x"))) + encode("m") + b"\x83",
}


@pytest.mark.parametrize("packet", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_peer_sending_a_malformed_packet_is_disconnected(aio_run, caplog, packet):
    async def main():
        a, b = await two_nodes()
        events = Events(a)
        try:
            hostile_name = unique_name("hostile")
            conn = await dial(hostile_name, 1, a.name, HOST, a.port, "secret")
            assert await events.nodeup() == hostile_name
            conn.send(packet)
            assert await asyncio.wait_for(conn.wait_closed(), 10) == "connection_closed"
            assert await events.nodedown() == (hostile_name, "protocol_error")
            assert a.nodes() == []
            assert await b.ping(a.name) == "pong"             # a serves others on
            assert a.nodes() == [b.name]
        finally:
            await b.stop()
            await a.stop()

    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        aio_run(main)
    assert any("malformed packet" in r.getMessage() and "hostile" in r.getMessage()
               for r in caplog.records)


def test_a_failing_on_control_is_logged_and_the_connection_stays(aio_run, caplog):
    """A bug in the handler is the handler's: logged, the peer stays connected."""
    async def main():
        a, b = await two_nodes()
        seen: list[tuple[Any, ...]] = []

        def handler(peer: str, control: tuple[Any, ...], message: Any) -> None:
            seen.append(control)
            raise RuntimeError("handler bug")

        a.on_control = handler
        try:
            peer = await dial(unique_name("odd"), 1, a.name, HOST, a.port, "secret")
            # an ALIAS_SEND to an alias that is no reference (and unhashable)
            peer.send(b"p" + encode((33, ExternalPid(peer.local_name, 1, 0, 1), [1]))
                      + encode("m"))
            # then an is_auth call on the same connection: answered, so after the above
            me = ExternalPid(peer.local_name, 1, 0, 1)
            tag = ExternalRef(peer.local_name, 1, (1, 2, 3))
            peer.send(b"p" + encode((6, me, Atom(""), Atom("net_kernel")))
                      + encode((Atom("$gen_call"), (me, tag), (Atom("is_auth"), Atom("x")))))
            reply = await asyncio.wait_for(peer.recv(), 10)
            assert reply is not None
            assert parse_packet(reply) == ((22, a.pid, me), (tag, "yes"))   # SEND_SENDER
            assert len(seen) == 1 and seen[0][0] == 33
            assert peer.local_name in a.nodes()
            peer.close()
        finally:
            await b.stop()
            await a.stop()

    with caplog.at_level(logging.ERROR, logger="actors.dist"):
        aio_run(main)
    assert any("raised" in r.getMessage() for r in caplog.records)


def test_net_kernel_answers_an_alias_tagged_call_to_the_alias(aio_run):
    """OTP 24+ gen:call tags are [alias | Ref]: the answer is an ALIAS_SEND to Ref."""
    async def main():
        a, b = await two_nodes()
        try:
            peer = await dial(unique_name("alias"), 1, a.name, HOST, a.port, "secret")
            me = ExternalPid(peer.local_name, 1, 0, 1)
            ref = ExternalRef(peer.local_name, 1, (4, 5, 6))
            tag = ImproperList([Atom("alias")], ref)
            peer.send(b"p" + encode((6, me, Atom(""), Atom("net_kernel")))
                      + encode((Atom("$gen_call"), (me, tag), (Atom("is_auth"), Atom("x")))))
            reply = await asyncio.wait_for(peer.recv(), 10)
            assert reply is not None
            assert parse_packet(reply) == ((33, a.pid, ref), (tag, "yes"))
            peer.close()
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)


@pytest.mark.parametrize("form", ["ref", "alias"])
def test_ping_accepts_an_answer_to_the_ref_or_to_the_alias(aio_run, form):
    """A peer whose net_kernel answers {[alias | Ref], yes} by ALIAS_SEND, or
    {Ref, yes} by SEND, gets pong either way."""
    async def main():
        port = free_port()
        a = await DistNode.start(unique_name("a"), "secret", epmd_port=port, builtin_epmd=True)
        conns: asyncio.Queue[Any] = asyncio.Queue()
        name = unique_name("fake")
        server = await start_server(name, 9, "secret", conns.put_nowait, host=HOST)
        registration = await register(name, server.sockets[0].getsockname()[1], epmd_port=port)
        try:
            pinging = asyncio.ensure_future(a.ping(name))
            conn = await asyncio.wait_for(conns.get(), 10)
            packet = await asyncio.wait_for(conn.recv(), 10)
            control, (_, (sender, ref), _) = parse_packet(packet)
            assert control == (6, a.pid, "", "net_kernel") and sender == a.pid
            me = ExternalPid(name, 1, 0, 9)
            if form == "ref":
                conn.send(b"p" + encode((2, Atom(""), sender)) + encode((ref, Atom("yes"))))
            else:
                conn.send(b"p" + encode((33, me, ref))
                          + encode((ImproperList([Atom("alias")], ref), Atom("yes"))))
            assert await asyncio.wait_for(pinging, 10) == "pong"
            conn.close()
        finally:
            await registration.close()
            server.close()
            await a.stop()

    aio_run(main)


def test_parse_packet_splits_control_and_message():
    pid = ExternalPid("x@h", 1, 0, 1)
    assert parse_packet(b"p" + encode((2, Atom(""), pid)) + encode("hi")) == (
        (2, "", pid), "hi")
    assert parse_packet(b"p" + encode((19, pid, pid, 7))) == ((19, pid, pid, 7), NO_MESSAGE)
    for packet in MALFORMED.values():
        with pytest.raises(ProtocolError):
            parse_packet(packet)


# -- arguments ------------------------------------------------------------------------

def test_bad_arguments_are_named(aio_run):
    async def main():
        with pytest.raises(TypeError, match="name"):
            await DistNode.start(3, "c")                          # type: ignore[arg-type]
        with pytest.raises(ValueError, match="name"):
            await DistNode.start("nohost", "c")
        with pytest.raises(TypeError, match="cookie"):
            await DistNode.start("a@h", 3)                        # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ticktime"):
            await DistNode.start("a@h", "c", ticktime=0)
        a, b = await two_nodes()
        try:
            with pytest.raises(ValueError, match="node"):
                await a.ping("nohost")
            with pytest.raises(TypeError, match="node"):
                await a.connect(None)                             # type: ignore[arg-type]
        finally:
            await b.stop()
            await a.stop()

    aio_run(main)
