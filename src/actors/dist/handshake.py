"""The Erlang distribution handshake and the framing of a connection after it.

Design notes
------------
A distribution connection is a TCP stream in two phases.

*The handshake* (OTP 23+, "version 6"; ERTS User's Guide, "Distribution
Protocol"; ``lib/kernel/src/dist_util.erl``), every message framed by a
2-byte big-endian length.  A (the initiator, :func:`dial`) and B (the
acceptor, :func:`accept`)::

    A -> B  send_name  'N' Flags:64 Creation:32 NameLen:16 Name
    B -> A  status     's' "ok" | "ok_simultaneous" | "nok" | "not_allowed" | "alive"
    (on "alive": A -> B 's' "true" | "false")
    B -> A  challenge  'N' Flags:64 Challenge:32 Creation:32 NameLen:16 Name
    A -> B  reply      'r' Challenge:32 Digest:16
    B -> A  ack        'a' Digest:16

A digest is ``MD5(cookie ++ decimal text of the challenge)``: each side
proves it knows the cookie by digesting the other's random challenge.  A
connection whose digest is wrong is closed at once and nothing it sent is
processed.  The challenger's name must be the node dialled.  Both sides then
use the intersection of the two flag sets (``dist_util:adjust_flags/2``).
OTP 25 speaks only this handshake (its ``recv_name`` accepts only ``'N'``);
the older ``'n'`` send_name of OTP 22 is refused here too.

*The connection* (:class:`Connection`): every packet framed by a 4-byte
length.  A packet is ``112 ('p') + control + message`` in ETF, built by the
layer above; this module only moves bytes.  A zero-length packet is a tick:
each side writes something at least every ``ticktime / 4`` seconds and drops
a peer from which nothing came for ``ticktime`` (``net_ticktime``, 60 s by
default in OTP; both sides should use the same).

*TLS* (``ssl=``, OTP's ``-proto_dist inet_tls``; see :mod:`actors.dist.tls`):
the dialler starts TLS right after the TCP connect (within the handshake
``timeout``), the listener (:func:`listen`) right after accepting, before
:func:`accept` runs; then everything above runs inside TLS, with one
difference: ``inet_tls_dist`` frames the handshake messages with a 4-byte
length too (``{packet, 4}`` from the start), not 2.  A dialler whose TLS
handshake fails (an untrusted certificate, a peer that speaks plain TCP)
gets a :class:`HandshakeError` with reason ``"tls"``, and so does a
plain-TCP end that reads a TLS record; a peer that just hangs up gives
``"closed"``.  A listener closes a connection whose TLS handshake fails
before :func:`accept` sees it.

Sending is batched: :meth:`Connection.send` only appends to a buffer, and
one write per event-loop iteration hands everything queued to the transport
(the BEAM does a ``writev`` per message).  :meth:`Connection.drain` is the
backpressure: it waits while the transport holds more than ``high_water``
bytes.  Receiving needs no task: once the handshake is over the connection
is the transport's protocol, and each chunk the transport reads is split
into packets in one pass, handed at once to the receiver the layer above
set (:meth:`Connection.set_receiver`), else queued for
:meth:`Connection.recv_batch`.  A round trip thus costs one event-loop
iteration on the receiving side, not three (a stream reader's wake-up, then
a queue's).
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import inspect
import logging
import secrets
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from ssl import SSLContext, SSLError
from typing import Any, TypeVar, cast

from . import flags as _flags_module
from .flags import DEFAULT_FLAGS, NAME_ME, REQUIRED_FLAGS
from .tls import check_context

__all__ = ["CLOSE_GRACE", "DEFAULT_TICKTIME", "DEFAULT_TIMEOUT", "MAX_HANDSHAKE_PACKET",
           "Connection", "HandshakeError", "accept", "dial", "digest", "listen",
           "simultaneous_status", "start_server"]

# 4-byte big-endian packet lengths, after the handshake.
_pack_size = struct.Struct(">I").pack
_unpack_size = struct.Struct(">I").unpack_from

_logger = logging.getLogger("actors.dist")

#: seconds for a whole handshake (OTP's ``net_setuptime``, 7 s by default)
DEFAULT_TIMEOUT = 7.0
#: seconds of silence after which a peer is dropped (OTP's ``net_ticktime``)
DEFAULT_TICKTIME = 60.0
#: the largest handshake message accepted (a node name is at most 255
#: characters, 4 bytes each in UTF-8, plus 19 bytes of fields)
MAX_HANDSHAKE_PACKET = 1100
#: the largest packet accepted after the handshake, by default
DEFAULT_MAX_PACKET = 1 << 30

#: seconds a closed connection's socket may take to close (a TLS one first
#: exchanges close_notify with the peer) before it is aborted
CLOSE_GRACE = 5.0

_TICK = b"\0\0\0\0"
#: the first two bytes of a TLS record (an alert or a handshake message, TLS
#: 1.x), read as a 2-byte handshake length: what a plain-TCP end gets from a TLS one
_TLS_RECORD_STARTS = (0x1503, 0x1603)

Status = str | Awaitable[str]
_T = TypeVar("_T")


class HandshakeError(ConnectionError):
    """A distribution handshake failed; no connection was made.

    ``reason`` is a short word for programs: ``"timeout"``, ``"closed"``,
    ``"protocol"`` (malformed or unexpected message), ``"bad_cookie"``,
    ``"flags"`` (the peer lacks required capabilities), ``"name"`` (the
    peer is not the node dialled, or its name is malformed), ``"not_allowed"``,
    ``"nok"`` (a simultaneous connect that the other connection wins),
    ``"alive"`` (the peer already has a live connection to this node),
    ``"tls"`` (the TLS handshake failed: an untrusted certificate, or a peer
    that does not speak TLS).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def digest(challenge: int, cookie: str | bytes) -> bytes:
    """The 16-byte answer to ``challenge``: ``MD5(cookie ++ str(challenge))``.

    A ``str`` cookie is encoded as Latin-1, as ``erlang:md5/1`` sees
    ``atom_to_list(Cookie)``.
    """
    return hashlib.md5(_cookie_bytes(cookie) + str(challenge).encode("ascii")).digest()


