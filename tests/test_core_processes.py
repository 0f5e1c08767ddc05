"""Processes and messages: spawn, self, send, message order, bad input,
crash isolation and crash reports (docs/api.md "Processes and messages",
core-decisions.md)."""
from __future__ import annotations

import logging
import re

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, wait_down, wait_forever


# -- spawn and self ------------------------------------------------------------


def test_spawn_runs_the_function_with_args_and_kwargs(run):
    """spawn(fn, *args, **kwargs) starts fn(*args, **kwargs) as a new process."""

    async def child(parent, a, b, *, c):
        actors.send(parent, ("args", a, b, c))

    async def main():
        actors.spawn(child, actors.self(), 1, "two", c=[3])
        return await actors.receive(("args", ANY, ANY, ANY))

    assert run(main) == ("args", 1, "two", [3])


def test_spawn_returns_at_once_before_the_child_runs(run):
    """spawn only queues the new process: the parent keeps running first."""
    log = []

    async def child(parent):
        log.append("child")
        actors.send(parent, "done")

    async def main():
        actors.spawn(child, actors.self())
        log.append("parent")
        await actors.receive("done")
        return log

    assert run(main) == ["parent", "child"]


def test_self_in_a_child_is_the_pid_spawn_returned(run):
    """self() is the calling process's own pid, the one its spawner got."""

    async def child(parent):
        actors.send(parent, ("me", actors.self()))

    async def main():
        pid = actors.spawn(child, actors.self())
        (_, reported) = await actors.receive(("me", ANY))
        assert reported == pid
        assert reported != actors.self()

    run(main)


def test_spawn_accepts_a_bound_async_method(run):
    """A bound async method is an async function too."""

    class Greeter:
        def __init__(self, word):
            self.word = word

        async def greet(self, parent):
            actors.send(parent, self.word)

    async def main():
        actors.spawn(Greeter("hello").greet, actors.self())
        return await actors.receive(str)

    assert run(main) == "hello"


def test_pids_are_hashable_unique_and_print_like_erlang(run):
    """Pids are hashable, equal only to themselves, printed like <0.42.0>."""

    async def main():
        a = actors.spawn(wait_forever)
        b = actors.spawn(wait_forever)
        me = actors.self()
        assert len({a, b, me}) == 3
        assert a == a and a != b and a != me
        assert {a: 1}[a] == 1
        for pid in (a, b, me):
            assert re.fullmatch(r"<\d+\.\d+\.\d+>", str(pid)), str(pid)
            assert re.search(r"<\d+\.\d+\.\d+>", repr(pid)), repr(pid)
        assert str(a) != str(b)

    run(main)


def test_pids_cannot_be_constructed_by_users(run):
    """Only the runtime makes pids: the Pid type's constructor raises TypeError."""

    async def main():
        with pytest.raises(TypeError):
            type(actors.self())()

    run(main)


def test_self_outside_a_process_raises_runtime_error():
    """self() outside a process raises RuntimeError."""
    with pytest.raises(RuntimeError):
        actors.self()


# -- send and message order ----------------------------------------------------


def test_send_returns_the_message(run):
    """send(dest, msg) returns msg (like Erlang's `!`)."""

    async def main():
        msg = ("hello", [1, 2])
        assert actors.send(actors.self(), msg) is msg
        assert await actors.receive() is msg

    run(main)


def test_messages_between_two_processes_arrive_in_the_order_sent(run):
    """Messages from one process to another arrive in the order sent."""

    async def sender(dest, n):
        for i in range(n):
            actors.send(dest, i)

    async def main():
        actors.spawn(sender, actors.self(), 500)
        return [await actors.receive() for _ in range(500)]

    assert run(main) == list(range(500))


def test_order_is_kept_per_sender_when_senders_interleave(run):
    """Per-pair order holds for each sender even when several send at once."""

    async def sender(dest, tag, n):
        for i in range(n):
            actors.send(dest, (tag, i))
            if i % 7 == 0:
                actors.send(actors.self(), "tick")
                await actors.receive("tick")

    async def main():
        me = actors.self()
        for tag in "abc":
            actors.spawn(sender, me, tag, 200)
        got = [await actors.receive((str, int)) for _ in range(600)]
        for tag in "abc":
            assert [i for t, i in got if t == tag] == list(range(200))

    run(main)


