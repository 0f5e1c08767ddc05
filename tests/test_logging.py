"""Logs a person can read and a machine can parse (docs/guides/logging.md).

Every record the runtime writes carries the structured fields of
``lowlevel.log_fields``: ``event``, then ``pid``, ``registered_name`` and
``initial_call`` of the process it is about, then the event's own fields, all
JSON-ready, so a JSON formatter picks them up.  A crash is reported once: by
the process where it happened (or, for ``main``, raised by ``actors.run``),
never again by the processes it takes down.  Supervisor restarts are logged
at INFO, giving up at ERROR.
"""
from __future__ import annotations

import inspect
import io
import json
import logging
import time
import traceback

import pytest
from pythonjsonlogger.json import JsonFormatter

import actors
from actors import ANY, GenServer, Stop, Supervisor, DynamicSupervisor, Task, TaskSupervisor
from actors import lowlevel
from helpers import run_script, wait_down

#: What the runtime adds to every record it writes.
PROCESS_FIELDS = ("event", "pid", "registered_name", "initial_call")

#: LogRecord's own attributes: what a JSON formatter leaves out of the extras.
STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """A JSON formatter in ten lines, as python-json-logger works: a few
    standard attributes plus every attribute a record got from ``extra``.
    No ``default=``: the runtime's fields must be JSON-ready as they are."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in STANDARD})
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out)


@pytest.fixture(autouse=True)
def default_report_limit():
    yield
    lowlevel.set_crash_report_limit()


@pytest.fixture
def records(caplog):
    """``records(level=INFO)``: the records of the "actors" loggers so far."""
    caplog.set_level(logging.DEBUG, logger="actors")

    def read(level=logging.INFO):
        return [r for r in caplog.records
                if r.name.partition(".")[0] == "actors" and r.levelno >= level]

    return read


def frames(record):
    """(file name, function) of each frame of the record's traceback."""
    return [(f.filename, f.name) for f in traceback.extract_tb(record.exc_info[2])]


def user_frame(record, function):
    """The record's traceback shows ``function`` of this test module."""
    return (__file__, function) in frames(record)


# -- processes used by the tests ---------------------------------------------------------


async def doomed(parent):
    actors.register("doomed")
    actors.send(parent, "registered")
    await actors.receive("go")
    raise KeyError("doomed-crash")


async def work():
    raise ValueError("task-crash")


async def crash_now(reason="boom"):
    raise RuntimeError(reason)


class Crashy(GenServer):
    def init(self, trap=False):
        actors.Process.flag("trap_exit", trap)

    def handle_call(self, request, from_):
        if request == "ping":
            return "pong"
        if request == "stop":
            raise Stop("stopped-on-purpose")
        raise LookupError("handle_call-crash")

    def terminate(self, reason):
        if actors.whereis("observer") is not None:
            actors.send("observer", ("terminated", actors.self(), reason))


async def worker_start():
    return actors.spawn_link(crash_now, "child-crash")


async def crash_on_go(state):
    """Crashes on "go" the first time it runs (``state`` remembers); restarted, waits."""
    if not state:
        state.append(actors.self())
        await actors.receive("go")
        raise RuntimeError("crash-on-go")
    await actors.receive()


async def crash_on_go_start(state):
    return actors.spawn_link(crash_on_go, state)


async def crash_and_wait(pid):
    """Make a ``crash_on_go`` process crash; return when it is gone."""
    ref = actors.monitor(pid)
    actors.send(pid, "go")
    await actors.receive(actors.Down(ref, pid, ANY))


async def stubborn(parent):
    """Catches its exit signal and waits again (what not to do)."""
    actors.send(parent, "ready")
    while True:
        try:
            await actors.receive()
        except BaseException:
            pass


class Tree(Supervisor):
    def init(self, children):
        return Supervisor.init(children, max_restarts=2, max_seconds=5.0)


# -- the fields --------------------------------------------------------------------------


