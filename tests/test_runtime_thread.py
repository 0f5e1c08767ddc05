"""A runtime on its own thread, for synchronous programs (docs/api.md "Threads
and synchronous code"): ``Runtime.start_thread()`` returns a runtime whose
``spawn``, ``send``, ``call_sync``, ``submit`` and ``stop`` are called from
ordinary threads; and a supervision tree started from outside any process
(plain asyncio code, or such a thread) runs until the runtime stops.

Waits on futures and events carry generous timeouts: they are a safety net
against a hang, never a way to let something happen."""
from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading

import pytest

import actors
from actors import CallExit, GenServer, NoProcess, ProcessExit, Supervisor, Timeout
from helpers import run_script

WAIT = 30.0          # safety net for futures and events (seconds)


@pytest.fixture
def start(loop_name):
    """``Runtime.start_thread`` on the parametrized loop; every runtime a test
    starts is stopped at its end, even if the test fails."""
    started = []

    def _start(**options):
        rt = actors.Runtime.start_thread(loop=loop_name, **options)
        started.append(rt)
        return rt

    yield _start
    for rt in started:
        rt.stop(timeout=WAIT)


class Counter(GenServer):
    """Counts calls; ``("echo", x)`` answers ``x``; ``"crash"`` raises."""

    def init(self, n=0):
        self.n = n

    def handle_call(self, request, from_):
        if request == "crash":
            raise RuntimeError("crash requested")
        if request == "pid":
            return actors.self()
        if type(request) is tuple and request[0] == "echo":
            return request[1]
        self.n += 1
        return self.n


class Mute(GenServer):
    """Never answers a call."""

    def handle_call(self, request, from_):
        return actors.NOREPLY


class Recorder(GenServer):
    """Traps exits and records its ``terminate`` reason in ``log`` (a list
    shared with the test)."""

    def init(self, log):
        actors.Process.flag("trap_exit", True)
        self.log = log

    def handle_call(self, request, from_):
        return request

    def terminate(self, reason):
        self.log.append(reason)


async def mailbox_keeper():
    """A plain process: keeps what it receives, answers the call "get" with it."""
    got = []
    while True:
        msg = await actors.receive()
        if type(msg) is tuple and len(msg) == 3 and msg[0] == "$gen_call":
            actors.lowlevel.reply(msg[1], got)
        else:
            got.append(msg)


async def kill(name):
    actors.exit(actors.whereis(name), "kill")


# -- spawn, send, call_sync -----------------------------------------------------------


def test_spawn_send_and_call_sync_from_the_main_thread(start):
    """spawn returns the new process's Pid, send delivers in order, and
    call_sync returns the reply, all from the calling (non-loop) thread."""
    rt = start()
    assert rt.running and rt.thread.name == "actors-runtime"
    assert rt.thread is not threading.current_thread()
    keeper = rt.spawn(mailbox_keeper)
    assert type(keeper) is actors.Pid
    for i in range(5):
        assert rt.send(keeper, i) == i
    assert rt.call_sync(keeper, "get") == [0, 1, 2, 3, 4]
    server = rt.submit(Counter.start, name="counter").result(WAIT)
    assert rt.call_sync("counter", "inc") == 1
    assert rt.call_sync(server, ("echo", "hi")) == "hi"
    rt.send("counter", ("$gen_cast", "ignored"))            # a name works for send too


def test_genserver_cast_and_reply_work_from_any_thread(start):
    """A cast is a send, and so is a reply: both work from a plain thread."""

    class Deferred(GenServer):
        def init(self, held):
            self.held = held
            self.casts = []

        def handle_call(self, request, from_):
            if request == "casts":
                return self.casts
            self.held.put(from_)                  # answered by the test's thread
            return actors.NOREPLY

        def handle_cast(self, request):
            self.casts.append(request)

    held = queue.Queue()
    rt = start()
    server = rt.submit(Deferred.start, held, name="deferred").result(WAIT)
    GenServer.cast(server, 1)
    GenServer.cast("deferred", 2)
    assert rt.call_sync(server, "casts") == [1, 2]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(rt.call_sync, server, "answer me later")
        GenServer.reply(held.get(timeout=WAIT), "from the main thread")
        assert answer.result(WAIT) == "from the main thread"


