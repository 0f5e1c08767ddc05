"""Reliability scenarios: crash storms, churn and floods (``python -m actors stress``).

Each scenario is an async function that runs as the main process of
``actors.run`` and returns a ``Result``: how many operations it did, the
exact counts of what it expected and what it received (exit signals, ``Down``
messages, cancelled timers...), the process count and the RSS after each
round. ``tests/stress`` runs them small and asserts on those counts;
``python -m actors stress`` runs them larger and prints them, together with
the latency of timers and messages while one mailbox holds a million messages
and some processes keep the CPU busy.

Scenarios never sleep to synchronise: a round ends when every expected
message has arrived.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import math
import os
import time
from typing import Any, Callable, Coroutine, TypeVar

import actors
from actors import ANY, Down, Exit, receive, send

__all__ = ["Crash", "Result", "SCENARIOS", "rss_bytes", "rss_flat", "scenario", "run_scenario",
           "add_arguments", "main"]


class Crash(Exception):
    """The exception a crashing process of a storm raises."""


# -- measuring -----------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """This interpreter's resident set size, in bytes (0 if it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-untyped,import-not-found,unused-ignore]
        rss: int = psutil.Process().memory_info().rss
        return rss
    except ImportError:
        return 0


def rss_flat(rss: list[int], warmup: int = 1, ratio: float = 1.3, slack: int = 4 << 20) -> bool:
    """Whether the RSS after the last round is within ``ratio`` (plus ``slack``
    bytes, for small heaps) of the RSS after the first round past ``warmup``."""
    if len(rss) <= warmup or not rss[warmup]:
        return True
    return rss[-1] <= rss[warmup] * ratio + slack


@dataclasses.dataclass
class Result:
    """What one scenario did and saw.

    Attributes:
        name: the scenario.
        ops: operations done (crashes, spawns, messages...).
        seconds: wall-clock time of the measured rounds.
        expected: exact counts the scenario expected, by kind.
        got: counts it received, by the same kinds.
        baseline: the process count before the first round.
        procs: the process count after each round.
        rss: the RSS after each round, in bytes.
        extra: other figures (latencies, log records...).
    """

    name: str
    ops: int = 0
    seconds: float = 0.0
    expected: dict[str, int] = dataclasses.field(default_factory=dict[str, int])
    got: dict[str, int] = dataclasses.field(default_factory=dict[str, int])
    baseline: int = 0
    procs: list[int] = dataclasses.field(default_factory=list[int])
    rss: list[int] = dataclasses.field(default_factory=list[int])
    extra: dict[str, Any] = dataclasses.field(default_factory=dict[str, Any])

    @property
    def counts_exact(self) -> bool:
        """Every expected count was received exactly (no more, no fewer)."""
        return all(self.got.get(k, 0) == v for k, v in self.expected.items())

    @property
    def procs_back(self) -> bool:
        """The process count was back to its baseline after every round."""
        return all(n == self.baseline for n in self.procs)

    def end_round(self, strays: bool = False) -> None:
        """Record the process count and the RSS at the end of a round; with
        ``strays``, whatever is left in the mailbox was not expected: count
        it as ``stray``."""
        if strays:
            self.expect("stray", 0)
            self.count("stray", len(actors.flush()))
        gc.collect()
        self.procs.append(len(actors.Process.list()))
        self.rss.append(rss_bytes())

    def done(self, t0: float, ops: int) -> "Result":
        """The measured rounds, started at ``t0`` (perf_counter), did ``ops``."""
        self.seconds = time.perf_counter() - t0
        self.ops = ops
        return self

    def count(self, kind: str, n: int = 1) -> None:
        """Add ``n`` to the received count of ``kind``."""
        self.got[kind] = self.got.get(kind, 0) + n

    def expect(self, kind: str, n: int) -> None:
        """Add ``n`` to the expected count of ``kind``."""
        self.expected[kind] = self.expected.get(kind, 0) + n


class _CountingHandler(logging.Handler):
    """Counts the records of the ``actors`` logger without formatting them."""

    def __init__(self) -> None:
        super().__init__()
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1


_Scenario = Callable[..., Coroutine[Any, Any, Result]]
_S = TypeVar("_S", bound=_Scenario)

SCENARIOS: dict[str, tuple[str, _Scenario]] = {}