def test_a_crash_report_carries_pid_name_initial_call_and_reason(run, records):
    """The crash report (ERROR on "actors.core") has the fields as record
    attributes: the pid as printed, the registered name, the initial call
    and the reason, with the traceback as exc_info."""
    async def main():
        pid = actors.spawn(doomed, actors.self())
        await actors.receive("registered")
        actors.send(pid, "go")
        await wait_down(pid)
        return pid

    pid = run(main)
    [report] = records(logging.ERROR)
    assert report.name == "actors.core" and report.levelno == logging.ERROR
    assert (report.event, report.pid, report.registered_name, report.initial_call, report.reason) == \
        ("crash", repr(pid), "doomed", f"{__name__}.doomed", "KeyError('doomed-crash')")
    assert user_frame(report, "doomed")


def test_initial_call_names_the_users_code_not_the_library_wrapper(run, records):
    """GenServers, tasks (Task.create, TaskSupervisor.create, Task.stream) and
    supervisors report the user's class or function as initial call."""
    async def main():
        actors.Process.flag("trap_exit", True)
        server = await Crashy.start()
        with pytest.raises(actors.CallExit):
            await GenServer.call(server, "crash")
        task = Task.create(work)
        with pytest.raises(actors.CallExit):
            await task
        tasks = await TaskSupervisor.start_link()
        supervised = await TaskSupervisor.create(tasks, work)
        with pytest.raises(actors.CallExit):
            await supervised
        streamed = [call async for call in Task.stream(own_initial_call, [1])]
        plain = await Supervisor.start_link([])
        module = await Tree.start_link([])
        return (streamed, actors.Process.info(plain)["initial_call"],
                actors.Process.info(module)["initial_call"], actors.Process.info(tasks)["initial_call"])

    streamed, plain, module, tasks = run(main)
    assert [r.initial_call for r in records(logging.ERROR)] == \
        [f"{__name__}.Crashy.init", f"{__name__}.work", f"{__name__}.work"]
    assert streamed == [f"{__name__}.own_initial_call"]
    assert plain == "actors.supervisor.Supervisor.init"
    assert module == f"{__name__}.Tree.init"
    assert tasks == "actors.dynamic_supervisor.DynamicSupervisor.init"


async def own_initial_call(_):
    return actors.Process.info(actors.self())["initial_call"]


def test_a_long_step_names_the_process_and_its_duration(run, records):
    """The long-step warning carries event "long_step", the process's fields,
    ``duration`` in seconds and ``pids``."""
    async def slow(parent):
        actors.register("slowpoke")
        # Woken by its timers, alone in its scheduler ticks: the step is
        # measured alone, so the record names it (not a batch of candidates).
        await actors.sleep(0.001)
        time.sleep(0.06)                 # the long step under test
        await actors.sleep(0.001)
        actors.send(parent, "done")
        await actors.receive()

    async def main():
        pid = actors.spawn(slow, actors.self())
        await actors.receive("done")
        actors.exit(pid, "kill")
        return pid

    pid = run(main, long_step=0.05)
    [warning] = [r for r in records(logging.WARNING) if repr(pid) in r.pids]
    assert (warning.name, warning.levelno, warning.event) == ("actors.core", logging.WARNING, "long_step")
    assert (warning.pid, warning.registered_name, warning.initial_call, warning.pids) == \
        (repr(pid), "slowpoke", f"{__name__}.{slow.__qualname__}", [repr(pid)])
    assert warning.duration >= 0.05
    # One sentence: who held the loop, how long, then where it went on waiting.
    assert warning.getMessage().startswith(
        f"Long step: process {pid!r} (registered name: slowpoke, initial call: ")
    assert ") held the event loop for " in warning.getMessage()
    assert " ms; it then waited at " in warning.getMessage()


