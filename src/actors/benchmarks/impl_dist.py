"""actors' version of the distribution rows: two nodes, two OS processes, on loopback.

Node A is this process (``actors.run(main, node=..., cookie=...)``); node B
is a peer, ``actors.peer.start_link()``, its own OS process (so the two nodes
use two cores, like the two ``erl`` nodes), and the work on it is started
with ``actors.Node.spawn`` (these module-level functions, imported there by
name). In the rows with a BEAM end (``needs_erlang``), node B is an erl node
of the checkout's ``ErlangCluster`` (``env.erlang.cluster()``), which runs
``dist_bench.erl``'s registered sink or source.

Each measurement gets a random cookie and an epmd of its own: the Erlang
cluster's when a BEAM node takes part, else one on a free port (Erlang's
``epmd`` if installed, else ``python -m actors epmd``), a child process
ended by its pid; the nodes find it through ``ERL_EPMD_PORT``, set for the
measurement.

The messages are those of ``dist_bench.erl`` (atoms are ``actors.Atom``),
so a Python end and a BEAM end speak to each other unchanged:

* stream: the source sends ``(start, source, n)`` then ``n`` x ``(seq, i,
  <16 bytes>)``; the sink checks each in order and answers ``(done, n)``;
  timed at the source, from before ``start`` to the receipt of ``done``;
* a registered source (BEAM -> Python) takes ``(go, sink, n, reply_to)`` and
  answers ``(result, count, microseconds)``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any, Dict, List, Optional, Tuple

import actors
from actors import (ANY, Atom, Down, GenServer, Node, Pid, demonitor, monitor, receive, send, sleep,
                    spawn)

from . import workloads  # noqa: F401 (declares the workloads before @impl)  # pyright: ignore[reportUnusedImport]
from .catalog import Env, MissingWork, Sample, expect, impl, rate
from .impl_actors import ping_pong_main

perf_counter: Callable[[], float] = time.perf_counter
perf_counter_ns: Callable[[], int] = time.perf_counter_ns

#: A streaming sender yields to the event loop (``await sleep(0)``) after
#: this many sends, as a long loop in actors should (the BEAM preempts its
#: sender by itself): the connection then writes while the sender goes on.
YIELD_EVERY = 1000
#: How long any one wait may take before the measurement fails.
WAIT_S = 120.0

START, SEQ, DONE = Atom("start"), Atom("seq"), Atom("done")
GO, RESULT, WHOIS, SINK = Atom("go"), Atom("result"), Atom("whois"), Atom("sink")
STOP, PONG_COUNT, FAN_IN_DONE = Atom("stop"), Atom("pong_count"), Atom("fan_in_done")
#: The 16 bytes of every streamed message (not UTF-8: a binary, both ways).
PAYLOAD = bytes(range(240, 256))

#: The names dist_bench.erl registers on the BEAM node.
BEAM_SINK, BEAM_SOURCE = "dist_bench_sink", "dist_bench_source"
COUNTER = "dist_bench_counter"


# ---------------------------------------------------------------------------
# the nodes

def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_name(role: str) -> str:
    """A fresh node name on loopback, e.g. ``actorsbench_a_1f2e3d4c@127.0.0.1``."""
    return f"actorsbench_{role}_{secrets.token_hex(4)}@127.0.0.1"


class _Child:
    """An OS process this measurement started; its stderr goes to a temporary file."""

    def __init__(self, argv: List[str], **options: Any):
        self.err = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[str] = subprocess.Popen(argv, stderr=self.err, text=True,
                                                           **options)

    def tail(self) -> str:
        """The end of what it wrote on stderr."""
        self.err.seek(0)
        return self.err.read().decode(errors="replace").strip()[-2000:]

    def end(self) -> None:
        """End it by its pid unless it is gone, reap it, close its files."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.err.close()


