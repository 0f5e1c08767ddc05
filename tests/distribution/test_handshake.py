"""The distribution handshake and connection framing (issue 11).

Rules tested, from the ERTS "Distribution Protocol" chapter and OTP's
``dist_util.erl``/``dist.h``: the OTP 23+ handshake with real ``erl`` nodes
both ways; a wrong cookie is refused in both directions and nothing from such
a connection is processed; the dialled node must answer with its own name;
status ``nok``/``not_allowed``/``alive``; hostile peers cannot hang or crash
the acceptor; ticks keep an idle connection up and a silent peer is dropped
after ``net_ticktime``; the flag set is exactly OTP's bits.
"""
from __future__ import annotations

import asyncio
import struct
import sys
from pathlib import Path

import pytest

from actors.dist import flags as F
from actors.dist.epmd import Registration, port_please, register
from actors.dist.handshake import (
    HandshakeError,
    dial,
    digest,
    simultaneous_status,
    start_server,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from erlnode import EPMD, ERL, ErlNode, random_cookie

COOKIE = "monster"
HOST = "127.0.0.1"

needs_erl = pytest.mark.skipif(ERL is None or EPMD is None,
                               reason="Erlang/OTP (erl, epmd) is not installed")


# -- epmd ---------------------------------------------------------------------------

async def epmd_port_please(epmd_port: int, name: str) -> int:
    """The distribution port of node ``name`` (short part), from the private epmd."""
    info = await port_please(name, HOST, epmd_port)
    assert info is not None, f"epmd does not know {name}"
    return info.port


async def epmd_register(epmd_port: int, name: str, port: int) -> Registration:
    """Register a hidden node; registered while the returned registration is open."""
    return await register(name, port, hidden=True, host=HOST, epmd_port=epmd_port)


# -- fixtures -----------------------------------------------------------------------

@pytest.fixture
def erl(epmd):
    """``erl(**options)`` starts an ErlNode on the private epmd; all are
    stopped (by pid) when the test ends."""
    nodes: list[ErlNode] = []
    counter = iter(range(1000))

    def start(cookie: str = COOKIE, **options) -> ErlNode:
        node = ErlNode(f"e{next(counter)}x{epmd.port}@{HOST}", cookie=cookie, epmd=epmd,
                       **options)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


class Server:
    """A Python node's listener, recording what it accepted and refused."""

    def __init__(self, name: str = "srv@127.0.0.1", cookie: str = COOKIE, **options) -> None:
        self.name = name
        self.cookie = cookie
        self.options = options
        self.connections: asyncio.Queue = asyncio.Queue()
        self.errors: asyncio.Queue = asyncio.Queue()
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> Server:  # noqa: PYI034
        self.server = await start_server(self.name, 42, self.cookie, self.connections.put_nowait,
                                         on_error=self.errors.put_nowait, **self.options)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        while not self.connections.empty():
            self.connections.get_nowait().close()

    async def error(self) -> HandshakeError:
        return await asyncio.wait_for(self.errors.get(), 5)

    async def connection(self):
        return await asyncio.wait_for(self.connections.get(), 5)

    async def dial(self, local_name: str = "cli@127.0.0.1", **options):
        options.setdefault("cookie", self.cookie)
        return await dial(local_name, 7, options.pop("remote_name", self.name), HOST, self.port,
                          **options)


async def pair(**options):
    """A connected (dialler side, acceptor side) pair of Python connections."""
    async with Server(**options.pop("server_options", {})) as server:
        client = await server.dial(**options)
        return client, await server.connection()


async def raw(port: int, data: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    return reader, writer


def frame2(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


# -- flags ------------------------------------------------------------------------

def test_flag_bits_are_otps():
    """Each value is OTP's (dist.h / dist.hrl); bit 34 is V4_NC, bit 32 SPAWN."""
    assert (F.PUBLISHED, F.ATOM_CACHE, F.EXTENDED_REFERENCES, F.DIST_MONITOR) == (1, 2, 4, 8)
    assert (F.FUN_TAGS, F.DIST_MONITOR_NAME, F.HIDDEN_ATOM_CACHE, F.NEW_FUN_TAGS) == (
        0x10, 0x20, 0x40, 0x80)
    assert (F.EXTENDED_PIDS_PORTS, F.EXPORT_PTR_TAG, F.BIT_BINARIES, F.NEW_FLOATS) == (
        0x100, 0x200, 0x400, 0x800)
    assert (F.UNICODE_IO, F.DIST_HDR_ATOM_CACHE, F.SMALL_ATOM_TAGS) == (0x1000, 0x2000, 0x4000)
    assert (F.UTF8_ATOMS, F.MAP_TAG, F.BIG_CREATION, F.SEND_SENDER) == (
        0x10000, 0x20000, 0x40000, 0x80000)
    assert (F.BIG_SEQTRACE_LABELS, F.EXIT_PAYLOAD, F.FRAGMENTS) == (0x100000, 0x400000, 0x800000)
    assert (F.HANDSHAKE_23, F.UNLINK_ID, F.MANDATORY_25_DIGEST, F.MULTISEND) == (
        0x1000000, 0x2000000, 0x4000000, 0x8000000)
    assert (F.SPAWN, F.NAME_ME, F.V4_NC, F.ALIAS) == (1 << 32, 1 << 33, 1 << 34, 1 << 35)


def test_the_mandatory_sets_are_otps():
    """OTP 25's MANDATORY_DFLAGS_25 (erts reports 0x1070F94) and OTP 26's
    DFLAG_DIST_MANDATORY_26 (V4_NC | UNLINK_ID)."""
    assert F.MANDATORY_25 == 0x1070F94
    assert F.MANDATORY_26 == (1 << 34) | 0x2000000
    assert F.REQUIRED_FLAGS == F.MANDATORY_25 | F.MANDATORY_26


def test_default_flags_are_exactly_what_a_hidden_full_node_needs():
    assert F.DEFAULT_FLAGS == 0xD074F4FBC
    assert F.names(F.DEFAULT_FLAGS) == [
        "EXTENDED_REFERENCES", "DIST_MONITOR", "FUN_TAGS", "DIST_MONITOR_NAME", "NEW_FUN_TAGS",
        "EXTENDED_PIDS_PORTS", "EXPORT_PTR_TAG", "BIT_BINARIES", "NEW_FLOATS",
        "SMALL_ATOM_TAGS", "UTF8_ATOMS", "MAP_TAG", "BIG_CREATION", "SEND_SENDER",
        "EXIT_PAYLOAD", "HANDSHAKE_23", "UNLINK_ID", "MANDATORY_25_DIGEST", "SPAWN", "V4_NC",
        "ALIAS"]
    # what OTP 26+ (and OTP 28) refuse a node without, and what 27+ requires
    assert F.missing(F.DEFAULT_FLAGS) == []
    assert F.DEFAULT_FLAGS & F.MANDATORY_25_DIGEST
    # hidden, and none of the optional wire features this layer does not do
    for absent in (F.PUBLISHED, F.ATOM_CACHE, F.HIDDEN_ATOM_CACHE, F.DIST_HDR_ATOM_CACHE,
                   F.FRAGMENTS, F.NAME_ME, F.MULTISEND):
        assert not F.DEFAULT_FLAGS & absent, F.name_of(absent)


def test_mandatory_25_digest_stands_for_the_otp_25_set():
    assert F.expand(F.MANDATORY_25_DIGEST) == F.MANDATORY_25_DIGEST | F.MANDATORY_25
    assert F.missing(F.MANDATORY_25_DIGEST | F.MANDATORY_26) == []
    assert F.missing(F.MANDATORY_25_DIGEST) == ["UNLINK_ID", "V4_NC"]
    assert F.missing(F.DEFAULT_FLAGS & ~F.MANDATORY_25_DIGEST & ~F.MAP_TAG) == ["MAP_TAG"]
    assert F.name_of(1 << 40) == "UNKNOWN<10000000000>"


# -- the handshake, Python to Python ------------------------------------------------

def test_digest_is_md5_of_cookie_and_decimal_challenge():
    import hashlib
    assert digest(1234567, "abc") == hashlib.md5(b"abc1234567").digest()
    assert digest(0, b"abc") == hashlib.md5(b"abc0").digest()
    with pytest.raises(TypeError, match="cookie"):
        digest(1, 3)                                              # type: ignore[arg-type]


def test_a_handshake_makes_a_connection_both_ends_describe(aio_run):
    async def main():
        client, server_side = await pair()
        assert (client.local_name, client.peer_name) == ("cli@127.0.0.1", "srv@127.0.0.1")
        assert (server_side.local_name, server_side.peer_name) == ("srv@127.0.0.1",
                                                                   "cli@127.0.0.1")
        assert (client.peer_creation, server_side.peer_creation) == (42, 7)
        assert client.flags == server_side.flags == F.DEFAULT_FLAGS
        assert client.peer_flags & F.REQUIRED_FLAGS == F.REQUIRED_FLAGS
        client.send(b"p\x83hello")
        server_side.send(b"")          # an empty packet is not a tick: it is sent
        assert await server_side.recv() == b"p\x83hello"
        client.close()
        server_side.close()

    aio_run(main)


def test_packets_arrive_in_order_and_in_batches(aio_run):
    """Many sends in one event-loop iteration go out together and come back
    as one batch, in order."""
    async def main():
        client, server_side = await pair()
        packets = [b"p" + str(i).encode() * (i % 50) for i in range(3000)]
        client.send_many(packets)
        got: list[bytes] = []
        batches = 0
        while len(got) < len(packets):
            batch = await server_side.recv_batch()
            assert batch is not None
            got += batch
            batches += 1
        assert got == packets
        assert batches < len(packets) / 10
        client.close()
        server_side.close()

    aio_run(main)


def test_a_wrong_cookie_is_refused_both_ways(aio_run):
    async def main():
        async with Server() as server:
            with pytest.raises(HandshakeError) as caught:
                await server.dial(cookie="wrong")
            assert caught.value.reason == "bad_cookie"
            assert "cookie" in str(caught.value)
            assert (await server.error()).reason == "bad_cookie"
            assert server.connections.empty()

    aio_run(main)


def test_nothing_after_a_wrong_digest_is_processed(aio_run):
    """A peer sends a wrong challenge reply and packets right behind it: the
    acceptor closes without an ack and makes no connection."""
    async def main():
        async with Server() as server:
            reader, writer = await raw(server.port, frame2(
                b"N" + struct.pack(">QIH", F.DEFAULT_FLAGS, 1, 13) + b"bad@127.0.0.1"))
            assert await reader.readexactly(5) == b"\0\3sok"
            size = struct.unpack(">H", await reader.readexactly(2))[0]
            challenge = await reader.readexactly(size)
            assert challenge[:1] == b"N"
            writer.write(frame2(b"r" + b"\0\0\0\1" + bytes(16)) + b"\0\0\0\6p\x83junk" * 3)
            assert await asyncio.wait_for(reader.read(), 5) == b""        # closed, no ack
            assert (await server.error()).reason == "bad_cookie"
            assert server.connections.empty()
            writer.close()

    aio_run(main)


def test_the_dialled_node_must_answer_with_its_name(aio_run):
    async def main():
        async with Server() as server:
            with pytest.raises(HandshakeError, match="dialled other@127.0.0.1 but "
                                                     "srv@127.0.0.1 answered") as caught:
                await server.dial(remote_name="other@127.0.0.1")
            assert caught.value.reason == "name"
            await server.error()                      # the acceptor saw the stream close
            assert server.connections.empty()

    aio_run(main)


def test_not_allowed_nodes_and_flags(aio_run):
    async def main():
        async with Server(is_allowed=lambda name: name.startswith("friend@")) as server:
            with pytest.raises(HandshakeError) as caught:
                await server.dial("stranger@127.0.0.1")
            assert caught.value.reason == "not_allowed"
            assert (await server.error()).reason == "not_allowed"
            friend = await server.dial("friend@127.0.0.1")
            assert friend.peer_name == "srv@127.0.0.1"
            friend.close()
        async with Server() as server:
            # a peer without MAP_TAG: OTP 25 answers not_allowed, so do we
            with pytest.raises(HandshakeError) as caught:
                await server.dial(flags=F.DEFAULT_FLAGS & ~F.MAP_TAG & ~F.MANDATORY_25_DIGEST)
            assert caught.value.reason == "not_allowed"
            refused = await server.error()
            assert refused.reason == "flags" and "MAP_TAG" in str(refused)
        async with Server(flags=F.DEFAULT_FLAGS & ~F.V4_NC) as server:
            # the acceptor lacks V4_NC: the dialler gives up before replying
            with pytest.raises(HandshakeError, match="cannot handle V4_NC") as caught:
                await server.dial()
            assert caught.value.reason == "flags"

    aio_run(main)


def test_simultaneous_connect_resolution(aio_run):
    """As net_kernel: the greater name keeps its own outgoing connection."""
    assert simultaneous_status("b@h", "a@h") == "nok"
    assert simultaneous_status("a@h", "b@h") == "ok_simultaneous"

    async def main():
        async with Server(status=lambda peer: simultaneous_status("srv@127.0.0.1", peer)) as s:
            with pytest.raises(HandshakeError) as caught:
                await s.dial("aaa@127.0.0.1")          # srv > aaa: srv's own attempt wins
            assert caught.value.reason == "nok"
            conn = await s.dial("zzz@127.0.0.1")       # ok_simultaneous: this one wins
            conn.close()

    aio_run(main)


def test_status_alive_asks_the_dialler(aio_run):
    async def status(peer):
        return "alive"

    async def main():
        async with Server(status=status) as server:
            conn = await server.dial(is_pending=lambda: True)
            assert conn.peer_name == "srv@127.0.0.1"
            conn.close()
            with pytest.raises(HandshakeError) as caught:
                await server.dial(is_pending=lambda: False)
            assert caught.value.reason == "alive"
            assert (await server.error()).reason == "alive"

    aio_run(main)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="local_name"):
        asyncio.run(dial("nohost", 1, "a@b", HOST, 1, COOKIE))
    with pytest.raises(ValueError, match="creation"):
        asyncio.run(dial("a@b", -1, "a@b", HOST, 1, COOKIE))
    with pytest.raises(TypeError, match="remote_name"):
        asyncio.run(dial("a@b", 1, None, HOST, 1, COOKIE))       # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cookie"):
        asyncio.run(dial("a@b", 1, "c@d", HOST, 1, "\u20ac"))


# -- hostile peers ----------------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"\0\5hello", "protocol"),                                # garbage
    (b"\xff\xff" + b"N" * 100, "protocol"),                    # oversized length
    (b"\0\0", "protocol"),                                     # empty message
    (b"\0\x20N\0\0", "closed"),                                # truncated, then closed
    (frame2(b"n\0\5" + struct.pack(">I", 0x7FFFFFFF) + b"old@127.0.0.1"), "protocol"),
    (frame2(b"N" + struct.pack(">QIH", F.DEFAULT_FLAGS, 1, 50) + b"short"), "protocol"),
    (frame2(b"N" + struct.pack(">QIH", F.DEFAULT_FLAGS, 1, 6) + b"noname"), "name"),
])
def test_a_hostile_peer_is_dropped_and_the_server_goes_on(aio_run, data, reason):
    async def main():
        async with Server(timeout=2.0) as server:
            reader, writer = await raw(server.port, data)
            if reason == "closed":
                writer.write_eof()
            error = await server.error()
            assert error.reason == reason, error
            rest = await asyncio.wait_for(reader.read(), 5)   # the server closed it
            assert rest in (b"", frame2(b"snot_allowed"))
            writer.close()
            conn = await server.dial()                        # and it still serves
            conn.close()

    aio_run(main)