def test_a_process_that_swallows_its_exit_is_named_with_the_reason(run, clock, records):
    async def main():
        pid = actors.spawn(stubborn, actors.self())
        await actors.receive("ready")
        ref = actors.monitor(pid)
        actors.exit(pid, "shutdown")
        assert (await actors.receive(actors.Down(ref, pid, ANY))).reason == "shutdown"
        return pid

    pid = run(main, clock=clock)
    [warning] = records(logging.WARNING)
    assert (warning.event, warning.pid, warning.initial_call, warning.reason) == \
        ("exit_ignored", repr(pid), f"{__name__}.stubborn", "shutdown")


def test_the_summary_of_dropped_reports_says_how_many(run, clock, records):
    """Beyond the burst limit, reports are dropped and one WARNING says how
    many (``dropped``), with the limit (``max_count``, ``window``)."""
    async def main():
        lowlevel.set_crash_report_limit(max_count=2, window=1.0)
        for _ in range(5):
            await wait_down(actors.spawn(crash_now))
        await actors.sleep(1.5)

    run(main, clock=clock)
    crashes = [r for r in records() if r.event == "crash"]
    [summary] = [r for r in records() if r.event == "reports_dropped"]
    assert len(crashes) == 2
    assert (summary.levelno, summary.pid, summary.dropped, summary.max_count, summary.window) == \
        (logging.WARNING, None, 3, 2, 1.0)


def test_gen_server_reports_name_the_server(run, records):
    """An unexpected message and a malformed request are logged with the
    server's fields and what it received."""
    async def main():
        server = await Crashy.start(name="crashy")
        actors.send(server, "surprise")
        assert await GenServer.call(server, "ping") == "pong"      # "surprise" was handled
        sup = await Supervisor.start_link([])
        assert (await GenServer.call(sup, ("no such request",)))[0] == "error"
        return server, sup

    server, sup = run(main)
    unexpected, bad = records(logging.WARNING)
    assert (unexpected.name, unexpected.event, unexpected.pid, unexpected.registered_name,
            unexpected.initial_call, unexpected.received) == \
        ("actors.gen_server", "unexpected_message", repr(server), "crashy",
         f"{__name__}.Crashy.init", "surprise")
    assert (bad.levelno, bad.event, bad.pid, bad.request) == \
        (logging.ERROR, "bad_request", repr(sup), "('no such request',)")


def test_log_fields_builds_the_extra_of_a_record(run):
    """``lowlevel.log_fields`` is the one place the fields are made: for
    libraries and users that log about a process themselves."""
    async def main():
        actors.register("me")
        me = actors.self()
        return me, lowlevel.log_fields(me, "my_event", when=1.5, peer=me, why=ValueError("x"),
                                       cls=Crashy, items=[me, "a"], ok=True, nothing=None)

    me, fields = run(main)
    assert fields == {"event": "my_event", "pid": repr(me), "registered_name": "me",
                      "initial_call": f"{__name__}.{main.__qualname__}", "when": 1.5, "peer": repr(me),
                      "why": "ValueError('x')", "cls": f"{__name__}.Crashy",
                      "items": [repr(me), "a"], "ok": True, "nothing": None}
    assert lowlevel.log_fields(None, "e") == {"event": "e", "pid": None, "registered_name": None,
                                              "initial_call": None}


@pytest.mark.parametrize("call, error, words", [
    (lambda: lowlevel.log_fields("<0.1.0>", "e"), TypeError, "pid must be a Pid"),
    (lambda: lowlevel.log_fields(None, 3), TypeError, "event must be a str"),
    (lambda: lowlevel.log_fields(None, "e", name="x"), ValueError, "'name' is taken"),
    (lambda: lowlevel.log_fields(None, "e", msg="x"), ValueError, "'msg' is taken"),
    (lambda: lowlevel.log_fields(None, "e", pid="x"), ValueError, "'pid' is taken"),
])
def test_log_fields_refuses_bad_arguments(call, error, words):
    """A field that would overwrite a LogRecord attribute (logging itself
    would raise KeyError at log time) is refused up front."""
    with pytest.raises(error, match=words):
        call()


