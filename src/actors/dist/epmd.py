"""EPMD, the Erlang Port Mapper Daemon: a client and a compatible server.

Every Erlang node registers its name and distribution port with the epmd of
its host (TCP port 4369, or ``ERL_EPMD_PORT``); a node that wants to connect
to ``name@host`` first asks the epmd of ``host`` for that name's port.  The
protocol (ERTS User's Guide, "Distribution Protocol", section EPMD) is a
request of ``u16 length, bytes`` on a fresh TCP connection, and an answer:

=====================  =====  =================================================
request                tag    answer
=====================  =====  =================================================
``ALIVE2_REQ``         120    ``ALIVE2_X_RESP`` (118): result, u32 creation;
                              (121, ``ALIVE2_RESP``, u16 creation, from epmds
                              before OTP 23).  The connection stays open for
                              the node's life: closing it unregisters the name.
``PORT_PLEASE2_REQ``   122    ``PORT2_RESP`` (119): result, then port, node
                              type (77 normal, 72 hidden), protocol (0 TCP),
                              highest and lowest version, name, extra.
``NAMES_REQ``          110    u32 epmd port, then ``name N at port P\\n`` lines.
=====================  =====  =================================================

The client: :func:`register` (keep the returned :class:`Registration` for as
long as the node is up), :func:`port_please`, :func:`names`.  The server:
:class:`EpmdServer`, which behaves like Erlang's ``epmd`` for these three
requests (the same creation numbering, the same ``NAMES`` bytes), for machines
without Erlang; ``python -m actors epmd`` runs it.  :func:`ensure_epmd` makes
sure some epmd answers on a port.

Plain asyncio: epmd is spoken once per connection set-up, never on a hot path.
This module imports nothing from ``actors``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import shutil
import signal
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Self

__all__ = [
    "EPMD_PORT",
    "NODE_TYPE_HIDDEN",
    "NODE_TYPE_NORMAL",
    "AlreadyRegistered",
    "EpmdError",
    "EpmdHandle",
    "EpmdServer",
    "EpmdUnavailable",
    "NodeInfo",
    "Registration",
    "default_epmd_port",
    "ensure_epmd",
    "names",
    "parse_node_name",
    "port_please",
    "register",
]

log = logging.getLogger("actors.dist.epmd")

#: epmd's well-known port, used when ``ERL_EPMD_PORT`` is not set.
EPMD_PORT = 4369
#: the node types of ``ALIVE2_REQ`` / ``PORT2_RESP``
NODE_TYPE_NORMAL = 77
NODE_TYPE_HIDDEN = 72
#: the distribution protocol version this implementation speaks (OTP 23+)
DIST_VERSION = 6

ALIVE2_REQ = 120
ALIVE2_X_RESP = 118
ALIVE2_RESP = 121
PORT_PLEASE2_REQ = 122
PORT2_RESP = 119
NAMES_REQ = 110

#: the longest node name, in characters (epmd's limit) and in UTF-8 bytes
MAX_NAME_CHARS = 255
MAX_NAME_BYTES = 4 * MAX_NAME_CHARS
#: the longest request the server reads (epmd's input buffer is 3 names long)
MAX_REQUEST = 3 * MAX_NAME_BYTES
#: the longest answer the client reads (a NAMES answer of many nodes)
MAX_ANSWER = 1 << 20

_NAMES_LINE = re.compile(rb"name (.+) at port (\d+)")


class EpmdError(Exception):
    """epmd refused a request, answered nonsense, or could not be reached.

    ``result`` is the non-zero result code of epmd's answer, or None.
    """

    def __init__(self, message: str, result: int | None = None):
        super().__init__(message)
        self.result = result


class EpmdUnavailable(EpmdError):
    """No epmd answers at that address (connection refused or timed out)."""


class AlreadyRegistered(EpmdError):
    """epmd refused ``ALIVE2_REQ``: the name is taken by a live node.

    (epmd answers the same result code, 1, for a name it finds invalid; the
    client checks names before sending them, so a refusal means "taken".)
    """


def default_epmd_port() -> int:
    """The port of the local epmd: ``ERL_EPMD_PORT`` if set (as ``erl`` does), else 4369."""
    value = os.environ.get("ERL_EPMD_PORT")
    if not value:
        return EPMD_PORT
    try:
        return _check_port(int(value), "ERL_EPMD_PORT")
    except ValueError:
        raise ValueError(f"ERL_EPMD_PORT must be a TCP port number (1-65535), "
                         f"got {value!r}") from None


def parse_node_name(node: str) -> tuple[str, str | None]:
    """Split a node name ``"name@host"`` into ``("name", "host")``.

    A bare ``"name"`` gives ``("name", None)``.  Raises TypeError if ``node``
    is not a str, ValueError if either part is empty or the name part is not
    one epmd accepts (1-255 characters, no NUL).
    """
    if not isinstance(node, str):
        raise TypeError(f"node name must be a str like 'name@host', got {type(node).__name__}")
    alive, at, host = node.partition("@")
    if at and not host:
        raise ValueError(f"node name {node!r} has an empty host part after '@'")
    _check_alive(alive, "node name")
    return alive, (host if at else None)


def _check_alive(alive: str, what: str) -> str:
    if not alive:
        raise ValueError(f"{what} must not be empty")
    if "\0" in alive:
        raise ValueError(f"{what} {alive!r} contains a NUL character")
    if len(alive) > MAX_NAME_CHARS:
        raise ValueError(f"{what} is {len(alive)} characters long; epmd takes at most "
                         f"{MAX_NAME_CHARS}")
    try:
        alive.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {alive!r} is not encodable as UTF-8") from None
    return alive


def _check_port(port: object, what: str, *, zero: bool = False) -> int:
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{what} must be an int, got {type(port).__name__}")
    if not (0 if zero else 1) <= port <= 65535:
        raise ValueError(f"{what} must be a TCP port number ({0 if zero else 1}-65535), "
                         f"got {port}")
    return port


def _check_host(host: object, what: str = "host") -> str:
    if not isinstance(host, str):
        raise TypeError(f"{what} must be a str, got {type(host).__name__}")
    if not host:
        raise ValueError(f"{what} must not be empty")
    return host


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    return float(timeout)


def _resolve_epmd_port(epmd_port: int | None) -> int:
    return default_epmd_port() if epmd_port is None else _check_port(epmd_port, "epmd_port")


# -- the client ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeInfo:
    """What epmd knows of a registered node (the fields of ``PORT2_RESP``)."""

    name: str
    port: int
    node_type: int
    protocol: int
    highest_version: int
    lowest_version: int
    extra: bytes = b""

    @property
    def hidden(self) -> bool:
        """True for a hidden node (node type 72), which joins no global group."""
        return self.node_type == NODE_TYPE_HIDDEN


async def _connect(host: str, port: int,
                   timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(host, port)
    except TimeoutError:
        raise EpmdUnavailable(f"no answer from epmd at {host}:{port} within {timeout} s") from None
    except OSError as e:
        raise EpmdUnavailable(f"cannot reach epmd at {host}:{port}: {e.strerror or e} "
                              f"(is epmd running? `epmd -daemon`, or "
                              f"`python -m actors epmd`)") from e


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _packet(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


class Registration:
    """A name registered with epmd, for as long as this object stays open.

    epmd keeps the name while the ``ALIVE2`` connection is open: keep the
    registration for the node's life, :meth:`close` it (or leave the ``async
    with`` block) to unregister.  ``creation`` is the number epmd gave this
    incarnation of the node (it goes into the node's pids, refs and ports).
    """

    def __init__(self, name: str, port: int, creation: int, hidden: bool,
                 epmd_address: tuple[str, int],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.name = name
        self.port = port
        self.creation = creation
        self.hidden = hidden
        self.epmd_address = epmd_address
        self._reader = reader
        self._writer = writer

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called or epmd closed the connection."""
        return self._writer.is_closing() or self._reader.at_eof()

    async def close(self) -> None:
        """Unregister: close the connection to epmd (idempotent)."""
        await _close(self._writer)

    async def wait_closed(self) -> None:
        """Wait until the registration ends (epmd went away, or :meth:`close`)."""
        with contextlib.suppress(OSError):
            while await self._reader.read(256):
                pass
        await _close(self._writer)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (f"<Registration {self.name!r} port={self.port} creation={self.creation} "
                f"epmd={self.epmd_address[0]}:{self.epmd_address[1]} {state}>")


async def register(name: str, port: int, *, hidden: bool = True, host: str = "127.0.0.1",
                   epmd_port: int | None = None, extra: bytes = b"",
                   timeout: float = 5.0) -> Registration:
    """Register ``name`` (listening on ``port``) with the epmd at ``host``.

    Args:
        name: the node's name, ``"name"`` or ``"name@host"`` (epmd stores the
            part before ``@``).
        port: the TCP port the node accepts distribution connections on.
        hidden: register as a hidden node (type 72, the default: a Python
            node joins no global group) or as a normal node (type 77).
        host: where epmd runs; epmd accepts registrations from its own host only.
        epmd_port: epmd's port; default ``ERL_EPMD_PORT``, else 4369.
        extra: the ``Extra`` field, returned by ``port_please``.
        timeout: seconds for connecting and for the answer.

    Returns:
        an open :class:`Registration`: keep it for the node's life.

    Raises:
        AlreadyRegistered: a live node has that name.
        EpmdUnavailable: no epmd answers at ``host:epmd_port``.
        EpmdError: epmd answered something else than ``ALIVE2`` answers.
    """
    alive, _ = parse_node_name(name)
    _check_port(port, "port")
    if not isinstance(hidden, bool):
        raise TypeError(f"hidden must be a bool, got {type(hidden).__name__}")
    _check_host(host)
    epmd_port = _resolve_epmd_port(epmd_port)
    if not isinstance(extra, (bytes, bytearray)):
        raise TypeError(f"extra must be bytes, got {type(extra).__name__}")
    if len(extra) > MAX_NAME_BYTES:
        raise ValueError(f"extra is {len(extra)} bytes long; epmd takes at most {MAX_NAME_BYTES}")
    timeout = _check_timeout(timeout)
    raw = alive.encode("utf-8")
    body = (struct.pack(">BHBBHHH", ALIVE2_REQ, port,
                        NODE_TYPE_HIDDEN if hidden else NODE_TYPE_NORMAL, 0,
                        DIST_VERSION, DIST_VERSION, len(raw))
            + raw + struct.pack(">H", len(extra)) + bytes(extra))
    reader, writer = await _connect(host, epmd_port, timeout)
    try:
        async with asyncio.timeout(timeout):
            writer.write(_packet(body))
            await writer.drain()
            tag, result = await reader.readexactly(2)
            if tag == ALIVE2_X_RESP:
                (creation,) = struct.unpack(">I", await reader.readexactly(4))
            elif tag == ALIVE2_RESP:                     # an epmd from before OTP 23
                (creation,) = struct.unpack(">H", await reader.readexactly(2))
            else:
                raise EpmdError(f"epmd at {host}:{epmd_port} answered ALIVE2_REQ with "
                                f"tag {tag}, not {ALIVE2_X_RESP} or {ALIVE2_RESP}")
    except TimeoutError:
        await _close(writer)
        raise EpmdUnavailable(f"epmd at {host}:{epmd_port} did not answer ALIVE2_REQ "
                              f"within {timeout} s") from None
    except (asyncio.IncompleteReadError, OSError) as e:
        await _close(writer)
        raise EpmdError(f"epmd at {host}:{epmd_port} closed the connection instead of "
                        f"answering ALIVE2_REQ for {alive!r} (a remote epmd only takes "
                        f"registrations from its own host)") from e
    except BaseException:
        await _close(writer)
        raise
    if result != 0:
        await _close(writer)
        raise AlreadyRegistered(f"epmd at {host}:{epmd_port} refused to register {alive!r} "
                                f"(result {result}): a live node already has that name",
                                result)
    return Registration(alive, port, creation, hidden, (host, epmd_port), reader, writer)


async def _request(host: str, epmd_port: int, body: bytes, timeout: float,
                   what: str) -> bytes:
    """Send one request, read the whole answer (epmd closes after it)."""
    reader, writer = await _connect(host, epmd_port, timeout)
    try:
        async with asyncio.timeout(timeout):
            writer.write(_packet(body))
            await writer.drain()
            answer: bytes = await reader.read(MAX_ANSWER + 1)
            while answer and len(answer) <= MAX_ANSWER:
                more = await reader.read(MAX_ANSWER + 1 - len(answer))
                if not more:
                    break
                answer += more
    except TimeoutError:
        raise EpmdUnavailable(f"epmd at {host}:{epmd_port} did not answer {what} "
                              f"within {timeout} s") from None
    except OSError as e:
        raise EpmdError(f"epmd at {host}:{epmd_port} failed during {what}: {e}") from e
    finally:
        await _close(writer)
    if len(answer) > MAX_ANSWER:
        raise EpmdError(f"epmd at {host}:{epmd_port} answered {what} with more than "
                        f"{MAX_ANSWER} bytes")
    return answer


async def port_please(name: str, host: str | None = None, epmd_port: int | None = None, *,
                      timeout: float = 5.0) -> NodeInfo | None:
    """Ask the epmd at ``host`` where node ``name`` listens (``PORT_PLEASE2_REQ``).

    Args:
        name: ``"name@host"`` or ``"name"``.
        host: where to ask; default the host part of ``name``, else 127.0.0.1.
        epmd_port: epmd's port; default ``ERL_EPMD_PORT``, else 4369.
        timeout: seconds for connecting and for the answer.

    Returns:
        the node's :class:`NodeInfo`, or None when no node of that name is registered.

    Raises:
        EpmdUnavailable: no epmd answers.
        EpmdError: the answer is not a ``PORT2_RESP``.
    """
    alive, node_host = parse_node_name(name)
    host = _check_host(host) if host is not None else (node_host or "127.0.0.1")
    epmd_port = _resolve_epmd_port(epmd_port)
    timeout = _check_timeout(timeout)
    answer = await _request(host, epmd_port, bytes([PORT_PLEASE2_REQ]) + alive.encode("utf-8"),
                            timeout, "PORT_PLEASE2_REQ")
    if len(answer) < 2 or answer[0] != PORT2_RESP:
        raise EpmdError(f"epmd at {host}:{epmd_port} answered PORT_PLEASE2_REQ with "
                        f"{answer[:16]!r}, not a PORT2_RESP")
    if answer[1] != 0:
        return None
    try:
        port, node_type, protocol, high, low, nlen = struct.unpack_from(">HBBHHH", answer, 2)
        raw = answer[12:12 + nlen]
        (elen,) = struct.unpack_from(">H", answer, 12 + nlen)
        extra = answer[14 + nlen:14 + nlen + elen]
        if len(raw) != nlen or len(extra) != elen:
            raise struct.error("short")
        return NodeInfo(raw.decode("utf-8", "replace"), port, node_type, protocol,
                        high, low, bytes(extra))
    except struct.error:
        raise EpmdError(f"epmd at {host}:{epmd_port} sent a truncated PORT2_RESP "
                        f"({len(answer)} bytes)") from None


async def names(host: str = "127.0.0.1", epmd_port: int | None = None, *,
                timeout: float = 5.0) -> dict[str, int]:
    """The nodes registered with the epmd at ``host``: ``{name: port}`` (``NAMES_REQ``).

    Raises:
        EpmdUnavailable: no epmd answers.
        EpmdError: the answer is shorter than its 4-byte header.
    """
    _check_host(host)
    epmd_port = _resolve_epmd_port(epmd_port)
    timeout = _check_timeout(timeout)
    answer = await _request(host, epmd_port, bytes([NAMES_REQ]), timeout, "NAMES_REQ")
    if len(answer) < 4:
        raise EpmdError(f"epmd at {host}:{epmd_port} answered NAMES_REQ with "
                        f"{len(answer)} bytes, fewer than its 4-byte header")
    found: dict[str, int] = {}
    for line in answer[4:].split(b"\n"):
        m = _NAMES_LINE.fullmatch(line)
        if m:
            found[m[1].decode("utf-8", "replace")] = int(m[2])
    return found


# -- the server ---------------------------------------------------------------------------

@dataclass
class _Node:
    info: NodeInfo
    creation: int           # the 32-bit counter; ALIVE2_RESP sends counter % 3 + 1
    writer: asyncio.StreamWriter


class EpmdServer:
    """An epmd in Python: ``ALIVE2``, ``PORT_PLEASE2`` and ``NAMES``, like Erlang's.

    Erlang nodes use it as they use ``epmd`` (start ``erl`` with
    ``ERL_EPMD_PORT`` set to its port).  Like epmd, it takes registrations
    only from its own host, unregisters a name when its ``ALIVE2`` connection
    closes, gives each registration of a name a new 32-bit creation, and
    closes the connection on anything it does not understand.  Unlike epmd it
    listens on the loopback interface unless told otherwise, and ignores the
    administrative requests (``DUMP``, ``KILL``, ``STOP``).

    Hostile clients are bounded: a request must arrive whole within
    ``request_timeout`` seconds and be at most ``MAX_REQUEST`` bytes, and at
    most ``max_connections`` connections are open at once (the rest are
    closed on arrival).

    Use ``async with EpmdServer(port=0) as server:`` (``server.port`` is the
    port it got), or :meth:`start` and :meth:`close`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, *,
                 request_timeout: float = 5.0, max_connections: int = 1024):
        self.host = _check_host(host)
        self._requested_port = (_resolve_epmd_port(None) if port is None
                                else _check_port(port, "port", zero=True))
        self.request_timeout = _check_timeout(request_timeout)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError(f"max_connections must be an int, "
                            f"got {type(max_connections).__name__}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._nodes: dict[str, _Node] = {}            # registration order, oldest first
        self._creations: dict[str, int] = {}          # last creation of every name seen
        self._tasks: set[asyncio.Task[None]] = set()
        self._change: asyncio.Event | None = None     # set (and replaced) on every change
        self.port = 0

    @property
    def nodes(self) -> Mapping[str, NodeInfo]:
        """The registered nodes, by name (a read-only snapshot)."""
        return MappingProxyType({name: node.info for name, node in self._nodes.items()})

    async def start(self) -> Self:
        """Start listening; ``self.port`` is then the port (useful with ``port=0``)."""
        if self._server is not None:
            raise RuntimeError("EpmdServer.start() called twice")
        self._change = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self._requested_port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and close every connection (registrations end too)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def wait_for(self, name: str, registered: bool = True, *,
                       timeout: float = 10.0) -> NodeInfo | None:
        """Wait until ``name`` is registered (or, with ``registered=False``, is not).

        Returns the node's info (None when waiting for it to go).  Raises
        TimeoutError after ``timeout`` seconds.
        """
        alive, _ = parse_node_name(name)
        timeout = _check_timeout(timeout)
        if self._change is None:
            raise RuntimeError("EpmdServer.wait_for() before start()")
        async with asyncio.timeout(timeout):
            while (alive in self._nodes) != registered:
                await self._change.wait()
        node = self._nodes.get(alive)
        return node.info if node else None

    def _notify(self) -> None:
        assert self._change is not None
        self._change.set()
        self._change = asyncio.Event()

    # one connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self.max_connections:
            log.warning("epmd: too many connections (%d), closing a new one", len(self._tasks))
            writer.transport.abort()
            return
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
            writer.close()                      # (after the answer has gone out)
            async with asyncio.timeout(self.request_timeout):
                await writer.wait_closed()
        except (asyncio.IncompleteReadError, TimeoutError, OSError) as e:
            log.debug("epmd: closing a connection: %r", e)
        except asyncio.CancelledError:          # close(): stop at once
            pass
        except Exception:                       # a bug: keep serving the others
            log.exception("epmd: error while serving a connection")
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self.request_timeout):     # the whole request, not per read
            (length,) = struct.unpack(">H", await reader.readexactly(2))
            if not 1 <= length <= MAX_REQUEST:
                log.debug("epmd: invalid request length %d", length)
                return
            request = await reader.readexactly(length)
        tag = request[0]
        if tag == ALIVE2_REQ:
            await self._alive2(request, reader, writer)
        elif tag == PORT_PLEASE2_REQ:
            await self._reply(writer, self._port2(request))
        elif tag == NAMES_REQ:
            await self._reply(writer, self._names())
        else:
            log.debug("epmd: unknown request %d", tag)

    async def _reply(self, writer: asyncio.StreamWriter, data: bytes | None) -> None:
        if data:
            writer.write(data)
            async with asyncio.timeout(self.request_timeout):
                await writer.drain()

    def _port2(self, request: bytes) -> bytes | None:
        raw = request[1:]
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        if not raw or b"\0" in raw:
            return None
        try:
            alive = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if len(alive) > MAX_NAME_CHARS:
            return None
        node = self._nodes.get(alive)
        if node is None:
            return bytes([PORT2_RESP, 1])
        i = node.info
        name = i.name.encode("utf-8")
        return (struct.pack(">BBHBBHHH", PORT2_RESP, 0, i.port, i.node_type, i.protocol,
                            i.highest_version, i.lowest_version, len(name))
                + name + struct.pack(">H", len(i.extra)) + i.extra)

    def _names(self) -> bytes:
        lines = [struct.pack(">I", self.port)]
        for name, node in reversed(self._nodes.items()):     # epmd: newest first
            lines.append(b"name %s at port %d\n" % (name.encode("utf-8"), node.info.port))
        return b"".join(lines)

    def _is_local(self, writer: asyncio.StreamWriter) -> bool:
        peer = writer.get_extra_info("peername")
        sock = writer.get_extra_info("sockname")
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer[0].split("%")[0])
        except ValueError:
            return False
        return address.is_loopback or (sock is not None and peer[0] == sock[0])

    async def _alive2(self, request: bytes, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if not self._is_local(writer):
            log.debug("epmd: ALIVE2_REQ from a remote host, ignored")
            return
        if len(request) <= 13:
            return
        port, node_type, protocol, high, low, nlen = struct.unpack_from(">HBBHHH", request, 1)
        if 13 + nlen > len(request):
            return
        raw = request[11:11 + nlen]
        (elen,) = struct.unpack_from(">H", request, 11 + nlen)
        if 13 + nlen + elen > len(request):
            return
        extra = request[13 + nlen:13 + nlen + elen]
        if b"\0" in raw:
            return
        try:
            alive = raw.decode("utf-8")
            ok = 0 < len(alive) <= MAX_NAME_CHARS and nlen <= MAX_NAME_BYTES \
                and elen <= MAX_NAME_BYTES and alive not in self._nodes
        except UnicodeDecodeError:
            alive, ok = "", False
        if ok:
            creation = self._next_creation(alive)
            self._nodes[alive] = _Node(NodeInfo(alive, port, node_type, protocol, high, low,
                                                bytes(extra)), creation, writer)
        else:
            creation = 99                               # epmd's value for a refusal
        if high >= 6:
            answer = struct.pack(">BBI", ALIVE2_X_RESP, 0 if ok else 1, creation)
        else:
            answer = struct.pack(">BBH", ALIVE2_RESP, 0 if ok else 1,
                                 creation % 3 + 1 if ok else creation)
        if not ok:
            await self._reply(writer, answer)
            return
        log.debug("epmd: registered %r port %d creation %d", alive, port, creation)
        try:
            self._notify()
            await self._reply(writer, answer)
            # The node keeps the connection open for its life; anything it
            # sends, or its close, ends the registration (as in epmd).
            await reader.read(1)
        finally:
            del self._nodes[alive]
            log.debug("epmd: unregistered %r", alive)
            self._notify()

    def _next_creation(self, alive: str) -> int:
        # epmd: a new name starts from the clock in seconds, each re-registration
        # bumps it; 0-3 are skipped (the old 2-bit creations, and 0 means "any").
        last = self._creations.pop(alive, None)
        creation = (int(time.time()) if last is None else last) + 1
        creation &= 0xFFFFFFFF
        creation = max(creation, 4)
        self._creations[alive] = creation
        if len(self._creations) > 1000:                 # epmd forgets old names too
            self._creations.pop(next(iter(self._creations)))
        return creation


# -- making sure an epmd runs ---------------------------------------------------------------

class EpmdHandle:
    """An epmd that :func:`ensure_epmd` found or started; :meth:`stop` ends what it started.

    ``kind`` is ``"running"`` (it was already there: never stopped by us),
    ``"erlang"`` (Erlang's ``epmd`` binary, a child process, ``pid``), or
    ``"builtin"`` (an :class:`EpmdServer` in this process, ``server``).
    """

    def __init__(self, kind: str, port: int, *, process: asyncio.subprocess.Process | None = None,
                 server: EpmdServer | None = None):
        self.kind = kind
        self.port = port
        self.process = process
        self.server = server

    @property
    def pid(self) -> int | None:
        """The pid of the ``epmd`` child process (kind ``"erlang"``), else None."""
        return self.process.pid if self.process else None

    async def stop(self) -> None:
        """Stop the epmd if this handle started it (nodes registered there lose their names)."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                async with asyncio.timeout(5):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __repr__(self) -> str:
        pid = f" pid={self.pid}" if self.pid else ""
        return f"<EpmdHandle {self.kind} port={self.port}{pid}>"


async def _answers(port: int, timeout: float = 1.0) -> bool:
    try:
        await names("127.0.0.1", port, timeout=timeout)
    except EpmdError:
        return False
    return True


async def ensure_epmd(epmd_port: int | None = None, *, address: str = "127.0.0.1",
                      builtin: bool = False, timeout: float = 5.0) -> EpmdHandle:
    """Make sure an epmd answers on ``127.0.0.1:epmd_port``; return a handle to it.

    In order:

    1. if something answers ``NAMES_REQ`` on the port, use it (kind
       ``"running"``; the handle never stops it);
    2. else, if Erlang's ``epmd`` is installed (and not ``builtin``), start
       ``epmd -port N -address A`` as a *child process* (kind ``"erlang"``).
       Not ``epmd -daemon`` as ``erl`` does: a daemon detaches (its pid is
       not ours to know) and outlives us, while ``handle.stop()`` ends exactly
       the process it started, by its pid.  Start ``epmd -daemon`` yourself if
       the epmd must outlive this program;
    3. else start an :class:`EpmdServer` in this process (kind ``"builtin"``).

    Args:
        epmd_port: default ``ERL_EPMD_PORT``, else 4369.
        address: where a started epmd listens: the loopback interface by
            default; ``"0.0.0.0"`` lets nodes on other hosts look our nodes up
            (Erlang's epmd always listens on the loopback interface as well).
        builtin: skip Erlang's ``epmd``, use the in-process server.
        timeout: seconds to wait for a started ``epmd`` to answer.

    Raises:
        EpmdError: the epmd could not be started (the port is taken by
            something that is no epmd, or it did not answer in time).
    """
    port = _resolve_epmd_port(epmd_port)
    _check_host(address, "address")
    if not isinstance(builtin, bool):
        raise TypeError(f"builtin must be a bool, got {type(builtin).__name__}")
    timeout = _check_timeout(timeout)
    if await _answers(port):
        return EpmdHandle("running", port)
    binary = None if builtin else shutil.which("epmd")
    if binary is None:
        try:
            server = await EpmdServer(address, port).start()
        except OSError as e:
            raise EpmdError(f"cannot start an epmd on {address}:{port}: "
                            f"{e.strerror or e}") from e
        return EpmdHandle("builtin", port, server=server)
    process = await asyncio.create_subprocess_exec(
        binary, "-port", str(port), "-address", address, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    handle = EpmdHandle("erlang", port, process=process)
    try:
        async with asyncio.timeout(timeout):
            while not await _answers(port, timeout=0.5):   # readiness probe
                if process.returncode is not None:
                    if await _answers(port):               # lost a race: another epmd won
                        return EpmdHandle("running", port)
                    raise EpmdError(f"{binary} -port {port} exited with status "
                                    f"{process.returncode} (is port {port} taken by "
                                    f"something that is no epmd?)")
                await asyncio.sleep(0.02)
    except TimeoutError:
        await handle.stop()
        raise EpmdError(f"{binary} -port {port} did not answer within {timeout} s") from None
    return handle


# -- python -m actors epmd ----------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m actors epmd``."""
    parser.add_argument("--port", type=int, default=None,
                        help="TCP port (default: ERL_EPMD_PORT, else 4369; 0 picks a free one)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                             "interface, as Erlang's epmd does)")
    parser.add_argument("-d", "--debug", action="store_true", help="log every request")


def main(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Run an :class:`EpmdServer` in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(message)s")
    try:
        server = EpmdServer(args.address, args.port)
    except (TypeError, ValueError) as e:
        print(f"epmd: {e}", flush=True)
        return 2

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        async with server:
            print(f"epmd listening on {server.host}:{server.port}", flush=True)
            await stop.wait()

    try:
        asyncio.run(serve())
    except OSError as e:
        print(f"epmd: cannot listen on {server.host}:{server._requested_port}: "
              f"{e.strerror or e}", flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    print("epmd stopped", flush=True)
    return 0
