"""TaskSupervisor: create (Elixir's async_nolink), start_child, stream,
children/terminate_child, child_spec (docs/api.md "OTP layers" and "Details"; Elixir's
Task.Supervisor is the reference where the contract is silent).

Tests that involve time run on ``MockClock(autojump=True)``.
"""
from __future__ import annotations

import pytest

import actors
from actors import ANY, CallExit, Down, Process, StartError, Timeout
from actors.child_spec import ChildSpec
from actors.task import NotOwnerError
from actors.task_supervisor import TaskSupervisor

_NOTHING = object()


async def expect(pattern, timeout=30.0):
    """The next message matching ``pattern``; Timeout (failing the test) if none comes."""
    return await actors.receive(pattern, timeout=timeout)


async def nothing(pattern=ANY, timeout=0):
    """Assert that no message matching ``pattern`` is (or arrives) within ``timeout``."""
    msg = await actors.receive(pattern, timeout=timeout, default=_NOTHING)
    assert msg is _NOTHING, f"unexpected message {msg!r}"


async def double(x):
    return 2 * x


async def boom(message="boom"):
    raise ValueError(message)


async def work(seconds, value=None):
    await actors.sleep(seconds)
    return value


async def tell(pid, msg):
    actors.send(pid, msg)


async def all_gone(sup):
    """Every child of ``sup`` has been killed already: wait until the supervisor knows."""
    for pid in await TaskSupervisor.children(sup):
        assert not Process.alive(pid)
        ref = actors.monitor(pid)
        await expect(Down(ref, pid, ANY))
    # Their exits reached the supervisor before this request.
    assert await TaskSupervisor.children(sup) == []


async def announce_and_block(pid):
    actors.send(pid, ("started", actors.self()))
    await actors.receive("never sent")


# -- create -------------------------------------------------------------------------

def test_create_runs_the_task_under_the_supervisor(run):
    """create: the result comes back through await, the task is a child of the supervisor."""
    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, announce_and_block, actors.self())
        await expect(("started", task.pid))
        assert await TaskSupervisor.children(sup) == [task.pid]
        assert task.owner is actors.self()
        await task.shutdown()
        task = await TaskSupervisor.create(sup, double, 21)
        assert await task == 42
        assert await task == 42
        assert actors.flush() == []

    run(main)


def test_create_does_not_link_the_caller_but_monitors_the_task(run):
    """Elixir's async_nolink: linked to the supervisor, monitored (not linked) by the caller."""
    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, announce_and_block, actors.self())
        await expect(("started", task.pid))
        assert task.pid not in Process.info(actors.self(), "links")
        assert (task.ref, task.pid) in Process.info(actors.self(), "monitors")
        assert sup in Process.info(task.pid, "links")
        await task.shutdown()

    run(main)


def test_a_crash_is_call_exit_from_await_not_an_exit_signal(run):
    """Contract: a crash reaches the caller as CallExit from wait, not as an exit signal."""
    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, boom, "kaput")
        with pytest.raises(CallExit) as info:
            await task
        assert isinstance(info.value.reason, ValueError)
        assert str(info.value.reason) == "kaput"
        await nothing()                                  # no Exit, no stray Down
        assert Process.alive(sup)

    run(main)


def test_a_crash_does_not_kill_a_caller_that_does_not_await(run):
    """The caller, not trapping exits, survives a crash of its supervised task."""
    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, boom)
        down = await expect(Down(task.ref, task.pid, ANY))
        assert isinstance(down.reason, ValueError)

    run(main)


def test_the_task_outlives_its_caller(run):
    """Not linked: if the caller exits, the task carries on under the supervisor."""
    async def caller(sup, parent):
        await TaskSupervisor.create(sup, announce_and_block, parent)
        raise RuntimeError("caller crashed")

    async def main():
        sup = await TaskSupervisor.start_link()
        pid, ref = actors.spawn_monitor(caller, sup, actors.self())
        _, task_pid = await expect(("started", ANY))
        await expect(Down(ref, pid, ANY))
        assert Process.alive(task_pid)
        assert await TaskSupervisor.children(sup) == [task_pid]

    run(main)


