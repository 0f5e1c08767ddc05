"""Links and exit signals: propagation, trap_exit, kill/killed, the "normal"
rules, spawn_link atomicity, ProcessExit (docs/api.md "Links, monitors, exit signals",
core-decisions.md)."""
from __future__ import annotations

import asyncio
import math

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, run_script, wait_down, wait_forever


def _links(pid):
    return actors.Process.info(pid, "links")


async def _linker(parent, trap=False):
    """A process that links to whatever pid it is sent and reports what it receives."""
    if trap:
        actors.Process.flag("trap_exit", True)
    actors.send(parent, ("linker ready", actors.self()))
    while True:
        msg = await actors.receive()
        match msg:
            case ("link", pid):
                actors.link(pid)
                actors.send(parent, ("linked", pid))
            case ("unlink", pid):
                actors.unlink(pid)
                actors.send(parent, ("unlinked", pid))
            case ("crash", exc):
                raise exc
            case ("stop", reason):
                raise actors.ProcessExit(reason)
            case other:
                actors.send(parent, ("linker got", other))


async def _start_linker(trap=False):
    pid = actors.spawn(_linker, actors.self(), trap)
    await actors.receive(("linker ready", pid))
    return pid


# -- bidirectional, idempotent ----------------------------------------------------


@pytest.mark.parametrize("who_crashes", ["linker", "linked"])
def test_links_are_bidirectional(run, who_crashes):
    """Whichever end of a link crashes, the other end dies with the same reason."""

    async def main():
        a = await _start_linker()
        b = actors.spawn(_linker, actors.self())
        await actors.receive(("linker ready", b))
        actors.send(a, ("link", b))
        await actors.receive(("linked", b))
        assert b in _links(a) and a in _links(b)
        exc = ValueError("boom")
        crasher, other = (a, b) if who_crashes == "linker" else (b, a)
        ref_c, ref_o = actors.monitor(crasher), actors.monitor(other)
        actors.send(crasher, ("crash", exc))
        assert (await actors.receive((ref_c, ANY, ANY))).reason is exc
        assert (await actors.receive((ref_o, ANY, ANY))).reason is exc

    run(main)


def test_linking_twice_is_one_link_and_one_unlink_removes_it(run):
    """link is idempotent: linking twice makes one link; a single unlink removes it."""

    async def main():
        b = await _start_linker()
        actors.link(b)
        actors.link(b)
        assert _links(actors.self()).count(b) == 1
        assert _links(b).count(actors.self()) == 1
        actors.unlink(b)
        assert b not in _links(actors.self())
        assert actors.self() not in _links(b)
        actors.send(b, ("crash", ValueError("not my problem")))
        assert isinstance(await wait_down(b), ValueError)
        return "survived"

    assert run(main) == "survived"


def test_unlink_from_the_other_side_removes_the_link_for_both(run):
    """Unlinking is bidirectional too: either side's unlink removes the link."""

    async def main():
        b = await _start_linker()
        actors.link(b)
        actors.send(b, ("unlink", actors.self()))
        await actors.receive(("unlinked", ANY))
        assert _links(actors.self()) == []
        actors.send(b, ("crash", ValueError("unlinked")))
        assert isinstance(await wait_down(b), ValueError)
        return "survived"

    assert run(main) == "survived"


def test_unlink_of_a_pid_that_is_not_linked_is_harmless(run):
    """unlink of a process we are not linked to (alive or dead) does nothing."""

    async def quick():
        return None

    async def main():
        b = actors.spawn(wait_forever)
        actors.unlink(b)
        dead = actors.spawn(quick)
        await wait_down(dead)
        actors.unlink(dead)
        assert _links(actors.self()) == []
        assert actors.Process.alive(b)

    run(main)


def test_no_exit_signal_arrives_after_unlink(run):
    """After unlink returns, a later crash of the former partner is not seen."""

    async def main():
        actors.Process.flag("trap_exit", True)
        b = actors.spawn_link(_linker, actors.self())
        await actors.receive(("linker ready", b))
        actors.unlink(b)
        actors.send(b, ("crash", ValueError("late")))
        assert isinstance(await wait_down(b), ValueError)
        assert await actors.receive(actors.Exit, timeout=0, default=None) is None

    run(main)


