"""TaskSupervisor: a supervisor for tasks started on demand.

``Task.create`` links a task to the process that creates it, so a crash in
the task takes its creator down too.  That is what you want when the result
is part of the creator's work, and not what you want when the work is
optional or risky: a request handler that calls a flaky service, a
notification that may fail.  A ``TaskSupervisor`` runs such tasks as its
children instead (it is a ``DynamicSupervisor`` whose children are tasks),
so that they are not linked to you.

Example
-------
Start the supervisor, usually with a name, in your supervision tree::

    children = [TaskSupervisor.child_spec(name="tasks")]
    await Supervisor.start_link(children, strategy="one_for_one")

then start tasks under it::

    task = await TaskSupervisor.create("tasks", fetch, url)
    try:
        page = await task
    except CallExit as err:                # the task crashed: we did not
        page = None

    await TaskSupervisor.start_child("tasks", send_email, user)   # fire and forget

    async for page in TaskSupervisor.stream("tasks", fetch, urls, max_concurrency=4):
        ...

``create`` is Elixir's ``Task.Supervisor.async_nolink``: the task is linked
to the supervisor, not to you, and you monitor it.  Await it as any task
(``await task``, ``wait``, ``poll``, ``shutdown``; only you may); if it
crashes, ``await task`` raises ``CallExit`` with the crash as ``.reason``
and no exit signal reaches you.  If you exit first, the task carries on
under the supervisor.  (In a ``GenServer``, the result also arrives as a
``(task.ref, result)`` message and a crash as ``Down(task.ref, pid,
reason)``, both in ``handle_info``.)

``start_child`` starts a task nobody waits for, as ``Task.start`` does but
supervised: it is ``"temporary"`` (never restarted) unless you pass
``restart="transient"`` (restarted until it exits cleanly) or
``"permanent"``.

``stream`` is ``Task.stream`` with its tasks started under the supervisor;
it takes the same options (``max_concurrency``, ``ordered``, ``timeout``,
``return_exceptions``).  As with Elixir's ``Task.Supervisor.async_stream``,
each task is also linked to the consumer, so that the tasks die with it;
their exceptions are raised in (or yielded to) the consumer, never sent as
exit signals.

Tasks on other nodes
--------------------
On a node (``actors.Node``), ``create``, ``start_child`` and ``stream``
also take a supervisor of another Python node, ``(name, node)`` or its
``Pid`` (Elixir's ``Task.Supervisor.async_nolink({Sup, node}, ...)``): the
tasks run there, under that supervisor, and you await them as local ones
(``await task``, ``wait``, ``poll``, ``shutdown``; a timeout kills the task
there)::

    task = await TaskSupervisor.create(("tasks", "worker@host"), render, page)
    html = await task

The task function travels by name, as ``(module, qualname)``: it must be
an async function defined at the top level of a module both nodes import,
and the other node must allow that module (``allow_spawn`` of
``Node.start``), else ``StartError("not_allowed")``.  Arguments and results
travel as terms (``str``, ``bytes``, numbers, tuples, lists, dicts,
pids...): a lambda, a closure or an argument that cannot travel raises
``TypeError`` before anything is sent; a result that cannot makes the task
crash with ``TypeError``.  A crash reaches ``await task`` as ``CallExit``
whose reason is ``(class name, message)``, e.g. ``("ValueError", "boom")``;
a node that cannot be reached, or is lost while the task runs, as
``CallExit("noconnection")``.  A stream's tasks on another node are linked
to stand-in processes linked to the consumer, so they still die with it.

Shutting down
-------------
Each task gets ``shutdown`` seconds (default 5) to exit after the
``"shutdown"`` signal when the supervisor stops, then is killed
(``shutdown="brutal_kill"`` kills at once).  All tasks stop concurrently.

Options
-------
``start_link(name=None, max_children=None, max_restarts=3, max_seconds=5.0,
timeout=None)``: ``max_children`` limits how many tasks run at once (one
more makes ``create``/``start_child`` raise ``StartError("max_children")``;
give ``stream`` a ``max_concurrency`` below it); ``max_restarts`` and
``max_seconds`` bound restarts of transient and permanent tasks.
"""
from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable
from typing import Any, Literal, TypeVar, cast, overload