def test_send_to_a_dead_pid_is_silently_dropped(run):
    """Sending to a dead pid neither raises nor delivers anything."""

    async def quick():
        return None

    async def main():
        pid = actors.spawn(quick)
        assert await wait_down(pid) == "normal"
        assert actors.send(pid, "into the void") == "into the void"
        assert actors.Process.alive(pid) is False

    run(main)


def test_send_to_an_unregistered_name_raises_noprocess(run):
    """Sending to a name nobody holds raises NoProcess (also a LookupError)."""

    async def main():
        with pytest.raises(actors.NoProcess):
            actors.send("nobody_has_this_name", "hi")
        with pytest.raises(LookupError):
            actors.send("nobody_has_this_name", "hi")
        assert actors.flush() == []

    run(main)


@pytest.mark.parametrize("dest", [42, None, 3.5, b"bytes", ["list"]])
def test_send_to_a_non_pid_destination_raises_type_error(run, dest):
    """A destination that is not a Pid, a name or via(...) is a TypeError naming `dest`."""

    async def main():
        with pytest.raises(TypeError, match="dest"):
            actors.send(dest, "msg")
        assert actors.flush() == []

    run(main)


# -- bad input to spawn: TypeError, and nothing half-done -------------------------


def _plain(x=None):
    return x


class _CallableObject:
    def __call__(self):
        return None


@pytest.mark.parametrize(
    "fn",
    [_plain, lambda: None, _CallableObject(), 42, None, "fn_name", print],
    ids=["def", "lambda", "callable-object", "int", "None", "str", "builtin"],
)
def test_spawn_of_a_non_async_function_raises_type_error_and_starts_nothing(run, fn):
    """spawn(fn) with a non-async fn raises TypeError naming `fn`; no process is left behind."""

    async def main():
        before = set(actors.Process.list())
        with pytest.raises(TypeError, match="fn"):
            actors.spawn(fn)
        with pytest.raises(TypeError, match="fn"):
            actors.spawn_link(fn)
        with pytest.raises(TypeError, match="fn"):
            actors.spawn_monitor(fn)
        assert set(actors.Process.list()) == before
        info = actors.Process.info(actors.self())
        assert info["links"] == []
        assert info["monitors"] == []
        assert actors.flush() == []

    run(main)


def test_spawn_of_a_coroutine_object_raises_type_error(run):
    """A coroutine object is not an async function: TypeError, nothing started."""

    async def worker():
        return None

    async def main():
        before = set(actors.Process.list())
        coro = worker()
        try:
            with pytest.raises(TypeError, match="fn"):
                actors.spawn(coro)
        finally:
            coro.close()
        assert set(actors.Process.list()) == before

    run(main)


# -- exit reasons and crash isolation -------------------------------------------


def test_returning_ends_a_process_with_reason_normal(run):
    """A process whose function returns exits with reason "normal"."""

    async def worker():
        return 42

    async def main():
        pid, ref = actors.spawn_monitor(worker)
        return await actors.receive((ref, ANY, ANY))

    down = run(main)
    assert down.reason == "normal"


def test_raising_ends_a_process_with_the_exception_instance_as_reason(run):
    """A process that raises exits with the exception instance as its reason."""

    async def crasher(exc):
        raise exc

    async def main():
        exc = ValueError("boom")
        pid, ref = actors.spawn_monitor(crasher, exc)
        down = await actors.receive((ref, ANY, ANY))
        assert down.pid == pid
        assert down.reason is exc

    run(main)


def test_a_crash_does_not_affect_unlinked_processes(run):
    """Crash isolation: a crashing process takes down nobody it is not linked to."""

    async def crasher():
        raise RuntimeError("crash")

    async def main():
        server = actors.spawn(echo)
        reasons = []
        for _ in range(5):
            pid, ref = actors.spawn_monitor(crasher)
            down = await actors.receive((ref, ANY, ANY))
            reasons.append(type(down.reason))
        assert reasons == [RuntimeError] * 5
        assert actors.Process.alive(server)
        assert await roundtrip(server, "still here") == ("echo", "still here")
        return "main survived"

    assert run(main) == "main survived"


