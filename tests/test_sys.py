"""actors.sys: Erlang's ``sys`` module for GenServers (issue 4, "Look inside a
running system"): get_state, replace_state, get_status, suspend/resume,
trace, statistics, change_code, and their errors and timeouts.

The state of a GenServer is its instance: ``get_state`` shows it as a dict of
attributes.  Tests that involve time run on ``MockClock(autojump=True)``.
"""
from __future__ import annotations

import datetime
import logging

import pytest

import actors
from actors import ANY, CallExit, Down, NoProcess, Process, Timeout
from actors import sys as asys
from actors.agent import Agent
from actors.gen_server import NOREPLY, GenServer, Reply


class Counter(GenServer):
    vsn = 1

    def init(self, n=0, log=None):
        self.n = n
        self.seen = []
        self.log = log               # a pid told about terminate

    def handle_call(self, request, from_):
        if request == "get":
            return self.n
        if request == "seen":
            return list(self.seen)
        if request == "whoami":
            return type(self).__name__
        if request == "later":
            return NOREPLY
        if request == "attrs":
            return sorted(vars(self))
        if request == "reply_obj":
            return Reply(("r", self.n))
        raise ValueError(request)

    def handle_cast(self, request):
        if request == "crash":
            raise RuntimeError("crash on purpose")
        self.n += request
        self.seen.append(request)

    def handle_info(self, msg):
        self.seen.append(("info", msg))

    def terminate(self, reason):
        if self.log is not None:
            actors.send(self.log, ("terminated", reason, self.n))


class AsyncCounter(Counter):
    async def handle_call(self, request, from_):
        await actors.sleep(0)
        return ("async", self.n)


class Blocker(GenServer):
    """Tells ``log`` "blocked" in handle_call, then blocks until it receives "go"."""

    def init(self, log):
        self.log = log

    async def handle_call(self, request, from_):
        actors.send(self.log, "blocked")
        await actors.receive("go")
        return "done"


async def expect(pattern, timeout=30.0):
    """The next message matching ``pattern``; Timeout (failing the test) if none comes."""
    return await actors.receive(pattern, timeout=timeout)


# -- get_state / replace_state ------------------------------------------------------------

def test_get_state_is_a_copy_of_the_attributes(run):
    """get_state returns the instance's attributes as a dict, without the framework's
    (pid, name, parent); it is a copy: changing it does not change the server."""
    async def main():
        pid = await Counter.start_link(5, name="counter")
        state = await asys.get_state(pid)
        assert state == {"n": 5, "seen": [], "log": None}
        state["n"] = 99
        assert await GenServer.call(pid, "get") == 5
        assert await asys.get_state("counter") == {"n": 5, "seen": [], "log": None}

    run(main)


def test_replace_state_runs_fn_inside_the_server(run):
    """replace_state(fn): fn(state) runs in the server process; its result becomes the
    attributes; the new state is returned (OTP's sys:replace_state)."""
    async def main():
        pid = await Counter.start_link(5)
        where = []

        def fn(state):
            where.append(actors.self())
            state["n"] = state["n"] * 10
            del state["seen"]
            state["extra"] = "new"
            return state

        assert await asys.replace_state(pid, fn) == {"n": 50, "log": None, "extra": "new"}
        assert where == [pid]
        assert await GenServer.call(pid, "get") == 50
        assert await asys.get_state(pid) == {"n": 50, "log": None, "extra": "new"}

        async def afn(state):
            await actors.sleep(0)
            return {**state, "n": 1}

        assert (await asys.replace_state(pid, afn))["n"] == 1      # fn may be async
        assert await GenServer.call(pid, "get") == 1

    run(main)