def test_create_timeout_raises_timeout_and_shuts_the_task_down(run, clock):
    """wait(timeout) on a supervised task raises Timeout and shuts it down."""
    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, work, 60)
        with pytest.raises(Timeout):
            await task.wait(1)
        assert not Process.alive(task.pid)
        await all_gone(sup)
        await nothing(timeout=100)

    run(main, clock=clock)


def test_only_the_caller_may_await_a_supervised_task(run):
    """The task belongs to the process that created it."""
    async def other(parent, task):
        try:
            await task
        except NotOwnerError:
            actors.send(parent, "refused")

    async def main():
        sup = await TaskSupervisor.start_link()
        task = await TaskSupervisor.create(sup, double, 1)
        actors.spawn(other, actors.self(), task)
        await expect("refused")
        assert await task == 2

    run(main)


def test_create_checks_its_arguments_before_starting(run):
    """A non-async fn is a TypeError naming fn; the supervisor starts nothing."""
    async def main():
        sup = await TaskSupervisor.start_link()
        with pytest.raises(TypeError, match="fn"):
            await TaskSupervisor.create(sup, print, 1)
        with pytest.raises(ValueError, match="shutdown"):
            await TaskSupervisor.create(sup, double, 1, shutdown=-1)
        assert await TaskSupervisor.children(sup) == []

    run(main)


async def scaled(x, *, factor=1):
    return x * factor


def test_create_and_start_child_pass_keyword_arguments_to_fn(run):
    """Keyword arguments other than the options (restart, shutdown, timeout) go to
    fn, as spawn passes them."""
    async def main():
        sup = await TaskSupervisor.start_link()
        assert await (await TaskSupervisor.create(sup, scaled, 2, factor=10)) == 20
        await TaskSupervisor.start_child(sup, tell, msg="kw", pid=actors.self())
        await expect("kw")

    run(main)


@pytest.mark.parametrize("fn", ["create", "start_child"])
def test_create_and_start_child_take_a_timeout(run, clock, fn):
    """Every function that waits takes timeout= (docs/api.md "Details"): a supervisor that
    does not answer in time raises Timeout; a bad timeout is refused by name."""
    async def main():
        sup = await TaskSupervisor.start_link()
        with pytest.raises(ValueError, match="timeout"):
            await getattr(TaskSupervisor, fn)(sup, double, 1, timeout=-1)
        assert await getattr(TaskSupervisor, fn)(sup, double, 1, timeout=5) is not None
        await actors.sys.suspend(sup)                    # it answers no request for now
        with pytest.raises(Timeout):
            await getattr(TaskSupervisor, fn)(sup, double, 1, timeout=1)

    run(main, clock=clock)


@pytest.mark.parametrize("fn, args", [
    ("create", (double, 1)), ("start_child", (double, 1)), ("children", ()),
    ("terminate_child", (None,)), ("stop", ()),
])
def test_every_client_function_names_its_supervisor_argument(run, fn, args):
    """A supervisor reference that is not a Pid, a name or a via is a TypeError
    naming the argument: supervisor."""
    async def main():
        with pytest.raises(TypeError, match=r"TaskSupervisor\.\w+: supervisor must be a Pid"):
            await getattr(TaskSupervisor, fn)(42, *args)
        with pytest.raises(TypeError, match=r"TaskSupervisor\.stream: supervisor must be a Pid"):
            TaskSupervisor.stream(42, double, [1])

    run(main)


def test_max_children_refuses_more_tasks(run):
    """Over max_children, create and start_child raise StartError("max_children")."""
    async def main():
        sup = await TaskSupervisor.start_link(max_children=1)
        task = await TaskSupervisor.create(sup, announce_and_block, actors.self())
        with pytest.raises(StartError) as info:
            await TaskSupervisor.create(sup, double, 1)
        assert info.value.reason == "max_children"
        with pytest.raises(StartError):
            await TaskSupervisor.start_child(sup, double, 1)
        await task.shutdown()

    run(main)


# -- start_child ---------------------------------------------------------------------

def test_start_child_is_fire_and_forget(run):
    """start_child runs fn(*args) under the supervisor and returns its pid; not linked."""
    async def main():
        sup = await TaskSupervisor.start_link()
        pid = await TaskSupervisor.start_child(sup, tell, actors.self(), "hello")
        assert isinstance(pid, actors.Pid)
        assert pid not in Process.info(actors.self(), "links")
        await expect("hello")

    run(main)