def test_crashes_kills_and_foreign_awaits_lose_no_other_messages(run):
    """A process that raises, is killed or awaits something foreign never
    breaks the scheduler or loses another process's messages."""

    class Foreign:
        def __await__(self):
            yield 12345

    async def crasher(collector, i):
        actors.send(collector, ("before crash", i))
        raise ValueError(i)

    async def foreign(collector, i):
        actors.send(collector, ("before foreign", i))
        await Foreign()

    async def collector(parent, n):
        got = [await actors.receive() for _ in range(n)]
        actors.send(parent, ("collected", got))

    async def main():
        n_rounds = 20
        coll = actors.spawn(collector, actors.self(), 4 * n_rounds)
        expected = []
        for i in range(n_rounds):
            victim = actors.spawn(wait_forever)
            pids = [
                actors.spawn(crasher, coll, i),
                actors.spawn(foreign, coll, i),
                victim,
            ]
            actors.exit(victim, "kill")
            actors.send(coll, ("direct", i))
            actors.send(coll, ("direct2", i))
            for pid in pids:
                await wait_down(pid)
            expected += [("direct", i), ("direct2", i), ("before crash", i), ("before foreign", i)]
        (_, got) = await actors.receive(("collected", ANY))
        assert sorted(got, key=repr) == sorted(expected, key=repr)
        # per-pair order: main's own messages arrive in the order main sent them
        assert [m for m in got if m[0].startswith("direct")] == [
            m for m in expected if m[0].startswith("direct")
        ]

    run(main)


# -- fairness and signal priority ------------------------------------------------


async def _busy():
    """Never blocks: every receive could return at once."""
    me = actors.self()
    while True:
        actors.send(me, "spin")
        await actors.receive()


@pytest.mark.timeout(30)
def test_a_busy_process_cannot_starve_the_others(run):
    """A process that only does non-blocking receives is preempted, so other
    processes still get to run and reply."""

    async def main():
        busy = [actors.spawn(_busy), actors.spawn(_busy)]
        server = actors.spawn(echo)
        for i in range(20):
            assert await roundtrip(server, i) == ("echo", i)
        reductions = actors.Process.info(busy[0], "reductions")
        assert reductions > 0
        for pid in busy:
            ref = actors.monitor(pid)
            actors.exit(pid, "kill")
            assert (await actors.receive((ref, ANY, ANY))).reason == "killed"
        return "not starved"

    assert run(main) == "not starved"


@pytest.mark.parametrize("reason", ["boom", "kill"])
def test_exit_signals_overtake_queued_messages(run, reason):
    """An exit signal takes effect before the target handles messages queued
    ahead of it: the victim dies without processing any of them."""

    async def victim(parent):
        actors.send(parent, "ready")
        while True:
            msg = await actors.receive()
            actors.send(parent, ("handled", msg))

    async def main():
        pid, ref = actors.spawn_monitor(victim, actors.self())
        await actors.receive("ready")
        for i in range(1000):
            actors.send(pid, i)
        actors.exit(pid, reason)
        down = await actors.receive((ref, ANY, ANY))
        assert down.reason == ("killed" if reason == "kill" else reason)
        assert actors.flush() == []

    run(main)


def test_a_polling_receive_loop_lets_other_processes_run(run):
    """Fairness (reductions, as on the BEAM): a process polling with
    `receive(timeout=0)` in a loop is preempted, so the process it waits for
    gets to run and its message arrives."""

    async def helper(parent):
        actors.send(parent, "ready")

    async def main():
        actors.spawn(helper, actors.self())
        for _ in range(100_000):
            if await actors.receive("ready", timeout=0, default=None) is not None:
                return
        pytest.fail("100,000 polls and the other process never ran")

    run(main)


