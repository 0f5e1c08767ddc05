"""Agent: a process that holds a piece of state.

Often all a process has to do is keep some state that other processes read
and change.  An agent is exactly that: a ``GenServer`` whose only job is to
hold a value, with functions to get it and to update it.

Example
-------
::

    counter = await Agent.start_link(lambda: 0)          # initial state: 0

    await Agent.update(counter, lambda n: n + 1)         # runs inside the agent
    await Agent.get(counter, lambda n: n)                # -> 1
    await Agent.get_and_update(counter, lambda n: (n, n + 10))   # -> 1; state 11
    Agent.cast(counter, lambda n: n * 2)                 # fire and forget
    await Agent.stop(counter)

As with a ``GenServer``, hide the agent behind a small API of your own, so
that callers never see how the state is kept::

    class Counter:
        @staticmethod
        async def start_link(initial=0):
            return await Agent.start_link(lambda: initial, name="counter")

        @staticmethod
        async def value():
            return await Agent.get("counter", lambda n: n)

        @staticmethod
        async def increment():
            await Agent.update("counter", lambda n: n + 1)

The functions run inside the agent
----------------------------------
Every function you give an agent (the initial ``fn``, and the ones given to
``get``, ``update``, ``get_and_update`` and ``cast``) runs *inside the agent
process*, one at a time, in the order the requests arrive: the state never
needs a lock.  It also means a slow function blocks every other client of the
agent, and that the caller waits for it.  Prefer to do expensive work in the
caller and send the agent only the result::

    # The agent computes: every other client waits.
    await Agent.update(cache, lambda s: {**s, key: expensive(key)})
    # The caller computes, the agent only stores.
    value = expensive(key)
    await Agent.update(cache, lambda s: {**s, key: value})

A function may be a plain or an ``async`` function (its result is awaited
inside the agent before the next request is handled).  Extra positional
arguments are passed after the state: ``Agent.get(a, operator.getitem,
"key")`` calls ``getitem(state, "key")`` (Elixir's module-function-args
form).

If a function raises, the agent crashes with that exception (its supervisor
can restart it) and the caller of ``get``/``update``/``get_and_update``
gets ``CallExit`` with the exception as ``.reason``, as in Elixir.

Timeouts
--------
``get``, ``update`` and ``get_and_update`` wait 5 seconds for the agent's
answer by default (``timeout=None``: forever), then raise ``Timeout``; the
function may still run in the agent later.  ``start_link`` and ``stop`` wait
forever unless given ``timeout=``.  ``cast`` never waits and never fails.

How to supervise
----------------
``Agent.child_spec(fn, name="counter")`` is the spec that starts
``Agent.start_link(fn, name="counter")`` under a supervisor, with id
``Agent`` (set another with ``Supervisor.child_spec(spec, id=...)``).  A
subclass ``class Stack(Agent)`` gets its own id, ``Stack``.  Name an agent
(``name=`` a ``str`` or ``via(registry, key)``) so that clients find it
again after a restart.

Agents on other nodes
---------------------
Every client function also takes an agent of another node: its ``Pid``,
or ``(name, node)``.  The functions still run inside the agent, so on its
node; and since actors never pickles, a function travels by name, as
``(module, qualname)``, and the agent's node imports it.  So it must be a
function defined at the top level of a module that both nodes can import,
and the agent's node must allow that module (``allow_spawn`` of
``Node.start``, as for ``Node.spawn``)::

    # shop/stock.py, on both nodes:  def add(state, item, n): ...
    # the agent's node: await Node.start("shop@host", allow_spawn=["shop.stock"])
    await Agent.update(("stock", "shop@host"), stock.add, "apples", 3)

A lambda, a nested function, a bound method or a ``functools.partial``
raises ``TypeError`` before anything is sent, as do arguments that cannot
travel as terms (``str``, ``bytes``, numbers, tuples, lists, dicts, pids...).
A module the agent's node does not allow raises ``PermissionError``, a
function it cannot find ``LookupError``, and a result that cannot travel
back ``TypeError``: the agent goes on in each case.  A function that raises
crashes the agent as on one node; the caller's ``CallExit`` then has the
reason ``(class name, message)``, e.g. ``("ValueError", "bad state")``, as
every exception that crosses nodes.

When (not) to use an agent
--------------------------
Use an agent for shared state that is read and replaced in small steps: a
cache, a counter, a configuration.  When the state goes with behaviour
(messages to handle, timers, work on its own) use a ``GenServer``; for a
one-off computation use a ``Task``.
"""
from __future__ import annotations

