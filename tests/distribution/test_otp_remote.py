"""GenServer, Agent, actors.sys and TaskSupervisor across Python nodes (docs/api.md, "Nodes").

The other node is a Python node in its own OS process (``remote_node.py``:
a ``TaskSupervisor`` "tasks", an ``Agent`` "agent", a ``Store`` server
"server", spawns allowed for ``spawn_targets``).  The rules checked:

* calls, casts and stops reach a remote pid or ``(name, node)`` as they reach
  a local server, with the same errors (``NoProcess``, ``CallExit``
  ``"noconnection"`` for a node that cannot be reached or is lost);
* a function given to a process of another node travels as ``(module,
  qualname)`` and runs there, if that node's ``allow_spawn`` lists its module
  (``PermissionError`` / ``StartError("not_allowed")`` otherwise); what
  cannot travel by name (a lambda, a closure) or as a term raises
  ``TypeError`` before anything is sent;
* a crash there reaches the caller as on one node, its reason as
  ``(ClassName, message)``;
* a task on another node is awaited, times out and is shut down like a local
  one.

Each test runs on every loop of ``--actors-loop``.
"""
from __future__ import annotations

import asyncio
import datetime
import itertools
import json

import pytest

import actors
import spawn_targets
from actors import ANY, Agent, CallExit, Down, GenServer, NoProcess, StartError, TaskSupervisor
from actors import sys as actors_sys

from conftest import python_node, start_python_node

pytestmark = pytest.mark.actors

_keys = itertools.count()
NOWHERE = "nobody@127.0.0.1"


def key() -> str:
    """A key (or name) no other test uses in the shared remote node."""
    return f"k{next(_keys)}"


async def fresh_store(node: str) -> tuple[str, actors.Pid]:
    """A new ``Store`` server on ``node``, registered under a fresh name."""
    name = key()
    await actors.Node.spawn(node, spawn_targets.start_store, name, actors.self())
    _, pid = await actors.receive(("store", ANY), timeout=10)
    return name, pid


async def fresh_agent(node: str) -> tuple[str, actors.Pid]:
    """A new ``Agent`` (state ``{}``) on ``node``, registered under a fresh name."""
    name = key()
    await actors.Node.spawn(node, spawn_targets.start_agent, name, actors.self())
    _, pid = await actors.receive(("agent", ANY), timeout=10)
    return name, pid


async def gone(pid: actors.Pid) -> object:
    """The exit reason of ``pid`` (``"noproc"`` if it has exited already)."""
    ref = actors.monitor(pid)
    return (await actors.receive(Down(ref, ANY, ANY), timeout=10)).reason


# -- GenServer ---------------------------------------------------------------------------------

async def test_call_and_cast_reach_a_server_on_another_python_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        k = key()
        assert await GenServer.call(("server", node), "node") == node
        assert await GenServer.call(("server", node), ("put", k, [1, "two", (3,)])) == "ok"
        pid = await GenServer.call(("server", node), "self")
        assert pid.node == node
        GenServer.cast(pid, ("put", k, {"by": "cast"}))       # in order with the call after it
        assert await GenServer.call(pid, ("get", k)) == {"by": "cast"}