from .lowlevel import (
    ANY, CallExit, Down, NoProcess, Pid, ServerRef, ProcessExit, StartError, Timeout, demonitor,
    link, make_ref, monitor, pdict_put, receive, send, spawn_link,
)
from ._supervision import WHICH, call_supervisor, children_from_reply, stop_supervisor
from .child_spec import ChildSpec
from .dist.etf import Atom
from .dist.remote import (
    error_to_wire, function_from_wire, function_to_wire, remote_entry, remote_node,
)
from .dist.remote import spawn as remote_spawn
from .dynamic_supervisor import DynamicSupervisor
from .lowlevel import check_async_fn, check_seconds, check_server, current_scheduler
from .task import CPU_COUNT, Task, TaskStream, current_process, stream_task

__all__ = ["TaskSupervisor"]

_T = TypeVar("_T")
_I = TypeVar("_I")

_GO = "$task_go"


async def _run_nolink_task(owner: Pid, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                           kwargs: dict[str, Any], link_owner: bool = False) -> None:
    """The body of a ``TaskSupervisor.create`` task.

    The owner monitors the task only once ``start_child`` has returned, and
    the reply must carry that monitor's ref; so the task first waits for the
    owner's go-ahead with the ref (Elixir does the same), and gives up if the
    owner dies before sending it.  ``link_owner``: then link to the owner
    (a stream's task on another node, which must die with its consumer).
    """
    pdict_put("$initial_call", fn)           # logs and Process.info name fn, not this wrapper
    owner_mon = monitor(owner)
    msg = await receive((_GO, owner, ANY), Down(owner_mon, ANY, ANY))
    if type(msg) is Down:
        raise ProcessExit(("shutdown", msg.reason))
    demonitor(owner_mon, flush=True)
    if link_owner:
        link(owner)
    result = await fn(*args, **kwargs)
    send(owner, (msg[2], result))


async def _start_nolink_task(owner: Pid, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                             kwargs: dict[str, Any], link_owner: bool = False) -> Pid:
    return spawn_link(_run_nolink_task, owner, fn, args, kwargs, link_owner)


# -- tasks on another node ------------------------------------------------------------
# TaskSupervisor.create((sup, node), fn, ...) spawns _remote_start on ``node``
# (an actors entry point every node accepts: it checks ``fn`` against that
# node's allow_spawn itself).  There it starts the task under ``sup`` as a
# local create would, and answers (tag, ("ok", pid)) or (tag, ("error",
# reason)); the caller then monitors the task and sends it the go-ahead.  fn
# travels by name, its arguments and result as terms.

_OK = Atom("ok")
_ERROR = Atom("error")
_CREATE = "create"       # TaskSupervisor.create: monitored by the caller
_STREAM = "stream"       # a stream's task: monitored by, then linked to, the caller
_CHILD = "child"         # TaskSupervisor.start_child: nobody waits for it