# Requests are untyped (Any) and matched by shape, as in `type(request) is
# tuple and len(request) == 3`; pyright narrows them to tuple[Unknown, ...],
# which its strict mode reports at every use.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, TypeVarTuple, cast, overload

from .lowlevel import Pid, ServerRef
from .child_spec import ChildSpec
from .dist.etf import Atom
from .dist.remote import (
    error_from_wire, error_to_wire, function_from_wire, function_to_wire, is_function_ref, remote_node,
)
from .gen_server import NOREPLY, Continue, GenServer, NoReply, Reply, bad_request
from .lowlevel import check_server
from .lowlevel import call          # GenServer.call's fast path; works outside processes too

__all__ = ["Agent"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_GET = "get"
_UPDATE = "update"
_GET_AND_UPDATE = "get_and_update"
_CAST = "cast"
_CALLS = (_GET, _UPDATE, _GET_AND_UPDATE)
# An agent answers a request from another node with one of these.
_OK = Atom("ok")
_ERROR = Atom("error")


def _check_fn(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what}: fn must be a function of the state, got {fn!r}")


def _malformed(request: Any, ops: tuple[str, ...]) -> str | None:
    """Why ``request`` is not ``(op, fn, args)`` with ``op`` in ``ops``, or None."""
    if type(request) is not tuple or len(request) != 3:  # pyright: ignore[reportUnknownArgumentType]
        return "an agent request is (op, fn, args)"
    op, fn, args = cast("tuple[object, object, object]", request)
    if type(op) is not str or op not in ops:
        return f"unknown operation {op!r}"
    if not callable(fn):
        return f"fn must be a function of the state, got {fn!r}"
    if type(args) is not tuple:
        return f"args must be a tuple, got {args!r}"
    return None


def _is_awaitable(value: object) -> bool:
    return hasattr(type(value), "__await__")


async def _remote_call(agent: Any, node: str, op: str, fn: Any, args: tuple[Any, ...],
                       timeout: float | None, what: str) -> Any:
    """``op`` on an agent of another node: ``fn`` travels by name."""
    kind, value = await call(agent, (op, function_to_wire(fn, what, node), args), timeout)
    if kind != _OK:
        raise error_from_wire(value, node)
    return value


def _reply_remote(from_: Any, reply: Any) -> None:
    """Answer a caller on another node with ``reply`` (what ``_apply`` returned)."""
    if type(reply) is Reply:
        reply = reply.value
    try:
        GenServer.reply(from_, (_OK, reply))
    except TypeError as exc:                # the result cannot travel
        GenServer.reply(from_, (_ERROR, error_to_wire(exc)))


class Agent(GenServer):
    """A process that holds state; see the module documentation.

    The client functions are class methods and static methods:
    ``start_link``, ``start``, ``get``, ``update``, ``get_and_update``,
    ``cast``, ``stop``, ``child_spec``.  The state lives in the agent process,
    as ``self.state`` of the server instance.
    """

    #: The agent's state (inside the agent process).
    state: Any

    # -- client API ----------------------------------------------------------

    # start_link and start take the state's function where GenServer's take
    # init's arguments: an Agent is not substitutable for a GenServer there.
    @classmethod
    async def start_link(cls, fn: Callable[..., Any], /, *args: Any,  # type: ignore[override]
                         name: Any = None, timeout: float | None = None) -> Pid:
        """Start an agent linked to the caller, with state ``fn(*args)``.

        ``fn`` runs inside the new agent; ``start_link`` returns once it has
        returned (it may be an async function).

        Args:
            fn: gives the initial state.
            *args: its arguments.
            name: register the agent under this ``str`` or ``via(registry, key)``.
            timeout: seconds to wait for ``fn`` (``None``: forever).

        Returns:
            The agent's ``Pid``.

        Raises:
            StartError: ``fn`` raised (``.reason`` is the exception).
            AlreadyRegistered: ``name`` is taken.
            TypeError: ``fn`` is not callable.
        """
        _check_fn(fn, f"{cls.__name__}.start_link")
        pid = await super().start_link(fn, args, name=name, timeout=timeout)
        assert pid is not None                  # an agent's init never ignores
        return pid

    @classmethod
    async def start(cls, fn: Callable[..., Any], /, *args: Any,  # type: ignore[override]
                    name: Any = None, timeout: float | None = None) -> Pid:
        """Like ``start_link``, without the link."""
        _check_fn(fn, f"{cls.__name__}.start")
        pid = await super().start(fn, args, name=name, timeout=timeout)
        assert pid is not None                  # an agent's init never ignores
        return pid

    @classmethod
    def child_spec(cls, fn: Callable[..., Any], /, *args: Any, **options: Any) -> ChildSpec:
        """The spec a supervisor uses to run ``cls.start_link(fn, *args, **options)``.

        The id is the class (``Agent``, or your subclass).
        """
        _check_fn(fn, f"{cls.__name__}.child_spec")
        return super().child_spec(fn, *args, **options)

    @overload
    @staticmethod
    async def get(agent: ServerRef, fn: Callable[[Any, *_Ts], Awaitable[_T]], /, *args: *_Ts,
                  timeout: float | None = 5.0) -> _T: ...
    @overload
    @staticmethod
    async def get(agent: ServerRef, fn: Callable[[Any, *_Ts], _T], /, *args: *_Ts,
                  timeout: float | None = 5.0) -> _T: ...
    @staticmethod
    async def get(agent: ServerRef, fn: Callable[[Any, *_Ts], Any], /, *args: *_Ts,
                  timeout: float | None = 5.0) -> Any:
        """Return ``fn(state, *args)``, computed inside the agent.

        ``agent`` may be on another node (a ``Pid`` or ``(name, node)``):
        ``fn`` then travels by name (see "Agents on other nodes").

        Raises:
            NoProcess: no such agent.
            CallExit: the agent exited (for example because ``fn`` raised).
            Timeout: no answer within ``timeout`` seconds (default 5).
            TypeError: ``fn`` is not callable; for an agent of another node,
                ``fn`` or ``args`` (or the result) cannot travel.
            PermissionError: the agent's node does not allow ``fn``'s module.
        """
        if type(agent) is not Pid:
            check_server(agent, "agent", "Agent.get")
        _check_fn(fn, "Agent.get")
        node = remote_node(agent)
        if node is not None:
            return await _remote_call(agent, node, _GET, fn, args, timeout, "Agent.get")
        return await call(agent, (_GET, fn, args), timeout)

    @staticmethod
    async def update(agent: ServerRef, fn: Callable[[Any, *_Ts], object], /, *args: *_Ts,
                     timeout: float | None = 5.0) -> None:
        """Replace the state with ``fn(state, *args)``, computed inside the agent.

        Returns once the agent has stored the new state.

        Raises:
            NoProcess, CallExit, Timeout, TypeError, PermissionError: as ``get``.
        """
        if type(agent) is not Pid:
            check_server(agent, "agent", "Agent.update")
        _check_fn(fn, "Agent.update")
        node = remote_node(agent)
        if node is not None:
            await _remote_call(agent, node, _UPDATE, fn, args, timeout, "Agent.update")
            return
        await call(agent, (_UPDATE, fn, args), timeout)

    @overload
    @staticmethod
    async def get_and_update(agent: ServerRef,
                             fn: Callable[[Any, *_Ts], Awaitable[tuple[_T, Any]]], /,
                             *args: *_Ts, timeout: float | None = 5.0) -> _T: ...
    @overload
    @staticmethod
    async def get_and_update(agent: ServerRef, fn: Callable[[Any, *_Ts], tuple[_T, Any]], /,
                             *args: *_Ts, timeout: float | None = 5.0) -> _T: ...
    @staticmethod
    async def get_and_update(agent: ServerRef, fn: Callable[[Any, *_Ts], Any], /, *args: *_Ts,
                             timeout: float | None = 5.0) -> Any:
        """Get and update in one step: ``fn(state, *args)`` returns ``(result, new_state)``.

        Returns:
            ``result``; the agent keeps ``new_state``.

        Raises:
            NoProcess, CallExit, Timeout, TypeError, PermissionError: as
                ``get``.  If ``fn`` does not
                return a pair, the agent crashes with a ``TypeError``
                (``CallExit``).
        """
        if type(agent) is not Pid:
            check_server(agent, "agent", "Agent.get_and_update")
        _check_fn(fn, "Agent.get_and_update")
        node = remote_node(agent)
        if node is not None:
            return await _remote_call(agent, node, _GET_AND_UPDATE, fn, args, timeout,
                                      "Agent.get_and_update")
        return await call(agent, (_GET_AND_UPDATE, fn, args), timeout)

    # cast and stop take an agent and a function, where GenServer's take a
    # server and a request: an Agent is not substitutable for a GenServer there.
    @staticmethod
    def cast(agent: ServerRef, fn: Callable[[Any, *_Ts], object], /,  # pyright: ignore[reportIncompatibleMethodOverride]
             *args: *_Ts) -> None:
        """Replace the state with ``fn(state, *args)`` without waiting; never fails.

        Returns at once, even if the agent does not exist.  (For an agent of
        another node, ``fn`` and ``args`` that cannot travel raise
        ``TypeError``; a module that node does not allow is logged there and
        the request dropped.)
        """
        if type(agent) is not Pid:
            check_server(agent, "agent", "Agent.cast")
        _check_fn(fn, "Agent.cast")
        node = remote_node(agent)
        sent: Any = fn if node is None else function_to_wire(fn, "Agent.cast", node)
        GenServer.cast(agent, (_CAST, sent, args))

    @staticmethod
    async def stop(agent: ServerRef, reason: Any = "normal",  # pyright: ignore[reportIncompatibleMethodOverride]
                   timeout: float | None = None) -> None:
        """Stop the agent with ``reason`` and wait until it has exited.

        Raises:
            NoProcess: no such agent.
            Timeout: it did not exit within ``timeout`` seconds.
        """
        check_server(agent, "agent", "Agent.stop")
        await GenServer.stop(agent, reason, timeout)

    # -- server callbacks ----------------------------------------------------

    async def init(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """The agent's state is what ``fn(*args)`` returns (awaited if it is awaitable)."""
        state = fn(*args)
        if _is_awaitable(state):
            state = await state
        self.state = state

    def handle_call(self, request: Any, from_: Any) -> Any:
        """``get``, ``update`` and ``get_and_update``: apply the function to the state."""
        if type(request) is tuple and len(request) == 3 and is_function_ref(request[1]):
            return self._serve_remote(request, from_)
        why = _malformed(request, _CALLS)
        if why is not None:                 # a client's bad request must not kill the agent
            return bad_request(self, "Agent", request, why)
        op, fn, args = request
        value = fn(self.state, *args)
        if _is_awaitable(value):        # finish it before any other message
            return NoReply(Continue((op, from_, value)))
        return self._apply(op, value)

    def handle_cast(self, request: Any) -> Any:
        """``cast``: apply the function to the state; nobody waits for it."""
        if type(request) is tuple and len(request) == 3 and is_function_ref(request[1]):
            try:                            # from another node: the function by name
                request = (request[0], function_from_wire(request[1], "Agent.cast"), request[2])
            except Exception as exc:  # noqa: BLE001 (nobody to answer: log and drop it)
                bad_request(self, "Agent", request, str(exc))
                return None
        why = _malformed(request, (_CAST,))
        if why is not None:                 # nobody to answer: log and drop it
            bad_request(self, "Agent", request, why)
            return None
        _, fn, args = request
        value = fn(self.state, *args)
        if _is_awaitable(value):
            return Continue((_CAST, None, value))
        self.state = value
        return None

    async def handle_continue(self, arg: tuple[Any, ...]) -> None:
        """Finish an async function's result before any other message."""
        op, from_, awaitable = arg[:3]
        value = await awaitable
        if op == _CAST:
            self.state = value
        elif len(arg) == 4:                 # a call from another node
            _reply_remote(from_, self._apply(op, value))
        else:
            reply = self._apply(op, value)
            GenServer.reply(from_, reply.value if type(reply) is Reply else reply)

    def _serve_remote(self, request: tuple[Any, Any, Any], from_: Any) -> Any:
        """A call from another node: ``fn`` is a name, and the answer is
        ``("ok", result)`` or ``("error", (ClassName, message))`` when the
        request is refused (the agent goes on).  If ``fn`` raises, the agent
        crashes, as for a local call."""
        op, ref, args = request
        try:
            fn = function_from_wire(ref, f"Agent.{op}")
            if type(op) is not str or op not in _CALLS:
                raise ValueError(f"unknown operation {op!r}")
            if type(args) is not tuple:
                raise TypeError(f"args must be a tuple, got {args!r}")
        except Exception as exc:  # noqa: BLE001 (refused: the caller raises it)
            GenServer.reply(from_, (_ERROR, error_to_wire(exc)))
            return NOREPLY
        value = fn(self.state, *args)
        if _is_awaitable(value):
            return NoReply(Continue((op, from_, value, "remote")))
        _reply_remote(from_, self._apply(op, value))
        return NOREPLY

    def _apply(self, op: str, value: Any) -> Any:
        """Finish request ``op`` given ``fn``'s result ``value``; return the reply."""
        if op == _GET:
            result = value
        elif op == _UPDATE:
            self.state = value
            return None
        else:
            if not isinstance(value, tuple) or len(value) != 2:  # pyright: ignore[reportUnknownArgumentType]
                raise TypeError(
                    f"Agent.get_and_update: fn must return a (result, new_state) tuple, got {value!r}")
            result, self.state = cast("tuple[object, Any]", value)
        if isinstance(result, (Reply, NoReply)):
            return Reply(result)            # a value that looks like an action is still a value
        return result
