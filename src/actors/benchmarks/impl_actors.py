"""actors' version of each workload: plain, idiomatic process code.

Each function starts a fresh runtime with ``actors.run`` (on the loop chosen
with ``--loop``), does the work the workload defines, counts what its
processes received and raises ``MissingWork`` if anything is missing.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import random
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Dict, List

import actors
from actors import Pid
from actors import Continue, GenServer, Registry, cancel_timer, receive, send, send_after, spawn
from actors.lowlevel import call, reply

from . import workloads  # noqa: F401 (declares the workloads before @impl)  # pyright: ignore[reportUnusedImport]
from .impl_asyncio import lateness_params, lookup_sum, registry_keys, timer_delays
from .memutil import rss_bytes
from .catalog import Env, MissingWork, Sample, expect, impl, lateness_sample, rate

perf_counter: Callable[[], float] = time.perf_counter
monotonic: Callable[[], float] = time.monotonic


def run(main: Callable[..., Coroutine[Any, Any, Any]], env: Env, *args: Any) -> Any:
    return actors.run(main, *args, loop=env.loop)


# ---------------------------------------------------------------------------
# ping-pong

async def _pong(peer: Pid, rounds: int) -> None:
    expected = rounds - 1
    got = 0
    while True:
        n = await receive()
        if not (n == expected):
            raise MissingWork(f"pong: got {n!r}, expected {expected}")
        send(peer, n)
        got += 1
        if n == 0:
            send(peer, ("pong_count", got))
            return
        expected -= 1


async def _ping_pong(messages: int) -> tuple[int, float]:
    rounds = messages // 2
    pong = spawn(_pong, actors.self(), rounds)
    got = 0
    t0 = perf_counter()
    for n in range(rounds - 1, -1, -1):
        send(pong, n)
        m = await receive()
        if not (m == n):
            raise MissingWork(f"ping: got {m!r}, expected {n}")
        got += 1
    t1 = perf_counter()
    tag, pong_got = await receive(timeout=10)
    if not (tag == "pong_count"):
        raise MissingWork(f"ping-pong: unexpected {tag!r}")
    return got + pong_got, t1 - t0


#: The ping-pong row's main process (``impl_dist`` also runs it in a node).
ping_pong_main = _ping_pong


@impl("ping-pong", "actors")
def ping_pong(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_ping_pong, env, p["messages"])
    return rate(got, p["messages"] // 2 * 2, elapsed)


# ---------------------------------------------------------------------------
# ring

async def _ring_node(parent: Pid, total: int) -> None:
    nxt = await receive()
    send(parent, "ready")
    got = 0
    while True:
        n = await receive()
        if n is None:
            send(parent, got)
            return
        got += 1
        if n == total:
            send(parent, ("done", n))
        else:
            send(nxt, n + 1)


async def _ring(procs: int, laps: int) -> tuple[int, float]:
    total = procs * laps
    me = actors.self()
    nodes = [spawn(_ring_node, me, total) for _ in range(procs)]
    for i, pid in enumerate(nodes):
        send(pid, nodes[(i + 1) % procs])
    for _ in range(procs):
        r = await receive()
        if not (r == "ready"):
            raise MissingWork(f"ring setup: got {r!r}")
    t0 = perf_counter()
    send(nodes[0], 1)
    done = await receive()
    t1 = perf_counter()
    if not (done == ("done", total)):
        raise MissingWork(f"ring: got {done!r}, expected ('done', {total})")
    for pid in nodes:
        send(pid, None)
    counts = [await receive(timeout=10) for _ in range(procs)]
    expect(all(c == laps for c in counts), "ring: a node did not see every lap")
    return sum(counts), t1 - t0


@impl("ring", "actors")
def ring(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_ring, env, p["procs"], p["laps"])
    return rate(got, p["procs"] * p["laps"], elapsed)


# ---------------------------------------------------------------------------
# spawn

async def _child(parent: Pid, i: int) -> None:
    send(parent, i)


async def _spawn(procs: int) -> tuple[int, float]:
    me = actors.self()
    t0 = perf_counter()
    for i in range(procs):
        spawn(_child, me, i)
    total = 0
    for _ in range(procs):
        total += await receive()
    t1 = perf_counter()
    expect(total == procs * (procs - 1) // 2, "spawn: wrong sum of child indices")
    return procs, t1 - t0


@impl("spawn", "actors")
def spawn_(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_spawn, env, p["procs"])
    return rate(got, p["procs"], elapsed, "processes")


# ---------------------------------------------------------------------------
# fan-in

async def _sender(dest: Pid, idx: int, each: int) -> None:
    for seq in range(each):
        send(dest, (idx, seq))


async def _fan_in(senders: int, each: int) -> tuple[int, float]:
    me = actors.self()
    counts = [0] * senders
    t0 = perf_counter()
    for i in range(senders):
        spawn(_sender, me, i, each)
    for _ in range(senders * each):
        idx, seq = await receive()
        if not (counts[idx] == seq):
            raise MissingWork(f"fan-in: sender {idx} sent {seq} out of order")
        counts[idx] = seq + 1
    t1 = perf_counter()
    extra = await receive(timeout=0.01, default=None)
    if not (extra is None):
        raise MissingWork(f"fan-in: extra message {extra!r}")
    return sum(counts), t1 - t0


@impl("fan-in", "actors")
def fan_in(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_fan_in, env, p["senders"], p["each"])
    return rate(got, p["senders"] * p["each"], elapsed)


# ---------------------------------------------------------------------------
# request/reply: lowlevel.call (monitor + fresh ref + 5 s timeout) against
# a server written with receive + reply

async def _server() -> None:
    while True:
        _tag, from_, request = await receive()
        reply(from_, request)


async def _request_reply(calls: int, queued: int) -> tuple[int, float]:
    me = actors.self()
    for i in range(queued):
        send(me, ("junk", i))
    server = spawn(_server)
    got = 0
    t0 = perf_counter()
    for i in range(calls):
        r = await call(server, i)
        if not (r == i):
            raise MissingWork(f"call {i}: got {r!r}")
        got += 1
    t1 = perf_counter()
    left = actors.flush()
    expect(len(left) == queued and all(m[0] == "junk" for m in left),
           f"request-reply: {len(left)} messages left in the mailbox, expected {queued} junk")
    return got, t1 - t0


@impl("request-reply", "actors")
def request_reply(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_request_reply, env, p["calls"], 0)
    return rate(got, p["calls"], elapsed, "replies")


@impl("request-reply-queued", "actors")
def request_reply_queued(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_request_reply, env, p["calls"], p["queued"])
    return rate(got, p["calls"], elapsed, "replies")


# ---------------------------------------------------------------------------
# timers

async def _timers(delays: List[float], max_s: float) -> tuple[int, float]:
    me = actors.self()
    n = len(delays)
    t0 = perf_counter()
    trefs = [send_after(me, i, d) for i, d in enumerate(delays)]
    cancelled = 0
    for t in trefs[::2]:
        if cancel_timer(t) is not None:
            cancelled += 1
    t1 = perf_counter()
    del trefs
    if not (cancelled == (n + 1) // 2):
        raise MissingWork(f"timers: cancelled {cancelled}, expected {(n + 1) // 2}")
    for _ in range(n // 2):
        i = await receive(timeout=max_s + 5)
        if not (i % 2 == 1):
            raise MissingWork(f"timers: cancelled timer {i} fired")
    extra = await receive(timeout=0.05, default=None)
    if not (extra is None):
        raise MissingWork(f"timers: extra message {extra!r}")
    return n, t1 - t0


@impl("timers", "actors")
def timers(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_timers, env, timer_delays(p), p["max_ms"] / 1e3)
    return rate(got, p["timers"], elapsed, "timers")


async def _lateness(n: int, window: float, offset: float) -> tuple[List[float], float]:
    me = actors.self()
    rnd = random.Random(2)
    offsets = [offset + rnd.uniform(0.0, window) for _ in range(n)]
    start = monotonic()
    for o in offsets:
        deadline = start + o
        send_after(me, deadline, deadline - monotonic())
    armed = monotonic()
    late: List[float] = []
    for _ in range(n):
        deadline = await receive(timeout=window + offset + 10)
        late.append(monotonic() - deadline)
    return late, max(0.0, armed - start - offset)


@impl("timer-lateness", "actors")
def timer_lateness(p: Dict[str, int], env: Env) -> Sample:
    late, overran = run(_lateness, env, *lateness_params(p))
    expect(len(late) == p["timers"], "timer-lateness: missing timers")
    return lateness_sample(late, {"arm_overran_ms": overran * 1e3})


# ---------------------------------------------------------------------------
# memory (run in a fresh interpreter by the runner)

async def _idle(parent: Pid) -> None:
    send(parent, 1)
    await receive()


async def _memory(procs: int) -> float:
    me = actors.self()
    # Warm the code paths (one process) so lazy first-use allocations are not counted.
    spawn(_child, me, 0)
    await receive()
    gc.collect()
    before = rss_bytes()
    for _ in range(procs):
        spawn(_idle, me)
    ready = 0
    for _ in range(procs):
        ready += await receive()
    gc.collect()
    after = rss_bytes()
    expect(ready == procs, "memory: not every process started")
    alive = len(actors.Process.list())
    if not (alive >= procs + 1):
        raise MissingWork(f"memory: only {alive} processes alive, expected {procs + 1}")
    return (after - before) / procs


@impl("memory", "actors")
def memory(p: Dict[str, int], env: Env) -> Sample:
    per = run(_memory, env, p["procs"])
    return Sample(per, {"count": p["procs"]})


# ---------------------------------------------------------------------------
# OTP layers: GenServer call and cast

class _Counter(GenServer):
    """A counter: ``"incr"`` (call) answers the new count, ``"get"`` the count;
    a cast adds one."""

    def init(self) -> None:
        self.n = 0

    def handle_call(self, request: Any, from_: Any) -> int:
        if request == "incr":
            self.n += 1
        return self.n

    def handle_cast(self, request: Any) -> None:
        self.n += 1


async def _genserver_call(calls: int) -> tuple[int, float]:
    server = await _Counter.start_link()
    assert server is not None
    got = 0
    t0 = perf_counter()
    for i in range(1, calls + 1):
        n = await GenServer.call(server, "incr")
        if not (n == i):
            raise MissingWork(f"genserver-call: call {i} answered {n!r}")
        got += 1
    t1 = perf_counter()
    await GenServer.stop(server)
    return got, t1 - t0


@impl("genserver-call", "actors")
def genserver_call(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_genserver_call, env, p["calls"])
    return rate(got, p["calls"], elapsed, "replies")


async def _genserver_cast(casts: int) -> tuple[Any, float]:
    server = await _Counter.start_link()
    assert server is not None
    t0 = perf_counter()
    for _ in range(casts):
        GenServer.cast(server, "incr")
    count = await GenServer.call(server, "get", timeout=60)
    t1 = perf_counter()
    await GenServer.stop(server)
    return count, t1 - t0


@impl("genserver-cast", "actors")
def genserver_cast(p: Dict[str, int], env: Env) -> Sample:
    count, elapsed = run(_genserver_cast, env, p["casts"])
    return rate(count, p["casts"], elapsed, "casts (the server's count)")


# ---------------------------------------------------------------------------
# Supervisor restarts: a child that crashes right after init

class _Crasher(GenServer):
    """Tells ``parent`` it started, then crashes (raises) before any message."""

    def init(self, parent: Pid) -> Continue:
        send(parent, "started")
        return Continue("crash")

    def handle_continue(self, arg: Any) -> None:
        raise RuntimeError(arg)


@contextlib.contextmanager
def _crash_reports_silenced() -> Generator[None, None, None]:
    """20,000 crash reports with tracebacks would be the benchmark (and flood
    stderr): silence the "actors" logger, as bench.erl sets logger level none."""
    logger = logging.getLogger("actors")
    old = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(old)


async def _supervisor_restarts(restarts: int) -> tuple[int, float]:
    from actors.supervisor import Supervisor   # imported here: only this row needs it
    me = actors.self()
    sup = await Supervisor.start_link([_Crasher.child_spec(me)], strategy="one_for_one",
                                      max_restarts=10**9, max_seconds=1)
    assert sup is not None
    first = await receive(timeout=10)
    if not (first == "started"):
        raise MissingWork(f"supervisor-restarts: got {first!r} before the first start")
    got = 0
    t0 = perf_counter()
    for _ in range(restarts):
        m = await receive(timeout=10)
        if not (m == "started"):
            raise MissingWork(f"supervisor-restarts: got {m!r}, expected 'started'")
        got += 1
    t1 = perf_counter()
    expect(actors.Process.alive(sup), "supervisor-restarts: the supervisor gave up")
    await Supervisor.stop(sup)
    left = actors.flush()
    expect(all(m == "started" for m in left),
           f"supervisor-restarts: unexpected messages {[m for m in left if m != 'started']!r}")
    return got, t1 - t0


@impl("supervisor-restarts", "actors")
def supervisor_restarts(p: Dict[str, int], env: Env) -> Sample:
    with _crash_reports_silenced():
        got, elapsed = run(_supervisor_restarts, env, p["restarts"])
    return rate(got, p["restarts"], elapsed, "restarts")


# ---------------------------------------------------------------------------
# Registry.lookup (the baseline, in impl_asyncio, is a plain dict)

async def _registry_lookup(lookups: int, keys: int) -> tuple[int, float]:
    await Registry.start_link(keys="unique", name="bench_registry")
    names = registry_keys(keys)
    me = actors.self()
    for i, key in enumerate(names):
        Registry.register("bench_registry", key, i)
    lookup = Registry.lookup
    laps, rest = divmod(lookups, keys)
    order = names * laps + names[:rest]
    total = 0
    t0 = perf_counter()
    for key in order:
        total += lookup("bench_registry", key)[0][1]
    t1 = perf_counter()
    expect(total == lookup_sum(lookups, keys),
           f"registry-lookup: values sum to {total}, expected {lookup_sum(lookups, keys)}")
    expect(Registry.lookup("bench_registry", names[-1]) == [(me, keys - 1)],
           "registry-lookup: wrong entry for the last key")
    return len(order), t1 - t0


@impl("registry-lookup", "actors")
def registry_lookup(p: Dict[str, int], env: Env) -> Sample:
    got, elapsed = run(_registry_lookup, env, p["lookups"], p["keys"])
    return rate(got, p["lookups"], elapsed, "lookups")