def test_link_to_a_dead_pid_raises_noprocess_when_not_trapping(run):
    """link to a dead pid: a non-trapping caller gets NoProcess raised."""

    async def quick():
        return None

    async def main():
        dead = actors.spawn(quick)
        await wait_down(dead)
        with pytest.raises(actors.NoProcess):
            actors.link(dead)
        assert _links(actors.self()) == []
        return "alive"

    assert run(main) == "alive"


def test_link_to_a_dead_pid_delivers_exit_noproc_when_trapping(run):
    """link to a dead pid: a trapping caller gets Exit(pid, "noproc")."""

    async def quick():
        return None

    async def main():
        actors.Process.flag("trap_exit", True)
        dead = actors.spawn(quick)
        await wait_down(dead)
        actors.link(dead)
        ex = await actors.receive(actors.Exit)
        assert ex == actors.Exit(dead, "noproc")
        assert (ex.pid, ex.reason) == (dead, "noproc")

    run(main)


@pytest.mark.parametrize("bad", [42, None, 1.5])
def test_link_and_exit_reject_non_pids_with_type_error(run, bad):
    """link/unlink/exit take a Pid: anything else is a TypeError naming `pid`."""

    async def main():
        with pytest.raises(TypeError, match="pid"):
            actors.link(bad)
        with pytest.raises(TypeError, match="pid"):
            actors.exit(bad, "boom")
        assert _links(actors.self()) == []

    run(main)


# -- spawn_link ------------------------------------------------------------------------


async def _instant_crash(exc):
    raise exc