def test_replace_state_failure_keeps_the_state(run):
    """If fn raises (or returns no dict of str keys) the caller gets the error and the
    server keeps its state and keeps running (OTP: callback_failed)."""
    async def main():
        pid = await Counter.start_link(5)

        def boom(state):
            state["n"] = -1
            raise KeyError("boom")

        with pytest.raises(KeyError, match="boom"):
            await asys.replace_state(pid, boom)
        with pytest.raises(TypeError, match="fn must return a dict"):
            await asys.replace_state(pid, lambda s: [1, 2])
        with pytest.raises(TypeError, match="fn must return a dict"):
            await asys.replace_state(pid, lambda s: {1: "not a name"})
        with pytest.raises(ValueError, match="_pid"):
            await asys.replace_state(pid, lambda s: {"_pid": None})
        assert await asys.get_state(pid) == {"n": 5, "seen": [], "log": None}
        assert await GenServer.call(pid, "get") == 5

    run(main)


def test_replace_state_rejects_a_non_callable_before_sending(run):
    """Bad arguments raise TypeError/ValueError naming them, before anything is sent."""
    async def main():
        pid = await Counter.start_link(5)
        with pytest.raises(TypeError, match="fn must be callable"):
            await asys.replace_state(pid, {"n": 1})
        with pytest.raises(ValueError, match="timeout"):
            await asys.get_state(pid, timeout=-1)
        with pytest.raises(TypeError, match="timeout"):
            await asys.get_state(pid, timeout="soon")
        with pytest.raises(TypeError, match="server"):
            await asys.get_state(42)
        assert await GenServer.call(pid, "get") == 5

    run(main)


def test_get_state_of_an_agent(run):
    """Every GenServer speaks the system messages, Agent included."""
    async def main():
        agent = await Agent.start_link(lambda: {"k": 1})
        state = await asys.get_state(agent)
        assert {"k": 1} in state.values()
        status = await asys.get_status(agent)
        assert status["class"] is Agent and status["status"] == "running"

    run(main)


# -- get_status --------------------------------------------------------------------------

def test_get_status_describes_the_server(run):
    """get_status: pid, class, module, vsn, name, status, parent, state,
    message_queue_len, dictionary, trace and statistics flags."""
    async def main():
        me = actors.self()
        pid = await Counter.start_link(7, name="status_counter")
        status = await asys.get_status(pid)
        assert status == {
            "pid": pid, "class": Counter, "module": __name__, "vsn": 1,
            "name": "status_counter", "status": "running", "parent": me,
            "state": {"n": 7, "seen": [], "log": None}, "message_queue_len": 0,
            "dictionary": status["dictionary"], "trace": False, "statistics": False,
        }
        assert status["dictionary"]["$gen_server"] is Counter
        unlinked = await Counter.start()
        assert (await asys.get_status(unlinked))["parent"] is None

    run(main)


def test_format_status_changes_what_get_status_shows(run):
    """A class's format_status(status) returns the status shown (Elixir's format_status/1),
    e.g. to hide a secret."""
    class Secret(GenServer):
        def init(self):
            self.password = "hunter2"

        def format_status(self, status):
            status["state"] = {**status["state"], "password": "***"}
            return status

    async def main():
        pid = await Secret.start_link()
        assert (await asys.get_status(pid))["state"] == {"password": "***"}
        assert await asys.get_state(pid) == {"password": "hunter2"}

    run(main)


# -- suspend / resume -----------------------------------------------------------------------

def test_suspended_server_queues_ordinary_messages_in_order(run):
    """While suspended, a server handles only system messages: casts, infos and calls
    wait in its mailbox, in order, and are handled after resume; none is lost."""
    async def main():
        me = actors.self()
        pid = await Counter.start_link(0)
        await asys.suspend(pid)
        GenServer.cast(pid, 1)
        actors.send(pid, "hello")
        GenServer.cast(pid, 2)

        async def caller():
            actors.send(me, ("reply", await GenServer.call(pid, "seen")))

        actors.spawn(caller)
        # A system message is still answered, and shows nothing was handled yet.
        status = await asys.get_status(pid)
        assert status["status"] == "suspended"
        assert status["state"]["seen"] == []
        assert await asys.get_state(pid) == {"n": 0, "seen": [], "log": None}
        # The call has arrived too (the caller runs before this process resumes from
        # get_state's round trip), and waits.
        assert (await asys.get_status(pid))["message_queue_len"] == 4
        await asys.resume(pid)
        assert await expect(("reply", ANY)) == ("reply", [1, ("info", "hello"), 2])
        assert await GenServer.call(pid, "get") == 3
        assert (await asys.get_status(pid))["status"] == "running"

    run(main)


