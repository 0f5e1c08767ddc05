"""Floods: one process's mailbox holds a million messages.

The rest of the system must keep working: timers fire, other processes
exchange messages, asyncio tasks run. (How late they are is a figure of
``python -m actors stress``, not something a test asserts.)
"""
import pytest
from stresslib import scale

from actors.stress import run_scenario

pytestmark = pytest.mark.stress

MESSAGES = scale(1_000_000, 3_000_000)


def test_timers_and_messages_work_while_a_mailbox_is_flooded(loop_name):
    """With 10^6 messages queued in one process, actors.sleep, send_after,
    asyncio.sleep and a ping-pong between two other processes all complete,
    and the flooded mailbox loses nothing."""
    result = run_scenario("flood", messages=MESSAGES, pings=scale(100, 10_000), ticks=5,
                          loop=loop_name)
    assert result.counts_exact, (result.expected, result.got)
    assert result.procs_back, (result.baseline, result.procs)


def test_memory_of_a_dropped_flood_is_given_back(loop_name):
    """Once a flooded process is gone, most of the memory its queue took is
    given back to the system (RSS after < before + half of what it grew)."""
    rss = run_scenario("flood", messages=MESSAGES, pings=1, ticks=1, loop=loop_name).extra["rss"]
    assert rss["after"] - rss["before"] < (rss["peak"] - rss["before"]) / 2, rss
