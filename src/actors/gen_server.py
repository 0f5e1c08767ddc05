"""GenServer: a process that keeps state and answers requests.

A GenServer is a process whose state lives in an instance of your subclass;
clients talk to it through ``GenServer.call`` (request, wait for the reply)
and ``GenServer.cast`` (fire and forget), and anything else sent to it
arrives in ``handle_info``.  It is the building block of most of an actors
system, as ``GenServer`` is in Elixir.

Example
-------
::

    class Stack(actors.GenServer):
        def init(self, items=()):
            self.items = list(items)

        def handle_call(self, request, from_):
            if request == "pop":
                return self.items.pop()        # the return value is the reply

        def handle_cast(self, request):
            self.items.append(request)

    pid = await Stack.start_link(["hello"])
    await actors.GenServer.call(pid, "pop")   # -> "hello"
    actors.GenServer.cast(pid, "world")       # returns at once

Client / server APIs
--------------------
The client functions (``start_link``, ``call``, ``cast``, ``stop``) run in the
caller's process; the callbacks run inside the server, one message at a
time, so the state never needs a lock.  Callbacks may be ``def`` or
``async def``; while an async callback awaits, the server handles no other
message.  Wrap the client side in plain functions of your own
(``async def pop(stack): return await GenServer.call(stack, "pop")``) so
that callers never see the message format.

Callbacks and what they may return
----------------------------------
``init(*args, **kwargs)``
    Set up the state.  Return ``None``; or ``Continue(arg)``,
    ``IdleTimeout(seconds)`` or ``HIBERNATE`` (see below).  ``raise Ignore()``:
    the server does not start and ``start_link`` returns ``None``.
    ``raise Stop(reason)`` or any exception: ``start_link`` raises
    ``StartError(reason)``.
``handle_call(request, from_)``
    Return the reply; or ``Reply(value, action)`` to reply and then do
    ``action``; or ``NOREPLY`` / ``NoReply(action)`` to reply later with
    ``GenServer.reply(from_, value)`` (from any process).
``handle_cast(request)``, ``handle_info(msg)``, ``handle_continue(arg)``
    Return ``None`` or an action.
``terminate(reason)``
    Called when the server stops itself (``Stop``, ``GenServer.stop``), when a
    callback raises, and when its parent's exit signal arrives while it traps
    exits.  A server started with ``start()`` has no parent: for it, an exit
    signal from outside any process (``Exit(None, reason)``: the runtime's
    ``"shutdown"`` at the end of ``actors.run`` or ``Runtime``, or ``exit()``
    called from plain asyncio code) counts as its parent's.  Not called when
    it is killed by a signal it does not trap (as in OTP: trap exits if you
    need cleanup on shutdown).
``code_change(old_vsn, extra)``
    Migrate the state when the server's code is upgraded; ``vsn`` (a class
    attribute) names versions.

Actions, from any callback but ``terminate``:

* ``Continue(arg)``: run ``handle_continue(arg)`` next, before any message
  that is already waiting (Elixir's ``{:continue, arg}``).
* ``IdleTimeout(seconds)``: if no message arrives within ``seconds``,
  ``handle_info(IDLE_TIMEOUT)`` is called.  Any message cancels it; it never
  fires when a message is already waiting.
* ``HIBERNATE``: the server parks until its next message after a garbage
  collection of the young generation.  CPython has no per-process heap to
  compact, so this is the closest counterpart of Erlang's hibernation: use
  it for servers that wake up rarely after producing much garbage.

``raise Stop(reason, reply=...)`` in any callback stops the server: it calls
``terminate(reason)`` and exits with ``reason`` (in ``handle_call``, ``reply=``
is sent to the caller once ``terminate`` has run, as in OTP).  A
``terminate`` that raises makes the server exit with that error.  A callback that returns something it may not
stops the server with reason ``("bad_return_value", value)``.

How to supervise
----------------
``Stack.child_spec(["hello"])`` is the spec a supervisor needs (it calls
``Stack.start_link(["hello"])``); ``Stack`` alone or ``(Stack, arg)`` work
wherever a child spec is expected.  Override the ``child_spec`` classmethod
to change ``restart`` or ``shutdown``.

Name registration
-----------------
``start_link(..., name="stack")`` registers a local name;
``name=via(registry, key)`` registers in a ``Registry``.  Every client
function accepts a pid, a name or a ``via``.  A taken name makes
``start_link`` raise ``AlreadyRegistered`` (``.pid`` is the holder).

Timeouts
--------
``call`` waits 5 seconds by default (``timeout=None``: forever), then raises
``Timeout``; the late reply is dropped, never delivered to the caller's
mailbox.  A server that exits during a call raises ``CallExit`` (with
``.reason``) in the caller; a dead server raises ``NoProcess``.  A process
that calls itself gets ``CallExit("calling_self")`` instead of a deadlock.
``start``/``start_link``/``stop`` wait forever unless given ``timeout=``.

Servers on other nodes
----------------------
On a node (``actors.Node``), ``call``, ``cast`` and ``stop`` also take a
server of another node: its ``Pid``, or ``(name, node)`` for a name
registered there.  ``call`` and ``cast`` speak OTP's own format, so they
reach BEAM ``gen_server``s too, and BEAM processes reach Python servers;
``stop`` is between Python nodes.  Requests and replies travel as terms: a
request that cannot raises ``TypeError`` before anything is sent, and a
reply that cannot (say, an open file) raises ``TypeError`` in the caller
while the server goes on (it logs the error).  A server that cannot be
reached, or whose node is lost during the call, exits the call with
``CallExit("noconnection")``; an exception that makes it exit arrives as
the reason ``(class name, message)``.

When (not) to use a GenServer
-----------------------------
Use one to serialize access to state or to a resource, or to model a
long-lived entity.  Don't use one to organize code: plain functions are
faster and simpler.  For plain state, ``Agent`` is shorter; for one-off
concurrent work, ``Task``.
"""
from __future__ import annotations