def test_start_child_tasks_are_temporary_by_default(run):
    """A crashed start_child task is not restarted (restart="temporary")."""
    async def main():
        sup = await TaskSupervisor.start_link()
        pid = await TaskSupervisor.start_child(sup, boom)
        ref = actors.monitor(pid)
        await expect(Down(ref, pid, ANY))
        assert await TaskSupervisor.children(sup) == []

    run(main)


def test_a_transient_task_is_restarted_until_it_succeeds(run):
    """restart="transient": restarted after a crash, not after a normal exit."""
    attempts = []

    async def flaky(parent):
        attempts.append(actors.self())
        if len(attempts) < 3:
            raise ValueError("not yet")
        actors.send(parent, "succeeded")

    async def main():
        sup = await TaskSupervisor.start_link(max_restarts=5)
        await TaskSupervisor.start_child(sup, flaky, actors.self(), restart="transient")
        await expect("succeeded")
        assert len(attempts) == 3
        assert await TaskSupervisor.children(sup) == []

    run(main)


def test_start_child_checks_its_arguments(run):
    """Bad fn or restart: TypeError/ValueError naming it, nothing started."""
    async def main():
        sup = await TaskSupervisor.start_link()
        with pytest.raises(TypeError, match="fn"):
            await TaskSupervisor.start_child(sup, len, [])
        with pytest.raises(ValueError, match="restart"):
            await TaskSupervisor.start_child(sup, double, 1, restart="often")
        assert await TaskSupervisor.children(sup) == []

    run(main)


def test_terminate_child_stops_a_task(run):
    """terminate_child(sup, pid) stops the task; an unknown pid raises LookupError."""
    async def main():
        sup = await TaskSupervisor.start_link()
        pid = await TaskSupervisor.start_child(sup, announce_and_block, actors.self())
        await expect(("started", pid))
        ref = actors.monitor(pid)
        await TaskSupervisor.terminate_child(sup, pid)
        assert (await expect(Down(ref, pid, ANY))).reason == "shutdown"
        with pytest.raises(LookupError):
            await TaskSupervisor.terminate_child(sup, pid)

    run(main)


def test_stopping_the_supervisor_stops_its_tasks(run):
    """When the supervisor stops, its tasks are shut down."""
    async def main():
        sup = await TaskSupervisor.start_link(name="tasks")
        pid = await TaskSupervisor.start_child("tasks", announce_and_block, actors.self())
        await expect(("started", pid))
        ref = actors.monitor(pid)
        await TaskSupervisor.stop("tasks")
        assert (await expect(Down(ref, pid, ANY))).reason == "shutdown"
        assert not Process.alive(sup)

    run(main)


# -- stream ---------------------------------------------------------------------------

def test_stream_keeps_input_order_and_max_concurrency(run, clock):
    """TaskSupervisor.stream: same options as Task.stream; order kept; concurrency bounded."""
    running = []
    peak = []

    async def job(x):
        running.append(x)
        peak.append(len(running))
        await actors.sleep(10 - x % 10)
        running.remove(x)
        return x * x

    async def main():
        sup = await TaskSupervisor.start_link()
        results = [r async for r in TaskSupervisor.stream(sup, job, range(20), max_concurrency=3,
                                                          timeout=None)]
        assert results == [x * x for x in range(20)]
        assert max(peak) == 3
        assert await TaskSupervisor.children(sup) == []

    run(main, clock=clock)


def test_stream_tasks_are_children_of_the_supervisor(run):
    """The stream's tasks run under the supervisor, linked to the consumer too."""
    async def job(checker):
        actors.send(checker, ("child", actors.self()))
        return await actors.receive("go")

    async def main():
        sup = await TaskSupervisor.start_link()
        me = actors.self()

        async def checker():
            _, pid = await actors.receive(("child", ANY))
            links = Process.info(pid, "links")
            actors.send(me, ("seen", pid, await TaskSupervisor.children(sup), links))
            actors.send(pid, "go")

        stream = TaskSupervisor.stream(sup, job, [actors.spawn(checker)], timeout=None)
        assert [r async for r in stream] == ["go"]
        _, pid, children, links = await expect(("seen", ANY, ANY, ANY))
        assert children == [pid]
        assert sup in links and me in links

    run(main)