def _start_epmd(port: int) -> _Child:
    """Erlang's ``epmd`` if installed, else actors' (``python -m actors epmd``),
    in the foreground on ``127.0.0.1:port``."""
    binary = shutil.which("epmd")
    argv = ([binary, "-port", str(port), "-address", "127.0.0.1"] if binary else
            [sys.executable, "-m", "actors", "epmd", "--port", str(port)])
    child = _Child(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:                          # ready once it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return child
        except OSError:
            if child.proc.poll() is not None or time.monotonic() > deadline:
                err = child.tail()
                child.end()
                raise MissingWork(f"epmd did not start on port {port}: {err}") from None
            time.sleep(0.02)


class Dist:
    """What one measurement's nodes share: the cookie, the event loop, the
    epmd (``ERL_EPMD_PORT``) and, in a row with a BEAM end, the Erlang
    cluster (``beam``; else None)."""

    def __init__(self, cookie: str, loop: str, epmd_port: int, beam: Any = None):
        self.cookie = cookie
        self.loop = loop
        self.epmd_port = epmd_port
        self.beam = beam

    def run(self, main: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        """``actors.run(main, self, *args)``, this runtime a node (a fresh name)."""
        return actors.run(main, self, *args, loop=self.loop, node=node_name("a"),
                          cookie=self.cookie)

    @contextlib.asynccontextmanager
    async def peers(self, count: int) -> AsyncGenerator[List[str], None]:
        """``count`` peer nodes (``actors.peer``: each an OS process, same cookie,
        epmd and loop), stopped on the way out: yields their names. Called in a
        process of this node."""
        started: List[Pid] = []
        names: List[str] = []
        try:
            for _ in range(count):
                pid, name = await actors.peer.start_link()
                started.append(pid)
                names.append(name)
            yield names
        finally:
            for pid in started:
                await actors.peer.stop(pid)


@contextlib.contextmanager
def distribution(env: Env, beam: bool = False) -> Generator[Dist, None, None]:
    """The epmd, cookie and loop of one measurement's nodes (a :class:`Dist`).

    With ``beam``, the checkout's Erlang cluster (``env.erlang.cluster()``)
    provides the epmd and the cookie; else an epmd is started on a free port
    (Erlang's, or actors' built-in one) and ended after, with a fresh random
    cookie. ``ERL_EPMD_PORT``
    names the epmd while the measurement runs (for this node and its peers),
    and is restored after.
    """
    epmd: Optional[_Child] = None
    cluster: Any = None
    if beam:
        if env.erlang is None:
            raise MissingWork("this row needs Erlang (erl on PATH, run from a checkout)")
        cluster = env.erlang.cluster()
        port, cookie = int(cluster.epmd_port), str(cluster.cookie)
    else:
        port, cookie = free_port(), "c" + secrets.token_hex(16)
        epmd = _start_epmd(port)
    saved = os.environ.get("ERL_EPMD_PORT")
    os.environ["ERL_EPMD_PORT"] = str(port)
    try:
        yield Dist(cookie, env.loop, port, cluster)
    finally:
        if saved is None:
            os.environ.pop("ERL_EPMD_PORT", None)
        else:
            os.environ["ERL_EPMD_PORT"] = saved
        if epmd is not None:
            epmd.end()


def tagged(m: Any, tag: Atom, size: int, what: str) -> Tuple[Any, ...]:
    """``m`` if it is a ``size``-tuple starting with ``tag``, else MissingWork."""
    if not (m.__class__ is tuple and len(m) == size and m[0] == tag):
        raise MissingWork(f"{what}: got {m!r}, expected a {size}-tuple ({tag}, ...)")
    return tuple(m)


async def _await_down_or(ref: Any, what: str) -> Any:
    """The next message; a ``Down`` (the monitored partner died) is an error."""
    m: Any = await receive(timeout=WAIT_S)
    if isinstance(m, Down) and m.ref == ref:
        raise MissingWork(f"{what} exited: {m.reason!r}")
    return m


# ---------------------------------------------------------------------------
# stream

async def sink() -> None:
    """A stream's receiver: ``(start, source, n)``, then ``n`` in-order ``(seq, i, _)``;
    answers ``(done, n)``."""
    _tag, source, n = tagged(await receive(timeout=WAIT_S), START, 3, "sink")
    for i in range(n):
        m: Any = await receive(timeout=WAIT_S)
        if not (m.__class__ is tuple and len(m) == 3 and m[0] == SEQ and m[1] == i
                and len(m[2]) == 16):
            raise MissingWork(f"sink: got {m!r}, expected (seq, {i}, <16 bytes>)")
    send(source, (DONE, n))


async def stream_to(dest: Pid, n: int) -> Tuple[int, float]:
    """Stream ``n`` messages to the sink ``dest``: (count it reported, seconds)."""
    ref = monitor(dest)
    seq, payload = SEQ, PAYLOAD
    t0 = perf_counter()
    send(dest, (START, actors.self(), n))
    for i in range(n):
        send(dest, (seq, i, payload))
        if i % YIELD_EVERY == YIELD_EVERY - 1:
            await sleep(0)
    m = await _await_down_or(ref, "the sink")
    t1 = perf_counter()
    demonitor(ref, flush=True)
    return int(tagged(m, DONE, 2, "stream")[1]), t1 - t0


async def _py_to_py(d: Dist, n: int) -> Tuple[int, float]:
    async with d.peers(1) as (peer,):
        dest = await Node.spawn(peer, sink)
        return await stream_to(dest, n)


@impl("dist-stream", "actors")
def dist_stream(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        count, elapsed = d.run(_py_to_py, p["messages"])
    return rate(count, p["messages"], elapsed)


async def _py_to_beam(d: Dist, n: int) -> Tuple[int, float]:
    send((BEAM_SINK, d.beam.nodes["b"]), (WHOIS, actors.self()))     # connects; untimed
    _tag, dest = tagged(await receive(timeout=WAIT_S), SINK, 2, "stream to BEAM")
    return await stream_to(dest, n)


@impl("dist-stream-to-beam", "actors")
def dist_stream_to_beam(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env, beam=True) as d:
        d.beam.request("b", "sink_start", [])
        count, elapsed = d.run(_py_to_beam, p["messages"])
    return rate(count, p["messages"], elapsed)


async def _beam_to_py(d: Dist, n: int) -> Tuple[int, int]:
    dest = spawn(sink)
    ref = monitor(dest)
    send((BEAM_SOURCE, d.beam.nodes["b"]), (GO, dest, n, actors.self()))
    m: Any = await receive((RESULT, ANY, ANY), Down, timeout=WAIT_S)
    if isinstance(m, Down) and m.ref == ref and m.reason == "normal":
        m = await receive((RESULT, ANY, ANY), timeout=WAIT_S)     # the sink is done first
    elif isinstance(m, Down):
        raise MissingWork(f"the sink exited: {m.reason!r}")
    _tag, count, us = tagged(m, RESULT, 3, "stream from BEAM")
    return int(count), int(us)


@impl("dist-stream-from-beam", "actors")
def dist_stream_from_beam(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env, beam=True) as d:
        d.beam.request("b", "source_start", [])
        count, us = d.run(_beam_to_py, p["messages"])
    return rate(count, p["messages"], us / 1e6)


# ---------------------------------------------------------------------------
# ping-pong across nodes

async def pong(pinger: Pid) -> None:
    """Echo every int to ``pinger``; on ``stop`` answer ``(pong_count, n)``."""
    got = 0
    while True:
        m = await receive(timeout=WAIT_S)
        if m == STOP:
            send(pinger, (PONG_COUNT, got))
            return
        send(pinger, m)
        got += 1


def _pct(ordered: List[int], p: float) -> int:
    return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]


async def _dist_ping_pong(d: Dist, n: int) -> Tuple[int, float, List[int]]:
    async with d.peers(1) as (peer,):
        partner = await Node.spawn(peer, pong, actors.self())
        ref = monitor(partner)
        lat = [0] * n
        clock = perf_counter_ns
        t0 = perf_counter()
        for i in range(n):
            t = clock()
            send(partner, i)
            m = await receive(timeout=WAIT_S)
            lat[i] = clock() - t
            if not (m == i):
                raise MissingWork(f"ping: got {m!r}, expected {i}")
        t1 = perf_counter()
        send(partner, STOP)
        m = await _await_down_or(ref, "the ponger")
        demonitor(ref, flush=True)
        expect(m == (PONG_COUNT, n), f"ping-pong: the ponger reported {m!r}, expected {n}")
        return n, t1 - t0, lat


@impl("dist-ping-pong", "actors")
def dist_ping_pong(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        count, elapsed, lat = d.run(_dist_ping_pong, p["round_trips"])
    sample = rate(count, p["round_trips"], elapsed, "round trips")
    lat.sort()
    sample.extra.update(p50_us=_pct(lat, 0.50) / 1e3, p99_us=_pct(lat, 0.99) / 1e3)
    return sample


# ---------------------------------------------------------------------------
# GenServer.call across nodes

class Counter(GenServer):
    """A counter: ``"incr"`` answers the new count (as the local genserver-call row)."""

    def init(self) -> None:
        self.n = 0

    def handle_call(self, request: Any, from_: Any) -> int:
        if request == "incr":
            self.n += 1
        return self.n


async def start_counter(parent: Pid, name: str) -> None:
    """Start a :class:`Counter` registered as ``name``, then tell ``parent``."""
    await Counter.start(name=name)
    send(parent, ("started", name))


async def _dist_genserver_call(d: Dist, calls: int) -> Tuple[int, float]:
    async with d.peers(1) as (peer,):
        await Node.spawn(peer, start_counter, actors.self(), COUNTER)
        m = await receive(timeout=WAIT_S)
        expect(m == ("started", COUNTER), f"genserver-call: got {m!r}, expected started")
        server = (COUNTER, peer)
        got = 0
        t0 = perf_counter()
        for i in range(1, calls + 1):
            n = await GenServer.call(server, "incr")
            if not (n == i):
                raise MissingWork(f"dist-genserver-call: call {i} answered {n!r}")
            got += 1
        t1 = perf_counter()
        return got, t1 - t0


@impl("dist-genserver-call", "actors")
def dist_genserver_call(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        got, elapsed = d.run(_dist_genserver_call, p["calls"])
    return rate(got, p["calls"], elapsed, "replies")


# ---------------------------------------------------------------------------
# fan-in across nodes

async def fan_in_sink(reply_to: Pid, senders: int, each: int) -> None:
    """Receive ``senders * each`` ``(idx, seq)``, each sender's in order; answer
    ``(fan_in_done, count)``."""
    counts = [0] * senders
    for _ in range(senders * each):
        idx, seq = await receive(timeout=WAIT_S)
        if not (counts[idx] == seq):
            raise MissingWork(f"fan-in: sender {idx} sent {seq} out of order")
        counts[idx] = seq + 1
    expect(all(c == each for c in counts), "fan-in: a sender's messages are missing")
    send(reply_to, (FAN_IN_DONE, sum(counts)))


async def _sender(dest: Pid, idx: int, each: int) -> None:
    for seq in range(each):
        send(dest, (idx, seq))
        if seq % YIELD_EVERY == YIELD_EVERY - 1:
            await sleep(0)


async def _dist_fan_in(d: Dist, senders: int, each: int) -> Tuple[int, float]:
    async with d.peers(1) as (peer,):
        dest = await Node.spawn(peer, fan_in_sink, actors.self(), senders, each)
        ref = monitor(dest)
        t0 = perf_counter()
        for i in range(senders):
            spawn(_sender, dest, i, each)
        m = await _await_down_or(ref, "the receiver")
        t1 = perf_counter()
        demonitor(ref, flush=True)
        return int(tagged(m, FAN_IN_DONE, 2, "fan-in")[1]), t1 - t0


@impl("dist-fan-in", "actors")
def dist_fan_in(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        got, elapsed = d.run(_dist_fan_in, p["senders"], p["each"])
    return rate(got, p["senders"] * p["each"], elapsed)


# ---------------------------------------------------------------------------
# CPU-bound work: 2 workers on 2 peer nodes, or on this node

#: A CPU-bound job yields to the event loop after this many iterations (a
#: step of a few milliseconds), as a long computation in actors should.
CHUNK = 100_000


def work(start: int, stop: int) -> int:
    """CPU-bound: ``sum(x * x for x in range(start, stop))``, as a plain loop."""
    s = 0
    for x in range(start, stop):
        s += x * x
    return s


def work_expected(iterations: int) -> int:
    """The result of a job of ``iterations`` (:func:`work` from 0), in closed form."""
    k = iterations
    return (k - 1) * k * (2 * k - 1) // 6


async def worker(reply_to: Pid) -> None:
    """Run jobs ``(i, iterations)`` until ``stop``, answering ``(i, result)`` each."""
    while True:
        m = await receive(timeout=WAIT_S)
        if m == STOP:
            return
        i, iterations = m
        total = 0
        for start in range(0, iterations, CHUNK):
            total += work(start, min(start + CHUNK, iterations))
            await sleep(0)
        send(reply_to, (i, total))


async def _cpu(d: Optional[Dist], jobs: int, iterations: int) -> Tuple[int, float]:
    """The jobs over 2 workers: on 2 peer nodes (``d``), or here (``d`` None)."""
    me = actors.self()
    async with contextlib.AsyncExitStack() as stack:
        if d is not None:
            names = await stack.enter_async_context(d.peers(2))
            workers = [await Node.spawn(name, worker, me) for name in names]
        else:
            workers = [spawn(worker, me) for _ in range(2)]
        t0 = perf_counter()
        for i in range(jobs):
            send(workers[i % len(workers)], (i, iterations))
        results: Dict[int, int] = {}
        for _ in range(jobs):
            i, r = await receive(timeout=WAIT_S)
            results[i] = r
        t1 = perf_counter()
        for w in workers:
            send(w, STOP)
    want = work_expected(iterations)
    expect(sorted(results) == list(range(jobs)) and all(r == want for r in results.values()),
           "cpu: a job's result is missing or wrong")
    return len(results), t1 - t0


@impl("dist-cpu", "actors")
def dist_cpu(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        got, elapsed = d.run(_cpu, p["jobs"], p["iterations"])
    return rate(got, p["jobs"], elapsed, "jobs")


@impl("dist-cpu", "asyncio")
def dist_cpu_one_node(p: Dict[str, int], env: Env) -> Sample:
    """The baseline: the same 2 workers, in this runtime (one core, no node)."""
    got, elapsed = actors.run(_cpu, None, p["jobs"], p["iterations"], loop=env.loop)
    return rate(got, p["jobs"], elapsed, "jobs")


# ---------------------------------------------------------------------------
# local ping-pong in a runtime that is a node

async def _ping_pong_cpu(messages: int) -> Tuple[int, float, float]:
    """The ping-pong row's main process, also timed in this OS process's CPU time."""
    c0 = time.process_time()
    got, elapsed = await ping_pong_main(messages)
    return got, time.process_time() - c0, elapsed


async def _ping_pong_as_node(d: Dist, messages: int) -> Tuple[int, float, float]:
    return await _ping_pong_cpu(messages)


def _cpu_rate(got: int, messages: int, cpu_s: float, wall_s: float) -> Sample:
    sample = rate(got, messages // 2 * 2, cpu_s)
    sample.extra.update(cpu_s=cpu_s, wall_s=wall_s, wall_rate=got / wall_s)
    return sample


@impl("ping-pong-node", "actors")
def ping_pong_node(p: Dict[str, int], env: Env) -> Sample:
    with distribution(env) as d:
        got, cpu_s, wall_s = d.run(_ping_pong_as_node, p["messages"])
    return _cpu_rate(got, p["messages"], cpu_s, wall_s)


@impl("ping-pong-node", "asyncio")
def ping_pong_without_node(p: Dict[str, int], env: Env) -> Sample:
    """The baseline: the same ping-pong, no node."""
    got, cpu_s, wall_s = actors.run(_ping_pong_cpu, p["messages"], loop=env.loop)
    return _cpu_rate(got, p["messages"], cpu_s, wall_s)