def scenario(kind: str) -> Callable[[_S], _S]:
    """Register an async scenario under its function name (``storm_links`` ...)."""
    def deco(fn: _S) -> _S:
        SCENARIOS[fn.__name__] = (kind, fn)
        return fn
    return deco


def run_scenario(name: str, *args: Any, loop: str | None = None, **kwargs: Any) -> Result:
    """Run scenario ``name`` under ``actors.run`` and return its ``Result``.

    Crash reports of the ``actors`` logger are counted (``extra["log_records"]``)
    instead of printed, so that a storm measures crashes, not tracebacks.
    """
    fn = SCENARIOS[name][1]
    logger = logging.getLogger("actors")
    handler = _CountingHandler()
    old = logger.handlers[:], logger.propagate
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        result: Result = actors.run(fn, *args, loop=loop, **kwargs)
    finally:
        logger.handlers[:], logger.propagate = old
    result.extra["log_records"] = handler.records
    return result


# -- the processes the scenarios run -------------------------------------------

async def _crash_now(reason: Any = None) -> None:
    if reason is None:
        raise Crash("storm")
    if reason != "normal":
        raise actors.ProcessExit(reason)


async def _crash_on_command(collector: actors.Pid) -> None:
    send(collector, ("up", actors.self()))
    await receive("crash")
    raise Crash("storm")


async def _start_crasher(collector: actors.Pid) -> actors.Pid:
    """A child spec's start function: a linked process that crashes when told."""
    return actors.spawn_link(_crash_on_command, collector)


async def _wait_forever() -> None:
    await receive("never sent to anybody")


async def _report_and_exit(parent: actors.Pid) -> None:
    send(parent, "done")


async def _register_and_exit(parent: actors.Pid, registry: str, key: int) -> None:
    actors.Registry.register(registry, key)
    send(parent, "done")


async def _expect_ups(result: Result, n: int) -> list[actors.Pid]:
    """Receive ``n`` ("up", pid) announcements and monitor each new process."""
    ups: list[actors.Pid] = []
    for _ in range(n):
        _, pid = await receive(("up", ANY), timeout=30.0)
        actors.monitor(pid)
        ups.append(pid)
    result.count("up", n)
    return ups


async def _crash_wave(result: Result, pids: list[actors.Pid]) -> list[actors.Pid]:
    """Tell every pid to crash; count their Downs and their replacements' ups."""
    for pid in pids:
        send(pid, "crash")
    result.expect("down", len(pids))
    result.expect("up", len(pids))
    for _ in pids:
        down = await receive(Down, timeout=30.0)
        if isinstance(down.reason, Crash):
            result.count("down")
    return await _expect_ups(result, len(pids))


# -- crash storms ----------------------------------------------------------------

@scenario("storm")
async def storm_supervisor(rounds: int = 5, children: int = 10, waves: int = 20) -> Result:
    """one_for_one Supervisor: every child crashes ``waves`` times per round; each
    crash gives one ``Down`` (reason: the exception) and one restarted child."""
    r = Result("storm_supervisor", baseline=len(actors.Process.list()))
    specs = [actors.ChildSpec(id=i, start=(_start_crasher, (actors.self(),)))
             for i in range(children)]
    t0 = time.perf_counter()
    for _ in range(rounds):
        sup = await actors.Supervisor.start_link(specs, strategy="one_for_one",
                                                 max_restarts=10**9, max_seconds=1.0)
        assert sup is not None
        r.expect("up", children)
        pids = await _expect_ups(r, children)
        for _ in range(waves):
            pids = await _crash_wave(r, pids)
        await actors.Supervisor.stop(sup)
        r.expect("down", children)       # the last generation, stopped with the supervisor
        for _ in range(children):
            down = await receive(Down, timeout=30.0)
            if down.reason == "shutdown":
                r.count("down")
        r.end_round(strays=True)
    return r.done(t0, rounds * children * waves)