def simultaneous_status(local_name: str, peer_name: str) -> str:
    """The status an acceptor sends when it is itself dialling ``peer_name``.

    As ``net_kernel`` decides: the node with the greater name keeps its own
    outgoing connection (``"nok"`` to the incoming one); the other gives its
    outgoing attempt up and accepts (``"ok_simultaneous"``).  Atoms compare
    by their text, as Python strings do.
    """
    return "nok" if local_name > peer_name else "ok_simultaneous"


# -- the connection -------------------------------------------------------------------

class Connection(asyncio.Protocol):
    """An established distribution connection: 4-byte framed packets and ticks.

    Made by :func:`dial` and :func:`accept`, never directly.  Packets are
    ``bytes`` (``b"p" + control + message``, built and parsed by the layer
    above).  Packets are read in one of two ways: one task at a time waits
    in :meth:`recv`/:meth:`recv_batch` (the default), or :meth:`set_receiver`
    hands every batch to a function as soon as it is read (no task wakes up
    in between: the distribution's hot path).  After the handshake the
    connection is its transport's protocol (``data_received`` and the rest
    are the transport's calls, not the caller's).

    Attributes:
        local_name, peer_name: the node names of the two ends.
        peer_flags: the flags the peer advertised (``MANDATORY_25_DIGEST``
            expanded).
        peer_creation: the peer's creation (its incarnation number).
        flags: the flags in force: what both sides advertised.
        ticktime: ``net_ticktime`` in seconds.
        close_reason: ``None`` while open; then ``"closed"`` (by
            :meth:`close`), ``"connection_closed"`` (by the peer or the
            network), ``"net_tick_timeout"`` or ``"packet_too_large"``.
        ticking: ``True``; set it ``False`` to stop sending ticks (tests use
            it to play a node that hangs).
        packets_in, packets_out: packets received and sent (ticks not
            counted).
        bytes_in, bytes_out: bytes received and sent, framing and ticks
            included (what crossed the socket, before TLS).
        opened_at: when the connection was established (``time.time()``).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 local_name: str, peer_name: str, peer_flags: int, peer_creation: int,
                 flags: int, ticktime: float = DEFAULT_TICKTIME,
                 max_packet: int = DEFAULT_MAX_PACKET, high_water: int = 4 * 1024 * 1024,
                 max_queued: int = 100_000) -> None:
        self.local_name = local_name
        self.peer_name = peer_name
        self.peer_flags = peer_flags
        self.peer_creation = peer_creation
        self.flags = flags
        self.ticktime = float(ticktime)
        self.close_reason: str | None = None
        self.ticking = True
        self.packets_in = self.packets_out = 0
        self.bytes_in = self.bytes_out = 0
        self.opened_at = time.time()
        self._transport = cast(asyncio.Transport, writer.transport)
        # Held, unused, for as long as the connection: a StreamWriter closes
        # its transport when it is garbage collected.
        self._streams = (reader, writer)
        self._loop = asyncio.get_running_loop()
        self._max_packet = max_packet
        self._max_queued = max_queued
        # Invariants: _out holds framed bytes not yet handed to the transport;
        # _flush_scheduled is True iff a _flush call is pending on the loop;
        # _wrote_now is True iff packets left at once in this iteration (then
        # a flush is pending: it ends the iteration's batch).
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._wrote_now = False
        self._inbox: collections.deque[bytes] = collections.deque()
        self._readable = asyncio.Event()      # set: _inbox non-empty or closed
        self._reading_paused = False          # the inbox reached max_queued
        self._receiver: Callable[[list[bytes]], object] | None = None
        self._buf = bytearray()               # bytes read, not yet a whole packet
        self._closed_event = asyncio.Event()
        self._lost: asyncio.Future[None] = self._loop.create_future()  # the socket is closed
        self._drain_waiter: asyncio.Future[None] | None = None        # set while writes pause
        self._writing_paused = False
        # Tick bookkeeping, per ticktime/4 interval: anything read / written
        # since the last timer, and how many intervals in a row were silent.
        self._read_something = False
        self._wrote_something = False
        self._silent_intervals = 0
        self._transport.set_write_buffer_limits(high=high_water)
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(
            self.ticktime / 4, self._on_tick_timer)
        # From now on the transport talks to this connection directly (its
        # data_received parses packets), not through the handshake's streams;
        # what the handshake's reader read past its last message comes first.
        leftover = bytes(getattr(reader, "_buffer", b""))
        at_eof = reader.at_eof() or self._transport.is_closing()
        self._transport.set_protocol(self)
        if leftover:
            self.data_received(leftover)
        if at_eof:
            self.connection_lost(None)

    def __repr__(self) -> str:
        state = "open" if self.close_reason is None else f"closed: {self.close_reason}"
        return f"<Connection {self.local_name} <-> {self.peer_name} ({state})>"

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (then ``close_reason`` says why)."""
        return self.close_reason is not None

    @property
    def peer_address(self) -> str | None:
        """``"host:port"`` of the peer's end of the socket (None if unknown)."""
        peer: Any = self._transport.get_extra_info("peername")
        if not isinstance(peer, tuple):
            return None
        parts: tuple[Any, ...] = peer  # pyright: ignore[reportUnknownVariableType]
        if len(parts) < 2:
            return None
        host, port = str(parts[0]), str(parts[1])
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS (``-proto_dist inet_tls``)."""
        return self._transport.get_extra_info("sslcontext") is not None

    @property
    def buffered(self) -> int:
        """Bytes written but not yet sent (queued here and in the transport)."""
        return sum(map(len, self._out)) + self._transport.get_write_buffer_size()

    # -- sending ------------------------------------------------------------------

    def _closed_error(self) -> ConnectionError:
        return ConnectionError(f"the connection to {self.peer_name} is closed "
                               f"({self.close_reason})")

    def send(self, packet: bytes) -> None:
        """Send one packet (``b"p" + control + message``): the first of an
        event-loop iteration at once (with what :meth:`send_later` queued
        before it), the others in one write at the next.

        Raises:
            ConnectionError: the connection is closed.
        """
        if self.close_reason is not None:
            raise self._closed_error()
        out = self._out
        out.append(_pack_size(len(packet)))
        out.append(packet)
        if not self._wrote_now:
            self._leave_now()

    def send_many(self, packets: Sequence[bytes]) -> None:
        """Send several packets, in order, as :meth:`send` sends one: the
        first packets of an event-loop iteration leave at once, in one write
        (a call's monitor and request travel together).

        Raises:
            ConnectionError: the connection is closed.
        """
        if self.close_reason is not None:
            raise self._closed_error()
        out = self._out
        for packet in packets:
            out.append(_pack_size(len(packet)))
            out.append(packet)
        if not self._wrote_now:
            self._leave_now()

    def _leave_now(self) -> None:
        # The first packets of an event-loop iteration leave at once (a round
        # trip waits for no flush); the ones after them are batched until the
        # next iteration (one write for a burst).
        self._write_out()
        self._wrote_now = True
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def send_later(self, packet: bytes) -> None:
        """Queue a packet that nobody waits for (a demonitor): it leaves with
        the next :meth:`send`, or at the next event-loop iteration, whichever
        comes first, in order with the others.

        Raises:
            ConnectionError: the connection is closed.
        """
        if self.close_reason is not None:
            raise self._closed_error()
        self._out.append(_pack_size(len(packet)))
        self._out.append(packet)
        self._schedule_flush()

    async def drain(self) -> None:
        """Flush now and wait while the transport holds more than
        ``high_water`` bytes: the backpressure for fast senders.

        Raises:
            ConnectionError: the connection is closed.
        """
        if self._out and self.close_reason is None:
            self._write_out()
        if self.close_reason is not None:
            raise self._closed_error()
        if self._writing_paused:
            if self._drain_waiter is None:
                self._drain_waiter = self._loop.create_future()
            await asyncio.shield(self._drain_waiter)
            if self.close_reason is not None:
                raise self._closed_error()

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._wrote_now = False
        if self._out and self.close_reason is None:
            self._write_out()

    def _write_out(self) -> None:
        out, self._out = self._out, []
        # One buffer: asyncio's writelines joins them too, and uvloop's would
        # hand the kernel thousands of tiny iovecs (a stream 15% slower).
        data = b"".join(out)
        self._transport.write(data)
        self.packets_out += len(out) >> 1        # (a size, a packet) each; a tick is one
        self.bytes_out += len(data)
        self._wrote_something = True

    # -- receiving ------------------------------------------------------------------

    def set_receiver(self, receiver: Callable[[list[bytes]], object]) -> None:
        """From now on, hand each batch of packets read to ``receiver`` as soon
        as it is read, instead of queueing them for :meth:`recv` (the packets
        queued already come first).  An exception from ``receiver`` closes the
        connection (``"protocol_error"``) and is logged."""
        self._receiver = receiver
        if self._inbox:
            queued = list(self._inbox)
            self._inbox.clear()
            self._made_room()
            self._loop.call_soon(self._hand_over, queued)

    async def recv(self) -> bytes | None:
        """The next packet, or ``None`` once the connection is closed (and
        every packet before the close was returned).  Ticks never show."""
        while not self._inbox:
            if self.close_reason is not None:
                return None
            self._readable.clear()
            await self._readable.wait()
        packet = self._inbox.popleft()
        self._made_room()
        return packet

    async def recv_batch(self) -> list[bytes] | None:
        """All the packets received so far (at least one; waits for one), or
        ``None`` once the connection is closed and nothing is left."""
        while not self._inbox:
            if self.close_reason is not None:
                return None
            self._readable.clear()
            await self._readable.wait()
        packets = list(self._inbox)
        self._inbox.clear()
        self._made_room()
        return packets

    def _made_room(self) -> None:
        if self._reading_paused and len(self._inbox) < self._max_queued:
            self._reading_paused = False
            if self.close_reason is None:
                self._transport.resume_reading()

    # -- the transport's protocol ------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """The transport read ``data``: split off every whole packet."""
        if self.close_reason is not None:
            return
        self._read_something = True
        self.bytes_in += len(data)
        buf = self._buf
        if buf:
            buf += data
            source: bytes | bytearray = buf
        else:
            source = data                   # the common case: no copy
        size_buf = len(source)
        view = memoryview(source)               # a packet is copied once, from here
        pos = 0
        packets: list[bytes] = []
        too_large = 0
        while size_buf - pos >= 4:
            size = _unpack_size(source, pos)[0]
            if size == 0:                       # a tick: nothing to do
                pos += 4
                continue
            if size > self._max_packet:
                too_large = size
                break
            end = pos + 4 + size
            if end > size_buf:
                break
            packets.append(bytes(view[pos + 4:end]))
            pos = end
        view.release()                          # (a bytearray with a view cannot shrink)
        if source is buf:
            del buf[:pos]
        elif pos < size_buf:
            buf += data[pos:]
        if packets:
            self.packets_in += len(packets)
            if self._receiver is not None:
                self._hand_over(packets)
            else:
                self._inbox.extend(packets)
                self._readable.set()
                if len(self._inbox) >= self._max_queued and not self._reading_paused:
                    self._reading_paused = True
                    self._transport.pause_reading()
        if too_large:                           # (the packets before it are delivered)
            _logger.warning("dist: %s sent a packet of %d bytes (the limit is %d); "
                            "closing the connection", self.peer_name, too_large, self._max_packet)
            self._finish("packet_too_large")

    def _hand_over(self, packets: list[bytes]) -> None:
        receiver = self._receiver
        if receiver is None or self.close_reason is not None:
            return
        try:
            receiver(packets)
        except Exception:
            _logger.exception("dist: cannot handle what %s sent; disconnecting", self.peer_name)
            self._finish("protocol_error")

    def eof_received(self) -> bool:
        return False                    # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish("connection_closed")
        if not self._lost.done():
            self._lost.set_result(None)
        self._wake_drain()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drain()

    def _wake_drain(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- ticks and closing ------------------------------------------------------------

    def _on_tick_timer(self) -> None:
        if self.close_reason is not None:
            return
        if self._read_something or self._reading_paused:
            # (a full inbox stops our reads: that silence is ours, not the peer's)
            self._silent_intervals = 0
        else:
            self._silent_intervals += 1
        self._read_something = False
        if self._silent_intervals >= 4:
            _logger.warning("dist: node %s not responding; removing (timed out) connection",
                            self.peer_name)
            self._finish("net_tick_timeout")
            return
        if not self._wrote_something and self.ticking:
            self._out.append(_TICK)
            self._write_out()
        self._wrote_something = False
        self._timer = self._loop.call_later(self.ticktime / 4, self._on_tick_timer)

    def close(self) -> None:
        """Close the connection (what is queued is still sent); idempotent."""
        if self.close_reason is None:
            if self._out:
                self._write_out()
            self._finish("closed")

    async def until_closed(self) -> str:
        """Wait until the connection is closed (not its socket); ``close_reason``."""
        await self._closed_event.wait()
        assert self.close_reason is not None
        return self.close_reason

    async def wait_closed(self) -> str:
        """Wait until the connection is closed, and its socket too; return
        ``close_reason``.

        A TLS connection closed by :meth:`close` first exchanges
        ``close_notify`` with the peer; a socket still open after
        ``CLOSE_GRACE`` seconds (a peer that does not answer, or does not
        read what is queued) is aborted.
        """
        await self._closed_event.wait()
        assert self.close_reason is not None
        try:
            async with asyncio.timeout(CLOSE_GRACE):
                await asyncio.shield(self._lost)
        except TimeoutError:
            self._transport.abort()
        return self.close_reason

    def _finish(self, reason: str) -> None:
        if self.close_reason is not None:
            return
        self.close_reason = reason
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._out.clear()
        if reason == "closed":
            self._transport.close()          # sends what the transport holds
        else:
            self._transport.abort()
        self._readable.set()
        self._closed_event.set()
        self._wake_drain()


# -- the handshake ------------------------------------------------------------------------

def _cookie_bytes(cookie: str | bytes) -> bytes:
    if isinstance(cookie, bytes):
        return cookie
    if isinstance(cookie, str):
        try:
            return cookie.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("cookie: an Erlang cookie is Latin-1 text") from None
    raise TypeError(f"cookie must be str or bytes, not {type(cookie).__name__}")


def _name_bytes(name: str, what: str) -> bytes:
    # OTP 25 sends node names as atom_to_binary(Node, latin1).
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str like 'name@host', not {type(name).__name__}")
    try:
        encoded = name.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{what}: a node name is Latin-1 text, got {name!r}") from None
    if not _valid_name(name) or len(encoded) > 255:
        raise ValueError(f"{what} must be 'name@host' (at most 255 characters), got {name!r}")
    return encoded


def _valid_name(name: str) -> bool:
    parts = name.split("@")
    return len(parts) == 2 and bool(parts[0]) and bool(parts[1])


def _check_creation(creation: int) -> None:
    if not isinstance(creation, int) or isinstance(creation, bool) or not 0 <= creation < 1 << 32:
        raise ValueError(f"creation must be an int in [0, 2**32), got {creation!r}")


async def _read_packet(reader: asyncio.StreamReader, header: int) -> bytes:
    try:
        size = int.from_bytes(await reader.readexactly(header), "big")
        if header == 2 and size in _TLS_RECORD_STARTS:
            raise HandshakeError("tls", "the peer speaks TLS (it runs the TLS distribution, "
                                        "-proto_dist inet_tls) and this end plain TCP; pass "
                                        "ssl= to speak TLS")
        if size == 0 or size > MAX_HANDSHAKE_PACKET:
            raise HandshakeError("protocol", f"handshake message of {size} bytes "
                                             f"(expected 1..{MAX_HANDSHAKE_PACKET})")
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise HandshakeError("closed", "the peer closed the connection during the "
                                       "handshake") from None


def _write_packet(writer: asyncio.StreamWriter, header: int, data: bytes) -> None:
    writer.write(len(data).to_bytes(header, "big") + data)


def _parse_name(data: bytes) -> tuple[int, int, str]:
    """send_name 'N' -> (flags, creation, name)."""
    if data[:1] == b"n":
        raise HandshakeError("protocol", "the peer uses the pre-OTP-23 handshake ('n' "
                                         "send_name); OTP 23 or later is required")
    if data[:1] != b"N" or len(data) < 15:
        raise HandshakeError("protocol", f"expected send_name ('N'), got {data[:16]!r}")
    peer_flags, creation, length = struct.unpack(">QIH", data[1:15])
    if len(data) != 15 + length:
        raise HandshakeError("protocol", "send_name: the name length does not match "
                                         "the message")
    return peer_flags, creation, data[15:].decode("latin-1")


def _parse_challenge(data: bytes) -> tuple[int, int, int, str]:
    """challenge 'N' -> (flags, challenge, creation, name)."""
    if data[:1] != b"N" or len(data) < 19:
        raise HandshakeError("protocol", f"expected a challenge ('N'), got {data[:16]!r}")
    peer_flags, challenge, creation, length = struct.unpack(">QIIH", data[1:19])
    if len(data) != 19 + length:
        raise HandshakeError("protocol", "challenge: the name length does not match "
                                         "the message")
    return peer_flags, challenge, creation, data[19:].decode("latin-1")


def _check_flags(peer: str, peer_flags: int, required: int) -> None:
    lacking = _flags_module.missing(peer_flags, required)
    if lacking:
        raise HandshakeError("flags", f"node {peer} cannot handle {', '.join(lacking)} "
                                      f"(it is too old, or not an Erlang node)")


async def _maybe_await(value: _T | Awaitable[_T]) -> _T:
    if inspect.isawaitable(value):
        return await value
    return value


def _abort(writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _connect(host: str, port: int, ssl: SSLContext | None,
                   remote_name: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if ssl is None:
        return await asyncio.open_connection(host, port)
    try:
        return await asyncio.open_connection(host, port, ssl=ssl,
                                             ssl_shutdown_timeout=CLOSE_GRACE)
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
        # (not ConnectionRefusedError: that one is the TCP connect's)
        raise HandshakeError("tls", f"{remote_name} at {host}:{port} hung up during the TLS "
                                    f"handshake: it does not speak TLS (-proto_dist "
                                    f"inet_tls), or refused our certificate") from exc


async def dial(local_name: str, creation: int, remote_name: str, host: str, port: int,
               cookie: str | bytes, *, flags: int = DEFAULT_FLAGS,
               required_flags: int = REQUIRED_FLAGS, timeout: float = DEFAULT_TIMEOUT,
               ticktime: float = DEFAULT_TICKTIME,
               is_pending: Callable[[], bool | Awaitable[bool]] | None = None,
               ssl: SSLContext | None = None, **connection_options: int) -> Connection:
    """Connect to node ``remote_name`` listening on ``host:port`` and shake hands.

    Args:
        local_name: this node's name, ``"name@host"``.
        creation: this node's creation (32 bits).
        remote_name: the node dialled; the peer must present this very name.
        host, port: where it listens (from epmd's ``PORT_PLEASE2``).
        cookie: the shared secret.
        flags: the capabilities advertised (``flags.DEFAULT_FLAGS``: hidden).
        required_flags: what the peer must offer.
        timeout: seconds for the whole handshake.
        ticktime: the connection's ``net_ticktime``.
        is_pending: asked when the peer answers ``alive`` (it believes it
            has a live connection to us already): ``True`` (the default)
            says the old one is dead and this attempt goes on.
        ssl: a client-side ``ssl.SSLContext``: the handshake and all traffic
            go over TLS (OTP's ``inet_tls``); the peer's certificate is
            checked against ``host`` if the context checks host names.
        connection_options: ``max_packet``, ``high_water``, ``max_queued``
            of :class:`Connection`.

    Returns:
        The :class:`Connection`.

    Raises:
        HandshakeError: the handshake failed (see its ``reason``).
        OSError: the TCP connection could not be made.
    """
    local = _name_bytes(local_name, "local_name")
    _name_bytes(remote_name, "remote_name")
    _check_creation(creation)
    secret = _cookie_bytes(cookie)
    if ssl is not None:
        check_context(ssl, server_side=False)
    # inet_tcp_dist frames handshake messages with {packet, 2}; inet_tls_dist
    # keeps {packet, 4} from the start
    header = 2 if ssl is None else 4
    flags &= ~NAME_ME
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await _connect(host, port, ssl, remote_name)
            _write_packet(writer, header,
                          b"N" + struct.pack(">QIH", flags, creation, len(local)) + local)
            data = await _read_packet(reader, header)
            if data[:1] != b"s":
                raise HandshakeError("protocol", f"expected a status ('s'), got {data[:16]!r}")
            status = data[1:].decode("latin-1", "replace")
            if status == "alive":
                go_on = True if is_pending is None else bool(await _maybe_await(is_pending()))
                _write_packet(writer, header, b"s" + (b"true" if go_on else b"false"))
                if not go_on:
                    raise HandshakeError("alive", f"node {remote_name} already has a "
                                                  f"connection to {local_name}")
            elif status == "nok":
                raise HandshakeError("nok", f"simultaneous connect to {remote_name}: its "
                                            f"own connection to {local_name} wins")
            elif status == "not_allowed":
                raise HandshakeError("not_allowed", f"node {remote_name} does not allow a "
                                                    f"connection from {local_name}")
            elif status not in ("ok", "ok_simultaneous"):
                raise HandshakeError("protocol", f"unexpected status {status!r} from "
                                                 f"{remote_name}")
            peer_flags, challenge, peer_creation, peer_name = _parse_challenge(
                await _read_packet(reader, header))
            if peer_name != remote_name:
                raise HandshakeError("name", f"dialled {remote_name} but {peer_name} "
                                             f"answered")
            peer_flags = _flags_module.expand(peer_flags)
            _check_flags(peer_name, peer_flags, required_flags)
            mine = secrets.randbits(32)
            _write_packet(writer, header,
                          b"r" + struct.pack(">I", mine) + digest(challenge, secret))
            try:
                data = await _read_packet(reader, header)
            except HandshakeError as exc:
                if exc.reason != "closed":
                    raise
                # what an Erlang node does with a wrong digest: close, say nothing
                raise HandshakeError("bad_cookie", f"node {remote_name} refused our challenge "
                                                   f"reply (it closed the connection): the "
                                                   f"cookies differ") from None
            if data[:1] != b"a" or len(data) != 17:
                raise HandshakeError("protocol", f"expected a challenge ack ('a'), got "
                                                 f"{data[:17]!r}")
            if not hmac.compare_digest(data[1:], digest(mine, secret)):
                raise HandshakeError("bad_cookie", f"node {remote_name} answered our "
                                                   f"challenge wrongly: not the same cookie")
            return Connection(reader, writer, local_name=local_name, peer_name=peer_name,
                              peer_flags=peer_flags, peer_creation=peer_creation,
                              flags=flags & peer_flags, ticktime=ticktime,
                              **connection_options)
    except TimeoutError:
        if writer is not None:
            _abort(writer)
        raise HandshakeError("timeout", f"no handshake with {remote_name} at {host}:{port} "
                                        f"within {timeout} s") from None
    except SSLError as exc:
        if writer is not None:
            _abort(writer)
        raise HandshakeError("tls", f"TLS with {remote_name} at {host}:{port} failed: "
                                    f"{exc}") from exc
    except BaseException:
        if writer is not None:
            _abort(writer)
        raise


async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, local_name: str,
                 creation: int, cookie: str | bytes, *, flags: int = DEFAULT_FLAGS,
                 required_flags: int = REQUIRED_FLAGS, timeout: float = DEFAULT_TIMEOUT,
                 ticktime: float = DEFAULT_TICKTIME,
                 is_allowed: Callable[[str], bool] | None = None,
                 status: Callable[[str], Status] | None = None,
                 **connection_options: int) -> Connection:
    """Shake hands with a node that connected to us (the acceptor side).

    On any failure the connection is closed, and a peer with the wrong
    cookie gets no answer at all: it sees ``pang``.  A stream accepted by a
    TLS listener (:func:`listen` with ``ssl=``) speaks the TLS
    distribution's framing.

    Args:
        reader, writer: the accepted stream (from :func:`listen`, or
            ``asyncio.start_server``).
        local_name, creation, cookie: this node's name, creation and cookie.
        flags: the capabilities advertised (``flags.DEFAULT_FLAGS``: hidden).
        required_flags: what the peer must offer; else it gets ``not_allowed``.
        timeout: seconds for the whole handshake.
        ticktime: the connection's ``net_ticktime``.
        is_allowed: ``is_allowed(peer_name)``; ``False`` sends ``not_allowed``
            (``net_kernel:allow/1``).  Default: everyone with the cookie.
        status: ``status(peer_name)`` (or a coroutine function) chooses the
            status: ``"ok"`` (the default), ``"ok_simultaneous"`` or ``"nok"``
            while we dial that node ourselves (:func:`simultaneous_status`),
            ``"alive"`` when we hold a connection to it already (if the peer
            answers ``true``, the handshake goes on and the caller replaces
            its old connection with the one returned, as ``net_kernel`` does).
        connection_options: ``max_packet``, ``high_water``, ``max_queued``
            of :class:`Connection`.

    Returns:
        The :class:`Connection`.

    Raises:
        HandshakeError: the handshake failed (see its ``reason``).
    """
    local = _name_bytes(local_name, "local_name")
    _check_creation(creation)
    secret = _cookie_bytes(cookie)
    header = 4 if writer.get_extra_info("sslcontext") is not None else 2
    flags &= ~NAME_ME
    try:
        async with asyncio.timeout(timeout):
            peer_flags, peer_creation, peer_name = _parse_name(await _read_packet(reader, header))
            if not _valid_name(peer_name):
                why = ("dynamic node names (NAME_ME) are not supported" if peer_flags & NAME_ME
                       else f"malformed node name {peer_name!r}")
                _write_packet(writer, header, b"snot_allowed")
                raise HandshakeError("name", f"connection refused: {why}")
            if is_allowed is not None and not is_allowed(peer_name):
                _write_packet(writer, header, b"snot_allowed")
                raise HandshakeError("not_allowed", f"connection attempt from disallowed "
                                                    f"node {peer_name}")
            peer_flags = _flags_module.expand(peer_flags)
            try:
                _check_flags(peer_name, peer_flags, required_flags)
            except HandshakeError:
                _write_packet(writer, header, b"snot_allowed")
                raise
            answer = "ok" if status is None else await _maybe_await(status(peer_name))
            if answer not in ("ok", "ok_simultaneous", "nok", "alive"):
                raise ValueError(f"status() must return 'ok', 'ok_simultaneous', 'nok' or "
                                 f"'alive', got {answer!r}")
            _write_packet(writer, header, b"s" + answer.encode("ascii"))
            if answer == "nok":
                raise HandshakeError("nok", f"simultaneous connect with {peer_name}: our "
                                            f"own connection wins")
            if answer == "alive":
                data = await _read_packet(reader, header)
                if data not in (b"strue", b"sfalse"):
                    raise HandshakeError("protocol", f"expected 's' true|false after alive, "
                                                     f"got {data[:16]!r}")
                if data == b"sfalse":
                    raise HandshakeError("alive", f"node {peer_name} keeps its existing "
                                                  f"connection")
            mine = secrets.randbits(32)
            _write_packet(writer, header,
                          b"N" + struct.pack(">QIIH", flags, mine, creation, len(local)) + local)
            data = await _read_packet(reader, header)
            if data[:1] != b"r" or len(data) != 21:
                raise HandshakeError("protocol", f"expected a challenge reply ('r'), got "
                                                 f"{data[:21]!r}")
            if not hmac.compare_digest(data[5:], digest(mine, secret)):
                raise HandshakeError("bad_cookie", f"connection attempt from node {peer_name} "
                                                   f"rejected: invalid challenge reply "
                                                   f"(wrong cookie)")
            (challenge,) = struct.unpack(">I", data[1:5])
            _write_packet(writer, header, b"a" + digest(challenge, secret))
            return Connection(reader, writer, local_name=local_name, peer_name=peer_name,
                              peer_flags=peer_flags, peer_creation=peer_creation,
                              flags=flags & peer_flags, ticktime=ticktime,
                              **connection_options)
    except TimeoutError:
        _abort(writer)
        raise HandshakeError("timeout", f"no complete handshake within {timeout} s") from None
    except SSLError as exc:
        _abort(writer)
        raise HandshakeError("tls", f"TLS error from a connecting node: {exc}") from exc
    except BaseException:
        _abort(writer)
        raise


async def start_server(local_name: str, creation: int, cookie: str | bytes,
                       on_connection: Callable[[Connection], object], *,
                       host: str = "127.0.0.1", port: int = 0,
                       on_error: Callable[[BaseException], object] | None = None,
                       ssl: SSLContext | None = None,
                       **accept_options: Any) -> asyncio.AbstractServer:
    """Listen for nodes (on loopback unless ``host`` says otherwise) and shake
    hands with each; ``on_connection(conn)`` (a function or coroutine
    function) gets every :class:`Connection` made.

    A failed handshake closes that socket only and is passed to
    ``on_error`` (default: logged at INFO level); the server goes on.

    Args:
        local_name, creation, cookie: as for :func:`accept`.
        on_connection: called with each new connection.
        host, port: where to listen; port 0 picks a free one (see
            ``server.sockets[0].getsockname()``).
        on_error: called with each handshake's exception.
        ssl: a server-side ``ssl.SSLContext``: accept only TLS connections
            (OTP's ``-proto_dist inet_tls``); see :func:`listen`.
        accept_options: the keyword options of :func:`accept`.

    Returns:
        The listening ``asyncio`` server.
    """
    _name_bytes(local_name, "local_name")
    _check_creation(creation)
    _cookie_bytes(cookie)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            conn = await accept(reader, writer, local_name, creation, cookie, **accept_options)
        except Exception as exc:  # noqa: BLE001 (one bad peer must not stop the server)
            if on_error is not None:
                on_error(exc)
            else:
                _logger.info("dist: refused a connection: %s", exc)
            return
        await _maybe_await(on_connection(conn))

    return await listen(handle, host, port, ssl=ssl,
                        timeout=accept_options.get("timeout", DEFAULT_TIMEOUT))


async def listen(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                 host: str | None = "127.0.0.1", port: int = 0, *,
                 ssl: SSLContext | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> asyncio.Server:
    """``asyncio.start_server(handle, host, port)``, in TLS with ``ssl``: the
    listener of a node, whose ``handle`` calls :func:`accept`.

    With ``ssl``, asyncio runs the TLS handshake before ``handle`` sees the
    stream, within ``timeout`` seconds; a connection whose TLS handshake
    fails (an untrusted certificate, a peer speaking plain TCP) is closed
    there and never reaches ``handle``.  (Starting TLS later, inside
    ``handle``, would race with the loop reading the peer's first bytes.)

    Raises:
        TypeError, ValueError: ``ssl`` is not a server-side ``ssl.SSLContext``.
        OSError: the address cannot be listened on.
    """
    if ssl is None:
        return await asyncio.start_server(handle, host, port)
    check_context(ssl, server_side=True)
    return await asyncio.start_server(handle, host, port, ssl=ssl,
                                      ssl_handshake_timeout=timeout,
                                      ssl_shutdown_timeout=CLOSE_GRACE)
