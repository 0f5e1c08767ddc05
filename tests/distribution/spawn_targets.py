"""Functions other nodes spawn on a Python node in the tests (``allow_spawn``)."""
from __future__ import annotations

import threading
from typing import Any

import actors


async def tell(to: Any, message: Any) -> None:
    """Send ``message`` to ``to``, then end normally."""
    actors.send(to, message)


async def echo_forever() -> None:
    """Answer ``(from, m)`` with ``m``, until told ``stop``."""
    while True:
        msg = await actors.receive()
        if msg == "stop":
            return
        actors.send(msg[0], msg[1])


async def crash(reason: str) -> None:
    """Exit at once with ``reason``."""
    raise actors.ProcessExit(reason)


# -- what a Python node's agents, servers and task supervisors run for another node ------
# (tests/distribution/remote_node.py: both nodes import this module by name)

def empty() -> dict:
    """An agent's initial state."""
    return {}


def get_key(state: dict, key: Any) -> Any:
    """``state[key]``, or None."""
    return state.get(key)


def put_key(state: dict, key: Any, value: Any) -> dict:
    """``state`` with ``key`` set to ``value``."""
    return {**state, key: value}


def pop_key(state: dict, key: Any) -> tuple[Any, dict]:
    """``(state[key], state without key)``, for get_and_update."""
    rest = dict(state)
    return rest.pop(key, None), rest


async def get_key_later(state: dict, key: Any) -> Any:
    """``get_key``, as an async function that awaits first."""
    await actors.sleep(0)
    return state.get(key)


def fail(state: Any, message: str) -> Any:
    """Raise ValueError(message)."""
    raise ValueError(message)


def not_a_term(state: Any) -> Any:
    """Something that cannot travel."""
    return object()


def reset(state: dict) -> dict:
    """sys.replace_state: an empty state."""
    return {"items": {}}


def fail_sys(state: dict) -> dict:
    """sys.replace_state: raise ValueError."""
    raise ValueError("no good")


def hold_a_lock(state: dict) -> dict:
    """sys.replace_state: a state that cannot travel."""
    return {**state, "lock": threading.Lock()}


async def double(x: int) -> int:
    """A task: ``2 * x``, on whatever node runs it."""
    return 2 * x


async def where_am_i() -> str:
    """A task: the node it runs on."""
    return actors.Node.self()


async def task_fails(message: str) -> None:
    """A task that raises ValueError(message)."""
    raise ValueError(message)


async def fail_on(message: str) -> str:
    """A task: ``message``, or ValueError if it is ``"boom"``."""
    if message == "boom":
        raise ValueError(message)
    return message


async def announce_and_wait(to: Any) -> None:
    """A task: send ``(its pid, its node)`` to ``to``, then wait forever."""
    actors.send(to, ("started", actors.self(), actors.Node.self()))
    await actors.receive()


class Store(actors.GenServer):
    """A key-value server: ``("put", k, v)`` / ``("get", k)`` calls and casts."""

    def init(self) -> None:
        self.items: dict = {}

    def handle_call(self, request: Any, from_: Any) -> Any:
        if request == "node":
            return actors.Node.self()
        if request == "not_a_term":
            return object()
        if request == "self":
            return actors.self()
        if request[0] == "hang":                   # tell request[1], never answer
            actors.send(request[1], "hanging")
            return actors.NOREPLY
        if request[0] == "get":
            return self.items.get(request[1])
        _, key, value = request
        self.items[key] = value
        return "ok"

    def handle_cast(self, request: Any) -> None:
        _, key, value = request
        self.items[key] = value


class StoreV2(Store):
    """``Store`` upgraded: code_change counts the items."""

    vsn = 2

    def code_change(self, old_vsn: Any, extra: Any) -> None:
        self.count = len(self.items) + extra


async def start_store(name: str, to: Any) -> None:
    """Start a ``Store`` registered as ``name`` (unlinked), send ``("store", pid)`` to ``to``."""
    pid = await Store.start(name=name)
    actors.send(to, ("store", pid))


