"""Timers: send_after, cancel_timer, sleep and receive timeouts, on a virtual
clock (docs/api.md "Names, timers, introspection", core-decisions.md "Clock").

Every test but the last runs on ``actors.MockClock``: timers fire instantly and
deterministically, and the tests read virtual time, never the wall clock.
The wheel has 1 ms ticks and rounds deadlines up, so a timer may fire up to a
tick late but never early: times are checked as ``>= deadline`` and close to it.
"""
from __future__ import annotations

import gc
import math
import weakref

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, wait_forever

TICK = 0.005  # tolerance for "fired at its deadline" (wheel rounding)


def at(deadline):
    return pytest.approx(deadline, abs=TICK)


# -- send_after ---------------------------------------------------------------------


def test_send_after_delivers_the_message_at_its_deadline_not_before(run, clock):
    """send_after(dest, msg, seconds) delivers msg once `seconds` have passed."""

    async def main():
        t0 = clock()
        tref = actors.send_after(actors.self(), "ding", 2.5)
        assert tref is not None
        assert await actors.receive(timeout=0, default=None) is None
        assert await actors.receive() == "ding"
        elapsed = clock() - t0
        assert elapsed >= 2.5 and elapsed == at(2.5)
        assert await actors.receive(timeout=100, default="only once") == "only once"

    run(main, clock=clock)


def test_send_after_zero_delivers_without_waiting(run, clock):
    """A zero delay delivers as soon as the timer is serviced, without time passing."""

    async def main():
        actors.send_after(actors.self(), "now", 0)
        assert await actors.receive() == "now"
        assert clock() == at(0)

    run(main, clock=clock)


def test_timers_fire_in_deadline_order_across_all_magnitudes(run, clock):
    """Timers fire in deadline order, whatever their creation order or magnitude
    (milliseconds to days)."""
    delays = [3 * 86400.0, 0.001, 70.0, 0.5, 3600.0, 1.0, 0.064, 4.096, 262.144]

    async def main():
        me = actors.self()
        for d in delays:
            actors.send_after(me, d, d)
        fired = []
        for _ in delays:
            d = await actors.receive(float)
            assert clock() >= d and clock() == at(d), (d, clock())
            fired.append(d)
        return fired

    assert run(main, clock=clock) == sorted(delays)


def test_send_after_to_another_process_and_by_name(run, clock):
    """send_after accepts any destination send accepts (a pid or a registered name)."""

    async def main():
        server = actors.spawn(echo)
        actors.register("timer_target", server)
        me = actors.self()
        actors.send_after(server, (me, "by pid"), 1)
        actors.send_after("timer_target", (me, "by name"), 2)
        assert await actors.receive(("echo", ANY)) == ("echo", "by pid")
        assert await actors.receive(("echo", ANY)) == ("echo", "by name")
        assert clock() == at(2)

    run(main, clock=clock)


def test_send_after_to_a_name_is_resolved_when_the_timer_fires(run, clock):
    """As in Erlang, a name destination is looked up at expiry, not when the timer is set."""

    async def main():
        actors.send_after("registered_later", "found you", 1)
        actors.register("registered_later")
        assert await actors.receive() == "found you"

    run(main, clock=clock)


@pytest.mark.parametrize(
    "seconds, exc",
    [(-1, ValueError), (-0.5, ValueError), (math.nan, ValueError), ("1", TypeError), (True, TypeError)],
)
def test_send_after_bad_seconds_raise_naming_the_argument(run, clock, seconds, exc):
    """A negative/NaN delay is a ValueError, a non-number a TypeError, naming `seconds`;
    no timer is started."""

    async def main():
        with pytest.raises(exc, match="seconds"):
            actors.send_after(actors.self(), "never", seconds)
        assert await actors.receive(timeout=10, default="nothing") == "nothing"

    run(main, clock=clock)


def test_send_after_to_a_wrong_destination_type_raises_type_error(run, clock):
    """send_after(dest, ...) with a dest of the wrong type is a TypeError naming `dest`."""

    async def main():
        with pytest.raises(TypeError, match="dest"):
            actors.send_after(42, "never", 1)

    run(main, clock=clock)


# -- cancel_timer --------------------------------------------------------------------


def test_cancel_timer_returns_the_remaining_seconds_and_the_message_never_comes(run, clock):
    """cancel_timer of a pending timer returns the seconds that were left; the
    message is never delivered."""

    async def main():
        tref = actors.send_after(actors.self(), "cancelled", 10)
        await actors.sleep(4)
        left = actors.cancel_timer(tref)
        assert isinstance(left, float)
        assert left == pytest.approx(6, abs=TICK)
        assert await actors.receive(timeout=20, default="silence") == "silence"

    run(main, clock=clock)


@pytest.mark.parametrize("bad", [42, None, "tref"])
def test_cancel_timer_of_something_else_raises_type_error(run, clock, bad):
    """cancel_timer takes a TimerRef: anything else is a TypeError naming `tref`."""

    async def main():
        with pytest.raises(TypeError, match="tref"):
            actors.cancel_timer(bad)

    run(main, clock=clock)


