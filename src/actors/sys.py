"""Look inside a running GenServer: Erlang's ``sys`` module.

Every ``GenServer`` (and so every ``Agent``, ``Supervisor`` and
``DynamicSupervisor``) understands *system messages* besides the calls,
casts and infos meant for its callbacks.  They are handled by the server
loop itself, between two callbacks, so they work on any server without a
line of code in it: they are how you look inside a running system, fix it
by hand, and upgrade its code while it runs (``actors.reload``).

Example
-------
::

    from actors import sys

    pid = await Counter.start_link(5)
    await sys.get_state(pid)                  # -> {"n": 5}
    await sys.replace_state(pid, lambda s: {**s, "n": 0})
    (await sys.get_status(pid))["status"]     # -> "running"

    await sys.suspend(pid)        # from now on only system messages are handled
    GenServer.cast(pid, 1)        # ... so this waits in the mailbox
    await sys.resume(pid)         # ... and is handled now, in order

    await sys.trace(pid, True)    # log every message in and out
    await sys.statistics(pid, True)
    await GenServer.call(pid, "get")
    await sys.statistics(pid, "get")   # {"messages_in": 1, "messages_out": 1, ...}

The state is a dict of attributes
---------------------------------
An Erlang server's state is one term; a GenServer's state is its instance.
``get_state`` returns a *shallow copy* of the instance's attributes as a
dict (``{"n": 5}`` for a server whose ``init`` set ``self.n = 5``), leaving
out the framework's own (the pid, the name, the parent).  ``replace_state``
takes a function ``fn(state) -> new_state`` on such dicts and runs it
*inside the server*: the attributes become exactly the keys of the dict it
returns.  If ``fn`` raises (or returns something that is not a dict of
``str`` keys) the server keeps its state and the caller gets the error, as
with Erlang's ``sys:replace_state``.  Both are for debugging and operating
by hand: a program that needs a server's state should ask with a call.

Suspending
----------
``suspend`` makes the server handle *only* system messages until
``resume``: calls, casts and infos stay in its mailbox, in the order they
arrived, and are handled after ``resume``; nothing is lost.  A suspended
server still stops when asked to (``GenServer.stop``) and still obeys its
parent's exit signal, as in OTP.  A call made to a suspended server waits
like any call (and times out after 5 seconds by default).

Tracing and statistics
----------------------
``trace(server, True)`` logs every message the server handles (calls,
casts, infos: *in*) and every reply it sends (*out*) at ``INFO`` on the
logger ``"actors.sys"``, each with the server's pid, in the words of OTP's
``*DBG*`` lines::

    <0.42.0> got call 'get' from <0.40.0>
    <0.42.0> sent 5 to <0.40.0>
    <0.42.0> got cast 1
    <0.42.0> got 'tick'

Each record carries the runtime's structured log fields
(``actors.lowlevel.log_fields``): ``record.event`` is ``"trace"``,
``record.pid`` the server (as ``"<0.42.0>"``), and ``record.trace`` the
event as OTP's ``sys`` gives it: ``("in", "call", request, from_)``,
``("in", "cast", request)``, ``("in", "info", msg)`` or
``("out", reply, to_pid)``.

``statistics(server, True)`` starts counting; ``statistics(server, "get")``
returns ``{"start_time", "current_time", "messages_in", "messages_out",
"reductions"}`` (wall-clock times as aware ``datetime``, reductions run
since counting started); ``statistics(server, False)`` stops.  System
messages are not counted, and a reply sent later with ``GenServer.reply``
is not an *out* (both as in OTP).  While neither is on, a server pays
nothing for them.

Timeouts and errors
-------------------
Every function here waits for the server's answer, ``timeout=5.0`` seconds
by default (``None``: forever), then raises ``Timeout``; a late answer is
dropped, never delivered to the caller's mailbox.  A server that does not
exist raises ``NoProcess``; one that exits before answering raises
``CallExit`` (``.reason``); a process asking itself raises
``CallExit("calling_self")``.  The functions work from a process and from
plain asyncio code running an ``actors.Runtime``.

Servers on other nodes
----------------------
Every function here also takes a server of another Python node: its
``Pid`` or ``(name, node)``.  What it answers travels as terms, so:

* ``replace_state``'s ``fn`` and ``change_code``'s ``cls`` travel by name,
  as ``(module, qualname)``: they must be defined at the top level of a
  module both nodes import, and the server's node must allow that module
  (``allow_spawn``, as for ``Node.spawn``), else ``PermissionError``; a
  lambda or a closure raises ``TypeError`` before anything is sent;
* ``get_state`` (and ``replace_state``'s answer) raises ``TypeError``,
  naming the attribute, if the state holds something that cannot travel;
  ``get_status`` shows the class as ``"module.qualname"`` and anything
  that cannot travel as its ``repr`` (it is for people to read);
* an error raised in the server comes back as the same class when it is a
  builtin one (``ValueError``, ``TypeError``...), else as ``RuntimeError``
  naming the class; ``statistics`` times are ``datetime`` again.

A node that cannot be reached, or is lost, makes them raise
``CallExit("noconnection")``.

``format_status``
-----------------
A server class may define ``format_status(self, status) -> status`` to
change what ``get_status`` shows (for instance to hide a password in
``status["state"]``), as Elixir's ``format_status/1`` callback does.
"""
from __future__ import annotations

