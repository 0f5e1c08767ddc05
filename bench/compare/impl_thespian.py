"""thespian's version of the workloads (``python -m actors bench --compare``).

thespian actors are classes with ``receiveMessage(self, message, sender)``
that answer with ``self.send(address, message)`` and create actors with
``self.createActor(cls)``; code outside the actors talks to them with
``ActorSystem().tell`` and ``ActorSystem().ask``. These run on the
``simpleSystemBase`` (every actor in the calling thread, messages delivered
while the outside code waits in ``ask``/``listen``): thespian's fastest base
and the one comparable with single-threaded runtimes.

Rows thespian cannot express are left out (n/a): request-reply-queued
(an actor's messages are delivered in order to ``receiveMessage``: there is
no selective receive past a full mailbox) and timers (``wakeupAfter`` has no
cancel). thespian is optional (``pip install thespian``); the comparison runs
each measurement in a fresh interpreter, with its own actor system.
"""

from __future__ import annotations

import datetime
import gc
import random
import time
from typing import Optional

from actors.benchmarks import workloads  # noqa: F401  (declares the workloads before @impl)
from actors.benchmarks.impl_asyncio import lateness_params
from actors.benchmarks.memutil import rss_bytes
from actors.benchmarks.catalog import MissingWork, Sample, expect, impl, lateness_sample, rate

try:
    from thespian.actors import Actor, ActorExitRequest, ActorSystem, WakeupMessage
except ImportError as e:                  # noqa: F841 -- reported by the comparison
    Actor = object                        # so that the classes below still define
    ActorSystem = None
    IMPORT_ERROR: Optional[str] = f"{type(e).__name__}: {e}"
else:
    IMPORT_ERROR = None

perf_counter = time.perf_counter
monotonic = time.monotonic
BASE = "simpleSystemBase"
TIMEOUT = datetime.timedelta(seconds=120)

#: Why a row has no thespian version (shown as the cell's note).
NOT_APPLICABLE = {
    "request-reply-queued": "thespian: n/a (no selective receive: messages reach "
                            "receiveMessage in order)",
    "timers": "thespian: n/a (wakeupAfter cannot be cancelled)",
}


def available() -> bool:
    """Whether thespian can be imported."""
    return ActorSystem is not None


def version() -> Optional[str]:
    """thespian's version, or None if it is not installed."""
    if ActorSystem is None:
        return None
    from importlib.metadata import version as dist_version
    return dist_version("thespian")


class _System:
    """``with _System() as asys``: a fresh simpleSystemBase, shut down after."""

    def __enter__(self):
        self.asys = ActorSystem(BASE, logDefs=False)
        return self.asys

    def __exit__(self, *exc):
        self.asys.shutdown()
        return False


def _ask(asys, addr, message):
    r = asys.ask(addr, message, TIMEOUT)
    if r is None:
        raise MissingWork(f"thespian: no answer to {message!r} in {TIMEOUT}")
    if isinstance(r, Exception):
        raise r
    return r


# ---------------------------------------------------------------------------
# ping-pong

class Pong(Actor):
    def receiveMessage(self, message, sender):
        if message == "count":
            self.send(sender, getattr(self, "got", 0))
        elif isinstance(message, int):
            self.got = getattr(self, "got", 0) + 1
            self.send(sender, message)


class Ping(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, tuple):              # ("start", pong, rounds) from outside
            _, self.pong, rounds = message
            self.requester, self.got, self.expected = sender, 0, rounds - 1
            self.send(self.pong, self.expected)
        elif isinstance(message, int):
            if not (message == self.expected):
                self.send(self.requester, MissingWork(f"ping: got {message!r}, "
                                                      f"expected {self.expected}"))
                return
            self.got += 1
            if message == 0:
                self.send(self.requester, self.got)
            else:
                self.expected -= 1
                self.send(self.pong, self.expected)


@impl("ping-pong", "thespian")
def ping_pong(p, env):
    rounds = p["messages"] // 2
    with _System() as asys:
        pong, ping = asys.createActor(Pong), asys.createActor(Ping)
        t0 = perf_counter()
        got = _ask(asys, ping, ("start", pong, rounds))
        t1 = perf_counter()
        got += _ask(asys, pong, "count")
    return rate(got, rounds * 2, t1 - t0)


# ---------------------------------------------------------------------------
# ring

class RingNode(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, tuple):              # ("setup", next, total) from outside
            _, self.next, self.total = message
            self.parent, self.got = sender, 0
        elif message == "count":
            self.send(sender, self.got)
        elif isinstance(message, int):
            self.got += 1
            if message == self.total:
                self.send(self.parent, ("done", message))
            else:
                self.send(self.next, message + 1)


@impl("ring", "thespian")
def ring(p, env):
    procs, laps = p["procs"], p["laps"]
    total = procs * laps
    with _System() as asys:
        nodes = [asys.createActor(RingNode) for _ in range(procs)]
        for i, n in enumerate(nodes):
            asys.tell(n, ("setup", nodes[(i + 1) % procs], total))
        t0 = perf_counter()
        done = _ask(asys, nodes[0], 1)
        t1 = perf_counter()
        expect(done == ("done", total), f"ring: got {done!r}")
        counts = [_ask(asys, n, "count") for n in nodes]
    expect(all(c == laps for c in counts), "ring: a node did not see every lap")
    return rate(sum(counts), total, t1 - t0)