async def start_agent(name: str, to: Any) -> None:
    """Start an ``Agent`` (state ``{}``) registered as ``name`` (unlinked), send
    ``("agent", pid)`` to ``to``."""
    pid = await actors.Agent.start(empty, name=name)
    actors.send(to, ("agent", pid))


async def task_not_a_term() -> Any:
    """A task whose result cannot travel."""
    return object()


class Helpers:
    """Functions reachable through a class, by qualified name."""

    @staticmethod
    def static(state: Any) -> Any:
        return state

    @classmethod
    def klass(cls, state: Any) -> Any:
        return state


# -- for test_peer.py: run on peer nodes (actors.peer) ----------------------------------------

async def about(to: Any) -> None:
    """Tell ``to`` where this runs: the node, its OS process, its actors, its loop."""
    import asyncio
    import os
    import shutil
    actors.send(to, {"node": actors.Node.self(), "nodes": sorted(actors.Node.list()),
                     "os_pid": os.getpid(), "actors": actors.__file__,
                     "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                     "erl": shutil.which("erl"), "epmd": shutil.which("epmd")})


async def count_to(to: Any, n: int) -> None:
    """Send ``to`` the numbers ``0 .. n-1``, in order."""
    for i in range(n):
        actors.send(to, ("n", i))


async def idle() -> None:
    """Wait for ever (until an exit signal ends it)."""
    while True:
        await actors.receive()


async def exit_when_told() -> None:
    """Exit with the reason in the first message it gets."""
    raise actors.ProcessExit(await actors.receive())


async def send_exit(to: Any, reason: Any) -> None:
    """``exit(to, reason)``: an exit signal from this node."""
    actors.exit(to, reason)


async def raise_value_error(text: str) -> None:
    """Crash with ``ValueError(text)``."""
    raise ValueError(text)


class Counter(actors.GenServer):
    """Counts ``"incr"`` calls; ``("add", n)`` casts add ``n``; ``"stop"`` stops it."""

    def init(self) -> None:
        self.count = 0

    def handle_call(self, request: Any, from_: Any) -> Any:
        if request == "incr":
            self.count += 1
        return ("count", self.count, actors.Node.self())

    def handle_cast(self, request: Any) -> None:
        if request == "stop":
            raise actors.Stop("normal")
        self.count += request[1]


async def start_counter(name: str, to: Any) -> None:
    """Start a ``Counter`` registered as ``name`` (it outlives this process);
    tell ``to`` its pid."""
    actors.send(to, ("counter", await Counter.start(name=name)))


async def call_and_tell(server: Any, request: Any, to: Any) -> None:
    """``GenServer.call(server, request)`` from here; tell ``to`` the reply."""
    actors.send(to, ("called", await actors.GenServer.call(server, request, timeout=10)))


async def spawn_on(node: str, to: Any) -> None:
    """``Node.spawn`` a ``tell`` on ``node``; tell ``to`` the error if refused."""
    try:
        await actors.Node.spawn(node, tell, to, "spawned")
    except actors.StartError as exc:
        actors.send(to, ("refused", exc.reason))


async def start_peer(to: Any) -> None:
    """Start a peer of this node; tell ``to`` its name; stay (it is linked to us)."""
    _, node = await actors.peer.start_link()
    actors.send(to, ("peer", node))
    await idle()


async def ask(server: Any, message: Any, to: Any) -> None:
    """Send ``(self(), message)`` to ``server``; tell ``to`` the answer."""
    actors.send(server, (actors.self(), message))
    actors.send(to, ("answer", actors.Node.self(), await actors.receive(timeout=10)))


async def burn(n: int, to: Any) -> None:
    """CPU-bound work: tell ``to`` the sum of the squares below ``n``."""
    total = 0
    for i in range(n):
        total += i * i
    actors.send(to, ("burned", n, total))