# System messages and requests are untyped (Any) and this module matches them
# by shape, as in `type(request) is tuple`; pyright narrows them to
# tuple[Unknown, ...], which its strict mode reports at every use.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

import datetime
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import lowlevel
from . import gen_server as _gs
from .lowlevel import (
    ANY, CallExit, Down, Exit, NoProcess, Pid, Timeout, call_in_process, check_seconds,
    check_server, in_process,
)
from .dist.remote import (
    encodable, error_from_wire, error_to_wire, function_from_wire, function_to_wire, is_function_ref,
    remote_node,
)
from .gen_server import GenServer, NoReply, Reply, ServerRef, Stop

if TYPE_CHECKING:
    class _Running(GenServer):
        """A server as its process runs it: gen_server sets these attributes
        before ``init``, and ``_sys_debug`` exists while tracing or statistics are on."""
        _pid: Pid
        _name: Any
        _parent: Pid | None
        _sys_debug: _Debug

__all__ = [
    "change_code",
    "get_state",
    "get_status",
    "replace_state",
    "resume",
    "statistics",
    "suspend",
    "trace",
]

_logger = logging.getLogger("actors.sys")

SYSTEM = _gs.SYSTEM

#: Instance attributes that belong to the framework, not to the state.
_FRAMEWORK = frozenset({"_pid", "_name", "_parent", "_sys_debug"})
#: The callbacks that tracing and statistics wrap.
_HOOKED = ("handle_call", "handle_cast", "handle_info")


# -- client side ------------------------------------------------------------------

async def get_state(server: ServerRef, timeout: float | None = 5.0) -> dict[str, Any]:
    """The server's state: a shallow copy of its instance attributes.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        timeout: seconds to wait for the answer (``None``: forever).

    Returns:
        A dict of attribute name to value, without the framework's own
        attributes (pid, name, parent).

    Raises:
        NoProcess: no such server.  CallExit: it exited before answering.
        Timeout: no answer within ``timeout``.
    """
    state: dict[str, Any] = await _request(server, ("get_state",), timeout, "get_state")
    return state


