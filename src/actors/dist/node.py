"""A distribution node: this runtime as a node the BEAM can connect to and ping.

Internal for now (issue 11); the public ``actors.Node`` will be built on it.

:class:`DistNode` ties the wire-level pieces together:

* ``start``: make sure an epmd runs (:func:`~actors.dist.epmd.ensure_epmd`),
  listen for distribution connections, register the name with epmd (the
  registration is held for the node's life) and take the *creation* epmd
  gives, which goes into every pid and reference of this incarnation;
* one :class:`~actors.dist.handshake.Connection` per peer node, accepted or
  dialled (:meth:`DistNode.connect`); concurrent connects to a peer share one
  attempt, and simultaneous connects are resolved as ``net_kernel`` does
  (:func:`~actors.dist.handshake.simultaneous_status`);
* a reader task per connection that decodes each packet, ``112 ('p')``, an
  ETF control tuple and, for some controls, an ETF message, and dispatches on
  the control's tag (the ``*_TAG`` constants: the ERTS "Distribution Protocol"
  chapter, "Protocol between connected nodes").  A packet that is not that
  shape is a protocol violation: the connection is closed (as the BEAM
  does), the node serves the others on;
* ``net_kernel``'s part of ``net_adm:ping/1``: a ``REG_SEND`` to
  ``net_kernel`` of ``{'$gen_call', {From, Tag}, {is_auth, Node}}`` is
  answered ``{Tag, yes}``; and :meth:`DistNode.ping`, the same question asked
  of a peer.  Every other control goes to ``on_control`` (the core's
  integration: remote pids, links and monitors, comes next);
* ``on_nodeup(node)`` / ``on_nodedown(node, reason)`` once per connection.

Pids and references of this node (until the core maps its own): the node is
one pseudo-process, ``DistNode.pid`` (id 0, serial 0, as ``<N.0.0>``), the
sender of pings and of ``net_kernel``'s answers; references are
``[counter & 0x3FFFF, counter >> 18, salt]`` with a per-node random salt,
under the node's name and creation.

Plain asyncio; imports only the other ``actors.dist`` modules.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Any, Final, TypeGuard

from . import epmd as _epmd
from .etf import Atom, Codec, ExternalPid, ExternalRef, ImproperList
from .flags import ALIAS, DEFAULT_FLAGS, PUBLISHED
from .flags import SEND_SENDER as _SEND_SENDER_FLAG
from .handshake import (
    DEFAULT_TICKTIME,
    DEFAULT_TIMEOUT,
    Connection,
    HandshakeError,
    accept,
    dial,
    listen,
    simultaneous_status,
)
from .tls import SSLOption
from .tls import split as _split_ssl

__all__ = ["NO_MESSAGE", "DistNode", "ProtocolError"]

_logger = logging.getLogger("actors.dist")

# Control message tags (ERTS "Distribution Protocol", "Protocol between
# connected nodes").
LINK_TAG: Final = 1
SEND_TAG: Final = 2
EXIT_TAG: Final = 3
UNLINK_TAG: Final = 4
NODE_LINK_TAG: Final = 5
REG_SEND_TAG: Final = 6
GROUP_LEADER_TAG: Final = 7
EXIT2_TAG: Final = 8
SEND_TT_TAG: Final = 12
EXIT_TT_TAG: Final = 13
REG_SEND_TT_TAG: Final = 16
EXIT2_TT_TAG: Final = 18
MONITOR_P_TAG: Final = 19
DEMONITOR_P_TAG: Final = 20
MONITOR_P_EXIT_TAG: Final = 21
SEND_SENDER_TAG: Final = 22
SEND_SENDER_TT_TAG: Final = 23
PAYLOAD_EXIT_TAG: Final = 24
PAYLOAD_EXIT_TT_TAG: Final = 25
PAYLOAD_EXIT2_TAG: Final = 26
PAYLOAD_EXIT2_TT_TAG: Final = 27
PAYLOAD_MONITOR_P_EXIT_TAG: Final = 28
SPAWN_REQUEST_TAG: Final = 29
SPAWN_REQUEST_TT_TAG: Final = 30
SPAWN_REPLY_TAG: Final = 31
SPAWN_REPLY_TT_TAG: Final = 32
ALIAS_SEND_TAG: Final = 33
ALIAS_SEND_TT_TAG: Final = 34
UNLINK_ID_TAG: Final = 35
UNLINK_ID_ACK_TAG: Final = 36

#: tag -> (the control tuple's size, whether a message follows it)
CONTROLS: Final[dict[int, tuple[int, bool]]] = {
    LINK_TAG: (3, False), SEND_TAG: (3, True), EXIT_TAG: (4, False), UNLINK_TAG: (3, False),
    NODE_LINK_TAG: (1, False), REG_SEND_TAG: (4, True), GROUP_LEADER_TAG: (3, False),
    EXIT2_TAG: (4, False), SEND_TT_TAG: (4, True), EXIT_TT_TAG: (5, False),
    REG_SEND_TT_TAG: (5, True), EXIT2_TT_TAG: (5, False), MONITOR_P_TAG: (4, False),
    DEMONITOR_P_TAG: (4, False), MONITOR_P_EXIT_TAG: (5, False), SEND_SENDER_TAG: (3, True),
    SEND_SENDER_TT_TAG: (4, True), PAYLOAD_EXIT_TAG: (3, True), PAYLOAD_EXIT_TT_TAG: (4, True),
    PAYLOAD_EXIT2_TAG: (3, True), PAYLOAD_EXIT2_TT_TAG: (4, True),
    PAYLOAD_MONITOR_P_EXIT_TAG: (4, True), SPAWN_REQUEST_TAG: (6, True),
    SPAWN_REQUEST_TT_TAG: (7, True), SPAWN_REPLY_TAG: (5, False),
    SPAWN_REPLY_TT_TAG: (6, False), ALIAS_SEND_TAG: (3, True), ALIAS_SEND_TT_TAG: (4, True),
    UNLINK_ID_TAG: (4, False), UNLINK_ID_ACK_TAG: (4, False),
}

_PASS_THROUGH: Final = 112          # 'p': every packet after the handshake
_NET_KERNEL = Atom("net_kernel")
_GEN_CALL = Atom("$gen_call")
_IS_AUTH = Atom("is_auth")
_YES = Atom("yes")
_ALIAS = Atom("alias")
_UNUSED = Atom("")
_PLAIN: Final = Codec()


class _NoMessage:
    def __repr__(self) -> str:
        return "NO_MESSAGE"


#: ``on_control``'s ``message`` for a control that carries none.
NO_MESSAGE: Final = _NoMessage()

ControlHandler = Callable[[str, tuple[Any, ...], Any], object]
PacketHandler = Callable[[Connection, bytes], bool]
NodedownHandler = Callable[[str, str], object]
NodeupHandler = Callable[[str], object]


class ProtocolError(ValueError):
    """A packet after the handshake that is not ``'p' + control [+ message]``."""


def parse_packet(packet: bytes, codec: Codec = _PLAIN) -> tuple[tuple[Any, ...], Any]:
    """``(control, message)`` of one packet (``message`` is :data:`NO_MESSAGE`
    for a control that carries none), decoded with ``codec``.

    Raises:
        ProtocolError: the packet is malformed: not ``'p'``, bad ETF,
            trailing bytes, a control that is not a tuple of a known tag and
            size, a message missing or unexpected.
    """
    if not packet or packet[0] != _PASS_THROUGH:
        raise ProtocolError(f"a packet must start with 112 ('p'), got {packet[:8]!r}")
    try:
        control, end = codec.decode_from(packet, 1)
        if end < len(packet):
            message, end = codec.decode_from(packet, end)
        else:
            message = NO_MESSAGE
    except (ValueError, RecursionError, TypeError) as exc:
        raise ProtocolError(f"undecodable packet: {exc}") from None
    if end != len(packet):
        raise ProtocolError(f"{len(packet) - end} bytes after the message")
    if (not _is_tuple(control) or not control or not isinstance(control[0], int)
            or isinstance(control[0], bool)):
        raise ProtocolError(f"the control message must be a tuple starting with an integer "
                            f"tag, got {control!r:.80}")
    ctl = control
    shape = CONTROLS.get(ctl[0])
    if shape is None:
        raise ProtocolError(f"unknown control tag {ctl[0]}")
    size, carries = shape
    if len(ctl) != size:
        raise ProtocolError(f"control tag {ctl[0]} must be a {size}-tuple, got "
                            f"{len(ctl)} elements")
    if carries != (message is not NO_MESSAGE):
        raise ProtocolError(f"control tag {ctl[0]} "
                            f"{'needs' if carries else 'must not have'} a message")
    return ctl, message


def _is_tuple(value: object) -> TypeGuard[tuple[Any, ...]]:
    return isinstance(value, tuple)


def _check_node_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str like 'name@host', not {type(name).__name__}")
    parts = name.split("@")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(f"{what} must be 'name@host', got {name!r}")
    return name


class DistNode:
    """This runtime as a distribution node: listens, connects, answers pings.

    Create with :meth:`start`; :meth:`stop` ends it.  All methods run on the
    event loop that started it.

    Attributes:
        name: the node's name, ``"name@host"``.
        creation: the creation epmd gave this incarnation.
        port: the distribution port it listens on.
        pid: the node's pseudo-process (``<N.0.0>``), sender of its pings.
        on_control: ``on_control(node, control, message)``, every control
            message the node does not handle itself (``message`` is
            :data:`NO_MESSAGE` when the control carries none).  Default: log
            at DEBUG.  An exception it raises is logged; the connection stays.
        on_packet: ``on_packet(connection, packet) -> bool``, offered every
            packet first (the hot path of the layer above); True means it
            was handled.
        on_nodeup: ``on_nodeup(node)`` when a connection is made.
        codec: the term codec of every packet (its hooks map pids and refs).
        on_nodedown: ``on_nodedown(node, reason)``, once per connection lost:
            ``"connection_closed"``, ``"net_tick_timeout"``,
            ``"packet_too_large"``, ``"protocol_error"`` (it sent a malformed
            packet), ``"disconnect"`` (:meth:`disconnect`), ``"replaced"`` (the
            peer connected anew, saying its old connection is dead: a nodeup
            follows),
            ``"net_kernel_terminated"`` (:meth:`stop`).
    """

    def __init__(self, name: str, cookie: str | bytes, *, host: str, epmd_port: int | None,
                 hidden: bool, ticktime: float, setup_timeout: float,
                 codec: Codec = _PLAIN, ssl: SSLOption = None) -> None:
        self.name = name
        self.cookie = cookie
        self.host = host
        self.epmd_port = epmd_port
        self.hidden = hidden
        self.ticktime = ticktime
        self.setup_timeout = setup_timeout
        self.codec = codec
        self._server_ssl, self._client_ssl = _split_ssl(ssl)
        self.flags = DEFAULT_FLAGS if hidden else DEFAULT_FLAGS | PUBLISHED
        self.creation = 0
        self.port = 0
        self.pid = ExternalPid(name, 0, 0, 0)
        self.on_control: ControlHandler = self._log_control
        self.on_packet: PacketHandler | None = None
        self.on_nodeup: NodeupHandler | None = None
        self.on_nodedown: NodedownHandler | None = None
        self._epmd: _epmd.EpmdHandle | None = None
        self._registration: _epmd.Registration | None = None
        self._server: asyncio.AbstractServer | None = None
        self._stopped = False
        self._connections: dict[str, Connection] = {}
        self._readers: dict[Connection, asyncio.Task[None]] = {}
        self._down_reasons: dict[Connection, str] = {}
        self._attempts: dict[str, asyncio.Future[bool]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: dict[ExternalRef, tuple[str, asyncio.Future[bool]]] = {}
        self._ref_counter = itertools.count(1)
        self._ref_salt = secrets.randbits(32)

    @classmethod
    async def start(cls, name: str, cookie: str | bytes, *, host: str = "127.0.0.1",
                    epmd_port: int | None = None, hidden: bool = True,
                    ticktime: float = DEFAULT_TICKTIME,
                    setup_timeout: float = DEFAULT_TIMEOUT,
                    builtin_epmd: bool = False, codec: Codec = _PLAIN,
                    ssl: SSLOption = None) -> DistNode:
        """Start node ``name`` (``"name@host"``) with ``cookie``.

        Args:
            name: the node's full name; the part after ``@`` is how peers
                reach it (``127.0.0.1`` for a loopback-only node).
            cookie: the cluster's shared secret.
            host: the interface to listen on.
            epmd_port: the epmd port (default ``ERL_EPMD_PORT``, else 4369);
                an epmd is started there if none answers.
            hidden: a hidden node (the default) or a visible one.
            ticktime: ``net_ticktime`` in seconds.
            setup_timeout: seconds for a connection set-up (``net_setuptime``).
            builtin_epmd: if an epmd must be started, use the in-process one.
            codec: the term codec (default: pids and refs stay ``ExternalPid``
                and ``ExternalRef``).
            ssl: TLS for every connection (OTP's ``-proto_dist inet_tls``): a
                ``(server_context, client_context)`` pair, e.g. from
                :func:`actors.dist.tls.contexts`; see :func:`actors.dist.tls.split`.

        Raises:
            TypeError, ValueError: a bad argument (named).
            actors.dist.epmd.AlreadyRegistered: the name is taken.
            actors.dist.epmd.EpmdError: no epmd could be reached or started.
        """
        _check_node_name(name, "name")
        if not isinstance(cookie, (str, bytes)):
            raise TypeError(f"cookie must be str or bytes, not {type(cookie).__name__}")
        if not isinstance(hidden, bool):
            raise TypeError(f"hidden must be a bool, not {type(hidden).__name__}")
        for what, value in (("ticktime", ticktime), ("setup_timeout", setup_timeout)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"{what} must be a number, not {type(value).__name__}")
            if not value > 0:
                raise ValueError(f"{what} must be positive, got {value!r}")
        node = cls(name, cookie, host=host, epmd_port=epmd_port, hidden=hidden,
                   ticktime=float(ticktime), setup_timeout=float(setup_timeout), codec=codec,
                   ssl=ssl)
        try:
            node._epmd = await _epmd.ensure_epmd(epmd_port, builtin=builtin_epmd)
            node._server = await listen(node._on_tcp, host, 0, ssl=node._server_ssl,
                                        timeout=node.setup_timeout)
            node.port = node._server.sockets[0].getsockname()[1]
            node._registration = await _epmd.register(name, node.port, hidden=hidden,
                                                       epmd_port=node._epmd.port)
            node.creation = node._registration.creation
            node.pid = ExternalPid(name, 0, 0, node.creation)
        except BaseException:
            await node.stop()
            raise
        _logger.info("dist: node %s up (port %d, creation %d)", name, node.port, node.creation)
        return node

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else f"{len(self._connections)} connections"
        return f"<DistNode {self.name} creation={self.creation} {state}>"

    async def stop(self) -> None:
        """Close every connection (``on_nodedown`` fires with
        ``"net_kernel_terminated"``), unregister from epmd, stop listening and
        stop the epmd if :meth:`start` started one.  Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.close()
        closing = list(self._connections.values())
        for conn in closing:
            self._close(conn, "net_kernel_terminated")
        for attempt in self._attempts.values():
            if not attempt.done():
                attempt.set_result(False)
        tasks = [*self._tasks, *self._readers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # (a TLS connection's shutdown outlives close(): wait, bounded, so that
        # a loop closed right after stop() has no transport left open)
        await asyncio.gather(*(conn.wait_closed() for conn in closing), return_exceptions=True)
        if self._registration is not None:
            await self._registration.close()
        if self._server is not None:
            await self._server.wait_closed()
        if self._epmd is not None:
            await self._epmd.stop()

    # -- connections ------------------------------------------------------------------

    def nodes(self) -> list[str]:
        """The names of the nodes connected now."""
        return list(self._connections)

    def connection(self, node: str) -> Connection | None:
        """The open connection to ``node``, if any."""
        return self._connections.get(node)

    async def connect(self, node: str) -> bool:
        """Connect to ``node`` unless connected; whether a connection is up.

        Concurrent calls for one node share one attempt.  ``False`` when the
        node is not registered with its host's epmd, unreachable, or refuses
        us (a wrong cookie); the reason is logged at INFO.
        """
        _check_node_name(node, "node")
        if node in self._connections or node == self.name:
            return True
        if self._stopped:
            return False
        attempt = self._attempts.get(node)
        if attempt is None:
            attempt = asyncio.get_running_loop().create_future()
            self._attempts[node] = attempt
            self._spawn(self._dial(node, attempt))
        return await asyncio.shield(attempt)

    def disconnect(self, node: str) -> bool:
        """Close the connection to ``node`` (``erlang:disconnect_node/1``);
        whether there was one."""
        conn = self._connections.get(node)
        if conn is None:
            return False
        self._close(conn, "disconnect")
        return True

    async def _dial(self, node: str, attempt: asyncio.Future[bool]) -> None:
        try:
            try:
                info = await _epmd.port_please(node, epmd_port=self.epmd_port,
                                               timeout=self.setup_timeout)
                if info is None:
                    _logger.info("dist: cannot connect to %s: not registered with epmd", node)
                    return
                host = node.split("@", 1)[1]
                conn = await dial(self.name, self.creation, node, host, info.port,
                                  self.cookie, flags=self.flags, timeout=self.setup_timeout,
                                  ticktime=self.ticktime, ssl=self._client_ssl)
            except HandshakeError as exc:
                if exc.reason == "nok":
                    # a simultaneous connect that its own (incoming) one wins:
                    # _install resolves the attempt when that one is up
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.setup_timeout):
                            await asyncio.shield(attempt)
                    return
                _logger.info("dist: cannot connect to %s: %s", node, exc)
                return
            except (OSError, _epmd.EpmdError) as exc:
                _logger.info("dist: cannot connect to %s: %s", node, exc)
                return
            if self._stopped:
                conn.close()
                return
            self._install(conn)
        finally:
            if not attempt.done():
                attempt.set_result(node in self._connections)
            if self._attempts.get(node) is attempt:
                del self._attempts[node]

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            conn = await accept(reader, writer, self.name, self.creation, self.cookie,
                                flags=self.flags, timeout=self.setup_timeout,
                                ticktime=self.ticktime, status=self._status)
        except Exception as exc:  # noqa: BLE001 (one bad peer must not stop the node)
            _logger.info("dist: refused a connection: %s", exc)
            return
        if self._stopped:
            conn.close()
            return
        self._install(conn)

    def _status(self, peer: str) -> str:
        if peer in self._connections:
            return "alive"
        if peer in self._attempts:
            return simultaneous_status(self.name, peer)
        return "ok"

    def _install(self, conn: Connection) -> None:
        peer = conn.peer_name
        old = self._connections.get(peer)
        if old is not None:
            # the peer said its old connection is dead ("alive" answered true):
            # nodedown for the old one (a new incarnation, maybe), nodeup for this
            self._close(old, "replaced")
            self._lost(old)
        self._connections[peer] = conn
        self._readers[conn] = self._spawn(self._read(conn))
        attempt = self._attempts.get(peer)
        if attempt is not None and not attempt.done():
            attempt.set_result(True)
        _logger.debug("dist: connected to %s", peer)
        if self.on_nodeup is not None:
            self._callback(self.on_nodeup, peer)

    def _close(self, conn: Connection, reason: str) -> None:
        self._down_reasons.setdefault(conn, reason)
        conn.close()

    async def _read(self, conn: Connection) -> None:
        """Serve ``conn``: its packets are handled as they are read (see
        ``_on_packets``); when it closes, its node is down."""
        try:
            conn.set_receiver(functools.partial(self._on_packets, conn))
            await conn.until_closed()
        finally:
            self._readers.pop(conn, None)
            self._lost(conn)

    def _on_packets(self, conn: Connection, batch: list[bytes]) -> None:
        fast = self.on_packet
        for packet in batch:
            if fast is not None and fast(conn, packet):
                continue
            try:
                control, message = parse_packet(packet, self.codec)
            except ProtocolError as exc:
                _logger.warning("dist: node %s sent a malformed packet (%s); "
                                "disconnecting", conn.peer_name, exc)
                self._close(conn, "protocol_error")
                return
            try:
                self._dispatch(conn, control, message)
            except Exception:
                _logger.exception("dist: cannot handle %r from %s; disconnecting",
                                  control, conn.peer_name)
                self._close(conn, "protocol_error")
                return

    def _lost(self, conn: Connection) -> None:
        conn.close()
        reason = self._down_reasons.pop(conn, None) or conn.close_reason or "connection_closed"
        peer = conn.peer_name
        if self._connections.get(peer) is not conn:
            return                                 # reported already (replaced)
        del self._connections[peer]
        for ref, (node, waiter) in list(self._calls.items()):
            if node == peer and not waiter.done():
                waiter.set_result(False)
                del self._calls[ref]
        _logger.info("dist: node %s down: %s", peer, reason)
        if self.on_nodedown is not None:
            self._callback(self.on_nodedown, peer, reason)

    # -- control messages ----------------------------------------------------------------

    def _dispatch(self, conn: Connection, control: tuple[Any, ...], message: Any) -> None:
        tag = control[0]
        if tag == REG_SEND_TAG and control[3] == _NET_KERNEL and self._net_kernel(conn, message):
            return
        to_us = ((tag in (SEND_TAG, SEND_SENDER_TAG) and control[2] == self.pid)
                 or (tag == ALIAS_SEND_TAG and isinstance(control[2], ExternalRef)
                     and control[2] in self._calls))
        if to_us and self._reply(conn, message):
            return
        self._callback(self.on_control, conn.peer_name, control, message)

    def _net_kernel(self, conn: Connection, message: Any) -> bool:
        """``{'$gen_call', {From, Tag}, {is_auth, Node}}`` -> ``{Tag, yes}`` to From."""
        match message:
            case (Atom() as g, (sender, tag), (Atom() as q, _)) if (
                    g == _GEN_CALL and q == _IS_AUTH):
                pass
            case _:
                return False
        encode = self.codec.encode
        reply = encode((tag, _YES))
        control: tuple[Any, ...]
        if (isinstance(tag, ImproperList) and tag.items == (_ALIAS,)
                and conn.flags & ALIAS):
            control = (ALIAS_SEND_TAG, self.pid, tag.tail)
        elif conn.flags & _SEND_SENDER_FLAG:
            control = (SEND_SENDER_TAG, self.pid, sender)
        else:
            control = (SEND_TAG, _UNUSED, sender)
        with contextlib.suppress(ConnectionError):
            conn.send(b"p" + encode(control) + reply)
        return True

    def _reply(self, conn: Connection, message: Any) -> bool:
        """A ``{Tag, yes}`` answer to one of our pings (``Tag`` a ref, or
        ``[alias | Ref]``)."""
        if not _is_tuple(message):
            return False
        answer = message
        if len(answer) != 2:
            return False
        tag: Any = answer[0]
        if isinstance(tag, ImproperList) and tag.items == (_ALIAS,):
            tag = tag.tail
        if not isinstance(tag, ExternalRef):
            return False
        call = self._calls.get(tag)
        if call is None or call[0] != conn.peer_name:
            return False
        del self._calls[tag]
        if not call[1].done():
            call[1].set_result(answer[1] == _YES)
        return True

    def _log_control(self, node: str, control: tuple[Any, ...], message: Any) -> None:
        _logger.debug("dist: from %s, unhandled control %r message %r", node, control, message)

    # -- ping ----------------------------------------------------------------------------

    def owns_ref(self, ref: ExternalRef) -> bool:
        """True for the tag of one of this node's pings (decoders keep it as is)."""
        return ref in self._calls

    def make_ref(self) -> ExternalRef:
        """A new reference of this node."""
        n = next(self._ref_counter)
        return ExternalRef(self.name, self.creation,
                           (n & 0x3FFFF, (n >> 18) & 0xFFFFFFFF, self._ref_salt))

    async def ping(self, node: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
        """``net_adm:ping(Node)``: ``"pong"`` if ``node`` can be connected to
        and its ``net_kernel`` answers within ``timeout`` seconds, else ``"pang"``."""
        _check_node_name(node, "node")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if node == self.name:
            return "pong"
        try:
            async with asyncio.timeout(timeout):
                if not await self.connect(node):
                    return "pang"
                conn = self._connections.get(node)
                if conn is None:
                    return "pang"
                ref = self.make_ref()
                waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                self._calls[ref] = (node, waiter)
                encode = self.codec.encode
                try:
                    conn.send(b"p" + encode((REG_SEND_TAG, self.pid, _UNUSED, _NET_KERNEL))
                              + encode((_GEN_CALL, (self.pid, ref),
                                        (_IS_AUTH, Atom(self.name)))))
                    return "pong" if await waiter else "pang"
                finally:
                    self._calls.pop(ref, None)
        except (TimeoutError, ConnectionError):
            return "pang"

    # -- helpers -------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _callback(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a handler's bug must not break the connection
            _logger.exception("dist: %r raised", fn)