def test_a_handed_off_message_is_not_lost_when_an_exit_signal_is_caught(run):
    """Exit signals overtake messages but do not destroy them: a process that
    catches ProcessExit still finds, with flush(), every message sent to it
    before the signal, including one that matched its pending receive."""

    async def worker(parent):
        try:
            actors.send(parent, "ready")
            await actors.receive(int)
        except actors.ProcessExit:
            actors.send(parent, ("left over", actors.flush()))
            raise

    async def main():
        pid = actors.spawn(worker, actors.self())
        await actors.receive("ready")          # the worker is now parked in receive(int)
        actors.send(pid, "a")
        actors.send(pid, 1)                    # matches the pending receive
        actors.send(pid, "b")
        actors.exit(pid, "shutdown")
        _, left = await actors.receive(("left over", ANY))
        assert left == ["a", 1, "b"]

    run(main)


# -- crash reports -----------------------------------------------------------------


def _actors_errors(caplog):
    return [r for r in caplog.records if r.name == "actors.core" and r.levelno >= logging.ERROR]


def test_a_crash_is_logged_with_pid_name_initial_call_reason_and_traceback(run, caplog):
    """A process that raises is logged at ERROR on logger "actors.core" with its pid,
    registered name, initial call, reason and traceback."""
    caplog.set_level(logging.ERROR, logger="actors")

    async def doomed_worker(parent):
        actors.register("doomed_registered_name")
        actors.send(parent, "registered")
        await actors.receive("go")
        raise KeyError("distinctive-crash-reason")

    async def main():
        pid = actors.spawn(doomed_worker, actors.self())
        await actors.receive("registered")
        actors.send(pid, "go")
        assert isinstance(await wait_down(pid), KeyError)
        return pid

    pid = run(main)
    errors = _actors_errors(caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    text = caplog.text
    assert str(pid) in text
    assert "doomed_registered_name" in text
    assert "doomed_worker" in text
    assert "distinctive-crash-reason" in text
    assert "Traceback" in text


def test_an_abnormal_process_exit_raised_by_the_process_is_logged(run, caplog):
    """raise ProcessExit(reason) with an abnormal reason is a crash report too."""
    caplog.set_level(logging.ERROR, logger="actors")

    async def quitter():
        raise actors.ProcessExit("distinctive-abnormal-reason")

    async def main():
        pid = actors.spawn(quitter)
        assert await wait_down(pid) == "distinctive-abnormal-reason"
        return pid

    pid = run(main)
    errors = _actors_errors(caplog)
    assert len(errors) == 1
    assert str(pid) in caplog.text
    assert "distinctive-abnormal-reason" in caplog.text


def test_normal_shutdown_and_signalled_deaths_are_not_logged(run, caplog):
    """Exits "normal", "shutdown", ("shutdown", x), and deaths caused by an exit
    signal from elsewhere, are not crash reports."""
    caplog.set_level(logging.DEBUG, logger="actors")

    async def returns():
        return "fine"

    async def exits(reason):
        raise actors.ProcessExit(reason)

    async def main():
        pids = [
            actors.spawn(returns),
            actors.spawn(exits, "normal"),
            actors.spawn(exits, "shutdown"),
            actors.spawn(exits, ("shutdown", "maintenance")),
        ]
        signalled = [actors.spawn(wait_forever) for _ in range(3)]
        for victim, reason in zip(signalled, ["boom", "kill", "shutdown"]):
            actors.exit(victim, reason)
        for pid in pids + signalled:
            await wait_down(pid)

    run(main)
    assert _actors_errors(caplog) == []


def test_only_the_crasher_is_logged_not_the_processes_its_link_kills(run, caplog):
    """A process killed through a link died of an exit signal: not logged;
    the process that crashed is."""
    caplog.set_level(logging.ERROR, logger="actors")

    async def crasher(parent):
        await actors.receive("go")
        raise ValueError("link-crash")

    async def partner(parent):
        c = actors.spawn_link(crasher, parent)
        actors.send(parent, ("crasher", c))
        await actors.receive("never")

    async def main():
        p = actors.spawn(partner, actors.self())
        (_, c) = await actors.receive(("crasher", ANY))
        ref = actors.monitor(p)
        actors.send(c, "go")
        down = await actors.receive((ref, ANY, ANY))
        assert isinstance(down.reason, ValueError)
        return c

    c = run(main)
    errors = _actors_errors(caplog)
    assert len(errors) == 1
    assert str(c) in caplog.text
