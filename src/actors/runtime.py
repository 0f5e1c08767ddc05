"""Running processes: ``actors.run``, ``actors.Runtime`` and ``Runtime.start_thread``.

A runtime binds the compiled scheduler (``actors.lowlevel.Scheduler``) to an
asyncio event loop.  ``run`` owns a whole program, like ``asyncio.run``;
``Runtime`` embeds processes in an asyncio program that is already running;
``Runtime.start_thread`` runs a runtime on a thread of its own, for
synchronous programs (a ``ThreadRuntime``).

Threads: the scheduler belongs to the thread of its loop.  Only ``send`` is
safe from other threads; a ``ThreadRuntime`` hands everything else to its
loop with ``loop.call_soon_threadsafe`` and waits on a
``concurrent.futures.Future``.  Every such future is registered until it is
resolved, and when the runtime's thread ends, however it ends, the ones
left are failed: a caller never waits on a loop that is gone.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import gc
import logging
import threading
from collections.abc import Awaitable, Coroutine
from typing import Any, Callable, ParamSpec, TypeVar

from . import lowlevel
from .lowlevel import ProcessExit, Scheduler, call_in_process

__all__ = ["run", "Runtime", "ThreadRuntime"]

_T = TypeVar("_T")
_P = ParamSpec("_P")

_logger = logging.getLogger("actors.runtime")

#: How often a thread blocked in ``ThreadRuntime.call_sync`` (or ``spawn``)
#: wakes up, so that Ctrl-C always interrupts it.
_INTERRUPT_POLL = 0.25

#: The gen-0 GC threshold ``actors.run`` uses while it runs.  Spawning walks
#: the young generation once per threshold allocations; live coroutine frames
#: make that walk expensive, so a program full of processes collects less often.
RUN_GC_THRESHOLD = 50_000

#: ``async def start(**options) -> dashboard`` for ``run(observe=...)``, or
#: None; registered with ``set_observer`` (``actors/__init__.py`` registers
#: ``actors.observer.start``, which sits above this module).
_start_observer: Callable[..., Any] | None = None


#: ``(start, stop)`` of ``actors.Node`` for ``run(node=...)`` and for a
#: runtime that stops while it is a node; registered with ``set_node_hooks``.
_node_hooks: tuple[Callable[..., Any], Callable[[], Any]] | None = None


def set_node_hooks(start: Callable[..., Any], stop: Callable[[], Any]) -> None:
    """Register ``async start(name, cookie)`` and ``async stop()`` of the
    node layer (``actors/__init__.py`` registers ``actors.Node``'s)."""
    global _node_hooks
    _node_hooks = (start, stop)


def set_observer(start: Callable[..., Any] | None) -> None:
    """Register what ``run(observe=...)`` starts: ``async def start(**options)``
    returning an object with ``async stop()`` (``actors.observer.start``), or None."""
    global _start_observer
    if start is not None and not callable(start):
        raise TypeError(f"set_observer(start): start must be callable or None, got {start!r}")
    _start_observer = start


class Runtime:
    """An actors runtime inside a running asyncio program.

    Example:
        >>> import asyncio
        >>> class Echo(actors.GenServer):
        ...     def handle_call(self, request, from_):
        ...         return request
        >>> async def main():                  # plain asyncio code, not a process
        ...     async with actors.Runtime() as rt:
        ...         pid = await Echo.start()
        ...         return await rt.call(pid, "ping")
        >>> asyncio.run(main())
        'ping'

    Args:
        clock: a callable giving monotonic seconds, or a ``MockClock``.
        shutdown_timeout: on exit, how long each process the runtime stops
            gets to finish after the ``"shutdown"`` exit signal before it is
            killed (see ``stop``); ``None`` waits forever.
        gc_threshold: a gen-0 GC threshold to use while the runtime runs
            (restored afterwards); None leaves the host program's GC alone.
        asyncio_tasks: inside a process, ``asyncio.current_task()`` is the
            process's ``Pid`` (so ``asyncio.timeout``, ``TaskGroup`` and
            aiohttp's timeouts work there).  False turns that off and saves
            one dict write per process step (about 8% of a message).
        long_step: a process step that holds the event loop longer than this
            many seconds (default 0.1) is logged as a warning naming the
            process and where it was (Erlang's ``long_schedule`` monitor);
            None turns the check off.

    Only one runtime runs in an interpreter at a time, on the loop's thread.
    """

    def __init__(self, *, clock: Callable[[], float] | None = None,
                 shutdown_timeout: float | None = 5.0,
                 gc_threshold: int | None = None,
                 asyncio_tasks: bool = True,
                 long_step: float | None = lowlevel.LONG_STEP) -> None:
        _check_options("Runtime", clock=clock, shutdown_timeout=shutdown_timeout,
                       gc_threshold=gc_threshold, asyncio_tasks=asyncio_tasks, long_step=long_step)
        self._clock = clock
        self._shutdown_timeout = shutdown_timeout
        self._gc_threshold = gc_threshold
        self._asyncio_tasks = asyncio_tasks
        self._long_step = long_step
        self._old_gc: tuple[int, int, int] | None = None
        self._sched: Scheduler | None = None

    async def __aenter__(self) -> "Runtime":
        self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    @staticmethod
    def start_thread(loop: str | None = None, *, clock: Callable[[], float] | None = None,
                     shutdown_timeout: float | None = 5.0, gc_threshold: int | None = None,
                     asyncio_tasks: bool = True,
                     long_step: float | None = lowlevel.LONG_STEP) -> ThreadRuntime:
        """Run a runtime on a new thread, for synchronous code (Flask, Django, scripts).

        Example:
            >>> class Counter(actors.GenServer):
            ...     def init(self):
            ...         self.n = 0
            ...     def handle_call(self, request, from_):
            ...         self.n += 1
            ...         return self.n
            >>> with actors.Runtime.start_thread() as rt:   # plain synchronous code
            ...     pid = rt.submit(Counter.start).result()
            ...     rt.call_sync(pid, "increment")
            1

        Returns once the runtime runs.  The thread, ``actors-runtime``, is a
        daemon thread, so a program that forgets ``stop()`` can still exit;
        an ``atexit`` hook stops the runtime then (its processes are shut
        down as by ``stop()``).

        Args:
            loop: ``None``/``"asyncio"`` for the stdlib loop, ``"uvloop"``
                (as for ``actors.run``).
            clock, shutdown_timeout, gc_threshold, asyncio_tasks, long_step:
                as for ``Runtime``.

        Raises:
            TypeError, ValueError: a bad option, before any thread starts.
            RuntimeError: another actors runtime is running in this interpreter.
        """
        factory = _loop_factory(loop, "Runtime.start_thread")
        _check_options("Runtime.start_thread", clock=clock, shutdown_timeout=shutdown_timeout,
                       gc_threshold=gc_threshold, asyncio_tasks=asyncio_tasks, long_step=long_step)
        runtime = Runtime(clock=clock, shutdown_timeout=shutdown_timeout, gc_threshold=gc_threshold,
                          asyncio_tasks=asyncio_tasks, long_step=long_step)
        return ThreadRuntime._start(runtime, factory)

    def start(self) -> None:
        """Start the runtime on the running loop (``async with`` does this)."""
        if self._sched is not None:
            raise RuntimeError("this Runtime is already running")
        loop = asyncio.get_running_loop()
        sched = Scheduler(loop, self._clock, asyncio_tasks=self._asyncio_tasks,
                          long_step=self._long_step)
        sched.activate()
        self._sched = sched
        if self._gc_threshold is not None:
            self._old_gc = gc.get_threshold()
            gc.set_threshold(self._gc_threshold, *self._old_gc[1:])

    @property
    def scheduler(self) -> Scheduler:
        """The compiled scheduler (low-level)."""
        if self._sched is None:
            raise RuntimeError("this Runtime is not running")
        return self._sched

    def spawn(self, fn: Callable[_P, Coroutine[Any, Any, object]], *args: _P.args,
              **kwargs: _P.kwargs) -> lowlevel.Pid:
        """Start ``fn(*args, **kwargs)`` as a process; see ``actors.spawn``."""
        self.scheduler
        return lowlevel.spawn(fn, *args, **kwargs)

    def send(self, dest: lowlevel.Pid | str | lowlevel.via, msg: Any) -> Any:
        """Send ``msg`` to ``dest`` from outside any process; see ``actors.send``."""
        self.scheduler
        return lowlevel.send(dest, msg)

    async def call(self, server: lowlevel.Pid | str | lowlevel.via, request: Any,
                   timeout: float | None = 5.0) -> Any:
        """``GenServer.call`` from plain asyncio code: send ``request``, await the reply.

        Runs the call in a short-lived process, so the event loop is never
        blocked.  Raises what ``actors.lowlevel.call`` raises.
        """
        if type(server) is not lowlevel.Pid:
            lowlevel.check_server(server, "server", "Runtime.call")
        return await call_in_process(lowlevel.call, server, request, timeout)

    async def run_in_process(self, fn: Callable[_P, Awaitable[_T]], *args: _P.args,
                             **kwargs: _P.kwargs) -> _T:
        """Await ``fn(*args, **kwargs)`` inside a fresh process and return its result.

        For code that must run inside a process (a call, a receive).
        Exceptions propagate to the awaiting asyncio code.
        """
        self.scheduler
        return await call_in_process(fn, *args, **kwargs)

    async def stop(self) -> None:
        """Shut down every process in reverse start order, then end the runtime.

        The runtime acts as the parent of the processes that have none: newest
        first, each gets the exit signal ``"shutdown"`` and is waited for (up
        to ``shutdown_timeout``, then killed) before the next; a trapping
        GenServer without a parent runs ``terminate("shutdown")``, a
        supervisor stops its children in reverse order.  Processes linked to
        an older process are left to it.  Timers are dropped.  When every
        process exits as told, ``stop`` returns at once.
        """
        sched = self._sched
        if sched is None:
            return
        try:
            await shutdown_processes(sched, self._shutdown_timeout)
        finally:
            if _node_hooks is not None:
                await _node_hooks[1]()          # links to other nodes fire "noconnection"
            sched.close()
            self._sched = None
            if self._old_gc is not None:
                gc.set_threshold(*self._old_gc)
                self._old_gc = None


class ThreadRuntime:
    """An actors runtime running on a thread of its own, for synchronous code.

    Made by ``Runtime.start_thread()``.  Its methods are called from any
    thread and block until the runtime's loop has done the work:

    * ``spawn(fn, *args)`` starts a process and returns its ``Pid``;
    * ``send(dest, msg)`` sends a message (it does not block);
    * ``call_sync(server, request, timeout=5.0)`` is ``GenServer.call``:
      it returns the reply or raises what ``GenServer.call`` raises;
    * ``submit(fn, *args)`` runs the async ``fn`` as a process and returns a
      ``concurrent.futures.Future`` of its result;
    * ``stop()`` shuts every process down and joins the thread.

    Start long-lived servers and supervision trees with their unlinked
    ``start`` (``rt.submit(Supervisor.start, children).result()``), not
    ``start_link``: the process ``submit`` runs ``fn`` in ends when ``fn``
    returns, and a supervisor linked to it, its parent, stops then.
    Processes without a parent run until the runtime stops, which shuts
    them down in reverse start order.

    Use it as a context manager (``with Runtime.start_thread() as rt:``) or
    call ``stop()``.  On the runtime's own thread (inside its processes)
    ``call_sync`` and waiting on a ``submit`` future would block the loop
    that must do the work: they raise ``RuntimeError``; await the async API
    there instead.
    """

    _runtime: Runtime
    _thread: threading.Thread
    _loop: asyncio.AbstractEventLoop
    _wake: asyncio.Future[None]
    # _lock guards _state and _pending.  _state goes "starting", "running",
    # "stopping" (stop() was called, or the loop failed), "stopped" (the
    # thread has ended).  _pending holds every future whose work was handed
    # to the loop and is not resolved yet; once the state is "stopped",
    # nothing is added and whatever was left has been failed.
    _lock: threading.Lock
    _state: str
    _pending: set[_Future[Any]]
    _crash: BaseException | None                 # what ended the thread, if it failed

    def __init__(self) -> None:
        raise TypeError("start a runtime on a thread with actors.Runtime.start_thread()")

    @classmethod
    def _start(cls, runtime: Runtime, factory: Callable[[], asyncio.AbstractEventLoop]) -> ThreadRuntime:
        self = cls.__new__(cls)
        self._runtime = runtime
        self._lock = threading.Lock()
        self._state = "starting"
        self._pending = set()
        self._crash = None
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, args=(factory, ready),
                                        name="actors-runtime", daemon=True)
        atexit.register(self._at_exit)
        self._thread.start()
        try:
            ready.result()
        except BaseException:
            self._thread.join()
            atexit.unregister(self._at_exit)
            raise
        return self

    # -- the runtime's thread ------------------------------------------------------------

    def _main(self, factory: Callable[[], asyncio.AbstractEventLoop],
              ready: concurrent.futures.Future[None]) -> None:
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._serve(ready))
        except BaseException as exc:
            if not ready.done():                 # it never started: start_thread raises
                ready.set_exception(exc)
            else:
                self._crash = exc
                _logger.critical("actors: the runtime thread %r failed; its processes are gone "
                                 "and calls into it raise RuntimeError", self._thread.name,
                                 exc_info=exc, extra=lowlevel.log_fields(
                                     None, "runtime_failed", runtime_thread=self._thread.name))
        finally:
            with self._lock:
                self._state = "stopped"
                pending, self._pending = self._pending, set()
            for fut in pending:
                fut._fail(self._not_running("the call"))

    async def _serve(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        self._wake = loop.create_future()
        async with self._runtime:
            self._loop = loop
            with self._lock:
                self._state = "running"
            ready.set_result(None)
            try:
                await self._wake
            finally:                             # stop(), or the loop failed
                with self._lock:
                    self._state = "stopping"

    def _wake_up(self) -> None:
        if not self._wake.done():
            self._wake.set_result(None)

    def _at_exit(self) -> None:
        """The interpreter exits: stop the runtime if the program did not."""
        self.stop()

    # -- handing work to the loop --------------------------------------------------------

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def _refuse_on_loop_thread(self, what: str) -> None:
        if self._on_loop_thread():
            raise RuntimeError(
                f"{what} was called on the runtime's own thread, where it would block the "
                f"loop that must do the work (a deadlock): inside a process, await the async "
                f"API instead (`await GenServer.call(server, request)`, `await fn(...)`)")

    def _not_running(self, what: str) -> RuntimeError:
        if self._state == "starting":
            return RuntimeError(f"{what}: this runtime is not running yet")
        if self._state == "stopping":
            return RuntimeError(f"{what}: this runtime is stopping")
        if self._crash is not None:
            err = RuntimeError(f"{what}: this runtime's thread failed ({self._crash!r}); "
                               f"start a new one with Runtime.start_thread()")
            err.__cause__ = self._crash
            return err
        return RuntimeError(f"{what}: this runtime has been stopped; "
                            f"start a new one with Runtime.start_thread()")

    def _post(self, what: str, fn: Callable[..., None], *args: Any,
              fut: _Future[Any] | None = None) -> _Future[Any]:
        """Run ``fn(fut, *args)`` on the loop; return ``fut``, which ``fn`` resolves."""
        if fut is None:
            fut = _Future(self)
        fut.add_done_callback(self._forget)
        with self._lock:
            if self._state != "running":
                raise self._not_running(what)
            self._pending.add(fut)
            try:
                self._loop.call_soon_threadsafe(fn, fut, *args)
            except RuntimeError:                 # the loop just closed: _main fails fut
                pass
        return fut

    def _forget(self, fut: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(fut)

    def _post_and_wait(self, what: str, fn: Callable[..., None], *args: Any) -> Any:
        """``_post`` and wait for the result.  If the wait is interrupted
        (Ctrl-C), at any point from before the post to the result, the work
        is cancelled, or its process killed: a KeyboardInterrupt that lands
        just after the post leaves no process behind."""
        fut: _Future[Any] = _Future(self)
        fut._what = what
        try:
            self._post(what, fn, *args, fut=fut)
            while not fut.done():
                # Wake up now and then: a SIGINT that lands just before the thread
                # blocks in the wait would otherwise not interrupt it (CPython
                # runs signal handlers between bytecodes only).
                concurrent.futures.wait((fut,), timeout=_INTERRUPT_POLL)
            return fut.result()
        except BaseException:
            if not fut.done() and not fut.cancel():
                with self._lock:
                    if self._state == "running":
                        try:
                            self._loop.call_soon_threadsafe(fut._kill)
                        except RuntimeError:
                            pass
            raise

    @staticmethod
    def _run_fn(fut: _Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> None:
        """On the loop: resolve ``fut`` with ``fn(*args, **kwargs)``."""
        if not fut.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    def _run_process(self, fut: _Future[Any], fn: Callable[..., Coroutine[Any, Any, Any]],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """On the loop: spawn ``fn(*args, **kwargs)``; its exit resolves ``fut``."""
        if not fut.set_running_or_notify_cancel():
            return
        try:
            pid = lowlevel.spawn(fn, *args, **kwargs)
        except BaseException as exc:
            fut.set_exception(exc)
            return
        fut._pid = pid
        self._runtime.scheduler.on_exit(pid, fut._exited)

    # -- the API -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True until ``stop()`` is called or the runtime's thread ends."""
        return self._state == "running"

    @property
    def thread(self) -> threading.Thread:
        """The thread that runs the runtime's loop."""
        return self._thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The runtime's event loop (for ``asyncio.run_coroutine_threadsafe``)."""
        return self._loop

    def spawn(self, fn: Callable[_P, Coroutine[Any, Any, object]], /, *args: _P.args,
              **kwargs: _P.kwargs) -> lowlevel.Pid:
        """Start ``fn(*args, **kwargs)`` as a process and return its ``Pid``.

        From another thread, waits until the loop has spawned it.  The
        process has no parent: the runtime stops it when it stops.

        Raises:
            TypeError: ``fn`` is not an async function.
            RuntimeError: the runtime is not running.
        """
        lowlevel.check_async_fn(fn, "Runtime.spawn")
        if self._on_loop_thread():
            if self._state != "running":
                raise self._not_running("Runtime.spawn")
            return lowlevel.spawn(fn, *args, **kwargs)
        pid: lowlevel.Pid = self._post_and_wait("Runtime.spawn", self._run_fn, lowlevel.spawn,
                                                (fn, *args), kwargs)
        return pid

    def send(self, dest: lowlevel.Pid | str | lowlevel.via, msg: _T) -> _T:
        """Send ``msg`` to ``dest`` (a Pid, name or via) from any thread; returns ``msg``.

        Does not wait for the delivery.  Messages sent from one thread
        arrive in the order sent.

        Raises:
            NoProcess: ``dest`` is a name that nobody holds.
            RuntimeError: the runtime is not running.
        """
        if self._state != "running":
            raise self._not_running("Runtime.send")
        return lowlevel.send(dest, msg)

    def call_sync(self, server: lowlevel.ServerRef, request: Any,
                  timeout: float | None = 5.0) -> Any:
        """``GenServer.call`` from synchronous code: send ``request``, block until the reply.

        Safe from any number of threads at once; each call runs in a
        short-lived process of the runtime.

        Returns:
            The server's reply.

        Raises:
            NoProcess: the server does not exist.
            CallExit: it exited before replying (``.reason``).
            Timeout: no reply within ``timeout`` seconds (``None``: wait forever).
            TypeError: ``server`` is not a Pid, a name or a via.
            RuntimeError: the runtime is not running, or stopped during the
                call; or this is the runtime's own thread.
        """
        if type(server) is not lowlevel.Pid:
            lowlevel.check_server(server, "server", "Runtime.call_sync")
        lowlevel.check_seconds(timeout, "Runtime.call_sync(timeout=...): timeout", allow_none=True)
        self._refuse_on_loop_thread("Runtime.call_sync()")
        try:
            ok, value = self._post_and_wait("Runtime.call_sync", self._run_process, _call,
                                            (server, request, timeout), {})
        except ProcessExit as signal:            # something killed the call's process
            raise RuntimeError(f"Runtime.call_sync({server!r}, ...): the call's process was "
                               f"stopped by the exit signal {signal.reason!r}") from signal
        if not ok:
            raise value
        return value

    def submit(self, fn: Callable[_P, Coroutine[Any, Any, _T]], /, *args: _P.args,
               **kwargs: _P.kwargs) -> concurrent.futures.Future[_T]:
        """Run ``fn(*args, **kwargs)`` as a process; a future of its result.

        The future resolves with what ``fn`` returns, or fails with the
        exception it raised (its crash is also logged, as any process's),
        or with ``ProcessExit(reason)`` if an exit signal killed it (as
        ``actors.run``).  If the process is still running when the runtime
        stops, and the shutdown's exit signal ends it, the future fails with
        ``RuntimeError`` (its ``__cause__`` is the ``ProcessExit``), as a
        ``call_sync`` waiting then does.  Cancelling the future before the process starts
        prevents it; afterwards, stop the process with an exit signal.

        The process ends when ``fn`` returns, and what ``fn`` started with
        ``start_link`` has it as its parent: a supervisor (or any server
        that traps exits) stops then.  Start long-lived processes with the
        unlinked starts (``rt.submit(Supervisor.start, children).result()``).

        Raises:
            TypeError: ``fn`` is not an async function.
            RuntimeError: the runtime is not running.
        """
        lowlevel.check_async_fn(fn, "Runtime.submit")
        fut: concurrent.futures.Future[_T] = self._post("Runtime.submit", self._run_process,
                                                        fn, args, kwargs)
        return fut

    def stop(self, timeout: float | None = None) -> None:
        """Shut every process down, as ``Runtime.stop`` does, and join the thread.

        Newest first, the processes without a parent get the exit signal
        ``"shutdown"``, each given ``shutdown_timeout`` seconds before it
        is killed; a trapping GenServer runs ``terminate``, a supervisor
        stops its children.  Calls still waiting raise ``RuntimeError``: a
        ``call_sync``, and a ``submit`` future whose process the shutdown
        ends (one that returns or raises on its own resolves as usual).
        Calling ``stop`` again does nothing; any later call raises
        ``RuntimeError``.

        Args:
            timeout: seconds to wait for the thread (``None``: until it ends).

        Raises:
            Timeout: the thread did not end within ``timeout``; call
                ``stop`` again to wait more.
            RuntimeError: called on the runtime's own thread.
        """
        lowlevel.check_seconds(timeout, "Runtime.stop(timeout=...): timeout", allow_none=True)
        if self._on_loop_thread():
            raise RuntimeError(
                "Runtime.stop() was called on the runtime's own thread, which it would wait "
                "for (a deadlock): call it from another thread")
        with self._lock:
            if self._state == "running":
                self._state = "stopping"
                try:
                    self._loop.call_soon_threadsafe(self._wake_up)
                except RuntimeError:             # the loop just closed: the thread ends anyway
                    pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise lowlevel.Timeout(f"Runtime.stop(): the runtime thread did not end within "
                                   f"{timeout} s (its processes are still shutting down)")
        atexit.unregister(self._at_exit)

    def __enter__(self) -> ThreadRuntime:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThreadRuntime {self._state} on thread {self._thread.name!r}>"


class _Future(concurrent.futures.Future[_T]):
    """The future of work handed to a ``ThreadRuntime``'s loop: it knows the
    process doing the work, and refuses to be waited for on the loop's own
    thread (a deadlock)."""

    def __init__(self, runtime: ThreadRuntime) -> None:
        super().__init__()
        self._runtime = runtime
        self._pid: lowlevel.Pid | None = None
        self._what = "Runtime.submit"            # what the caller called, for errors

    def result(self, timeout: float | None = None) -> _T:
        if not self.done():
            self._runtime._refuse_on_loop_thread("Future.result()")
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done():
            self._runtime._refuse_on_loop_thread("Future.exception()")
        return super().exception(timeout)

    def _exited(self, pid: lowlevel.Pid, reason: Any, result: Any, exc: BaseException | None,
                by_signal: bool) -> None:
        """The process doing the work has exited (runs on the loop).  Killed
        by an exit signal while the runtime stops: RuntimeError, caused by
        the ``ProcessExit`` (a call waiting at stop raises RuntimeError)."""
        ok, value = _outcome(reason, result, exc, by_signal)
        if ok:
            self.set_result(value)
        elif by_signal and self._runtime._state != "running":
            err = RuntimeError(f"{self._what}: its process {pid!r} was stopped by the exit signal "
                               f"{reason!r}: the runtime is stopping")
            err.__cause__ = value
            self.set_exception(err)
        else:
            self.set_exception(value)

    def _kill(self) -> None:
        """On the loop: kill the process doing the work (its caller gave up)."""
        if self._pid is not None and lowlevel.is_alive(self._pid):
            lowlevel.exit(self._pid, "kill")

    def _fail(self, exc: BaseException) -> None:
        """Fail the future unless it is already resolved (or cancelled)."""
        try:
            self.set_exception(exc)
        except concurrent.futures.InvalidStateError:
            pass


async def _call(server: lowlevel.Pid | str | lowlevel.via, request: Any,
                timeout: float | None) -> tuple[bool, Any]:
    """The process behind ``ThreadRuntime.call_sync``: the call's outcome,
    ``(True, reply)`` or ``(False, exception)`` (an error of the call is the
    caller's, not a crash of this process)."""
    try:
        return True, await lowlevel.call(server, request, timeout)
    except Exception as exc:
        return False, exc


#: How many times ``shutdown_processes`` looks again for processes that have
#: no parent left before it signals whatever remains all at once.
SHUTDOWN_ROUNDS = 8


async def shutdown_processes(sched: Scheduler, timeout: float | None) -> None:
    """Shut every process down, in reverse start order, as OTP stops a node.

    The runtime plays the part of the parent of the processes that have none
    left, the roots: those not linked to an older live process.  Newest
    first, each root gets the exit signal ``"shutdown"``, sent from outside
    any process (a trapping process sees ``Exit(None, "shutdown")``, which a
    GenServer without a parent takes as its parent's: it runs
    ``terminate``).  A process linked to an older one (a supervisor's child,
    a linked task) is left to that older process, its parent, to stop.  A
    root that traps exits or has links (a GenServer, a supervisor stopping
    its children in reverse order) is waited for, up to ``timeout`` seconds
    on the runtime's clock and then killed, before the next root is
    signalled; a root with neither dies at its next step and is only
    signalled.  Then the processes that have become roots (orphans of a
    stopped root, processes spawned meanwhile) are stopped the same way;
    after ``SHUTDOWN_ROUNDS`` rounds whatever is left is signalled at once
    and given ``timeout`` seconds.  A shutdown in which every process exits
    when told never waits for a timeout.
    """
    for _ in range(SHUTDOWN_ROUNDS):
        if sched.process_count == 0:
            return
        await _settle(sched)
        await _stop_roots(sched, timeout)
    if sched.process_count:
        await _settle(sched)
        rest = sched.processes()
        rest.reverse()
        await _stop_and_wait(sched, rest, timeout)


async def _settle(sched: Scheduler) -> None:
    """Let the scheduler run what is runnable (signalled processes die at their
    next step), for a bounded number of loop iterations."""
    for _ in range(sched.process_count // 1024 + 8):
        if sched.run_queue_length == 0:
            return
        await asyncio.sleep(0)


async def _stop_roots(sched: Scheduler, timeout: float | None) -> None:
    """One round of ``shutdown_processes``: stop the roots, newest first; when
    a root has exited, the processes it was linked to and that have no other
    parent left are stopped next (its subtree goes before older roots)."""
    procs = sched.processes()
    order = {pid: i for i, pid in enumerate(procs)}
    info = lowlevel.process_info
    stack = procs                            # popped newest first
    while stack:
        pid = stack.pop()
        links = info(pid, "links")
        if links is None:
            continue                         # it has exited
        i = order[pid]
        newer: list[lowlevel.Pid] = []
        for other in links:
            j = order.get(other)
            if j is None:
                continue                     # spawned during the shutdown: next round
            if j < i:
                break                        # linked to an older process: its parent
            newer.append(other)
        else:
            if links or info(pid, "trap_exit"):
                await _stop_and_wait(sched, [pid], timeout)
                newer.sort(key=order.__getitem__)
                stack.extend(newer)
            else:
                lowlevel.exit(pid, "shutdown")


async def _nothing() -> None:
    """A process that ends at once (see ``_stop_and_wait``)."""


async def _stop_and_wait(sched: Scheduler, pids: list[lowlevel.Pid], timeout: float | None) -> None:
    """Signal ``"shutdown"`` to ``pids`` (in this order) and wait until they have
    exited; kill those left after ``timeout`` seconds on the runtime's clock."""
    if not pids:
        return
    loop = sched.loop
    done = loop.create_future()
    expired = loop.create_future()
    waiting: set[lowlevel.Pid] = set()
    timer: Any = None
    clock = sched.clock
    on_loop = isinstance(clock, lowlevel.MockClock) and not clock.autojump

    def cancel_timer() -> None:
        if timer is None:
            return
        if on_loop:
            timer.cancel()
        else:
            lowlevel.cancel_timer(timer)

    def exited(pid: lowlevel.Pid, *exit_info: Any) -> None:
        # Runs inside the scheduler as the process terminates: the timer is
        # cancelled at once, so that an autojumping clock never jumps to it.
        waiting.discard(pid)
        if not waiting and not done.done():
            cancel_timer()
            done.set_result(None)

    def kill_the_rest() -> None:
        if not expired.done():
            expired.set_result(None)
        for pid in list(waiting):
            lowlevel.exit(pid, "kill")

    for pid in pids:
        if sched.on_exit(pid, exited):
            waiting.add(pid)
    if not waiting:
        return
    if timeout is not None:
        if on_loop:    # virtual time that nobody moves: wait in real time
            timer = loop.call_later(timeout, kill_the_rest)
        else:
            timer = sched.call_later(timeout, kill_the_rest)
    for pid in pids:
        lowlevel.exit(pid, "shutdown")
    if timeout is not None and not on_loop and isinstance(clock, lowlevel.MockClock) \
            and sched.run_queue_length == 0:
        # Nothing runs (the processes ignore the signal, or are exiting and
        # blocked in a foreign await): an autojumping clock jumps at the end
        # of a scheduler step, and a timer armed from outside any process
        # does not make one.  A process that ends at once does.
        lowlevel.spawn(_nothing)
    try:
        await asyncio.wait({done, expired}, return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            # Killed processes close at their next step; anything still left
            # (stuck in a foreign await, say) is dropped by close().
            await asyncio.wait({done}, timeout=1.0)
    finally:
        if not done.done():
            cancel_timer()


def _check_options(what: str, *, clock: Any, shutdown_timeout: Any = None,
                   gc_threshold: Any = None, asyncio_tasks: Any, long_step: Any) -> None:
    """Check the options of ``Runtime`` (or ``what``, which takes them too):
    TypeError or ValueError naming ``what`` and the option."""
    if clock is not None and not callable(clock):
        raise TypeError(f"{what}(clock=...): clock must be callable, got {clock!r}")
    if shutdown_timeout is not None:
        lowlevel.check_seconds(shutdown_timeout, f"{what}(shutdown_timeout=...): shutdown_timeout")
    if gc_threshold is not None:
        if type(gc_threshold) is bool or not isinstance(gc_threshold, int):
            raise TypeError(f"{what}(gc_threshold=...): gc_threshold must be a positive int or "
                            f"None, got {gc_threshold!r}")
        if gc_threshold < 1:
            raise ValueError(f"{what}(gc_threshold=...): gc_threshold must be a positive int, "
                             f"got {gc_threshold!r}")
    if type(asyncio_tasks) is not bool:
        raise TypeError(f"{what}(asyncio_tasks=...): asyncio_tasks must be True or False, "
                        f"got {asyncio_tasks!r}")
    if long_step is not None:
        lowlevel.check_seconds(long_step, f"{what}(long_step=...): long_step")
        if long_step == 0:
            raise ValueError(f"{what}(long_step=...): long_step must be > 0 seconds, or None "
                             f"to turn the report off")


def _loop_factory(loop: str | None, what: str = "run") -> Callable[[], asyncio.AbstractEventLoop]:
    if loop is not None and type(loop) is not str:
        raise TypeError(f'{what}(loop=...): loop must be None, "asyncio" or "uvloop", got {loop!r}')
    if loop is None or loop == "asyncio":
        return asyncio.new_event_loop
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            raise ValueError(f'{what}(loop="uvloop"): uvloop is not installed '
                             f'(pip install "actors-otp[uvloop]")') from exc
        return uvloop.new_event_loop
    raise ValueError(f'{what}(loop=...): loop must be None, "asyncio" or "uvloop", got {loop!r}')


def run(main: Callable[..., Coroutine[Any, Any, _T]], *args: Any, loop: str | None = None,
        clock: Callable[[], float] | None = None, asyncio_tasks: bool = True,
        observe: bool | dict[str, Any] | None = None, long_step: float | None = lowlevel.LONG_STEP,
        node: str | None = None, cookie: str | bytes | None = None, **kwargs: Any) -> _T:
    """Run ``main(*args, **kwargs)`` as the first process of a new runtime.

    Like ``asyncio.run``: makes a new event loop (uvloop with
    ``loop="uvloop"``), runs until ``main`` exits, shuts every other process
    down in reverse start order (see ``Runtime.stop``: a trapping GenServer
    without a parent runs ``terminate``), closes the loop.  Ctrl-C
    (``KeyboardInterrupt``) shuts down the same way, ``main`` included, then
    raises ``KeyboardInterrupt``.

    Args:
        main: an async function.
        loop: ``None``/``"asyncio"`` for the stdlib loop, ``"uvloop"``.
        clock: a clock for timers, e.g. ``actors.MockClock(autojump=True)``.
        asyncio_tasks, long_step: see ``Runtime``.
        observe: start the observer dashboard while ``main`` runs: True, or a
            dict of ``actors.observer.start`` options (``{"port": 8000}``).
            Its URL, token included, is printed on stderr.
        node: make the runtime this node (``"name@host"``) while ``main``
            runs (``actors.Node.start``), with ``cookie`` (None: read
            ``~/.erlang.cookie``).

    Returns:
        What ``main`` returned (None if it ended with ``ProcessExit("normal")``).

    Raises:
        Exception: whatever ``main`` raised (raised here only: it is not
            also logged as a crash report).
        ProcessExit: ``main`` was killed by an exit signal (``.reason``;
            ``"killed"`` after ``"kill"``).
    """
    lowlevel.check_async_fn(main, "run")
    if observe is not None and not isinstance(observe, (bool, dict)):
        raise TypeError(f"run(observe=...): must be True, False, None or a dict of options, got {observe!r}")
    if node is not None and not isinstance(node, str):
        raise TypeError(f"run(node=...): must be a node name like 'py@localhost', got {node!r}")
    if cookie is not None and node is None:
        raise TypeError("run(cookie=...): a cookie needs node=...")
    factory = _loop_factory(loop)
    _check_options("run", clock=clock, asyncio_tasks=asyncio_tasks, long_step=long_step)
    if lowlevel.current_scheduler() is not None:
        raise RuntimeError("actors.run() cannot be called while an actors runtime is running")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "actors.run() cannot be called from a running event loop: "
            "use `async with actors.Runtime()` there")
    with asyncio.Runner(loop_factory=factory) as runner:
        result: _T = runner.run(_run_main(main, args, kwargs, clock, asyncio_tasks, observe, long_step,
                                          node, cookie))
        return result


async def _run_main(main: Callable[..., Coroutine[Any, Any, Any]], args: tuple[Any, ...],
                    kwargs: dict[str, Any], clock: Callable[[], float] | None,
                    asyncio_tasks: bool = True, observe: bool | dict[str, Any] | None = None,
                    long_step: float | None = lowlevel.LONG_STEP, node: str | None = None,
                    cookie: str | bytes | None = None) -> Any:
    outcome: asyncio.Future[tuple[Any, Any, BaseException | None, bool]] = \
        asyncio.get_running_loop().create_future()

    def on_exit(pid: lowlevel.Pid, reason: Any, result: Any, exc: BaseException | None,
                by_signal: bool) -> None:
        if not outcome.done():
            outcome.set_result((reason, result, exc, by_signal))

    async with Runtime(clock=clock, gc_threshold=max(RUN_GC_THRESHOLD, gc.get_threshold()[0]),
                       asyncio_tasks=asyncio_tasks, long_step=long_step) as rt:
        dashboard = None
        if node is not None:
            if _node_hooks is None:
                raise RuntimeError("run(node=...): no node layer is registered (import actors)")
            await _node_hooks[0](node, cookie)
        if observe:
            if _start_observer is None:
                raise RuntimeError("run(observe=...): no observer is registered "
                                   "(import actors, which registers actors.observer)")
            dashboard = await _start_observer(**({} if observe is True else observe))
        try:
            pid = rt.spawn(main, *args, **kwargs)
            # main's crash is raised to run's caller, not logged as well.
            rt.scheduler.on_exit(pid, on_exit, report=False)
            reason, result, exc, by_signal = await outcome
        finally:
            if dashboard is not None:
                await dashboard.stop()
    ok, value = _outcome(reason, result, exc, by_signal)
    if not ok:
        if by_signal:
            value.add_note(f"actors.run: main ({pid!r}) was killed by an exit signal with this "
                           f"reason; if a crash sent it, that crash is in the log")
        raise value
    return value


def _outcome(reason: Any, result: Any, exc: BaseException | None, by_signal: bool) -> tuple[bool, Any]:
    """What a process's exit gives the code waiting for it (``run``,
    ``ThreadRuntime.submit``): ``(True, its result)`` (None after a normal
    ``ProcessExit``), or ``(False, the exception to raise)``: the one it
    raised, or ``ProcessExit(reason)`` if an exit signal killed it."""
    if by_signal:
        if isinstance(reason, str) and reason == "normal":   # exit(self(), "normal")
            return True, None
        return False, ProcessExit(reason)
    if exc is not None:
        if isinstance(exc, ProcessExit) and isinstance(exc.reason, str) and exc.reason == "normal":
            return True, None
        return False, exc
    return True, result
