"""Agent: start_link/start, get, update, get_and_update, cast, stop and
child_spec (docs/api.md "OTP layers" and "Details"; Elixir's Agent is the reference where
the contract is silent).

Tests that involve time run on ``MockClock(autojump=True)``.
"""
from __future__ import annotations

import operator

import pytest

import actors
from actors import (
    ANY, AlreadyRegistered, CallExit, Down, NoProcess, Process, StartError, Timeout,
)
from actors.agent import Agent
from actors.child_spec import ChildSpec
from actors.gen_server import NOREPLY, GenServer, Reply


async def expect(pattern, timeout=30.0):
    """The next message matching ``pattern``; Timeout (failing the test) if none comes."""
    return await actors.receive(pattern, timeout=timeout)


def test_the_state_lifecycle(run):
    """start_link(fn): fn() is the state; get/update/get_and_update/cast/stop work on it."""
    async def main():
        counter = await Agent.start_link(lambda: 0)
        assert isinstance(counter, actors.Pid)
        assert await Agent.get(counter, lambda n: n) == 0
        assert await Agent.update(counter, lambda n: n + 1) is None
        assert await Agent.get(counter, lambda n: n) == 1
        assert await Agent.get_and_update(counter, lambda n: (n, n + 10)) == 1
        assert await Agent.get(counter, lambda n: n) == 11
        assert Agent.cast(counter, lambda n: n * 2) is None
        assert await Agent.get(counter, lambda n: n) == 22      # casts are handled in order
        await Agent.stop(counter)
        assert not Process.alive(counter)

    run(main)


def test_get_returns_a_function_of_the_state_without_changing_it(run):
    """get(fn) replies fn(state); the state stays as it was."""
    async def main():
        agent = await Agent.start_link(lambda: {"a": 1, "b": 2})
        assert await Agent.get(agent, lambda s: sorted(s)) == ["a", "b"]
        assert await Agent.get(agent, len) == 2
        assert await Agent.get(agent, lambda s: s) == {"a": 1, "b": 2}

    run(main)


def test_the_functions_run_inside_the_agent(run):
    """Every function given to an agent runs in the agent's process."""
    async def main():
        seen = []

        def record(state=None, *_):
            seen.append(actors.self())
            return state

        agent = await Agent.start_link(record)
        await Agent.get(agent, record)
        await Agent.update(agent, record)
        await Agent.get_and_update(agent, lambda s: (record(s), s))
        Agent.cast(agent, record)
        await Agent.get(agent, lambda s: s)
        assert seen == [agent] * 5

    run(main)


def test_extra_arguments_follow_the_state(run):
    """get/update/get_and_update/cast(fn, *args) call fn(state, *args) (Elixir's MFA form)."""
    async def main():
        agent = await Agent.start_link(dict, [("x", 1)])
        assert await Agent.get(agent, operator.getitem, "x") == 1
        await Agent.update(agent, lambda s, k, v: {**s, k: v}, "y", 2)
        assert await Agent.get_and_update(agent, lambda s, k: (s[k], {}), "y") == 2
        Agent.cast(agent, lambda s, k: {**s, k: 3}, "z")
        assert await Agent.get(agent, lambda s: s) == {"z": 3}

    run(main)


def test_functions_may_be_async_and_are_awaited_inside_the_agent(run, clock):
    """An async function's result is awaited in the agent before the next request."""
    async def slow_init():
        await actors.sleep(1)
        return 10

    async def slow_add(state, n):
        await actors.sleep(1)
        return state + n

    async def slow_pop(state):
        await actors.sleep(1)
        return state, 0

    async def main():
        agent = await Agent.start_link(slow_init)
        assert await Agent.get(agent, lambda s: s) == 10
        await Agent.update(agent, slow_add, 5)
        Agent.cast(agent, slow_add, 100)
        # The cast's sleep is in progress; this get is handled only after it.
        assert await Agent.get(agent, lambda s: s) == 115
        assert await Agent.get_and_update(agent, slow_pop) == 115
        assert await Agent.get(agent, slow_add, 1) == 1

    run(main, clock=clock)


def test_requests_are_handled_one_at_a_time_in_order(run, clock):
    """Requests from several clients are serialized: no update is lost."""
    async def client(agent, parent):
        for _ in range(10):
            await Agent.update(agent, lambda n: n + 1)
        actors.send(parent, "done")

    async def main():
        agent = await Agent.start_link(lambda: 0)
        for _ in range(5):
            actors.spawn(client, agent, actors.self())
        for _ in range(5):
            await expect("done")
        assert await Agent.get(agent, lambda n: n) == 50

    run(main, clock=clock)


