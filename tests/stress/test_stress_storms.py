"""Crash storms: supervisors, links and monitors under many crashes.

Each crash must be seen exactly once (one ``Exit`` per link, one ``Down`` per
monitor, one restart per crash), the process count must come back to its
baseline after each round, and the RSS must stay flat across rounds.
"""
import pytest
from stresslib import scale

from actors.stress import rss_flat, run_scenario

pytestmark = pytest.mark.stress

ROUNDS = scale(4, 8)


def check(result):
    assert result.counts_exact, (result.expected, result.got)
    assert result.procs_back, (result.baseline, result.procs)
    assert rss_flat(result.rss), result.rss


def test_one_for_one_restarts_each_crashed_child_once(loop_name):
    """one_for_one: a crashed child is restarted (alone) once per crash, with
    max_restarts high enough; stopping the supervisor stops the last ones."""
    check(run_scenario("storm_supervisor", rounds=ROUNDS, children=10, waves=scale(10, 100),
                       loop=loop_name))


def test_dynamic_supervisor_restarts_each_crashed_child_once(loop_name):
    """DynamicSupervisor: each crash gives one restart; terminate_child stops
    each child with reason "shutdown"."""
    check(run_scenario("storm_dynamic", rounds=ROUNDS, children=10, waves=scale(10, 100),
                       loop=loop_name))


def test_trapping_parent_gets_one_exit_per_linked_child(loop_name):
    """A process that traps exits gets exactly one Exit(pid, reason) per linked
    child, with the child's own reason (crash, "normal" or "shutdown")."""
    check(run_scenario("storm_links", rounds=ROUNDS, n=scale(2000, 50_000), loop=loop_name))


def test_spawn_monitor_gives_one_down_per_child(loop_name):
    """spawn_monitor: exactly one Down(ref, pid, reason) per child, with its ref."""
    check(run_scenario("storm_monitors", rounds=ROUNDS, n=scale(2000, 50_000), loop=loop_name))
