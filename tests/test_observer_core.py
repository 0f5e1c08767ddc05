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


def test_process_table_continues_after_a_process(run):
    """``after=pid`` starts with the first process spawned after ``pid``, alive
    or dead, and ``limit=N`` stops after N rows: a table walked a slice at a
    time misses nothing and repeats nothing."""
    async def main():
        pids = [actors.spawn(idle) for _ in range(10)]
        whole = [r[0] for r in process_table()]
        start = whole.index(pids[0])
        assert [r[0] for r in process_table(after=pids[2], limit=3)] == pids[3:6]
        assert [r[0] for r in process_table(after=pids[-1])] == whole[whole.index(pids[-1]) + 1:]
        actors.exit(pids[4], "kill")
        await actors.sleep(0)
        assert [r[0] for r in process_table(after=pids[4], limit=2)] == pids[5:7]
        walked, cursor = [], None
        while rows := process_table(after=cursor, limit=4):
            walked += [r[0] for r in rows]
            cursor = rows[-1][0]
        assert walked == [r[0] for r in process_table()]
        assert [r[0] for r in process_table(limit=2)] == whole[:2]
        assert process_table(limit=0) == [] and start >= 0
        for bad in (-1, 1.5, True):
            with pytest.raises(ValueError, match="limit"):
                process_table(limit=bad)
        with pytest.raises(TypeError, match="after"):
            process_table(after="<0.1.0>")

    run(main)


def test_process_info_with_a_limit_lists_some_links_and_monitors(run):
    """With ``mailbox_limit=N``, ``Process.info`` lists at most N links,
    monitors and monitored_by (a supervisor of 100,000 children is not sorted
    whole for a page); without it, all of them."""
    async def hub():
        for pid in await actors.receive():
            actors.link(pid)
            actors.monitor(pid)
        await actors.receive("never")

    async def main():
        others = [actors.spawn(idle) for _ in range(30)]
        center = actors.spawn(hub)
        actors.send(center, others)
        for pid in others:
            actors.monitor(center)
        await actors.sleep(0)
        full = actors.lowlevel.process_info(center)
        assert len(full["links"]) == 30 and len(full["monitors"]) == 30
        assert len(full["monitored_by"]) == 30
        some = actors.lowlevel.process_info(center, mailbox_limit=5)
        assert len(some["links"]) == 5 and set(some["links"]) <= set(others)
        assert some["links"] == sorted(some["links"], key=lambda p: int(str(p).split(".")[1]))
        assert len(some["monitors"]) == 5 and len(some["monitored_by"]) == 5
        assert len(actors.lowlevel.process_info(center, "links", mailbox_limit=50)) == 30

    run(main)