def test_spawn_link_is_atomic_for_a_trapping_parent(run):
    """spawn_link links before the child can run: a child that crashes at once
    still reaches the parent as Exit(child, reason), never "noproc"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        exc = RuntimeError("instant")
        child = actors.spawn_link(_instant_crash, exc)
        assert child in _links(actors.self())
        ex = await actors.receive(actors.Exit)
        assert ex.pid == child
        assert ex.reason is exc

    run(main)


def test_spawn_link_is_atomic_for_a_non_trapping_parent(run):
    """A child that crashes at once kills its non-trapping spawn_link parent with the same reason."""

    async def parent(exc):
        actors.spawn_link(_instant_crash, exc)
        await actors.receive("never")

    async def main():
        exc = RuntimeError("instant")
        pid, ref = actors.spawn_monitor(parent, exc)
        down = await actors.receive((ref, ANY, ANY))
        assert down.reason is exc

    run(main)


# -- propagation rules --------------------------------------------------------------


def test_a_normal_exit_does_not_kill_a_linked_non_trapping_process(run):
    """A linked process exiting "normal" (return or ProcessExit("normal")) kills nobody."""

    async def returns():
        return "done"

    async def exits_normal():
        raise actors.ProcessExit("normal")

    async def main():
        for fn in (returns, exits_normal):
            child = actors.spawn_link(fn)
            assert await wait_down(child) == "normal"
        assert actors.Process.alive(actors.self())
        assert _links(actors.self()) == []
        return "alive"

    assert run(main) == "alive"


@pytest.mark.parametrize("reason", ["shutdown", ("shutdown", "why"), "custom", 42])
def test_an_abnormal_exit_kills_linked_processes_with_the_same_reason(run, reason):
    """Any reason but "normal" kills a linked non-trapping process with that reason."""

    async def main():
        a = await _start_linker()
        b = await _start_linker()
        actors.send(a, ("link", b))
        await actors.receive(("linked", b))
        ref = actors.monitor(b)
        actors.send(a, ("stop", reason))
        assert (await actors.receive((ref, ANY, ANY))).reason == reason

    run(main)


def test_exit_signals_propagate_along_a_chain_of_links(run):
    """A process killed by a link signal propagates the same reason along its own links."""

    async def main():
        chain = [await _start_linker() for _ in range(5)]
        for left, right in zip(chain, chain[1:]):
            actors.send(left, ("link", right))
            await actors.receive(("linked", right))
        refs = [actors.monitor(p) for p in chain]
        exc = ValueError("chain")
        actors.send(chain[0], ("crash", exc))
        for ref in refs:
            assert (await actors.receive((ref, ANY, ANY))).reason is exc

    run(main)


def test_exit_with_a_reason_kills_a_non_trapping_target(run):
    """exit(pid, reason) kills a non-trapping target with that reason."""

    async def main():
        pid = actors.spawn(wait_forever)
        ref = actors.monitor(pid)
        actors.exit(pid, ("shutdown", "by main"))
        assert (await actors.receive((ref, ANY, ANY))).reason == ("shutdown", "by main")
        assert not actors.Process.alive(pid)

    run(main)


def test_exit_to_a_dead_pid_is_a_no_op(run):
    """Sending an exit signal to a dead process does nothing and raises nothing."""

    async def quick():
        return None

    async def main():
        pid = actors.spawn(quick)
        await wait_down(pid)
        actors.exit(pid, "boom")
        actors.exit(pid, "kill")
        return "ok"

    assert run(main) == "ok"


# -- trap_exit ----------------------------------------------------------------------


def test_flag_trap_exit_returns_the_old_value(run):
    """Process.flag("trap_exit", v) sets the flag and returns the previous value."""

    async def main():
        assert actors.Process.flag("trap_exit", True) is False
        assert actors.Process.flag("trap_exit", True) is True
        assert actors.Process.flag("trap_exit", False) is True
        assert actors.Process.flag("trap_exit", False) is False

    run(main)


def test_a_trapping_process_gets_exit_messages_and_survives(run):
    """A trapping process receives a linked crash as Exit(pid, reason) and keeps running."""

    async def main():
        actors.Process.flag("trap_exit", True)
        exc = KeyError("k")
        child = actors.spawn_link(_instant_crash, exc)
        msg = await actors.receive()
        assert isinstance(msg, actors.Exit)
        match msg:
            case actors.Exit(pid=p, reason=r):
                assert p == child and r is exc
            case _:
                pytest.fail("Exit did not match a class pattern")
        match msg:
            case (p, r):
                assert p == child and r is exc
            case _:
                pytest.fail("Exit did not match a sequence pattern")
        return "trapped"

    assert run(main) == "trapped"


def test_a_trapping_process_sees_normal_exits_of_its_links(run):
    """A trapping process gets Exit(pid, "normal") when a linked process returns."""

    async def returns():
        return None

    async def main():
        actors.Process.flag("trap_exit", True)
        child = actors.spawn_link(returns)
        assert await actors.receive(actors.Exit) == actors.Exit(child, "normal")

    run(main)


def test_a_trapping_process_gets_exit_signals_sent_with_exit_as_messages(run):
    """exit(pid, reason) to a trapping process arrives as Exit(sender, reason), even "normal"."""

    async def trapper(parent):
        actors.Process.flag("trap_exit", True)
        actors.send(parent, "trapping")
        for _ in range(2):
            actors.send(parent, ("trapped", await actors.receive(actors.Exit)))

    async def main():
        me = actors.self()
        pid, ref = actors.spawn_monitor(trapper, me)
        await actors.receive("trapping")
        actors.exit(pid, "custom")
        actors.exit(pid, "normal")
        assert await actors.receive(("trapped", ANY)) == ("trapped", actors.Exit(me, "custom"))
        assert await actors.receive(("trapped", ANY)) == ("trapped", actors.Exit(me, "normal"))
        assert (await actors.receive((ref, ANY, ANY))).reason == "normal"

    run(main)


def test_messages_sent_before_exiting_arrive_before_the_exit_message(run):
    """Signal order: a dying process's messages reach a trapping link before its Exit."""

    async def talker(parent):
        for i in range(3):
            actors.send(parent, i)
        raise ValueError("after talking")

    async def main():
        actors.Process.flag("trap_exit", True)
        child = actors.spawn_link(talker, actors.self())
        got = [await actors.receive() for _ in range(4)]
        assert got[:3] == [0, 1, 2]
        assert isinstance(got[3], actors.Exit) and got[3].pid == child

    run(main)


def test_an_exit_signal_keeps_its_place_among_the_senders_messages(run):
    """Signals and messages from one sender stay in order: a trapping target sees
    Exit between the messages sent before and after exit()."""

    async def trapper(parent):
        actors.Process.flag("trap_exit", True)
        actors.send(parent, "ready")
        await actors.receive("report")
        actors.send(parent, ("mailbox", actors.flush()))

    async def main():
        me = actors.self()
        pid = actors.spawn(trapper, me)
        await actors.receive("ready")
        actors.send(pid, 1)
        actors.send(pid, 2)
        actors.exit(pid, "x")
        actors.send(pid, 3)
        actors.send(pid, "report")
        (_, mailbox) = await actors.receive(("mailbox", ANY))
        assert mailbox == [1, 2, actors.Exit(me, "x"), 3]

    run(main)