def test_report_skips_disabled_levels_without_spending_the_burst_limit(run, caplog):
    """``lowlevel.report`` logs with the fields; a level nobody listens to
    costs nothing, not even a place in the crash-report budget."""
    caplog.set_level(logging.WARNING, logger="actors")
    logger = logging.getLogger("actors.test")

    async def main():
        lowlevel.set_crash_report_limit(max_count=1, window=60.0)
        me = actors.self()
        assert lowlevel.report(logger, logging.INFO, "quiet", me, "not logged") is False
        assert lowlevel.report(logger, logging.WARNING, "loud", me, "logged %d", 1, n=1) is True
        assert lowlevel.report(logger, logging.WARNING, "loud", me, "dropped") is False
        assert lowlevel.report(logger, logging.WARNING, "trace", me, "unlimited", limited=False)
        return me

    me = run(main)
    logged = [(r.getMessage(), r.event, r.pid) for r in caplog.records if r.name == "actors.test"]
    assert logged == [("logged 1", "loud", repr(me)), ("unlimited", "trace", repr(me))]


# -- where a record points ----------------------------------------------------------
# A record's pathname/filename/lineno/funcName are where a reader should look:
# for a crash, the line that raised in the user's code (the innermost frame
# outside the actors package); for a report about a process, where the process
# is; for a report made through a helper, the helper's caller.


def line_of(fn, text):
    """The line number of the first line of ``fn``'s source containing ``text``."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def boom():
    raise ValueError("boom")


async def calls_boom():
    boom()


async def calls_nobody():
    await GenServer.call("nobody", "hello")


def located(record):
    return (record.pathname, record.filename, record.module, record.funcName, record.lineno)


def test_a_crash_record_points_at_the_line_that_raised(run, records):
    async def main():
        await wait_down(actors.spawn(calls_boom))

    run(main)
    [report] = records()
    assert located(report) == \
        (__file__, "test_logging.py", "test_logging", "boom", line_of(boom, "raise ValueError"))


def test_a_crash_raised_inside_the_library_points_at_the_users_call(run, records):
    """``GenServer.call`` raises CallExit from inside actors: the record names
    the user's line that called it, not the library's."""
    async def main():
        await wait_down(actors.spawn(calls_nobody))

    run(main)
    [report] = records()
    assert (report.event, report.filename, report.funcName, report.lineno) == \
        ("crash", "test_logging.py", "calls_nobody", line_of(calls_nobody, "GenServer.call"))


def test_a_long_step_and_a_swallowed_exit_point_at_the_process(run, records):
    """Records about a process with no traceback name where it waits."""
    async def slow(parent):
        await actors.sleep(0.001)
        time.sleep(0.06)
        await actors.sleep(0.001)       # where the long step ended
        actors.send(parent, "done")
        await actors.receive()

    async def main():
        pid = actors.spawn(slow, actors.self())
        await actors.receive("done")
        actors.exit(pid, "kill")
        pid = actors.spawn(stubborn, actors.self())
        await actors.receive("ready")
        actors.exit(pid, "shutdown")
        await wait_down(pid)

    run(main, long_step=0.05)
    long_step = [r for r in records(logging.WARNING) if r.event == "long_step"][0]
    [ignored] = [r for r in records(logging.WARNING) if r.event == "exit_ignored"]
    assert (long_step.filename, long_step.funcName, long_step.lineno) == \
        ("test_logging.py", "slow", line_of(slow, "where the long step ended"))
    assert (ignored.filename, ignored.funcName, ignored.lineno) == \
        ("test_logging.py", "stubborn", line_of(stubborn, "await actors.receive()"))


def test_a_supervisor_record_names_the_supervisors_code_not_the_report_helper(run, records):
    async def main():
        sup = await Supervisor.start_link([{"id": "worker", "start": (crash_on_go_start, ([],))}])
        [child] = await Supervisor.which_children(sup)
        await crash_and_wait(child.pid)
        await Supervisor.which_children(sup)

    run(main)
    [restart] = [r for r in records() if r.event == "restart"]
    assert (restart.module, restart.funcName) == ("_supervision", "_restart")


def test_report_names_its_caller_or_with_stacklevel_the_helpers_caller(run, caplog):
    caplog.set_level(logging.INFO, logger="actors")
    logger = logging.getLogger("actors.test")

    def warn_for_caller(me):
        lowlevel.report(logger, logging.INFO, "helped", me, "through a helper", stacklevel=2)

    async def main():
        me = actors.self()
        lowlevel.report(logger, logging.INFO, "direct", me, "direct")
        warn_for_caller(me)

    run(main)
    direct, helped = [r for r in caplog.records if r.name == "actors.test"]
    assert (direct.funcName, direct.lineno) == ("main", line_of(test_report_names_its_caller_or_with_stacklevel_the_helpers_caller, '"direct", me'))
    assert (helped.funcName, helped.lineno) == ("main", line_of(test_report_names_its_caller_or_with_stacklevel_the_helpers_caller, "warn_for_caller(me)\n"))


# -- JSON ----------------------------------------------------------------------------


async def busy_day():
    """A bit of everything the runtime logs."""
    actors.Process.flag("trap_exit", True)
    await wait_down(actors.spawn(crash_now))
    server = await Crashy.start(name="crashy")
    actors.send(server, "surprise")
    sup = await Supervisor.start_link([{"id": "worker", "start": (worker_start, ())}],
                                      max_restarts=1, name="top")
    await actors.receive(actors.Exit(sup, ANY))
    await Crashy.stop(server)


def test_every_record_is_json_with_the_fields(run, clock, records):
    """Formatted by a minimal JSON formatter without a fallback encoder,
    every record parses back with the runtime's fields as keys."""
    run(busy_day, clock=clock)
    logged = records(logging.DEBUG)
    events = [r.event for r in logged]
    assert {"crash", "unexpected_message", "restart", "max_restart_intensity"} <= set(events)
    formatter = JsonLines()
    for record in logged:
        data = json.loads(formatter.format(record))
        assert set(PROCESS_FIELDS) <= set(data), data
        assert data["event"] == record.event


