"""Typed use of the public API, as a user writes it: checked by mypy --strict and
pyright strict (tests/test_typing.py), never run or collected by pytest.

``assert_type`` pins the types the API promises: a change that loses one (a
``Task`` whose ``await`` gives ``Any``, a function that stops accepting a
``via``) fails the typing tests.

Lines ending in ``# type: ignore[...]`` are calls the API must refuse: both
checkers report an ignore comment that silences nothing (mypy --strict's
warn_unused_ignores; reportUnnecessaryTypeIgnoreComment below), so such a
line fails the typing tests if the call stops being an error.
"""
# pyright: reportUnnecessaryTypeIgnoreComment=true
from __future__ import annotations

from typing import Any, assert_type

import actors
from actors import (
    Agent, Child, ChildSpec, DynamicSupervisor, GenServer, Pid, Process, Ref, Registry,
    Supervisor, Task, TaskSupervisor, via,
)
from actors.lowlevel import ServerRef
from actors.task import TaskStream


class Counter(GenServer):
    def init(self, start: int = 0) -> None:
        self.n = start

    def handle_call(self, request: Any, from_: Any) -> Any:
        if request == "get":
            return self.n
        return actors.NOREPLY

    def handle_cast(self, request: Any) -> None:
        self.n += request


async def square(x: int) -> int:
    return x * x


async def greet(name: str, *, punctuation: str = "!") -> str:
    return f"hello {name}{punctuation}"


async def tasks() -> None:
    t = Task.create(square, 3)
    assert_type(t, Task[int])
    assert_type(await t, int)
    assert_type(await t.wait(timeout=1.0), int)
    assert_type(await t.poll(0), int | None)
    assert_type(await t.shutdown(), int | None)
    g = Task.create(greet, "joe", punctuation="?")
    assert_type(await g, str)
    assert_type(await Task.wait_all([t, Task.create(square, 4)]), list[int])
    stream = Task.stream(square, [1, 2, 3], max_concurrency=2)
    assert_type(stream, TaskStream[int])
    async for n in stream:
        assert_type(n, int)
    async for r in Task.stream(square, range(3), return_exceptions=True):
        assert_type(r, int | Exception)
    assert_type(t.pid, Pid)
    assert_type(await Task.start(square, 1), Pid)
    spec = Task.child_spec(square, 1, restart="transient")
    assert_type(spec, ChildSpec)


async def servers() -> None:
    pid = await Counter.start_link(5, name="counter")
    assert pid is not None
    ref: ServerRef = pid
    for server in (ref, "counter", via("registry", "counter")):
        assert_type(await GenServer.call(server, "get", timeout=5.0), Any)
        GenServer.cast(server, 1)
    await GenServer.stop("counter", reason="normal")


async def registries() -> None:
    reg = await Registry.start_link(keys="unique", name="registry")
    assert_type(reg, Pid)
    assert_type(Registry.register("registry", "key", {"since": 1990}), Pid)
    Registry.unregister(reg, "key")
    assert_type(Registry.lookup("registry", "key"), list[tuple[Pid, Any]])
    assert_type(Registry.keys("registry", actors.self()), list[Any])
    assert_type(Registry.count("registry"), int)
    Registry.dispatch("registry", "key", lambda entries: None)


async def supervisors() -> None:
    children = [Counter, (Counter, 1), Counter.child_spec(2, name="c2"),
                ChildSpec(id="t", start=(Task.start_link, (square, 1)), restart="temporary")]
    sup = await Supervisor.start_link(children, strategy="one_for_one")
    assert sup is not None          # None only when a module-based init raises Ignore
    assert_type(await Supervisor.which_children(sup), list[Child])
    assert_type(await Supervisor.count_children(sup), dict[str, int])
    dyn = await DynamicSupervisor.start_link(max_children=10)
    assert dyn is not None
    child = await DynamicSupervisor.start_child(dyn, Counter.child_spec())
    assert child is not None
    await DynamicSupervisor.terminate_child(dyn, child)
    tsup = await TaskSupervisor.start_link(name="tasks")
    ts = await TaskSupervisor.create(tsup, square, 5)
    assert_type(await ts, int)
    async for n in TaskSupervisor.stream("tasks", square, range(3)):
        assert_type(n, int)
    await Supervisor.stop(sup)


async def agents() -> None:
    agent = await Agent.start_link(dict)
    assert_type(agent, Pid)
    await Agent.update(agent, lambda d: {**d, "milk": 3})
    assert_type(await Agent.get(agent, lambda d: len(d)), int)
    Agent.cast("bucket", lambda d: d)
    await Agent.stop(agent)


async def processes() -> None:
    me = actors.self()
    pid = actors.spawn(square, 2)
    assert_type(pid, Pid)
    assert_type(actors.monitor(pid), Ref)
    actors.send(pid, ("hello", me))
    msg = await actors.receive(("hello", actors.ANY), timeout=1.0, default=None)
    assert_type(msg, Any)
    assert_type(Process.alive(pid), bool)
    assert_type(actors.whereis("counter"), Pid | None)


async def refused() -> None:
    Task.create(square, "three")  # type: ignore[arg-type]
    Task.create(square)  # type: ignore[call-arg]
    await GenServer.call(42, "get")  # type: ignore[arg-type]
    actors.spawn(greet, "joe", punctuation=1)  # type: ignore[arg-type]
    await Agent.get("bucket", len, 1)  # type: ignore[arg-type]
    t: Task[int] = Task.create(greet, "joe")  # type: ignore[arg-type]
    del t


async def embedded() -> None:
    async with actors.Runtime(clock=actors.MockClock()) as rt:
        pid = rt.spawn(square, 2)
        assert_type(pid, Pid)
        assert_type(await rt.run_in_process(square, 3), int)
        assert_type(await rt.call("counter", "get"), Any)
        assert_type(await actors.lowlevel.call_in_process(greet, "joe"), str)


def threaded(rt: actors.ThreadRuntime) -> None:
    """The thread runtime checks arguments as ``actors.spawn`` does (a ParamSpec)."""
    assert_type(rt.spawn(square, 2), Pid)
    assert_type(rt.submit(square, 3).result(), int)
    assert_type(rt.submit(greet, "joe", punctuation="?").result(), str)
    assert_type(rt.call_sync(via("registry", "counter"), "get"), Any)
    rt.submit(square, "x")  # type: ignore[arg-type]
    rt.spawn(square, "x")  # type: ignore[arg-type]
    rt.submit(greet)  # type: ignore[call-arg]
    rt.call_sync(42, "get")  # type: ignore[arg-type]


async def introspect() -> None:
    state = await actors.sys.get_state("counter")
    assert_type(state, dict[str, Any])
    await actors.sys.suspend(via("registry", "counter"))
    await actors.sys.resume("counter")


async def main() -> int:
    await tasks()
    return 42


def entry() -> None:
    assert_type(actors.run(main, clock=actors.MockClock(autojump=True)), int)