async def replace_state(server: ServerRef, fn: Callable[[dict[str, Any]], Any],
                        timeout: float | None = 5.0) -> dict[str, Any]:
    """Replace the server's state with ``fn(state)``, run inside the server.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        fn: called with the state dict (a copy, as ``get_state`` returns it);
            returns the new state dict (it may be the same dict, changed).
            May be an ``async`` function.
        timeout: seconds to wait for the answer (``None``: forever).

    Returns:
        The new state.

    Raises:
        TypeError: ``fn`` is not callable; or it returned something other
            than a dict with ``str`` keys (the server keeps its state).
        Exception: whatever ``fn`` raised (the server keeps its state).
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    if not callable(fn):
        raise TypeError(f"replace_state(server, fn): fn must be callable, got {fn!r}")
    node = remote_node(server)
    sent: Any = fn if node is None else function_to_wire(fn, "sys.replace_state", node)
    state: dict[str, Any] = await _request(server, ("replace_state", sent), timeout, "replace_state")
    return state


async def get_status(server: ServerRef, timeout: float | None = 5.0) -> dict[str, Any]:
    """Everything about a server, as a dict (Erlang's ``sys:get_status``).

    Keys: ``pid``, ``class`` (the server's class), ``module`` (its module's
    name), ``vsn`` (the class's ``vsn``), ``name`` (what it is registered
    as, or None), ``status`` (``"running"`` or ``"suspended"``), ``parent``
    (the pid it is linked to as a child, or None), ``state`` (as
    ``get_state``), ``message_queue_len``, ``dictionary`` (its process
    dictionary), ``trace`` and ``statistics`` (bools).  A class that defines
    ``format_status(self, status)`` gets the dict and returns the one shown.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        timeout: seconds to wait for the answer (``None``: forever).

    Raises:
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    status: dict[str, Any] = await _request(server, ("get_status",), timeout, "get_status")
    return status


async def suspend(server: ServerRef, timeout: float | None = 5.0) -> None:
    """Suspend the server: it handles only system messages until ``resume``.

    Ordinary messages (calls, casts, infos) stay queued, in order, and are
    handled after ``resume``.  ``GenServer.stop`` and a trapped exit signal
    from the parent still stop a suspended server.  Suspending a suspended
    server does nothing.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        timeout: seconds to wait for the answer (``None``: forever).

    Raises:
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    await _request(server, ("suspend",), timeout, "suspend")


async def resume(server: ServerRef, timeout: float | None = 5.0) -> None:
    """Resume a suspended server: it handles its queued messages in order.

    Resuming a running server does nothing.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        timeout: seconds to wait for the answer (``None``: forever).

    Raises:
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    await _request(server, ("resume",), timeout, "resume")


async def trace(server: ServerRef, flag: bool, timeout: float | None = 5.0) -> None:
    """Turn on (``True``) or off (``False``) the logging of every message in and out.

    Records go to the logger ``"actors.sys"`` at ``INFO``; see the module
    documentation for their text and their ``pid`` and ``event`` fields.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        flag: ``True`` or ``False``.
        timeout: seconds to wait for the answer (``None``: forever).

    Raises:
        TypeError: ``flag`` is not a bool.
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    if type(flag) is not bool:
        raise TypeError(f"trace(server, flag): flag must be True or False, got {flag!r}")
    await _request(server, ("trace", flag), timeout, "trace")


async def statistics(server: ServerRef, flag: bool | str,
                     timeout: float | None = 5.0) -> dict[str, Any] | None:
    """Count the messages a server handles: start, stop, or read the counts.

    Args:
        server: a ``Pid``, registered name, ``(name, node)`` or ``via``.
        flag: ``True`` starts counting (from zero, also when already on),
            ``False`` stops, ``"get"`` reads.
        timeout: seconds to wait for the answer (``None``: forever).

    Returns:
        With ``"get"``: ``{"start_time", "current_time", "messages_in",
        "messages_out", "reductions"}``, or None if statistics are off.
        Otherwise None.

    Raises:
        ValueError: ``flag`` is not ``True``, ``False`` or ``"get"``.
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    if not (flag is True or flag is False or flag == "get"):
        raise ValueError(f"statistics(server, flag): flag must be True, False or 'get', got {flag!r}")
    counts: dict[str, Any] | None = await _request(server, ("statistics", flag), timeout, "statistics")
    return counts


async def change_code(server: ServerRef, cls: type, extra: Any = None, timeout: float | None = 5.0) -> None:
    """Move a suspended server to the class ``cls`` and migrate its state.

    Inside the server: the instance's class becomes ``cls``, then
    ``code_change(old_vsn, extra)`` of ``cls`` runs, where ``old_vsn`` is the
    old class's ``vsn``.  If it raises (or returns anything but None), the
    server goes back to its old class and its old attributes (a shallow
    restore: a ``code_change`` should build new values, not mutate nested
    ones in place) and the error is raised here.  This is the step that
    ``actors.reload`` runs for every server of a reloaded module; call it
    yourself to upgrade one server to any class.

    Args:
        server: a suspended server (a ``Pid``, registered name or ``via``).
        cls: the new class, a ``GenServer`` subclass.
        extra: passed to ``code_change``.
        timeout: seconds to wait for the answer (``None``: forever).

    Raises:
        TypeError: ``cls`` is not a GenServer subclass, or its instances
            cannot take the old instance's place.
        RuntimeError: the server is not suspended (OTP changes code only in
            suspended processes: no callback runs half on old code).
        Exception: whatever ``code_change`` raised.
        NoProcess, CallExit, Timeout: as ``get_state``.
    """
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"change_code(server, cls): cls must be a GenServer subclass, got {cls!r}")
    node = remote_node(server)
    new: Any = cls if node is None else function_to_wire(cls, "sys.change_code", node)
    await _request(server, ("change_code", new, extra), timeout, "change_code")


