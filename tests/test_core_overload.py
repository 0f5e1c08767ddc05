"""Crash storms do not drown the system (issue 8): crash and error reports
have a burst limit, as OTP logger's (burst_limit_max_count per
burst_limit_window_time).  Beyond it reports are dropped, and one warning per
window says how many.  Time is a MockClock: windows pass when the test says."""
from __future__ import annotations

import logging
import re

import pytest

import actors
from actors import lowlevel

DROPPED = re.compile(r"(\d+) crash reports dropped")


@pytest.fixture(autouse=True)
def default_limit():
    """Each test sets its own limit; the default comes back afterwards."""
    yield
    lowlevel.set_crash_report_limit()


@pytest.fixture
def reports(caplog):
    """``reports()`` -> (crash reports, other error reports, dropped counts of the summaries)."""
    caplog.set_level(logging.WARNING, logger="actors")

    def read():
        records = [r for r in caplog.records if r.name.partition(".")[0] == "actors"]
        crashes = [r for r in records if r.event == "crash"]
        summaries = [int(m.group(1)) for r in records if (m := DROPPED.search(r.getMessage()))]
        others = [r for r in records if r not in crashes and not DROPPED.search(r.getMessage())]
        caplog.clear()
        return len(crashes), len(others), summaries

    return read


async def crash():
    raise RuntimeError("boom")


async def crash_many(n):
    """Spawn ``n`` crashing processes and wait until all have exited."""
    refs = [actors.spawn_monitor(crash)[1] for _ in range(n)]
    for ref in refs:
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))


def test_a_burst_emits_max_count_reports_then_one_summary_of_the_drops(run, reports):
    """20 crashes in one window with max_count=5: 5 crash reports, nothing
    more until the window is over, then exactly one summary saying 15 were
    dropped.  In the next window reports flow again."""
    clock = actors.MockClock()

    async def main():
        lowlevel.set_crash_report_limit(max_count=5, window=1.0)
        await crash_many(20)
        assert reports() == (5, 0, [])
        clock.advance(0.5)
        await crash_many(3)
        assert reports() == (0, 0, [])            # same window: still dropped
        clock.advance(0.5)                         # the window is over
        assert reports() == (0, 0, [18])
        await crash_many(3)
        assert reports() == (3, 0, [])
        clock.advance(5)
        assert reports() == (0, 0, [])             # nothing dropped: no summary

    run(main, clock=clock, long_step=None)         # (a long step under load is a report too)


def test_the_otp_layers_share_the_limit(run, reports):
    """``lowlevel.report_allowed()`` counts against the same limit as the
    core's crash reports: a supervisor whose child keeps crashing logs, with
    the limit, max_count reports in all and one summary of the rest (as many
    as it logs without a limit)."""
    async def start_crasher():
        return actors.spawn_link(crash)

    async def storm():
        actors.Process.flag("trap_exit", True)
        sup = await actors.Supervisor.start_link(
            [{"id": "c", "start": (start_crasher, ())}], max_restarts=30, max_seconds=5.0)
        await actors.receive(actors.Exit(sup, actors.ANY))

    async def unlimited():
        lowlevel.set_crash_report_limit(max_count=None)
        await storm()
        crashes, others, summaries = reports()
        assert crashes == 31 and others >= 1 and summaries == []   # + "max restart intensity"
        return crashes + others

    total = run(unlimited, clock=actors.MockClock())
    clock = actors.MockClock()

    async def limited():
        lowlevel.set_crash_report_limit(max_count=5, window=1.0)
        assert [lowlevel.report_allowed() for _ in range(3)] == [True] * 3
        await storm()
        crashes, others, summaries = reports()
        assert crashes + others == 2 and summaries == []
        clock.advance(1.0)
        assert reports() == (0, 0, [total - 2])

    run(limited, clock=clock)


def test_pending_drops_are_summarised_when_the_runtime_stops(run, reports):
    """A program that ends during a storm still says how many reports it dropped."""
    async def main():
        lowlevel.set_crash_report_limit(max_count=1, window=60.0)
        await crash_many(4)

    run(main, clock=actors.MockClock(), long_step=None)
    assert reports() == (1, 0, [3])


def test_no_limit_lets_every_report_through(run, reports):
    """``max_count=None`` turns the limit off (OTP's burst_limit_enable=false)."""
    async def main():
        assert lowlevel.set_crash_report_limit(max_count=None) == (500, 1.0)   # OTP's defaults
        await crash_many(600)
        assert reports() == (600, 0, [])
        assert lowlevel.set_crash_report_limit(max_count=3, window=2.5) == (None, 1.0)
        assert [lowlevel.report_allowed() for _ in range(5)] == [True] * 3 + [False] * 2

    run(main, clock=actors.MockClock(), long_step=None)
    assert reports() == (0, 0, [2])


@pytest.mark.parametrize("kwargs, error, name", [
    ({"max_count": 0}, ValueError, "max_count"),
    ({"max_count": 2.0}, TypeError, "max_count"),
    ({"max_count": True}, TypeError, "max_count"),
    ({"window": 0}, ValueError, "window"),
    ({"window": float("nan")}, ValueError, "window"),
    ({"window": float("inf")}, ValueError, "window"),
    ({"window": "1"}, TypeError, "window"),
])
def test_bad_limits_are_refused(kwargs, error, name):
    """A bad ``max_count`` or ``window`` raises, naming it, and changes nothing."""
    with pytest.raises(error, match=name):
        lowlevel.set_crash_report_limit(**kwargs)
    assert lowlevel.set_crash_report_limit() == (500, 1.0)
