"""What the runtime counts and keeps for the observer (issue 12).

The observer's System view charts crash and restart rates, its supervision
graph shows each child's last restart, and it builds the table of a large
system a slice at a time; these are the runtime's side of those promises.
"""
from __future__ import annotations

import logging

import pytest

import actors
from actors import _supervision
from actors.lowlevel import current_scheduler, process_table


async def idle():
    await actors.receive("never")


async def returns():
    return 1


async def raises():
    raise ValueError("boom")


async def exits_normally():
    raise actors.ProcessExit("normal")


async def exits_abnormally():
    raise actors.ProcessExit("bad_state")


@pytest.fixture
def quiet_crashes():
    """The crashes below are on purpose: keep their reports off the test output."""
    logger = logging.getLogger("actors")
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(logging.NOTSET)


def test_crashes_count_the_processes_that_ended_by_raising(run, quiet_crashes):
    """Scheduler.crashes counts a process that raised (an exception, or an
    abnormal ProcessExit): the ones with a crash report.  A return, a normal
    exit and a kill by another process are not crashes."""
    async def main():
        sched = current_scheduler()
        before = sched.crashes
        for fn in (returns, exits_normally, raises, exits_abnormally, idle):
            pid = actors.spawn(fn)
            ref = actors.monitor(pid)
            if fn is idle:
                actors.exit(pid, "kill")
            await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
        assert sched.crashes == before + 2

    run(main)


def test_process_table_of_some_processes(run):
    """``process_table(pids=...)`` gives the rows of those processes (the live
    ones, in the order given), the same rows as the whole table; a bad pid is
    a TypeError naming the argument."""
    async def main():
        a, b, c = actors.spawn(idle), actors.spawn(idle), actors.spawn(idle)
        actors.exit(b, "kill")
        await actors.sleep(0)
        rows = process_table(pids=[c, b, a])
        assert [r[0] for r in rows] == [c, a]
        whole = {r[0]: r for r in process_table()}
        assert rows == [whole[c], whole[a]]
        assert process_table(pids=[]) == []
        with pytest.raises(TypeError, match="pids"):
            process_table(pids=["<0.1.0>"])

    run(main)


class Flaky(actors.GenServer):
    def handle_info(self, msg):
        raise RuntimeError(msg)


def test_a_supervisor_keeps_each_child_s_last_restart(run, quiet_crashes):
    """A restarted child's state records the reason and the (wall-clock) time
    of its last restart, and every restart is counted in
    ``_supervision.restart_total``."""
    import time

    async def main():
        sup = await actors.Supervisor.start_link([actors.Supervisor.child_spec(Flaky, id="f")])
        [child] = await actors.Supervisor.which_children(sup)
        before, t0 = _supervision.restart_total, time.time()
        ref = actors.monitor(child.pid)
        actors.send(child.pid, "first")
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
        state = await actors.sys.get_state(sup)
        [f] = state["children"].values()
        reason, when = f.last_restart
        assert isinstance(reason, RuntimeError) and reason.args == ("first",)
        assert t0 <= when <= time.time()
        assert f.restarts == 1 and _supervision.restart_total == before + 1

    run(main)