def test_python_json_logger_picks_the_fields_up(run, clock):
    """With python-json-logger's formatter, a crash report and a restart come
    out as JSON objects carrying the fields."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{"))
    logger = logging.getLogger("actors")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        run(busy_day, clock=clock)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    crash = next(line for line in lines if line["event"] == "crash")
    restart = next(line for line in lines if line["event"] == "restart")
    assert crash["levelname"] == "ERROR" and crash["initial_call"] == f"{__name__}.crash_now"
    assert crash["reason"] == "RuntimeError('boom')" and "Traceback" in crash["exc_info"]
    assert restart["levelname"] == "INFO" and restart["registered_name"] == "top"
    assert (restart["child_id"], restart["reason"], restart["restart_count"]) == \
        ("worker", "RuntimeError('child-crash')", 1)


# -- a crash is reported once ------------------------------------------------------------


def test_a_plain_process_crash_is_one_report_with_the_users_frames(run, records):
    async def main():
        await wait_down(actors.spawn(crash_now, "once"))

    run(main)
    [report] = records()
    assert report.event == "crash" and user_frame(report, "crash_now")


def test_a_gen_server_callback_crash_is_one_report(run, records):
    """The server's crash is reported once, with the callback's frame; the
    caller that gets CallExit and handles it adds nothing."""
    async def main():
        server = await Crashy.start()
        with pytest.raises(actors.CallExit):
            await GenServer.call(server, "crash")

    run(main)
    [report] = records()
    assert (report.event, report.reason) == ("crash", "LookupError('handle_call-crash')")
    assert user_frame(report, "handle_call")


def test_a_gen_server_stop_report_shows_where_stop_was_raised(run, records):
    """``raise Stop(reason)`` with an abnormal reason is reported once, and
    the traceback reaches the callback that raised it."""
    async def main():
        server = await Crashy.start()
        with pytest.raises(actors.CallExit):
            await GenServer.call(server, "stop")

    run(main)
    [report] = records()
    assert (report.event, report.reason) == ("crash", "stopped-on-purpose")
    assert user_frame(report, "handle_call")


def test_a_task_crash_is_reported_by_the_task_only(run, records):
    """A linked task's crash kills its caller by a signal: one report (the
    task's).  A trapping caller that handles CallExit adds nothing either."""
    async def killed_caller(parent):
        await Task.create(work)

    async def main():
        caller = actors.spawn(killed_caller, actors.self())
        assert isinstance(await wait_down(caller), ValueError)
        actors.Process.flag("trap_exit", True)
        with pytest.raises(actors.CallExit):
            await Task.create(work)

    run(main)
    reports = records()
    assert [r.initial_call for r in reports] == [f"{__name__}.work"] * 2
    assert all(user_frame(r, "work") for r in reports)


