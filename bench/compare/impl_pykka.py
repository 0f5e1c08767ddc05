"""pykka's version of the workloads that have one: the actor library a
Python user reaches for today.

pykka is optional (``pip install pykka``): without it these rows show
"n/a" in the pykka column and the header says why. Its actors are threads
(``pykka.ThreadingActor``); a call is ``ref.ask(message)``, which blocks the
calling thread on a future until the actor's ``on_receive`` has answered.
pykka is much slower than the other systems, so its rows use a smaller
count (a parameter of the workload, named in the row's description); the
table compares rates, which do not depend on the count.
"""

from __future__ import annotations

import time
from typing import Optional

from actors.benchmarks import workloads  # noqa: F401  (declares the workloads before @impl)
from actors.benchmarks.catalog import MissingWork, impl, rate

try:
    import pykka
except ImportError as e:                  # noqa: F841 -- reported in the header
    pykka = None
    IMPORT_ERROR: Optional[str] = f"{type(e).__name__}: {e}"
else:
    IMPORT_ERROR = None

perf_counter = time.perf_counter


def available() -> bool:
    """Whether pykka can be imported."""
    return pykka is not None


def version() -> Optional[str]:
    """pykka's version, or None if it is not installed."""
    if pykka is None:
        return None
    try:
        from importlib.metadata import version as dist_version
        return dist_version("pykka")
    except Exception:                     # noqa: BLE001
        return getattr(pykka, "__version__", "?")


def _counter_class():
    class Counter(pykka.ThreadingActor):
        """``ask("incr")`` answers the new count, ``ask("get")`` the count."""

        def __init__(self):
            super().__init__()
            self.n = 0

        def on_receive(self, message):
            if message == "incr":
                self.n += 1
            return self.n

    return Counter


# ---------------------------------------------------------------------------
# genserver-call: ask a counter actor, pykka_calls times

@impl("genserver-call", "pykka")
def genserver_call(p, env):
    calls = p["pykka_calls"]
    ref = _counter_class().start()
    try:
        got = 0
        t0 = perf_counter()
        for i in range(1, calls + 1):
            n = ref.ask("incr")
            if not (n == i):
                raise MissingWork(f"genserver-call (pykka): ask {i} answered {n!r}")
            got += 1
        t1 = perf_counter()
    finally:
        ref.stop()
    return rate(got, calls, t1 - t0, "replies")


# ---------------------------------------------------------------------------
# The rows of ``python -m actors bench --compare`` (runner.py). They are kept
# out of the plain table (registered in EXTRA, not with @impl): pykka actors
# are threads, so these rows scale their counts down (CAPS) and say so in the
# sample's "note", and they run in a fresh interpreter per measurement.

import gc as _gc
import queue as _queue

from actors.benchmarks.memutil import rss_bytes
from actors.benchmarks.catalog import Sample, expect

#: workload name -> fn(params, env) -> Sample, for the comparison only.
EXTRA = {}

#: The most threads (or messages) a pykka row runs: what threads can reach
#: in a few seconds. Rates and bytes per process do not depend on the count.
CAPS = {"ping-pong": 20_000, "ring": 500, "spawn": 2_000, "fan-in": 500, "memory": 2_000}


def compare_impl(name):
    """Register ``fn`` as pykka's version of ``name`` for the comparison."""
    def deco(fn):
        EXTRA[name] = fn
        return fn
    return deco


def _capped(value, name, what, noun, tail="rates are comparable"):
    cap = CAPS[name]
    if value <= cap:
        return value, None
    return cap, f"pykka: {cap:,} of {value:,} {what} ({noun}; {tail})"


def _with_note(sample, note):
    if note:
        sample.extra["note"] = note
    return sample


def _actor_classes():
    class Pong(pykka.ThreadingActor):
        def __init__(self, rounds):
            super().__init__()
            self.expected, self.got, self.peer = rounds - 1, 0, None

        def on_receive(self, message):
            if isinstance(message, tuple):           # ("peer", ref)
                self.peer = message[1]
                return None
            if message == "count":
                return self.got
            if not (message == self.expected):
                raise MissingWork(f"pong: got {message!r}, expected {self.expected}")
            self.got += 1
            self.expected -= 1
            self.peer.tell(message)
            return None

    class Ping(pykka.ThreadingActor):
        def __init__(self, pong, done):
            super().__init__()
            self.pong, self.done, self.got, self.expected = pong, done, 0, None

        def on_receive(self, message):
            if isinstance(message, tuple):           # ("start", rounds)
                self.expected = message[1] - 1
                self.pong.tell(self.expected)
                return None
            if not (message == self.expected):
                self.done.put(MissingWork(f"ping: got {message!r}, expected {self.expected}"))
                return None
            self.got += 1
            if message == 0:
                self.done.put(self.got)
            else:
                self.expected -= 1
                self.pong.tell(self.expected)
            return None

    class RingNode(pykka.ThreadingActor):
        def __init__(self, parent, total):
            super().__init__()
            self.parent, self.total, self.got, self.next = parent, total, 0, None

        def on_receive(self, message):
            if isinstance(message, tuple):           # ("next", ref)
                self.next = message[1]
                return None
            if message == "count":
                return self.got
            self.got += 1
            if message == self.total:
                self.parent.put(("done", message))
            else:
                self.next.tell(message + 1)
            return None

    class Child(pykka.ThreadingActor):
        def __init__(self, parent, i):
            super().__init__()
            self.parent, self.i = parent, i

        def on_start(self):
            self.parent.put(self.i)
            self.stop()

    class Receiver(pykka.ThreadingActor):
        def __init__(self, senders, each, done):
            super().__init__()
            self.counts, self.left, self.done = [0] * senders, senders * each, done

        def on_receive(self, message):
            idx, seq = message
            if not (self.counts[idx] == seq):
                self.done.put(MissingWork(f"fan-in: sender {idx} sent {seq} out of order"))
            self.counts[idx] = seq + 1
            self.left -= 1
            if self.left == 0:
                self.done.put(sum(self.counts))

    class Sender(pykka.ThreadingActor):
        def on_receive(self, message):
            dest, idx, each = message
            for seq in range(each):
                dest.tell((idx, seq))

    class Idle(pykka.ThreadingActor):
        def on_receive(self, message):
            return message

    return Pong, Ping, RingNode, Child, Receiver, Sender, Idle