def test_a_value_that_looks_like_a_reply_action_is_still_a_value(run):
    """get replies fn(state) as it is, even when it is a GenServer reply object."""
    async def main():
        agent = await Agent.start_link(lambda: NOREPLY)
        assert await Agent.get(agent, lambda s: s) is NOREPLY
        reply = Reply(1)
        assert await Agent.get(agent, lambda s: reply) is reply
        assert await Agent.get_and_update(agent, lambda s: (s, 0)) is NOREPLY

    run(main)


def test_start_link_links_and_start_does_not(run):
    """start_link links the agent to the caller; start does not."""
    async def main():
        linked = await Agent.start_link(lambda: 0)
        unlinked = await Agent.start(lambda: 0)
        links = Process.info(actors.self(), "links")
        assert linked in links and unlinked not in links

    run(main)


def test_name_registration(run):
    """name= registers the agent; every function accepts the name; a taken name fails."""
    async def main():
        agent = await Agent.start_link(lambda: [], name="stack")
        assert actors.whereis("stack") is agent
        await Agent.update("stack", lambda s: s + [1])
        assert await Agent.get("stack", lambda s: s) == [1]
        with pytest.raises(AlreadyRegistered) as info:
            await Agent.start_link(lambda: [], name="stack")
        assert info.value.pid is agent
        await Agent.stop("stack")
        assert actors.whereis("stack") is None

    run(main)


def test_a_raising_init_fails_the_start(run):
    """fn raising in start_link: StartError with the exception as .reason; nothing runs."""
    async def main():
        with pytest.raises(StartError) as info:
            await Agent.start_link(lambda: 1 / 0)
        assert isinstance(info.value.reason, ZeroDivisionError)

    run(main)


def test_a_raising_function_crashes_the_agent_and_the_caller_gets_call_exit(run):
    """As in Elixir: a function that raises crashes the agent; the caller gets CallExit."""
    async def main():
        agent = await Agent.start(lambda: 0)
        ref = actors.monitor(agent)
        with pytest.raises(CallExit) as info:
            await Agent.get(agent, lambda n: 1 / n)
        assert isinstance(info.value.reason, ZeroDivisionError)
        down = await expect(Down(ref, ANY, ANY))
        assert down.reason is info.value.reason

    run(main)


def test_get_and_update_must_return_a_pair(run):
    """A get_and_update function that does not return (result, new_state) crashes the agent."""
    async def main():
        agent = await Agent.start(lambda: 0)
        with pytest.raises(CallExit) as info:
            await Agent.get_and_update(agent, lambda n: n + 1)
        assert isinstance(info.value.reason, TypeError)
        assert "(result, new_state)" in str(info.value.reason)

    run(main)


def test_a_slow_function_times_out_the_caller(run, clock):
    """get/update/get_and_update wait 5 s by default, then raise Timeout."""
    async def slow(state):
        await actors.sleep(60)
        return state

    async def main():
        agent = await Agent.start_link(lambda: 0)
        start = actors.lowlevel.current_scheduler().now()
        with pytest.raises(Timeout):
            await Agent.get(agent, slow)
        assert 5 <= actors.lowlevel.current_scheduler().now() - start < 6
        with pytest.raises(Timeout):
            await Agent.update(agent, slow, timeout=1)
        assert await Agent.get(agent, lambda s: s, timeout=None) == 0
        assert actors.flush() == []           # late replies never reach the mailbox

    run(main, clock=clock)


def test_cast_never_fails(run):
    """cast returns None at once, even for a dead agent or a name nobody holds."""
    async def main():
        agent = await Agent.start(lambda: 0)
        await Agent.stop(agent)
        assert Agent.cast(agent, lambda n: n + 1) is None
        assert Agent.cast("nobody", lambda n: n + 1) is None

    run(main)


def test_stop_with_a_reason_and_for_a_missing_agent(run):
    """stop(agent, reason) stops it with that reason; a missing agent raises NoProcess."""
    async def main():
        agent = await Agent.start(lambda: 0)
        ref = actors.monitor(agent)
        await Agent.stop(agent, "shutdown")
        assert (await expect(Down(ref, ANY, ANY))).reason == "shutdown"
        with pytest.raises(NoProcess):
            await Agent.stop(agent)
        with pytest.raises(NoProcess):
            await Agent.get(agent, lambda s: s)

    run(main)


def test_arguments_are_checked_before_anything_is_sent(run):
    """A non-callable fn is a TypeError naming fn."""
    async def main():
        agent = await Agent.start_link(lambda: 0)
        for call in (lambda: Agent.get(agent, 1), lambda: Agent.update(agent, None),
                     lambda: Agent.get_and_update(agent, "x")):
            with pytest.raises(TypeError, match="fn"):
                await call()
        with pytest.raises(TypeError, match="fn"):
            Agent.cast(agent, 5)
        with pytest.raises(TypeError, match="fn"):
            await Agent.start_link(42)
        with pytest.raises(ValueError, match="timeout"):
            await Agent.get(agent, lambda s: s, timeout=-1)
        assert await Agent.get(agent, lambda s: s) == 0

    run(main)