def test_the_pre_otp_23_handshake_is_refused_clearly(aio_run):
    async def main():
        async with Server() as server:
            _, writer = await raw(server.port, frame2(b"n\0\5\0\0\0\0old@127.0.0.1"))
            assert "pre-OTP-23" in str(await server.error())
            writer.close()

    aio_run(main)


def test_a_slow_peer_times_out(aio_run):
    """Slowloris: one byte, then nothing; the handshake deadline ends it."""
    async def main():
        async with Server(timeout=0.5) as server:
            reader, writer = await raw(server.port, b"\0")
            error = await server.error()
            assert error.reason == "timeout"
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            # and the dialler side: a listener that never answers
            accepted: list[asyncio.StreamWriter] = []
            silent = await asyncio.start_server(lambda r, w: accepted.append(w), HOST, 0)
            port = silent.sockets[0].getsockname()[1]
            with pytest.raises(HandshakeError) as caught:
                await dial("a@127.0.0.1", 1, "b@127.0.0.1", HOST, port, COOKIE, timeout=0.5)
            assert caught.value.reason == "timeout"
            for w in accepted:
                w.close()
            silent.close()
            await silent.wait_closed()

    aio_run(main)


# -- the connection: ticks, close, backpressure -----------------------------------------

def test_ticks_keep_an_idle_connection_up_and_a_silent_peer_is_dropped(aio_run):
    async def main():
        client, server_side = await pair(ticktime=0.4, server_options={"ticktime": 0.4})
        with pytest.raises(TimeoutError):                        # 3 ticktimes of idleness
            await asyncio.wait_for(asyncio.shield(client.wait_closed()), 1.2)
        assert not client.closed and not server_side.closed
        server_side.ticking = False                              # the acceptor hangs
        reason = await asyncio.wait_for(client.wait_closed(), 0.4 * 1.25 + 1.0)
        assert reason == "net_tick_timeout"
        assert await asyncio.wait_for(server_side.recv(), 5) is None
        assert server_side.close_reason == "connection_closed"

    aio_run(main)


