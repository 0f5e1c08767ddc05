"""Threads (docs/api.md "Threads, nodes and test helpers"): send() is safe
from any thread; it delivers the message and wakes the runtime's loop.
Everything else that touches the scheduler must be called on the runtime's
own thread and says so."""
from __future__ import annotations

import threading

import pytest

import actors
from actors import ANY
from helpers import run_script


def test_a_send_from_another_thread_wakes_a_receiver_on_an_idle_loop(loop_name):
    """A process blocked in receive() with no timeout, on a loop with nothing
    else to do, gets a message sent from another thread (the loop is woken;
    without that the program would hang)."""
    proc = run_script(loop_name, """
        import threading, time
        import actors

        async def main():
            me = actors.self()
            def sender():
                time.sleep(0.05)          # let the loop go idle first
                actors.send(me, "from a thread")
            threading.Thread(target=sender).start()
            return await actors.receive()

        print(actors.run(main, loop=LOOP))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "from a thread"


def test_messages_from_one_thread_arrive_in_the_order_sent(run):
    async def main():
        me = actors.self()
        actors.register("sink")

        def sender():
            for i in range(1000):
                actors.send(me if i % 2 else "sink", i)

        t = threading.Thread(target=sender)
        t.start()
        got = [await actors.receive(int, timeout=10) for _ in range(1000)]
        await actors.to_thread(t.join)
        assert got == list(range(1000))

    run(main)


def test_a_reply_from_another_thread_reaches_the_caller(run):
    """reply() is a send: a server may hand a request to a worker thread
    and answer from there."""

    async def server():
        while True:
            _, from_, request = await actors.receive(("$gen_call", ANY, ANY))
            threading.Thread(target=actors.lowlevel.reply, args=(from_, request * 2)).start()

    async def main():
        pid = actors.spawn(server)
        assert await actors.lowlevel.call(pid, 21, timeout=10) == 42

    run(main)


def test_send_from_another_thread_to_an_unknown_name_raises_there(run):
    async def main():
        errors = []

        def sender():
            try:
                actors.send("nobody", "x")
            except actors.NoProcess as e:
                errors.append(e)

        await actors.to_thread(sender)
        assert len(errors) == 1 and "nobody" in str(errors[0])

    run(main)


@pytest.mark.parametrize("what", ["spawn", "exit", "register", "send_after", "monitor"])
def test_other_functions_refuse_to_run_on_another_thread(run, what):
    """spawn, exit, register, timers... mutate the scheduler: from another
    thread they raise RuntimeError saying that only send() is thread-safe,
    and change nothing."""

    async def idle():
        await actors.receive("never")

    async def main():
        pid = actors.spawn(idle)
        calls = {
            "spawn": lambda: actors.spawn(idle),
            "exit": lambda: actors.exit(pid, "kill"),
            "register": lambda: actors.register("from-thread", pid),
            "send_after": lambda: actors.send_after(pid, "x", 0.1),
            "monitor": lambda: actors.monitor(pid),
        }

        def call():
            with pytest.raises(RuntimeError, match="only send"):
                calls[what]()

        await actors.to_thread(call)
        assert actors.Process.alive(pid)
        assert actors.whereis("from-thread") is None
        assert len(actors.Process.list()) == 2

    run(main)