def _resolve(server: Any, what: str) -> Any:
    """The process to ask: a local Pid, or a remote Pid or ``(name, node)`` as it is."""
    if isinstance(server, Pid) or remote_node(server) is not None:
        return server
    name = server[0] if type(server) is tuple else server      # (name, this node)
    pid = lowlevel.whereis(name)         # TypeError for what is neither a Pid, a name nor a via
    if pid is None:
        raise NoProcess(f"sys.{what}: no process is registered as {server!r}")
    return pid


async def _request(server: ServerRef, request: tuple[Any, ...], timeout: float | None, what: str) -> Any:
    """Send a system request and wait for the answer.

    Like ``GenServer.call``, the caller monitors the server and sends the
    request itself; but the answer is addressed to a short-lived relay
    process that forwards it, so that an answer arriving after ``timeout``
    dies with the relay instead of landing in the caller's mailbox.  A
    server on another node answers in terms (see ``_to_wire``), turned back
    here (``_from_wire``).
    """
    check_seconds(timeout, "timeout", allow_none=True)
    check_server(server, "server", f"sys.{what}")
    if not in_process():
        return await call_in_process(_request, server, request, timeout, what)
    pid = _resolve(server, what)
    me = lowlevel.self()
    if pid is me:
        raise CallExit("calling_self", f"sys.{what}: process {me!r} asked itself")
    tag = lowlevel.make_ref()
    relay, rref = lowlevel.spawn_monitor(_relay, me, tag)
    mref = lowlevel.monitor(pid)
    try:
        lowlevel.send(pid, (SYSTEM, (relay, tag), request))
    except TypeError:                    # cannot travel to the server's node: nothing was sent
        lowlevel.exit(relay, "kill")
        lowlevel.demonitor(rref, flush=True)
        lowlevel.demonitor(mref, flush=True)
        raise
    msg = await lowlevel.receive((tag, ANY), Down(mref, ANY, ANY), timeout=timeout, default=None)
    if msg is None:
        lowlevel.exit(relay, "kill")
        lowlevel.demonitor(rref, flush=True)
        lowlevel.demonitor(mref, flush=True)
        await lowlevel.receive((tag, ANY), timeout=0, default=None)    # relayed just before the kill
        raise Timeout(f"sys.{what}: {server!r} did not answer within {timeout} s")
    if isinstance(msg, Down):
        # The server is gone; if it answered first, the answer is in the relay's
        # mailbox before this "done", and the relay forwards it first.
        lowlevel.send(relay, (_DONE, tag))
        last = await lowlevel.receive((tag, ANY), (_DONE, tag), Down(rref, ANY, ANY))
        lowlevel.demonitor(rref, flush=True)
        if type(last) is tuple and last[0] is tag:
            msg = last
        elif msg.reason == "noproc":
            raise NoProcess(f"sys.{what}: no process {server!r}")
        else:
            raise CallExit(msg.reason, f"sys.{what}: {server!r} exited with {msg.reason!r}")
    else:
        lowlevel.demonitor(mref, flush=True)
        lowlevel.demonitor(rref, flush=True)
    kind, value = msg[1]
    node = remote_node(pid)
    if node is not None:
        kind, value = _from_wire(request, kind, value, node)
    if kind == "ok":
        return value
    raise value                                                # raised inside the server


_DONE = "$sys_done"


async def _relay(caller: Pid, tag: Any) -> None:
    """Forward one answer (or the caller's "done") to the caller; quit if the caller dies."""
    cref = lowlevel.monitor(caller)
    msg = await lowlevel.receive((tag, ANY), (_DONE, tag), Down(cref, ANY, ANY))
    if not isinstance(msg, Down):
        lowlevel.send(caller, msg)