@scenario("storm")
async def storm_dynamic(rounds: int = 5, children: int = 10, waves: int = 20) -> Result:
    """DynamicSupervisor: children crash ``waves`` times per round and are
    restarted; then ``terminate_child`` stops each one (reason ``"shutdown"``)."""
    r = Result("storm_dynamic", baseline=len(actors.Process.list()))
    me = actors.self()
    spec = actors.ChildSpec(id="crasher", start=(_start_crasher, (me,)))
    t0 = time.perf_counter()
    for _ in range(rounds):
        sup = await actors.DynamicSupervisor.start_link(max_restarts=10**9, max_seconds=1.0)
        assert sup is not None
        for _ in range(children):
            await actors.DynamicSupervisor.start_child(sup, spec)
        r.expect("up", children)
        pids = await _expect_ups(r, children)
        for _ in range(waves):
            pids = await _crash_wave(r, pids)
        for pid in pids:
            await actors.DynamicSupervisor.terminate_child(sup, pid)
        r.expect("down", children)
        for _ in range(children):
            down = await receive(Down, timeout=30.0)
            if down.reason == "shutdown":
                r.count("down")
        await actors.DynamicSupervisor.stop(sup)
        r.end_round(strays=True)
    return r.done(t0, rounds * children * waves)


@scenario("storm")
async def storm_links(rounds: int = 5, n: int = 2000) -> Result:
    """A trapping parent ``spawn_link``s ``n`` children per round: half crash, a
    quarter exit ``"normal"``, a quarter exit ``"shutdown"``; it receives exactly
    one ``Exit(pid, reason)`` per child, with that child's reason."""
    r = Result("storm_links", baseline=len(actors.Process.list()))
    actors.Process.flag("trap_exit", True)
    reasons = [None, None, "normal", "shutdown"]
    t0 = time.perf_counter()
    for _ in range(rounds):
        want: dict[actors.Pid, Any] = {}
        for i in range(n):
            reason = reasons[i % 4]
            want[actors.spawn_link(_crash_now, reason)] = reason
        r.expect("exit", n)
        for _ in range(n):
            msg = await receive(Exit, timeout=30.0)
            reason = want.pop(msg.pid, "?")
            if (isinstance(msg.reason, Crash) if reason is None else msg.reason == reason):
                r.count("exit")
        r.end_round(strays=True)
    actors.Process.flag("trap_exit", False)
    return r.done(t0, rounds * n)


@scenario("storm")
async def storm_monitors(rounds: int = 5, n: int = 2000) -> Result:
    """``spawn_monitor`` ``n`` crashing children per round: exactly one
    ``Down(ref, pid, exception)`` per child, with its own ref."""
    r = Result("storm_monitors", baseline=len(actors.Process.list()))
    t0 = time.perf_counter()
    for _ in range(rounds):
        refs = dict(actors.spawn_monitor(_crash_now) for _ in range(n))
        r.expect("down", n)
        for _ in range(n):
            down = await receive(Down, timeout=30.0)
            if refs.pop(down.pid, None) is down.ref and isinstance(down.reason, Crash):
                r.count("down")
        r.end_round(strays=True)
    return r.done(t0, rounds * n)


# -- churn -------------------------------------------------------------------------

_BATCH = 1000


@scenario("churn")
async def churn_spawn(rounds: int = 5, n: int = 20_000) -> Result:
    """Spawn ``n`` processes per round that each send one message and return."""
    r = Result("churn_spawn", baseline=len(actors.Process.list()))
    me = actors.self()
    t0 = time.perf_counter()
    for _ in range(rounds):
        for start in range(0, n, _BATCH):
            k = min(_BATCH, n - start)
            for _ in range(k):
                actors.spawn(_report_and_exit, me)
            for _ in range(k):
                await receive("done", timeout=30.0)
            r.count("done", k)
        r.expect("done", n)
        r.end_round(strays=True)
    return r.done(t0, rounds * n)


@scenario("churn")
async def churn_monitor(rounds: int = 5, n: int = 20_000) -> Result:
    """``monitor`` then ``demonitor`` one live process ``n`` times per round: each
    demonitor removes an active monitor, and none is left behind."""
    r = Result("churn_monitor", baseline=len(actors.Process.list()))
    target = actors.spawn(_wait_forever)
    r.baseline += 1
    t0 = time.perf_counter()
    for _ in range(rounds):
        removed = 0
        for _ in range(n):
            removed += actors.demonitor(actors.monitor(target))
        r.expect("demonitored", n)
        r.count("demonitored", removed)
        r.expect("left_monitors", 0)
        r.count("left_monitors", len(actors.Process.info(target, "monitored_by")))
        r.end_round(strays=True)
    actors.exit(target, "kill")
    return r.done(t0, rounds * n)


