"""Task: create/wait/poll/shutdown, wait_all, stream, start, start_link and
child_spec (docs/api.md "OTP layers" and "Details"; Elixir's Task is the reference where the
contract is silent).

Every test that involves time runs on ``MockClock(autojump=True)``: a task
"works" for N seconds with ``actors.sleep(N)`` and timeouts fire as soon as
every process is blocked, so nothing sleeps for real.
"""
from __future__ import annotations

import os

import pytest

import actors
from actors import ANY, CallExit, Down, Exit, Process, ProcessExit, Timeout
from actors.child_spec import ChildSpec
from actors.task import NotOwnerError, Task, TaskStream

from helpers import expect, nothing, now, wait_down  # noqa: E402


# -- task functions ---------------------------------------------------------------

async def double(x):
    return 2 * x


async def work(seconds, value):
    """Take ``seconds`` of (virtual) time, then return ``value``."""
    await actors.sleep(seconds)
    return value


async def boom(message="boom"):
    raise ValueError(message)


async def block():
    await actors.receive("never sent")


async def tell(pid, msg, value=None):
    """Send ``msg`` to ``pid``, then return ``value``."""
    actors.send(pid, msg)
    return value


# -- Task.create and await ----------------------------------------------------------

def test_create_runs_the_function_and_await_returns_its_result(run):
    """``await Task.create(fn, *args)`` is fn(*args), computed in another process."""
    async def main():
        task = Task.create(double, 21)
        assert isinstance(task.pid, actors.Pid) and task.pid is not actors.self()
        assert task.owner is actors.self()
        return await task

    assert run(main) == 42


def test_the_task_runs_in_its_own_process(run):
    """The function runs in the task's process, not in the caller's."""
    async def whoami():
        return actors.self()

    async def main():
        task = Task.create(whoami)
        assert await task is task.pid

    run(main)


def test_a_task_is_linked_to_and_monitored_by_its_owner(run):
    """Elixir's Task.async: the task is linked to the caller and monitored by it."""
    async def main():
        task = Task.create(block)
        assert task.pid in Process.info(actors.self(), "links")
        assert (task.ref, task.pid) in Process.info(actors.self(), "monitors")
        await task.shutdown()

    run(main)


def test_awaiting_a_finished_task_again_returns_the_same_result(run):
    """Contract: awaiting a finished task again returns the same result."""
    async def main():
        task = Task.create(double, 5)
        assert await task == 10
        assert await task == 10
        assert await task.wait(timeout=0) == 10

    run(main)


def test_await_leaves_no_reply_or_down_in_the_mailbox(run):
    """The task's reply and its Down are taken out of the owner's mailbox."""
    async def main():
        actors.send(actors.self(), "unrelated")
        tasks = [Task.create(double, i) for i in range(3)]
        assert [await t for t in tasks] == [0, 2, 4]
        assert actors.flush() == ["unrelated"]

    run(main)


def test_wait_timeout_raises_timeout_and_shuts_the_task_down(run, clock):
    """Contract: wait(timeout) raises Timeout and shuts the task down."""
    async def main():
        task = Task.create(work, 10, "late")
        with pytest.raises(Timeout):
            await task.wait(timeout=1)
        assert not Process.alive(task.pid)
        assert task.pid not in Process.info(actors.self(), "links")
        await nothing(timeout=20)           # no late reply, no Down, no exit signal

    run(main, clock=clock)


def test_await_waits_five_seconds_by_default(run, clock):
    """``await t`` is ``await t.wait()``: 5 s, as Elixir's Task.await."""
    async def main():
        assert await Task.create(work, 4.9, "in time") == "in time"
        start = now()
        with pytest.raises(Timeout):
            await Task.create(work, 5.5, "too late")
        assert 5 <= now() - start < 5.5

    run(main, clock=clock)


def test_wait_with_timeout_none_waits_forever(run, clock):
    """timeout=None waits as long as the task takes."""
    async def main():
        return await Task.create(work, 3600, "done").wait(timeout=None)

    assert run(main, clock=clock) == "done"