def test_call_sync_times_out_with_the_exception_of_genserver_call(start):
    """A server that does not answer within ``timeout`` makes call_sync raise
    what GenServer.call raises there: actors.Timeout (a TimeoutError)."""
    rt = start(clock=actors.MockClock(autojump=True))
    mute = rt.submit(Mute.start).result(WAIT)
    in_a_process = rt.submit(GenServer.call, mute, "hello", 2.0).exception(WAIT)
    with pytest.raises(Timeout) as err:
        rt.call_sync(mute, "hello", timeout=2.0)
    assert type(err.value) is type(in_a_process)
    assert isinstance(err.value, TimeoutError)
    assert rt.call_sync(rt.submit(Counter.start).result(WAIT), "inc") == 1   # it carries on


def test_call_sync_to_a_missing_or_dead_server_raises_like_genserver_call(start):
    """No such name or a dead pid: NoProcess; a server that dies during the
    call: CallExit with its exit reason; the runtime carries on."""
    rt = start()
    with pytest.raises(NoProcess):
        rt.call_sync("nobody", "hello")
    server = rt.submit(Counter.start).result(WAIT)
    with pytest.raises(CallExit) as err:
        rt.call_sync(server, "crash")
    assert isinstance(err.value.reason, RuntimeError)
    with pytest.raises(NoProcess):
        rt.call_sync(server, "inc")
    assert rt.call_sync(rt.submit(Counter.start).result(WAIT), "inc") == 1


