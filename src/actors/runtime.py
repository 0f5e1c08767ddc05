"""Running processes: ``actors.run`` and ``actors.Runtime``.

A runtime binds the compiled scheduler (``actors.lowlevel.Scheduler``) to an
asyncio event loop.  ``run`` owns a whole program, like ``asyncio.run``;
``Runtime`` embeds processes in an asyncio program that is already running.
"""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, Callable

from . import lowlevel
from .lowlevel import ProcessExit, Scheduler, call_in_process

__all__ = ["run", "Runtime"]

#: The gen-0 GC threshold ``actors.run`` uses while it runs.  Spawning walks
#: the young generation once per threshold allocations; live coroutine frames
#: make that walk expensive, so a program full of processes collects less often.
RUN_GC_THRESHOLD = 50_000

#: ``async def start(**options) -> dashboard`` for ``run(observe=...)``, or
#: None; registered with ``set_observer`` (``actors/__init__.py`` registers
#: ``actors.observer.start``, which sits above this module).
_start_observer: Callable[..., Any] | None = None


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
        >>> async def main():
        ...     async with actors.Runtime() as rt:
        ...         pid = rt.spawn(server)
        ...         print(await rt.call(pid, "ping"))

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
        if clock is not None and not callable(clock):
            raise TypeError(f"Runtime(clock=...): clock must be callable, got {clock!r}")
        if shutdown_timeout is not None:
            lowlevel.check_seconds(shutdown_timeout, "shutdown_timeout")
        if gc_threshold is not None and (not isinstance(gc_threshold, int) or gc_threshold < 1):
            raise ValueError(f"Runtime(gc_threshold=...): must be a positive int, got {gc_threshold!r}")
        self._clock = clock
        self._shutdown_timeout = shutdown_timeout
        self._gc_threshold = gc_threshold
        self._asyncio_tasks = bool(asyncio_tasks)
        if long_step is not None:
            lowlevel.check_seconds(long_step, "long_step")
            if long_step == 0:
                raise ValueError("long_step must be > 0 seconds, or None to turn the report off")
        self._long_step = long_step
        self._old_gc: tuple[int, int, int] | None = None
        self._sched: Scheduler | None = None

    async def __aenter__(self) -> "Runtime":
        self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

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

    def spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any) -> lowlevel.Pid:
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

    async def run_in_process(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
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
            sched.close()
            self._sched = None
            if self._old_gc is not None:
                gc.set_threshold(*self._old_gc)
                self._old_gc = None


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
        newer = []
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


def _loop_factory(loop: str | None) -> Callable[[], asyncio.AbstractEventLoop]:
    if loop is None or loop == "asyncio":
        return asyncio.new_event_loop
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            raise ValueError('run(loop="uvloop"): uvloop is not installed (pip install "actors-otp[uvloop]")') from exc
        return uvloop.new_event_loop
    raise ValueError(f'run(loop=...): loop must be None, "asyncio" or "uvloop", got {loop!r}')


def run(main: Callable[..., Coroutine[Any, Any, Any]], *args: Any, loop: str | None = None,
        clock: Callable[[], float] | None = None, asyncio_tasks: bool = True,
        observe: bool | dict[str, Any] | None = None, long_step: float | None = lowlevel.LONG_STEP,
        **kwargs: Any) -> Any:
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

    Returns:
        What ``main`` returned (None if it ended with ``ProcessExit("normal")``).

    Raises:
        The exception ``main`` raised; ``ProcessExit(reason)`` if ``main`` was
        killed by an exit signal (``"killed"`` after ``"kill"``).
    """
    lowlevel.check_async_fn(main, "run")
    if observe is not None and not isinstance(observe, (bool, dict)):
        raise TypeError(f"run(observe=...): must be True, False, None or a dict of options, got {observe!r}")
    factory = _loop_factory(loop)
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
        return runner.run(_run_main(main, args, kwargs, clock, asyncio_tasks, observe, long_step))


async def _run_main(main: Callable[..., Coroutine[Any, Any, Any]], args: tuple[Any, ...],
                    kwargs: dict[str, Any], clock: Callable[[], float] | None,
                    asyncio_tasks: bool = True, observe: bool | dict[str, Any] | None = None,
                    long_step: float | None = lowlevel.LONG_STEP) -> Any:
    outcome: asyncio.Future[tuple[Any, Any, BaseException | None, bool]] = \
        asyncio.get_running_loop().create_future()

    def on_exit(pid: lowlevel.Pid, reason: Any, result: Any, exc: BaseException | None,
                by_signal: bool) -> None:
        if not outcome.done():
            outcome.set_result((reason, result, exc, by_signal))

    async with Runtime(clock=clock, gc_threshold=max(RUN_GC_THRESHOLD, gc.get_threshold()[0]),
                       asyncio_tasks=asyncio_tasks, long_step=long_step) as rt:
        dashboard = None
        if observe:
            if _start_observer is None:
                raise RuntimeError("run(observe=...): no observer is registered "
                                   "(import actors, which registers actors.observer)")
            dashboard = await _start_observer(**({} if observe is True else observe))
        try:
            pid = rt.spawn(main, *args, **kwargs)
            rt.scheduler.on_exit(pid, on_exit)
            reason, result, exc, by_signal = await outcome
        finally:
            if dashboard is not None:
                await dashboard.stop()
    if by_signal:
        if isinstance(reason, str) and reason == "normal":   # exit(self(), "normal")
            return None
        raise ProcessExit(reason)
    if exc is not None:
        if isinstance(exc, ProcessExit) and exc.reason == "normal":
            return None
        raise exc
    return result
