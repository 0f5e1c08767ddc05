"""The core's request/reply protocol, actors.lowlevel.call / reply
(core-decisions.md "Call protocol"; GenServer.call builds on it)."""
from __future__ import annotations

import math

import pytest

import actors
from actors import ANY
from actors.lowlevel import call, reply
from helpers import wait_down


async def server(parent=None):
    """A hand-written server: understands a few requests, replies with lowlevel.reply."""
    pending = []
    while True:
        (tag, from_, request) = await actors.receive(("$gen_call", ANY, ANY))
        assert tag == "$gen_call"
        match request:
            case ("echo", x):
                reply(from_, x)
            case "whoami":
                reply(from_, from_)
            case ("crash", exc):
                raise exc
            case ("exit", reason):
                raise actors.ProcessExit(reason)
            case "ignore":
                pass
            case "hold":
                pending.append(from_)
                if parent is not None:
                    actors.send(parent, ("holding", len(pending)))
            case "release":
                for f in reversed(pending):
                    reply(f, ("released", f[0]))
                pending.clear()
                reply(from_, "ok")


def test_call_returns_the_reply(run):
    """call(server, request) returns what the server passed to reply()."""

    async def main():
        srv = actors.spawn(server)
        assert await call(srv, ("echo", 42)) == 42
        assert await call(srv, ("echo", None)) is None
        assert await call(srv, ("echo", [1, 2]), timeout=1.0) == [1, 2]

    run(main)


def test_call_sends_gen_call_with_caller_pid_and_a_ref(run):
    """The server receives ("$gen_call", (caller_pid, ref), request)."""

    async def main():
        srv = actors.spawn(server)
        from_ = await call(srv, "whoami")
        assert isinstance(from_, tuple) and len(from_) == 2
        assert from_[0] == actors.self()
        assert from_[1] != (await call(srv, "whoami"))[1]

    run(main)


def test_call_by_registered_name(run):
    """call accepts a registered name as the server."""

    async def main():
        actors.register("ll_server", actors.spawn(server))
        assert await call("ll_server", ("echo", "by name")) == "by name"

    run(main)


def test_call_leaves_no_monitor_and_no_message_behind(run):
    """After a successful call the caller has no leftover monitor or message,
    and messages queued before the call are untouched."""

    async def main():
        srv = actors.spawn(server)
        actors.send(actors.self(), "queued before")
        for i in range(50):
            assert await call(srv, ("echo", i)) == i
        assert actors.Process.info(actors.self(), "monitors") == []
        assert actors.flush() == ["queued before"]

    run(main)


def test_replies_find_the_right_callers_in_any_order(run):
    """Replies carry the caller's ref: out-of-order replies reach the right callers."""

    async def client(srv, parent):
        result = await call(srv, "hold")
        actors.send(parent, ("client got", actors.self(), result))

    async def main():
        me = actors.self()
        srv = actors.spawn(server, me)
        clients = [actors.spawn(client, srv, me) for _ in range(3)]
        for n in (1, 2, 3):
            await actors.receive(("holding", n))
        assert await call(srv, "release") == "ok"
        for _ in clients:
            (_, pid, result) = await actors.receive(("client got", ANY, ANY))
            assert result == ("released", pid)

    run(main)


def test_call_to_a_dead_server_raises_noprocess(run):
    """Calling a dead pid or an unheld name raises NoProcess, leaving nothing queued."""

    async def main():
        srv = actors.spawn(server)
        actors.exit(srv, "kill")
        await wait_down(srv)
        with pytest.raises(actors.NoProcess):
            await call(srv, ("echo", 1))
        with pytest.raises(actors.NoProcess):
            await call("no_such_server", ("echo", 1))
        assert actors.flush() == []
        assert actors.Process.info(actors.self(), "monitors") == []

    run(main)


@pytest.mark.parametrize("how", ["crash", "exit", "kill"])
def test_a_server_exiting_before_replying_raises_call_exit_with_its_reason(run, how):
    """If the server exits during the call, the caller gets CallExit(reason)."""

    async def killer(srv):
        actors.exit(srv, "kill")

    async def main():
        srv = actors.spawn(server)
        exc = ValueError("server crashed")
        if how == "crash":
            request, expected = ("crash", exc), exc
        elif how == "exit":
            request, expected = ("exit", ("shutdown", "bye")), ("shutdown", "bye")
        else:
            actors.spawn(killer, srv)
            request, expected = "ignore", "killed"
        with pytest.raises(actors.CallExit) as info:
            await call(srv, request)
        assert isinstance(info.value, actors.ActorsError)
        assert info.value.reason is expected or info.value.reason == expected
        assert actors.flush() == []

    run(main)