def test_close_delivers_what_was_queued_then_ends_the_peer(aio_run):
    async def main():
        client, server_side = await pair()
        client.send(b"p1")
        client.send(b"p2")
        client.close()
        client.close()                                           # idempotent
        assert client.close_reason == "closed"
        assert [await server_side.recv(), await server_side.recv()] == [b"p1", b"p2"]
        assert await server_side.recv() is None
        assert await server_side.recv_batch() is None
        with pytest.raises(ConnectionError, match="closed"):
            client.send(b"p3")
        with pytest.raises(ConnectionError, match="closed"):
            await client.drain()

    aio_run(main)


def test_drain_waits_while_the_peer_does_not_read(aio_run):
    async def main():
        client, server_side = await pair(high_water=64 * 1024,
                                         server_options={"max_queued": 1})
        chunk = b"p" + bytes(64 * 1024)
        for _ in range(200):                                     # ~13 MB
            client.send(chunk)
        drained = asyncio.ensure_future(client.drain())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(drained), 0.3)
        assert client.buffered > 64 * 1024
        got = 0
        while got < 200:                                         # the peer reads: it drains
            batch = await server_side.recv_batch()
            assert batch is not None and all(p == chunk for p in batch)
            got += len(batch)
        await asyncio.wait_for(drained, 5)
        client.close()
        server_side.close()

    aio_run(main)


