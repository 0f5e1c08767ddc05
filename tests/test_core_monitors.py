"""Monitors: Down messages, noproc, at-most-once, demonitor and flush,
spawn_monitor atomicity (docs/api.md "Links, monitors, exit signals", core-decisions.md)."""
from __future__ import annotations

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, wait_down, wait_forever


async def _quick():
    return None


async def _stopper():
    """Exits with the reason it is sent."""
    reason = await actors.receive()
    raise actors.ProcessExit(reason)


def _downs(msgs):
    return [m for m in msgs if isinstance(m, actors.Down)]


def test_a_monitor_delivers_down_with_ref_pid_and_reason(run):
    """When the target exits, the owner receives Down(ref, pid, reason)."""

    async def main():
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        actors.send(pid, "custom reason")
        down = await actors.receive(actors.Down)
        assert isinstance(down, tuple) and len(down) == 3
        assert down == actors.Down(ref, pid, "custom reason")
        assert (down.ref, down.pid, down.reason) == (ref, pid, "custom reason")
        match down:
            case actors.Down(ref=r, pid=p, reason=why):
                assert (r, p, why) == (ref, pid, "custom reason")
            case _:
                pytest.fail("Down did not match a class pattern")

    run(main)


@pytest.mark.parametrize(
    "how, expected",
    [("return", "normal"), ("crash", ValueError), ("kill", "killed"), ("exit", "stop")],
)
def test_down_reports_the_exit_reason(run, how, expected):
    """Down carries "normal", the exception, "killed" or the exit reason."""

    async def target(how):
        await actors.receive("go")
        if how == "crash":
            raise ValueError("crashed")

    async def main():
        pid = actors.spawn(target, how)
        ref = actors.monitor(pid)
        if how == "kill":
            actors.exit(pid, "kill")
        elif how == "exit":
            actors.exit(pid, "stop")
        else:
            actors.send(pid, "go")
        reason = (await actors.receive((ref, pid, ANY))).reason
        if isinstance(expected, type):
            assert isinstance(reason, expected)
        else:
            assert reason == expected

    run(main)


def test_a_monitor_is_one_way(run):
    """A monitored process's crash does not hurt the owner, and the owner's
    death does not hurt the target."""

    async def owner(target, parent):
        actors.monitor(target)
        actors.send(parent, "monitoring")
        await actors.receive("crash now")
        raise ValueError("owner crashed")

    async def crasher():
        await actors.receive("go")
        raise ValueError("target crashed")

    async def main():
        server = actors.spawn(echo)
        o = actors.spawn(owner, server, actors.self())
        await actors.receive("monitoring")
        assert actors.self() not in actors.Process.info(server, "monitored_by")
        actors.send(o, "crash now")
        await wait_down(o)
        assert await roundtrip(server) == ("echo", "sync")

        c = actors.spawn(crasher)
        ref = actors.monitor(c)
        actors.send(c, "go")
        assert isinstance((await actors.receive((ref, ANY, ANY))).reason, ValueError)
        return "owner alive"

    assert run(main) == "owner alive"


def test_monitor_returns_a_fresh_ref_each_time_and_each_fires_once(run):
    """Each monitor call is a separate monitor: two monitors, two Downs, no more."""

    async def main():
        pid = actors.spawn(_stopper)
        r1, r2 = actors.monitor(pid), actors.monitor(pid)
        assert r1 != r2
        sentinel = actors.spawn(_stopper)
        sentinel_ref = actors.monitor(sentinel)
        actors.send(pid, "bye")
        a = await actors.receive((r1, pid, ANY))
        b = await actors.receive((r2, pid, ANY))
        assert a.reason == b.reason == "bye"
        actors.send(sentinel, "done")
        await actors.receive((sentinel_ref, ANY, ANY))
        assert _downs(actors.flush()) == []

    run(main)


def test_monitoring_a_dead_process_gives_down_noproc_at_once(run):
    """Monitoring a dead process never raises: Down(ref, pid, "noproc") is queued at once."""

    async def main():
        pid = actors.spawn(_quick)
        await wait_down(pid)
        ref = actors.monitor(pid)
        down = await actors.receive((ref, ANY, ANY), timeout=0, default=None)
        assert down == actors.Down(ref, pid, "noproc")

    run(main)


def test_monitoring_an_unknown_name_gives_down_noproc_at_once(run):
    """Monitoring a name nobody holds never raises: a Down with "noproc" is queued at once."""

    async def main():
        ref = actors.monitor("nobody_holds_this_name")
        down = await actors.receive((ref, ANY, ANY), timeout=0, default=None)
        assert down is not None
        assert isinstance(down, actors.Down)
        assert down.ref == ref and down.reason == "noproc"

    run(main)


def test_monitoring_a_registered_name_watches_its_holder(run):
    """monitor(name) monitors the process holding the name."""

    async def named(parent):
        actors.register("monitored_by_name")
        actors.send(parent, "registered")
        raise actors.ProcessExit(await actors.receive())

    async def main():
        pid = actors.spawn(named, actors.self())
        await actors.receive("registered")
        ref = actors.monitor("monitored_by_name")
        actors.send(pid, "bye")
        down = await actors.receive((ref, ANY, ANY))
        assert down.reason == "bye"

    run(main)