def test_cancel_timer_of_a_fired_or_cancelled_timer_returns_none(run, clock):
    """cancel_timer returns None when the timer already fired or was cancelled."""

    async def main():
        fired = actors.send_after(actors.self(), "fired", 1)
        assert await actors.receive("fired") == "fired"
        assert actors.cancel_timer(fired) is None
        pending = actors.send_after(actors.self(), "pending", 1)
        assert actors.cancel_timer(pending) == pytest.approx(1, abs=TICK)
        assert actors.cancel_timer(pending) is None

    run(main, clock=clock)


def test_send_after_to_a_pid_that_dies_is_cancelled(run, clock):
    """A timer aimed at a pid is cancelled when that process dies."""

    async def main():
        target = actors.spawn(wait_forever)
        ref = actors.monitor(target)
        tref = actors.send_after(target, "too late", 10)
        actors.exit(target, "kill")
        await actors.receive((ref, ANY, ANY))
        assert actors.cancel_timer(tref) is None
        assert clock() == at(0)

    run(main, clock=clock)


def test_send_after_to_a_dead_pid_releases_its_message(run):
    """send_after to a pid is cancelled when that process exits (send_after's
    docstring; Erlang's erlang:send_after): the wheel must not keep the timer
    and its message alive until the deadline (hours, days later)."""

    class Payload:
        pass

    async def target():
        await actors.receive("never sent")

    async def main():
        msg = Payload()
        alive = weakref.ref(msg)
        pid = actors.spawn(target)
        ref = actors.monitor(pid)
        tref = actors.send_after(pid, msg, 86400)
        del msg, tref
        actors.exit(pid, "kill")
        await actors.receive((ref, ANY, ANY))
        gc.collect()
        assert alive() is None, "the timer to the dead pid still holds its message"

    run(main, clock=actors.MockClock(autojump=True))


# -- sleep ----------------------------------------------------------------------------


def test_sleep_suspends_only_the_calling_process(run, clock):
    """While one process sleeps, the others run."""

    async def sleeper(parent):
        await actors.sleep(10)
        actors.send(parent, ("woke", clock()))

    async def main():
        actors.spawn(sleeper, actors.self())
        server = actors.spawn(echo)
        assert await roundtrip(server, "meanwhile") == ("echo", "meanwhile")
        assert clock() == at(0)
        (_, t) = await actors.receive(("woke", ANY))
        assert t >= 10 and t == at(10)

    run(main, clock=clock)


def test_sleep_zero_returns_without_time_passing(run, clock):
    """sleep(0) returns at once (after letting others run)."""

    async def main():
        await actors.sleep(0)
        return clock()

    assert run(main, clock=clock) == at(0)


@pytest.mark.parametrize("seconds, exc", [(-1, ValueError), (math.nan, ValueError), ("2", TypeError)])
def test_sleep_bad_seconds_raise_naming_the_argument(run, clock, seconds, exc):
    """sleep with a negative/NaN delay is a ValueError, a non-number a TypeError, naming `seconds`."""

    async def main():
        with pytest.raises(exc, match="seconds"):
            await actors.sleep(seconds)

    run(main, clock=clock)


def test_sleep_infinity_sleeps_forever(run):
    """`sleep(math.inf)` suspends the caller forever (decisions: `math.inf` =
    forever); it must not return at the next tick."""

    async def sleeper(parent):
        await actors.sleep(math.inf)
        actors.send(parent, "woke up")

    async def main():
        actors.spawn(sleeper, actors.self())
        assert await actors.receive("woke up", timeout=60, default=None) is None

    run(main, clock=actors.MockClock(autojump=True))


# -- receive timeouts ---------------------------------------------------------------


def test_receive_timeout_is_not_extended_by_non_matching_messages(run, clock):
    """The receive deadline counts from the start of the receive; messages that
    do not match neither end nor extend the wait."""

    async def main():
        me = actors.self()
        actors.send_after(me, "noise at 1", 1)
        actors.send_after(me, "noise at 1.5", 1.5)
        assert await actors.receive(int, timeout=2, default="timed out") == "timed out"
        assert clock() >= 2 and clock() == at(2)
        assert actors.flush() == ["noise at 1", "noise at 1.5"]

    run(main, clock=clock)


def test_a_finished_receive_leaves_no_timeout_behind(run, clock):
    """A receive that got its message before its deadline never times out a later receive."""

    async def main():
        server = actors.spawn(echo)
        for i in range(200):
            actors.send(server, (actors.self(), i))
            assert await actors.receive(("echo", i), timeout=1) == ("echo", i)
        assert clock() == at(0)
        assert await actors.receive(str, timeout=5, default="full wait") == "full wait"
        assert clock() == at(5)

    run(main, clock=clock)


