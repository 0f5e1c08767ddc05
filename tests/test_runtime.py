"""The runtime: actors.run semantics, shutdown, embedding actors.Runtime in an
asyncio program, to_thread, and asyncio awaitables inside processes
(docs/api.md "Execution model" and "Details", core-decisions.md "Running")."""
from __future__ import annotations

import asyncio
import gc
import signal
import threading

import pytest

import actors
from actors import ANY
from actors.lowlevel import reply
from helpers import echo, roundtrip, run_script

# -- actors.run -----------------------------------------------------------------------


def test_run_passes_arguments_and_returns_mains_result(run):
    """run(main, *args, **kwargs) runs main(*args, **kwargs) as a process and returns its result."""

    async def main(a, b, *, c):
        return (a, b, c)

    assert run(main, 1, "b", c=[3]) == (1, "b", [3])


def test_run_uses_the_requested_event_loop(run, loop_name):
    """run(loop="uvloop") runs on uvloop, run(loop="asyncio") on the stdlib loop."""

    async def main():
        return type(asyncio.get_running_loop()).__module__

    module = run(main)
    if loop_name == "uvloop":
        assert module.startswith("uvloop")
    else:
        assert module.startswith("asyncio")


def test_run_reraises_mains_exception(run):
    """An exception raised by main propagates out of run, as the same instance."""
    exc = LookupError("from main")

    async def main():
        raise exc

    with pytest.raises(LookupError) as info:
        run(main)
    assert info.value is exc


def test_run_returns_none_when_main_exits_normal(run):
    """A main that ends with ProcessExit("normal") makes run return None."""

    async def main():
        raise actors.ProcessExit("normal")

    assert run(main) is None


def test_run_returns_none_when_main_exits_itself_with_normal(run):
    """`exit(self(), "normal")` ends the caller with reason "normal" (as on
    the BEAM), and a `main` that ends with reason "normal" makes `actors.run`
    return None (docs/api.md "Details"), not raise ProcessExit("normal")."""

    async def main():
        actors.exit(actors.self(), "normal")

    assert run(main) is None


def test_run_raises_process_exit_with_mains_own_reason(run):
    """A main that raises ProcessExit(reason) makes run raise ProcessExit(reason)."""

    async def main():
        raise actors.ProcessExit(("shutdown", "by main"))

    with pytest.raises(actors.ProcessExit) as info:
        run(main)
    assert info.value.reason == ("shutdown", "by main")


@pytest.mark.parametrize("reason, expected", [("boom", "boom"), ("kill", "killed")])
def test_run_raises_process_exit_when_main_is_killed_by_a_signal(run, reason, expected):
    """If main is killed by an exit signal, run raises ProcessExit(reason) ("killed" after "kill")."""

    async def assassin(target, reason):
        actors.exit(target, reason)

    async def main():
        actors.spawn(assassin, actors.self(), reason)
        await actors.receive("never")

    with pytest.raises(actors.ProcessExit) as info:
        run(main)
    assert info.value.reason == expected


def test_run_raises_process_exit_when_a_linked_crash_kills_main(run):
    """A crash propagated to main through a link ends run with ProcessExit(that reason)."""
    exc = ValueError("linked crash")

    async def crasher():
        raise exc

    async def main():
        actors.spawn_link(crasher)
        await actors.receive("never")

    with pytest.raises(actors.ProcessExit) as info:
        run(main)
    assert info.value.reason is exc


def test_remaining_processes_get_shutdown_when_main_returns(run):
    """After main exits, every remaining process gets exit signal "shutdown":
    a non-trapping one dies with it (its finally runs), a trapping one sees Exit(None, "shutdown")."""
    log = []

    async def plain():
        try:
            await actors.receive("never")
        except actors.ProcessExit as e:
            log.append(("plain", e.reason))
            raise

    async def trapper(parent):
        actors.Process.flag("trap_exit", True)
        actors.send(parent, "trapping")
        log.append(("trapper", await actors.receive(actors.Exit)))

    async def main():
        actors.spawn(plain)
        actors.spawn(trapper, actors.self())
        await actors.receive("trapping")
        return "main done"

    assert run(main) == "main done"
    assert sorted(log, key=repr) == sorted(
        [("plain", "shutdown"), ("trapper", actors.Exit(None, "shutdown"))], key=repr
    )