def test_suspend_and_resume_are_idempotent(run):
    """Suspending a suspended server and resuming a running one do nothing."""
    async def main():
        pid = await Counter.start_link(0)
        await asys.resume(pid)
        assert await GenServer.call(pid, "get") == 0
        await asys.suspend(pid)
        await asys.suspend(pid)
        assert (await asys.get_status(pid))["status"] == "suspended"
        GenServer.cast(pid, 5)
        await asys.resume(pid)
        assert await GenServer.call(pid, "get") == 5

    run(main)


def test_a_call_to_a_suspended_server_times_out(run, clock):
    """A call to a suspended server waits like any call: Timeout after its timeout;
    the server handles it after resume, and the late reply is dropped."""
    async def main():
        pid = await Counter.start_link(0)
        await asys.suspend(pid)
        with pytest.raises(Timeout):
            await GenServer.call(pid, "get", timeout=1.0)
        await asys.resume(pid)
        assert await GenServer.call(pid, "get") == 0
        assert actors.flush() == []

    run(main, clock=clock)


def test_stop_works_on_a_suspended_server(run):
    """GenServer.stop stops a suspended server, which runs terminate (in OTP, stop
    is itself a system message)."""
    async def main():
        me = actors.self()
        pid = await Counter.start_link(3, log=me)
        await asys.suspend(pid)
        GenServer.cast(pid, 1)                  # never handled
        await GenServer.stop(pid, "normal")
        assert await expect(("terminated", ANY, ANY)) == ("terminated", "normal", 3)
        assert not Process.alive(pid)

    run(main)


def test_a_suspended_server_obeys_its_parents_exit(run):
    """A suspended server that traps exits still stops when its parent exits, running
    terminate with the parent's reason (OTP's sys suspend loop handles the parent's EXIT)."""
    class Trapping(Counter):
        def init(self, log):
            super().init(0, log=log)
            Process.flag("trap_exit", True)

    async def main():
        me = actors.self()

        async def parent():
            pid = await Trapping.start_link(me)
            actors.send(me, ("server", pid))
            await actors.receive("exit now")
            raise actors.ProcessExit("shutdown")

        parent_pid = actors.spawn(parent)
        _, pid = await expect(("server", ANY))
        ref = actors.monitor(pid)
        await asys.suspend(pid)
        actors.send(parent_pid, "exit now")
        assert await expect(("terminated", ANY, ANY)) == ("terminated", "shutdown", 0)
        assert (await expect(Down(ref, ANY, ANY))).reason == "shutdown"

    run(main)


def test_a_suspended_server_is_killed_by_an_untrapped_signal(run):
    """Suspension does not protect against exit signals."""
    async def main():
        pid = await Counter.start()
        await asys.suspend(pid)
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        assert (await expect(Down(ref, ANY, ANY))).reason == "killed"

    run(main)


# -- trace ---------------------------------------------------------------------------------

def _events(caplog):
    """(pid, trace event, text) of each trace record; the records carry the
    runtime's log fields (pid as a string, event "trace")."""
    records = [r for r in caplog.records if r.name == "actors.sys"]
    assert all(r.event == "trace" and type(r.pid) is str for r in records)
    return [(r.pid, r.trace, r.getMessage()) for r in records]