# Messages are untyped (Any) and this module matches them by shape, as in
# `type(msg) is tuple and len(msg) == 3`; pyright narrows them to
# tuple[Unknown, ...], which its strict mode reports at every use.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

import gc
import inspect
import logging
from typing import Any

from . import lowlevel
from .lowlevel import (
    ANY, CallExit, Down, Exit, NoProcess, Pid, ProcessExit, StartError, Timeout, via,
    call_in_process, check_seconds, check_server, in_process,
)
from .child_spec import ChildSpec
from .dist.etf import Atom
from .dist.remote import error_from_wire, error_to_wire, remote_node
from typing import TypeAlias

# What a server argument may be: a Pid, a registered name, (name, node), or a via(registry, key).
ServerRef: TypeAlias = lowlevel.ServerRef

__all__ = [
    "GenServer", "NOREPLY", "NoReply", "Reply", "Stop", "Ignore", "Continue",
    "IdleTimeout", "IDLE_TIMEOUT", "HIBERNATE",
]

_logger = logging.getLogger("actors.gen_server")

CALL = "$gen_call"
CAST = "$gen_cast"
STOP = "$gen_stop"
SYSTEM = "$system"
#: The reply a server sends instead of one that cannot travel to the caller's
#: node: ``(REPLY_ERROR, (ClassName, message))``; ``GenServer.call`` raises it.
REPLY_ERROR = Atom("$gen_reply_error")
#: Process dictionary key holding a server's current class (set at start,
#: updated by a code upgrade): how ``actors.reload`` finds the servers to upgrade.
GEN_SERVER_KEY = "$gen_server"


class Stop(Exception):
    """Raise in a callback to stop the server with ``reason``.

    Args:
        reason: the exit reason (``"normal"`` is a clean stop).
        reply: in ``handle_call``, a reply to send the caller before stopping.
    """

    _NO_REPLY = object()

    def __init__(self, reason: Any = "normal", reply: Any = _NO_REPLY) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        self._from: Any = None          # the call that raised it (set by the loop)
        self._by_parent = False         # the parent's trapped exit signal (set by the loop)


class Ignore(Exception):
    """Raise in ``init`` to not start: ``start_link`` returns ``None``."""


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