def test_stream_failure_raises_in_the_consumer(run, clock):
    """A failing item shuts the rest down and raises in the consumer, which lives on."""
    async def job(x):
        if x == 1:
            raise ValueError("bad")
        await actors.sleep(100)

    async def main():
        sup = await TaskSupervisor.start_link()
        with pytest.raises(ValueError, match="bad"):
            [r async for r in TaskSupervisor.stream(sup, job, range(5), max_concurrency=3)]
        await all_gone(sup)
        await nothing(timeout=200)

    run(main, clock=clock)


def test_stream_return_exceptions_and_timeout(run, clock):
    """return_exceptions yields the exception (Timeout for a timed-out item) in place."""
    async def job(x):
        if x == 0:
            raise KeyError(x)
        await actors.sleep(x)
        return x

    async def main():
        sup = await TaskSupervisor.start_link()
        results = [r async for r in TaskSupervisor.stream(sup, job, [0, 1, 10, 2], timeout=5,
                                                          return_exceptions=True)]
        assert isinstance(results[0], KeyError)
        assert results[1] == 1 and results[3] == 2
        assert isinstance(results[2], Timeout)

    run(main, clock=clock)


def test_stream_over_max_children_raises_start_error(run, clock):
    """A stream that needs more tasks than max_children allows raises StartError."""
    async def main():
        sup = await TaskSupervisor.start_link(max_children=2)
        with pytest.raises(StartError):
            [r async for r in TaskSupervisor.stream(sup, work, [5] * 4, max_concurrency=4)]
        await all_gone(sup)

    run(main, clock=clock)


def test_stream_checks_its_arguments(run):
    """Bad stream options raise before anything starts."""
    async def main():
        sup = await TaskSupervisor.start_link()
        with pytest.raises(ValueError, match="max_concurrency"):
            TaskSupervisor.stream(sup, double, [1], max_concurrency=0)
        with pytest.raises(TypeError, match="fn"):
            TaskSupervisor.stream(sup, str, [1])
        with pytest.raises(ValueError, match="shutdown"):
            TaskSupervisor.stream(sup, double, [1], shutdown=-5)

    run(main)


def test_stream_tasks_die_with_their_consumer(run):
    """As Elixir's Task.Supervisor.async_stream: the tasks are linked to the consumer."""
    async def consumer(sup, parent):
        async for _ in TaskSupervisor.stream(sup, announce_and_block, [parent] * 2, timeout=None):
            pass

    async def main():
        sup = await TaskSupervisor.start_link()
        pid = actors.spawn(consumer, sup, actors.self())
        tasks = [(await expect(("started", ANY)))[1] for _ in range(2)]
        refs = [actors.monitor(t) for t in tasks]
        actors.exit(pid, "shutdown")
        for ref in refs:
            assert (await expect(Down(ref, ANY, ANY))).reason == "shutdown"

    run(main)


# -- start_link / child_spec ------------------------------------------------------------

def test_child_spec_runs_the_supervisor_in_a_tree(run):
    """TaskSupervisor.child_spec(name=...) is a supervisor-type spec for start_link."""
    from actors.supervisor import Supervisor

    async def main():
        spec = TaskSupervisor.child_spec(name="jobs")
        assert isinstance(spec, ChildSpec)
        assert spec.id is TaskSupervisor and spec.type == "supervisor"
        await Supervisor.start_link([spec])
        assert actors.whereis("jobs") is not None
        assert await (await TaskSupervisor.create("jobs", double, 4)) == 8
        with pytest.raises((TypeError, ValueError)):
            TaskSupervisor.child_spec(max_children=-1)

    run(main)


def test_start_link_options(run):
    """start_link registers a name and checks its options."""
    async def main():
        sup = await TaskSupervisor.start_link(name="named")
        assert actors.whereis("named") is sup
        with pytest.raises(ValueError, match="max_children"):
            await TaskSupervisor.start_link(max_children=-1)
        with pytest.raises(TypeError):
            TaskSupervisor()

    run(main)