def test_a_task_crash_kills_a_non_trapping_owner_with_the_same_reason(run):
    """A crash reaches the linked owner as an exit signal with the crash's reason."""
    async def owner(parent):
        task = Task.create(boom, "kaput")
        actors.send(parent, ("task", task.pid))
        await task

    async def main():
        _, ref = actors.spawn_monitor(owner, actors.self())
        _, task_pid = await expect(("task", ANY))
        reason = (await expect(Down(ref, ANY, ANY))).reason
        assert isinstance(reason, ValueError) and str(reason) == "kaput"
        assert not Process.alive(task_pid)

    run(main)


def test_a_trapping_owner_gets_call_exit_from_wait(run):
    """Contract: a trapping owner gets CallExit (with the crash as .reason) from wait."""
    async def main():
        Process.flag("trap_exit", True)
        task = Task.create(boom, "kaput")
        with pytest.raises(CallExit) as info:
            await task
        assert isinstance(info.value.reason, ValueError)
        assert str(info.value.reason) == "kaput"
        msg = await expect(Exit(task.pid, ANY))     # the exit signal, as a message
        assert msg.reason is info.value.reason
        with pytest.raises(CallExit):               # and again: same outcome
            await task

    run(main)


def test_a_task_that_exits_normally_without_a_result_raises_call_exit(run):
    """A task that ends with reason "normal" but sends no result: CallExit("normal")."""
    async def quits():
        raise ProcessExit("normal")

    async def main():
        with pytest.raises(CallExit) as info:
            await Task.create(quits)
        assert info.value.reason == "normal"

    run(main)


def test_a_killed_task_is_an_exit_signal_for_its_owner(run):
    """A task killed by someone else: its owner gets the exit signal "killed"."""
    async def owner(parent):
        task = Task.create(block)
        actors.send(parent, ("task", task.pid))
        await task.wait(timeout=None)

    async def main():
        _, ref = actors.spawn_monitor(owner, actors.self())
        _, task_pid = await expect(("task", ANY))
        actors.exit(task_pid, "kill")
        assert (await expect(Down(ref, ANY, ANY))).reason == "killed"

    run(main)


def test_tasks_die_when_their_owner_crashes(run):
    """Linked: when the owner exits abnormally, its tasks exit too."""
    async def owner(parent):
        task = Task.create(block)
        actors.send(parent, ("task", task.pid))
        await actors.receive("crash now")
        raise RuntimeError("owner crashed")

    async def main():
        pid = actors.spawn(owner, actors.self())
        _, task_pid = await expect(("task", ANY))
        ref = actors.monitor(task_pid)
        actors.send(pid, "crash now")
        down = await expect(Down(ref, ANY, ANY))
        assert isinstance(down.reason, RuntimeError)

    run(main)


def test_only_the_owner_may_await_a_task(run):
    """Only the owner may wait/poll/shutdown a task; others get a clear error."""
    async def other(parent, task):
        for method, args in (("wait", ()), ("poll", (0,)), ("shutdown", ())):
            try:
                await getattr(task, method)(*args)
            except NotOwnerError as err:
                actors.send(parent, (method, str(err)))

    async def main():
        task = Task.create(block)
        actors.spawn(other, actors.self(), task)
        for method in ("wait", "poll", "shutdown"):
            _, text = await expect((method, str))
            assert "owner" in text and repr(actors.self()) in text
        assert issubclass(NotOwnerError, ValueError) and issubclass(NotOwnerError, RuntimeError)
        assert Process.alive(task.pid)       # the failed attempts did not touch it
        await task.shutdown()

    run(main)


def test_create_checks_its_arguments_before_starting(run):
    """A non-async fn is a TypeError naming fn; nothing is started."""
    def not_async():
        return 1

    async def main():
        before = len(Process.list())
        with pytest.raises(TypeError, match="fn"):
            Task.create(not_async)
        with pytest.raises(TypeError, match="fn"):
            Task.create(42)
        assert len(Process.list()) == before

    run(main)