class Continue:
    """Action: run ``handle_continue(arg)`` before any other message."""

    __slots__ = ("arg",)

    def __init__(self, arg: Any) -> None:
        self.arg: Any = arg

    def __repr__(self) -> str:
        return f"Continue({self.arg!r})"


class IdleTimeout:
    """Action: call ``handle_info(IDLE_TIMEOUT)`` if no message arrives in ``seconds``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        check_seconds(seconds, "IdleTimeout(seconds)", allow_none=False)
        self.seconds: float = seconds

    def __repr__(self) -> str:
        return f"IdleTimeout({self.seconds!r})"


#: What ``handle_info`` receives when an ``IdleTimeout`` expires.
IDLE_TIMEOUT = _Sentinel("IDLE_TIMEOUT")
#: Action: hibernate until the next message.
HIBERNATE = _Sentinel("HIBERNATE")


class NoReply:
    """``handle_call`` result: no reply now (answer later with ``GenServer.reply``)."""

    __slots__ = ("action",)

    def __init__(self, action: Any = None) -> None:
        self.action: Any = action

    def __repr__(self) -> str:
        return "NOREPLY" if self.action is None else f"NoReply({self.action!r})"


#: ``handle_call`` result: no reply now.
NOREPLY = NoReply()


class Reply:
    """``handle_call`` result: reply ``value``, then perform ``action``."""

    __slots__ = ("value", "action")

    def __init__(self, value: Any, action: Any = None) -> None:
        self.value: Any = value
        self.action: Any = action

    def __repr__(self) -> str:
        return f"Reply({self.value!r}, {self.action!r})"


class _StartTimeout(StartError, Timeout):
    """start/start_link gave up waiting for init."""


class _BadReturn(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


_CALLBACKS = ("init", "handle_call", "handle_cast", "handle_info", "handle_continue", "terminate",
              "code_change")


class GenServer:
    """Base class of generic servers; see the module documentation."""

    #: The version of this server's code, passed to ``code_change`` on upgrade.
    vsn: Any = None

    # Which callbacks are `async def`, computed per subclass.
    _async: frozenset[str] = frozenset()

    # Set by the server loop before init runs: its pid, its name, its parent
    # (None when started without a link).
    _pid: Pid
    _name: Any
    _parent: Pid | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._async = frozenset(
            name for name in _CALLBACKS if inspect.iscoroutinefunction(getattr(cls, name, None)))

    # -- callbacks (defaults) ------------------------------------------------
    # Their parameters are positional-only (the loop passes them by position), so
    # an override names them as it likes: `def handle_cast(self, delta: int)`.

    def init(self, *args: Any, **kwargs: Any) -> Any:
        """Set up the server's state (default: nothing; arguments are not allowed)."""
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.init() takes no arguments: define init() to accept them")
        return None

    def handle_call(self, request: Any, from_: Any, /) -> Any:
        """Answer a ``call``; the default crashes the server (Elixir does the same)."""
        raise RuntimeError(f"{type(self).__name__} received call {request!r} but defines no handle_call")

    def handle_cast(self, request: Any, /) -> Any:
        """Handle a ``cast``; the default crashes the server."""
        raise RuntimeError(f"{type(self).__name__} received cast {request!r} but defines no handle_cast")

    def handle_info(self, msg: Any, /) -> Any:
        """Handle any other message; the default logs and drops it."""
        me = lowlevel.self()
        lowlevel.report(_logger, logging.WARNING, "unexpected_message", me,
                        "%s %r received unexpected message in handle_info: %r",
                        type(self).__qualname__, me, msg, received=msg)
        return None

    def handle_continue(self, arg: Any, /) -> Any:
        """Run after a callback returned ``Continue(arg)``; the default crashes."""
        raise RuntimeError(f"{type(self).__name__} returned Continue({arg!r}) but defines no handle_continue")

    def terminate(self, reason: Any, /) -> Any:
        """Clean up before the server exits with ``reason`` (default: nothing).
        May be ``async def``."""
        return None

    def code_change(self, old_vsn: Any, extra: Any, /) -> None:
        """Migrate this instance's state from ``old_vsn`` (default: nothing to do)."""
        return None

    # -- client API ----------------------------------------------------------

    @classmethod
    async def start_link(cls, *args: Any, name: Any = None, timeout: float | None = None,
                         **kwargs: Any) -> Pid | None:
        """Start a server linked to the caller and wait until its ``init`` has run.

        Args:
            *args, **kwargs: passed to ``init``.
            name: a ``str`` or ``via(registry, key)`` to register the server under.
            timeout: seconds to wait for ``init`` (``None``: forever); on
                timeout the server is killed and ``StartError`` (also a
                ``Timeout``) is raised.

        Returns:
            The server's ``Pid``, or ``None`` if ``init`` raised ``Ignore``.

        Raises:
            StartError: ``init`` raised or stopped (``.reason``).
            AlreadyRegistered: ``name`` is taken (``.pid`` is the holder).
        """
        return await start_server(cls, args, kwargs, name=name, timeout=timeout, link=True)

    @classmethod
    async def start(cls, *args: Any, name: Any = None, timeout: float | None = None,
                    **kwargs: Any) -> Pid | None:
        """Like ``start_link``, without the link."""
        return await start_server(cls, args, kwargs, name=name, timeout=timeout, link=False)

    @classmethod
    def child_spec(cls, *args: Any, **kwargs: Any) -> ChildSpec:
        """The spec a supervisor uses to run this server: ``cls.start_link(*args, **kwargs)``."""
        return ChildSpec(id=cls, start=(cls.start_link, args, kwargs))

    @staticmethod
    async def call(server: ServerRef, request: Any, timeout: float | None = 5.0) -> Any:
        """Send ``request`` to ``server`` and wait for the reply.

        Works from a process or from plain asyncio code running an
        ``actors.Runtime``.

        Raises:
            NoProcess: the server does not exist.
            CallExit: it exited before replying (``.reason``), or its node
                cannot be reached (``"noconnection"``).
            Timeout: no reply within ``timeout`` seconds (default 5).
            TypeError: ``server`` is not a Pid, a name, ``(name, node)`` or
                a via; or (another node) the request or the reply cannot
                travel.
        """
        if type(server) is not Pid:
            check_server(server, "server", "GenServer.call")
        result = await lowlevel.call(server, request, timeout)
        if type(result) is tuple and len(result) == 2 and type(result[0]) is Atom \
                and result[0] == REPLY_ERROR:
            raise error_from_wire(result[1], f"GenServer.call: the reply of {server!r}")
        return result

    @staticmethod
    def cast(server: ServerRef, request: Any) -> None:
        """Send ``request`` to ``server`` without waiting; never fails (but a
        ``server`` that is not a Pid, a name, ``(name, node)`` or a via, or a
        ``request`` that cannot travel to its node, is a ``TypeError``)."""
        if type(server) is not Pid:
            check_server(server, "server", "GenServer.cast")
        try:
            lowlevel.send(server, (CAST, request))
        except NoProcess:
            pass

    @staticmethod
    def reply(from_: Any, value: Any) -> None:
        """Reply to a call answered with ``NOREPLY``; ``from_`` is the call's ``from_``."""
        lowlevel.reply(from_, value)

    @staticmethod
    async def stop(server: ServerRef, reason: Any = "normal", timeout: float | None = None) -> None:
        """Stop ``server`` with ``reason`` and wait until it has exited.

        The server runs ``terminate(reason)`` first.  It may be a Python
        server on another node.

        Raises:
            NoProcess: the server does not exist.
            Timeout: it did not exit within ``timeout`` seconds.
            CallExit: it exited with another reason (``"noconnection"``: its
                node cannot be reached).
            TypeError: ``server`` is not a Pid, a name, ``(name, node)`` or
                a via, or ``reason`` cannot travel to its node.
        """
        check_server(server, "server", "GenServer.stop")
        check_seconds(timeout, "timeout", allow_none=True)
        await stop_process(server, reason, timeout)