def test_a_supervised_crash_is_one_report_and_one_restart(run, records):
    async def main():
        sup = await Supervisor.start_link([{"id": "worker", "start": (crash_on_go_start, ([],))}])
        [child] = await Supervisor.which_children(sup)
        await crash_and_wait(child.pid)
        await Supervisor.which_children(sup)            # the restart is done
        return sup, child.pid

    sup, pid = run(main)
    crash, restart = records()
    assert (crash.event, crash.pid) == ("crash", repr(pid))
    assert (restart.event, restart.levelno, restart.pid, restart.child_pid) == \
        ("restart", logging.INFO, repr(sup), repr(pid))


def test_mains_crash_is_raised_by_run_and_not_logged(run, records):
    """``actors.run`` raises main's exception to its caller: that is the one
    report of it (as asyncio.run does), not a log record as well."""
    async def main():
        raise ZeroDivisionError("main-crash")

    with pytest.raises(ZeroDivisionError, match="main-crash") as info:
        run(main)
    assert records() == []
    assert any(f.name == "main" for f in traceback.extract_tb(info.value.__traceback__))


def test_servers_taken_down_by_a_crash_do_not_report_it_again(run, records):
    """A crash that takes down trapping servers (a supervisor, a task
    supervisor, a trapping GenServer linked to the crasher) is reported by the
    process where it happened only: the servers run terminate and exit with
    its reason, without a second report with an internal-only traceback."""
    async def parent(observer):
        await Crashy.start_link(True)
        sup = await Supervisor.start_link([Crashy.child_spec(True)])
        tasks = await TaskSupervisor.start_link()
        actors.send(observer, ("started", [sup, tasks]))
        await actors.receive("go")
        raise RuntimeError("parent-crash")

    async def main():
        actors.register("observer")
        pid = actors.spawn(parent, actors.self())
        _, servers = await actors.receive(("started", ANY))
        refs = [actors.monitor(s) for s in servers]
        actors.send(pid, "go")
        terminated = [await actors.receive(("terminated", ANY, ANY)) for _ in range(2)]
        downs = [await actors.receive(actors.Down(ref, ANY, ANY)) for ref in refs]
        return pid, terminated, downs

    pid, terminated, downs = run(main)
    [report] = records()
    assert (report.event, report.pid) == ("crash", repr(pid))
    assert {type(reason) for _, _, reason in terminated} == {RuntimeError, str}   # "shutdown" from sup
    assert all(isinstance(down.reason, RuntimeError) for down in downs)


def test_a_program_whose_main_crashes_prints_one_traceback(loop_name):
    """The user-visible promise, on stderr: main starts a supervision tree
    and crashes; the program prints the crash once, with main's frame."""
    result = run_script(loop_name, """
        import logging
        import actors

        class Server(actors.GenServer):
            pass

        async def main():
            await actors.Supervisor.start_link([Server])
            await actors.TaskSupervisor.start_link()
            raise ValueError("the one crash")

        logging.basicConfig()
        actors.run(main, loop=LOOP)
    """)
    assert result.returncode == 1
    assert result.stderr.count("Traceback (most recent call last)") == 1, result.stderr
    assert "in main\n" in result.stderr and "ValueError: the one crash" in result.stderr