def test_send_later_leaves_with_the_next_send_or_at_the_next_iteration(aio_run):
    """A packet nobody waits for (``send_later``, a call's demonitor) is not a
    write of its own: it leaves with the next ``send``, before it, in one
    write; alone, it leaves at the next event-loop iteration.  Order is kept."""
    async def main():
        client, server_side = await pair()
        client.send_later(b"p\x83first")
        client.send(b"p\x83second")
        got = [await asyncio.wait_for(server_side.recv(), 5) for _ in range(2)]
        assert got == [b"p\x83first", b"p\x83second"]
        client.send_later(b"p\x83alone")
        assert await asyncio.wait_for(server_side.recv(), 5) == b"p\x83alone"
        assert client.packets_out == 3
        client.close()
        with pytest.raises(ConnectionError):
            client.send_later(b"p\x83closed")
        server_side.close()

    aio_run(main)


def test_an_oversized_packet_closes_the_connection(aio_run):
    async def main():
        client, server_side = await pair(server_options={"max_packet": 100})
        client.send(b"p" + bytes(99))
        client.send(b"p" + bytes(100))
        assert await server_side.recv() == b"p" + bytes(99)
        assert await server_side.recv() is None
        assert server_side.close_reason == "packet_too_large"
        client.close()

    aio_run(main)


