"""The asyncio baseline: what a Python user writes today.

A "process" is an ``asyncio.Task`` with an ``asyncio.Queue`` as its mailbox
(``put_nowait`` to send, ``await q.get()`` to receive); a request/reply is a
future per call; a timer is ``loop.call_later`` (cancelled with
``handle.cancel()``); a server (the GenServer rows) is a class owning such
a task, with ``call`` (a future per request) and ``cast`` (``put_nowait``).
The registry-lookup row's baseline is no asyncio program but a plain dict
(there is nothing to compare a registry with in asyncio). Plain, idiomatic code with the event loop's default
settings (stdlib asyncio, or uvloop with ``--loop uvloop``): no handicaps,
no tricks that a user would not write.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Dict, List

from . import workloads  # noqa: F401 (declares the workloads before @impl)  # pyright: ignore[reportUnusedImport]
from .catalog import Env, MissingWork, Sample, expect, impl, lateness_sample, rate
from .memutil import rss_bytes

perf_counter: Callable[[], float] = time.perf_counter
monotonic: Callable[[], float] = time.monotonic


def run(main: Callable[..., Coroutine[Any, Any, Any]], env: Env, *args: Any) -> Any:
    """``asyncio.run(main(*args))`` on the chosen loop."""
    if env.loop == "uvloop":
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main(*args))
    return asyncio.run(main(*args))


# ---------------------------------------------------------------------------
# ping-pong

async def _pong(inbox: asyncio.Queue[Any], peer: asyncio.Queue[Any], rounds: int) -> int:
    expected = rounds - 1
    got = 0
    while True:
        n = await inbox.get()
        if not (n == expected):
            raise MissingWork(f"pong: got {n!r}, expected {expected}")
        peer.put_nowait(n)
        got += 1
        if n == 0:
            return got
        expected -= 1


async def _ping_pong(messages: int) -> tuple[int, float]:
    rounds = messages // 2
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    pong_inbox: asyncio.Queue[Any] = asyncio.Queue()
    pong = asyncio.create_task(_pong(pong_inbox, inbox, rounds))
    got = 0
    t0 = perf_counter()
    for n in range(rounds - 1, -1, -1):
        pong_inbox.put_nowait(n)
        m = await inbox.get()
        if not (m == n):
            raise MissingWork(f"ping: got {m!r}, expected {n}")
        got += 1
    t1 = perf_counter()
    return got + await pong, t1 - t0


@impl("ping-pong", "asyncio")
def ping_pong(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_ping_pong, env, p["messages"])
    return rate(got, p["messages"] // 2 * 2, elapsed)


# ---------------------------------------------------------------------------
# ring

async def _ring_node(inbox: asyncio.Queue[Any], parent: asyncio.Queue[Any], total: int) -> None:
    nxt = await inbox.get()
    parent.put_nowait("ready")
    got = 0
    while True:
        n = await inbox.get()
        if n is None:
            parent.put_nowait(got)
            return
        got += 1
        if n == total:
            parent.put_nowait(("done", n))
        else:
            nxt.put_nowait(n + 1)


async def _ring(procs: int, laps: int) -> tuple[int, float]:
    total = procs * laps
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    boxes: List[asyncio.Queue[Any]] = [asyncio.Queue() for _ in range(procs)]
    tasks = [asyncio.create_task(_ring_node(b, inbox, total)) for b in boxes]
    for i, b in enumerate(boxes):
        b.put_nowait(boxes[(i + 1) % procs])
    for _ in range(procs):
        r = await inbox.get()
        if not (r == "ready"):
            raise MissingWork(f"ring setup: got {r!r}")
    t0 = perf_counter()
    boxes[0].put_nowait(1)
    done = await inbox.get()
    t1 = perf_counter()
    if not (done == ("done", total)):
        raise MissingWork(f"ring: got {done!r}, expected ('done', {total})")
    for b in boxes:
        b.put_nowait(None)
    counts = [await inbox.get() for _ in range(procs)]
    await asyncio.gather(*tasks)
    expect(all(c == laps for c in counts), "ring: a node did not see every lap")
    return sum(counts), t1 - t0


@impl("ring", "asyncio")
def ring(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_ring, env, p["procs"], p["laps"])
    return rate(got, p["procs"] * p["laps"], elapsed)


# ---------------------------------------------------------------------------
# spawn: the children never receive, so (not to handicap the baseline) they
# get no Queue: a bare task each (with a Queue each: 2.5-3x slower).
# No reference is kept: a child never waits, so it cannot be collected early.

async def _child(parent: asyncio.Queue[Any], i: int) -> None:
    parent.put_nowait(i)


async def _spawn(procs: int) -> tuple[int, float]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    create_task = asyncio.create_task
    t0 = perf_counter()
    for i in range(procs):
        create_task(_child(inbox, i))
    total = 0
    for _ in range(procs):
        total += await inbox.get()
    t1 = perf_counter()
    expect(total == procs * (procs - 1) // 2, "spawn: wrong sum of child indices")
    return procs, t1 - t0


@impl("spawn", "asyncio")
def spawn(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_spawn, env, p["procs"])
    return rate(got, p["procs"], elapsed, "processes")


# ---------------------------------------------------------------------------
# fan-in

# never receives: no Queue of its own
async def _sender(dest: asyncio.Queue[Any], idx: int, each: int) -> None:
    for seq in range(each):
        dest.put_nowait((idx, seq))


async def _fan_in(senders: int, each: int) -> tuple[int, float]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    counts = [0] * senders
    t0 = perf_counter()
    tasks = [asyncio.create_task(_sender(inbox, i, each)) for i in range(senders)]
    for _ in range(senders * each):
        idx, seq = await inbox.get()
        if not (counts[idx] == seq):
            raise MissingWork(f"fan-in: sender {idx} sent {seq} out of order")
        counts[idx] = seq + 1
    t1 = perf_counter()
    await asyncio.gather(*tasks)
    expect(inbox.empty(), "fan-in: extra messages")
    return sum(counts), t1 - t0


@impl("fan-in", "asyncio")
def fan_in(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_fan_in, env, p["senders"], p["each"])
    return rate(got, p["senders"] * p["each"], elapsed)


# ---------------------------------------------------------------------------
# request/reply: a future per call

async def _server(inbox: asyncio.Queue[Any]) -> None:
    while True:
        fut, request = await inbox.get()
        fut.set_result(request)


async def _request_reply(calls: int, queued: int) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    for i in range(queued):
        inbox.put_nowait(("junk", i))
    server_inbox: asyncio.Queue[Any] = asyncio.Queue()
    server = asyncio.create_task(_server(server_inbox))

    create_future, put = loop.create_future, server_inbox.put_nowait
    got = 0
    t0 = perf_counter()
    for i in range(calls):
        fut = create_future()           # inlined: no helper coroutine per call
        put((fut, i))
        r = await fut
        if not (r == i):
            raise MissingWork(f"call {i}: got {r!r}")
        got += 1
    t1 = perf_counter()
    server.cancel()
    expect(inbox.qsize() == queued, "request-reply: the queued messages went missing")
    return got, t1 - t0


@impl("request-reply", "asyncio")
def request_reply(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_request_reply, env, p["calls"], 0)
    return rate(got, p["calls"], elapsed, "replies")


@impl("request-reply-queued", "asyncio")
def request_reply_queued(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_request_reply, env, p["calls"], p["queued"])
    return rate(got, p["calls"], elapsed, "replies")


# ---------------------------------------------------------------------------
# timers

async def _timers(delays: List[float], max_s: float) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    put = inbox.put_nowait
    n = len(delays)
    t0 = perf_counter()
    handles = [loop.call_later(d, put, i) for i, d in enumerate(delays)]
    cancelled = 0
    for h in handles[::2]:
        h.cancel()
        cancelled += 1
    t1 = perf_counter()
    del handles
    expect(cancelled == (n + 1) // 2, "timers: wrong number cancelled")
    fired = 0
    for _ in range(n // 2):
        i = await asyncio.wait_for(inbox.get(), max_s + 5)
        if not (i % 2 == 1):
            raise MissingWork(f"timers: cancelled timer {i} fired")
        fired += 1
    await asyncio.sleep(0.05)
    expect(inbox.empty(), "timers: extra timer messages")
    return n, t1 - t0


def timer_delays(p: Dict[str, int], seed: int = 1) -> List[float]:
    rnd = random.Random(seed)
    lo, hi = p["min_ms"] / 1e3, p["max_ms"] / 1e3
    return [rnd.uniform(lo, hi) for _ in range(p["timers"])]


@impl("timers", "asyncio")
def timers(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_timers, env, timer_delays(p), p["max_ms"] / 1e3)
    return rate(got, p["timers"], elapsed, "timers")


async def _lateness(n: int, window: float, offset: float) -> tuple[List[float], float]:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    put = inbox.put_nowait
    rnd = random.Random(2)
    offsets = [offset + rnd.uniform(0.0, window) for _ in range(n)]
    start = monotonic()
    for o in offsets:
        deadline = start + o
        loop.call_later(deadline - monotonic(), put, deadline)
    armed = monotonic()
    late: List[float] = []
    for _ in range(n):
        deadline = await inbox.get()
        late.append(monotonic() - deadline)
    return late, max(0.0, armed - start - offset)


def lateness_params(p: Dict[str, int]) -> tuple[int, float, float]:
    return p["timers"], p["window_ms"] / 1e3, p["offset_ms"] / 1e3


@impl("timer-lateness", "asyncio")
def timer_lateness(p: Dict[str, int], env: Env) -> Sample:
    late, overran = run(_lateness, env, *lateness_params(p))
    expect(len(late) == p["timers"], "timer-lateness: missing timers")
    return lateness_sample(late, {"arm_overran_ms": overran * 1e3})


# ---------------------------------------------------------------------------
# memory (run in a fresh interpreter by the runner)

async def _idle(inbox: asyncio.Queue[Any], parent: asyncio.Queue[Any]) -> None:
    parent.put_nowait(1)
    await inbox.get()


async def _memory(procs: int) -> float:
    import gc
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    # Warm the code paths (one process) so lazy first-use allocations are not counted.
    asyncio.create_task(_child(inbox, 0))
    await inbox.get()
    gc.collect()
    before = rss_bytes()
    # A user keeps references to their tasks (asyncio holds only weak ones).
    tasks: List[asyncio.Task[None]] = []
    for _ in range(procs):
        tasks.append(asyncio.create_task(_idle(asyncio.Queue(), inbox)))
    ready = 0
    for _ in range(procs):
        ready += await inbox.get()
    gc.collect()
    after = rss_bytes()
    expect(ready == procs, "memory: not every process started")
    expect(all(not t.done() for t in tasks), "memory: a process ended")
    for t in tasks:
        t.cancel()
    return (after - before) / procs


@impl("memory", "asyncio")
def memory(p: Dict[str, int], env: Env) -> Sample:
    per = run(_memory, env, p["procs"])
    return Sample(per, {"count": p["procs"]})


# ---------------------------------------------------------------------------
# GenServer call and cast: the server a Python user writes today

class CounterServer:
    """A counter served by a task: ``await server.call("incr")`` answers the
    new count, ``"get"`` the count; ``server.cast(x)`` adds one."""

    def __init__(self) -> None:
        self.n: int = 0
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.create_future: Callable[[], asyncio.Future[Any]] = asyncio.get_running_loop().create_future
        self.task: asyncio.Task[None] = asyncio.create_task(self._serve())

    def call(self, request: Any) -> asyncio.Future[Any]:
        """The reply's future (``await server.call(...)``): a plain method, no
        coroutine per call."""
        fut = self.create_future()
        self.inbox.put_nowait((fut, request))
        return fut

    def cast(self, request: Any) -> None:
        self.inbox.put_nowait((None, request))

    async def _serve(self) -> None:
        get = self.inbox.get
        while True:
            fut, request = await get()
            if fut is None:
                self.handle_cast(request)
            else:
                fut.set_result(self.handle_call(request))

    def handle_call(self, request: Any) -> int:
        if request == "incr":
            self.n += 1
        return self.n

    def handle_cast(self, request: Any) -> None:
        self.n += 1

    def stop(self) -> None:
        self.task.cancel()


async def _genserver_call(calls: int) -> tuple[int, float]:
    server = CounterServer()
    got = 0
    t0 = perf_counter()
    for i in range(1, calls + 1):
        n = await server.call("incr")
        if not (n == i):
            raise MissingWork(f"genserver-call: call {i} answered {n!r}")
        got += 1
    t1 = perf_counter()
    server.stop()
    return got, t1 - t0


@impl("genserver-call", "asyncio")
def genserver_call(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_genserver_call, env, p["calls"])
    return rate(got, p["calls"], elapsed, "replies")


async def _genserver_cast(casts: int) -> tuple[Any, float]:
    server = CounterServer()
    t0 = perf_counter()
    for _ in range(casts):
        server.cast("incr")
    count = await server.call("get")
    t1 = perf_counter()
    server.stop()
    return count, t1 - t0


@impl("genserver-cast", "asyncio")
def genserver_cast(p: Dict[str, int], env: Env) -> Sample:
    count, elapsed = run(_genserver_cast, env, p["casts"])
    return rate(count, p["casts"], elapsed, "casts (the server's count)")


# ---------------------------------------------------------------------------
# registry-lookup's baseline: a plain dict holding what Registry.lookup
# returns (key -> [(owner, value)]), read with d[key] in the same loop.

def registry_keys(keys: int) -> List[str]:
    """The keys of the registry-lookup row (key i holds value i)."""
    return [f"key{i}" for i in range(keys)]


def lookup_sum(lookups: int, keys: int) -> int:
    """What the values of ``lookups`` lookups cycling through ``keys`` keys add up to."""
    laps, rest = divmod(lookups, keys)
    return laps * (keys * (keys - 1) // 2) + rest * (rest - 1) // 2


def _dict_lookup(lookups: int, keys: int) -> tuple[int, float]:
    names = registry_keys(keys)
    owner = object()                      # stands for the registered pid
    table = {key: [(owner, i)] for i, key in enumerate(names)}
    laps, rest = divmod(lookups, keys)
    order = names * laps + names[:rest]
    total = 0
    t0 = perf_counter()
    for key in order:
        total += table[key][0][1]
    t1 = perf_counter()
    expect(total == lookup_sum(lookups, keys),
           f"registry-lookup (dict): values sum to {total}, expected {lookup_sum(lookups, keys)}")
    return len(order), t1 - t0


@impl("registry-lookup", "asyncio")
def registry_lookup(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = _dict_lookup(p["lookups"], p["keys"])
    return rate(got, p["lookups"], elapsed, "lookups")