def test_a_crash_that_kills_main_is_logged_once_and_run_says_why_it_raises(loop_name):
    """A task's crash that kills main by a signal is logged once (by the
    task); actors.run then raises ProcessExit with a note that says so."""
    result = run_script(loop_name, """
        import logging
        import actors

        async def work():
            raise ValueError("task crash")

        async def main():
            await actors.Task.create(work)

        logging.basicConfig()
        actors.run(main, loop=LOOP)
    """)
    assert result.stderr.count("ValueError: task crash") == 1, result.stderr
    assert "main (<0.1.0>) was killed by an exit signal" in result.stderr


# -- supervisors ---------------------------------------------------------------------------


def test_restarts_are_info_and_giving_up_is_an_error(run, clock, records):
    """Each restart: INFO on "actors.supervisor" with the supervisor's fields,
    the child's id and exited pid, the reason and the restart count.  One
    restart beyond the intensity: ERROR "max_restart_intensity"."""
    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Tree.start_link([{"id": "worker", "start": (worker_start, ())}], name="tree")
        await actors.receive(actors.Exit(sup, ANY))
        return sup

    sup = run(main, clock=clock)
    supervisor = [r for r in records() if r.name == "actors.supervisor"]
    crashes = [r for r in records() if r.event == "crash"]
    assert [(r.levelname, r.event) for r in supervisor] == \
        [("INFO", "restart"), ("INFO", "restart"), ("ERROR", "max_restart_intensity")]
    for record, crash in zip(supervisor, crashes):
        assert (record.pid, record.registered_name, record.initial_call) == \
            (repr(sup), "tree", f"{__name__}.Tree.init")
        assert (record.child_id, record.child_pid, record.reason) == \
            ("worker", crash.pid, "RuntimeError('child-crash')")
    assert [r.restart_count for r in supervisor] == [1, 2, 2]
    assert (supervisor[-1].max_restarts, supervisor[-1].max_seconds) == (2, 5.0)


class Conn(GenServer):
    def handle_call(self, request, from_):
        raise ConnectionResetError("gone")


def test_a_restart_message_names_a_class_child_as_its_child_id_field_does(run, records):
    """A child whose id is its class reads ``module.Class`` in the message,
    as in the ``child_id`` field, not ``<class '...'>``."""
    async def main():
        sup = await Supervisor.start_link([Conn.child_spec()])
        [child] = await Supervisor.which_children(sup)
        with pytest.raises(actors.CallExit):
            await GenServer.call(child.pid, "query")
        await Supervisor.which_children(sup)
        return child.pid

    pid = run(main)
    [restart] = [r for r in records() if r.event == "restart"]
    assert restart.child_id == f"{__name__}.Conn"
    assert f"child {__name__}.Conn ({pid!r}) exited with reason" in restart.getMessage()
    assert "<class" not in restart.getMessage()


def test_a_long_step_that_exits_reads_as_one_sentence(run, records):
    async def exits_slowly(parent):
        await actors.sleep(0.001)
        # Told by a timer, not a monitor: the parent runs in a later tick, so
        # the long step is measured alone and the record names it.
        actors.send_after(parent, "done", 0.001)
        time.sleep(0.06)

    async def main():
        actors.spawn(exits_slowly, actors.self())
        await actors.receive("done")

    run(main, long_step=0.05)
    [warning] = [r for r in records(logging.WARNING) if r.event == "long_step"]
    text = warning.getMessage()
    assert " held the event loop for " in text and " ms; it then exited. Every other process" in text