# -- starting ------------------------------------------------------------------

def bad_request(server: "GenServer", kind: str, request: Any, why: str) -> tuple[str, TypeError]:
    """An OTP server's answer to a malformed request: log it, and return the
    reply ``("error", TypeError(...))`` for the caller (OTP's ``{error, badcall}``).

    The server stays up: a client's bad argument must never kill a server
    (and with it the processes linked to it).
    """
    lowlevel.report(_logger, logging.ERROR, "bad_request", server._pid,
                    "%s %r received a malformed request %r: %s", kind, server._pid, request, why,
                    request=request, why=why, stacklevel=2)
    return ("error", TypeError(f"{kind} {server._pid!r}: malformed request {request!r}: {why}"))


def _check_name(name: Any) -> None:
    if name is not None and not isinstance(name, (str, via)):
        raise TypeError(f"name must be a str, a via(registry, key) or None, got {name!r}")


def register_name(name: Any, pid: Pid) -> None:
    """Register ``pid`` under ``name`` (a str or via); AlreadyRegistered if taken."""
    if isinstance(name, str):
        lowlevel.register(name, pid)
    else:
        lowlevel.via_register(name, pid)


async def start_server(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], *, name: Any,
                       timeout: float | None, link: bool) -> Pid | None:
    """Spawn ``cls``'s server loop and wait for its ``init`` (``proc_lib:start_link``)."""
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"start_link: {cls!r} is not a GenServer subclass")
    _check_name(name)
    check_seconds(timeout, "timeout", allow_none=True)
    if not in_process():
        if link:
            raise RuntimeError(
                f"{cls.__name__}.start_link() must be called inside a process (it links to the "
                f"caller); from plain asyncio code use {cls.__name__}.start()")
        started: Pid | None = await call_in_process(start_server, cls, args, kwargs, name=name,
                                                    timeout=timeout, link=False)
        return started
    return await start_and_ack(_serve, (cls, args, kwargs, name), link=link, timeout=timeout,
                               what=cls.__name__)