def test_task_objects_come_only_from_create():
    """Task() is not a constructor (Elixir's %Task{} is made by Task.async)."""
    with pytest.raises(TypeError, match="Task.create"):
        Task()


def test_create_outside_a_process_raises(aio_run):
    """Task.create needs an owner: outside a process it raises RuntimeError."""
    async def main():
        async with actors.Runtime():
            with pytest.raises(RuntimeError, match="inside a process"):
                Task.create(double, 1)

    aio_run(main)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), ("5", TypeError), (float("nan"), ValueError)])
def test_wait_rejects_a_bad_timeout(run, bad, error):
    """wait(timeout) must be None or seconds >= 0 (the error names timeout)."""
    async def main():
        task = Task.create(double, 1)
        with pytest.raises(error, match="timeout"):
            await task.wait(timeout=bad)
        assert await task == 2                # nothing was disturbed

    run(main)


def test_a_task_reply_is_a_ref_tagged_message_a_gen_server_can_handle(run):
    """As in Elixir: the reply is (task.ref, result), so a GenServer can take it
    in handle_info (then demonitor with flush)."""
    from actors.gen_server import GenServer

    class Server(GenServer):
        def init(self, parent):
            self.parent = parent
            self.task = None

        def handle_cast(self, request):
            self.task = Task.create(double, request)

        def handle_info(self, msg):
            if type(msg) is tuple and msg[0] == self.task.ref:
                actors.demonitor(self.task.ref, flush=True)
                actors.send(self.parent, ("result", msg[1]))

    async def main():
        server = await Server.start_link(actors.self())
        actors.GenServer.cast(server, 21)
        assert await expect(("result", ANY)) == ("result", 42)

    run(main)


# -- poll -------------------------------------------------------------------------

def test_poll_returns_none_while_running_and_leaves_the_task_running(run, clock):
    """Elixir's Task.yield: None on timeout, and the task keeps running."""
    async def main():
        task = Task.create(work, 10, "done")
        assert await task.poll(1) is None
        assert Process.alive(task.pid)
        assert await task.poll(0) is None
        assert await task.poll(20) == "done"
        assert await task.poll(0) == "done"     # the result is kept
        assert await task == "done"

    run(main, clock=clock)


def test_poll_raises_call_exit_for_a_crashed_task(run):
    """poll of a task that exited without a result raises CallExit (trapping owner)."""
    async def main():
        Process.flag("trap_exit", True)
        task = Task.create(boom)
        with pytest.raises(CallExit) as info:
            await task.poll(5)
        assert isinstance(info.value.reason, ValueError)

    run(main)


def test_poll_defaults_to_five_seconds(run, clock):
    """poll waits 5 s by default, as Elixir's Task.yield."""
    async def main():
        task = Task.create(work, 60, "x")
        start = now()
        assert await task.poll() is None
        assert 5 <= now() - start < 6
        await task.shutdown()

    run(main, clock=clock)


# -- shutdown ---------------------------------------------------------------------

def test_shutdown_stops_a_running_task_and_returns_none(run):
    """shutdown() of a running task: None; the task is gone; the owner lives on."""
    async def main():
        task = Task.create(block)
        ref = actors.monitor(task.pid)
        assert await task.shutdown() is None
        down = await expect(Down(ref, ANY, ANY))
        assert down.reason == "shutdown"
        assert task.pid not in Process.info(actors.self(), "links")
        await nothing()
        with pytest.raises(CallExit) as info:       # no result will ever come
            await task
        assert info.value.reason == "shutdown"

    run(main)


def test_shutdown_returns_the_result_of_a_task_that_had_finished(run):
    """Contract: shutdown returns the result if the task had finished."""
    async def main():
        task = Task.create(tell, actors.self(), "finished", "result")
        await expect("finished")                    # it has sent its reply by now
        assert await task.shutdown() == "result"
        assert await task == "result"
        await nothing()

    run(main)


