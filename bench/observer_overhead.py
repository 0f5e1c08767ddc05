"""What an open, refreshing observer page costs a running system (issue 12's budget).

    python bench/observer_overhead.py [--view VIEW] [--messages N] [--rounds R]
    python bench/observer_overhead.py --cpu [--seconds S] [--processes P]
    python bench/observer_overhead.py --stalls [--processes P] [--queued Q] [--registry E]

Overhead (the default): the ping-pong workload (a process and a GenServer,
N one-way messages, a few seconds so that it spans several refreshes)
runs with no observer, then with an observer whose page another OS process polls once
a second exactly as the page does for one view (``--view system``, the
landing view; ``processes``; ``process``: the busy server's own page, its
state included; ``tree``; ``idle``: the observer running, no page open;
``all``: each in turn), alternating, and the
medians and the loss are printed.  The budget: less than 2%.  (A trace is
not part of it: tracing costs the traced server a log record per message,
and stops itself above 500 messages a second.)

CPU (``--cpu``): the same polling with the system idle (1,000 processes
by default), measuring the CPU time the OS process uses per second: the
observer's own cost, as a share of one core, which a loaded machine does
not blur as it blurs throughput (the ping-pong above loses about that share).

Stalls (``--stalls``): P idle processes (100,000), Q messages queued in one
server's mailbox (1,000,000), a supervision tree and a registry of E
entries (10,000: one per process, the first E processes; ``--registry
100000`` makes every process a member); then every
request the page makes, five times each, and what another node's observer
browsing this one asks of it (``actors.observer.backend``: the answer and
its encoding for the wire), while a probe task measures how late the event
loop runs it: the longest time any request (or the observer's own sampling
and census, measured separately) held the loop.
The budget: a few milliseconds, whatever the sizes.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import actors
from actors import receive, send, spawn
from actors.dist.etf import encode
from actors.observer import backend

VIEWS = {
    # what the page fetches once a second on each view (app.js)
    "system": ["/api/system"],
    "processes": ["/api/processes?sort=reductions&limit=100&reverse=0&filter="],
    "process": ["/api/processes/{pong}", "/api/processes/{pong}/state", "/api/processes/{pong}/trace?since=0"],
    "tree": ["/api/tree?root="],
    "idle": [],                 # the observer running, its page closed
}


class Pong(actors.GenServer):
    """The ping-pong partner: a GenServer, so that its page has a state and a trace."""

    def handle_info(self, msg: Any) -> None:
        sender, n = msg
        send(sender, n)


def _fetch(port: int, token: str, path: str, method: str = "GET") -> bytes:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        return exc.read()


# The page's polling runs in another OS process, as a browser does (a thread
# here would compete with the event loop for the GIL, which a browser does not).
_POLLER = """
import sys, time, urllib.request, urllib.error
port, token, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
while True:
    for path in paths:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            urllib.request.urlopen(req, timeout=30).read()
        except urllib.error.HTTPError:
            pass
    time.sleep(1.0)