def test_trace_logs_every_message_in_and_out(run, caplog):
    """trace(True) logs at INFO on "actors.sys", with the server's pid, every call,
    cast and info the server handles and every reply it sends (OTP's *DBG* lines);
    trace(False) stops it; the state never shows the tracing machinery."""
    caplog.set_level(logging.INFO, logger="actors.sys")

    async def main():
        me = actors.self()
        pid = await Counter.start_link(1)
        await asys.trace(pid, True)
        assert (await asys.get_status(pid))["trace"] is True
        assert await asys.get_state(pid) == {"n": 1, "seen": [], "log": None}
        assert "handle_call" in await GenServer.call(pid, "attrs")       # hooked while tracing
        caplog.clear()
        assert await GenServer.call(pid, "get") == 1
        GenServer.cast(pid, 2)
        actors.send(pid, "tick")
        assert await GenServer.call(pid, "reply_obj") == ("r", 3)
        events = _events(caplog)
        ref = events[0][1][3][1]
        assert events == [
            (repr(pid), ("in", "call", "get", (me, ref)), f"{pid!r} got call 'get' from {me!r}"),
            (repr(pid), ("out", 1, me), f"{pid!r} sent 1 to {me!r}"),
            (repr(pid), ("in", "cast", 2), f"{pid!r} got cast 2"),
            (repr(pid), ("in", "info", "tick"), f"{pid!r} got 'tick'"),
            (repr(pid), ("in", "call", "reply_obj", events[4][1][3]),
             f"{pid!r} got call 'reply_obj' from {me!r}"),
            (repr(pid), ("out", ("r", 3), me), f"{pid!r} sent ('r', 3) to {me!r}"),
        ]
        assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "actors.sys")
        caplog.clear()
        await asys.trace(pid, False)
        GenServer.cast(pid, 1)
        assert await GenServer.call(pid, "get") == 4
        assert _events(caplog) == []
        assert (await asys.get_status(pid))["trace"] is False
        assert "handle_call" not in await GenServer.call(pid, "attrs")   # the hooks are gone

    run(main)


def test_trace_of_async_handle_call_and_noreply(run, caplog):
    """An async handle_call's reply is logged once it is computed; NOREPLY sends no
    reply, so nothing is logged out."""
    caplog.set_level(logging.INFO, logger="actors.sys")

    async def main():
        me = actors.self()
        pid = await AsyncCounter.start_link(4)
        other = await Counter.start_link(0)
        await asys.trace(pid, True)
        await asys.trace(other, True)
        assert await GenServer.call(pid, "x") == ("async", 4)
        with pytest.raises(Timeout):
            await GenServer.call(other, "later", timeout=0)
        assert await GenServer.call(other, "get") == 0     # handled after "later"
        events = [e[1][:3] if e[1][0] == "in" else e[1] for e in _events(caplog)]
        assert events == [("in", "call", "x"), ("out", ("async", 4), me),
                          ("in", "call", "later"), ("in", "call", "get"), ("out", 0, me)]

    run(main)


def test_trace_rejects_a_non_bool(run):
    """trace's flag must be a bool: TypeError naming it."""
    async def main():
        pid = await Counter.start_link()
        with pytest.raises(TypeError, match="flag"):
            await asys.trace(pid, 1)

    run(main)


# -- statistics -----------------------------------------------------------------------------

def test_statistics_count_messages_in_and_out(run):
    """statistics(True) starts counting messages in (calls, casts, infos) and out
    (replies), reductions and start time; "get" reads them; False stops (None then)."""
    async def main():
        pid = await Counter.start_link()
        assert await asys.statistics(pid, "get") is None
        before = datetime.datetime.now().astimezone()
        assert await asys.statistics(pid, True) is None
        assert (await asys.get_status(pid))["statistics"] is True
        GenServer.cast(pid, 1)
        actors.send(pid, "info")
        assert await GenServer.call(pid, "get") == 1
        with pytest.raises(Timeout):
            await GenServer.call(pid, "later", timeout=0)     # in, but no reply out
        stats = await asys.statistics(pid, "get")
        assert stats["messages_in"] == 4
        assert stats["messages_out"] == 1
        assert isinstance(stats["reductions"], int) and stats["reductions"] > 0
        assert before <= stats["start_time"] <= stats["current_time"]
        assert stats["start_time"].tzinfo is not None
        assert await asys.statistics(pid, True) is None            # restart from zero
        assert (await asys.statistics(pid, "get"))["messages_in"] == 0
        assert await asys.statistics(pid, False) is None
        assert await asys.statistics(pid, "get") is None
        assert (await asys.get_status(pid))["statistics"] is False

    run(main)