async def start_and_ack(fn: Any, args: tuple[Any, ...], *, link: bool, timeout: float | None,
                        what: str) -> Pid | None:
    """Spawn ``fn(ack, parent, *args)`` and wait until it calls ``ack(result)``.

    ``parent`` is the caller's pid if linked, else None.

    ``ack(("ok", pid))`` returns the pid, ``ack(("ignore",))`` returns None,
    ``ack(("error", exc))`` raises ``exc``.  If the process dies before
    acknowledging, ``StartError(reason)`` is raised.
    """
    me = lowlevel.self()
    tag = lowlevel.make_ref()

    def ack(result: Any) -> None:
        lowlevel.send(me, (tag, result))

    if link:
        pid = lowlevel.spawn_link(fn, ack, me, *args)
    else:
        pid = lowlevel.spawn(fn, ack, None, *args)
    mref = lowlevel.monitor(pid)
    msg = await lowlevel.receive((tag, ANY), Down(mref, ANY, ANY), timeout=timeout, default=None)
    if msg is None:                                   # timed out
        lowlevel.unlink(pid)
        lowlevel.exit(pid, "kill")
        lowlevel.demonitor(mref, flush=True)
        raise _StartTimeout("timeout", f"{what}: init did not finish within {timeout} s")
    if isinstance(msg, Down):
        raise StartError(msg.reason, f"{what} exited during init: {msg.reason!r}")
    lowlevel.demonitor(mref, flush=True)
    result = msg[1]
    if result[0] == "ok":
        return pid
    if result[0] == "ignore":
        return None
    raise result[1]


# -- the server loop --------------------------------------------------------------