def test_call_sync_from_many_threads_at_once(start):
    """call_sync is safe from any number of threads: 8 threads x 200 calls,
    every reply is the answer to its own request."""
    rt = start()
    server = rt.submit(Counter.start, name="counter").result(WAIT)

    def client(t):
        return [rt.call_sync(server if i % 2 else "counter", ("echo", (t, i))) for i in range(200)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert results == [[(t, i) for i in range(200)] for t in range(8)]
    assert rt.call_sync(server, "inc") == 1                 # echoes do not count


# -- submit -----------------------------------------------------------------------------


def test_submit_resolves_with_the_result_of_the_process(start):
    async def add(a, b, *, times=1):
        assert actors.lowlevel.in_process()
        return (a + b) * times

    rt = start()
    fut = rt.submit(add, 1, 2, times=3)
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.result(WAIT) == 9


def test_submit_fails_with_the_exception_the_process_raised(start):
    async def boom():
        raise ValueError("boom")

    rt = start()
    err = rt.submit(boom).exception(WAIT)
    assert type(err) is ValueError and str(err) == "boom"


def test_submit_of_a_killed_process_fails_with_its_exit_signal(start):
    """As actors.run: a process killed by an exit signal gives ProcessExit(reason)."""
    registered = threading.Event()

    async def victim():
        actors.register("victim")
        registered.set()
        await actors.receive("never sent")

    rt = start()
    fut = rt.submit(victim)
    assert registered.wait(WAIT)
    rt.submit(kill, "victim").result(WAIT)
    err = fut.exception(WAIT)
    assert type(err) is ProcessExit and err.reason == "killed"


def test_a_submit_cancelled_before_it_starts_never_runs(start):
    """Cancelling the future while the loop has not picked the work up yet
    prevents the process from starting."""
    gate = threading.Event()
    blocking = threading.Event()
    ran = []

    async def block_the_loop():
        blocking.set()
        gate.wait(WAIT)          # holds the loop's thread, on purpose

    async def job():
        ran.append("job")

    rt = start(long_step=None)
    blocker = rt.submit(block_the_loop)
    assert blocking.wait(WAIT)   # the loop is held: it cannot pick up what comes next
    fut = rt.submit(job)
    assert fut.cancel()
    gate.set()
    blocker.result(WAIT)
    assert rt.call_sync(rt.submit(Counter.start).result(WAIT), "inc") == 1
    assert fut.cancelled() and ran == []


# -- the loop's own thread ---------------------------------------------------------------


def test_blocking_calls_on_the_runtime_thread_raise_instead_of_deadlocking(start):
    """call_sync, waiting on a submit future and stop() from inside a process
    would block the loop that must do the work: RuntimeError, with advice.
    spawn and send work there."""
    rt = start()
    server = rt.submit(Counter.start).result(WAIT)

    async def child():
        pass

    async def inside():
        errors = []
        for attempt in (lambda: rt.call_sync(server, "inc"),
                        lambda: rt.submit(child).result(),
                        lambda: rt.stop()):
            try:
                attempt()
            except RuntimeError as exc:
                errors.append(str(exc))
        pid = rt.spawn(child)
        rt.send(actors.self(), "to myself")
        return errors, type(pid), await actors.receive(timeout=WAIT)

    errors, pid_type, msg = rt.submit(inside).result(WAIT)
    assert len(errors) == 3
    assert all("own thread" in e for e in errors)
    assert "await GenServer.call" in errors[0]
    assert pid_type is actors.Pid and msg == "to myself"
    assert rt.running


# -- stop --------------------------------------------------------------------------------


def test_stop_shuts_every_process_down_and_joins_the_thread(start):
    """stop() gives each process the "shutdown" exit signal as the runtime
    does on exit (a trapping GenServer runs terminate), then joins the thread."""
    log = []
    rt = start()
    rt.submit(Recorder.start, log, name="recorder").result(WAIT)
    rt.spawn(mailbox_keeper)
    assert rt.call_sync("recorder", "up") == "up"
    rt.stop()
    assert log == ["shutdown"]
    assert not rt.thread.is_alive() and not rt.running
    assert actors.lowlevel.current_scheduler() is None


def test_stop_is_idempotent_and_later_calls_raise_runtime_error(start):
    async def job():
        pass

    rt = start()
    server = rt.submit(Counter.start).result(WAIT)
    rt.stop()
    rt.stop()
    for attempt in (lambda: rt.spawn(job), lambda: rt.send(server, "x"),
                    lambda: rt.call_sync(server, "inc"), lambda: rt.submit(job)):
        with pytest.raises(RuntimeError, match="stopped"):
            attempt()


def test_a_call_waiting_when_the_runtime_stops_raises_runtime_error(start):
    """stop() does not leave a caller hanging: a call_sync that is still
    waiting for its reply raises RuntimeError."""
    rt = start()
    mute = rt.submit(Mute.start).result(WAIT)
    called = threading.Event()

    def caller():
        called.set()
        with pytest.raises(RuntimeError, match="stopping|stopped"):
            rt.call_sync(mute, "hello", timeout=None)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(caller)
        assert called.wait(WAIT)
        rt.stop()
        waiting.result(WAIT)


def test_a_submit_still_running_when_the_runtime_stops_raises_runtime_error(start):
    """As a waiting call_sync: the future of a process that the shutdown's
    exit signal ends fails with RuntimeError, caused by its ProcessExit.  A
    process that handles the signal and returns resolves with its result."""
    waiting_started, trapping_started = threading.Event(), threading.Event()

    async def waits_forever():
        waiting_started.set()
        await actors.receive("never sent")

    async def cleans_up():
        actors.Process.flag("trap_exit", True)
        trapping_started.set()
        exit_signal = await actors.receive(actors.Exit(None, actors.ANY))
        return ("cleaned up", exit_signal.reason)

    rt = start()
    waiting, trapping = rt.submit(waits_forever), rt.submit(cleans_up)
    assert waiting_started.wait(WAIT) and trapping_started.wait(WAIT)
    rt.stop()
    err = waiting.exception(WAIT)
    assert type(err) is RuntimeError and "stopping" in str(err) and "Runtime.submit" in str(err)
    assert type(err.__cause__) is ProcessExit and err.__cause__.reason == "shutdown"
    assert trapping.result(WAIT) == ("cleaned up", "shutdown")


def test_the_context_manager_stops_the_runtime_even_on_error(loop_name):
    log = []
    with actors.Runtime.start_thread(loop=loop_name) as rt:
        rt.submit(Recorder.start, log).result(WAIT)
    assert log == ["shutdown"] and not rt.thread.is_alive()

    with pytest.raises(KeyError):
        with actors.Runtime.start_thread(loop=loop_name) as rt:
            rt.submit(Recorder.start, log).result(WAIT)
            raise KeyError("in the block")
    assert log == ["shutdown", "shutdown"] and not rt.thread.is_alive()


def test_a_program_that_forgets_stop_still_exits_and_shuts_its_processes_down(loop_name):
    """The runtime's thread does not keep the interpreter alive, and at exit
    the runtime is stopped: terminate still runs."""
    proc = run_script(loop_name, """
        import actors

        class Server(actors.GenServer):
            def init(self):
                actors.Process.flag("trap_exit", True)
            def handle_call(self, request, from_):
                return request
            def terminate(self, reason):
                print("terminate", reason, flush=True)

        rt = actors.Runtime.start_thread(loop=LOOP)
        pid = rt.submit(Server.start).result(30)
        print(rt.call_sync(pid, "called"), flush=True)
    """, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["called", "terminate shutdown"]


def test_ctrl_c_in_call_sync_kills_the_call_process(loop_name):
    """A KeyboardInterrupt while call_sync waits reaches the caller, and the
    process making the call is killed (the server sees it go)."""
    proc = run_script(loop_name, """
        import signal, threading
        import actors

        class Server(actors.GenServer):
            def init(self):
                self.caller_down = None
                self.asking = None
            def handle_call(self, request, from_):
                if request == "hang":
                    actors.monitor(from_[0])
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                    return actors.NOREPLY
                if self.caller_down is None:
                    self.asking = from_
                    return actors.NOREPLY
                return self.caller_down
            def handle_info(self, msg):
                if isinstance(msg, actors.Down):
                    self.caller_down = msg.reason
                    if self.asking is not None:
                        actors.GenServer.reply(self.asking, msg.reason)

        with actors.Runtime.start_thread(loop=LOOP) as rt:
            pid = rt.submit(Server.start).result(30)
            try:
                rt.call_sync(pid, "hang", timeout=None)
            except KeyboardInterrupt:
                print("interrupted")
            print(rt.call_sync(pid, "caller down?", timeout=30))
    """, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["interrupted", "killed"]


def test_a_failed_runtime_thread_fails_its_callers_instead_of_hanging_them(start):
    """If the runtime's loop dies under it (here a process stops the loop), a
    call waiting on it raises RuntimeError, and so does every later call."""

    class LoopStopper(GenServer):
        def handle_call(self, request, from_):
            asyncio.get_running_loop().stop()
            return actors.NOREPLY

    rt = start()
    server = rt.submit(LoopStopper.start).result(WAIT)
    with pytest.raises(RuntimeError):
        rt.call_sync(server, "stop the loop", timeout=None)
    rt.thread.join(WAIT)
    assert not rt.thread.is_alive() and not rt.running
    with pytest.raises(RuntimeError, match="failed") as err:
        rt.call_sync(server, "again")
    assert isinstance(err.value.__cause__, RuntimeError)     # the loop's own error
    rt.stop()


# -- arguments ---------------------------------------------------------------------------


def _runtime_threads():
    return [t for t in threading.enumerate() if t.name == "actors-runtime"]


@pytest.mark.parametrize("options, error, match", [
    ({"loop": "tokio"}, ValueError, r"Runtime\.start_thread\(loop=\.\.\.\)"),
    ({"loop": 3}, TypeError, r"Runtime\.start_thread\(loop=\.\.\.\)"),
    ({"clock": 5}, TypeError, r"Runtime\.start_thread\(clock=\.\.\.\)"),
    ({"shutdown_timeout": -1}, ValueError, r"Runtime\.start_thread\(shutdown_timeout=\.\.\.\)"),
    ({"shutdown_timeout": "soon"}, TypeError, r"Runtime\.start_thread\(shutdown_timeout=\.\.\.\)"),
    ({"gc_threshold": 0}, ValueError, r"Runtime\.start_thread\(gc_threshold=\.\.\.\)"),
    ({"gc_threshold": "many"}, TypeError, r"Runtime\.start_thread\(gc_threshold=\.\.\.\)"),
    ({"asyncio_tasks": "no"}, TypeError, r"Runtime\.start_thread\(asyncio_tasks=\.\.\.\)"),
    ({"asyncio_tasks": 0}, TypeError, r"Runtime\.start_thread\(asyncio_tasks=\.\.\.\)"),
    ({"long_step": 0}, ValueError, r"Runtime\.start_thread\(long_step=\.\.\.\)"),
    ({"colour": "blue"}, TypeError, "colour"),
])
def test_bad_options_are_refused_before_the_thread_starts(options, error, match):
    """A bad option raises TypeError (wrong type) or ValueError (wrong
    value) naming ``Runtime.start_thread`` and the option; no thread starts."""
    before = _runtime_threads()
    with pytest.raises(error, match=match):
        actors.Runtime.start_thread(**options)
    assert _runtime_threads() == before


@pytest.mark.parametrize("options, error", [
    ({"asyncio_tasks": "no"}, TypeError), ({"asyncio_tasks": None}, TypeError),
    ({"clock": 5}, TypeError), ({"gc_threshold": True}, TypeError), ({"gc_threshold": -2}, ValueError),
])
def test_bad_options_of_runtime_name_runtime_and_the_option(options, error):
    [name] = options
    with pytest.raises(error, match=rf"^Runtime\({name}=\.\.\.\): {name} must"):
        actors.Runtime(**options)


def test_bad_arguments_to_the_methods_name_them(start):
    def not_async():
        pass

    rt = start()
    with pytest.raises(TypeError, match="server"):
        rt.call_sync(42, "hello")
    with pytest.raises(ValueError, match=r"^Runtime\.call_sync\(timeout=\.\.\.\): timeout must be >= 0"):
        rt.call_sync("x", "hello", timeout=-1)
    with pytest.raises(ValueError, match=r"^Runtime\.stop\(timeout=\.\.\.\): timeout must be >= 0"):
        rt.stop(timeout=-1)
    with pytest.raises(TypeError, match="Runtime.submit"):
        rt.submit(not_async)
    with pytest.raises(TypeError, match="Runtime.spawn"):
        rt.spawn(not_async)
    with pytest.raises(TypeError, match=r"^Runtime\.stop\(timeout=\.\.\.\): timeout must be"):
        rt.stop(timeout="later")
    with pytest.raises(TypeError, match="start_thread"):
        actors.runtime.ThreadRuntime()
    assert rt.running


def test_one_runtime_per_interpreter(start):
    """A second runtime cannot start while one runs: start_thread raises
    RuntimeError in the caller, and the first runtime carries on."""
    rt = start()
    with pytest.raises(RuntimeError, match="already running"):
        actors.Runtime.start_thread()
    assert len(_runtime_threads()) == 1
    assert rt.call_sync(rt.submit(Counter.start).result(WAIT), "inc") == 1


# -- supervision trees from outside any process ------------------------------------------


def test_a_supervision_tree_on_the_thread_runtime_restarts_a_crashed_child(start):
    """Supervisor.start from synchronous code (through submit): the supervisor
    outlives the process that started it, restarts a crashed child, and is
    shut down, children first, when the runtime stops."""
    log = []
    rt = start()
    children = [Supervisor.child_spec((Recorder, log), id="recorder"),
                Counter.child_spec(name="counter")]
    sup = rt.submit(Supervisor.start, children, strategy="one_for_one").result(WAIT)
    first = rt.call_sync("counter", "pid")
    with pytest.raises(CallExit):
        rt.call_sync("counter", "crash")
    which = rt.submit(Supervisor.which_children, sup).result(WAIT)
    restarted = {child.id: child.pid for child in which}[Counter]
    assert type(restarted) is actors.Pid and restarted != first
    assert rt.call_sync("counter", "pid") == restarted
    assert rt.call_sync("counter", "inc") == 1
    rt.stop()
    assert log == ["shutdown"]


def test_start_link_from_plain_asyncio_code_says_to_use_start(aio_run):
    async def main():
        async with actors.Runtime():
            with pytest.raises(RuntimeError, match=r"Supervisor.start\(") as err:
                await Supervisor.start_link([])
            assert "Runtime.run_in_process" not in str(err.value)

    aio_run(main)


def test_a_supervisor_started_from_plain_asyncio_code_runs_until_the_runtime_stops(aio_run):
    """Supervisor.start from plain asyncio code (inside `async with Runtime()`)
    gives a supervisor that stays alive after its start returns, restarts its
    children, and is shut down with them when the runtime stops."""
    log = []

    async def main():
        async with actors.Runtime() as rt:
            children = [Supervisor.child_spec((Recorder, log), id="recorder"),
                        Counter.child_spec(name="counter")]
            sup = await Supervisor.start(children, strategy="one_for_one", name="top")
            assert actors.whereis("top") == sup
            first = await rt.call("counter", "pid")
            with pytest.raises(CallExit):
                await rt.call("counter", "crash")
            which = {c.id: c.pid for c in await Supervisor.which_children(sup)}
            assert which[Counter] not in (first, None)
            assert await rt.call("counter", "inc") == 1
            assert actors.whereis("top") == sup
            # The other supervisors' unlinked starts work the same way.
            dyn = await actors.DynamicSupervisor.start(name="dyn")
            tasks = await actors.TaskSupervisor.start(name="tasks")
            assert actors.whereis("dyn") == dyn and actors.whereis("tasks") == tasks
            await rt.run_in_process(actors.DynamicSupervisor.start_child, "dyn", (Recorder, log))
            assert log == []
        assert log == ["shutdown", "shutdown"]

    aio_run(main)