@remote_entry
async def _remote_start(caller: Pid, tag: Any, supervisor: Any, fn_ref: Any, args: Any,
                        kwargs: Any, options: Any) -> None:
    """On the supervisor's node: start a task for ``caller``, answer ``(tag, answer)``."""
    try:
        fn = function_from_wire(fn_ref, "TaskSupervisor")
        check_async_fn(fn, "TaskSupervisor")
        args, kwargs = tuple(args), dict(kwargs)
        mode, shutdown = options["mode"], options["shutdown"]
        if mode == _CHILD:
            spec = Task.child_spec(fn, *args, restart=options["restart"], shutdown=shutdown, **kwargs)
        else:
            start = (_start_nolink_task, (caller, fn, args, kwargs, mode == _STREAM))
            spec = ChildSpec(id=Task, start=start, restart="temporary", shutdown=shutdown)
        answer: tuple[Any, Any] = (_OK, await DynamicSupervisor.start_child(supervisor, spec))
    except PermissionError as exc:
        answer = (_ERROR, (Atom("not_allowed"), str(exc)))
    except LookupError as exc:                  # NoProcess too: no such supervisor
        answer = (_ERROR, (Atom("noproc" if isinstance(exc, NoProcess) else "undef"), str(exc)))
    except StartError as exc:
        reason = exc.reason
        if isinstance(reason, BaseException):
            reason = error_to_wire(reason)
        elif not isinstance(reason, str):
            reason = repr(reason)
        answer = (_ERROR, (reason, str(exc)))
    except Exception as exc:  # noqa: BLE001 (the caller raises it)
        answer = (_ERROR, error_to_wire(exc))
    send(caller, (tag, answer))


async def _start_remotely(supervisor: Any, node: str, mode: str, fn: Any, args: tuple[Any, ...],
                          kwargs: dict[str, Any], options: dict[str, Any], timeout: float | None,
                          what: str) -> Pid:
    """Start a task on ``node`` under ``supervisor`` (a remote Pid or ``(name, node)``)."""
    fn_ref = function_to_wire(fn, what, node)
    me = current_process(f"{what}()")
    sup: Any = cast("tuple[str, str]", supervisor)[0] if type(supervisor) is tuple else supervisor
    tag = make_ref()
    sched = current_scheduler()
    assert sched is not None                    # the caller is a process
    deadline = None if timeout is None else sched.now() + timeout
    entry = await remote_spawn(node, _remote_start, (me, tag, sup, fn_ref, list(args), kwargs,
                                                     {**options, "mode": mode}), what, timeout)
    mref = monitor(entry)
    left = None if deadline is None else max(0.0, deadline - sched.now())
    msg = await receive((tag, ANY), Down(mref, ANY, ANY), timeout=left, default=None)
    if msg is None:
        demonitor(mref, flush=True)
        raise Timeout(f"{what}: {node} did not start the task within {timeout} s")
    if type(msg) is Down:                       # it exited without answering
        if msg.reason == "noconnection":
            raise CallExit("noconnection", f"{what}: lost the connection to {node}")
        raise StartError(msg.reason, f"{what}: {node} failed to start the task: {msg.reason!r}")
    demonitor(mref, flush=True)
    kind, value = msg[1]
    if kind == _OK:
        pid: Pid = value
        return pid
    reason, message = value
    if reason == "noproc":
        raise NoProcess(f"{what}: no supervisor {supervisor!r} on {node}")
    if isinstance(reason, str):
        reason = str(reason)                    # an atom: the reason as on this node
    raise StartError(reason, f"{what}: {node} did not start the task: {message}")


async def _remote_task(supervisor: Any, node: str, mode: str, fn: Any, args: tuple[Any, ...],
                       kwargs: dict[str, Any], shutdown: Any, timeout: float | None,
                       what: str) -> Task[Any]:
    """``create`` (or a stream's task) on another node: a ``Task`` of the caller."""
    pid = await _start_remotely(supervisor, node, mode, fn, args, kwargs, {"shutdown": shutdown},
                                timeout, what)
    owner = current_process(f"{what}()")
    ref = monitor(pid)
    send(pid, (_GO, owner, ref))
    return Task._new(pid, ref, owner)


async def _start_stream_task(state: Any, index: int, item: Any) -> Pid:
    return spawn_link(stream_task, state, index, item, True)


