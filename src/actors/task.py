"""Task: run one function in its own process and collect its result.

Tasks are processes meant to run one particular action throughout their
life, with little or no communication with other processes.  The most common
use is to turn sequential code into concurrent code by computing a value in
the background::

    task = Task.create(fetch_prices, "ACME")   # starts running at once
    news = await fetch_news("ACME")            # meanwhile, in this process
    prices = await task                        # the task's result

A task function is an ``async def`` function; ``Task.create(fn, *args)``
runs ``fn(*args)`` in a new process.  It is Elixir's ``Task.async``, named so
that it does not clash with the ``async`` keyword.

Example
-------
Start several tasks, then collect their results in order::

    async def square(x):
        return x * x

    tasks = [Task.create(square, n) for n in range(10)]
    results = await Task.wait_all(tasks)        # [0, 1, 4, ..., 81]

or let ``Task.stream`` run a function over many items, a few at a time::

    async for page in Task.stream(fetch, urls, max_concurrency=8):
        print(len(page))                        # in the order of urls

Owner, links and crashes
------------------------
A task made by ``Task.create`` is *linked* to the process that made it (its
*owner*) and *monitored* by it, and only its owner may wait for it (any other
process gets ``NotOwnerError``).  The link is deliberate: a task is part of
its owner's work, so

* if the task crashes, the owner receives the crash as an exit signal and,
  unless it traps exits, crashes too, with the same reason (a supervisor can
  then restart the owner);
* if the owner crashes (exits with any reason but ``"normal"``), its tasks
  die with it: no orphans keep working for a caller that is gone.  (As with
  any link, an owner that returns normally leaves its tasks running; await
  or ``shutdown`` them first.)

An owner that traps exits receives ``Exit(task.pid, reason)`` instead, and
``await task`` then raises ``CallExit(reason)``.  If you want a failing task
to be an error value rather than a crash, catch the error inside the task
function, or start the task with ``TaskSupervisor.create``, which does not
link it to you.

When the task finishes, it sends ``(task.ref, result)`` to its owner, then
exits with reason ``"normal"``; ``task.ref`` is the owner's monitor on it.
``await task`` takes that message out of the mailbox.  A ``GenServer`` that
starts tasks can instead receive it in ``handle_info``: match ``(task.ref,
result)``, then ``actors.demonitor(task.ref, flush=True)``.

Awaiting and timeouts
---------------------
``await task`` is ``await task.wait()``, which waits 5 seconds (as Elixir's
``Task.await``; ``task.wait(timeout=None)`` waits forever).  When the time is
up, the task is killed (a task nobody waits for any more is wasted work; in
Elixir the caller's own exit takes it down) and ``Timeout`` is raised.  A
task is waited for by its owner; once it has finished, awaiting it again
returns the same result at once (and once it has exited without a result,
raises the same ``CallExit``: ``"killed"`` after a timeout).

To wait without giving up on the task, use ``await task.poll(timeout)``
(Elixir's ``Task.yield``): it returns the result, or ``None`` if the task is
still running (it keeps running; poll again later, or ``shutdown`` it).
``await task.shutdown()`` stops a task: it sends it exit signal
``"shutdown"``, kills it if it has not exited within 5 seconds, and returns
its result if it had finished in the meantime, else ``None``.

``Task.wait_all(tasks, timeout)`` waits for several tasks with one overall
timeout and returns their results in the order of ``tasks``; on the first
failure or on timeout, the tasks still running are shut down and the error is
raised.

Streams
-------
``Task.stream(fn, items, max_concurrency=os.cpu_count(), ordered=True,
timeout=5.0, return_exceptions=False)`` (Elixir's ``Task.async_stream``)
runs ``fn(item)`` for every item, each in its own task, never more than
``max_concurrency`` at once, pulling items lazily as tasks finish.  It yields
the bare results, in the order of ``items`` when ``ordered`` (else as they
complete).  ``timeout`` is per item, counted from its task's start.  When a
task raises or times out, the remaining tasks are shut down and the error is
raised in the consumer; with ``return_exceptions=True`` the exception (a
``Timeout`` for a task that ran out of time) is yielded in place of the
result instead, and the stream goes on.  Leaving the ``async for`` early
(``break``, an exception) shuts the remaining tasks down.

Fire and forget
---------------
``Task.start(fn, *args)`` starts a task nobody waits for: not linked, not
monitored; it returns its ``Pid``.  Use it for side effects whose failure
must not affect you.  ``Task.start_link`` links it (a crash takes you down).

Supervised tasks
----------------
A task can be a child of a supervisor: ``Task.child_spec(fn, *args)`` is the
spec for ``Task.start_link(fn, *args)``, with ``restart="temporary"`` (a task
is not restarted; pass ``restart="transient"`` to restart it until it
succeeds, ``"permanent"`` to restart it forever).  ``TaskSupervisor``
supervises tasks started on demand, and its ``create`` starts a task that is
not linked to you, so that a crash reaches you as ``CallExit`` from ``await``
instead of an exit signal.

When to use tasks
-----------------
Use tasks for one-off concurrent work whose result you want (``create``), for
work over a collection (``stream``), and for side effects (``start``).  Tasks
do not answer messages while they run: for a long-lived process that holds
state or serves requests, use a ``GenServer`` or an ``Agent``.
"""
from __future__ import annotations