def test_timers_never_fire_early_when_time_is_advanced_by_hand(run):
    """With a non-jumping MockClock, a timer fires only once time reaches its deadline."""
    clock = actors.MockClock()

    async def main():
        server = actors.spawn(echo)
        actors.send_after(actors.self(), "due at 1", 1.0)
        clock.advance(0.5)
        await roundtrip(server)
        assert await actors.receive(timeout=0, default=None) is None
        clock.advance(0.49)
        await roundtrip(server)
        assert await actors.receive(timeout=0, default=None) is None
        clock.advance(0.02)
        return await actors.receive()

    assert run(main, clock=clock) == "due at 1"


def test_receive_timeouts_never_fire_early_when_time_is_advanced_by_hand(run):
    """A receive(timeout=1) does not time out before the clock reaches 1 s."""
    clock = actors.MockClock()

    async def waiter(parent):
        result = await actors.receive("never", timeout=1, default="timed out")
        actors.send(parent, ("waiter", result, clock()))

    async def main():
        server = actors.spawn(echo)
        actors.spawn(waiter, actors.self())
        await roundtrip(server)
        clock.advance(0.9)
        await roundtrip(server)
        assert await actors.receive(("waiter", ANY, ANY), timeout=0, default=None) is None
        clock.advance(0.2)
        (_, result, t) = await actors.receive(("waiter", ANY, ANY))
        assert result == "timed out" and t >= 1

    run(main, clock=clock)


def test_a_huge_receive_timeout_never_fires_early(run):
    """A timer never fires early: `receive(timeout=1e16)` (beyond what the
    wheel's millisecond ticks can hold) means "forever", and `send_after` with
    such a delay never fires but can still be cancelled, reporting the time
    left."""

    clock = actors.MockClock(autojump=True)

    async def waiter():
        await actors.receive("never sent", timeout=1e16, default=None)
        actors.send(parent, "fired early")

    async def main():
        global parent
        parent = actors.self()
        pid = actors.spawn(waiter)
        tref = actors.send_after(actors.self(), "too soon", 1e16)
        await actors.sleep(1e9)                       # virtual: instant
        assert actors.Process.alive(pid)
        assert await actors.receive(timeout=0, default=None) is None
        left = actors.cancel_timer(tref)
        assert left == pytest.approx(1e16 - 1e9, rel=1e-9)
        assert actors.cancel_timer(tref) is None

    run(main, clock=clock)


def test_mock_clock_starts_where_told(run):
    """MockClock(start=s) starts at s, and deadlines are relative to it."""
    clock = actors.MockClock(start=100.0, autojump=True)

    async def main():
        assert clock() == 100.0
        actors.send_after(actors.self(), "x", 1)
        await actors.receive("x")
        return clock()

    assert run(main, clock=clock) == at(101)


def test_timers_work_on_the_real_clock(run):
    """Without a mock clock, timers and receive timeouts still fire (smoke test)."""

    async def main():
        actors.send_after(actors.self(), "tick", 0.001)
        assert await actors.receive("tick", timeout=30) == "tick"
        assert await actors.receive(timeout=0.001, default="timed out") == "timed out"
        await actors.sleep(0.001)

    run(main)


# -- edges found by the hardening review (issue 8) ------------------------------


def test_cancel_timer_never_returns_more_than_was_asked(run):
    """The wheel rounds a deadline up to its next 1 ms tick; cancel_timer
    reports the time left as asked (erlang:cancel_timer), never more."""
    clock = actors.MockClock()

    async def main():
        clock.advance(0.0004)                  # between two ticks
        t = actors.send_after(actors.self(), "x", 0.5)
        left = actors.cancel_timer(t)
        assert 0.4999 <= left <= 0.5
        t = actors.send_after(actors.self(), "x", 0.5)
        clock.advance(0.2)
        assert 0.2999 <= actors.cancel_timer(t) <= 0.3

    run(main, clock=clock)


def test_mock_clock_refuses_to_move_past_the_wheels_range(run):
    """Advancing a MockClock by 1e16 s used to overflow the tick arithmetic and
    silently stop every timer; it is a ValueError, and timers keep working."""
    clock = actors.MockClock()

    async def main():
        actors.send_after(actors.self(), "due", 1.0)
        with pytest.raises(ValueError, match="seconds"):
            clock.advance(1e16)
        clock.advance(1.0)
        assert actors.flush() == ["due"]

    run(main, clock=clock)
    with pytest.raises(ValueError, match="start"):
        actors.MockClock(start=1e16)


def test_autojump_serves_a_timer_armed_from_plain_asyncio_code(aio_run):
    """With MockClock(autojump=True), a timer armed from outside any process
    while every process is blocked makes time jump to it, as one armed by a
    process would."""
    import asyncio

    async def body():
        clock = actors.MockClock(autojump=True)
        async with actors.Runtime(clock=clock) as rt:
            fired = asyncio.get_running_loop().create_future()
            rt.scheduler.call_later(3600, lambda: fired.set_result(clock()))
            assert await asyncio.wait_for(fired, 10) >= 3600

    aio_run(body)