def test_statistics_rejects_a_bad_flag(run):
    """statistics's flag must be True, False or "get": ValueError naming it."""
    async def main():
        pid = await Counter.start_link()
        with pytest.raises(ValueError, match="flag"):
            await asys.statistics(pid, "on")
        with pytest.raises(ValueError, match="flag"):
            await asys.statistics(pid, 1)

    run(main)


def test_trace_and_statistics_together(run, caplog):
    """Turning one debug option off keeps the other working."""
    caplog.set_level(logging.INFO, logger="actors.sys")

    async def main():
        pid = await Counter.start_link()
        await asys.trace(pid, True)
        await asys.statistics(pid, True)
        await asys.trace(pid, False)
        caplog.clear()
        GenServer.cast(pid, 1)
        assert await GenServer.call(pid, "get") == 1
        assert (await asys.statistics(pid, "get"))["messages_in"] == 2
        assert _events(caplog) == []

    run(main)


# -- change_code ---------------------------------------------------------------------------

class CounterV2(GenServer):
    vsn = 2

    def code_change(self, old_vsn, extra):
        if extra == "refuse":
            self.total = "half-done"
            raise RuntimeError(f"refused upgrade from {old_vsn}")
        self.total = self.n
        del self.n
        self.from_vsn = (old_vsn, extra)

    def handle_call(self, request, from_):
        return ("v2", self.total, self.from_vsn)

    def handle_cast(self, request):
        self.total += request


def test_change_code_moves_a_suspended_server_to_a_new_class(run):
    """change_code(server, cls, extra) runs cls.code_change(old_vsn, extra) inside the
    suspended server; after resume it runs cls's callbacks with the migrated state."""
    async def main():
        pid = await Counter.start_link(6)
        await asys.suspend(pid)
        GenServer.cast(pid, 1)                  # handled by the new code, after resume
        await asys.change_code(pid, CounterV2, "x")
        status = await asys.get_status(pid)
        assert status["class"] is CounterV2 and status["vsn"] == 2
        assert status["dictionary"]["$gen_server"] is CounterV2
        await asys.resume(pid)
        assert await GenServer.call(pid, "get") == ("v2", 7, (1, "x"))

    run(main)


def test_change_code_failure_restores_the_old_code_and_state(run):
    """A code_change that raises leaves the server on its old class with its old
    attributes; the caller gets the error; the server keeps running."""
    async def main():
        pid = await Counter.start_link(6)
        await asys.suspend(pid)
        with pytest.raises(RuntimeError, match="refused upgrade from 1"):
            await asys.change_code(pid, CounterV2, "refuse")
        assert (await asys.get_status(pid))["class"] is Counter
        assert await asys.get_state(pid) == {"n": 6, "seen": [], "log": None}
        await asys.resume(pid)
        assert await GenServer.call(pid, "whoami") == "Counter"

    run(main)


def test_change_code_needs_a_suspended_server_and_a_class(run):
    """change_code on a running server raises RuntimeError (OTP changes code only in
    suspended processes); cls must be a GenServer subclass (TypeError naming it)."""
    class BadReturn(Counter):
        def code_change(self, old_vsn, extra):
            return "ok"

    async def main():
        pid = await Counter.start_link(6)
        with pytest.raises(RuntimeError, match="suspend it first"):
            await asys.change_code(pid, CounterV2)
        with pytest.raises(TypeError, match="cls"):
            await asys.change_code(pid, int)
        await asys.suspend(pid)
        with pytest.raises(TypeError, match="return None"):
            await asys.change_code(pid, BadReturn)
        assert (await asys.get_status(pid))["class"] is Counter
        await asys.resume(pid)
        assert await GenServer.call(pid, "get") == 6

    run(main)


# -- errors ---------------------------------------------------------------------------------