"""


async def _ping_pong(messages: int, view: str | None) -> tuple[float, float]:
    """Messages per wall-clock second and per CPU-second, with ``view``'s page polled."""
    dashboard = await actors.observer.start() if view else None
    pong = await Pong.start_link()
    number = str(pong).split(".")[1]
    poller = None
    if dashboard is not None and view is not None:
        paths = [p.format(pong=number, seq=0) for p in VIEWS[view]]
        poller = subprocess.Popen([sys.executable, "-c", _POLLER, str(dashboard.port),  # noqa: ASYNC220
                                   dashboard.token, *paths])
        await actors.sleep(1.5)                     # the page is open and has refreshed
    me = actors.self()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(messages // 2):
        send(pong, (me, i))
        if await receive() != i:
            raise AssertionError("lost a message")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if poller is not None and dashboard is not None:
        poller.terminate()
        await actors.to_thread(poller.wait)
        await dashboard.stop()
    return messages / elapsed, messages / cpu


def overhead(views: list[str], messages: int, rounds: int) -> None:
    print(f"ping-pong, {messages:,} messages, medians of {rounds} alternating rounds; "
          "messages per CPU-second of this process (per wall-clock second):")
    for view in [None, *views]:         # first, no observer against itself: the noise
        plain, observed = [], []
        for _ in range(rounds):
            plain.append(actors.run(_ping_pong, messages, None))
            observed.append(actors.run(_ping_pong, messages, view))
        a_cpu, b_cpu = (statistics.median(r[1] for r in runs) for runs in (plain, observed))
        a_wall, b_wall = (statistics.median(r[0] for r in runs) for runs in (plain, observed))
        label = f"{view} view" if view else "(none: noise)"
        print(f"  {label:15} no observer {a_cpu / 1e6:.3f}M ({a_wall / 1e6:.3f}M), "
              f"{'observer' if view else 'again'} {b_cpu / 1e6:.3f}M ({b_wall / 1e6:.3f}M): "
              f"loss {100 * (1 - b_cpu / a_cpu):+.1f}% ({100 * (1 - b_wall / a_wall):+.1f}%)")
    print("  budget: 2%.  CPU time is the measure that other programs on a busy machine "
          "distort least; the first line (no observer against itself) shows how much they "
          "still do.  The page's poller runs in its own OS process, as a browser does.")


# -- CPU cost ----------------------------------------------------------------------


async def _cpu(view: str | None, seconds: float, processes: int) -> float:
    """CPU seconds per second this OS process uses while ``view`` is polled."""
    pong = await Pong.start_link()
    for _ in range(processes):
        spawn(_idle)
    dashboard = await actors.observer.start() if view else None
    poller = None
    if dashboard is not None and view is not None:
        number = str(pong).split(".")[1]
        poller = subprocess.Popen([sys.executable, "-c", _POLLER, str(dashboard.port),  # noqa: ASYNC220
                                   dashboard.token, *[p.format(pong=number, seq=0) for p in VIEWS[view]]])
    await actors.sleep(2.0)
    c0 = time.process_time()
    await actors.sleep(seconds)
    used = time.process_time() - c0
    if poller is not None and dashboard is not None:
        poller.terminate()
        await actors.to_thread(poller.wait)
    if dashboard is not None:
        await dashboard.stop()
    return used / seconds


def cpu(views: list[str], seconds: float, processes: int) -> None:
    base = actors.run(_cpu, None, seconds, processes)
    print(f"CPU time of this OS process per second, {processes:,} idle processes, over {seconds:g} s "
          f"(no observer: {base * 1e3:.2f} ms/s):")
    for view in views:
        used = actors.run(_cpu, view, seconds, processes)
        print(f"  {view + ' view':15} {used * 1e3:6.2f} ms/s: the observer's share of one core "
              f"{100 * (used - base):.2f}%")


# -- stalls ---------------------------------------------------------------------------


class Hoarder(actors.GenServer):
    """A server suspended with a huge mailbox (as a stuck server would have)."""

    def handle_cast(self, msg: Any) -> None:
        pass


async def _idle(_: int = 0) -> None:
    await receive("never")


async def _member(key: int) -> None:
    actors.Registry.register("big_registry", key, {"n": key})
    await receive("never")


async def _stalls(processes: int, queued: int, members: int) -> list[tuple[str, float, float, float]]:
    loop = asyncio.get_running_loop()
    await actors.Registry.start_link(keys="unique", name="big_registry")
    hoarder = await Hoarder.start_link()
    await actors.sys.suspend(hoarder)
    for i in range(queued):
        actors.GenServer.cast(hoarder, i)
    children = [actors.Supervisor.child_spec(Hoarder, id=f"w{i}") for i in range(20)]
    await actors.Supervisor.start_link(children, name="sup")
    pool = await actors.DynamicSupervisor.start_link(name="pool")
    for _ in range(1000):
        await actors.DynamicSupervisor.start_child(pool, Hoarder.child_spec())
    for i in range(max(processes, members)):
        spawn(_member if i < members else _idle, i)
        if i % 10_000 == 0:
            await actors.sleep(0)
    await actors.sleep(0.5)
    # Building 100,000 processes leaves the garbage collector a debt: its next
    # full pass (~100 ms on this heap) would land on whichever request comes
    # first.  Pay it now, so that what is measured is the observer's own work.
    t0 = time.perf_counter()
    gc.collect()
    gc_ms = (time.perf_counter() - t0) * 1e3
    # The probe: the longest stretch of work the loop did between two runs of
    # a 1 ms timer, in CPU time of the loop's thread (on a busy machine the
    # wall-clock lateness also counts the time the OS ran other programs).
    worst = [0.0, 0.0]                  # [CPU, wall]
    running = True

    async def probe() -> None:
        while running:
            t, c = loop.time(), time.thread_time()
            await asyncio.sleep(0.001)
            worst[0] = max(worst[0], time.thread_time() - c)
            worst[1] = max(worst[1], loop.time() - t - 0.001)

    probe_task = loop.create_task(probe())
    obs = await actors.observer.start(interval=1.0)       # the first census runs here
    results: list[tuple[str, float, float, float]] = [
        ("(a full garbage collection of this heap, for scale)", gc_ms / 1e3, gc_ms / 1e3, 0.0),
        ("observer.start (first census)", worst[0], worst[1], 0.0)]
    number = str(hoarder).split(".")[1]
    registry = str(actors.whereis("big_registry")).split(".")[1]
    routes = ["/", "/static/app.js", "/api/system", "/api/processes?sort=reductions&limit=100",
              "/api/processes?sort=message_queue_len&limit=100&filter=hoard",
              "/api/processes?sort=pid&limit=1000", f"/api/processes/{number}",
              f"/api/processes/{number}/state", f"/api/processes/{number}/trace",
              "/api/tree?root=", "/api/tree?root=pool", "/api/names", f"/api/registries/{registry}",
              f"/api/registries/{registry}?filter=999", "/api/traces", "/api/nodes"]
    for path in routes:
        worst[:] = [0.0, 0.0]
        t0 = time.perf_counter()
        for _ in range(5):
            await asyncio.to_thread(_fetch, obs.port, obs.token, path)
        results.append((path, worst[0], worst[1], (time.perf_counter() - t0) / 5))
    # Another node's observer browsing this one: the work its requests cost
    # this node's loop (the answer, then its encoding for the wire).
    for label, request in (("system", ("system",)),
                           ("processes", ("processes", {"sort": "reductions", "limit": 100})),
                           ("processes, filtered",
                            ("processes", {"sort": "message_queue_len", "filter": "hoard"})),
                           ("processes, 1,000 rows", ("processes", {"sort": "pid", "limit": 1000})),
                           ("the hoarder", ("process", int(number)))):
        worst[:] = [0.0, 0.0]
        t0 = time.perf_counter()
        for _ in range(5):
            await actors.lowlevel.call_in_process(_answer_for_another_node, request)
        results.append((f"another node asks: {label}", worst[0], worst[1],
                        (time.perf_counter() - t0) / 5))
    worst[:] = [0.0, 0.0]
    await asyncio.sleep(12)                             # the sampler samples, and takes a census
    results.append(("sampling and census, 12 s idle", worst[0], worst[1], 0.0))
    running = False
    await probe_task
    await obs.stop()
    return results


async def _answer_for_another_node(request: tuple[Any, ...]) -> int:
    """What this node does for another node's observer: answer, encode (bytes sent)."""
    return len(encode(await backend.answer(request)))


def stalls(processes: int, queued: int, members: int) -> None:
    results = actors.run(_stalls, processes, queued, members)
    print(f"{max(processes, members):,} processes, {queued:,} messages queued in one mailbox, "
          f"{members:,} entries in big_registry; the longest "
          "time the event loop was held, per request (five of each): CPU time of the loop's "
          "thread (wall-clock lateness of a 1 ms timer)")
    for path, cpu, wall, latency in results:
        lat = f", answered in {latency * 1e3:.0f} ms" if latency else ""
        print(f"  {path:62} {cpu * 1e3:6.1f} ms ({wall * 1e3:.1f} ms){lat}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=[*VIEWS, "all"], default="all")
    parser.add_argument("--messages", type=int, default=6_000_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--stalls", action="store_true")
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=1_000_000)
    parser.add_argument("--registry", type=int, default=10_000,
                        help="--stalls: entries of the registry (one process each)")
    args = parser.parse_args()
    if args.stalls:
        stalls(args.processes, args.queued, args.registry)
    elif args.cpu:
        cpu(list(VIEWS) if args.view == "all" else [args.view], args.seconds,
            1000 if args.processes == 100_000 else args.processes)
    else:
        overhead(list(VIEWS) if args.view == "all" else [args.view], args.messages, args.rounds)


if __name__ == "__main__":
    main()