def test_exit_self_while_trapping_becomes_a_message(run):
    """exit(self(), reason) in a trapping process arrives as Exit(self(), reason)."""

    async def main():
        actors.Process.flag("trap_exit", True)
        actors.exit(actors.self(), "to myself")
        got = await actors.receive(actors.Exit, timeout=0, default=None)
        assert got == actors.Exit(actors.self(), "to myself")
        return "alive"

    assert run(main) == "alive"


def test_linking_to_self_does_nothing(run):
    """link(self()) is a no-op: a process is never in its own links."""

    async def main():
        actors.link(actors.self())
        assert actors.Process.info(actors.self(), "links") == []

    run(main)


def test_a_process_hit_by_a_killing_signal_is_exiting_at_once(run):
    """After a killing exit signal, the target counts as gone straight away: not
    alive, status "exiting", and a new monitor or link gets "noproc"."""

    async def main():
        pid = actors.spawn(wait_forever)
        ref = actors.monitor(pid)
        actors.exit(pid, "boom")
        assert actors.Process.alive(pid) is False
        assert actors.Process.info(pid, "status") in ("exiting", None)
        late = actors.monitor(pid)
        assert await actors.receive((late, ANY, ANY), timeout=0, default=None) == actors.Down(
            late, pid, "noproc"
        )
        with pytest.raises(actors.NoProcess):
            actors.link(pid)
        assert (await actors.receive((ref, ANY, ANY))).reason == "boom"

    run(main)


# -- kill / killed -------------------------------------------------------------------


def test_exit_kill_cannot_be_trapped(run):
    """exit(pid, "kill") kills even a trapping process; monitors see "killed"."""

    async def trapper(parent):
        actors.Process.flag("trap_exit", True)
        actors.send(parent, "trapping")
        msg = await actors.receive()
        actors.send(parent, ("survived with", msg))

    async def main():
        pid = actors.spawn(trapper, actors.self())
        await actors.receive("trapping")
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"
        assert actors.flush() == []

    run(main)


def test_links_of_a_killed_process_see_killed(run):
    """After exit(pid, "kill"), a trapping link gets Exit(pid, "killed") and a
    non-trapping link dies with "killed"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        victim = actors.spawn_link(wait_forever)
        bystander = await _start_linker()
        actors.send(bystander, ("link", victim))
        await actors.receive(("linked", victim))
        ref = actors.monitor(bystander)
        actors.exit(victim, "kill")
        assert await actors.receive(actors.Exit) == actors.Exit(victim, "killed")
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"

    run(main)


def test_a_kill_reason_arriving_through_a_link_is_trappable(run):
    """A linked process exiting with reason "kill" (not exit/2) sends a trappable signal."""

    async def main():
        actors.Process.flag("trap_exit", True)
        child = await _start_linker()
        actors.link(child)
        actors.send(child, ("stop", "kill"))
        assert await actors.receive(actors.Exit) == actors.Exit(child, "kill")
        return "survived"

    assert run(main) == "survived"


def test_a_kill_reason_through_a_link_kills_a_non_trapping_process_with_that_reason(run):
    """Like any abnormal reason, a link's "kill" kills a non-trapping partner with "kill"."""

    async def main():
        a = await _start_linker()
        b = await _start_linker()
        actors.send(b, ("link", a))
        await actors.receive(("linked", a))
        ref = actors.monitor(b)
        actors.send(a, ("stop", "kill"))
        assert (await actors.receive((ref, ANY, ANY))).reason == "kill"

    run(main)


# -- the "normal" reason sent with exit() --------------------------------------------


def test_exit_normal_is_ignored_by_a_non_trapping_target(run):
    """exit(pid, "normal") from another process does not stop a non-trapping target."""

    async def main():
        server = actors.spawn(echo)
        actors.exit(server, "normal")
        assert await roundtrip(server, "after") == ("echo", "after")
        assert actors.Process.alive(server)

    run(main)