def cast_system(pid: Pid, request: tuple[Any, ...]) -> None:
    """Send a system request that needs no answer (``from_`` None)."""
    try:
        lowlevel.send(pid, (SYSTEM, None, request))
    except NoProcess:
        pass


# -- server side: runs inside the server process --------------------------------------

async def handle_system(server: _Running, msg: tuple[Any, ...]) -> Any:
    """The hook of ``gen_server._loop`` for ``("$system", from_, request)``
    (registered by ``actors/__init__.py`` with ``gen_server.set_system_handler``)."""
    if await _answer(server, msg[1], msg[2], False):
        await _suspended(server)
    return None


async def _suspended(server: _Running) -> None:
    """Handle only system messages, a stop request and the parent's exit until resumed."""
    # The parent's exit (from outside any process, Exit(None, ...), for a
    # server without a parent) stops a suspended server too.
    patterns = [(SYSTEM, ANY, ANY), (_gs.STOP, ANY, ANY), Exit(server._parent, ANY)]
    while True:
        msg = await lowlevel.receive(*patterns)
        if type(msg) is Exit:
            raise Stop(msg.reason)                   # as _loop does for a trapped parent exit
        if msg[0] == _gs.STOP:
            raise Stop(msg[2])
        if not await _answer(server, msg[1], msg[2], True):
            return


async def _answer(server: _Running, from_: Any, request: Any, suspended: bool) -> bool:
    """Carry out one system request and reply; returns whether the server is now suspended."""
    try:
        kind = request[0] if type(request) is tuple and request else None
        value = None
        if kind == "get_state":
            value = _state(server)
        elif kind == "replace_state":
            value = await _replace_state(server, _local_function(request[1]))
        elif kind == "get_status":
            value = _status(server, suspended)
        elif kind == "suspend":
            suspended = True
        elif kind == "resume":
            suspended = False
        elif kind == "trace":
            _set_debug(server, trace=request[1])
        elif kind == "statistics":
            value = _statistics(server, request[1])
        elif kind == "change_code":
            if not suspended:
                raise RuntimeError(
                    f"change_code: {server._pid!r} is running; suspend it first (code changes only "
                    f"between callbacks of a suspended server)")
            await _change_code(server, _local_function(request[1]), request[2])
        else:
            raise ValueError(f"unknown system request {request!r}")
    except Exception as exc:  # noqa: BLE001 (sent back to the caller)
        _reply(server, from_, ("error", exc), request)
    else:
        _reply(server, from_, ("ok", value), request)
    return suspended


def _local_function(fn: Any) -> Any:
    """``fn``, or the function it names if it came from another node by name."""
    return function_from_wire(fn, "sys") if is_function_ref(fn) else fn


def _reply(server: _Running, from_: Any, answer: tuple[Any, ...], request: Any) -> None:
    if from_ is None:
        return
    if type(from_) is tuple and len(from_) == 2 and type(from_[0]) is Pid:
        node = remote_node(from_[0])
        if node is not None:
            answer = _to_wire(server, request, answer, node)
    try:
        lowlevel.reply(from_, answer)
    except TypeError:
        lowlevel.report(_logger, logging.WARNING, "bad_request", server._pid,
                        "%r: system message with a malformed from_ %r", server._pid, from_,
                        request=from_, why="from_ must be the caller's (pid, ref)", stacklevel=2)


# -- answers to another node ------------------------------------------------------------
# Only terms travel: an error as (ClassName, message), times as ISO 8601
# text; get_status shows the class by name and what cannot travel by its repr
# (it is for people to read); a state that cannot travel is an error (it is data).

_TIMES = ("start_time", "current_time")


def _to_wire(server: _Running, request: Any, answer: tuple[Any, ...], node: str) -> tuple[Any, ...]:
    """``answer`` as it can travel to a caller on ``node``."""
    kind, value = answer
    if kind == "error":
        return ("error", error_to_wire(value))
    op = request[0] if type(request) is tuple and request else None
    if op == "get_status" and type(value) is dict:
        status = {}
        for key, item in value.items():
            if key == "class" and isinstance(item, type):
                item = f"{item.__module__}.{item.__qualname__}"
            elif type(item) is dict:                    # state, dictionary: item by item
                item = {_readable(k): _readable(v) for k, v in item.items()}
            status[_readable(key)] = _readable(item)
        value = status
    elif op == "statistics" and type(value) is dict:
        value = {k: v.isoformat() if isinstance(v, datetime.datetime) else v
                 for k, v in value.items()}
    if not encodable(value):
        why = f"the answer of {server._pid!r} cannot travel to node {node}"
        if type(value) is dict:
            bad = [k for k, v in value.items() if not encodable(k) or not encodable(v)]
            if bad:
                why += f": {bad[0]!r} is {type(value[bad[0]]).__name__!r}"
        return ("error", error_to_wire(TypeError(why)))
    return ("ok", value)