def _get(q, timeout=120):
    r = q.get(timeout=timeout)
    if isinstance(r, Exception):
        raise r
    return r


@compare_impl("ping-pong")
def ping_pong(p, env):
    messages, note = _capped(p["messages"], "ping-pong", "messages", "threads are slow")
    Pong, Ping, *_ = _actor_classes()
    rounds = messages // 2
    done = _queue.Queue()
    pong = Pong.start(rounds)
    ping = Ping.start(pong, done)
    pong.tell(("peer", ping))
    try:
        t0 = perf_counter()
        ping.tell(("start", rounds))
        got = _get(done)
        t1 = perf_counter()
        got += pong.ask("count")
    finally:
        pykka.ActorRegistry.stop_all()
    return _with_note(rate(got, rounds * 2, t1 - t0), note)


@compare_impl("ring")
def ring(p, env):
    procs, note = _capped(p["procs"], "ring", "processes", "an OS thread each")
    laps = p["laps"]
    total = procs * laps
    _, _, RingNode, *_ = _actor_classes()
    done = _queue.Queue()
    try:
        nodes = [RingNode.start(done, total) for _ in range(procs)]
        for i, n in enumerate(nodes):
            n.tell(("next", nodes[(i + 1) % procs]))
        t0 = perf_counter()
        nodes[0].tell(1)
        r = _get(done)
        t1 = perf_counter()
        expect(r == ("done", total), f"ring: got {r!r}")
        counts = [n.ask("count") for n in nodes]
    finally:
        pykka.ActorRegistry.stop_all()
    expect(all(c == laps for c in counts), "ring: a node did not see every lap")
    return _with_note(rate(sum(counts), total, t1 - t0), note)


@compare_impl("spawn")
def spawn(p, env):
    procs, note = _capped(p["procs"], "spawn", "processes", "an OS thread each")
    _, _, _, Child, *_ = _actor_classes()
    inbox = _queue.Queue()
    t0 = perf_counter()
    for i in range(procs):
        Child.start(inbox, i)
    total = 0
    for _ in range(procs):
        total += _get(inbox)
    t1 = perf_counter()
    expect(total == procs * (procs - 1) // 2, "spawn: wrong sum of child indices")
    return _with_note(rate(procs, procs, t1 - t0, "processes"), note)


@compare_impl("fan-in")
def fan_in(p, env):
    senders = p["senders"]
    each, note = _capped(p["each"], "fan-in", "messages per sender", "threads are slow")
    *_, Receiver, Sender, _ = _actor_classes()
    done = _queue.Queue()
    try:
        t0 = perf_counter()
        receiver = Receiver.start(senders, each, done)
        for i in range(senders):
            Sender.start().tell((receiver, i, each))
        got = _get(done)
        t1 = perf_counter()
    finally:
        pykka.ActorRegistry.stop_all()
    return _with_note(rate(got, senders * each, t1 - t0), note)


@compare_impl("genserver-call")
def genserver_call_compare(p, env):
    sample = genserver_call(p, env)
    if p["pykka_calls"] < p["calls"]:
        sample.extra["note"] = (f"pykka: {p['pykka_calls']:,} of {p['calls']:,} calls "
                                f"(threads are slow; rates are comparable)")
    return sample


@compare_impl("memory")
def memory(p, env):
    procs, note = _capped(p["procs"], "memory", "processes", "an OS thread each",
                          "bytes per process are comparable")
    *_, Idle = _actor_classes()
    warm = Idle.start()
    warm.ask("warm")
    _gc.collect()
    before = rss_bytes()
    try:
        refs = [Idle.start() for _ in range(procs)]
        answered = sum(1 for r in refs if r.ask(1) == 1)
        _gc.collect()
        after = rss_bytes()
        expect(answered == procs, "memory: not every process answered")
        expect(all(r.is_alive() for r in refs), "memory: a process ended")
    finally:
        pykka.ActorRegistry.stop_all()
    return _with_note(Sample((after - before) / procs, {"count": procs}), note)