def test_shutdown_kills_a_task_that_ignores_shutdown_after_the_timeout(run, clock):
    """A task trapping exits gets "shutdown" as a message; after the timeout it is killed."""
    async def stubborn(parent):
        Process.flag("trap_exit", True)
        actors.send(parent, "trapping")
        while True:
            await actors.receive()

    async def main():
        task = Task.create(stubborn, actors.self())
        await expect("trapping")
        ref = actors.monitor(task.pid)
        start = now()
        assert await task.shutdown(timeout=2) is None
        assert (await expect(Down(ref, ANY, ANY))).reason == "killed"
        assert 2 <= now() - start < 3

    run(main, clock=clock)


def test_shutdown_brutal_kill_kills_at_once(run):
    """shutdown("brutal_kill") kills the task without the "shutdown" signal."""
    async def main():
        task = Task.create(block)
        ref = actors.monitor(task.pid)
        assert await task.shutdown("brutal_kill") is None
        assert (await expect(Down(ref, ANY, ANY))).reason == "killed"

    run(main)


def test_shutdown_after_await_returns_the_result(run):
    """shutdown of a task already awaited returns its result."""
    async def main():
        task = Task.create(double, 4)
        assert await task == 8
        assert await task.shutdown() == 8

    run(main)


def test_shutdown_rejects_a_bad_timeout(run):
    """shutdown(timeout) must be seconds, None or "brutal_kill"."""
    async def main():
        task = Task.create(block)
        with pytest.raises(TypeError, match="timeout"):
            await task.shutdown("soon")
        with pytest.raises(ValueError, match="timeout"):
            await task.shutdown(-1)
        await task.shutdown()

    run(main)


# -- wait_all ---------------------------------------------------------------------

def test_wait_all_returns_results_in_task_order(run, clock):
    """Contract: wait_all returns results in task order, whatever order they finish in."""
    async def main():
        tasks = [Task.create(work, 5 - i, i) for i in range(5)]
        assert await Task.wait_all(tasks, timeout=10) == [0, 1, 2, 3, 4]
        assert actors.flush() == []             # no replies or Downs left over
        assert [await t for t in tasks] == [0, 1, 2, 3, 4]

    run(main, clock=clock)


def test_wait_all_timeout_is_overall_and_shuts_down_the_unfinished(run, clock):
    """One timeout for all; on timeout, the unfinished tasks are shut down."""
    async def main():
        fast = Task.create(work, 1, "fast")
        slow = Task.create(work, 4, "slow")
        slower = Task.create(work, 60, "slower")
        start = now()
        with pytest.raises(Timeout):
            await Task.wait_all([fast, slow, slower], timeout=5)
        assert 5 <= now() - start < 6
        assert not Process.alive(slower.pid)
        assert await fast == "fast" and await slow == "slow"
        await nothing(timeout=100)

    run(main, clock=clock)


def test_wait_all_raises_call_exit_and_shuts_down_the_rest_on_a_crash(run, clock):
    """A crash (seen by a trapping owner) makes wait_all raise CallExit and stop the others."""
    async def main():
        Process.flag("trap_exit", True)
        ok = Task.create(work, 10, "ok")
        bad = Task.create(boom, "bad")
        with pytest.raises(CallExit) as info:
            await Task.wait_all([ok, bad])
        assert str(info.value.reason) == "bad"
        assert not Process.alive(ok.pid)

    run(main, clock=clock)


def test_wait_all_with_finished_and_duplicate_tasks(run):
    """Tasks already awaited (and the same task twice) are fine."""
    async def main():
        a = Task.create(double, 1)
        b = Task.create(double, 2)
        assert await a == 2
        assert await Task.wait_all([a, b, b, a]) == [2, 4, 4, 2]
        assert await Task.wait_all([]) == []

    run(main)


def test_wait_all_checks_its_arguments(run):
    """wait_all takes Tasks owned by the caller and a valid timeout."""
    async def other(parent, task):
        try:
            await Task.wait_all([task])
        except NotOwnerError:
            actors.send(parent, "not owner")

    async def main():
        task = Task.create(block)
        with pytest.raises(TypeError, match="tasks"):
            await Task.wait_all([task, "not a task"])
        with pytest.raises(ValueError, match="timeout"):
            await Task.wait_all([task], timeout=-1)
        actors.spawn(other, actors.self(), task)
        await expect("not owner")
        await task.shutdown()

    run(main)