# -- against real Erlang nodes ------------------------------------------------------

@needs_erl
def test_we_dial_erl(aio_run, epmd, erl):
    async def main():
        node = erl(ticktime=4)
        node.monitor_nodes()
        port = await epmd_port_please(epmd.port, node.name.split("@")[0])
        conn = await dial("py@127.0.0.1", 5, node.name, HOST, port, COOKIE, ticktime=4)
        assert conn.peer_name == node.name
        assert conn.peer_creation == int(await node.aeval("erlang:system_info(creation)"))
        assert F.missing(conn.peer_flags) == []
        assert conn.flags == F.DEFAULT_FLAGS          # erl offers all we advertise
        await node.aexpect(r"event nodeup 'py@127.0.0.1'")
        assert await node.aeval("nodes(hidden)") == "['py@127.0.0.1']"
        assert await node.aeval("nodes()") == "[]"
        conn.close()
        await node.aexpect(r"event nodedown 'py@127.0.0.1' connection_closed")

    aio_run(main)


@needs_erl
def test_erl_dials_us_and_sees_a_hidden_node(aio_run, epmd, erl):
    async def main():
        async with Server(f"py{epmd.port}@127.0.0.1") as server:
            registration = await epmd_register(epmd.port, f"py{epmd.port}", server.port)
            node = erl(hidden=False)
            assert await node.aeval(f"net_kernel:connect_node('{server.name}')") == "true"
            conn = await server.connection()
            assert conn.peer_name == node.name
            assert await node.aeval("nodes(hidden)") == f"['{server.name}']"
            assert await node.aeval("nodes()") == "[]"        # hidden by default
            # erl is visible (PUBLISHED) but we are not: the connection is hidden
            assert conn.peer_flags & F.PUBLISHED and not conn.flags & F.PUBLISHED
            await registration.close()
            conn.close()

    aio_run(main)


