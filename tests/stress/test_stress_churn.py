"""Churn: short-lived processes, monitors, timers and names, over and over.

About 10^5 operations of each kind (10^6 with ``ACTORS_STRESS=long``): the
counts come back to their baseline after every round, and the RSS stays flat
(the last round within 1.3x of the second: nothing leaks per operation).
"""
import pytest
from stresslib import scale

from actors.stress import rss_flat, run_scenario

pytestmark = pytest.mark.stress

ROUNDS = scale(4, 5)
N = scale(25_000, 200_000)


@pytest.mark.parametrize("name", [
    "churn_spawn",       # spawn, then exit "normal"
    "churn_monitor",     # monitor, then demonitor
    "churn_timers",      # send_after, then cancel_timer
    "churn_names",       # register, then unregister
    "churn_registry",    # Registry.register, then exit
])
def test_churn_leaves_nothing_behind(name, loop_name):
    """Whatever is created and released again leaves no process, name,
    monitor, timer, registry entry or memory behind."""
    result = run_scenario(name, rounds=ROUNDS, n=N, loop=loop_name)
    assert result.counts_exact, (result.expected, result.got)
    assert result.procs_back, (result.baseline, result.procs)
    assert rss_flat(result.rss), result.rss
