"""Nodes: this runtime as a node of an Erlang cluster (``actors.Node``).

A node has a name (``"py@localhost"``), registers it with epmd, and speaks
the Erlang distribution protocol: other actors nodes, Erlang and Elixir
nodes connect to it, and from then on processes on either side are pids to
each other.  ``send``, ``link``, ``monitor``, ``exit``, ``GenServer.call``
and friends take those pids, and ``(name, node)`` for a registered name on
another node, as they take local ones.  See the "Distribution" guide.

Example:
    >>> async def main():
    ...     await actors.Node.start("doc@127.0.0.1", cookie="secret")
    ...     try:
    ...         return actors.Node.self(), actors.Node.alive()
    ...     finally:
    ...         await actors.Node.stop()
    >>> actors.run(main)
    ('doc@127.0.0.1', True)
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple

from . import lowlevel
from .dist.bridge import Bridge
from .dist.cookie import check_cookie, read_cookie
from .dist.flags import PUBLISHED
from .dist.node import DistNode
from .dist.remote import function_to_wire
from .dist.tls import SSLOption, warn_if_unencrypted
from .dist.tls import split as split_ssl
from .lowlevel import Pid, Ref

__all__ = ["Node", "NodeDown"]

_logger = logging.getLogger("actors.dist")

#: How long ``Node.spawn`` waits for the other node's answer, in seconds.
SPAWN_TIMEOUT = 10.0


class NodeDown(NamedTuple):
    """The message ``Node.monitor(node)`` delivers once when the connection
    to ``node`` is lost (Erlang's ``{nodedown, Node}``)."""
    node: str


class _State:
    """The running node: its wire, its bridge, and who monitors which node."""

    def __init__(self, dist: DistNode, bridge: Bridge, ssl: SSLOption = None) -> None:
        self.dist = dist
        self.bridge = bridge
        self.ssl = ssl
        self.monitors: dict[str, list[Pid]] = {}


_state: _State | None = None

#: The services every node of this runtime answers (name -> handler), set by
#: ``set_service``: names no process holds that other nodes send
#: ``{Ref, From, Request}`` to (see ``actors.dist.bridge``).
SERVICES: dict[str, Callable[[Any], Awaitable[Any]]] = {}


def set_service(name: str, handler: Callable[[Any], Awaitable[Any]]) -> None:
    """Answer requests to the name ``name`` on the nodes started from now on:
    a connected node sends ``(ref, its_pid, request)`` to ``(name, node)``
    and gets ``(ref, ("ok", await handler(request)))``, or ``(ref,
    ("error", why))``.  A process registered under ``name`` takes precedence.
    (A hook: ``actors/__init__.py`` registers the observer's.)"""
    if not isinstance(name, str) or not name:
        raise TypeError(f"set_service(name): must be a non-empty str, got {name!r}")
    SERVICES[name] = handler


def _need(what: str) -> _State:
    if _state is None:
        raise RuntimeError(f"Node.{what}: this runtime is not a node: start one with "
                           f"`await actors.Node.start(name)` or actors.run(main, node=name)")
    return _state


def _check_node(node: Any, what: str) -> str:
    if not isinstance(node, str):
        raise TypeError(f"Node.{what}(node): node must be a str like 'name@host', got {node!r}")
    name, _, host = node.partition("@")
    if not name or not host or "@" in host:
        raise ValueError(f"Node.{what}(node): node must be 'name@host', got {node!r}")
    return str(node)


def _check_allow_spawn(value: Any) -> bool | list[str] | None:
    if value is None or value is True or value is False:
        return None if value is False else value
    if isinstance(value, (list, tuple)):
        modules: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        if all(isinstance(m, str) for m in modules):
            return modules
    raise TypeError(f"Node.start(allow_spawn=...): must be None, True or a list of module "
                    f"names, got {value!r}")


class Node:
    """This runtime as a node of an Erlang cluster (all static methods).

    One node per runtime: ``start`` makes the runtime the node, ``stop``
    ends it (every link and monitor to another node then fires with
    ``"noconnection"``).
    """

    def __init__(self) -> None:
        raise TypeError("actors.Node is a namespace: call its static methods, "
                        "e.g. await actors.Node.start('py@localhost')")

    @staticmethod
    async def start(name: str, cookie: str | bytes | None = None, *, hidden: bool = True,
                    listen: str = "127.0.0.1", allow_spawn: bool | list[str] | None = None,
                    ssl: SSLOption = None, epmd_port: int | None = None,
                    ticktime: float | None = None) -> str:
        """Make this runtime the node ``name`` (``"name@host"``).

        It registers with the epmd on ``epmd_port`` (default
        ``ERL_EPMD_PORT``, else 4369), starting Erlang's ``epmd`` if none
        runs, or the one built into actors if Erlang is not installed.

        Args:
            name: the node's name; peers reach it at the host after ``@``.
            cookie: the cluster's shared secret; None reads
                ``~/.erlang.cookie`` (created, mode 0600, if missing), as
                ``erl`` does.
            hidden: a hidden node (the default) does not join ``global``.
            listen: the interface to listen on (loopback by default).
            allow_spawn: the modules other nodes may spawn functions of
                (``True``: any; ``None``: none, spawns fail ``not_allowed``).
            ssl: TLS distribution (``-proto_dist inet_tls``): a ``(server,
                client)`` pair of ``ssl.SSLContext``, e.g. from
                ``actors.dist.tls.contexts(certfile, keyfile, cafile=...)``.
                Listening beyond loopback without it logs a warning.
            epmd_port: the epmd port.
            ticktime: ``net_ticktime`` in seconds (default 60).

        Returns:
            The node's name.

        Raises:
            RuntimeError: the runtime is a node already, or none is running.
            TypeError, ValueError: a bad argument (named).
            actors.dist.epmd.AlreadyRegistered: another node has the name.
        """
        global _state
        _check_node(name, "start")
        if lowlevel.current_scheduler() is None:
            raise RuntimeError("Node.start: no actors runtime is running")
        if _state is not None:
            raise RuntimeError(f"Node.start: this runtime is the node {_state.dist.name} already")
        cookie = read_cookie() if cookie is None else check_cookie(cookie, "Node.start(cookie)")
        if not isinstance(hidden, bool):
            raise TypeError(f"Node.start(hidden=...): must be a bool, got {hidden!r}")
        if not isinstance(listen, str):
            raise TypeError(f"Node.start(listen=...): must be a str, got {listen!r}")
        server_ssl, _ = split_ssl(ssl, "Node.start(ssl)")
        bridge = Bridge(_check_allow_spawn(allow_spawn), SERVICES)
        options: dict[str, Any] = {}
        if ticktime is not None:
            options["ticktime"] = ticktime
        if ssl is not None:
            options["ssl"] = ssl
        dist = await DistNode.start(name, cookie, host=listen, epmd_port=epmd_port, hidden=hidden,
                                    codec=bridge.codec, **options)
        warn_if_unencrypted(listen, server_ssl)
        bridge.attach(dist)
        state = _State(dist, bridge, ssl)
        bridge.on_nodedown = lambda node, reason: _nodedown(state, node)
        lowlevel.set_node(name, dist.creation, bridge)
        _state = state
        return name

    @staticmethod
    async def stop() -> None:
        """Stop being a node: close every connection (links and monitors to
        other nodes fire ``"noconnection"``), unregister from epmd."""
        global _state
        state = _state
        if state is None:
            return
        _state = None
        try:
            await state.dist.stop()
            state.bridge.close()
        finally:
            lowlevel.set_node(None)

    @staticmethod
    def self() -> str:
        """This node's name; ``"nonode@nohost"`` when the runtime is not a node."""
        return lowlevel.node_name()

    @staticmethod
    def alive() -> bool:
        """True when the runtime is a node."""
        return _state is not None

    @staticmethod
    def list() -> list[str]:
        """The nodes connected now (hidden ones too)."""
        return _state.dist.nodes() if _state is not None else []

    @staticmethod
    def info(node: str) -> dict[str, Any] | None:
        """The connection to ``node`` now (``net_kernel:node_info``); None
        when it is not connected.

        Returns:
            ``{"node", "type"`` (``"normal"`` or ``"hidden"``: the peer's
            kind), ``"address"`` (``"host:port"`` of the peer's end),
            ``"tls"``, ``"since"`` (Unix time of the handshake),
            ``"packets_in"``, ``"packets_out"`` (messages and signals; ticks
            not counted), ``"bytes_in"``, ``"bytes_out"`` (what crossed the
            socket, framing and ticks included), ``"buffered"`` (bytes
            written but not yet sent)``}``.
        """
        _check_node(node, "info")
        conn = _state.dist.connection(node) if _state is not None else None
        if conn is None or conn.closed:
            return None
        return {"node": node, "type": "normal" if conn.peer_flags & PUBLISHED else "hidden",
                "address": conn.peer_address, "tls": conn.tls, "since": conn.opened_at,
                "packets_in": conn.packets_in, "packets_out": conn.packets_out,
                "bytes_in": conn.bytes_in, "bytes_out": conn.bytes_out,
                "buffered": conn.buffered}

    @staticmethod
    async def connect(node: str) -> bool:
        """Connect to ``node`` unless connected; True when a connection is up."""
        _check_node(node, "connect")
        state = _need("connect")
        return await state.dist.connect(node)

    @staticmethod
    async def disconnect(node: str) -> bool:
        """Close the connection to ``node``; True if there was one."""
        _check_node(node, "disconnect")
        state = _need("disconnect")
        return state.dist.disconnect(node)

    @staticmethod
    async def ping(node: str, timeout: float = 5.0) -> str:
        """``net_adm:ping``: ``"pong"`` if ``node`` answers, else ``"pang"``."""
        _check_node(node, "ping")
        lowlevel.check_seconds(timeout, "Node.ping(timeout)", allow_none=False)
        if _state is None:
            return "pang"
        return await _state.dist.ping(node, timeout=timeout)

    @staticmethod
    def monitor(node: str, flag: bool = True) -> None:
        """Monitor the connection to ``node`` (``erlang:monitor_node``): the
        caller gets ``NodeDown(node)`` once when it is lost, or at once if
        it cannot be made.  ``flag=False`` removes one such monitor."""
        _check_node(node, "monitor")
        if not isinstance(flag, bool):
            raise TypeError(f"Node.monitor(flag): must be a bool, got {flag!r}")
        me = lowlevel.self()
        state = _state
        if state is None:
            if flag:
                lowlevel.send(me, NodeDown(node))
            return
        watchers = state.monitors.setdefault(node, [])
        if not flag:
            if me in watchers:
                watchers.remove(me)
            return
        watchers.append(me)
        if node not in state.dist.nodes():
            state.dist._spawn(_connect_or_down(state, node))

    # -- remote spawn ------------------------------------------------------------------

    @staticmethod
    async def spawn(node: str, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Pid:
        """Start ``fn(*args)`` as a process on ``node``; its Pid.

        ``fn`` is a module-level async function: the other node imports it by
        module and qualified name, if its ``allow_spawn`` lets it.

        Raises:
            TypeError: ``fn`` is not an async function defined at the top
                level of a module (a lambda, a closure, a bound method).
            actors.StartError: the node refused (reason ``"not_allowed"``),
                could not start it (``"badarg"``), is unreachable
                (``"noconnection"``) or did not answer within
                ``SPAWN_TIMEOUT`` seconds (``"timeout"``: the request is
                abandoned, as Erlang's ``spawn_request_abandon``; a process
                it starts later is sent exit ``"abandoned"`` if it was to be
                linked).
        """
        pid, _ = await _spawn(node, fn, args, link=False, monitor=False, what="spawn")
        return pid

    @staticmethod
    async def spawn_link(node: str, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Pid:
        """``spawn``, linked to the caller atomically."""
        pid, _ = await _spawn(node, fn, args, link=True, monitor=False, what="spawn_link")
        return pid

    @staticmethod
    async def spawn_monitor(node: str, fn: Callable[..., Coroutine[Any, Any, Any]],
                            *args: Any) -> tuple[Pid, Ref]:
        """``spawn``, monitored by the caller atomically: ``(pid, ref)``."""
        pid, ref = await _spawn(node, fn, args, link=False, monitor=True, what="spawn_monitor")
        assert ref is not None
        return pid, ref


async def _spawn(node: str, fn: Any, args: tuple[Any, ...], *, link: bool, monitor: bool,
                 what: str) -> tuple[Pid, Ref | None]:
    _check_node(node, what)
    lowlevel.check_async_fn(fn, f"Node.{what}")
    module, qualname = (str(part) for part in function_to_wire(fn, f"Node.{what}", node))
    me = lowlevel.self()
    if node == lowlevel.node_name():
        if monitor:
            return lowlevel.spawn_monitor(fn, *args)
        return (lowlevel.spawn_link(fn, *args) if link else lowlevel.spawn(fn, *args)), None
    state = _need(what)
    req = state.bridge.spawn_request(node, me, module, qualname, list(args), link, monitor)
    try:
        _, result = await lowlevel.receive((req, lowlevel.ANY), timeout=SPAWN_TIMEOUT)
    except lowlevel.Timeout:
        state.bridge.spawn_abandon(req)
        raise lowlevel.StartError("timeout", f"Node.{what}: {node} did not answer within "
                                             f"{SPAWN_TIMEOUT:g} s") from None
    if type(result) is not Pid:
        raise lowlevel.StartError(result, f"Node.{what}: {node} did not start "
                                          f"{module}.{qualname}: {result}")
    return result, (req if monitor else None)


async def _connect_or_down(state: _State, node: str) -> None:
    if not await state.dist.connect(node):
        _nodedown(state, node)


def _nodedown(state: _State, node: str) -> None:
    for pid in state.monitors.pop(node, []):
        lowlevel.send(pid, NodeDown(node))


def start_options() -> dict[str, Any]:
    """How this runtime's node was started: ``name``, ``cookie``, ``listen``,
    ``epmd_port`` (resolved), ``ticktime``, ``hidden`` and ``ssl``; what
    ``actors.peer`` needs to start nodes that join it.

    Raises:
        RuntimeError: the runtime is not a node.
    """
    state = _need("start_options")
    dist = state.dist
    from .dist.epmd import default_epmd_port
    return {"name": dist.name, "cookie": dist.cookie, "listen": dist.host,
            "epmd_port": dist.epmd_port if dist.epmd_port is not None else default_epmd_port(),
            "ticktime": dist.ticktime, "hidden": dist.hidden, "ssl": state.ssl}


async def start_for_run(name: str, cookie: str | bytes | None) -> Callable[[], Coroutine[Any, Any, None]]:
    """``run(main, node=..., cookie=...)``: start the node; returns its ``stop``."""
    await Node.start(name, cookie)
    return Node.stop