def test_errors_no_process_and_calling_self(run):
    """A dead pid or an unheld name raises NoProcess; a process asking itself raises
    CallExit("calling_self")."""
    async def main():
        pid = await Counter.start()
        await GenServer.stop(pid)
        with pytest.raises(NoProcess):
            await asys.get_state(pid)
        with pytest.raises(NoProcess):
            await asys.suspend("nobody_has_this_name")
        with pytest.raises(CallExit) as info:
            await asys.get_state(actors.self())
        assert info.value.reason == "calling_self"

    run(main)


def test_server_exiting_before_answering_raises_call_exit(run):
    """A server that exits before it answers makes the request raise CallExit with its
    exit reason."""
    async def main():
        pid = await Counter.start()
        GenServer.cast(pid, "crash")            # handled before the system request
        with pytest.raises(CallExit) as info:
            await asys.get_state(pid)
        assert isinstance(info.value.reason, RuntimeError)

    run(main)


def test_an_answer_given_before_exiting_is_not_lost(run):
    """A server that answers and then exits: the caller gets the answer, not CallExit
    (the answer was sent before the exit, as with GenServer.call)."""
    async def main():
        pid = await Counter.start()
        ref = actors.monitor(pid)
        await asys.suspend(pid)
        GenServer.cast(pid, "crash")           # handled right after resume's answer
        assert await asys.resume(pid) is None
        assert isinstance((await expect(Down(ref, ANY, ANY))).reason, RuntimeError)
        assert actors.flush() == []

    run(main)


def test_timeout_drops_the_late_answer(run, clock):
    """A server that does not answer in time raises Timeout; its late answer is dropped,
    never delivered to the caller's mailbox (as GenServer.call promises)."""
    async def main():
        pid = await Blocker.start(actors.self())
        ref = actors.monitor(pid)

        async def blocked_caller():
            await GenServer.call(pid, "block", timeout=None)

        actors.spawn(blocked_caller)
        await expect("blocked")
        with pytest.raises(Timeout, match="get_state"):
            await asys.get_state(pid, timeout=1.0)
        actors.send(pid, "go")                  # now the server answers the system request
        await asys.get_state(pid)               # ... and this one, after it
        assert actors.flush() == []
        assert actors.demonitor(ref)

    run(main, clock=clock)


def test_works_from_plain_asyncio_code(aio_run):
    """Like GenServer.call, the sys functions work from asyncio code running a Runtime."""
    async def app():
        async with actors.Runtime():
            pid = await Counter.start(2)
            await asys.suspend(pid)
            GenServer.cast(pid, 1)
            assert await asys.get_state(pid) == {"n": 2, "seen": [], "log": None}
            await asys.resume(pid)
            assert await GenServer.call(pid, "get") == 3
        return "ok"

    assert aio_run(app) == "ok"


def test_unknown_system_request_is_an_error_not_a_crash(run):
    """A system request the server does not know is answered with an error; the server
    keeps running."""
    async def main():
        pid = await Counter.start_link(1)
        with pytest.raises(ValueError, match="unknown system request"):
            await asys._request(pid, ("make_coffee",), 5.0, "make_coffee")
        actors.send(pid, ("$system", "not a from", ("get_state",)))   # malformed: dropped
        assert await GenServer.call(pid, "get") == 1

    run(main)


def test_stop_reason_from_parent_survives_suspension(run):
    """Stop raised while suspended goes through terminate like any Stop."""
    class Stopper(Counter):
        def terminate(self, reason):
            actors.send(self.log, ("terminated", reason, self.n))

    async def main():
        me = actors.self()
        pid = await Stopper.start(0, log=me)
        await asys.suspend(pid)
        ref = actors.monitor(pid)
        await GenServer.stop(pid, ("shutdown", "bye"))
        assert await expect(("terminated", ANY, ANY)) == ("terminated", ("shutdown", "bye"), 0)
        assert (await expect(Down(ref, ANY, ANY))).reason == ("shutdown", "bye")

    run(main)