async def _serve(ack: Any, parent: Pid | None, cls: type[GenServer], args: tuple[Any, ...],
                 kwargs: dict[str, Any], name: Any) -> None:
    me = lowlevel.self()
    if name is not None:
        try:
            register_name(name, me)
        except BaseException as exc:
            _leave_parent(parent)
            ack(("error", exc))
            return
    server = cls.__new__(cls)
    server._pid = me
    server._name = name
    server._parent = parent
    lowlevel.pdict_put(GEN_SERVER_KEY, cls)      # how actors.reload finds the servers of a class
    lowlevel.pdict_put("$initial_call", f"{cls.__module__}.{cls.__qualname__}.init")   # crash logs, info
    try:
        action = server.init(*args, **kwargs)
        if "init" in cls._async:
            action = await action
    except Ignore:
        _leave_parent(parent)
        _unregister(name)
        ack(("ignore",))
        return
    except Stop as stop:
        _leave_parent(parent)
        _unregister(name)
        ack(("error", StartError(stop.reason, f"{cls.__name__}.init stopped: {stop.reason!r}")))
        raise ProcessExit(stop.reason).with_traceback(stop.__traceback__) from None
    except (ProcessExit, GeneratorExit):
        raise                # killed by a signal: the starter's monitor reports the reason
    except BaseException as exc:
        _leave_parent(parent)
        _unregister(name)
        ack(("error", StartError(exc, f"{cls.__name__}.init failed: {exc!r}")))
        raise
    if not _is_action(action):
        _leave_parent(parent)
        _unregister(name)
        reason = ("bad_return_value", action)
        ack(("error", StartError(reason, f"{cls.__name__}.init returned {action!r}")))
        raise ProcessExit(reason)
    ack(("ok", me))
    await _loop(server, cls, parent, action)


def _leave_parent(parent: Pid | None) -> None:
    """init failed: unlink first, so the starter gets StartError instead of an exit signal."""
    if parent is not None:
        lowlevel.unlink(parent)


def _unregister(name: Any) -> None:
    if name is None:
        return
    try:
        if isinstance(name, str):
            lowlevel.unregister(name)
        else:
            lowlevel.via_unregister(name)
    except Exception:
        pass


def _is_action(value: Any) -> bool:
    return value is None or value is HIBERNATE or type(value) in (Continue, IdleTimeout)


def _class_facts(server: GenServer, cls: type[GenServer]) -> tuple[Any, ...]:
    """What ``_loop`` binds once rather than per message: the server's class,
    which callbacks are async, and the bound callbacks.

    Taken again after each system message, which may move the server to a new
    class (``actors.reload``) or wrap its callbacks (``actors.sys`` tracing).
    """
    if type(server) is not cls:                  # hot code reload moved it to a new class
        cls = type(server)
    is_async = cls._async
    return (cls, is_async, "handle_call" in is_async, "handle_cast" in is_async,
            "handle_info" in is_async, server.handle_call, server.handle_cast, server.handle_info)


async def _loop(server: GenServer, cls: type, parent: Pid | None, action: Any) -> None:
    """The server's receive loop: take the next message, run its callback,
    carry out the action the callback returned; end through ``terminate``."""
    receive = lowlevel.receive
    reply = lowlevel.reply
    call_tag = CALL
    (cls, is_async, call_async, cast_async, info_async,
     handle_call, handle_cast, handle_info) = _class_facts(server, cls)
    idle = None
    try:
        while True:
            if action is not None:               # the action the last callback asked for
                idle = await _run_action(server, action, is_async)
                action = None
            if idle is None:
                msg = await receive()
            else:
                msg = await receive(timeout=idle, default=IDLE_TIMEOUT)
                idle = None
            if type(msg) is tuple and len(msg) == 3 and msg[0] == call_tag:
                from_ = msg[1]
                if type(from_) is not tuple or len(from_) != 2 or type(from_[0]) is not Pid:
                    _drop_malformed_call(server, cls, msg)
                    continue
                try:
                    result = handle_call(msg[2], from_)
                    if call_async:
                        result = await result
                except Stop as stop:
                    stop._from = from_                   # replied after terminate, as in OTP
                    raise
                tp = type(result)
                if tp is Reply:
                    try:
                        reply(from_, result.value)
                    except TypeError as exc:        # it cannot travel to the caller's node
                        _reply_failed(server, from_, exc)
                    action = result.action
                elif tp is NoReply:
                    action = result.action
                else:
                    try:
                        reply(from_, result)
                    except TypeError as exc:
                        _reply_failed(server, from_, exc)
                    continue
                if not _is_action(action):
                    raise _BadReturn(action)
            elif type(msg) is tuple and len(msg) == 2 and msg[0] == CAST:
                action = handle_cast(msg[1])
                if cast_async:
                    action = await action
                if not _is_action(action):
                    raise _BadReturn(action)
            elif type(msg) is tuple and len(msg) == 3 and msg[0] == STOP:
                raise Stop(msg[2])
            elif type(msg) is tuple and len(msg) == 3 and msg[0] == SYSTEM:
                action = await _system_message(server, msg)
                (cls, is_async, call_async, cast_async, info_async,
                 handle_call, handle_cast, handle_info) = _class_facts(server, cls)
            elif type(msg) is Exit and msg.pid is parent:
                # The parent's exit signal, trapped.  A server without a parent
                # (started with start()) takes the signal the runtime sends at
                # shutdown, from outside any process (Exit(None, reason)), as
                # its parent's.
                parent_exit = Stop(msg.reason)
                parent_exit._by_parent = True
                raise parent_exit
            else:
                action = handle_info(msg)
                if info_async:
                    action = await action
                if not _is_action(action):
                    raise _BadReturn(action)
    except Stop as stop:
        await _stop(server, cls, stop)
    except _BadReturn as bad:
        reason = ("bad_return_value", bad.value)
        await _terminate(server, cls, reason)
        raise ProcessExit(reason) from None
    except (ProcessExit, GeneratorExit):
        raise                                            # killed by a signal: no terminate (OTP)
    except BaseException as exc:
        await _terminate(server, cls, exc)
        raise