import collections
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Generator, Iterable
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload

from . import lowlevel
from .lowlevel import (
    ANY, CallExit, Down, Exit, Pid, ProcessExit, Timeout, demonitor, exit, link,
    make_ref, monitor, pdict_put, receive, send, spawn, spawn_link, unlink, where,
)
from .child_spec import ChildSpec
from .lowlevel import check_async_fn, check_seconds, current_scheduler, is_alive, process_info

__all__ = ["NotOwnerError", "Task", "TaskStream"]

CPU_COUNT = os.cpu_count() or 1

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)
_I = TypeVar("_I")
_P = ParamSpec("_P")


class NotOwnerError(ValueError, RuntimeError):
    """A process other than a task's owner tried to wait for it.

    Only the process that created a task receives its result message, so
    only it may ``wait``, ``poll`` or ``shutdown`` it (Elixir raises
    ``ArgumentError`` here).  It is both a ``ValueError`` (the task is the
    wrong argument for this caller) and a ``RuntimeError`` (it was called from
    the wrong process).
    """


# -- argument checks ----------------------------------------------------------

def current_process(what: str) -> Pid:
    try:
        return lowlevel.self()
    except RuntimeError:
        raise RuntimeError(f"{what} must be called inside a process") from None


def _exit_error(task: Task[Any], reason: Any, what: str) -> CallExit:
    err = CallExit(reason, f"{what}: task {task.pid!r} exited with reason {reason!r}")
    if isinstance(reason, BaseException):
        err.__cause__ = reason
    return err


# -- the task processes --------------------------------------------------------

