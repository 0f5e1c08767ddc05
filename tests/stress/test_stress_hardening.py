"""Hardening: inputs and programs that once crashed, hung or starved the core.

Cases that could take the interpreter down run in a fresh interpreter
(``run_python``), so a segfault fails the test instead of killing pytest.
"""
import threading
import time

import pytest
from stresslib import describe, run_python, scale

import actors
from actors import ANY, Down, Exit

pytestmark = pytest.mark.stress

DEEP = 100_000

DEEP_RECEIVE = """
    import actors

    def nest(leaf, depth={depth}):
        for _ in range(depth):
            leaf = (leaf,)
        return leaf

    async def receiver(parent, parked):
        pattern = nest(actors.ANY)
        if parked:
            actors.send(parent, "parked")    # the parent runs once we are parked
        try:
            await actors.receive(pattern, timeout=60)
            actors.send(parent, "matched")
        except RecursionError:
            actors.send(parent, "RecursionError")

    async def main(parked):
        me = actors.self()
        p = actors.spawn(receiver, me, parked)
        if parked:
            await actors.receive("parked")
        actors.send(p, nest(1))
        return await actors.receive(timeout=60)

    print(actors.run(main, {parked}, loop="{loop}"))
"""


@pytest.mark.parametrize("parked", [False, True], ids=["queued", "parked"])
def test_deep_pattern_raises_recursion_error_in_the_receiver(parked, loop_name):
    """A 100,000-deep tuple received with an equally deep pattern raises
    RecursionError in the receiving process (whether the message was queued
    before the receive or handed to a parked receiver), never a segfault."""
    proc = run_python(DEEP_RECEIVE.format(depth=DEEP, parked=parked, loop=loop_name))
    assert proc.returncode == 0 and proc.stdout.strip() == "RecursionError", describe(proc)


ZOMBIE = """
    import actors
    from actors import ANY, Down, Exit

    async def zombie(parent):
        actors.send(parent, "ready")
        while True:
            try:
                await actors.sleep(0.5)
            except BaseException:
                pass

    async def main():
        actors.Process.flag("trap_exit", True)
        me = actors.self()
        p = actors.spawn_link(zombie, me)
        ref = actors.monitor(p)
        await actors.receive("ready")
        actors.exit(p, "{reason}")
        exit_ = await actors.receive(Exit(p, ANY), timeout=10, default=None)
        down = await actors.receive(Down(ref, ANY, ANY), timeout=10, default=None)
        return (exit_ and exit_.reason, down and down.reason, actors.Process.alive(p))

    print(actors.run(main, loop="{loop}", clock=actors.MockClock(autojump=True)))
    print("runtime stopped")
"""


def test_process_that_swallows_exit_signals_still_dies(loop_name):
    """A process that catches every exception at its await still dies of
    exit(pid, "shutdown"): its link delivers Exit(pid, "shutdown"), its monitor
    Down(ref, pid, "shutdown"), and the runtime then stops cleanly."""
    proc = run_python(ZOMBIE.format(reason="shutdown", loop=loop_name))
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.split("\n")[:2] == ["('shutdown', 'shutdown', False)", "runtime stopped"], \
        describe(proc)


def test_killed_process_that_swallows_generator_exit_leaves_a_clean_runtime(loop_name):
    """exit(pid, "kill") on a process that catches GeneratorExit and awaits
    again: its links see "killed", its monitors too, and the runtime stops
    cleanly afterwards (no segfault)."""
    proc = run_python(ZOMBIE.format(reason="kill", loop=loop_name))
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.split("\n")[:2] == ["('killed', 'killed', False)", "runtime stopped"], \
        describe(proc)


def test_send_from_a_foreign_thread_wakes_a_blocked_receiver(run):
    """send() from a threading.Thread to a process blocked in receive() (no
    timeout, nothing else to do) delivers the message and wakes the loop."""
    watchdog_fired = threading.Event()
    received = threading.Event()

    async def main():
        import asyncio
        me = actors.self()
        loop = asyncio.get_running_loop()

        def watchdog():                 # a hang detector, not a synchronisation
            if not received.wait(1.0):
                watchdog_fired.set()
                loop.call_soon_threadsafe(lambda: None)

        def sender():
            # The callback runs after the scheduler step in which main parks;
            # the pause lets the loop go idle in select(), the case under test
            # (it orders nothing: a correct core passes without it).
            parked = threading.Event()
            loop.call_soon_threadsafe(parked.set)
            parked.wait()
            time.sleep(0.05)
            actors.send(me, "from a thread")

        threads = [threading.Thread(target=sender), threading.Thread(target=watchdog)]
        for t in threads:
            t.start()
        msg = await actors.receive(timeout=30, default="nothing")
        received.set()
        for t in threads:
            t.join()
        return msg

    assert run(main) == "from a thread"
    assert not watchdog_fired.is_set(), "the message waited for something else to wake the loop"


@pytest.mark.parametrize("timeout", [0, 0.01])
def test_where_predicate_that_feeds_its_own_mailbox_cannot_loop_receive_forever(run, timeout):
    """A where() predicate that sends to its own receiver on every call makes
    the mailbox grow as it is scanned: receive still honours its timeout
    (it returns the default long before the predicate gives up feeding it)."""
    cap = scale(300_000, 1_000_000)

    async def main():
        me = actors.self()
        calls = 0

        def feeds_itself(msg):
            nonlocal calls
            calls += 1
            if calls < cap:
                actors.send(me, "more")
            return False

        actors.send(me, "first")
        got = await actors.receive(actors.where(feeds_itself), timeout=timeout, default="timed out")
        return got, calls

    got, calls = run(main)
    assert got == "timed out"
    assert calls < cap, "receive kept scanning until the predicate stopped sending"


def test_receive_in_a_flooded_mailbox_finds_a_late_message(run):
    """Selective receive in a mailbox of 10^5 non-matching messages takes the
    one that matches, and leaves the others in order."""
    async def main():
        me = actors.self()
        for i in range(100_000):
            actors.send(me, ("noise", i))
        actors.send(me, "wanted")
        assert await actors.receive("wanted", timeout=0) == "wanted"
        rest = actors.flush()
        return len(rest), rest[0], rest[-1]

    assert run(main) == (100_000, ("noise", 0), ("noise", 99_999))


def test_deep_message_with_a_shallow_pattern_is_fine(run):
    """A 100,000-deep tuple is an ordinary message for patterns that do not
    descend into it (ANY, tuple, a 1-tuple of ANY)."""
    async def main():
        deep = 1
        for _ in range(DEEP):
            deep = (deep,)
        me = actors.self()
        for pattern in (ANY, tuple, (ANY,)):
            actors.send(me, deep)
            assert await actors.receive(pattern, timeout=0) is deep
        return "ok"

    assert run(main) == "ok"