async def _run_action(server: GenServer, action: Any, is_async: frozenset[str]) -> float | None:
    """Carry out a callback's action (not None): run ``handle_continue`` until
    it asks for something else, garbage-collect for ``HIBERNATE``.  Returns the
    timeout of the next receive (``IdleTimeout``), or None."""
    while type(action) is Continue:
        action = server.handle_continue(action.arg)
        if "handle_continue" in is_async:
            action = await action
        if not _is_action(action):
            raise _BadReturn(action)
    if type(action) is IdleTimeout:
        seconds: float | None = action.seconds
        return seconds
    if action is HIBERNATE:
        gc.collect(0)
    return None


def _reply_failed(server: GenServer, from_: Any, exc: TypeError) -> None:
    """A reply to a caller on another node could not be encoded: the server
    goes on, and the caller gets ``TypeError`` instead of the reply."""
    lowlevel.report(_logger, logging.ERROR, "bad_reply", server._pid,
                    "%s %r: its reply to %r cannot travel to node %s: %s", type(server).__qualname__,
                    server._pid, from_[0], from_[0].node, exc, why=str(exc), stacklevel=2)
    lowlevel.reply(from_, (REPLY_ERROR, error_to_wire(exc)))


def _drop_malformed_call(server: GenServer, cls: type, msg: tuple[Any, ...]) -> None:
    """Nobody to answer: a forged call must not crash the server."""
    lowlevel.report(_logger, logging.ERROR, "bad_request", server._pid,
                    "%s %r dropped a malformed call message %r (from_ must be the caller's "
                    "(pid, ref))", cls.__qualname__, server._pid, msg,
                    request=msg, why="from_ must be the caller's (pid, ref)", stacklevel=2)


async def _stop(server: GenServer, cls: type, stop: Stop) -> None:
    """The server stops with ``Stop``: run ``terminate``, reply to the call that
    asked to stop (after terminate, as in OTP), exit with the reason."""
    try:
        await _terminate(server, cls, stop.reason)
    finally:
        from_ = getattr(stop, "_from", None)
        if from_ is not None and stop.reply is not Stop._NO_REPLY:
            lowlevel.reply(from_, stop.reply)
    if stop._by_parent:
        _exit_like_parent(stop.reason)
    # The report of an abnormal stop shows where Stop was raised.
    raise ProcessExit(stop.reason).with_traceback(stop.__traceback__) from None