def test_runtime_shutdown_finishes_when_a_cleanup_hangs(loop_name):
    """After `main` exits, remaining processes get "shutdown" and are killed
    after the shutdown timeout (decisions: Running), so `actors.run` returns
    even if a process's `finally` block awaits something that never finishes."""
    proc = run_script(loop_name, """
        import asyncio, actors

        async def stubborn():
            try:
                await actors.receive("never sent")
            finally:
                await asyncio.Event().wait()

        async def main():
            actors.spawn(stubborn)
            await actors.sleep(0)
            return "done"

        print(actors.run(main, loop=LOOP, clock=actors.MockClock(autojump=True)))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"


class Tracer(actors.GenServer):
    """Traps exits (so that a shutdown reaches terminate) and records its terminate."""

    def init(self, name, log):
        actors.Process.flag("trap_exit", True)
        self.name, self.log = name, log

    def terminate(self, reason):
        self.log.append((self.name, reason))


async def _hold_a_supervisor(parent, log):
    """A plain process that starts a supervisor of two Tracers, then waits."""
    children = [Tracer.child_spec(name, log).replace(id=name) for name in ("child1", "child2")]
    await actors.Supervisor.start_link(children)
    actors.send(parent, "supervising")
    await actors.receive("never sent")


def test_at_the_end_of_run_servers_without_a_parent_terminate_in_reverse_start_order(run):
    """At the end of actors.run every process is shut down in reverse start order.
    A trapping GenServer with no parent (started with start()) takes the runtime's
    shutdown signal as its parent's: terminate("shutdown") runs, as in OTP, and the
    run returns at once (on an autojumping clock, a shutdown timeout would show)."""
    clock = actors.MockClock(autojump=True)
    log = []

    async def main():
        for name in ("first", "second", "third"):
            await Tracer.start(name, log)
        return clock()

    ended = run(main, clock=clock)
    assert log == [("third", "shutdown"), ("second", "shutdown"), ("first", "shutdown")]
    assert clock() == ended                     # no process made the shutdown wait


def test_the_shutdown_stops_a_supervision_tree_as_a_whole_in_start_order(run):
    """A process linked to an older one is stopped by it, not by the runtime: a
    supervisor stops its children in reverse order, and the subtree is done before
    the shutdown moves on to older processes."""
    clock = actors.MockClock(autojump=True)
    log = []

    async def main():
        await Tracer.start("before", log)
        actors.spawn(_hold_a_supervisor, actors.self(), log)
        await actors.receive("supervising")
        await Tracer.start("after", log)
        return clock()

    ended = run(main, clock=clock)
    assert [name for name, _ in log] == ["after", "child2", "child1", "before"]
    assert clock() == ended


@pytest.mark.parametrize("how", ["async with", "stop"])
def test_leaving_a_runtime_terminates_its_servers_in_reverse_start_order(aio_run, how):
    """Runtime.stop() (or leaving `async with`) shuts down like actors.run: servers
    started from asyncio code (no parent) run terminate, newest first, at once."""
    log = []

    async def app():
        clock = actors.MockClock(autojump=True)
        rt = actors.Runtime(clock=clock)
        async with rt:
            for name in ("first", "second"):
                await Tracer.start(name, log)
            stopping = clock()
            if how == "stop":
                await rt.stop()
        return clock() - stopping

    assert aio_run(app) == 0
    assert log == [("second", "shutdown"), ("first", "shutdown")]


def test_ctrl_c_during_run_shuts_down_in_order_and_raises_keyboard_interrupt(run):
    """Ctrl-C (SIGINT) during actors.run does the same orderly shutdown (main too
    gets "shutdown"), then KeyboardInterrupt propagates, as with asyncio.run."""
    log = []

    async def main():
        await Tracer.start("first", log)
        await Tracer.start("second", log)
        try:
            signal.raise_signal(signal.SIGINT)
            await actors.receive("never sent")
        except actors.ProcessExit as exc:
            log.append(("main", exc.reason))
            raise

    with pytest.raises(KeyboardInterrupt):
        run(main, clock=actors.MockClock(autojump=True))
    assert log == [("second", "shutdown"), ("first", "shutdown"), ("main", "shutdown")]


def test_run_rejects_a_non_async_main(run):
    """run with a plain function is a TypeError naming the function argument."""

    def main():
        return 1

    with pytest.raises(TypeError, match="main|fn"):
        run(main)


def test_run_rejects_an_unknown_loop():
    """run(loop=...) accepts None, "asyncio" or "uvloop": anything else names `loop`."""

    async def main():
        return 1

    with pytest.raises((ValueError, TypeError), match="loop"):
        actors.run(main, loop="no-such-loop")


@pytest.mark.parametrize("options, error", [
    ({"loop": 3}, TypeError), ({"asyncio_tasks": "no"}, TypeError), ({"clock": 5}, TypeError),
    ({"long_step": -1}, ValueError),
])
def test_run_refuses_bad_options_naming_run_and_the_option(options, error):
    async def main():
        return 1

    [name] = options
    with pytest.raises(error, match=rf"^run\({name}=\.\.\.\)"):
        actors.run(main, **options)


def test_run_can_run_again_after_returning(run):
    """Each run starts a fresh runtime on a new loop; runs can follow one another."""

    async def main(x):
        return await roundtrip(actors.spawn(echo), x)

    assert run(main, 1) == ("echo", 1)
    assert run(main, 2) == ("echo", 2)


def test_a_second_runtime_cannot_start_inside_a_running_one(run):
    """One runtime per interpreter at a time: run() from inside a process raises RuntimeError."""

    async def inner():
        return None

    async def main():
        with pytest.raises(RuntimeError):
            actors.run(inner)
        return "still fine"

    assert run(main) == "still fine"


def test_run_restores_the_gc_threshold(run):
    """run may tune the GC while it runs, but restores the thresholds on return."""
    before = gc.get_threshold()

    async def main():
        return None

    run(main)
    assert gc.get_threshold() == before


# -- asyncio awaitables inside processes ------------------------------------------------


def test_a_process_can_await_asyncio_futures_and_sleep_zero(run):
    """Inside a process, await works on asyncio futures and asyncio.sleep(0)."""

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.call_soon(fut.set_result, "resolved")
        assert await fut == "resolved"
        await asyncio.sleep(0)
        failing = loop.create_future()
        loop.call_soon(failing.set_exception, KeyError("from future"))
        with pytest.raises(KeyError):
            await failing
        assert await loop.run_in_executor(None, sum, [1, 2, 3]) == 6
        return "ok"

    assert run(main) == "ok"


def test_other_processes_run_while_one_awaits_a_future(run):
    """A process waiting on an asyncio future blocks only itself."""

    async def waiter(fut, parent):
        actors.send(parent, ("waiter got", await fut))

    async def main():
        fut = asyncio.get_running_loop().create_future()
        actors.spawn(waiter, fut, actors.self())
        server = actors.spawn(echo)
        assert await roundtrip(server, "meanwhile") == ("echo", "meanwhile")
        fut.set_result(7)
        assert await actors.receive(("waiter got", ANY)) == ("waiter got", 7)

    run(main)


@pytest.mark.parametrize("reason, expected", [("boom", "boom"), ("kill", "killed")])
def test_a_process_waiting_on_a_future_can_be_killed(run, reason, expected):
    """An exit signal reaches a process suspended on an asyncio future; resolving
    the future afterwards harms nobody."""

    async def waiter(fut, parent):
        actors.send(parent, "waiting")
        await fut

    async def main():
        fut = asyncio.get_running_loop().create_future()
        pid = actors.spawn(waiter, fut, actors.self())
        await actors.receive("waiting")
        ref = actors.monitor(pid)
        actors.exit(pid, reason)
        assert (await actors.receive((ref, ANY, ANY))).reason == expected
        if not fut.done():
            fut.set_result("too late")
        server = actors.spawn(echo)
        assert await roundtrip(server) == ("echo", "sync")

    run(main)


def test_asyncio_current_task_is_the_process_inside_a_process(run):
    """Inside a process asyncio.current_task() is its Pid (so asyncio helpers that
    need the current task work); outside any process it is not."""

    async def child(parent):
        actors.send(parent, asyncio.current_task())

    async def main():
        assert asyncio.current_task() is actors.self()
        pid = actors.spawn(child, actors.self())
        assert await actors.receive(timeout=5) is pid
        return True

    assert run(main) is True


def test_asyncio_timeout_works_inside_a_process(run):
    """asyncio.timeout() (which aiohttp's client timeouts are built on) times out an
    asyncio await inside a process with TimeoutError, and leaves the process usable."""

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        async with asyncio.timeout(5):
            await asyncio.sleep(0)
        assert asyncio.current_task().cancelling() == 0
        actors.send(actors.self(), "still receiving")
        return await actors.receive(timeout=1)

    assert run(main) == "still receiving"


def test_asyncio_taskgroup_works_inside_a_process(run):
    """asyncio.TaskGroup can be used inside a process: it runs its tasks and, when
    one fails, cancels the others and raises an ExceptionGroup in the process."""

    async def ok(x):
        await asyncio.sleep(0)
        return x * 2

    async def boom():
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def main():
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(ok(i)) for i in range(3)]
        assert [t.result() for t in tasks] == [0, 2, 4]
        with pytest.raises(ExceptionGroup) as info:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(boom())
                tg.create_task(asyncio.sleep(10))
        assert info.group_contains(ValueError)
        return "ok"

    assert run(main) == "ok"


def test_cancelling_a_process_raises_cancelled_error_at_its_await(run):
    """pid.cancel() (asyncio's Task.cancel, which asyncio.timeout uses) raises
    CancelledError at the process's current await, even in receive; the process
    may catch it and carry on."""

    async def waiter(parent):
        try:
            await actors.receive("never")
        except asyncio.CancelledError:
            actors.send(parent, "cancelled")
        actors.send(parent, await actors.receive())

    async def main():
        pid = actors.spawn(waiter, actors.self())
        await actors.sleep(0)
        assert pid.cancel() is True
        assert await actors.receive(timeout=5) == "cancelled"
        actors.send(pid, "after")
        assert await actors.receive(timeout=5) == "after"
        return True

    assert run(main) is True


class _Foreign:
    """An awaitable from no known framework: it yields a bare int."""

    def __await__(self):
        yield 12345
        return "unreachable"


def test_awaiting_something_foreign_raises_inside_the_process(run):
    """A process that awaits something the scheduler does not understand gets an
    error raised at that await, can handle it, and keeps working."""

    async def confused(parent):
        try:
            await _Foreign()
        except Exception as e:
            actors.send(parent, ("raised", type(e), str(e)))
        while True:
            sender, x = await actors.receive((ANY, ANY))
            actors.send(sender, ("echo", x))

    async def main():
        pid = actors.spawn(confused, actors.self())
        (_, exc_type, text) = await actors.receive(("raised", ANY, ANY))
        assert issubclass(exc_type, Exception)
        assert text
        assert await roundtrip(pid, "recovered") == ("echo", "recovered")

    run(main)


def test_an_unhandled_foreign_await_crashes_only_that_process(run):
    """Left unhandled, the error ends that process like any crash; the scheduler
    and the other processes carry on, and no message is lost."""

    async def confused():
        await _Foreign()

    async def main():
        server = actors.spawn(echo)
        actors.send(server, (actors.self(), "queued before"))
        pid, ref = actors.spawn_monitor(confused)
        down = await actors.receive((ref, ANY, ANY))
        assert isinstance(down.reason, Exception)
        assert await actors.receive(("echo", ANY)) == ("echo", "queued before")
        assert await roundtrip(server, "after") == ("echo", "after")

    run(main)


def test_retrying_an_unawaitable_in_a_loop_does_not_crash(loop_name):
    """A process that keeps awaiting something actors cannot wait for and
    catches the RuntimeError each time (a retry loop) gets that error every
    time; the core must not recurse once per retry until the C stack overflows."""
    proc = run_script(loop_name, """
        import actors

        class Foreign:
            def __await__(self):
                yield 42            # what a trio/curio awaitable would yield

        async def main():
            errors = 0
            while errors < 100_000:
                try:
                    await Foreign()
                except RuntimeError:
                    errors += 1
            return errors

        print(actors.run(main, loop=LOOP))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "100000"


# -- to_thread -----------------------------------------------------------------------


def test_to_thread_runs_blocking_code_on_another_thread(run):
    """to_thread(fn, *args) runs fn on a worker thread and returns its result."""

    def work(a, b):
        return (a + b, threading.get_ident())

    async def main():
        total, ident = await actors.to_thread(work, 2, 3)
        assert total == 5
        assert ident != threading.get_ident()

    run(main)


def test_to_thread_propagates_exceptions(run):
    """An exception in the worker thread is raised in the awaiting process."""

    def fail():
        raise ZeroDivisionError("in thread")

    async def main():
        with pytest.raises(ZeroDivisionError, match="in thread"):
            await actors.to_thread(fail)
        return "handled"

    assert run(main) == "handled"


def test_to_thread_does_not_block_other_processes(run):
    """While one process waits on a thread, others run: here another process
    releases the very event the thread is blocked on."""
    event = threading.Event()

    async def releaser():
        event.set()

    async def main():
        actors.spawn(releaser)
        assert await actors.to_thread(event.wait, 60) is True

    run(main)


# -- embedding: actors.Runtime in an asyncio program ----------------------------------


async def _server():
    """A hand-written server process speaking the $gen_call protocol."""
    got = []
    while True:
        msg = await actors.receive()
        match msg:
            case ("$gen_call", from_, "messages"):
                reply(from_, list(got))
            case ("$gen_call", from_, ("crash", exc)):
                raise exc
            case ("$gen_call", from_, "ignore"):
                pass
            case ("$gen_call", from_, request):
                reply(from_, ("reply", request))
            case other:
                got.append(other)


def test_runtime_embeds_in_an_asyncio_program(aio_run):
    """Inside an asyncio program, rt.spawn/rt.send/rt.call talk to processes."""

    async def app():
        async with actors.Runtime() as rt:
            pid = rt.spawn(_server)
            assert await rt.call(pid, "hello") == ("reply", "hello")
            for i in range(5):
                rt.send(pid, i)
            assert await rt.call(pid, "messages", timeout=5.0) == [0, 1, 2, 3, 4]
            results = await asyncio.gather(*(rt.call(pid, n) for n in range(10)))
            assert results == [("reply", n) for n in range(10)]
        return "app done"

    assert aio_run(app) == "app done"


def test_module_functions_work_from_asyncio_code_while_a_runtime_is_active(aio_run):
    """actors.spawn/send work from plain asyncio code in the loop's thread while a
    runtime is active; self() still raises RuntimeError there (not a process)."""

    async def app():
        async with actors.Runtime() as rt:
            pid = actors.spawn(_server)
            actors.send(pid, "via module send")
            assert await rt.call(pid, "messages") == ["via module send"]
            with pytest.raises(RuntimeError):
                actors.self()
        return "ok"

    assert aio_run(app) == "ok"


def test_runtime_call_errors(aio_run):
    """rt.call raises NoProcess for a missing server, CallExit(reason) when the
    server dies first, Timeout when no reply comes in time."""

    async def app():
        async with actors.Runtime(clock=actors.MockClock(autojump=True)) as rt:
            with pytest.raises(actors.NoProcess):
                await rt.call("nobody_by_this_name", "x")
            pid = rt.spawn(_server)
            exc = ValueError("server crash")
            with pytest.raises(actors.CallExit) as info:
                await rt.call(pid, ("crash", exc))
            assert info.value.reason is exc
            with pytest.raises(actors.NoProcess):
                await rt.call(pid, "x")
            pid2 = rt.spawn(_server)
            with pytest.raises(actors.Timeout):
                await rt.call(pid2, "ignore", timeout=0.05)
            assert await rt.call(pid2, "still up") == ("reply", "still up")
        return "ok"

    assert aio_run(app) == "ok"


def test_runtime_stop_shuts_processes_down(aio_run):
    """rt.stop() sends "shutdown" to the processes and waits for them."""
    log = []

    async def worker():
        try:
            await actors.receive("never")
        except actors.ProcessExit as e:
            log.append(e.reason)
            raise

    async def app():
        async with actors.Runtime() as rt:
            for _ in range(3):
                rt.spawn(worker)
            assert await rt.call(rt.spawn(_server), "sync") == ("reply", "sync")
            await rt.stop()
            assert log == ["shutdown"] * 3
        return "stopped"

    assert aio_run(app) == "stopped"


def test_a_process_that_ignores_shutdown_is_killed_after_the_shutdown_timeout(aio_run):
    """A trapping process that ignores "shutdown" is killed once shutdown_timeout
    has passed (its finally runs), and the runtime still stops."""
    log = []

    async def stubborn():
        actors.Process.flag("trap_exit", True)
        (_, from_, _) = await actors.receive(("$gen_call", ANY, ANY))
        reply(from_, "trapping")
        try:
            while True:
                log.append(await actors.receive())
        finally:
            log.append("closed")

    async def app():
        clock = actors.MockClock(autojump=True)
        async with actors.Runtime(clock=clock, shutdown_timeout=0.01) as rt:
            assert await rt.call(rt.spawn(stubborn), "ready?") == "trapping"
        return log

    assert aio_run(app) == [actors.Exit(None, "shutdown"), "closed"]


def test_leaving_the_runtime_block_shuts_processes_down(aio_run):
    """Exiting `async with Runtime()` stops the remaining processes."""
    log = []

    async def worker():
        try:
            await actors.receive("never")
        finally:
            log.append("cleaned up")

    async def app():
        async with actors.Runtime() as rt:
            rt.spawn(worker)
            await rt.call(rt.spawn(_server), "sync")
        return log

    assert aio_run(app) == ["cleaned up"]


def test_only_one_runtime_at_a_time(aio_run):
    """Starting a second runtime while one is active raises RuntimeError."""

    async def app():
        async with actors.Runtime():
            with pytest.raises(RuntimeError):
                async with actors.Runtime():
                    pass
        async with actors.Runtime() as rt:
            assert await rt.call(rt.spawn(_server), "again") == ("reply", "again")
        return "ok"

    assert aio_run(app) == "ok"


def test_an_embedded_runtime_leaves_the_gc_alone(aio_run):
    """Without gc_threshold=, an embedded Runtime does not touch the GC settings."""
    before = gc.get_threshold()

    async def app():
        async with actors.Runtime() as rt:
            assert gc.get_threshold() == before
            await rt.call(rt.spawn(_server), "x")
        return gc.get_threshold()

    assert aio_run(app) == before


def test_shutdown_grace_period_runs_on_the_runtimes_clock(run):
    """After main exits, a process that traps exits and ignores "shutdown" is killed
    once shutdown_timeout (5 s) has passed on the runtime's clock: with an autojump
    MockClock that is 5 virtual seconds, not 5 real ones."""
    clock = actors.MockClock(autojump=True)

    async def stubborn():
        actors.Process.flag("trap_exit", True)
        while True:
            await actors.receive()

    async def main():
        actors.spawn(stubborn)
        return clock()

    started = run(main, clock=clock)
    assert clock() - started == pytest.approx(5.0, abs=0.002)