async def test_a_request_that_cannot_travel_raises_typeerror_before_sending(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        k = key()
        with pytest.raises(TypeError, match="object"):
            await GenServer.call(("server", node), ("put", k, object()))
        with pytest.raises(TypeError, match="object"):
            GenServer.cast(("server", node), ("put", k, object()))
        assert await GenServer.call(("server", node), ("get", k)) is None


async def test_a_reply_that_cannot_travel_is_a_typeerror_and_the_server_goes_on(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        pid = await GenServer.call(("server", node), "self")
        with pytest.raises(TypeError, match="cannot encode"):
            await GenServer.call(pid, "not_a_term")
        assert await GenServer.call(pid, "node") == node          # not restarted: the same pid
        assert await GenServer.call(("server", node), "self") is pid


async def test_call_to_a_name_nobody_holds_there_raises_noprocess(epmd, remote_python):
    async with python_node(epmd, remote_python.cookie):
        with pytest.raises(NoProcess):
            await GenServer.call(("nobody", remote_python.name), "x")
        GenServer.cast(("nobody", remote_python.name), "x")        # a cast never fails


async def test_stop_a_server_on_another_node_by_name_and_by_pid(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        name, pid = await fresh_store(node)
        ref = actors.monitor(pid)
        await GenServer.stop((name, node))
        assert await actors.receive(Down(ref, ANY, ANY), timeout=10) == Down(ref, pid, "normal")
        with pytest.raises(NoProcess):
            await GenServer.stop((name, node))
        _, pid = await fresh_store(node)
        await GenServer.stop(pid, ("shutdown", "done"))
        assert await gone(pid) == "noproc"
        with pytest.raises(NoProcess):
            await GenServer.stop(pid)
        _, pid = await fresh_store(node)
        with pytest.raises(TypeError, match="object"):             # the reason cannot travel
            await GenServer.stop(pid, object())
        assert await GenServer.call(pid, "node") == node
        await GenServer.stop(pid)


async def test_a_node_that_cannot_be_reached_exits_the_call_noconnection(epmd, remote_python):
    async with python_node(epmd, remote_python.cookie):
        for attempt in (GenServer.call(("server", NOWHERE), "x"),
                        GenServer.stop(("server", NOWHERE)),
                        Agent.get(("agent", NOWHERE), spawn_targets.get_key, "k"),
                        actors_sys.get_state(("server", NOWHERE)),
                        TaskSupervisor.create(("tasks", NOWHERE), spawn_targets.double, 1)):
            with pytest.raises(CallExit) as info:
                await attempt
            assert info.value.reason == "noconnection"


async def test_a_runtime_that_is_not_a_node_reaches_no_other_node():
    assert not actors.Node.alive()
    for attempt in (GenServer.call(("server", NOWHERE), "x"),
                    GenServer.stop(("server", NOWHERE)),
                    Agent.update(("agent", NOWHERE), spawn_targets.put_key, "k", 1),
                    actors_sys.suspend(("server", NOWHERE)),
                    TaskSupervisor.create(("tasks", NOWHERE), spawn_targets.double, 1),
                    TaskSupervisor.start_child(("tasks", NOWHERE), spawn_targets.double, 1)):
        with pytest.raises(CallExit) as info:
            await attempt
        assert info.value.reason == "noconnection"
    with pytest.raises(TypeError, match="top level of a module"):   # checked before all that
        await Agent.get(("agent", NOWHERE), lambda state: state)


async def test_a_node_lost_during_a_call_and_a_task_exits_them_noconnection(epmd, cookie):
    other = await asyncio.to_thread(start_python_node, epmd, cookie)
    try:
        async with python_node(epmd, cookie):
            task = await TaskSupervisor.create(("tasks", other.name), spawn_targets.announce_and_wait,
                                               actors.self())
            await actors.receive(("started", task.pid, other.name), timeout=10)
            call = actors.Task.create(_call_that_hangs, other.name, actors.self())
            await actors.receive("hanging", timeout=10)             # the call has reached the server
            await asyncio.to_thread(other.kill)
            with pytest.raises(CallExit) as info:
                await task.wait(timeout=10)
            assert info.value.reason == "noconnection"
            assert await call.wait(timeout=10) == "noconnection"
    finally:
        await asyncio.to_thread(other.stop)


async def _call_that_hangs(node: str, notify: actors.Pid) -> object:
    try:
        await GenServer.call(("server", node), ("hang", notify), timeout=None)
    except CallExit as exc:
        return exc.reason
    return "answered"


# -- Agent -------------------------------------------------------------------------------------

async def test_agent_functions_run_on_the_agents_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        k = key()
        agent = ("agent", node)
        assert await Agent.get(agent, spawn_targets.get_key, k) is None
        await Agent.update(agent, spawn_targets.put_key, k, ["v", 1])
        assert await Agent.get(agent, spawn_targets.get_key, k) == ["v", 1]
        assert await Agent.get(agent, spawn_targets.get_key_later, k) == ["v", 1]   # async fn
        assert await Agent.get_and_update(agent, spawn_targets.pop_key, k) == ["v", 1]
        Agent.cast(agent, spawn_targets.put_key, k, "cast")
        assert await Agent.get(agent, spawn_targets.get_key, k) == "cast"
        pid = await GenServer.call(("server", node), "self")       # any pid of that node works too
        assert pid.node == node


async def test_a_function_that_cannot_travel_by_name_raises_typeerror_before_sending(
        epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        k = key()
        agent = ("agent", node)
        value = 5

        def closure(state):
            return value

        for fn in (lambda state: state, closure, spawn_targets.Store().handle_cast):
            with pytest.raises(TypeError, match="top level of a module"):
                await Agent.update(agent, fn)
            with pytest.raises(TypeError, match="top level of a module"):
                await Agent.get(agent, fn)
            with pytest.raises(TypeError, match="top level of a module"):
                await Agent.get_and_update(agent, fn)
            with pytest.raises(TypeError, match="top level of a module"):
                Agent.cast(agent, fn)
        with pytest.raises(TypeError, match="object"):             # an argument that cannot travel
            await Agent.update(agent, spawn_targets.put_key, k, object())
        assert await Agent.get(agent, spawn_targets.get_key, k) is None


async def test_agent_refuses_a_module_its_node_does_not_allow(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        agent = ("agent", node)
        pid = await GenServer.call(("server", node), "self")
        with pytest.raises(PermissionError, match="'json'.*allow_spawn"):
            await Agent.get(agent, json.dumps)
        Agent.cast(agent, json.dumps)                              # dropped there, never fails
        with pytest.raises(TypeError, match="cannot encode"):        # a result that cannot travel
            await Agent.get(agent, spawn_targets.not_a_term)
        k = key()
        await Agent.update(agent, spawn_targets.put_key, k, 1)     # the agent went on
        assert await Agent.get(agent, spawn_targets.get_key, k) == 1
        assert await GenServer.call(("server", node), "self") is pid


async def test_an_agent_function_that_raises_crashes_the_agent_as_on_one_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        name, pid = await fresh_agent(node)
        ref = actors.monitor(pid)
        with pytest.raises(CallExit) as info:
            await Agent.update((name, node), spawn_targets.fail, "bad state")
        assert info.value.reason == ("ValueError", "bad state")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=10) == \
            Down(ref, pid, ("ValueError", "bad state"))
        with pytest.raises(NoProcess):
            await Agent.get((name, node), spawn_targets.get_key, "k")


async def test_agent_stop_on_another_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        name, pid = await fresh_agent(node)
        await Agent.stop((name, node))
        assert await gone(pid) == "noproc"
        with pytest.raises(NoProcess):
            await Agent.stop(pid)


# -- actors.sys --------------------------------------------------------------------------------

async def test_sys_state_and_status_of_a_server_on_another_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        name, pid = await fresh_store(node)
        await GenServer.call(pid, ("put", "a", 1))
        assert await actors_sys.get_state((name, node)) == {"items": {"a": 1}}
        status = await actors_sys.get_status(pid)
        assert status["pid"] is pid and status["name"] == name and status["status"] == "running"
        assert status["class"] == "spawn_targets.Store"              # a class travels by name
        assert status["state"] == {"items": {"a": 1}}
        assert await actors_sys.replace_state(pid, spawn_targets.reset) == {"items": {}}
        assert await GenServer.call(pid, ("get", "a")) is None
        await GenServer.stop(pid)


async def test_sys_suspend_resume_statistics_and_trace_on_another_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        _, pid = await fresh_store(node)
        await actors_sys.statistics(pid, True)
        await actors_sys.trace(pid, True)
        await actors_sys.suspend(pid)
        assert (await actors_sys.get_status(pid))["status"] == "suspended"
        GenServer.cast(pid, ("put", "a", 1))                       # waits until resume
        call = actors.Task.create(GenServer.call, pid, ("get", "a"))
        assert await call.poll(0.2) is None
        await actors_sys.resume(pid)
        assert await call == 1                                     # the cast first, in order
        stats = await actors_sys.statistics(pid, "get")
        assert stats is not None and stats["messages_in"] == 2 and stats["messages_out"] == 1
        assert isinstance(stats["start_time"], datetime.datetime)
        assert stats["start_time"].tzinfo is not None and stats["current_time"] >= stats["start_time"]
        assert (await actors_sys.get_status(pid))["trace"] is True
        await actors_sys.trace(pid, False)
        await actors_sys.statistics(pid, False)
        assert await actors_sys.statistics(pid, "get") is None
        await GenServer.stop(pid)


async def test_sys_change_code_on_another_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        _, pid = await fresh_store(node)
        await GenServer.call(pid, ("put", "a", 1))
        with pytest.raises(RuntimeError, match="suspend it first"):
            await actors_sys.change_code(pid, spawn_targets.StoreV2, 10)
        await actors_sys.suspend(pid)
        await actors_sys.change_code(pid, spawn_targets.StoreV2, 10)
        await actors_sys.resume(pid)
        status = await actors_sys.get_status(pid)
        assert status["class"] == "spawn_targets.StoreV2" and status["vsn"] == 2
        assert status["state"] == {"items": {"a": 1}, "count": 11}
        await GenServer.stop(pid)


async def test_sys_errors_across_nodes(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        _, pid = await fresh_store(node)
        with pytest.raises(TypeError, match="top level of a module"):
            await actors_sys.replace_state(pid, lambda state: state)
        with pytest.raises(PermissionError, match="allow_spawn"):
            await actors_sys.replace_state(pid, json.loads)
        with pytest.raises(ValueError, match="no good"):           # raised there, as itself
            await actors_sys.replace_state(pid, spawn_targets.fail_sys)
        with pytest.raises(TypeError, match="dict of attribute names"):
            await actors_sys.replace_state(pid, spawn_targets.not_a_term)
        await GenServer.call(pid, ("put", "sock", "fine"))
        assert await actors_sys.get_state(pid) == {"items": {"sock": "fine"}}   # state kept
        with pytest.raises(NoProcess):
            await actors_sys.get_state(("nobody", node))
        await GenServer.stop(pid)


async def test_sys_get_state_that_cannot_travel_is_a_typeerror(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        _, pid = await fresh_store(node)
        with pytest.raises(TypeError, match="'lock'"):             # replaced, but cannot come back
            await actors_sys.replace_state(pid, spawn_targets.hold_a_lock)
        with pytest.raises(TypeError, match="'lock'"):
            await actors_sys.get_state(pid)
        status = await actors_sys.get_status(pid)                  # for people: shown by its repr
        assert "lock" in status["state"]["lock"]
        await GenServer.stop(pid)


# -- TaskSupervisor -----------------------------------------------------------------------------

async def test_create_runs_the_task_on_the_supervisors_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.where_am_i)
        assert task.pid.node == node and task.owner is actors.self()
        assert await task == node
        assert await task.wait() == node                          # the same result again
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.double, 21)
        assert await task.wait(timeout=10) == 42
        sup = (await actors_sys.get_status(("tasks", node)))["pid"]
        task = await TaskSupervisor.create(sup, spawn_targets.double, x=4)    # by pid, kwargs
        assert await task == 8


async def test_a_remote_task_crash_is_callexit_and_no_exit_signal(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.task_fails, "boom")
        with pytest.raises(CallExit) as info:
            await task
        assert info.value.reason == ("ValueError", "boom")
        assert actors.flush() == []                               # not linked: no Exit here
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.task_not_a_term)
        with pytest.raises(CallExit) as info:                     # its result cannot travel
            await task
        assert info.value.reason[0] == "TypeError"


async def test_a_remote_task_that_times_out_is_killed_there(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.announce_and_wait,
                                           actors.self())
        await actors.receive(("started", task.pid, node), timeout=10)
        with pytest.raises(actors.Timeout):
            await task.wait(timeout=0.1)
        assert await gone(task.pid) in ("killed", "noproc")
        task = await TaskSupervisor.create(("tasks", node), spawn_targets.announce_and_wait,
                                           actors.self())
        await actors.receive(("started", task.pid, node), timeout=10)
        assert await task.poll(0) is None
        assert await task.shutdown() is None
        assert await gone(task.pid) == "noproc"


async def test_start_child_on_another_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        pid = await TaskSupervisor.start_child(("tasks", node), spawn_targets.announce_and_wait,
                                               actors.self())
        assert pid.node == node
        assert await actors.receive(("started", ANY, ANY), timeout=10) == ("started", pid, node)
        assert (await actors.DynamicSupervisor.count_children(("tasks", node)))["active"] >= 1
        await TaskSupervisor.terminate_child(("tasks", node), pid)
        assert await gone(pid) == "noproc"


async def test_children_and_which_children_of_a_supervisor_on_another_node(epmd, remote_python):
    """``TaskSupervisor.children((sup, node))`` lists the tasks running there (as
    Elixir's ``Task.Supervisor.children``), and ``which_children`` answers
    ``Child`` tuples whose modules, classes and functions over there, are
    named by their qualified names."""
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        pid = await TaskSupervisor.start_child(("tasks", node), spawn_targets.announce_and_wait,
                                               actors.self())
        await actors.receive(("started", pid, ANY), timeout=10)
        assert pid in await TaskSupervisor.children(("tasks", node))
        children = await actors.DynamicSupervisor.which_children(("tasks", node))
        [mine] = [c for c in children if c.pid == pid]
        assert isinstance(mine, actors.Child) and mine.type == "worker"
        assert all(isinstance(m, str) for m in mine.modules)
        await TaskSupervisor.terminate_child(("tasks", node), pid)
        assert pid not in await TaskSupervisor.children(("tasks", node))


async def test_stream_runs_every_item_on_the_other_node(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        results = [r async for r in TaskSupervisor.stream(("tasks", node), spawn_targets.double,
                                                          range(12), max_concurrency=3)]
        assert results == [2 * i for i in range(12)]
        unordered = [r async for r in TaskSupervisor.stream(("tasks", node), spawn_targets.double,
                                                            [1, 2, 3], ordered=False)]
        assert sorted(unordered) == [2, 4, 6]
        messages = ["ok", "boom"]
        out = [r async for r in TaskSupervisor.stream(("tasks", node), spawn_targets.fail_on,
                                                      messages, return_exceptions=True)]
        assert out[0] == "ok" and isinstance(out[1], CallExit)
        assert out[1].reason == ("ValueError", "boom")
        with pytest.raises(CallExit):
            async for _ in TaskSupervisor.stream(("tasks", node), spawn_targets.fail_on, messages):
                pass


async def test_remote_stream_tasks_die_with_their_consumer(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        me = actors.self()

        async def consume():
            async for _ in TaskSupervisor.stream(("tasks", node), spawn_targets.announce_and_wait,
                                                 [me, me], timeout=None):
                pass

        consumer = actors.spawn(consume)
        started = [await actors.receive(("started", ANY, node), timeout=10) for _ in range(2)]
        actors.exit(consumer, "kill")
        for _, pid, _ in started:
            assert await gone(pid) in ("killed", "noproc")


async def test_a_remote_stream_item_that_times_out_is_killed_there(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        stream = TaskSupervisor.stream(("tasks", node), spawn_targets.announce_and_wait,
                                       [actors.self()], timeout=0.5, return_exceptions=True)
        out = [r async for r in stream]
        assert len(out) == 1 and isinstance(out[0], actors.Timeout)
        _, pid, _ = await actors.receive(("started", ANY, node), timeout=10)
        assert await gone(pid) in ("killed", "noproc")


async def test_remote_tasks_refused_or_malformed(epmd, remote_python):
    node = remote_python.name
    async with python_node(epmd, remote_python.cookie):
        with pytest.raises(StartError) as info:
            await TaskSupervisor.create(("tasks", node), asyncio.sleep, 0)
        assert info.value.reason == "not_allowed"
        with pytest.raises(StartError) as info:
            await TaskSupervisor.start_child(("tasks", node), asyncio.sleep, 0)
        assert info.value.reason == "not_allowed"
        with pytest.raises(NoProcess):
            await TaskSupervisor.create(("nosup", node), spawn_targets.double, 1)

        async def local_fn(x):
            return x

        for start in (TaskSupervisor.create, TaskSupervisor.start_child):
            with pytest.raises(TypeError, match="top level of a module"):
                await start(("tasks", node), local_fn, 1)
            with pytest.raises(TypeError, match="async function"):
                await start(("tasks", node), spawn_targets.get_key, 1)
            with pytest.raises(TypeError, match="object"):
                await start(("tasks", node), spawn_targets.double, object())
        with pytest.raises(TypeError, match="top level of a module"):
            TaskSupervisor.stream(("tasks", node), local_fn, [1])
        with pytest.raises(StartError):
            async for _ in TaskSupervisor.stream(("tasks", node), asyncio.sleep, [0]):
                pass