def _exit_like_parent(reason: Any) -> None:
    """The server trapped its parent's exit signal only to run ``terminate``:
    now let the signal take effect, so the server exits with the parent's
    reason as if it did not trap exits.  Dying of a signal, it writes no
    crash report: a crash is reported once, by the process where it
    happened, not again by each server it takes down (OTP logs both).  A
    ``"kill"`` that came through a link would turn into ``"killed"``: it
    is raised as is instead."""
    if type(reason) is str and reason == "kill":
        return
    lowlevel.process_flag("trap_exit", False)
    lowlevel.exit(lowlevel.self(), reason)          # raises ProcessExit(reason)


async def _terminate(server: GenServer, cls: type, reason: Any) -> None:
    try:
        result = server.terminate(reason)
        if "terminate" in type(server)._async:      # its class may have changed (actors.reload)
            await result
    finally:
        # A local name stays registered until the process has exited: the
        # core frees it then (before links and monitors hear of the exit, so
        # a supervisor can restart the server under the same name), and the
        # crash report, written just before, still names the server.  A via
        # registry may not watch its processes: tell it now.
        if type(server._name) is via:
            _unregister(server._name)


# System messages ``("$system", from_, request)`` (``actors.sys``) are handled
# by a hook registered with ``set_system_handler`` (``actors/__init__.py``
# registers ``actors.sys.handle_system``): ``async def handler(server, msg) -> action``.  It
# runs inside the server, between two callbacks; while the server is suspended
# it does not return (it receives only system messages, a stop request and
# the parent's trapped exit), so ordinary messages stay queued in order.  It
# may move ``server`` to a new class (a code upgrade): ``_loop`` then reloads
# the class's facts.  ``server._parent`` is the parent pid (None if unlinked).
_system_handler: Any = None


def set_system_handler(handler: Any) -> None:
    """Register the handler of system messages (``actors.sys``), or None.

    ``handler`` is ``async def handler(server, msg) -> action``; it runs inside
    the server.  ``actors/__init__.py`` registers ``actors.sys.handle_system``.
    """
    global _system_handler
    if handler is not None and not callable(handler):
        raise TypeError(f"set_system_handler(handler): handler must be callable or None, got {handler!r}")
    _system_handler = handler


async def _system_message(server: GenServer, msg: tuple[Any, ...]) -> Any:
    if _system_handler is None:
        lowlevel.report(_logger, logging.WARNING, "unexpected_message", server._pid,
                        "%r: system message %r with no handler", server._pid, msg[1], received=msg)
        return None
    return await _system_handler(server, msg)


async def stop_process(server: ServerRef, reason: Any, timeout: float | None) -> None:
    """Ask a GenServer-based process to stop with ``reason``; wait for its exit.

    ``server`` may be on another node (a remote ``Pid`` or ``(name, node)``):
    the request travels there, and a server that cannot be reached exits the
    call with ``"noconnection"`` (``CallExit``).
    """
    if remote_node(server) is not None:
        target: Any = server                 # monitored and sent to as it is
    else:
        local: Any = server[0] if type(server) is tuple else server      # (name, this node): name
        target = local if isinstance(local, Pid) else lowlevel.whereis(local)
        if target is None or not lowlevel.is_alive(target):
            raise NoProcess(f"stop: no process {server!r}")
    if not in_process():
        await call_in_process(stop_process, target, reason, timeout)
        return
    if target is lowlevel.self():
        raise CallExit("calling_self", "stop: a process cannot stop itself this way; raise Stop(reason)")
    ref = lowlevel.monitor(target)
    try:
        lowlevel.send(target, (STOP, None, reason))
    except TypeError:                        # the reason cannot travel: nothing was sent
        lowlevel.demonitor(ref, flush=True)
        raise
    down = await lowlevel.receive(Down(ref, ANY, ANY), timeout=timeout, default=None)
    if down is None:
        lowlevel.demonitor(ref, flush=True)
        raise Timeout(f"stop: {server!r} did not exit within {timeout} s")
    if down.reason == "noproc":
        raise NoProcess(f"stop: no process {server!r}")
    if down.reason is not reason and down.reason != reason:
        raise CallExit(down.reason, f"stop: {server!r} exited with {down.reason!r}, not {reason!r}")