@needs_erl
def test_a_wrong_cookie_with_erl_is_refused_both_ways(aio_run, epmd, erl):
    async def main():
        async with Server(f"py{epmd.port}@127.0.0.1", cookie=random_cookie()) as server:
            registration = await epmd_register(epmd.port, f"py{epmd.port}", server.port)
            node = erl()
            # erl dials us with its cookie: refused, erl sees pang
            assert await node.aeval(f"net_kernel:connect_node('{server.name}')") == "false"
            assert (await server.error()).reason == "bad_cookie"
            assert server.connections.empty()
            assert await node.aeval(f"net_adm:ping('{server.name}')") == "pang"
            # we dial erl with our cookie: refused
            port = await epmd_port_please(epmd.port, node.name.split("@")[0])
            with pytest.raises(HandshakeError) as caught:
                await dial(server.name, 1, node.name, HOST, port, server.cookie)
            assert caught.value.reason == "bad_cookie"
            await node.aexpect("Invalid challenge reply")
            assert await node.aeval("nodes(hidden)") == "[]"
            await registration.close()

    aio_run(main)


@needs_erl
def test_ticks_with_erl(aio_run, epmd, erl):
    """net_ticktime 4 on both sides: the idle connection lives past the tick
    timeout; when we stop ticking, erl drops us (net_tick_timeout) and our
    side sees the close."""
    async def main():
        node = erl(ticktime=4)
        node.monitor_nodes()
        port = await epmd_port_please(epmd.port, node.name.split("@")[0])
        conn = await dial("py@127.0.0.1", 5, node.name, HOST, port, COOKIE, ticktime=4)
        await node.aexpect(r"event nodeup 'py@127.0.0.1'")
        with pytest.raises(TimeoutError):                         # > 2 ticktimes idle
            await asyncio.wait_for(asyncio.shield(conn.wait_closed()), 9)
        assert not node.printed("nodedown")
        assert await node.aeval("nodes(hidden)") == "['py@127.0.0.1']"
        conn.ticking = False
        await node.aexpect(r"event nodedown 'py@127.0.0.1' net_tick_timeout", timeout=4 * 1.25 + 3)
        assert await asyncio.wait_for(conn.recv(), 5) is None

    aio_run(main)


@needs_erl
def test_a_frozen_erl_is_dropped_after_the_ticktime(aio_run, epmd, erl):
    async def main():
        node = erl(ticktime=4)
        port = await epmd_port_please(epmd.port, node.name.split("@")[0])
        conn = await dial("py@127.0.0.1", 5, node.name, HOST, port, COOKIE, ticktime=4)
        node.suspend()
        reason = await asyncio.wait_for(conn.wait_closed(), 4 * 1.25 + 3)
        assert reason == "net_tick_timeout"
        assert await conn.recv() is None

    aio_run(main)


@needs_erl
def test_a_killed_erl_ends_recv_at_once(aio_run, epmd, erl):
    async def main():
        node = erl()
        port = await epmd_port_please(epmd.port, node.name.split("@")[0])
        conn = await dial("py@127.0.0.1", 5, node.name, HOST, port, COOKIE)
        receiving = asyncio.ensure_future(conn.recv())
        node.kill()
        assert await asyncio.wait_for(receiving, 3) is None
        assert conn.close_reason == "connection_closed"

    aio_run(main)


@needs_erl
def test_a_published_node_is_visible_and_gets_global_traffic(aio_run, epmd, erl):
    """With PUBLISHED, erl lists us in nodes() and sends its visible-node
    traffic (a REG_SEND to rex, a cast to global_name_server) as 'p' packets."""
    async def main():
        node = erl(hidden=False)
        port = await epmd_port_please(epmd.port, node.name.split("@")[0])
        conn = await dial("py@127.0.0.1", 5, node.name, HOST, port, COOKIE,
                          flags=F.DEFAULT_FLAGS | F.PUBLISHED)
        assert conn.flags & F.PUBLISHED
        assert await node.aeval("nodes()") == "['py@127.0.0.1']"
        packets = [await asyncio.wait_for(conn.recv(), 5) for _ in range(2)]
        assert all(p is not None and p[:2] == b"p\x83" for p in packets)
        assert any(b"rex" in p and b"features_request" in p for p in packets if p)
        assert any(b"global_name_server" in p for p in packets if p)
        conn.close()

    aio_run(main)