@scenario("churn")
async def churn_timers(rounds: int = 5, n: int = 20_000) -> Result:
    """``send_after`` then ``cancel_timer`` ``n`` times per round: each cancel
    returns the time left, and no cancelled message is ever delivered."""
    r = Result("churn_timers", baseline=len(actors.Process.list()))
    me = actors.self()
    t0 = time.perf_counter()
    for _ in range(rounds):
        cancelled = 0
        for _ in range(n):
            if actors.cancel_timer(actors.send_after(me, "cancelled", 0.05)) is not None:
                cancelled += 1
        r.expect("cancelled", n)
        r.count("cancelled", cancelled)
        # A timer armed after all the cancelled ones fires after them: had any
        # of those been delivered, it would be in the mailbox before "last".
        actors.send_after(me, "last", 0.06)
        await receive("last", timeout=30.0)
        r.end_round(strays=True)
    return r.done(t0, rounds * n)


@scenario("churn")
async def churn_names(rounds: int = 5, n: int = 20_000) -> Result:
    """``register`` then ``unregister`` ``n`` times per round (1,000 distinct
    names): ``registered()`` is back to what it was after every round."""
    r = Result("churn_names", baseline=len(actors.Process.list()))
    before = sorted(actors.registered())
    names = [f"stress-name-{i}" for i in range(1000)]
    t0 = time.perf_counter()
    for _ in range(rounds):
        found = 0
        for i in range(n):
            name = names[i % 1000]
            actors.register(name)
            found += actors.whereis(name) is actors.self()
            actors.unregister(name)
        r.expect("found", n)
        r.count("found", found)
        r.expect("names_back", 1)
        r.count("names_back", int(sorted(actors.registered()) == before))
        r.end_round()
    return r.done(t0, rounds * n)


@scenario("churn")
async def churn_registry(rounds: int = 5, n: int = 20_000) -> Result:
    """``n`` processes per round register a unique key in a Registry and exit:
    their entries are gone as soon as they have exited."""
    r = Result("churn_registry")
    await actors.Registry.start_link(keys="unique", name="stress-registry")
    r.baseline = len(actors.Process.list())
    me = actors.self()
    t0 = time.perf_counter()
    for _ in range(rounds):
        for start in range(0, n, _BATCH):
            k = min(_BATCH, n - start)
            for key in range(start, start + k):
                actors.spawn(_register_and_exit, me, "stress-registry", key)
            for _ in range(k):
                await receive("done", timeout=30.0)
            r.count("done", k)
        r.expect("done", n)
        r.expect("entries_left", 0)
        r.count("entries_left", actors.Registry.count("stress-registry"))
        r.end_round(strays=True)
    return r.done(t0, rounds * n)


# -- flood -------------------------------------------------------------------------

def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def _busy_worker(work: float, stop: list[bool]) -> None:
    while not stop:
        _busy(work)
        await actors.sleep(0)


async def _ponger() -> None:
    while True:
        sender, n = await receive((actors.Pid, ANY))
        send(sender, n)


