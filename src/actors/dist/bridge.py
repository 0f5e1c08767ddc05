"""The bridge between the core's processes and the wire.

:class:`Bridge` is the distribution layer's handler installed in the core
(``lowlevel.set_node``): the core calls it when a local operation names a
process of another node, and it turns control messages from other nodes
into the core's ``remote_*`` calls.  The wire is a :class:`DistNode`.

What crosses (ERTS "Distribution Protocol", "Protocol between connected
nodes"):

=====================  =========================================================
local operation        control message sent
=====================  =========================================================
``send(pid, m)``       ``SEND {2, '', To}`` + m
``send((n, node), m)`` ``REG_SEND {6, From, '', Name}`` + m
``call(server, r)``    ``MONITOR_P {19, From, To, Ref}`` then the send of
                       ``{'$gen_call', {From, Ref}, Req}``
``link`` / ``unlink``  ``LINK {1, From, To}`` / ``UNLINK_ID {35, Id, From, To}``
``monitor(pid)``       ``MONITOR_P {19, From, To | Name, Ref}``
``demonitor(ref)``     ``DEMONITOR_P {20, From, To | Name, Ref}``
an exit through a link ``EXIT {3, From, To, Reason}``
``exit(pid, reason)``  ``EXIT2 {8, From, To, Reason}``
a monitored exit       ``MONITOR_P_EXIT {21, From | Name, To, Ref, Reason}``
``Node.spawn``         ``SPAWN_REQUEST {29, ReqId, From, GL, {M, F, A}, Opts}``
=====================  =========================================================

Sends to a node not connected yet are queued, in order, while it is
connected; if that fails they are dropped (a send never fails) and every link
and monitor to that node fires with ``"noconnection"``, as they all do when
a connection is lost.  A message or reason that cannot be encoded raises
TypeError before anything is sent.

A **service** is a name no process holds that the bridge answers itself:
``{Ref, From, Request}`` sent to it starts a short-lived process that runs
the service's handler on ``Request`` and sends ``{Ref, {ok, Answer}}`` (or
``{Ref, {error, Why}}``) back to ``From`` (a process of the node that
asked).  The observer browses other actors nodes through one
(``actors.node.SERVICES``); at most ``MAX_SERVING`` requests to one
service run at once, the others are answered ``{error, busy}``.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from .. import lowlevel
from ..lowlevel import Pid, Ref
from . import remote
from .etf import (
    Atom,
    Codec,
    ExternalPid,
    ExternalRef,
    ImproperList,
    reason_to_term,
    term_to_reason,
)
from .flags import UNLINK_ID
from .handshake import Connection
from .node import (
    ALIAS_SEND_TAG,
    DEMONITOR_P_TAG,
    EXIT2_TAG,
    EXIT_TAG,
    GROUP_LEADER_TAG,
    LINK_TAG,
    MONITOR_P_EXIT_TAG,
    MONITOR_P_TAG,
    NO_MESSAGE,
    PAYLOAD_EXIT2_TAG,
    PAYLOAD_EXIT_TAG,
    PAYLOAD_MONITOR_P_EXIT_TAG,
    REG_SEND_TAG,
    SEND_SENDER_TAG,
    SEND_TAG,
    SPAWN_REPLY_TAG,
    SPAWN_REQUEST_TAG,
    UNLINK_ID_ACK_TAG,
    UNLINK_ID_TAG,
    UNLINK_TAG,
    DistNode,
)

# Control messages are matched by shape: see pyproject's note on these rules.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

__all__ = ["Bridge"]

_logger = logging.getLogger("actors.dist")

_UNUSED: Final = Atom("")
_ALIAS: Final = Atom("alias")
_NOPROC: Final = Atom("noproc")
_LINK: Final = Atom("link")
_MONITOR: Final = Atom("monitor")
_NOT_ALLOWED: Final = Atom("not_allowed")
_BADARG: Final = Atom("badarg")
_ABANDONED: Final = Atom("abandoned")
_OK: Final = Atom("ok")
_ERROR: Final = Atom("error")
_BUSY: Final = Atom("busy")
#: Requests one service answers at once (the others: ``{error, busy}``).
MAX_SERVING: Final = 4
_GEN_MESSAGES: Final = {"$gen_call": Atom("$gen_call"), "$gen_cast": Atom("$gen_cast")}
_MAX_ROUTES: Final = 10_000
_SEND_PREFIX: Final = b"p\x83h\x03a\x02"        # 'p' + {2, ...: a SEND
_SEND_SENDER_PREFIX: Final = b"p\x83h\x03a\x16"  # 'p' + {22, ...: a SEND_SENDER (OTP 25's send)
_SENDS: Final = (_SEND_PREFIX, _SEND_SENDER_PREFIX)
_REG_SEND_PREFIX: Final = b"p\x83h\x04a\x06"    # 'p' + {6, ...: a REG_SEND
_MONITOR_PREFIXES: Final = (b"p\x83h\x04a\x13", b"p\x83h\x04a\x14")   # MONITOR_P, DEMONITOR_P


def _outgoing(msg: Any) -> Any:
    """The OTP messages the OTP layers build with ``str`` tags get their atoms."""
    if type(msg) is tuple and msg and type(msg[0]) is str:
        tag = _GEN_MESSAGES.get(msg[0])
        if tag is not None:
            return (tag, *msg[1:])
    return msg


def _is_local(pid: Any) -> bool:
    return type(pid) is Pid and pid.node == lowlevel.node_name()


class Bridge:
    """The core's handler for processes of other nodes, over ``node``.

    Attributes:
        node: the :class:`DistNode` (its ``codec`` is this bridge's).
        allow_spawn: the modules a spawn request may start functions of
            (``True``: any; ``None``: none).
        on_nodedown: called with ``(node, reason)`` after the links and
            monitors over a lost connection have fired.
    """

    def __init__(self, allow_spawn: bool | list[str] | None = None,
                 services: Mapping[str, Callable[[Any], Awaitable[Any]]] | None = None) -> None:
        self.node: DistNode | None = None
        self.allow_spawn = allow_spawn
        self.services = dict(services or {})
        self._serving: dict[str, int] = {}      # service -> requests being answered
        self.on_nodedown: Callable[[str, str], object] | None = None
        self.codec = Codec(make_pid=self._make_pid, make_ref=self._make_ref,
                           default=self._default)
        self._encode = self.codec.encode
        self._decode_from = self.codec.decode_from
        self._self_name = lowlevel.node_name()
        # The hot path of a send: destination (and sender) -> (connection,
        # b"p" + the encoded control), valid while that connection is open.
        self._routes: dict[Any, tuple[Connection, bytes]] = {}
        self._pending: dict[str, list[bytes]] = {}
        self._proxies: dict[str, set[Pid]] = {}
        self._by_name: dict[Ref, Any] = {}     # monitors of us by name: ref -> the name
        # Spawn requests waiting for their reply: req_id -> (node, caller, link,
        # monitor); those whose caller gave up waiting move to _abandoned.
        self._spawns: dict[Ref, tuple[str, Pid, bool, bool]] = {}
        self._abandoned: dict[Ref, tuple[str, Pid, bool, bool]] = {}
        self._unlink_id = 0

    def attach(self, node: DistNode) -> None:
        """Serve ``node``: its controls come here, its losses break links."""
        self.node = node
        self._self_name = node.name
        node.on_control = self.dispatch
        node.on_packet = self.receive
        node.on_nodedown = self._nodedown
        remote.serve(self)              # the OTP layers' door to the node (actors.dist.remote)

    # -- the codec's hooks -------------------------------------------------------------

    def _make_pid(self, pid: ExternalPid) -> Any:
        if self.node is not None and pid == self.node.pid:
            return pid
        return lowlevel.remote_pid(str(pid.node), pid.id, pid.serial, pid.creation)

    def _make_ref(self, ref: ExternalRef) -> Any:
        if self.node is not None and self.node.owns_ref(ref):
            return ref
        return lowlevel.remote_ref(str(ref.node), ref.creation, tuple(ref.ids))

    @staticmethod
    def _default(obj: Any) -> Any:
        tp = type(obj)
        if tp is Pid:
            return ExternalPid(*lowlevel.pid_to_wire(obj))
        if tp is Ref:
            return ExternalRef(*lowlevel.ref_to_wire(obj))
        return NotImplemented

    # -- packets -------------------------------------------------------------------------

    def _packet(self, control: tuple[Any, ...], message: Any = NO_MESSAGE) -> bytes:
        encode = self.codec.encode
        if message is NO_MESSAGE:
            return b"p" + encode(control)
        return b"p" + encode(control) + encode(message)

    def _send_packets(self, node: str, packets: list[bytes], later: bool = False) -> None:
        """Send in order; connect first if need be (queued meanwhile).
        ``later``: nobody waits for them: they leave with the next send or at
        the next event-loop iteration (``Connection.send_later``)."""
        dist = self.node
        if dist is None:
            return
        pending = self._pending.get(node)
        if pending is not None:
            pending.extend(packets)
            return
        conn = dist.connection(node)
        if conn is not None and not conn.closed:
            try:
                if later:
                    for packet in packets:
                        conn.send_later(packet)
                else:
                    conn.send_many(packets)
            except ConnectionError:
                pass
            return
        self._pending[node] = list(packets)
        dist._spawn(self._connect_and_flush(node))

    async def _connect_and_flush(self, node: str) -> None:
        dist = self.node
        ok = dist is not None and await dist.connect(node)
        packets = self._pending.pop(node, [])
        conn = dist.connection(node) if ok and dist is not None else None
        if conn is None:
            _logger.info("dist: %d signal(s) to %s dropped: cannot connect", len(packets), node)
            self._gone(node)
            return
        try:
            conn.send_many(packets)
        except ConnectionError:
            pass

    def _track(self, proxy: Pid) -> None:
        self._proxies.setdefault(proxy.node, set()).add(proxy)

    def _untrack_if_idle(self, proxy: Pid) -> None:
        if not lowlevel.remote_peers(proxy):
            proxies = self._proxies.get(proxy.node)
            if proxies is not None:
                proxies.discard(proxy)

    @staticmethod
    def _target(proxy: Pid) -> Any:
        """A proxy as the wire names it: a pid, or a registered name's atom."""
        name = _registered_name(proxy)
        return proxy if name is None else name

    def _sender(self) -> Any:
        """The sending process, or the node's own pseudo-process outside one."""
        if lowlevel.in_process():
            return lowlevel.self()
        return self.node.pid if self.node is not None else _UNUSED

    # -- hooks the core calls ------------------------------------------------------------

    def send(self, proxy: Pid, msg: Any) -> None:
        """A message to a process (or a registered name) of another node."""
        if type(msg) is not tuple or not msg or type(msg[0]) not in (str, ImproperList):
            route = self._routes.get(proxy if proxy.name_at is None else (proxy, self._sender()))
            if route is not None and route[0].close_reason is None:
                route[0].send(route[1] + self._encode(msg))
                return
        self._send_slow(proxy, msg)

    def _send_slow(self, proxy: Pid, msg: Any) -> None:
        msg = _outgoing(msg)
        name = _registered_name(proxy)
        if name is not None:
            sender = self._sender()
            control: tuple[Any, ...] = (REG_SEND_TAG, sender, _UNUSED, name)
            if self._route(proxy.node, (proxy, sender), control, msg):
                return
        elif (type(msg) is tuple and len(msg) == 2 and isinstance(msg[0], ImproperList)
              and msg[0].items == (_ALIAS,) and type(msg[0].tail) is Ref):
            control = (ALIAS_SEND_TAG, self._sender(), msg[0].tail)   # a reply to an OTP 24+ call
        else:
            control = (SEND_TAG, _UNUSED, proxy)
            if self._route(proxy.node, proxy, control, msg):
                return
        self._send_packets(proxy.node, [self._packet(control, msg)])

    def _route(self, node: str, key: Any, control: tuple[Any, ...], msg: Any) -> bool:
        """Send over an open connection and remember the route for ``key``;
        False if ``node`` is not connected (or sends to it are queued)."""
        conn = self.node.connection(node) if self.node is not None else None
        if conn is None or conn.closed or node in self._pending:
            return False
        body = self._encode(msg)                  # TypeError before anything is kept
        prefix = self._packet(control)
        if len(self._routes) >= _MAX_ROUTES:
            self._routes.clear()
        self._routes[key] = (conn, prefix)
        conn.send(prefix + body)
        return True

    def call(self, caller: Pid, proxy: Pid, ref: Ref, request: Any) -> None:
        """Monitor the server, then send it ``{'$gen_call', {caller, ref}, request}``."""
        name = _registered_name(proxy)
        message = self._packet((SEND_TAG, _UNUSED, proxy) if name is None else
                               (REG_SEND_TAG, caller, _UNUSED, name),
                               (_GEN_MESSAGES["$gen_call"], (caller, ref), request))
        self._track(proxy)
        monitor = self._packet((MONITOR_P_TAG, caller, self._target(proxy), ref))
        self._send_packets(proxy.node, [monitor, message])

    def link(self, local: Pid, proxy: Pid) -> None:
        self._track(proxy)
        self._send_packets(proxy.node, [self._packet((LINK_TAG, local, proxy))])

    def unlink(self, local: Pid, proxy: Pid) -> None:
        conn = self.node.connection(proxy.node) if self.node is not None else None
        if conn is not None and conn.flags & UNLINK_ID:
            self._unlink_id += 1
            control: tuple[Any, ...] = (UNLINK_ID_TAG, self._unlink_id, local, proxy)
        else:
            control = (UNLINK_TAG, local, proxy)
        self._send_packets(proxy.node, [self._packet(control)])
        self._untrack_if_idle(proxy)

    def monitor(self, local: Pid, proxy: Pid, ref: Ref) -> None:
        self._track(proxy)
        self._send_packets(proxy.node, [self._packet((MONITOR_P_TAG, local, self._target(proxy), ref))])

    def demonitor(self, local: Pid, proxy: Pid, ref: Ref) -> None:
        # After a call, the demonitor can wait for the next request: one write.
        self._send_packets(proxy.node,
                           [self._packet((DEMONITOR_P_TAG, local, self._target(proxy), ref))],
                           later=True)
        self._untrack_if_idle(proxy)

    def exit(self, sender: Pid | None, proxy: Pid, reason: Any, from_link: bool) -> None:
        """An exit signal to a remote process: through a link (``EXIT``) or
        sent with ``exit/2`` (``EXIT2``)."""
        if proxy.name_at is not None:
            return
        frm: Any = sender if sender is not None else (self.node.pid if self.node else _UNUSED)
        control = (EXIT_TAG if from_link else EXIT2_TAG, frm, proxy, _wire_reason(self.codec, reason))
        self._send_packets(proxy.node, [self._packet(control)])
        if from_link:
            self._untrack_if_idle(proxy)

    def down(self, local: Pid, proxy: Pid, ref: Ref, reason: Any) -> None:
        """A local process that ``proxy`` monitored exited."""
        frm = self._by_name.pop(ref, local)
        control = (MONITOR_P_EXIT_TAG, frm, proxy, ref, _wire_reason(self.codec, reason))
        self._send_packets(proxy.node, [self._packet(control)])
        self._untrack_if_idle(proxy)

    # -- remote spawn --------------------------------------------------------------------

    def spawn_request(self, node: str, caller: Pid, module: str, function: str,
                      args: list[Any], link: bool, monitor: bool = False) -> Ref:
        """Send a spawn request; the answer comes to ``caller`` as
        ``(req_id, pid | reason)``.  Returns ``req_id``, which is also the
        monitor's reference with ``monitor``."""
        req_id = lowlevel.make_ref()
        opts = ([_LINK] if link else []) + ([_MONITOR] if monitor else [])
        control = (SPAWN_REQUEST_TAG, req_id, caller, caller,
                   (Atom(module), Atom(function), len(args)), opts)
        packet = self._packet(control, list(args))
        self._spawns[req_id] = (node, caller, link, monitor)
        self._send_packets(node, [packet])
        return req_id

    def spawn_abandon(self, req_id: Ref) -> None:
        """The caller gave up waiting for ``req_id`` (Erlang's
        ``spawn_request_abandon``): nothing of it will reach the caller, and
        if the process is started after all, it gets an exit signal
        ``abandoned`` over the link that was asked for (else it runs on, as
        on the BEAM), and the monitor asked for is removed."""
        entry = self._spawns.pop(req_id, None)
        if entry is not None:
            self._abandoned[req_id] = entry

    def _spawn_reply(self, node: str, control: tuple[Any, ...]) -> None:
        _, req_id, _to, _flags, result = control
        abandoned = self._abandoned.pop(req_id, None)
        if abandoned is not None:
            self._undo_spawn(node, req_id, abandoned, result)
            return
        entry = self._spawns.pop(req_id, None)
        if entry is None:
            return
        _, caller, link, monitor = entry
        if type(result) is Pid:
            # The link and the monitor exist on the other node already: record
            # them now, before any signal of the new process is read.
            if link:
                if lowlevel.remote_link(result, caller):
                    self._track(result)
                else:
                    self._send_packets(node, [self._packet((EXIT_TAG, caller, result, _NOPROC))])
            if monitor:
                if lowlevel.remote_monitored(result, caller, req_id):
                    self._track(result)
                else:
                    self._send_packets(node, [self._packet((DEMONITOR_P_TAG, caller, result,
                                                            req_id))])
            lowlevel.send(caller, (req_id, result))
        else:
            lowlevel.send(caller, (req_id, term_to_reason(result)))

    def _undo_spawn(self, node: str, req_id: Ref, entry: tuple[str, Pid, bool, bool],
                    result: Any) -> None:
        """A spawn its caller gave up on started after all: undo the link and
        the monitor the other node made for it."""
        _, caller, link, monitor = entry
        if type(result) is not Pid or result.node != node:
            return
        undo: list[bytes] = []
        if link:
            undo.append(self._packet((EXIT_TAG, caller, result, _ABANDONED)))
        if monitor:
            undo.append(self._packet((DEMONITOR_P_TAG, caller, result, req_id)))
        if undo:
            self._send_packets(node, undo)

    def _serve_spawn(self, node: str, control: tuple[Any, ...], args: Any) -> None:
        _, req_id, frm, _gl, mfa, opts = control
        result: Any
        try:
            fn = self._allowed_function(mfa)
            if not isinstance(args, list):
                raise TypeError("the arguments must be a list")
            pid = lowlevel.spawn(fn, *args)
        except PermissionError:
            result = _NOT_ALLOWED
        except Exception as exc:  # noqa: BLE001 (the requester gets the reason)
            _logger.info("dist: spawn request %r from %s failed: %s", mfa, node, exc)
            result = _BADARG
        else:
            result = pid
            opts = opts if isinstance(opts, list) else []
            if _LINK in opts and type(frm) is Pid and not _is_local(frm):
                lowlevel.remote_link(frm, pid)
                self._track(frm)
            if _MONITOR in opts and type(frm) is Pid and not _is_local(frm):
                lowlevel.remote_monitor(frm, pid, req_id)
                self._track(frm)
        self._send_packets(node, [self._packet((SPAWN_REPLY_TAG, req_id, frm, 0, result))])

    def _allowed_function(self, mfa: Any) -> Callable[..., Any]:
        if not (type(mfa) is tuple and len(mfa) == 3 and isinstance(mfa[0], str)
                and isinstance(mfa[1], str)):
            raise TypeError(f"bad {{Module, Function, Arity}}: {mfa!r}")
        fn: Callable[..., Any] = remote.resolve_function(self.allow_spawn, str(mfa[0]), str(mfa[1]),
                                                         spawn=True)
        return fn

    # -- control messages from other nodes ----------------------------------------------

    def receive(self, conn: Connection, packet: bytes) -> bool:
        """The hot path of ``DistNode``'s reader: deliver a ``SEND``,
        ``SEND_SENDER`` or ``REG_SEND`` packet, or handle a call's ``MONITOR_P``
        or ``DEMONITOR_P``, and return True; False leaves the packet to the
        general path (``parse_packet``, then :meth:`dispatch`)."""
        if packet.startswith(_SENDS):
            by_name = False
        elif packet.startswith(_REG_SEND_PREFIX):
            by_name = True
        elif packet.startswith(_MONITOR_PREFIXES):
            return self._receive_monitor(conn, packet)
        else:
            return False
        try:
            control, end = self._decode_from(packet, 1)
            message, end = self._decode_from(packet, end)
        except (ValueError, RecursionError, TypeError):
            return False
        if end != len(packet) or type(control) is not tuple:
            return False
        if by_name:
            if len(control) != 4 or not isinstance(control[3], str):
                return False
            if control[3] == "net_kernel":
                return False                    # DistNode answers it
            self._to_name(conn.peer_name, str(control[3]), message)
            return True
        if len(control) != 3 or type(control[2]) is not Pid:
            return False                        # e.g. the node's own pseudo-process: DistNode's
        self._deliver(control[2], message)
        return True

    def _receive_monitor(self, conn: Connection, packet: bytes) -> bool:
        """The hot path of a call's ``MONITOR_P`` and ``DEMONITOR_P`` (each call
        brings both): as :meth:`dispatch` handles them, without its detours."""
        try:
            control, end = self._decode_from(packet, 1)
        except (ValueError, RecursionError, TypeError):
            return False
        if end != len(packet) or type(control) is not tuple or len(control) != 4:
            return False
        if control[0] == MONITOR_P_TAG:
            self._monitored(conn.peer_name, control)
        else:
            self._demonitored(conn.peer_name, control)
        return True

    def dispatch(self, node: str, control: tuple[Any, ...], message: Any) -> None:
        """One control message from ``node`` (``DistNode.on_control``)."""
        tag = control[0]
        if tag == SEND_TAG or tag == SEND_SENDER_TAG:
            self._deliver(control[2], message)
        elif tag == REG_SEND_TAG:
            name = control[3]
            if isinstance(name, str):
                self._to_name(node, str(name), message)
        elif tag == ALIAS_SEND_TAG:
            self._deliver_alias(control[2], message)
        elif tag == LINK_TAG:
            _, frm, to = control
            if self._from(node, frm) and _is_local(to):
                if lowlevel.remote_link(frm, to):
                    self._track(frm)
                else:
                    self._send_packets(node, [self._packet((EXIT_TAG, to, frm, _NOPROC))])
        elif tag == UNLINK_ID_TAG:
            _, unlink_id, frm, to = control
            if self._from(node, frm) and _is_local(to):
                lowlevel.remote_unlink(frm, to)
                self._send_packets(node, [self._packet((UNLINK_ID_ACK_TAG, unlink_id, to, frm))])
                self._untrack_if_idle(frm)
        elif tag == UNLINK_TAG:
            _, frm, to = control
            if self._from(node, frm) and _is_local(to):
                lowlevel.remote_unlink(frm, to)
        elif tag in (EXIT_TAG, EXIT2_TAG, PAYLOAD_EXIT_TAG, PAYLOAD_EXIT2_TAG):
            frm, to = control[1], control[2]
            reason = control[3] if tag in (EXIT_TAG, EXIT2_TAG) else message
            if self._from(node, frm) and _is_local(to):
                lowlevel.remote_exit(frm, to, term_to_reason(reason),
                                     tag in (EXIT_TAG, PAYLOAD_EXIT_TAG))
        elif tag == MONITOR_P_TAG:
            self._monitored(node, control)
        elif tag == DEMONITOR_P_TAG:
            self._demonitored(node, control)
        elif tag in (MONITOR_P_EXIT_TAG, PAYLOAD_MONITOR_P_EXIT_TAG):
            _, frm, to, ref = control[:4]
            reason = control[4] if tag == MONITOR_P_EXIT_TAG else message
            self._monitor_fired(node, ref, reason)
        elif tag == SPAWN_REQUEST_TAG:
            self._serve_spawn(node, control, message)
        elif tag == SPAWN_REPLY_TAG:
            self._spawn_reply(node, control)
        elif tag in (GROUP_LEADER_TAG, UNLINK_ID_ACK_TAG):
            pass
        else:
            _logger.debug("dist: from %s, unhandled control %r", node, control)

    def _to_name(self, node: str, name: str, message: Any) -> None:
        """A message from ``node`` to the name ``name`` here: to the process
        registered under it, else to the service of that name, else dropped."""
        to = lowlevel.whereis(name)
        if to is not None:
            self._deliver(to, message)
        elif name in self.services:
            self._serve(node, name, message)

    def _serve(self, node: str, name: str, message: Any) -> None:
        """``{Ref, From, Request}`` to the service ``name``: answer it in a
        process of its own."""
        if not (type(message) is tuple and len(message) == 3 and type(message[0]) is Ref
                and self._from(node, message[1])):
            _logger.debug("dist: %s sent the service %s a message that is not "
                          "{Ref, From, Request}; dropped", node, name)
            return
        ref, frm, request = message
        if self._serving.get(name, 0) >= MAX_SERVING:
            lowlevel.send(frm, (ref, (_ERROR, _BUSY)))
            return
        self._serving[name] = self._serving.get(name, 0) + 1
        lowlevel.spawn(self._answer, name, self.services[name], ref, frm, request)

    async def _answer(self, name: str, handler: Callable[[Any], Awaitable[Any]], ref: Ref,
                      frm: Pid, request: Any) -> None:
        try:
            try:
                answer: Any = (_OK, await handler(request))
            except Exception as exc:  # noqa: BLE001 (the asker gets the reason)
                answer = (_ERROR, f"{type(exc).__name__}: {exc}")
            try:
                lowlevel.send(frm, (ref, answer))
            except TypeError as exc:  # the answer cannot travel
                lowlevel.send(frm, (ref, (_ERROR, f"TypeError: {exc}")))
        finally:
            self._serving[name] -= 1

    @staticmethod
    def _from(node: str, pid: Any) -> bool:
        """A signal's sender must be a process of the node that sent it (a
        peer cannot speak for a third node)."""
        return type(pid) is Pid and pid.node == node

    def _deliver(self, to: Any, message: Any) -> None:
        if type(to) is not Pid or to.node != self._self_name:
            return                      # not ours: never forwarded
        if type(message) is tuple and len(message) == 2 and type(message[0]) is Ref:
            lowlevel.reply((to, message[0]), message[1])   # a late reply to a call is dropped
        else:
            lowlevel.send(to, message)

    @staticmethod
    def _deliver_alias(alias: Any, message: Any) -> None:
        # Our calls use plain reference tags, so an alias send can only answer
        # one with [alias | Ref]: deliver nothing we did not ask for.
        _logger.debug("dist: alias send to %r dropped", alias)

    def _monitored(self, node: str, control: tuple[Any, ...]) -> None:
        _, frm, target, ref = control
        if not self._from(node, frm) or type(ref) is not Ref:
            return
        by_name = isinstance(target, Atom)
        if by_name and (target == "net_kernel" or (target in self.services
                                                   and lowlevel.whereis(str(target)) is None)):
            return      # DistNode answers net_kernel, the bridge its services: they live
                        # as long as the node (a monitor of one fires only "noconnection")
        if by_name:
            local: Any = str(target)
        elif _is_local(target):
            local = target
        else:
            local = None
        pid = lowlevel.remote_monitor(frm, local, ref) if local is not None else None
        if pid is None:
            self._send_packets(node, [self._packet((MONITOR_P_EXIT_TAG, target, frm, ref, _NOPROC))])
            return
        if by_name:
            self._by_name[ref] = target
        self._track(frm)

    def _demonitored(self, node: str, control: tuple[Any, ...]) -> None:
        _, frm, _to, ref = control
        if self._from(node, frm) and type(ref) is Ref:
            self._by_name.pop(ref, None)
            lowlevel.remote_demonitor(frm, ref)
            self._untrack_if_idle(frm)

    def _monitor_fired(self, node: str, ref: Any, reason: Any) -> None:
        if type(ref) is not Ref:
            return
        for proxy in list(self._proxies.get(node, ())):
            if lowlevel.remote_down(proxy, ref, term_to_reason(reason)):
                self._untrack_if_idle(proxy)
                return

    # -- connection loss -----------------------------------------------------------------

    def _gone(self, node: str) -> None:
        for proxy in self._proxies.pop(node, set()):
            lowlevel.remote_gone(proxy, "noconnection")
        for req_id, (n, caller, _, _) in list(self._spawns.items()):
            if n == node:
                del self._spawns[req_id]
                lowlevel.send(caller, (req_id, "noconnection"))
        for req_id in [r for r, entry in self._abandoned.items() if entry[0] == node]:
            del self._abandoned[req_id]

    def _nodedown(self, node: str, reason: str) -> None:
        self._gone(node)
        if self.on_nodedown is not None:
            self.on_nodedown(node, reason)

    def close(self) -> None:
        """The node is stopping: every link and monitor over it fires."""
        for node in list(self._proxies):
            self._gone(node)
        self._pending.clear()
        remote.serve(None)


def _registered_name(proxy: Pid) -> Atom | None:
    """For the handle of a name on another node, the name as an atom."""
    at = proxy.name_at
    return None if at is None else Atom(at[0])


def _wire_reason(codec: Codec, reason: Any) -> Any:
    """``reason`` as it can travel: if it cannot be encoded, its repr."""
    term = reason_to_term(reason)
    try:
        codec.encode(term)
    except (TypeError, ValueError, RecursionError):
        return repr(reason)
    return term
