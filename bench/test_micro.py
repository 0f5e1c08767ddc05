"""Micro-benchmarks of the hot paths, actors next to the asyncio equivalent.

    pytest bench --benchmark-enable                 # all
    pytest bench --benchmark-enable -k roundtrip    # one group

Every benchmark runs ``OPS`` operations per round inside one process (see
conftest.py): time per operation = reported time / OPS. Each batch checks
what it received, so a broken fast path fails instead of looking fast.
"""

import asyncio

import pytest

import actors
from actors import ANY, cancel_timer, receive, send, send_after, spawn
from actors.lowlevel import call, reply

# ---------------------------------------------------------------------------
# send + receive round trip (one message each way)


async def _echo():
    while True:
        peer, n = await receive()
        send(peer, n)


async def _spawn_echo():
    return spawn(_echo)


async def _roundtrips(echo, n):
    me = actors.self()
    for i in range(n):
        send(echo, (me, i))
        m = await receive()
        assert m == i
    return n


@pytest.mark.benchmark(group="roundtrip")
def test_roundtrip_actors(bench_actors):
    assert bench_actors(_roundtrips, _spawn_echo) == 1000


async def _aio_echo(inbox):
    while True:
        peer, n = await inbox.get()
        peer.put_nowait(n)


async def _aio_roundtrips(n):
    inbox, echo_inbox = asyncio.Queue(), asyncio.Queue()
    echo = asyncio.create_task(_aio_echo(echo_inbox))
    for i in range(n):
        echo_inbox.put_nowait((inbox, i))
        m = await inbox.get()
        assert m == i
    echo.cancel()
    return n


@pytest.mark.benchmark(group="roundtrip")
def test_roundtrip_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_roundtrips) == 1000


# ---------------------------------------------------------------------------
# spawn: a process that sends its parent one message and exits


async def _child(parent, i):
    send(parent, i)


async def _spawns(_state, n):
    me = actors.self()
    for i in range(n):
        spawn(_child, me, i)
    total = 0
    for _ in range(n):
        total += await receive()
    assert total == n * (n - 1) // 2
    return n


@pytest.mark.benchmark(group="spawn")
def test_spawn_actors(bench_actors):
    assert bench_actors(_spawns) == 1000


async def _aio_child(parent, i):
    parent.put_nowait(i)


async def _aio_spawns(n):
    inbox = asyncio.Queue()
    for i in range(n):
        asyncio.create_task(_aio_child(inbox, i))
    total = 0
    for _ in range(n):
        total += await inbox.get()
    assert total == n * (n - 1) // 2
    return n


@pytest.mark.benchmark(group="spawn")
def test_spawn_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_spawns) == 1000


# ---------------------------------------------------------------------------
# timer arm + cancel (a receive(timeout=) or a call's 5 s timeout does this)


async def _timers(_state, n):
    me = actors.self()
    left = 0
    for i in range(n):
        t = send_after(me, i, 10.0 + i * 1e-4)
        if cancel_timer(t) is not None:
            left += 1
    assert left == n
    return n


@pytest.mark.benchmark(group="timer")
def test_timer_arm_cancel_actors(bench_actors):
    assert bench_actors(_timers) == 1000


async def _aio_timers(n):
    loop = asyncio.get_running_loop()
    put = asyncio.Queue().put_nowait
    for i in range(n):
        loop.call_later(10.0 + i * 1e-4, put, i).cancel()
    return n


@pytest.mark.benchmark(group="timer")
def test_timer_arm_cancel_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_timers) == 1000


# ---------------------------------------------------------------------------
# selective receive on a tuple tag, skipping 10 queued non-matching messages


NOISE = 10


async def _selective(_state, n):
    me = actors.self()
    for i in range(NOISE):
        send(me, ("noise", i))
    for i in range(n):
        send(me, ("want", i))
        tag, j = await receive(("want", ANY))
        assert j == i
    left = actors.flush()
    assert len(left) == NOISE
    return n


@pytest.mark.benchmark(group="selective-receive")
def test_selective_receive_tuple_tag(bench_actors):
    assert bench_actors(_selective) == 1000


async def _plain(_state, n):
    me = actors.self()
    for i in range(n):
        send(me, ("want", i))
        tag, j = await receive()
        assert j == i
    return n


@pytest.mark.benchmark(group="selective-receive")
def test_receive_any_no_pattern(bench_actors):
    """Reference point for the row above: the same loop with a plain receive()."""
    assert bench_actors(_plain) == 1000


# ---------------------------------------------------------------------------
# request/reply: lowlevel.call vs an asyncio future per call


async def _server():
    while True:
        _tag, from_, request = await receive()
        reply(from_, request)


async def _spawn_server():
    return spawn(_server)


async def _calls(server, n):
    for i in range(n):
        assert await call(server, i) == i
    return n


@pytest.mark.benchmark(group="call")
def test_call_actors(bench_actors):
    assert bench_actors(_calls, _spawn_server) == 1000


async def _spawn_server_and_queue():
    me = actors.self()
    for i in range(10_000):
        send(me, ("junk", i))
    return spawn(_server)


@pytest.mark.benchmark(group="call")
def test_call_actors_10k_queued(bench_actors):
    """The receive-marker optimisation: as fast as with an empty mailbox."""
    assert bench_actors(_calls, _spawn_server_and_queue) == 1000


async def _aio_server(inbox):
    while True:
        fut, request = await inbox.get()
        fut.set_result(request)