def test_exit_self_normal_ends_the_caller(run):
    """exit(self(), "normal") is not ignored: the caller exits with reason "normal"."""

    async def suicidal(parent):
        actors.exit(actors.self(), "normal")
        await actors.receive()
        actors.send(parent, "still running")

    async def main():
        pid, ref = actors.spawn_monitor(suicidal, actors.self())
        actors.send(pid, "wake up")
        assert (await actors.receive((ref, ANY, ANY))).reason == "normal"
        assert actors.flush() == []

    run(main)


# -- ProcessExit -----------------------------------------------------------------------


def test_process_exit_is_a_base_exception_carrying_the_reason():
    """ProcessExit is a BaseException (like SystemExit), not an Exception, with .reason."""
    e = actors.ProcessExit(("shutdown", 1))
    assert isinstance(e, BaseException) and not isinstance(e, Exception)
    assert e.reason == ("shutdown", 1)


def test_raising_process_exit_ends_the_process_with_that_reason(run):
    """raise ProcessExit(reason) ends the process with exactly that reason."""

    async def quitter(reason):
        try:
            raise actors.ProcessExit(reason)
        except Exception:  # a BaseException is not caught by `except Exception`
            actors.send(actors.self(), "caught by except Exception")

    async def main():
        for reason in ["normal", "custom", ("shutdown", 3)]:
            pid = actors.spawn(quitter, reason)
            assert await wait_down(pid) == reason

    run(main)


def test_a_killing_signal_raises_process_exit_at_the_current_await(run):
    """An exit signal that kills is raised as ProcessExit(reason) at the victim's
    await, so except/finally blocks and context managers run."""

    class Resource:
        def __init__(self, parent):
            self.parent = parent

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            actors.send(self.parent, "context closed")

    async def victim(parent):
        with Resource(parent):
            try:
                actors.send(parent, "waiting")
                await actors.receive("never")
            except actors.ProcessExit as e:
                actors.send(parent, ("caught", e.reason))
                raise
            finally:
                actors.send(parent, "finally ran")

    async def main():
        pid = actors.spawn(victim, actors.self())
        await actors.receive("waiting")
        ref = actors.monitor(pid)
        actors.exit(pid, "stop it")
        assert (await actors.receive((ref, ANY, ANY))).reason == "stop it"
        assert actors.flush() == [("caught", "stop it"), "finally ran", "context closed"]

    run(main)


def test_kill_closes_the_coroutine_running_finally_blocks(run):
    """"kill" closes the coroutine: finally blocks still run (without awaiting)."""

    async def victim(parent):
        try:
            actors.send(parent, "waiting")
            await actors.receive("never")
        finally:
            actors.send(parent, "finally ran")

    async def main():
        pid = actors.spawn(victim, actors.self())
        await actors.receive("waiting")
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"
        assert actors.flush() == ["finally ran"]

    run(main)


# -- exit signals cannot be swallowed -----------------------------------------
# On the BEAM user code cannot catch an exit signal.  Here the signal is raised
# as ProcessExit so that finally blocks and context managers run, but a process
# that catches it and awaits again gets it again, and one that keeps catching
# it is closed as if killed, with the signal's reason.


async def _zombie(parent, how):
    """Catches everything around an await, forever: the anti-pattern itself."""
    actors.send(parent, ("zombie ready", actors.self()))
    while True:
        try:
            if how == "sleep":
                await actors.sleep(0.5)
            elif how == "sleep forever":
                await actors.sleep(math.inf)
            elif how == "receive":
                await actors.receive()
            elif how == "asyncio":
                await asyncio.sleep(0.5)
            elif how == "checkpoint":
                await actors.lowlevel.checkpoint()
        except BaseException:
            pass