# -- start / start_link / child_spec -------------------------------------------------

def test_start_runs_a_task_that_is_not_linked(run):
    """Task.start: fire and forget, not linked (its crash does not reach the caller);
    awaited like every start (docs/api.md "Details")."""
    async def main():
        pid = await Task.start(boom)
        assert isinstance(pid, actors.Pid)
        assert pid not in Process.info(actors.self(), "links")
        assert isinstance(await wait_down(pid), ValueError)   # it has not run yet
        pid = await Task.start(tell, actors.self(), "hello")
        await expect("hello")
        with pytest.raises(TypeError, match="fn"):
            await Task.start(lambda: None)

    run(main)


def test_every_task_spawner_passes_keyword_arguments_to_fn(run):
    """create, start, start_link and child_spec pass keyword arguments to fn, as
    spawn does (child_spec keeps id, restart and shutdown for the spec)."""
    async def main():
        me = actors.self()
        assert await Task.create(tell, msg="create", pid=me) is None
        await expect("create")
        await Task.start(tell, msg="start", pid=me)
        await expect("start")
        await Task.start_link(tell, msg="start_link", pid=me)
        await expect("start_link")
        spec = Task.child_spec(tell, me, msg="child_spec", restart="transient")
        assert spec.restart == "transient"
        await spec.start_child()
        await expect("child_spec")

    run(main)


def test_start_link_links_the_task_to_the_caller(run):
    """Task.start_link (what a supervisor runs) links the task to the caller."""
    async def main():
        Process.flag("trap_exit", True)
        pid = await Task.start_link(boom)
        assert isinstance((await expect(Exit(pid, ANY))).reason, ValueError)

    run(main)


def test_child_spec_is_a_temporary_task_by_default(run):
    """As in Elixir: Task.child_spec runs Task.start_link, restart "temporary", id Task."""
    async def main():
        spec = Task.child_spec(tell, actors.self(), "ran")
        assert isinstance(spec, ChildSpec)
        assert spec.id is Task and spec.restart == "temporary" and spec.shutdown == 5.0
        pid = await spec.start_child()
        assert pid in Process.info(actors.self(), "links")
        await expect("ran")
        spec = Task.child_spec(double, 1, id="job", restart="transient", shutdown="brutal_kill")
        assert (spec.id, spec.restart, spec.shutdown) == ("job", "transient", "brutal_kill")
        with pytest.raises(ValueError, match="restart"):
            Task.child_spec(double, 1, restart="sometimes")
        with pytest.raises(TypeError, match="fn"):
            Task.child_spec(print)

    run(main)


def test_a_temporary_task_under_a_supervisor_is_not_restarted(run):
    """A crashed temporary task is not restarted by its supervisor."""
    from actors.dynamic_supervisor import DynamicSupervisor

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, Task.child_spec(boom))
        await wait_down(pid)
        assert (await DynamicSupervisor.count_children(sup))["specs"] == 0

    run(main)


# -- stream -----------------------------------------------------------------------

def test_stream_yields_results_in_input_order_when_ordered(run, clock):
    """Contract: ordered=True keeps the input order, even when later items finish first."""
    async def main():
        items = list(range(10))
        results = [r async for r in Task.stream(slow_first, items, max_concurrency=4,
                                                timeout=None)]
        assert results == [x * 10 for x in items]

    run(main, clock=clock)


async def slow_first(x):
    """Item x takes 10 - x seconds: later items finish first."""
    await actors.sleep(10 - x)
    return x * 10


def test_stream_never_runs_more_than_max_concurrency_tasks_at_once(run, clock):
    """Contract: at most max_concurrency tasks run at any time; all items are done."""
    running = []
    peak = []

    async def tracked(x):
        running.append(x)
        peak.append(len(running))
        await actors.sleep((x * 7) % 5 + 1)
        running.remove(x)
        return x

    async def main():
        for ordered in (True, False):
            peak.clear()
            results = [r async for r in Task.stream(tracked, range(30), max_concurrency=3,
                                                    ordered=ordered, timeout=None)]
            assert sorted(results) == list(range(30))
            assert max(peak) == 3

    run(main, clock=clock)