def _readable(value: Any) -> Any:
    """``value`` if it can travel, else its repr."""
    return value if encodable(value) else repr(value)


def _from_wire(request: Any, kind: Any, value: Any, node: str) -> tuple[Any, Any]:
    """An answer from a server on ``node`` as the local one would be."""
    if kind == "error":
        return ("error", error_from_wire(value, node))
    if request[0] == "statistics" and type(value) is dict:
        value = {k: datetime.datetime.fromisoformat(v) if k in _TIMES and type(v) is str else v
                 for k, v in value.items()}
    return ("ok", value)


def _state(server: _Running) -> dict[str, Any]:
    return {k: v for k, v in vars(server).items()
            if k not in _FRAMEWORK and not (k in _HOOKED and getattr(v, "_actors_sys_hook", False))}


async def _replace_state(server: _Running, fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    new = fn(_state(server))
    if inspect.isawaitable(new):
        new = await new
    if type(new) is not dict or not all(type(k) is str for k in new):
        raise TypeError(f"replace_state: fn must return a dict of attribute names (str) to values, "
                        f"got {new!r}")
    taken = _FRAMEWORK.intersection(new)
    if taken:
        raise ValueError(f"replace_state: fn's state may not set the framework's {sorted(taken)}")
    attrs = vars(server)
    for key in _state(server):
        del attrs[key]
    attrs.update(new)
    return _state(server)


def _status(server: _Running, suspended: bool) -> dict[str, Any]:
    cls = type(server)
    me = server._pid
    debug = getattr(server, "_sys_debug", None)
    status = {
        "pid": me,
        "class": cls,
        "module": cls.__module__,
        "vsn": cls.vsn,
        "name": server._name,
        "status": "suspended" if suspended else "running",
        "parent": server._parent,
        "state": _state(server),
        "message_queue_len": lowlevel.process_info(me, "message_queue_len"),
        "dictionary": lowlevel.pdict_get(),
        "trace": bool(debug and debug.trace),
        "statistics": bool(debug and debug.stats is not None),
    }
    format_status = getattr(server, "format_status", None)
    if format_status is not None:
        status = format_status(status)
    return status


# -- tracing and statistics: wrappers of the callbacks, present only while on ------------

class _Debug:
    __slots__ = ("stats", "trace")

    def __init__(self) -> None:
        self.trace = False
        self.stats: dict[str, Any] | None = None


def _now() -> datetime.datetime:
    return datetime.datetime.now().astimezone()


def _statistics(server: _Running, flag: Any) -> dict[str, Any] | None:
    debug = getattr(server, "_sys_debug", None)
    if flag == "get":
        if debug is None or debug.stats is None:
            return None
        s = debug.stats
        return {"start_time": s["start_time"], "current_time": _now(),
                "messages_in": s["messages_in"], "messages_out": s["messages_out"],
                "reductions": lowlevel.process_info(server._pid, "reductions") - s["reductions0"]}
    if flag is True:
        _set_debug(server, stats={"start_time": _now(), "messages_in": 0, "messages_out": 0,
                                  "reductions0": lowlevel.process_info(server._pid, "reductions")})
    elif flag is False:
        _set_debug(server, stats=None)
    else:
        raise ValueError(f"statistics: flag must be True, False or 'get', got {flag!r}")
    return None


_UNSET = object()


def _set_debug(server: _Running, trace: Any = _UNSET, stats: Any = _UNSET) -> None:
    """Change the debug options; install the callback wrappers while any is on."""
    if trace is not _UNSET and type(trace) is not bool:
        raise TypeError(f"trace: flag must be True or False, got {trace!r}")
    attrs = vars(server)
    debug = attrs.get("_sys_debug") or _Debug()
    if trace is not _UNSET:
        debug.trace = trace
    if stats is not _UNSET:
        debug.stats = stats
    if debug.trace or debug.stats is not None:
        if "_sys_debug" not in attrs:
            attrs["_sys_debug"] = debug
            attrs["handle_call"] = _call_hook(server)
            attrs["handle_cast"] = _cast_hook(server)
            attrs["handle_info"] = _info_hook(server)
    elif "_sys_debug" in attrs:
        del attrs["_sys_debug"]
        for name in _HOOKED:
            if getattr(attrs.get(name), "_actors_sys_hook", False):
                del attrs[name]


# The wrappers look the callback up on the server's *current* class at each
# message, so they follow a code upgrade; they return what it returns (a
# coroutine for an async callback, which the loop awaits), so the loop's
# handling of results is unchanged.

def _event_in(server: _Running, event: tuple[Any, ...], fmt: str, *args: Any) -> None:
    debug = server._sys_debug
    if debug.stats is not None:
        debug.stats["messages_in"] += 1
    if debug.trace:
        _trace(server, event, "%r " + fmt, server._pid, *args)


def _event_out(server: _Running, result: Any, from_: Any) -> None:
    tp = type(result)
    if tp is NoReply:
        return
    value = result.value if tp is Reply else result
    debug = server._sys_debug
    if debug.stats is not None:
        debug.stats["messages_out"] += 1
    if debug.trace:
        to = from_[0] if type(from_) is tuple and from_ else from_
        _trace(server, ("out", value, to), "%r sent %r to %r", server._pid, value, to)


def _trace(server: _Running, event: tuple[Any, ...], msg: str, *args: Any) -> None:
    """One trace record: INFO on "actors.sys", with the runtime's fields and
    ``trace``, the event itself (kept as a tuple for Python consumers)."""
    extra = lowlevel.log_fields(server._pid, "trace")
    extra["trace"] = event
    _logger.info(msg, *args, extra=extra, stacklevel=2)


def _call_hook(server: _Running) -> Callable[..., Any]:
    def handle_call(request: Any, from_: Any) -> Any:
        cls = type(server)
        to = from_[0] if type(from_) is tuple and from_ else from_
        _event_in(server, ("in", "call", request, from_), "got call %r from %r", request, to)
        result = cls.handle_call(server, request, from_)
        if "handle_call" in cls._async:
            return _after_call(server, result, from_)
        _event_out(server, result, from_)
        return result

    setattr(handle_call, "_actors_sys_hook", True)
    return handle_call


async def _after_call(server: _Running, pending: Any, from_: Any) -> Any:
    result = await pending
    _event_out(server, result, from_)
    return result


def _cast_hook(server: _Running) -> Callable[..., Any]:
    def handle_cast(request: Any) -> Any:
        _event_in(server, ("in", "cast", request), "got cast %r", request)
        return type(server).handle_cast(server, request)

    setattr(handle_cast, "_actors_sys_hook", True)
    return handle_cast


def _info_hook(server: _Running) -> Callable[..., Any]:
    def handle_info(msg: Any) -> Any:
        _event_in(server, ("in", "info", msg), "got %r", msg)
        return type(server).handle_info(server, msg)

    setattr(handle_info, "_actors_sys_hook", True)
    return handle_info


# -- code change ---------------------------------------------------------------------------

async def _change_code(server: GenServer, new_cls: type, extra: Any) -> None:
    if not (isinstance(new_cls, type) and issubclass(new_cls, GenServer)):
        raise TypeError(f"change_code: cls must be a GenServer subclass, got {new_cls!r}")
    old_cls = type(server)
    old_vsn = old_cls.vsn
    attrs = vars(server)
    saved = dict(attrs)
    server.__class__ = new_cls          # TypeError if the instance layouts differ
    try:
        code_change: Callable[..., Any] = server.code_change   # may return a coroutine or a value
        result = code_change(old_vsn, extra)
        if "code_change" in new_cls._async:
            result = await result
        if result is not None:
            raise TypeError(f"{new_cls.__qualname__}.code_change returned {result!r}; return None "
                            f"(or raise to refuse the upgrade)")
    except BaseException:
        server.__class__ = old_cls
        attrs.clear()
        attrs.update(saved)
        raise
    lowlevel.pdict_put(_gs.GEN_SERVER_KEY, new_cls)