# ---------------------------------------------------------------------------
# spawn: a parent actor creates children that each send it one message and exit

class Child(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, int):
            self.send(sender, ("child", message))
            self.send(self.myAddress, ActorExitRequest())


class Spawner(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, int):                # N from outside
            self.requester, self.left, self.total = sender, message, 0
            for i in range(message):
                self.send(self.createActor(Child), i)
        elif isinstance(message, tuple):
            self.total += message[1]
            self.left -= 1
            if self.left == 0:
                self.send(self.requester, self.total)


@impl("spawn", "thespian")
def spawn(p, env):
    procs = p["procs"]
    with _System() as asys:
        parent = asys.createActor(Spawner)
        t0 = perf_counter()
        total = _ask(asys, parent, procs)
        t1 = perf_counter()
    expect(total == procs * (procs - 1) // 2, "spawn: wrong sum of child indices")
    return rate(procs, procs, t1 - t0, "processes")


# ---------------------------------------------------------------------------
# fan-in

class FanReceiver(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, tuple) and message[0] == "expect":
            self.counts, self.bad = [0] * message[1], None
        elif message == "counts":
            self.send(sender, self.bad or self.counts)
        elif isinstance(message, tuple):
            idx, seq = message
            if not (self.counts[idx] == seq) and self.bad is None:
                self.bad = MissingWork(f"fan-in: sender {idx} sent {seq} out of order")
            self.counts[idx] = seq + 1


class FanSender(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, tuple):              # (receiver, idx, each)
            dest, idx, each = message
            for seq in range(each):
                self.send(dest, (idx, seq))


@impl("fan-in", "thespian")
def fan_in(p, env):
    senders, each = p["senders"], p["each"]
    with _System() as asys:
        t0 = perf_counter()
        receiver = asys.createActor(FanReceiver)
        asys.tell(receiver, ("expect", senders))
        for i in range(senders):
            asys.tell(asys.createActor(FanSender), (receiver, i, each))
        counts = _ask(asys, receiver, "counts")
        t1 = perf_counter()
    expect(all(c == each for c in counts), "fan-in: a sender's messages went missing")
    return rate(sum(counts), senders * each, t1 - t0)


# ---------------------------------------------------------------------------
# GenServer-style call: ActorSystem.ask on a counter actor

class Counter(Actor):
    def receiveMessage(self, message, sender):
        if message == "incr":
            self.n = getattr(self, "n", 0) + 1
            self.send(sender, self.n)


@impl("genserver-call", "thespian")
def genserver_call(p, env):
    calls = p["calls"]
    with _System() as asys:
        counter = asys.createActor(Counter)
        got = 0
        t0 = perf_counter()
        for i in range(1, calls + 1):
            n = asys.ask(counter, "incr", TIMEOUT)
            if not (n == i):
                raise MissingWork(f"genserver-call: call {i} answered {n!r}")
            got += 1
        t1 = perf_counter()
    return rate(got, calls, t1 - t0, "replies")


# ---------------------------------------------------------------------------
# timer-lateness: wakeupAfter with the deadline as payload

class Sleeper(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, tuple):              # ("arm", start, offsets)
            _, start, offsets = message
            self.requester, self.late, self.n = sender, [], len(offsets)
            for o in offsets:
                deadline = start + o
                self.wakeupAfter(datetime.timedelta(seconds=max(0.0, deadline - monotonic())),
                                 deadline)
            self.armed = monotonic()
        elif isinstance(message, WakeupMessage):
            self.late.append(monotonic() - message.payload)
            if len(self.late) == self.n:
                self.send(self.requester, (self.late, self.armed))


@impl("timer-lateness", "thespian")
def timer_lateness(p, env):
    n, window, offset = lateness_params(p)
    rnd = random.Random(2)
    offsets = [offset + rnd.uniform(0.0, window) for _ in range(n)]
    with _System() as asys:
        sleeper = asys.createActor(Sleeper)
        start = monotonic()
        late, armed = _ask(asys, sleeper, ("arm", start, offsets))
    expect(len(late) == p["timers"], "timer-lateness: missing timers")
    return lateness_sample(late, {"arm_overran_ms": max(0.0, armed - start - offset) * 1e3})


# ---------------------------------------------------------------------------
# memory: idle actors

class Idle(Actor):
    def receiveMessage(self, message, sender):
        self.send(sender, message)


@impl("memory", "thespian")
def memory(p, env):
    procs = p["procs"]
    with _System() as asys:
        _ask(asys, asys.createActor(Idle), 1)       # warm the code paths
        gc.collect()
        before = rss_bytes()
        refs = [asys.createActor(Idle) for _ in range(procs)]
        for r in refs:
            asys.tell(r, 1)
        answered = 0
        while answered < procs:
            if asys.listen(TIMEOUT) is None:
                break
            answered += 1
        gc.collect()
        after = rss_bytes()
    expect(answered == procs, f"memory: {answered:,} of {procs:,} actors answered")
    return Sample((after - before) / procs, {"count": procs})