async def _aio_calls(n):
    loop = asyncio.get_running_loop()
    inbox = asyncio.Queue()
    server = asyncio.create_task(_aio_server(inbox))
    for i in range(n):
        fut = loop.create_future()
        inbox.put_nowait((fut, i))
        assert await fut == i
    server.cancel()
    return n


@pytest.mark.benchmark(group="call")
def test_call_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_calls) == 1000


# ---------------------------------------------------------------------------
# trap shapes: the core's receive returns its message from a C am_send slot
# (SEND gets it as a plain return value).  The same round trip through an
# `async def` wrapper (a native coroutine around the trap) and through the
# trap's Python-level iterator protocol (__next__/send raising StopIteration,
# what a Cython awaitable without am_send costs) shows what that saves.


async def _receive_wrapped():
    return await receive()


class _IterTrap:
    """An awaitable that drives the core trap through its Python-level send(),
    i.e. with StopIteration per message, as a plain Cython __next__ would."""

    __slots__ = ("_trap",)

    def __init__(self):
        self._trap = receive()

    def __await__(self):
        trap = self._trap
        value = None
        while True:
            try:
                yielded = trap.send(value)
            except StopIteration as stop:
                return stop.value
            value = yield yielded


async def _roundtrips_wrapped(echo, n):
    me = actors.self()
    for i in range(n):
        send(echo, (me, i))
        m = await _receive_wrapped()
        assert m == i
    return n


async def _roundtrips_iter(echo, n):
    me = actors.self()
    for i in range(n):
        send(echo, (me, i))
        m = await _IterTrap()
        assert m == i
    return n


@pytest.mark.benchmark(group="trap-shape")
def test_trap_am_send(bench_actors):
    assert bench_actors(_roundtrips, _spawn_echo) == 1000


@pytest.mark.benchmark(group="trap-shape")
def test_trap_async_def_wrapper(bench_actors):
    assert bench_actors(_roundtrips_wrapped, _spawn_echo) == 1000


@pytest.mark.benchmark(group="trap-shape")
def test_trap_iterator_protocol(bench_actors):
    assert bench_actors(_roundtrips_iter, _spawn_echo) == 1000


# ---------------------------------------------------------------------------
# GenServer.call / GenServer.cast on a counter, vs the asyncio server a
# Python user writes (a task with a Queue inbox and a future per call)


class _Counter(actors.GenServer):
    def init(self):
        self.n = 0

    def handle_call(self, request, from_):
        if request == "incr":
            self.n += 1
        return self.n

    def handle_cast(self, request):
        self.n += 1


async def _start_counter():
    return await _Counter.start_link()


async def _gs_calls(server, n):
    first = await actors.GenServer.call(server, "get")
    for i in range(first + 1, first + n + 1):
        assert await actors.GenServer.call(server, "incr") == i
    return n


@pytest.mark.benchmark(group="genserver-call")
def test_genserver_call_actors(bench_actors):
    assert bench_actors(_gs_calls, _start_counter) == 1000


async def _aio_gs_calls(n):
    from actors.benchmarks.impl_asyncio import CounterServer
    server = CounterServer()
    for i in range(1, n + 1):
        assert await server.call("incr") == i
    server.stop()
    return n


@pytest.mark.benchmark(group="genserver-call")
def test_genserver_call_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_gs_calls) == 1000


async def _gs_casts(server, n):
    first = await actors.GenServer.call(server, "get")
    for _ in range(n):
        actors.GenServer.cast(server, "incr")
    assert await actors.GenServer.call(server, "get") == first + n
    return n


@pytest.mark.benchmark(group="genserver-cast")
def test_genserver_cast_actors(bench_actors):
    """n casts then one call (which waits for all of them): per op, a cast."""
    assert bench_actors(_gs_casts, _start_counter) == 1000


async def _aio_gs_casts(n):
    from actors.benchmarks.impl_asyncio import CounterServer
    server = CounterServer()
    for _ in range(n):
        server.cast("incr")
    assert await server.call("get") == n
    server.stop()
    return n


@pytest.mark.benchmark(group="genserver-cast")
def test_genserver_cast_asyncio(bench_asyncio):
    assert bench_asyncio(_aio_gs_casts) == 1000


# ---------------------------------------------------------------------------
# Registry.lookup (reads the table directly) vs a dict of the same entries


KEYS = [f"key{i}" for i in range(1000)]


async def _start_registry():
    await actors.Registry.start_link(keys="unique", name="bench_micro_registry")
    for i, key in enumerate(KEYS):
        actors.Registry.register("bench_micro_registry", key, i)
    return "bench_micro_registry"


async def _lookups(reg, n):
    lookup = actors.Registry.lookup
    total = 0
    for key in KEYS[:n]:
        total += lookup(reg, key)[0][1]
    assert total == n * (n - 1) // 2
    return n


@pytest.mark.benchmark(group="registry-lookup")
def test_registry_lookup(bench_actors):
    assert bench_actors(_lookups, _start_registry) == 1000


_TABLE = {key: [(None, i)] for i, key in enumerate(KEYS)}


async def _dict_lookups(n):
    table = _TABLE
    total = 0
    for key in KEYS[:n]:
        total += table[key][0][1]
    assert total == n * (n - 1) // 2
    return n


@pytest.mark.benchmark(group="registry-lookup")
def test_registry_lookup_dict_baseline(bench_asyncio):
    """Reference point for the row above: the same loop on a plain dict."""
    assert bench_asyncio(_dict_lookups) == 1000