def _percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p99/max of ``samples`` (seconds), in milliseconds; ``n`` samples."""
    if not samples:
        return {"n": 0, "p50": math.nan, "p99": math.nan, "max": math.nan}
    s = sorted(samples)
    pick: Callable[[float], float] = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1e3  # noqa: E731
    return {"n": len(s), "p50": pick(0.50), "p99": pick(0.99), "max": s[-1] * 1e3}


async def _actors_ticker(period: float, until: float, out: list[float]) -> None:
    while True:                         # at least one sample, however late
        t = time.perf_counter()
        await actors.sleep(period)
        out.append(time.perf_counter() - t - period)
        if t >= until:
            return


async def _asyncio_ticker(period: float, until: float, out: list[float]) -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(period)
        out.append(time.perf_counter() - t - period)
        if t >= until:
            return


async def _pinger(ponger: actors.Pid, until: float, out: list[float], parent: actors.Pid) -> None:
    """Round trips to ``ponger``, one per millisecond, until ``until``."""
    me = actors.self()
    i = 0
    while True:
        t = time.perf_counter()
        send(ponger, (me, i))
        await receive(i)
        out.append(time.perf_counter() - t)
        i += 1
        if t >= until:
            break
        await actors.sleep(0.001)       # a latency probe, not a throughput test
    send(parent, ("pinger done", i))


@scenario("flood")
async def flood(messages: int = 1_000_000, busy: int = 0, work: float = 0.002,
                seconds: float = 0.0, pings: int = 100, ticks: int = 5) -> Result:
    """One process's mailbox holds ``messages`` messages (and ``busy`` processes
    each burn ``work`` seconds between yields) while timers and a ping-pong
    between two other processes keep working.

    With ``seconds`` > 0 the probes run for that long and the latencies are
    recorded (``extra``); otherwise exactly ``pings`` round trips, ``ticks``
    ``actors.sleep`` timers, ``ticks`` ``send_after`` timers and ``ticks``
    asyncio sleeps are done and counted. Then the mailbox is drained with
    ``flush`` and the RSS before, at the peak and after is recorded.
    """
    r = Result("flood", baseline=len(actors.Process.list()))
    me = actors.self()
    gc.collect()
    rss0 = rss_bytes()
    sink = actors.spawn(_wait_forever)
    item = ("flood", 0)
    t0 = time.perf_counter()
    for _ in range(messages):
        send(sink, item)
    r.extra["fill_seconds"] = time.perf_counter() - t0
    r.expect("queued", messages)
    r.count("queued", actors.Process.info(sink, "message_queue_len"))
    rss_peak = rss_bytes()
    stop: list[bool] = []
    workers = [actors.spawn(_busy_worker, work, stop) for _ in range(busy)]
    ponger = actors.spawn(_ponger)
    if seconds > 0:
        until = time.perf_counter() + seconds
        a_lat: list[float] = []
        aio_lat: list[float] = []
        rtt: list[float] = []
        ticker = actors.spawn_monitor(_actors_ticker, 0.01, until, a_lat)[0]
        task = asyncio.get_running_loop().create_task(_asyncio_ticker(0.01, until, aio_lat))
        actors.spawn_link(_pinger, ponger, until, rtt, me)
        await receive(("pinger done", int), timeout=seconds + 600)
        await receive(Down(ANY, ticker, ANY), timeout=600)
        stop.append(True)
        await task
        r.extra["actors.sleep(0.01) lateness"] = _percentiles(a_lat)
        r.extra["asyncio.sleep(0.01) lateness"] = _percentiles(aio_lat)
        r.extra["ping-pong round trip"] = _percentiles(rtt)
    else:
        r.expect("pong", pings)
        for i in range(pings):
            send(ponger, (me, i))
            r.count("pong", int(await receive(i, timeout=60.0) == i))
        r.expect("tick", ticks)
        for _ in range(ticks):
            await actors.sleep(0.001)
            r.count("tick")
        r.expect("timer", ticks)
        for i in range(ticks):
            actors.send_after(me, ("timer", i), 0.001)
            await receive(("timer", i), timeout=60.0)
            r.count("timer")
        r.expect("asyncio", ticks)
        for _ in range(ticks):
            await asyncio.sleep(0.001)
            r.count("asyncio")
        stop.append(True)
    r.expect("still_queued", messages)
    r.count("still_queued", actors.Process.info(sink, "message_queue_len"))
    for pid in workers + [ponger, sink]:
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        await receive(Down(ref, ANY, ANY), timeout=60.0)
    gc.collect()
    r.extra["rss"] = {"before": rss0, "peak": rss_peak, "after": rss_bytes()}
    r.done(t0, messages)
    r.end_round(strays=True)
    return r


# -- python -m actors stress ---------------------------------------------------------

# row -> (scenario, kwargs for --quick, kwargs for the default run)
PLAN: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "storm_supervisor": ("storm_supervisor", {"rounds": 3, "children": 10, "waves": 10},
                         {"rounds": 6, "children": 20, "waves": 100}),
    "storm_dynamic": ("storm_dynamic", {"rounds": 3, "children": 10, "waves": 10},
                      {"rounds": 6, "children": 20, "waves": 100}),
    "storm_links": ("storm_links", {"rounds": 3, "n": 2000}, {"rounds": 6, "n": 50_000}),
    "storm_monitors": ("storm_monitors", {"rounds": 3, "n": 2000}, {"rounds": 6, "n": 50_000}),
    "churn_spawn": ("churn_spawn", {"rounds": 3, "n": 10_000}, {"rounds": 5, "n": 200_000}),
    "churn_monitor": ("churn_monitor", {"rounds": 3, "n": 10_000}, {"rounds": 5, "n": 200_000}),
    "churn_timers": ("churn_timers", {"rounds": 3, "n": 10_000}, {"rounds": 5, "n": 200_000}),
    "churn_names": ("churn_names", {"rounds": 3, "n": 10_000}, {"rounds": 5, "n": 200_000}),
    "churn_registry": ("churn_registry", {"rounds": 3, "n": 10_000}, {"rounds": 5, "n": 200_000}),
    "flood_idle": ("flood", {"messages": 1_000_000, "seconds": 1.0},
                   {"messages": 2_000_000, "seconds": 3.0}),
    "flood_busy": ("flood", {"messages": 1_000_000, "busy": 10, "seconds": 1.0},
                   {"messages": 2_000_000, "busy": 10, "seconds": 5.0}),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m actors stress``."""
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--only", metavar="NAME[,NAME...]",
                        help=f"run only these scenarios ({', '.join(PLAN)}; a prefix such "
                             "as 'storm' selects several)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="the event loop (default asyncio)")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _describe(res: Result, kind: str) -> list[str]:
    lines: list[str] = []
    rate = res.ops / res.seconds if res.seconds else math.nan
    unit = {"storm": "crashes/s", "churn": "ops/s", "flood": "msg queued"}[kind]
    counts = ", ".join(f"{k} {res.got.get(k, 0)}/{v}" for k, v in res.expected.items())
    exact = "exact" if res.counts_exact else "NOT EXACT"
    if kind == "flood":
        lines.append(f"{res.name:16s} {res.ops:>12,} {unit:10s} fill {res.extra['fill_seconds']:.2f} s; "
                     f"counts {exact}: {counts}")
    else:
        lines.append(f"{res.name:16s} {rate:>12,.0f} {unit:10s} ({res.ops:,} in {res.seconds:.2f} s); "
                     f"counts {exact}: {counts}")
    back = "back to baseline" if res.procs_back else "NOT back to baseline"
    lines.append(f"{'':16s} processes {back} ({res.baseline} -> {res.procs}); "
                 f"crash log records {res.extra.get('log_records', 0):,}")
    if kind == "flood":
        rss = res.extra["rss"]
        lines.append(f"{'':16s} RSS before {_mb(rss['before'])}, with the flood queued "
                     f"{_mb(rss['peak'])}, after it was dropped {_mb(rss['after'])}")
        for key, value in res.extra.items():
            if isinstance(value, dict) and "p50" in value:
                lines.append(f"{'':16s} {key:30s} p50 {value['p50']:9.3f} ms  p99 {value['p99']:9.3f} ms  "
                             f"max {value['max']:9.3f} ms  ({value['n']} samples)")
    elif res.rss:
        flat = "flat" if rss_flat(res.rss) else "GROWING"
        second = res.rss[1] if len(res.rss) > 1 else res.rss[0]
        per_op = (res.rss[-1] - second) / max(1, res.ops * (len(res.rss) - 2) / len(res.rss))
        lines.append(f"{'':16s} RSS {flat}: after each round "
                     f"{', '.join(_mb(x) for x in res.rss)} ({per_op:+.1f} B/op after round 1)")
    return lines


def main(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Run the scenarios and print their figures; exit status 1 if a count was wrong."""
    names = list(PLAN)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        names = [n for n in names if any(n == w or n.startswith(w) for w in wanted)]
        if not names:
            print(f"--only {args.only}: no such scenario (known: {', '.join(PLAN)})")
            return 2
    print(f"actors stress ({'quick' if args.quick else 'default'} sizes, loop {args.loop}, "
          f"pid {os.getpid()})")
    ok = True
    for name in names:
        scen, quick, full = PLAN[name]
        kind = SCENARIOS[scen][0]
        kwargs = quick if args.quick else full
        res = run_scenario(scen, loop=args.loop, **kwargs)
        res.name = name
        params = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in kwargs.items())
        print(f"\n[{name}] {params}")
        for line in _describe(res, kind):
            print(line)
        ok = ok and res.counts_exact and res.procs_back
    print("\nall counts exact, processes back to baseline" if ok else "\nSOME COUNTS WERE WRONG")
    return 0 if ok else 1