def test_dynamic_and_task_supervisors_log_restarts_by_child_pid(run, records):
    """Under a DynamicSupervisor (and so a TaskSupervisor) a child is known
    by its pid: ``child_id`` is the pid that exited."""
    async def main():
        dyn = await DynamicSupervisor.start_link()
        first = await DynamicSupervisor.start_child(dyn, {"id": "w", "start": (crash_on_go_start, ([],))})
        tasks = await TaskSupervisor.start_link()
        task = await TaskSupervisor.start_child(tasks, crash_on_go, [], restart="transient")
        for pid in (first, task):
            await crash_and_wait(pid)
        await DynamicSupervisor.which_children(dyn)
        await TaskSupervisor.children(tasks)
        return (dyn, first), (tasks, task)

    (dyn, first), (tasks, task) = run(main)
    restarts = [(r.pid, r.child_id, r.child_pid, r.restart_count)
                for r in records() if r.event == "restart"]
    assert (repr(dyn), repr(first), repr(first), 1) in restarts
    assert (repr(tasks), repr(task), repr(task), 1) in restarts


def test_failed_starts_and_retries_are_reported(run, clock, records):
    """A child that fails to start at boot: ERROR "child_start_failed"; a
    restart that fails: ERROR "restart_failed", then INFO "restart" for the
    retry (its reason is why the failed restart failed)."""
    attempts = []

    async def flaky_start():
        attempts.append(1)
        if len(attempts) == 2:
            raise RuntimeError("second start fails")
        return actors.spawn_link(crash_now, "flaky")

    async def failing_start():
        raise RuntimeError("never starts")

    async def main():
        actors.Process.flag("trap_exit", True)
        with pytest.raises(actors.StartError):
            await Supervisor.start_link([{"id": "broken", "start": (failing_start, ())}])
        sup = await Supervisor.start_link([{"id": "flaky", "start": (flaky_start, ())}],
                                          max_restarts=2)
        await actors.receive(actors.Exit(sup, ANY))

    run(main, clock=clock)
    logged = [(r.event, r.levelname, getattr(r, "child_id", None), getattr(r, "reason", None))
              for r in records() if r.name == "actors.supervisor"]
    assert logged == [
        ("child_start_failed", "ERROR", "broken", "RuntimeError('never starts')"),
        ("restart", "INFO", "flaky", "RuntimeError('flaky')"),
        ("restart_failed", "ERROR", "flaky", "RuntimeError('second start fails')"),
        ("restart", "INFO", "flaky", "RuntimeError('second start fails')"),
        ("max_restart_intensity", "ERROR", "flaky", "RuntimeError('flaky')"),
    ]


def test_restart_records_share_the_burst_limit(run, clock, records):
    """A crash storm under a supervisor: crash reports and restart records
    together stay within the burst limit, and the summary counts the rest."""
    async def main():
        lowlevel.set_crash_report_limit(max_count=4, window=1.0)
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([{"id": "worker", "start": (worker_start, ())}],
                                          max_restarts=10)
        await actors.receive(actors.Exit(sup, ANY))
        await actors.sleep(2)

    run(main, clock=clock)
    logged = records()
    [summary] = [r for r in logged if r.event == "reports_dropped"]
    assert len(logged) - 1 == 4
    assert summary.dropped == 11 + 10 + 1 - 4     # crashes + restarts + giving up, minus logged


def test_a_runtime_thread_that_fails_is_one_critical_record(caplog):
    """The one record of a ``Runtime.start_thread`` runtime whose loop fails
    (simulated: its wake-up future fails) carries the fields too."""
    caplog.set_level(logging.DEBUG, logger="actors")
    rt = actors.Runtime.start_thread()
    rt._loop.call_soon_threadsafe(rt._wake.set_exception, RuntimeError("the loop broke"))
    rt._thread.join(30)
    [record] = [r for r in caplog.records if r.name.partition(".")[0] == "actors"]
    assert (record.name, record.levelno, record.event, record.pid, record.runtime_thread) == \
        ("actors.runtime", logging.CRITICAL, "runtime_failed", None, rt._thread.name)
    assert "the loop broke" in str(record.exc_info[1])
    json.loads(JsonLines().format(record))