async def _run_task(task: Task[Any], fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> None:
    """The body of a ``Task.create`` task: run ``fn``, send the result to the owner."""
    pdict_put("$initial_call", fn)           # logs and Process.info name fn, not this wrapper
    result = await fn(*args, **kwargs)
    # task.ref is set by the owner right after spawning, before this runs.
    send(task.owner, (task.ref, result))


# Outcomes kept on a Task once known: (True, result) or (False, exit reason).
_OK = True
_EXITED = False

_self = lowlevel.self


def _new_task(cls: type[Task[Any]]) -> Task[Any]:
    task: Task[Any] = object.__new__(cls)
    task._outcome = None
    return task


class _Steps:
    """Makes an iterator of awaitable steps (a generator) awaitable."""

    __slots__ = ("steps",)

    def __init__(self, steps: Any) -> None:
        self.steps = steps

    def __await__(self) -> Any:
        return self.steps


def _down(ref: Any) -> Down:
    """The pattern ``Down(ref, ANY, ANY)``, built without namedtuple's Python-level __new__."""
    return tuple.__new__(Down, (ref, ANY, ANY))  # pyright: ignore[reportUnknownMemberType]


class Task(Generic[_T_co]):
    """A running task, made by ``Task.create`` (or ``TaskSupervisor.create``).

    Attributes:
        pid: the task's process.
        ref: the owner's monitor on it; the task's reply is ``(ref, result)``.
        owner: the process that created it, the only one that may await it.

    ``await task`` waits for the result (5 s, see ``wait``); for type
    checkers a ``Task[T]`` is the task of an ``async def`` function returning
    ``T``, and ``await task`` is a ``T``.  The class also
    holds the functions that start tasks: ``create``, ``start``,
    ``start_link``, ``child_spec``, ``wait_all`` and ``stream``.
    """

    __slots__ = ("pid", "ref", "owner", "_outcome")

    #: Not known yet; then (True, result) or (False, exit reason).
    _outcome: tuple[bool, Any] | None

    pid: Pid
    ref: Any
    owner: Pid

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("Task objects are made by Task.create(fn, *args) or TaskSupervisor.create(...)")

    @classmethod
    def _new(cls, pid: Pid, ref: Any, owner: Pid) -> Task[Any]:
        task = _new_task(cls)
        task.pid = pid
        task.ref = ref
        task.owner = owner
        return task

    def __repr__(self) -> str:
        if self._outcome is None:
            state = "running"
        elif self._outcome[0] is _OK:
            state = "done"
        else:
            state = f"exited {self._outcome[1]!r}"
        return f"<Task {self.pid!r} owner={self.owner!r} {state}>"

    # -- starting ----------------------------------------------------------------

    @staticmethod
    def create(fn: Callable[_P, Coroutine[Any, Any, _T]], /, *args: _P.args,
               **kwargs: _P.kwargs) -> Task[_T]:
        """Start ``fn(*args, **kwargs)`` in a task linked to and monitored by the caller.

        Elixir's ``Task.async``.  The task starts at once; get its result
        with ``await task``.  Must be called inside a process.

        Args:
            fn: an async function.
            *args, **kwargs: its arguments (as ``spawn`` passes them).

        Returns:
            The ``Task``.

        Raises:
            TypeError: ``fn`` is not an async function (nothing is started).
            RuntimeError: called outside a process.
        """
        check_async_fn(fn, "Task.create")
        task: Task[_T] = _new_task(Task)
        task.owner = current_process("Task.create()")
        pid = task.pid = spawn_link(_run_task, task, fn, args, kwargs)
        task.ref = monitor(pid)
        return task

    @staticmethod
    async def start(fn: Callable[_P, Coroutine[Any, Any, object]], /, *args: _P.args,
                    **kwargs: _P.kwargs) -> Pid:
        """Start ``fn(*args, **kwargs)`` in a process nobody waits for (fire and
        forget): ``pid = await Task.start(fn, arg)``.

        Awaited, like every ``start`` in actors (docs/api.md "Details"), though it
        returns at once.

        Not linked and not monitored: its result is dropped and a crash is
        only logged.  Works inside a process and from plain asyncio code
        running an ``actors.Runtime``.

        Returns:
            The task's ``Pid``.

        Raises:
            TypeError: ``fn`` is not an async function.
        """
        check_async_fn(fn, "Task.start")
        return spawn(fn, *args, **kwargs)

    @staticmethod
    async def start_link(fn: Callable[_P, Coroutine[Any, Any, object]], /, *args: _P.args,
                         **kwargs: _P.kwargs) -> Pid:
        """Start ``fn(*args, **kwargs)`` in a process linked to the caller; for supervisors.

        This is what ``Task.child_spec`` runs.  Nobody waits for its result;
        if it crashes, the caller (its supervisor) gets the exit signal.

        Returns:
            The task's ``Pid``.

        Raises:
            TypeError: ``fn`` is not an async function.
            RuntimeError: called outside a process.
        """
        check_async_fn(fn, "Task.start_link")
        current_process("Task.start_link()")
        return spawn_link(fn, *args, **kwargs)

    @staticmethod
    def child_spec(fn: Callable[..., Coroutine[Any, Any, object]], /, *args: Any, id: Any = None,
                   restart: str = "temporary", shutdown: Any = 5.0, **kwargs: Any) -> ChildSpec:
        """The spec that runs ``fn(*args, **kwargs)`` as a supervised task.

        Args:
            fn: an async function; *args, **kwargs: its arguments (but
                ``id``, ``restart`` and ``shutdown``, which are the spec's).
            id: the child's id (default: ``Task``).
            restart: ``"temporary"`` (default: never restarted),
                ``"transient"`` (restarted after a crash) or ``"permanent"``.
            shutdown: seconds to wait after ``"shutdown"`` before killing it,
                or ``"brutal_kill"``.

        Returns:
            A ``ChildSpec`` whose start function is ``Task.start_link``.

        Raises:
            TypeError: ``fn`` is not an async function; ValueError: a bad
                ``restart`` or ``shutdown``.
        """
        check_async_fn(fn, "Task.child_spec")
        return ChildSpec(id=Task if id is None else id, start=(Task.start_link, (fn, *args), kwargs),
                         restart=restart, shutdown=shutdown)

    # -- awaiting --------------------------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T_co]:
        """``await task`` is ``await task.wait()`` (timeout 5 s)."""
        return self._wait(5.0)

    def _check_owner(self, what: str) -> None:
        try:
            me = _self()
        except RuntimeError:
            me = None
        if me is not self.owner:
            raise NotOwnerError(
                f"{what}: task {self.pid!r} must be awaited by its owner {self.owner!r}, "
                f"not by {'code outside any process' if me is None else me!r}")

    def _known(self, what: str) -> _T_co:
        assert self._outcome is not None
        ok, value = self._outcome
        if ok:
            result: _T_co = value
            return result
        raise _exit_error(self, value, what)

    async def wait(self, timeout: float | None = 5.0) -> _T_co:
        """Wait for the task's result (Elixir's ``Task.await``).

        Args:
            timeout: seconds to wait (default 5); ``None`` waits forever.

        Returns:
            The task's result; the same result again if it was already
            awaited.

        Raises:
            Timeout: no result within ``timeout``; the task is killed (and
                awaiting it again raises ``CallExit("killed")``).
            CallExit: the task exited without a result (``.reason``); only
                an owner that traps exits sees this for a crash, as any
                other owner gets the crash as an exit signal.
            NotOwnerError: the caller is not the task's owner.
        """
        check_seconds(timeout, "Task.wait(timeout)")
        result: _T_co = await _Steps(self._wait(timeout))
        return result

    def _wait(self, timeout: float | None) -> Generator[Any, Any, _T_co]:
        # A generator that ``await task`` runs directly as the iterator of
        # ``__await__``: no coroutine and coroutine wrapper on this hot path.
        self._check_owner("Task.wait")
        if self._outcome is not None:
            return self._known("Task.wait")
        ref = self.ref
        msg = yield from receive((ref, ANY), _down(ref), timeout=timeout, default=None).__await__()
        if msg is None:
            yield from self._abandon().__await__()
            raise Timeout(f"Task.wait: task {self.pid!r} did not finish within {timeout} s")
        return self._got(msg, "Task.wait")

    async def poll(self, timeout: float | None = 5.0) -> _T_co | None:
        """Wait up to ``timeout`` for the result; ``None`` if still running.

        Elixir's ``Task.yield``: unlike ``wait``, running out of time leaves
        the task running, so you can poll again or ``shutdown`` it.  (A task
        whose result is ``None`` is indistinguishable from a running one
        here: ``wait`` or ``shutdown`` it to tell.)

        Args:
            timeout: seconds to wait (default 5; 0 checks without waiting;
                ``None`` waits forever).

        Returns:
            The result, or ``None`` if the task has not finished.

        Raises:
            CallExit: the task exited without a result.
            NotOwnerError: the caller is not the task's owner.
        """
        check_seconds(timeout, "Task.poll(timeout)")
        self._check_owner("Task.poll")
        if self._outcome is not None:
            return self._known("Task.poll")
        ref = self.ref
        msg = await receive((ref, ANY), _down(ref), timeout=timeout, default=None)
        if msg is None:
            return None
        return self._got(msg, "Task.poll")

    async def shutdown(self, timeout: float | str | None = 5.0) -> _T_co | None:
        """Stop the task; return its result if it had finished, else ``None``.

        Unlinks the task, sends it exit signal ``"shutdown"`` and waits up to
        ``timeout`` for it to exit, then kills it.  A result that arrived
        before the task exited is returned.

        Args:
            timeout: seconds to wait after ``"shutdown"`` before killing
                (default 5; ``None``: forever), or ``"brutal_kill"`` to kill
                at once.

        Returns:
            The task's result if it had finished, else ``None``.

        Raises:
            NotOwnerError: the caller is not the task's owner.
        """
        if timeout != "brutal_kill":
            check_seconds(timeout, "Task.shutdown(timeout)")
        self._check_owner("Task.shutdown")
        if self._outcome is not None:
            ok, value = self._outcome
            return value if ok else None
        pid, ref = self.pid, self.ref
        unlink(pid)                               # its exit must not take us down
        patterns = ((ref, ANY), _down(ref))
        if timeout == "brutal_kill":
            exit(pid, "kill")
            msg = await receive(*patterns)
        else:
            exit(pid, "shutdown")
            assert not isinstance(timeout, str)
            msg = await receive(*patterns, timeout=timeout, default=None)
            if msg is None:
                exit(pid, "kill")
                msg = await receive(*patterns)
        if type(msg) is Down:
            self._outcome = (_EXITED, msg.reason)
            return None
        if not demonitor(ref):
            demonitor(ref, flush=True)
        result: _T_co = msg[1]
        self._outcome = (_OK, result)
        return result

    def _got(self, msg: Any, what: str) -> _T_co:
        """Record the reply or Down that ``msg`` is, and return/raise accordingly."""
        if type(msg) is Down:
            self._outcome = (_EXITED, msg.reason)
            raise _exit_error(self, msg.reason, what)
        if not demonitor(self.ref):           # it has exited: its Down is queued
            demonitor(self.ref, flush=True)
        value: _T_co = msg[1]
        self._outcome = (_OK, value)
        return value

    async def _abandon(self) -> None:
        """Kill the task now (wait timed out, or a sibling in wait_all failed)."""
        pid, ref = self.pid, self.ref
        unlink(pid)
        exit(pid, "kill")
        self._outcome = (_EXITED, "killed")
        if not demonitor(ref):
            # It had exited before the kill: drop its Down, and a reply that
            # came in after the timer fired (it is still the task's result).
            demonitor(ref, flush=True)
            late = await receive((ref, ANY), timeout=0, default=None)
            if late is not None:
                self._outcome = (_OK, late[1])

    # -- several tasks -----------------------------------------------------------

    @staticmethod
    async def wait_all(tasks: Iterable[Task[_T]], timeout: float | None = 5.0) -> list[_T]:
        """Wait for every task in ``tasks``, with one overall timeout.

        Elixir's ``Task.await_many``.

        Args:
            tasks: tasks created by the caller.
            timeout: seconds for all of them together (default 5; ``None``:
                forever).

        Returns:
            Their results, in the order of ``tasks``.

        Raises:
            Timeout: not all finished in time; the unfinished ones are shut
                down.
            CallExit: a task exited without a result (seen by an owner that
                traps exits); the others are shut down.
            NotOwnerError: a task is not the caller's.
            TypeError: ``tasks`` holds something that is not a ``Task``.
        """
        tasks = list(tasks)
        for t in tasks:
            if not isinstance(t, Task):
                raise TypeError(f"Task.wait_all(tasks): expected Task objects, got {t!r}")
        check_seconds(timeout, "Task.wait_all(timeout)")
        for t in tasks:
            t._check_owner("Task.wait_all")
        # Tasks still running, by monitor ref; a task stays here after its
        # reply until its Down (already queued by then) has been taken out.
        watch = {t.ref: t for t in tasks if t._outcome is None}
        failed = next((t for t in tasks if t._outcome is not None and t._outcome[0] is _EXITED), None)
        if failed is not None:
            await _abandon_all(watch)
            assert failed._outcome is not None
            raise _exit_error(failed, failed._outcome[1], "Task.wait_all")
        waiting = len(watch)

        def ours(msg: Any) -> bool:
            tp = type(msg)  # pyright: ignore[reportUnknownVariableType]
            if tp is tuple:
                return len(msg) == 2 and type(msg[0]) is lowlevel.Ref and msg[0] in watch
            return tp is Down and msg.ref in watch

        pattern = where(ours)
        sched = current_scheduler()
        assert sched is not None                # the caller is a process
        deadline = None if timeout is None else sched.now() + timeout
        while watch:
            if waiting == 0:        # only Downs of finished tasks are left: they are queued
                msg = await receive(pattern)
            else:
                left = None if deadline is None else max(0.0, deadline - sched.now())
                msg = await receive(pattern, timeout=left, default=None)
            if msg is None:
                late = waiting
                await _abandon_all(watch)
                raise Timeout(f"Task.wait_all: {late} of {len(tasks)} tasks did not finish "
                              f"within {timeout} s")
            if type(msg) is Down:
                task = watch.pop(msg.ref)
                if task._outcome is None:               # exited without replying
                    task._outcome = (_EXITED, msg.reason)
                    await _abandon_all(watch)
                    raise _exit_error(task, msg.reason, "Task.wait_all")
                continue
            task = watch[msg[0]]
            task._outcome = (_OK, msg[1])
            waiting -= 1
            if demonitor(task.ref):     # still running (about to exit): no Down will come
                del watch[task.ref]
        results: list[_T] = []
        for t in tasks:
            outcome = t._outcome
            assert outcome is not None               # every task has finished by now
            results.append(outcome[1])
        return results

    @overload
    @staticmethod
    def stream(fn: Callable[[_I], Coroutine[Any, Any, _T]], items: Iterable[_I] | AsyncIterable[_I],
               *, max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: Literal[False] = False,
               ) -> TaskStream[_T]: ...
    @overload
    @staticmethod
    def stream(fn: Callable[[_I], Coroutine[Any, Any, _T]], items: Iterable[_I] | AsyncIterable[_I],
               *, max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: bool,
               ) -> TaskStream[_T | Exception]: ...
    @staticmethod
    def stream(fn: Callable[[_I], Coroutine[Any, Any, _T]], items: Iterable[_I] | AsyncIterable[_I],
               *, max_concurrency: int = CPU_COUNT, ordered: bool = True,
               timeout: float | None = 5.0, return_exceptions: bool = False,
               ) -> TaskStream[_T] | TaskStream[_T | Exception]:
        """Run ``fn(item)`` for every item in tasks, at most ``max_concurrency`` at once.

        Elixir's ``Task.async_stream``: ``async for result in
        Task.stream(fn, items): ...``.  Items are pulled lazily, as tasks
        finish.  The tasks are linked to the iterating process (if it exits,
        they die), but an exception in ``fn`` is not an exit signal: it is
        raised in the consumer (or yielded).

        Args:
            fn: an async function of one argument.
            items: an iterable or async iterable.
            max_concurrency: how many tasks may run at once (default: the
                number of CPUs).
            ordered: yield results in the order of ``items`` (default);
                ``False`` yields them as they complete.
            timeout: seconds each task may run, from its start (default 5;
                ``None``: no limit).
            return_exceptions: yield a task's exception (``Timeout`` if it ran
                out of time) in place of its result, instead of raising it.

        Returns:
            A ``TaskStream``: an async iterator (and async context manager)
            over the results.

        Raises:
            TypeError, ValueError: a bad argument (before anything starts).
        """
        return TaskStream(fn, items, max_concurrency=max_concurrency, ordered=ordered,
                          timeout=timeout, return_exceptions=return_exceptions,
                          what="Task.stream")


async def _abandon_all(watch: dict[Any, Task[Any]]) -> None:
    for task in list(watch.values()):
        if task._outcome is None:
            await task._abandon()
        else:                           # replied; its Down is queued
            demonitor(task.ref, flush=True)
    watch.clear()


# -- streams ---------------------------------------------------------------------

_NOTHING = object()


class _StreamState:
    """What a stream's consumer and its tasks share.

    The tasks write their outcome here directly instead of sending it: the
    consumer is woken by a message only while it is parked waiting (the
    message carries a fresh ref, so its receive skips older messages), and
    the mailbox never holds a result the consumer did not take out, even when
    the consumer stops iterating early.

    Invariants: ``running`` maps the index of every started task that has not
    finished to ``[pid, deadline]``, in start order (so the first entry has
    the earliest deadline); ``done`` holds finished results not yet yielded
    (index -> value when ordered, a deque of values otherwise); ``failure`` is
    the first error to raise; ``waiting`` is the ref of the consumer's
    current wake-up receive, or None when it is not parked.
    """

    __slots__ = ("fn", "owner", "ordered", "timeout", "return_exceptions", "max", "running",
                 "done", "failure", "waiting", "closed", "now", "what")

    def __init__(self, fn: Any, ordered: bool, timeout: float | None, return_exceptions: bool,
                 max_concurrency: int, what: str) -> None:
        self.fn: Callable[[Any], Awaitable[Any]] = fn
        self.owner: Pid | None = None
        self.ordered: bool = ordered
        self.timeout: float | None = timeout
        self.return_exceptions: bool = return_exceptions
        self.max: int = max_concurrency
        self.running: dict[int, list[Any]] = {}   # index -> [pid or None, deadline]
        self.done: Any = {} if ordered else collections.deque()
        self.failure: BaseException | None = None
        self.waiting: Any = None
        self.closed: bool = False
        self.now: Any = None
        self.what: str = what

    def finished(self, index: int, value: Any, failed: bool) -> None:
        """Called by the task for ``index`` (in its own process) when it ends."""
        entry = self.running.pop(index, None)
        if entry is None or self.closed:
            return
        deadline = entry[1]
        if deadline is not None and self.now() > deadline:
            failed, value = True, self.timed_out(index)
        if failed and not self.return_exceptions:
            if self.failure is None:
                self.failure = value
        elif self.ordered:
            self.done[index] = value
        else:
            self.done.append(value)
        self.wake()

    def timed_out(self, index: int) -> Timeout:
        return Timeout(f"{self.what}: the task for item {index} did not finish within "
                       f"{self.timeout} s")

    def wake(self) -> None:
        ref = self.waiting
        if ref is not None:
            self.waiting = None         # tells the consumer a wake-up was sent
            owner = self.owner
            assert owner is not None    # set before the consumer first waits
            send(owner, (ref,))

    def close(self) -> None:
        """Stop every running task; nothing more will be yielded."""
        if self.closed:
            return
        self.closed = True
        running = list(self.running.values())
        self.running.clear()
        self.done = {} if self.ordered else collections.deque()
        try:
            in_owner = lowlevel.self() is self.owner
        except RuntimeError:
            in_owner = False
        for pid, _ in running:
            if pid is None:
                continue
            if in_owner:
                unlink(pid)
                exit(pid, "kill")
            else:
                # We cannot unlink from here: "shutdown" makes the task
                # unlink itself before it exits (see stream_task).
                exit(pid, "shutdown")


async def stream_task(state: _StreamState, index: int, item: Any, link_owner: bool) -> None:
    """The body of a stream's task."""
    owner = state.owner
    assert owner is not None             # set by the consumer before it starts tasks
    pdict_put("$initial_call", state.fn)
    if link_owner:                       # started by a supervisor: link to the consumer
        if not is_alive(owner):
            return
        link(owner)
    try:
        value = await state.fn(item)
    except Exception as exc:
        unlink(owner)
        state.finished(index, exc, True)
        return                           # the consumer raises it: no second crash report
    except ProcessExit as exc:
        unlink(owner)
        if not state.closed:
            state.finished(index, CallExit(exc.reason, f"{state.what}: the task for item {index} "
                                           f"exited with reason {exc.reason!r}"), True)
        raise
    unlink(owner)
    state.finished(index, value, False)


class TaskStream(Generic[_T_co]):
    """The async iterator returned by ``Task.stream`` and ``TaskSupervisor.stream``.

    Iterate it once, from one process, with ``async for``.  Tasks start on
    the first iteration.  ``await stream.aclose()`` (or leaving ``async with
    stream:``, or dropping the iterator) shuts the remaining tasks down.

    ``start_task(state, index, item)``, if given, starts each task elsewhere
    (``TaskSupervisor.stream``: under a supervisor) and returns its pid; the
    task runs ``stream_task(state, index, item, True)``, which links itself
    to the consumer.  By default the consumer spawns the tasks linked.
    """

    def __init__(self, fn: Any, items: Any, *, max_concurrency: int, ordered: bool,
                 timeout: float | None, return_exceptions: bool, what: str,
                 start_task: Callable[..., Awaitable[Pid]] | None = None) -> None:
        check_async_fn(fn, what)
        if hasattr(items, "__aiter__"):
            self._source: Any = items.__aiter__()
            self._async_source = True
        else:
            try:
                self._source = iter(items)
            except TypeError:
                raise TypeError(f"{what}: items must be an iterable or an async iterable, "
                                f"got {items!r}") from None
            self._async_source = False
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise TypeError(f"{what}: max_concurrency must be an int, got {max_concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"{what}: max_concurrency must be >= 1, got {max_concurrency!r}")
        if not isinstance(ordered, bool):
            raise TypeError(f"{what}: ordered must be a bool, got {ordered!r}")
        if not isinstance(return_exceptions, bool):
            raise TypeError(f"{what}: return_exceptions must be a bool, got {return_exceptions!r}")
        check_seconds(timeout, f"{what}: timeout")
        self._state = _StreamState(fn, ordered, timeout, return_exceptions, max_concurrency, what)
        self._start_task = start_task
        self._exhausted = False
        self._next_in = 0           # index of the next item to start
        self._next_out = 0          # ordered: index of the next result to yield
        self._trapping = False

    def __repr__(self) -> str:
        s = self._state
        return (f"<TaskStream {s.what} running={len(s.running)} "
                f"{'closed' if s.closed else 'open'}>")

    def __aiter__(self) -> TaskStream[_T_co]:
        return self

    async def __aenter__(self) -> TaskStream[_T_co]:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Shut down the tasks still running; the stream yields nothing more."""
        self._state.close()

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and state.owner is not None and not state.closed:
            try:
                state.close()
            except Exception:
                pass

    async def __anext__(self) -> _T_co:
        state = self._state
        if state.owner is None:
            try:
                state.owner = _self()
            except RuntimeError:
                raise RuntimeError(f"{state.what}: iterate the stream inside a process") from None
            sched = current_scheduler()
            assert sched is not None             # the caller is a process
            state.now = sched.now
            self._trapping = bool(process_info(state.owner, "trap_exit"))
        elif lowlevel.self() is not state.owner:
            raise NotOwnerError(f"{state.what}: a stream must be iterated by one process, "
                                f"{state.owner!r}")
        if state.closed:
            raise StopAsyncIteration
        while True:
            if state.failure is not None:
                failure = state.failure
                state.close()
                raise failure
            await self._start_more()
            if state.failure is not None:
                continue
            done = state.done
            if state.ordered:
                value: _T_co = done.pop(self._next_out, _NOTHING)
                if value is not _NOTHING:
                    self._next_out += 1
                    return value
            elif done:
                first: _T_co = done.popleft()
                return first
            if not state.running and self._exhausted:
                state.close()
                raise StopAsyncIteration
            await self._wait()

    async def _start_more(self) -> None:
        """Start tasks for the next items while there is room."""
        state = self._state
        running = state.running
        while not self._exhausted and len(running) < state.max and state.failure is None:
            try:
                if self._async_source:
                    item = await self._source.__anext__()
                else:
                    item = next(self._source)
            except (StopIteration, StopAsyncIteration):
                self._exhausted = True
                return
            except BaseException:
                state.close()
                raise
            index = self._next_in
            self._next_in += 1
            entry = [None, None if state.timeout is None else state.now() + state.timeout]
            running[index] = entry
            if self._start_task is None:
                entry[0] = spawn_link(stream_task, state, index, item, False)
            else:
                try:
                    pid = await self._start_task(state, index, item)
                except BaseException:
                    state.close()
                    raise
                if state.running.get(index) is entry:
                    entry[0] = pid

    async def _wait(self) -> None:
        """Park until a task finishes or the earliest deadline passes."""
        state = self._state
        index, (pid, deadline) = next(iter(state.running.items()))
        left = None
        if deadline is not None:
            left = deadline - state.now()
            if left <= 0:
                self._time_out(index, pid)
                return
        ref = make_ref()
        state.waiting = ref
        if self._trapping:
            running = state.running
            msg = await receive((ref,), where(
                lambda m: type(m) is Exit and any(e[0] is m.pid for e in running.values())),
                timeout=left, default=None)
        else:
            msg = await receive((ref,), timeout=left, default=None)
        if state.waiting is None and not (type(msg) is tuple and len(msg) == 1):  # pyright: ignore[reportUnknownArgumentType]
            # A task finished after the timer fired (or an Exit woke us): its
            # wake-up is queued; take it out.
            await receive((ref,))
        state.waiting = None
        if type(msg) is Exit:  # a task was killed (we trap exits, so we survived)  # pyright: ignore[reportUnknownArgumentType]
            for i, entry in state.running.items():
                if entry[0] is msg.pid:
                    state.finished(i, CallExit(msg.reason, f"{state.what}: the task for item {i} "
                                               f"exited with reason {msg.reason!r}"), True)
                    break

    def _time_out(self, index: int, pid: Pid | None) -> None:
        state = self._state
        del state.running[index]
        if pid is not None:
            unlink(pid)
            exit(pid, "kill")
        exc = state.timed_out(index)
        if not state.return_exceptions:
            state.failure = exc
        elif state.ordered:
            state.done[index] = exc
        else:
            state.done.append(exc)
