"""The scheduler's fairness in time: a tick gives the event loop back after a
bounded time, whatever its processes do, and a step that holds the loop too
long is reported (Erlang's system_monitor long_schedule)."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

import actors
from actors import ANY


def _hog(counter, seconds):
    """A process body that blocks the loop for ``seconds`` in every step."""

    async def hog():
        while True:
            time.sleep(seconds)
            counter[0] += 1
            await asyncio.sleep(0)

    return hog


def test_the_loop_gets_control_back_between_slow_steps(run):
    """With ten processes each blocking 1 ms per step, an asyncio callback
    due in 10 ms runs after a few dozen steps, not after a whole tick of
    thousands of steps (4 s): ticks end on a time budget as well as a step
    budget."""
    steps = [0]

    async def main():
        for _ in range(10):
            actors.spawn(_hog(steps, 0.001))
        fired = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, lambda: fired.set_result(steps[0]))
        seen = await fired
        assert seen < 500, f"{seen} slow steps ran before a 10 ms timer fired"

    run(main)


def test_a_process_timer_fires_while_other_processes_are_busy(run):
    """An actors timer (receive timeout) is served between slow steps too:
    it fires after a bounded number of them."""
    steps = [0]

    async def main():
        for _ in range(10):
            actors.spawn(_hog(steps, 0.001))
        assert await actors.receive("never sent", timeout=0.01, default="timed out") == "timed out"
        assert steps[0] < 500, f"{steps[0]} slow steps ran before a 10 ms receive timeout"

    run(main)


def test_a_long_step_is_logged_with_the_process_and_where_it_stopped(run, caplog):
    """A step longer than long_step logs a warning naming the pid, its
    registered name, its initial call and where it waited next, and is
    counted on the scheduler."""

    async def slow(parent):
        actors.register("slowpoke")
        await actors.receive("go")
        time.sleep(0.1)
        await actors.receive("never")

    async def main():
        pid = actors.spawn(slow, actors.self())
        await actors.lowlevel.checkpoint()
        actors.send(pid, "go")
        await actors.sleep(0.01)
        sched = actors.lowlevel.current_scheduler()
        assert sched.long_steps == 1
        assert sched.longest_step >= 0.05
        return pid

    with caplog.at_level(logging.WARNING, logger="actors"):
        pid = run(main, long_step=0.05)
    [record] = [r for r in caplog.records if "Long step" in r.getMessage()]
    text = record.getMessage()
    assert repr(pid) in text
    assert "registered name: slowpoke" in text
    assert "initial call: test_core_scheduler" in text and ".slow" in text
    assert "test_core_scheduler.py" in text       # where it waited next


def test_long_step_none_turns_the_report_off(run, caplog):
    async def main():
        time.sleep(0.06)
        await actors.sleep(0)
        return actors.lowlevel.current_scheduler().long_steps

    with caplog.at_level(logging.WARNING, logger="actors"):
        assert run(main, long_step=None) == 0
    assert "Long step" not in caplog.text


def test_short_steps_are_not_reported(run, caplog):
    async def pong():
        while True:
            sender, n = await actors.receive((ANY, ANY))
            actors.send(sender, n)

    async def main():
        p = actors.spawn(pong)
        for i in range(10_000):
            actors.send(p, (actors.self(), i))
            await actors.receive(i)
        return actors.lowlevel.current_scheduler().long_steps

    with caplog.at_level(logging.WARNING, logger="actors"):
        assert run(main) == 0
    assert "Long step" not in caplog.text


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (0, ValueError), ("1", TypeError),
                                        (float("nan"), ValueError)])
def test_long_step_must_be_positive_seconds_or_none(run, bad, error):
    async def main():
        pass

    with pytest.raises(error, match="long_step"):
        run(main, long_step=bad)
    with pytest.raises(error, match="long_step"):
        actors.Runtime(long_step=bad)