def test_stream_pulls_items_lazily(run, clock):
    """Items are taken from the iterable only as tasks can start (as async_stream):
    never more than max_concurrency ahead of the results not yet consumed."""
    pulled = []

    def items():
        for i in range(100):
            pulled.append(i)
            yield i

    async def main():
        stream = Task.stream(double, items(), max_concurrency=2)
        assert pulled == []                          # nothing runs before iteration
        for i in range(5):
            assert await stream.__anext__() == 2 * i
            assert len(pulled) <= (i + 1) + 1 + 2    # yielded + buffered + running
        await stream.aclose()
        assert len(pulled) < 10

    run(main, clock=clock)


def test_stream_unordered_yields_in_completion_order(run, clock):
    """ordered=False yields results as tasks complete."""
    async def main():
        results = [r async for r in Task.stream(slow_first, [1, 2, 3], ordered=False,
                                                max_concurrency=3, timeout=None)]
        assert results == [30, 20, 10]

    run(main, clock=clock)


def test_stream_default_max_concurrency_is_the_cpu_count(run, clock):
    """Contract: max_concurrency defaults to os.cpu_count()."""
    running = []
    peak = []

    async def tracked(x):
        running.append(x)
        peak.append(len(running))
        await actors.sleep(1)
        running.remove(x)

    async def main():
        n = os.cpu_count() or 1
        [r async for r in Task.stream(tracked, range(n + 5))]
        assert max(peak) == n

    run(main, clock=clock)


def test_a_failing_item_raises_in_the_consumer_and_stops_the_rest(run, clock):
    """Contract: a failure shuts the remaining tasks down and raises in the consumer."""
    started = []

    async def maybe(x):
        started.append(actors.self())
        if x == 2:
            raise ValueError(f"bad item {x}")
        await actors.sleep(100)
        return x

    async def main():
        got = []
        with pytest.raises(ValueError, match="bad item 2"):
            async for r in Task.stream(maybe, range(10), max_concurrency=4):
                got.append(r)
        assert got == []
        assert len(started) == 4
        assert not any(Process.alive(pid) for pid in started)
        await nothing(timeout=200)                # the consumer is fine, its mailbox clean

    run(main, clock=clock)


def test_return_exceptions_yields_the_exception_in_place(run, clock):
    """return_exceptions=True: the exception is yielded in its place; the stream goes on."""
    async def maybe(x):
        await actors.sleep(x)
        if x % 2:
            raise ValueError(x)
        return x

    async def main():
        results = [r async for r in Task.stream(maybe, range(5), return_exceptions=True)]
        assert [type(r) for r in results] == [int, ValueError, int, ValueError, int]
        assert results[0::2] == [0, 2, 4] and results[1].args == (1,)

    run(main, clock=clock)


def test_a_timed_out_item_raises_timeout_and_stops_the_rest(run, clock):
    """Contract: a task exceeding the per-item timeout shuts the rest down; Timeout is raised."""
    started = {}

    async def slow_at_3(x):
        started[x] = actors.self()
        await actors.sleep(10 if x == 3 else 1)
        return x

    async def main():
        got = []
        start = now()
        with pytest.raises(Timeout):
            async for r in Task.stream(slow_at_3, range(8), max_concurrency=2, timeout=2):
                got.append(r)
        assert got == [0, 1, 2]
        assert now() - start < 10
        assert not any(Process.alive(pid) for pid in started.values())
        await nothing(timeout=20)

    run(main, clock=clock)


def test_the_timeout_is_per_item_from_its_start(run, clock):
    """timeout bounds each task from its own start, not the whole stream."""
    async def main():
        results = [r async for r in Task.stream(work, [3] * 6, max_concurrency=1, timeout=5)]
        assert results == [3] * 6                  # 18 s in all, 3 s each

    async def work(seconds):
        await actors.sleep(seconds)
        return seconds

    run(main, clock=clock)