@pytest.mark.parametrize("bad", [42, None, 2.5, b"bytes"])
def test_monitor_of_a_wrong_type_raises_type_error(run, bad):
    """monitor(dest) with a dest that is not a pid, a name or via() is a TypeError naming `dest`."""

    async def main():
        with pytest.raises(TypeError, match="dest"):
            actors.monitor(bad)
        assert actors.Process.info(actors.self(), "monitors") == []
        assert actors.flush() == []

    run(main)


def test_spawn_monitor_is_atomic(run):
    """spawn_monitor monitors before the child runs: an instant crash gives its
    reason, never "noproc"."""

    async def instant(exc):
        raise exc

    async def main():
        exc = OSError("instant")
        result = actors.spawn_monitor(instant, exc)
        assert isinstance(result, tuple) and len(result) == 2
        pid, ref = result
        down = await actors.receive((ref, ANY, ANY))
        assert down.pid == pid
        assert down.reason is exc

    run(main)


def test_messages_sent_before_dying_arrive_before_the_down(run):
    """A process's messages to its monitor owner arrive before its Down."""

    async def talker(parent):
        for i in range(5):
            actors.send(parent, i)

    async def main():
        pid, ref = actors.spawn_monitor(talker, actors.self())
        got = [await actors.receive() for _ in range(6)]
        assert got[:5] == [0, 1, 2, 3, 4]
        assert got[5] == actors.Down(ref, pid, "normal")

    run(main)


# -- demonitor ---------------------------------------------------------------------------


def test_demonitor_stops_the_monitor_and_returns_true_once(run):
    """demonitor returns True when it removed an active monitor; no Down follows."""

    async def main():
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        sync_ref = actors.monitor(pid)
        assert actors.demonitor(ref) is True
        assert actors.demonitor(ref) is False
        actors.send(pid, "bye")
        await actors.receive((sync_ref, ANY, ANY))
        assert [d for d in actors.flush() if isinstance(d, tuple) and d and d[0] == ref] == []

    run(main)


def test_demonitor_of_a_fired_or_unknown_ref_returns_false(run):
    """demonitor returns False when there is no active monitor to remove."""

    async def main():
        pid = actors.spawn(_quick)
        ref = actors.monitor(pid)
        await actors.receive((ref, ANY, ANY))
        assert actors.demonitor(ref) is False
        assert actors.demonitor(actors.make_ref()) is False

    run(main)


def test_demonitor_without_flush_leaves_a_queued_down(run):
    """demonitor(ref) after the target died leaves its Down in the mailbox."""

    async def main():
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        sync_ref = actors.monitor(pid)
        actors.send(pid, "bye")
        await actors.receive((sync_ref, ANY, ANY))
        actors.demonitor(ref)
        assert await actors.receive((ref, ANY, ANY), timeout=0, default=None) == actors.Down(
            ref, pid, "bye"
        )

    run(main)


def test_demonitor_with_flush_removes_a_queued_down(run):
    """demonitor(ref, flush=True) removes a Down for ref already in the mailbox,
    and only that one; other messages stay in order."""

    async def main():
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        sync_ref = actors.monitor(pid)
        actors.send(actors.self(), "before")
        actors.send(pid, "bye")
        await actors.receive((sync_ref, ANY, ANY))
        actors.send(actors.self(), "after")
        actors.demonitor(ref, flush=True)
        assert actors.flush() == ["before", "after"]

    run(main)


def test_demonitor_with_flush_on_an_active_monitor(run):
    """demonitor(ref, flush=True) on a live target removes the monitor; no Down ever arrives."""

    async def main():
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        sync_ref = actors.monitor(pid)
        assert actors.demonitor(ref, flush=True) is True
        actors.send(pid, "bye")
        await actors.receive((sync_ref, ANY, ANY))
        assert actors.flush() == []

    run(main)


# -- cleanup ---------------------------------------------------------------------------


def test_monitor_bookkeeping_is_visible_and_cleaned_up(run):
    """Process.info lists monitors / monitored_by, and both go when the monitor ends."""

    async def main():
        me = actors.self()
        pid = actors.spawn(_stopper)
        ref = actors.monitor(pid)
        assert (ref, pid) in actors.Process.info(me, "monitors")
        assert me in actors.Process.info(pid, "monitored_by")
        actors.demonitor(ref)
        assert actors.Process.info(me, "monitors") == []
        assert me not in actors.Process.info(pid, "monitored_by")
        ref = actors.monitor(pid)
        actors.send(pid, "bye")
        await actors.receive((ref, ANY, ANY))
        assert actors.Process.info(me, "monitors") == []

    run(main)


def test_a_dead_owners_monitors_are_removed_from_the_target(run):
    """When a monitor's owner exits, the target no longer lists it in monitored_by."""

    async def owner(target, parent):
        actors.monitor(target)
        actors.send(parent, "monitoring")
        await actors.receive("stop")

    async def main():
        target = actors.spawn(wait_forever)
        o = actors.spawn(owner, target, actors.self())
        await actors.receive("monitoring")
        assert o in actors.Process.info(target, "monitored_by")
        ref = actors.monitor(o)
        actors.send(o, "stop")
        await actors.receive((ref, ANY, ANY))
        assert o not in actors.Process.info(target, "monitored_by")

    run(main)


@pytest.mark.parametrize("flush", ["yes", 1, None])
def test_demonitor_flush_must_be_a_bool(run, flush):
    async def main():
        ref = actors.monitor(actors.spawn(wait_forever))
        with pytest.raises(TypeError, match="flush"):
            actors.demonitor(ref, flush=flush)
        assert actors.demonitor(ref) is True       # nothing was changed

    run(main)