def test_a_call_timeout_raises_timeout_and_a_late_reply_is_dropped(run, clock):
    """On timeout call raises Timeout; a reply sent later never reaches the caller's mailbox."""

    async def slow_server():
        (_, from_, request) = await actors.receive(("$gen_call", ANY, ANY))
        await actors.sleep(10)
        reply(from_, "too late")
        actors.send(from_[0], "plain message after the late reply")

    async def main():
        srv = actors.spawn(slow_server)
        with pytest.raises(actors.Timeout):
            await call(srv, "slow", timeout=1)
        assert clock() == pytest.approx(1, abs=0.005)
        assert await actors.receive(str) == "plain message after the late reply"
        assert actors.flush() == []
        assert actors.Process.info(actors.self(), "monitors") == []

    run(main, clock=clock)


def test_reply_to_a_dead_caller_is_harmless(run):
    """lowlevel.reply to a caller that has exited is silently dropped."""

    async def caller(srv):
        await call(srv, "hold")

    async def main():
        me = actors.self()
        srv = actors.spawn(server, me)
        c = actors.spawn(caller, srv)
        await actors.receive(("holding", 1))
        ref = actors.monitor(c)
        actors.exit(c, "kill")
        await actors.receive((ref, ANY, ANY))
        assert await call(srv, "release") == "ok"
        assert await call(srv, ("echo", "alive")) == "alive"

    run(main)


@pytest.mark.parametrize("timeout, exc", [(-1, ValueError), (math.nan, ValueError), ("5", TypeError)])
def test_call_with_a_bad_timeout_raises_naming_it(run, timeout, exc):
    """A negative/NaN timeout is a ValueError, a non-number a TypeError, naming `timeout`;
    no request is sent."""

    async def main():
        srv = actors.spawn(server, actors.self())
        with pytest.raises(exc, match="timeout"):
            await call(srv, "hold", timeout=timeout)
        assert await call(srv, ("echo", "next")) == "next"
        assert await actors.receive(("holding", ANY), timeout=0, default=None) is None

    run(main)


def test_scheduler_call_later_runs_a_callback_on_the_runtime_clock(run):
    """Scheduler.call_later(seconds, fn) calls fn after seconds of the runtime's clock;
    cancel_timer cancels it and reports the time that was left."""
    clock = actors.MockClock()
    fired = []

    async def main():
        sched = actors.lowlevel.current_scheduler()
        sched.call_later(1.0, lambda: fired.append(clock()))
        doomed = sched.call_later(2.0, lambda: fired.append("never"))
        clock.advance(0.999)
        assert fired == []
        clock.advance(0.001)
        assert fired == [1.0]
        assert actors.cancel_timer(doomed) == pytest.approx(1.0)
        clock.advance(5)
        assert fired == [1.0]
        with pytest.raises(TypeError, match="fn"):
            sched.call_later(1.0, "not callable")

    run(main, clock=clock)


def test_a_call_monitors_the_server_only_while_it_lasts(run):
    """During a call the server is monitored by the caller (its monitored_by lists
    the caller); after the reply, and after a caller killed mid-call, the server
    holds no monitor for it (no stale entries pile up on a long-lived server)."""

    async def slow_server(parent):
        while True:
            _tag, from_, request = await actors.receive()
            if request == "hold":
                actors.send(parent, ("holding", from_))
                await actors.receive("go")
            reply(from_, request)

    async def caller(server):
        await call(server, "hold", timeout=None)

    async def main():
        server = actors.spawn(slow_server, actors.self())
        assert await call(server, "quick") == "quick"
        assert actors.Process.info(server, "monitored_by") == []
        pid = actors.spawn(caller, server)
        _, from_ = await actors.receive(("holding", ANY))
        assert actors.Process.info(server, "monitored_by") == [pid]
        await wait_down_kill(pid)
        assert actors.Process.info(server, "monitored_by") == []
        actors.send(server, "go")
        assert await call(server, "after") == "after"
        assert actors.Process.info(server, "monitored_by") == []

    async def wait_down_kill(pid):
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        await actors.receive(actors.Down(ref, ANY, ANY))

    run(main)
