"""gevent's version of the workloads (``python -m actors bench --compare``).

A "process" is a greenlet (``gevent.spawn``) with a ``gevent.queue.Queue``
as its mailbox (``put`` to send, ``get`` to receive); a request/reply is a
``gevent.event.AsyncResult`` per call; a timer is a timer watcher of the
hub's loop (``hub.loop.timer(delay)``, ``start(callback)``, cancelled with
``close()``: what ``gevent.spawn_later`` uses underneath, without a
greenlet per timer; in timer-lateness ``loop.update_now()`` before each
arming, as libev counts a delay from the time it cached at the start of the
loop iteration, so a burst armed without yielding would fire early). Plain, idiomatic gevent code with no monkey-patching:
nothing here blocks on I/O, so none is needed.

gevent is optional (``pip install gevent``). The comparison runs each
measurement in a fresh interpreter, so gevent's hub never shares a process
with the asyncio event loop of the other systems.
"""

from __future__ import annotations

import gc
import time
from typing import Optional

from actors.benchmarks import workloads  # noqa: F401  (declares the workloads before @impl)
from actors.benchmarks.impl_asyncio import lateness_params, timer_delays
from actors.benchmarks.memutil import rss_bytes
from actors.benchmarks.catalog import MissingWork, Sample, expect, impl, lateness_sample, rate

try:
    import gevent
    from gevent.event import AsyncResult
    from gevent.queue import Queue
except ImportError as e:                  # noqa: F841 -- reported by the comparison
    gevent = None
    IMPORT_ERROR: Optional[str] = f"{type(e).__name__}: {e}"
else:
    IMPORT_ERROR = None

perf_counter = time.perf_counter
monotonic = time.monotonic


def available() -> bool:
    """Whether gevent can be imported."""
    return gevent is not None


def version() -> Optional[str]:
    """gevent's version, or None if it is not installed."""
    return gevent.__version__ if gevent is not None else None


# ---------------------------------------------------------------------------
# ping-pong

def _pong(inbox, peer, rounds):
    expected = rounds - 1
    got = 0
    while True:
        n = inbox.get()
        if not (n == expected):
            raise MissingWork(f"pong: got {n!r}, expected {expected}")
        peer.put(n)
        got += 1
        if n == 0:
            return got
        expected -= 1


@impl("ping-pong", "gevent")
def ping_pong(p, env):
    rounds = p["messages"] // 2
    inbox, pong_inbox = Queue(), Queue()
    pong = gevent.spawn(_pong, pong_inbox, inbox, rounds)
    got = 0
    t0 = perf_counter()
    for n in range(rounds - 1, -1, -1):
        pong_inbox.put(n)
        m = inbox.get()
        if not (m == n):
            raise MissingWork(f"ping: got {m!r}, expected {n}")
        got += 1
    t1 = perf_counter()
    got += pong.get()
    return rate(got, rounds * 2, t1 - t0)


# ---------------------------------------------------------------------------
# ring

def _ring_node(inbox, parent, total):
    nxt = inbox.get()
    parent.put("ready")
    got = 0
    while True:
        n = inbox.get()
        if n is None:
            parent.put(got)
            return
        got += 1
        if n == total:
            parent.put(("done", n))
        else:
            nxt.put(n + 1)


@impl("ring", "gevent")
def ring(p, env):
    procs, laps = p["procs"], p["laps"]
    total = procs * laps
    inbox = Queue()
    boxes = [Queue() for _ in range(procs)]
    nodes = [gevent.spawn(_ring_node, b, inbox, total) for b in boxes]
    for i, b in enumerate(boxes):
        b.put(boxes[(i + 1) % procs])
    for _ in range(procs):
        r = inbox.get()
        if not (r == "ready"):
            raise MissingWork(f"ring setup: got {r!r}")
    t0 = perf_counter()
    boxes[0].put(1)
    done = inbox.get()
    t1 = perf_counter()
    expect(done == ("done", total), f"ring: got {done!r}, expected ('done', {total})")
    for b in boxes:
        b.put(None)
    counts = [inbox.get() for _ in range(procs)]
    gevent.joinall(nodes)
    expect(all(c == laps for c in counts), "ring: a node did not see every lap")
    return rate(sum(counts), total, t1 - t0)


# ---------------------------------------------------------------------------
# spawn: children never receive, so (like the asyncio baseline) no Queue each

def _child(parent, i):
    parent.put(i)