def test_return_exceptions_yields_timeout_for_a_timed_out_item(run, clock):
    """With return_exceptions=True a timed-out item yields a Timeout in its place."""
    async def main():
        results = [r async for r in Task.stream(work_for, [1, 9, 2], timeout=5,
                                                return_exceptions=True)]
        assert results[0] == 1 and results[2] == 2
        assert isinstance(results[1], Timeout)

    async def work_for(seconds):
        await actors.sleep(seconds)
        return seconds

    run(main, clock=clock)


def test_a_task_finishing_exactly_at_its_deadline_leaves_no_stray_message(run, clock):
    """A result and the consumer's timeout in the same instant: either outcome is
    fine, but the consumer's mailbox is left clean."""
    async def sleep_for(seconds):
        await actors.sleep(seconds)
        return seconds

    async def main():
        for max_concurrency in (1, 3):
            # With 3 at once, the last two finish in the very tick the consumer
            # gives up on them, after it was woken for the timeout.
            results = [r async for r in Task.stream(sleep_for, [0.5, 2.0, 2.0], timeout=2.0,
                                                    max_concurrency=max_concurrency,
                                                    return_exceptions=True)]
            assert results[0] == 0.5
            assert all(r == 2.0 or isinstance(r, Timeout) for r in results[1:])
            await nothing()

    run(main, clock=clock)


def test_leaving_a_stream_early_shuts_its_tasks_down(run, clock):
    """break out of the async for: the remaining tasks are shut down, no message is left."""
    started = []

    async def job(x):
        started.append(actors.self())
        await actors.sleep(x)
        return x

    async def main():
        async for r in Task.stream(job, [1, 5, 5, 5], max_concurrency=4):
            assert r == 1
            break
        assert len(started) == 4
        assert not any(Process.alive(pid) for pid in started)
        await nothing(timeout=20)

    run(main, clock=clock)


def test_a_stream_as_a_context_manager_closes_on_exit(run, clock):
    """``async with`` a stream: leaving the block shuts its tasks down."""
    started = []

    async def job(x):
        started.append(actors.self())
        await actors.sleep(x)
        return x

    async def main():
        async with Task.stream(job, [1, 10, 10], max_concurrency=3) as stream:
            assert isinstance(stream, TaskStream)
            assert await stream.__anext__() == 1
            assert len(started) == 3 and all(Process.alive(p) for p in started[1:])
        assert not any(Process.alive(pid) for pid in started)
        assert [r async for r in stream] == []
        await nothing(timeout=20)

    run(main, clock=clock)


def test_stream_tasks_die_with_their_consumer(run):
    """The stream's tasks are linked to the consumer: if it dies, they die."""
    async def announce_and_block(parent):
        actors.send(parent, ("started", actors.self()))
        await actors.receive("never sent")

    async def consumer(parent):
        async for _ in Task.stream(announce_and_block, [parent] * 3, max_concurrency=3,
                                   timeout=None):
            pass

    async def main():
        pid = actors.spawn(consumer, actors.self())
        tasks = [(await expect(("started", ANY)))[1] for _ in range(3)]
        refs = [actors.monitor(t) for t in tasks]
        actors.exit(pid, "shutdown")
        for ref in refs:
            assert (await expect(Down(ref, ANY, ANY))).reason == "shutdown"

    run(main)


def test_a_trapping_consumer_sees_a_killed_task_as_call_exit(run):
    """A stream task killed by someone else: a consumer that traps exits survives
    and gets CallExit("killed") (yielded with return_exceptions=True)."""
    async def victim(killer):
        actors.send(killer, ("started", actors.self()))
        await actors.receive("never sent")

    async def killer():
        _, pid = await actors.receive(("started", ANY))
        actors.exit(pid, "kill")

    async def main():
        Process.flag("trap_exit", True)
        with pytest.raises(CallExit) as info:
            async for _ in Task.stream(victim, [actors.spawn(killer)], timeout=None):
                pass
        assert info.value.reason == "killed"
        results = [r async for r in Task.stream(victim, [actors.spawn(killer)], timeout=None,
                                                return_exceptions=True)]
        assert len(results) == 1 and isinstance(results[0], CallExit)

    run(main)