def _remote_stream(supervisor: Any, node: str, fn: Any, items: Any, *, max_concurrency: int,
                   ordered: bool, timeout: float | None, return_exceptions: bool,
                   shutdown: Any) -> TaskStream[Any]:
    """``stream`` under a supervisor of another node.

    Each item gets a local stand-in task (``Task.stream``'s machinery: limits,
    order, timeouts) that starts the real task there, linked to the stand-in,
    and returns its result: the real task dies with its stand-in, which dies
    with the consumer.
    """
    what = "TaskSupervisor.stream"
    check_async_fn(fn, what)
    function_to_wire(fn, what, node)            # TypeError now, not at the first item

    async def run_there(item: Any) -> Any:
        task = await _remote_task(supervisor, node, _STREAM, fn, (item,), {}, shutdown, None, what)
        return await task.wait(None)

    return TaskStream(run_there, items, max_concurrency=max_concurrency, ordered=ordered,
                      timeout=timeout, return_exceptions=return_exceptions, what=what)


class TaskSupervisor:
    """Supervise tasks started on demand; see the module documentation.

    All functions take the supervisor as a ``Pid``, a registered name or a
    ``via(registry, key)``; ``create``, ``start_child`` and ``stream`` also
    take one of another node (``(name, node)`` or its ``Pid``): see "Tasks
    on other nodes".
    """

    def __init__(self) -> None:
        raise TypeError("TaskSupervisor is not instantiated: use TaskSupervisor.start_link(...)")

    @staticmethod
    async def start_link(*, name: Any = None, max_children: int | None = None, max_restarts: int = 3,
                         max_seconds: float = 5.0, timeout: float | None = None) -> Pid:
        """Start a task supervisor linked to the caller.

        Args:
            name: a ``str`` or ``via(registry, key)`` to register it under.
            max_children: how many tasks may run at once (``None``: no limit).
            max_restarts, max_seconds: restart intensity (for transient and
                permanent tasks), as for any supervisor.
            timeout: seconds to wait for it to start (``None``: forever).

        Returns:
            Its ``Pid``.

        Raises:
            TypeError, ValueError: an invalid option.
            AlreadyRegistered: ``name`` is taken.
        """
        pid = await DynamicSupervisor.start_link(
            name=name, max_children=max_children, max_restarts=max_restarts,
            max_seconds=max_seconds, timeout=timeout)
        assert pid is not None                  # a DynamicSupervisor's init never ignores
        return pid

    @staticmethod
    async def start(*, name: Any = None, max_children: int | None = None, max_restarts: int = 3,
                    max_seconds: float = 5.0, timeout: float | None = None) -> Pid:
        """Like ``start_link``, without the link: for plain asyncio code and
        threads (see ``Supervisor.start``); it runs until stopped or until the
        runtime stops."""
        pid = await DynamicSupervisor.start(
            name=name, max_children=max_children, max_restarts=max_restarts,
            max_seconds=max_seconds, timeout=timeout)
        assert pid is not None                  # a DynamicSupervisor's init never ignores
        return pid

    @staticmethod
    def child_spec(**options: Any) -> ChildSpec:
        """The spec that runs ``TaskSupervisor.start_link(**options)`` under a supervisor.

        Its id is ``TaskSupervisor`` and its type ``"supervisor"``.
        """
        DynamicSupervisor.child_spec(**options)        # checks the options now
        return ChildSpec(id=TaskSupervisor, start=(TaskSupervisor.start_link, (), options),
                         type="supervisor")

    @staticmethod
    async def create(supervisor: ServerRef, fn: Callable[..., Coroutine[Any, Any, _T]], /, *args: Any,
                     shutdown: Any = 5.0, timeout: float | None = None, **kwargs: Any) -> Task[_T]:
        """Start ``fn(*args, **kwargs)`` under ``supervisor``: monitored by you, not linked.

        Elixir's ``Task.Supervisor.async_nolink``.  Await the returned task
        as one made by ``Task.create``; its crash is raised by ``await`` as
        ``CallExit`` instead of reaching you as an exit signal.

        Args:
            supervisor: the task supervisor.
            fn: an async function; *args, **kwargs: its arguments (but
                ``shutdown`` and ``timeout``, which are options of ``create``).
            shutdown: seconds it gets to exit when the supervisor stops, or
                ``"brutal_kill"``.
            timeout: seconds to wait for the supervisor to start the task
                (``None``: forever).

        Returns:
            The ``Task``.

        Raises:
            TypeError: ``fn`` is not an async function, or ``supervisor`` not
                a Pid, a name, ``(name, node)`` or a via; for another node,
                ``fn`` or the arguments cannot travel.
            StartError: the supervisor already runs ``max_children`` tasks;
                ``"not_allowed"``: its node does not allow ``fn``'s module.
            NoProcess: no such supervisor.
            CallExit: ``"noconnection"``: its node cannot be reached.
            Timeout: the supervisor did not answer within ``timeout``.
            RuntimeError: called outside a process.
        """
        check_server(supervisor, "supervisor", "TaskSupervisor.create")
        check_async_fn(fn, "TaskSupervisor.create")
        node = remote_node(supervisor)
        if node is not None:
            check_seconds(timeout, "TaskSupervisor.create(timeout)")
            # Check ``shutdown`` here, as the spec does for a local task.
            shutdown = ChildSpec(id=Task, start=(_start_nolink_task, ()), shutdown=shutdown).shutdown
            return await _remote_task(supervisor, node, _CREATE, fn, args, kwargs, shutdown, timeout,
                                      "TaskSupervisor.create")
        owner = current_process("TaskSupervisor.create()")
        spec = ChildSpec(id=Task, start=(_start_nolink_task, (owner, fn, args, kwargs)),
                         restart="temporary", shutdown=shutdown)
        pid = await DynamicSupervisor.start_child(supervisor, spec, timeout)
        assert pid is not None                  # a task's start never ignores
        ref = monitor(pid)
        send(pid, (_GO, owner, ref))
        return Task._new(pid, ref, owner)

    @staticmethod
    async def start_child(supervisor: ServerRef, fn: Callable[..., Coroutine[Any, Any, object]], /, *args: Any,
                          restart: str = "temporary", shutdown: Any = 5.0,
                          timeout: float | None = None, **kwargs: Any) -> Pid:
        """Start ``fn(*args, **kwargs)`` under ``supervisor``; nobody waits for its result.

        Args:
            supervisor: the task supervisor.
            fn: an async function; *args, **kwargs: its arguments (but
                ``restart``, ``shutdown`` and ``timeout``, which are options
                of ``start_child``).
            restart: ``"temporary"`` (default: never restarted),
                ``"transient"`` or ``"permanent"``.
            shutdown: seconds it gets to exit when stopped, or ``"brutal_kill"``.
            timeout: seconds to wait for the supervisor to start the task
                (``None``: forever).

        Returns:
            The task's ``Pid``.

        Raises:
            TypeError, ValueError: a bad ``supervisor``, ``fn``, ``restart``,
                ``shutdown`` or ``timeout``; for another node, ``fn`` or the
                arguments cannot travel.
            StartError: the supervisor already runs ``max_children`` tasks;
                ``"not_allowed"``: its node does not allow ``fn``'s module.
            NoProcess: no such supervisor.
            CallExit: ``"noconnection"``: its node cannot be reached.
            Timeout: the supervisor did not answer within ``timeout``.
        """
        check_server(supervisor, "supervisor", "TaskSupervisor.start_child")
        spec = Task.child_spec(fn, *args, restart=restart, shutdown=shutdown, **kwargs)
        node = remote_node(supervisor)
        if node is not None:
            check_seconds(timeout, "TaskSupervisor.start_child(timeout)")
            return await _start_remotely(supervisor, node, _CHILD, fn, args, kwargs,
                                         {"restart": spec.restart, "shutdown": spec.shutdown},
                                         timeout, "TaskSupervisor.start_child")
        pid = await DynamicSupervisor.start_child(supervisor, spec, timeout)
        assert pid is not None                  # a task's start never ignores
        return pid

    @overload
    @staticmethod
    def stream(supervisor: ServerRef, fn: Callable[[_I], Coroutine[Any, Any, _T]],
               items: Iterable[_I] | AsyncIterable[_I], *,
               max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: Literal[False] = False,
               shutdown: Any = 5.0) -> TaskStream[_T]: ...
    @overload
    @staticmethod
    def stream(supervisor: ServerRef, fn: Callable[[_I], Coroutine[Any, Any, _T]],
               items: Iterable[_I] | AsyncIterable[_I], *,
               max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: bool,
               shutdown: Any = 5.0) -> TaskStream[_T | Exception]: ...
    @staticmethod
    def stream(supervisor: ServerRef, fn: Callable[[_I], Coroutine[Any, Any, _T]],
               items: Iterable[_I] | AsyncIterable[_I], *,
               max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: bool = False,
               shutdown: Any = 5.0) -> TaskStream[_T] | TaskStream[_T | Exception]:
        """``Task.stream`` with its tasks started under ``supervisor``.

        Elixir's ``Task.Supervisor.async_stream``.  Each task is a temporary
        child of the supervisor and is linked to the consumer.  Takes the
        options of ``Task.stream``, and ``shutdown`` for the tasks.  A
        supervisor of another node runs the tasks there (see "Tasks on other
        nodes"); the consumer then gets a failed task's exception as
        ``CallExit`` with the reason ``(class name, message)``.

        Returns:
            A ``TaskStream``: ``async for result in TaskSupervisor.stream(...)``.

        Raises:
            TypeError, ValueError: a bad argument (before anything starts).
            StartError: while iterating, if the supervisor refuses a task
                (``max_children``); the stream is closed.
        """
        check_server(supervisor, "supervisor", "TaskSupervisor.stream")
        # Check ``shutdown`` now, as ChildSpec does, rather than at the first item.
        shutdown = ChildSpec(id=Task, start=(_start_stream_task, ()), shutdown=shutdown).shutdown
        node = remote_node(supervisor)
        if node is not None:
            return _remote_stream(supervisor, node, fn, items, max_concurrency=max_concurrency,
                                  ordered=ordered, timeout=timeout,
                                  return_exceptions=return_exceptions, shutdown=shutdown)

        async def start_task(state: Any, index: int, item: Any) -> Pid:
            spec = ChildSpec(id=Task, start=(_start_stream_task, (state, index, item)),
                             restart="temporary", shutdown=shutdown)
            pid = await DynamicSupervisor.start_child(supervisor, spec)
            assert pid is not None              # a task's start never ignores
            return pid

        return TaskStream(fn, items, max_concurrency=max_concurrency, ordered=ordered,
                          timeout=timeout, return_exceptions=return_exceptions,
                          what="TaskSupervisor.stream", start_task=start_task)

    @staticmethod
    async def children(supervisor: ServerRef, timeout: float | None = None) -> list[Pid]:
        """The pids of the tasks running under ``supervisor`` (waits at most ``timeout`` s)."""
        children = children_from_reply(
            await call_supervisor(supervisor, (WHICH,), timeout, "TaskSupervisor.children"))
        return [child.pid for child in children if type(child.pid) is Pid]

    @staticmethod
    async def terminate_child(supervisor: ServerRef, pid: Pid, timeout: float | None = None) -> None:
        """Stop the task ``pid`` (it is not restarted); wait at most ``timeout`` s.

        Raises:
            LookupError: ``pid`` is not a task of this supervisor.
        """
        check_server(supervisor, "supervisor", "TaskSupervisor.terminate_child")
        await DynamicSupervisor.terminate_child(supervisor, pid, timeout)

    @staticmethod
    async def stop(supervisor: ServerRef, reason: Any = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor; its tasks are shut down first."""
        await stop_supervisor(supervisor, reason, timeout, "TaskSupervisor.stop")