@impl("spawn", "gevent")
def spawn(p, env):
    procs = p["procs"]
    inbox = Queue()
    spawn_ = gevent.spawn
    t0 = perf_counter()
    for i in range(procs):
        spawn_(_child, inbox, i)
    total = 0
    for _ in range(procs):
        total += inbox.get()
    t1 = perf_counter()
    expect(total == procs * (procs - 1) // 2, "spawn: wrong sum of child indices")
    return rate(procs, procs, t1 - t0, "processes")


# ---------------------------------------------------------------------------
# fan-in

def _sender(dest, idx, each):
    put = dest.put
    for seq in range(each):
        put((idx, seq))


@impl("fan-in", "gevent")
def fan_in(p, env):
    senders, each = p["senders"], p["each"]
    inbox = Queue()
    counts = [0] * senders
    t0 = perf_counter()
    tasks = [gevent.spawn(_sender, inbox, i, each) for i in range(senders)]
    for _ in range(senders * each):
        idx, seq = inbox.get()
        if not (counts[idx] == seq):
            raise MissingWork(f"fan-in: sender {idx} sent {seq} out of order")
        counts[idx] = seq + 1
    t1 = perf_counter()
    gevent.joinall(tasks)
    expect(inbox.empty(), "fan-in: extra messages")
    return rate(sum(counts), senders * each, t1 - t0)


# ---------------------------------------------------------------------------
# request/reply with a full mailbox: an AsyncResult per call

def _server(inbox):
    while True:
        result, request = inbox.get()
        result.set(request)


def _request_reply(calls, queued):
    inbox = Queue()
    for i in range(queued):
        inbox.put(("junk", i))
    server_inbox = Queue()
    server = gevent.spawn(_server, server_inbox)
    put = server_inbox.put
    got = 0
    t0 = perf_counter()
    for i in range(calls):
        result = AsyncResult()
        put((result, i))
        r = result.get()
        if not (r == i):
            raise MissingWork(f"call {i}: got {r!r}")
        got += 1
    t1 = perf_counter()
    server.kill()
    expect(inbox.qsize() == queued, "request-reply: the queued messages went missing")
    return rate(got, calls, t1 - t0, "replies")


@impl("request-reply", "gevent")
def request_reply(p, env):
    return _request_reply(p["calls"], 0)


@impl("request-reply-queued", "gevent")
def request_reply_queued(p, env):
    return _request_reply(p["calls"], p["queued"])


# ---------------------------------------------------------------------------
# GenServer-style call: a server greenlet owning a counter

class CounterServer:
    """A counter served by a greenlet: ``server.call("incr")`` blocks the
    calling greenlet until the new count is answered."""

    def __init__(self):
        self.n = 0
        self.inbox = Queue()
        self.greenlet = gevent.spawn(self._serve)

    def call(self, request):
        result = AsyncResult()
        self.inbox.put((result, request))
        return result.get()

    def _serve(self):
        get = self.inbox.get
        while True:
            result, request = get()
            if request == "incr":
                self.n += 1
            result.set(self.n)

    def stop(self):
        self.greenlet.kill()


@impl("genserver-call", "gevent")
def genserver_call(p, env):
    calls = p["calls"]
    server = CounterServer()
    got = 0
    t0 = perf_counter()
    for i in range(1, calls + 1):
        n = server.call("incr")
        if not (n == i):
            raise MissingWork(f"genserver-call: call {i} answered {n!r}")
        got += 1
    t1 = perf_counter()
    server.stop()
    return rate(got, calls, t1 - t0, "replies")


# ---------------------------------------------------------------------------
# timers: hub loop timer watchers, cancelled with close()

@impl("timers", "gevent")
def timers(p, env):
    delays = timer_delays(p)
    max_s = p["max_ms"] / 1e3
    loop = gevent.get_hub().loop
    inbox = Queue()
    put = inbox.put
    n = len(delays)
    t0 = perf_counter()
    watchers = []
    for i, d in enumerate(delays):
        w = loop.timer(d)
        w.start(put, i)
        watchers.append(w)
    cancelled = 0
    for w in watchers[::2]:
        w.close()
        cancelled += 1
    t1 = perf_counter()
    expect(cancelled == (n + 1) // 2, "timers: wrong number cancelled")
    for _ in range(n // 2):
        i = inbox.get(timeout=max_s + 5)
        if not (i % 2 == 1):
            raise MissingWork(f"timers: cancelled timer {i} fired")
    gevent.sleep(0.05)
    expect(inbox.empty(), "timers: extra timer messages")
    for w in watchers[1::2]:
        w.close()
    return rate(n, p["timers"], t1 - t0, "timers")


@impl("timer-lateness", "gevent")
def timer_lateness(p, env):
    import random
    n, window, offset = lateness_params(p)
    loop = gevent.get_hub().loop
    inbox = Queue()
    put = inbox.put
    rnd = random.Random(2)
    offsets = [offset + rnd.uniform(0.0, window) for _ in range(n)]
    watchers = []
    start = monotonic()
    for o in offsets:
        deadline = start + o
        loop.update_now()                 # libev counts from its cached time: refresh it
        w = loop.timer(max(0.0, deadline - monotonic()))
        w.start(put, deadline)
        watchers.append(w)
    armed = monotonic()
    late = []
    for _ in range(n):
        deadline = inbox.get(timeout=window + offset + 10)
        late.append(monotonic() - deadline)
    for w in watchers:
        w.close()
    expect(len(late) == p["timers"], "timer-lateness: missing timers")
    return lateness_sample(late, {"arm_overran_ms": max(0.0, armed - start - offset) * 1e3})


# ---------------------------------------------------------------------------
# memory: a greenlet + a Queue per idle process

def _idle(inbox, parent):
    parent.put(1)
    inbox.get()


@impl("memory", "gevent")
def memory(p, env):
    procs = p["procs"]
    inbox = Queue()
    gevent.spawn(_child, inbox, 0)        # warm the code paths
    inbox.get()
    gc.collect()
    before = rss_bytes()
    greenlets = [gevent.spawn(_idle, Queue(), inbox) for _ in range(procs)]
    ready = 0
    for _ in range(procs):
        ready += inbox.get()
    gc.collect()
    after = rss_bytes()
    expect(ready == procs, "memory: not every process started")
    expect(all(not g.dead for g in greenlets), "memory: a process ended")
    gevent.killall(greenlets)
    return Sample((after - before) / procs, {"count": procs})
