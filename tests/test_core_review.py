"""Bugs found by reviewing the compiled core (each test states the rule it checks).

Tests that would crash the interpreter (segfault) or hang it forever when the
bug is present run their program in a subprocess, with a time limit that is
only a guard: a correct core finishes them at once.
"""
from __future__ import annotations

import asyncio
import gc
import math
import weakref

import pytest

import actors
from actors import ANY
from helpers import run_script


# -- timers -------------------------------------------------------------------


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


# -- exit signals ---------------------------------------------------------------


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


def test_runtime_shutdown_finishes_when_a_cleanup_hangs(loop_name):
    """After `main` exits, remaining processes get "shutdown" and are killed
    after the shutdown timeout (decisions: Running), so `actors.run` returns
    even if a process's `finally` block awaits something that never finishes."""
    proc = run_script(loop_name, """
        import asyncio, actors

        async def stubborn():
            try:
                await actors.receive("never sent")
            finally:
                await asyncio.Event().wait()

        async def main():
            actors.spawn(stubborn)
            await actors.sleep(0)
            return "done"

        print(actors.run(main, loop=LOOP, clock=actors.MockClock(autojump=True)))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"


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


def test_run_returns_none_when_main_exits_itself_with_normal(run):
    """`exit(self(), "normal")` ends the caller with reason "normal" (as on
    the BEAM), and a `main` that ends with reason "normal" makes `actors.run`
    return None (API.md section 7), not raise ProcessExit("normal")."""

    async def main():
        actors.exit(actors.self(), "normal")

    assert run(main) is None


# -- messages handed straight to a waiting receiver --------------------------


def test_a_handed_off_message_is_not_lost_when_an_exit_signal_is_caught(run):
    """Exit signals overtake messages but do not destroy them: a process that
    catches ProcessExit still finds, with flush(), every message sent to it
    before the signal, including one that matched its pending receive."""

    async def worker(parent):
        try:
            actors.send(parent, "ready")
            await actors.receive(int)
        except actors.ProcessExit:
            actors.send(parent, ("left over", actors.flush()))
            raise

    async def main():
        pid = actors.spawn(worker, actors.self())
        await actors.receive("ready")          # the worker is now parked in receive(int)
        actors.send(pid, "a")
        actors.send(pid, 1)                    # matches the pending receive
        actors.send(pid, "b")
        actors.exit(pid, "shutdown")
        _, left = await actors.receive(("left over", ANY))
        assert left == ["a", 1, "b"]

    run(main)


def test_process_info_shows_a_message_that_is_not_received_yet(run):
    """Process.info's `messages`/`message_queue_len` list every message sent to
    the process that its code has not received yet, in order (the BEAM's
    message queue), even one that matched a pending receive."""

    async def worker(parent):
        actors.send(parent, "ready")
        await actors.receive(int)
        await actors.receive("never sent")

    async def main():
        pid = actors.spawn(worker, actors.self())
        await actors.receive("ready")
        actors.send(pid, "a")
        actors.send(pid, 1)
        assert actors.Process.info(pid, "messages") == ["a", 1]
        assert actors.Process.info(pid, "message_queue_len") == 2
        actors.exit(pid, "kill")

    run(main)


# -- reentrancy: user code inside patterns -------------------------------------


def test_a_pattern_that_sends_to_its_own_receiver_loses_no_message(run):
    """send never loses a message: a `where` predicate that itself sends to the
    waiting receiver (user code run by the sender's match) must leave both the
    original message and the new one deliverable."""

    async def receiver(parent):
        me = actors.self()

        def pred(msg):
            if msg == "first":
                actors.send(me, "second")
            return True

        actors.send(parent, "ready")
        a = await actors.receive(actors.where(pred))
        b = await actors.receive(timeout=60, default=None)
        actors.send(parent, ("got", a, b))

    async def main():
        pid = actors.spawn(receiver, actors.self())
        await actors.receive("ready")
        actors.send(pid, "first")
        _, a, b = await actors.receive(("got", ANY, ANY))
        assert sorted([a, b], key=str) == ["first", "second"]

    run(main, clock=actors.MockClock(autojump=True))


def test_flush_inside_a_receive_pattern_does_not_crash(loop_name):
    """A pattern's user code that empties the mailbox (flush()) while receive is
    scanning it must not make the core read freed mailbox nodes (crash): it
    either works or raises a Python error in the process."""
    proc = run_script(loop_name, """
        import actors

        async def main():
            me = actors.self()
            for i in range(5):
                actors.send(me, ("junk", i))
            actors.send(me, "target")

            def pred(m):
                if m == ("junk", 1):
                    actors.flush()
                return m == "target"

            try:
                await actors.receive(actors.where(pred), timeout=0, default=None)
            except Exception:
                pass
            for i in range(10):
                actors.send(me, ("new", i))
            return len(actors.flush())

        print(actors.run(main, loop=LOOP))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Either flush() inside the pattern was refused (RuntimeError, mailbox kept:
    # 6 + 10) or it worked (10): no crash either way.
    assert proc.stdout.strip() in ("10", "16")


# -- fairness -----------------------------------------------------------------------


def test_a_polling_receive_loop_lets_other_processes_run(run):
    """Fairness (reductions, as on the BEAM): a process polling with
    `receive(timeout=0)` in a loop is preempted, so the process it waits for
    gets to run and its message arrives."""

    async def helper(parent):
        actors.send(parent, "ready")

    async def main():
        actors.spawn(helper, actors.self())
        for _ in range(100_000):
            if await actors.receive("ready", timeout=0, default=None) is not None:
                return
        pytest.fail("100,000 polls and the other process never ran")

    run(main)


def test_retrying_an_unawaitable_in_a_loop_does_not_crash(loop_name):
    """A process that keeps awaiting something actors cannot wait for and
    catches the RuntimeError each time (a retry loop) gets that error every
    time; the core must not recurse once per retry until the C stack overflows."""
    proc = run_script(loop_name, """
        import actors

        class Foreign:
            def __await__(self):
                yield 42            # what a trio/curio awaitable would yield

        async def main():
            errors = 0
            while errors < 100_000:
                try:
                    await Foreign()
                except RuntimeError:
                    errors += 1
            return errors

        print(actors.run(main, loop=LOOP))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "100000"