def test_a_trapping_consumer_gets_no_exit_messages_from_finished_tasks(run):
    """Stream tasks unlink before they end, so a consumer that traps exits is
    left no Exit(pid, "normal") messages (Elixir's helper process absorbs them)."""
    async def main():
        Process.flag("trap_exit", True)
        assert [r async for r in Task.stream(double, range(20), max_concurrency=4)] == \
            [2 * x for x in range(20)]
        with pytest.raises(ValueError):
            [r async for r in Task.stream(boom, ["x"])]
        await nothing()

    run(main)


def test_an_error_in_the_loop_body_shuts_the_tasks_down(run, clock):
    """An exception raised by the consumer's loop body abandons the stream: its tasks stop."""
    started = []

    async def job(x):
        started.append(actors.self())
        await actors.sleep(x)
        return x

    async def main():
        with pytest.raises(KeyError):
            async for _ in Task.stream(job, [1, 50, 50], max_concurrency=3):
                raise KeyError("consumer failed")
        assert len(started) == 3 and not any(Process.alive(p) for p in started)
        await nothing(timeout=100)

    run(main, clock=clock)


def test_an_exhausted_stream_stays_exhausted(run):
    """After the last result (or an error), the stream yields nothing more."""
    async def main():
        stream = Task.stream(double, [1])
        assert [r async for r in stream] == [2]
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        stream = Task.stream(boom, [1, 2])
        with pytest.raises(ValueError):
            await stream.__anext__()
        assert [r async for r in stream] == []

    run(main)


def test_stream_accepts_an_async_iterable(run, clock):
    """items may be an async iterable (pulled inside the consumer)."""
    async def numbers():
        for i in range(5):
            yield i

    async def main():
        return [r async for r in Task.stream(double, numbers())]

    assert run(main, clock=clock) == [0, 2, 4, 6, 8]


def test_an_empty_stream_yields_nothing(run):
    """No items: nothing is started, nothing is yielded."""
    async def main():
        return [r async for r in Task.stream(double, [])]

    assert run(main) == []


def test_stream_checks_its_arguments_before_starting(run):
    """Bad arguments raise TypeError/ValueError naming them, before any task starts."""
    def plain(x):
        return x

    async def main():
        before = len(Process.list())
        with pytest.raises(TypeError, match="fn"):
            Task.stream(plain, [1])
        with pytest.raises(TypeError, match="items"):
            Task.stream(double, 42)
        with pytest.raises(ValueError, match="max_concurrency"):
            Task.stream(double, [1], max_concurrency=0)
        with pytest.raises(TypeError, match="max_concurrency"):
            Task.stream(double, [1], max_concurrency="2")
        with pytest.raises(ValueError, match="timeout"):
            Task.stream(double, [1], timeout=-1)
        with pytest.raises(TypeError, match="ordered"):
            Task.stream(double, [1], ordered="yes")
        assert len(Process.list()) == before

    run(main)


def test_a_stream_is_iterated_by_one_process(run):
    """The stream belongs to the process that started iterating it."""
    async def other(parent, stream):
        try:
            await stream.__anext__()
        except NotOwnerError:
            actors.send(parent, "refused")

    async def main():
        stream = Task.stream(double, range(3))
        assert await stream.__anext__() == 0
        actors.spawn(other, actors.self(), stream)
        await expect("refused")
        assert [r async for r in stream] == [2, 4]

    run(main)


def test_an_error_from_the_items_iterable_closes_the_stream(run, clock):
    """An exception while pulling items propagates; the running tasks are shut down."""
    def items():
        yield 1
        raise KeyError("source broke")

    async def job(x):
        await actors.sleep(10)

    async def main():
        before = set(Process.list())
        with pytest.raises(KeyError):
            [r async for r in Task.stream(job, items(), max_concurrency=2)]
        started = set(Process.list()) - before
        assert not any(Process.alive(p) for p in started)

    run(main, clock=clock)