@pytest.mark.parametrize("request_", [
    42, None, (), ("get",), ("get", 42, ()), ("update", None, ()), ("get_and_update", len, "args"),
    ("no_such_op", len, ()), (["op"], len, ()), ("get", len, (), "extra"),
])
def test_a_malformed_request_gets_an_error_and_the_agent_survives(run, request_):
    """A client's bad argument never kills a server: a raw call that is not
    (op, fn, args) with a known op, a callable fn and a tuple of args is answered
    with ("error", TypeError); a malformed cast is logged and dropped; the agent
    keeps its state."""
    async def main():
        agent = await Agent.start_link(lambda: 7)
        ref = actors.monitor(agent)
        status, error = await actors.lowlevel.call(agent, request_)
        assert status == "error" and isinstance(error, TypeError)
        GenServer.cast(agent, request_)
        GenServer.cast(agent, ("cast", "not callable", ()))
        assert await Agent.get(agent, lambda s: s) == 7
        assert await actors.receive(Down, timeout=0, default=None) is None
        actors.demonitor(ref)

    run(main)


@pytest.mark.parametrize("fn, args", [
    ("get", (len,)), ("update", (len,)), ("get_and_update", (len,)), ("stop", ()),
])
def test_every_client_function_names_its_agent_argument(run, fn, args):
    """An agent reference that is not a Pid, a name or a via is a TypeError naming
    the argument: agent."""
    async def main():
        with pytest.raises(TypeError, match=r"Agent\.\w+: agent must be a Pid"):
            await getattr(Agent, fn)(42, *args)
        with pytest.raises(TypeError, match=r"Agent\.cast: agent must be a Pid"):
            Agent.cast(42, len)

    run(main)


def test_child_spec_runs_start_link_with_id_agent(run):
    """Agent.child_spec(fn, ...) is the spec for Agent.start_link(fn, ...), id Agent."""
    async def main():
        spec = Agent.child_spec(lambda: 7, name="seven")
        assert isinstance(spec, ChildSpec)
        assert spec.id is Agent and spec.restart == "permanent"
        pid = await spec.start_child()
        assert actors.whereis("seven") is pid
        assert await Agent.get("seven", lambda s: s) == 7

    run(main)


def test_a_supervised_agent_restarts_with_its_initial_state(run):
    """Under a supervisor, a crashed agent comes back (by name) with fn()'s state."""
    from actors.dynamic_supervisor import DynamicSupervisor

    async def main():
        sup = await DynamicSupervisor.start_link()
        first = await DynamicSupervisor.start_child(sup, Agent.child_spec(lambda: 0, name="counter"))
        await Agent.update("counter", lambda n: n + 5)
        ref = actors.monitor(first)
        with pytest.raises(CallExit):
            await Agent.get("counter", lambda n: n / 0)
        await expect(Down(ref, ANY, ANY))
        # The supervisor handles the exit (and restarts) before our next request.
        [child] = await DynamicSupervisor.which_children(sup)
        assert child.pid is actors.whereis("counter") and child.pid is not first
        assert await Agent.get("counter", lambda n: n) == 0

    run(main)


def test_a_subclass_has_its_own_child_spec_id(run):
    """``class Stack(Agent)`` is its own id in child specs (Elixir's ``use Agent``)."""
    class Stack(Agent):
        pass

    async def main():
        spec = Stack.child_spec(list)
        assert spec.id is Stack
        stack = await spec.start_child()
        await Agent.update(stack, lambda s: s + ["x"])
        assert await Agent.get(stack, lambda s: s) == ["x"]

    run(main)


def test_an_agent_is_a_gen_server(run):
    """Agent is built on GenServer: GenServer.call/stop work on it; it ignores other messages."""
    async def main():
        agent = await Agent.start_link(lambda: 1)
        assert issubclass(Agent, GenServer)
        assert await GenServer.call(agent, ("get", lambda s: s + 1, ())) == 2
        await GenServer.stop(agent)

    run(main)


def test_agents_work_from_plain_asyncio_code(aio_run):
    """With an embedded Runtime, start/get/update work from plain asyncio code."""
    async def main():
        async with actors.Runtime():
            agent = await Agent.start(lambda: 1)
            await Agent.update(agent, lambda n: n + 1)
            assert await Agent.get(agent, lambda n: n) == 2
            await Agent.stop(agent)

    aio_run(main)