@pytest.mark.parametrize("how", ["sleep", "sleep forever", "receive", "asyncio", "checkpoint"])
def test_a_process_that_catches_its_exit_signal_still_exits_with_its_reason(run, clock, caplog, how):
    """exit(p, "shutdown") ends a process that catches BaseException around
    each await: it leaves Process.list(), its monitor and its link fire with
    "shutdown", and a warning says what it did wrong."""

    async def main():
        actors.Process.flag("trap_exit", True)
        pid = actors.spawn_link(_zombie, actors.self(), how)
        await actors.receive(("zombie ready", pid))
        ref = actors.monitor(pid)
        actors.exit(pid, "shutdown")
        assert await actors.receive((ref, ANY, ANY), timeout=5) == actors.Down(ref, pid, "shutdown")
        assert await actors.receive(actors.Exit, timeout=5) == actors.Exit(pid, "shutdown")
        assert pid not in actors.Process.list()
        assert not actors.Process.alive(pid)

    run(main, clock=clock)
    assert "caught its exit signal" in caplog.text


def test_cleanup_that_awaits_after_an_exit_signal_gets_the_signal_again(run):
    """A finally block runs, but an await inside it re-raises the exit signal
    (the process is exiting: it may not wait any more); the reason stays."""

    async def worker(parent):
        try:
            actors.send(parent, "ready")
            await actors.receive("never")
        finally:
            try:
                await actors.sleep(10)
                actors.send(parent, "slept in cleanup")
            except actors.ProcessExit as e:
                actors.send(parent, ("cleanup interrupted", e.reason))
                raise

    async def main():
        pid, ref = actors.spawn_monitor(worker, actors.self())
        await actors.receive("ready")
        actors.exit(pid, "stop")
        assert (await actors.receive((ref, ANY, ANY), timeout=5)).reason == "stop"
        assert actors.flush() == [("cleanup interrupted", "stop")]

    run(main)


def test_a_supervisor_child_with_infinite_shutdown_that_swallows_exits_is_stopped(run, clock):
    """A child spec with shutdown=None (wait forever) whose process catches
    its "shutdown" signal does not hang Supervisor.stop."""

    async def start_zombie(test):
        return actors.spawn_link(_zombie, test, "sleep")

    async def main():
        sup = await actors.Supervisor.start_link(
            [actors.ChildSpec("z", (start_zombie, (actors.self(),)), shutdown=None)],
            strategy="one_for_one")
        await actors.receive(("zombie ready", ANY), timeout=5)
        ref = actors.monitor(sup)
        await actors.Supervisor.stop(sup)
        assert (await actors.receive((ref, ANY, ANY), timeout=5)).reason == "normal"

    run(main, clock=clock)


def test_kill_ends_a_process_whose_cleanup_awaits(run):
    """`exit(pid, "kill")` cannot be ignored: it closes the process even while
    the process is running `finally` code (here awaiting a future) after an
    earlier "shutdown" signal; its monitors see "killed"."""

    hang = []

    async def worker(parent):
        try:
            actors.send(parent, "ready")
            await actors.receive("never sent")
        finally:
            actors.send(parent, "cleaning up")
            hang.append(asyncio.get_running_loop().create_future())
            await hang[0]                      # a cleanup that hangs

    async def main():
        pid = actors.spawn(worker, actors.self())
        await actors.receive("ready")
        ref = actors.monitor(pid)
        actors.exit(pid, "shutdown")
        await actors.receive("cleaning up")
        actors.exit(pid, "kill")
        try:
            down = await actors.receive((ref, ANY, ANY), timeout=60, default=None)
        finally:
            if not hang[0].done():             # let a survivor finish, so run() can shut down
                hang[0].set_result(None)
        assert down is not None, "the killed process is still there"
        assert down.reason == "killed"

    run(main, clock=actors.MockClock(autojump=True))


def test_a_process_that_swallows_exit_signals_cannot_block_the_scheduler(loop_name):
    """A process that catches ProcessExit around `receive` in a loop (a
    catch-all server loop) must not spin forever without yielding: it is
    closed as if killed, and its monitor fires with the signal's reason
    (the later "kill" finds it gone)."""
    proc = run_script(loop_name, """
        import actors

        async def server():
            while True:
                try:
                    await actors.receive()
                except BaseException:
                    pass

        async def main():
            pid, ref = actors.spawn_monitor(server)
            await actors.sleep(0)
            actors.exit(pid, "shutdown")
            await actors.sleep(0)
            actors.exit(pid, "kill")
            down = await actors.receive((ref, actors.ANY, actors.ANY), timeout=60, default=None)
            return down.reason if down else "still alive"

        print(actors.run(main, loop=LOOP, clock=actors.MockClock(autojump=True)))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "shutdown"
