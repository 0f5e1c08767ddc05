"""Collecting what the observer shows, from inside the running system.

Every function here reads the live runtime of the calling thread and returns
plain JSON-ready data (dicts, lists, strings, numbers): pids appear as their
printed form ``"<0.42.0>"``.  Nothing here changes the system.

* ``system(sampler)`` - counters and their series over time: process
  count, run queue, reductions and messages per second, scheduler use,
  event-loop lag, long steps, crashes and restarts, memory by kind, versions.
* ``processes(sort=, filter=, limit=)`` - the process table (and
  ``processes_in(census, ...)``, the same for a large system).
* ``process(pid)`` - everything ``Process.info`` knows about one process,
  where it waits in the user's code (``stack``, ``where``), and what it
  runs; ``await server_state(pid)`` - a GenServer's state through
  ``sys.get_status`` (so ``format_status`` applies).
* ``names()``, ``registries()``, ``await registry(pid)`` - local names and
  the running registries with their entries; ``await nodes()`` - the
  connected nodes.
* ``await tree()`` - the supervision trees (it asks each supervisor with
  ``sys``, so it must run inside a process: from plain asyncio code use
  ``actors.lowlevel.call_in_process(tree)``).
* ``Sampler`` - rates, series, the sparklines of the processes a page
  shows, and the *census* of every process.

Cost: no call walks more than the first ``MAILBOX_PREVIEW`` messages of a
mailbox (memory counts the rest at their average size), and reprs are cut
short as they are made (``reprlib``), so a huge message costs no more than
a small one.  Up to ``LIVE_LIMIT`` processes, a table is read whole at once
(``lowlevel.process_table``, a few milliseconds); a larger system is read by
the sampler's census a slice at a time, the loop free between slices, and
tables are chosen among its rows a slice at a time as well.
"""
from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import math
import os
import platform
import re
import reprlib
import sys as _sys
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

import actors
from actors import Process
from actors import _supervision as supervision
from actors import sys as actors_sys
from actors._supervision import SupervisorServer, default_modules
from actors.gen_server import GEN_SERVER_KEY
from actors.lowlevel import Pid, current_scheduler, process_info, process_table

__all__ = [
    "ALL_TREES",
    "COLUMNS",
    "LIVE_LIMIT",
    "MAILBOX_PREVIEW",
    "MAX_CHILDREN",
    "MAX_NODES",
    "PROCESS_SERIES",
    "SERIES",
    "SORT_KEYS",
    "SYS_MAILBOX_LIMIT",
    "Census",
    "MailboxTooLong",
    "Sampler",
    "check_mailbox",
    "find_pid",
    "find_pid_in",
    "hidden_key",
    "initial_call",
    "is_library_file",
    "jsonable",
    "label",
    "let_the_loop_run",
    "memory_rss",
    "names",
    "nodes",
    "pid_number",
    "process",
    "processes",
    "processes_in",
    "registries",
    "registry",
    "server_class",
    "server_kind",
    "server_kinds",
    "server_state",
    "server_status",
    "short",
    "stack",
    "supervisors",
    "system",
    "tree",
    "uptime",
    "versions",
    "where",
    "where_text",
]

#: The columns of a process table row (keys of ``Process.info``, plus ``pid``).
COLUMNS = ("pid", "registered_name", "initial_call", "message_queue_len",
           "reductions", "memory", "status")

#: Accepted ``sort`` values; numbers sort largest first, text A to Z.
SORT_KEYS = COLUMNS
_NUMERIC = {"message_queue_len", "reductions", "memory"}

_PID_RE = re.compile(r"<\d+\.(\d+)\.\d+>")
_REPR_LIMIT = 300
_MESSAGES_LIMIT = 100

#: The most messages of one mailbox that any request looks at: ``process``
#: shows the first ones, and memory sizes count the rest at their average.
MAILBOX_PREVIEW = _MESSAGES_LIMIT


class _ShortRepr(reprlib.Repr):
    """``reprlib`` limits, plus bytes cut before they are repr'd."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = self.maxother = self.maxlong = _REPR_LIMIT
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 20
        self.maxdeque = self.maxarray = 20

    def repr_bytes(self, x: bytes | bytearray, level: int) -> str:
        text = repr(x[:_REPR_LIMIT])
        return text if len(x) <= _REPR_LIMIT else text + "..."

    repr_bytearray = repr_bytes


_repr = _ShortRepr().repr


# -- small helpers -----------------------------------------------------------------


async def let_the_loop_run() -> None:
    """Give the event loop a turn (its I/O and timers) between two slices of
    work, from asyncio code or from a process.  (Inside a process,
    ``asyncio.sleep(0)`` lets only the other processes run: the scheduler
    resumes it in the same tick.)"""
    loop = asyncio.get_running_loop()
    turn = loop.create_future()
    loop.call_soon(turn.set_result, None)
    await turn


def pid_number(pid: Any) -> int:
    """The ``N`` of a pid printed ``<0.N.0>`` (what the API puts in URLs)."""
    m = _PID_RE.fullmatch(str(pid))
    if m is None:
        raise ValueError(f"pid_number(pid): not a pid: {pid!r}")
    return int(m.group(1))


def find_pid(number: int) -> Any:
    """The live process whose pid prints as ``<0.number.0>``, or None."""
    live = Process.list()                   # in spawn order: pid numbers increase
    i = bisect.bisect_left(live, number, key=pid_number)
    if i < len(live) and pid_number(live[i]) == number:
        return live[i]
    return None


async def find_pid_in(number: int, census: Census) -> Any:
    """``find_pid`` for a large system: a binary search among a ``census``'s
    processes (in spawn order), else among the processes spawned since, a
    slice at a time."""
    pids = census.pids
    i = bisect.bisect_left(pids, number, key=pid_number)
    if i < len(pids) and pid_number(pids[i]) == number:
        return pids[i] if Process.alive(pids[i]) else None
    if i < len(pids):
        return None                         # older than the census's newest: it has exited
    cursor = pids[-1] if pids else None
    while True:
        tail = process_table(mailbox_limit=0, after=cursor, limit=_CHUNK)
        for row in tail:
            if pid_number(row[0]) == number:
                return row[0]
        if len(tail) < _CHUNK or pid_number(tail[-1][0]) > number:
            return None
        cursor = tail[-1][0]
        await let_the_loop_run()


_PRIVATE_SERVER = re.compile(r"(actors(?:\.\w+)*)\._(\w+?)Server\.init")


def initial_call(call: str | None) -> str | None:
    """An initial call as the observer shows it: a library server's private
    class is named by its public face (``actors.registry._RegistryServer.init``
    is shown as ``actors.registry.Registry.init``)."""
    if call is None or "Server.init" not in call or "._" not in call:
        return call
    return _PRIVATE_SERVER.sub(r"\1.\2.init", call)


_SCALARS = (int, float, bool, type(None))


def _short(value: Any) -> str:
    if type(value) in _SCALARS:
        text = repr(value)
        return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."
    if isinstance(value, str):
        text = value[:_REPR_LIMIT + 1]
    else:
        try:
            text = _repr(value)
        except Exception as exc:        # noqa: BLE001 - a broken __repr__ is shown, not raised
            text = f"<{type(value).__name__}: repr failed: {exc!r}>"
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def short(value: Any) -> str:
    """``repr(value)`` cut to 300 characters, built with ``reprlib`` limits so
    that a huge value costs no more than a small one (how the observer shows
    messages, states, dictionary values and registry entries)."""
    if isinstance(value, str):
        return _short(repr(value[:_REPR_LIMIT]))
    return _short(value)


def label(value: Any) -> str:
    """A readable name for a child id, a class or a function."""
    if isinstance(value, str):
        return value
    if isinstance(value, type) or callable(value):
        qualname = getattr(value, "__qualname__", None)
        if isinstance(qualname, str):
            return qualname
    return _short(value)


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` made JSON-ready: pids and refs as text, tuples as lists,
    anything else that JSON cannot hold as its (shortened) ``repr``."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)      # JSON has no inf or nan
    if isinstance(value, str):
        return _short(value)
    if depth > 3:
        return _short(value)
    if isinstance(value, (list, tuple)):
        items = cast("Sequence[Any]", value)[:_MESSAGES_LIMIT]
        return [jsonable(v, depth + 1) for v in items]
    if isinstance(value, dict):
        pairs = itertools.islice(cast("dict[object, object]", value).items(), _MESSAGES_LIMIT)
        return {label(k): jsonable(v, depth + 1) for k, v in pairs}
    return _short(value)


def _scheduler() -> actors.lowlevel.Scheduler:
    sched = current_scheduler()
    if sched is None:
        raise RuntimeError("no actors runtime is running in this thread")
    return sched


def _names_by_pid() -> dict[Pid, str]:
    out: dict[Pid, str] = {}
    for name in actors.registered():
        pid = actors.whereis(name)
        if pid is not None:
            out[pid] = name
    return out


# -- system ------------------------------------------------------------------------


#: The columns of ``Sampler.series``: one value per sample.
SERIES = ("t", "messages_per_second", "steps_per_second", "busy_percent", "run_queue",
          "loop_lag_ms", "process_count", "memory_rss", "crashes_per_second",
          "restarts_per_second", "long_steps_per_second")
#: The columns of a process's history (``Sampler.process_history``).
PROCESS_SERIES = ("t", "reductions_per_second", "queue", "memory")
_CHUNK = 500                    # rows per slice when choosing rows (about a millisecond)
_CENSUS_SLICE = 250             # processes per slice of a census (about a millisecond)
#: Up to this many processes, a request reads them all at once (a few
#: milliseconds); beyond, it works from the sampler's last census, a slice at a time.
LIVE_LIMIT = 2000


class Census:
    """The process table at one moment, as columns (``process_table``'s).

    Columns rather than one tuple per process: a census of 100,000
    processes keeps a few objects alive, not 100,000 (the garbage
    collector's full passes, which a heap that large makes long, are
    triggered by objects that live on, not by those freed at once).
    ``at`` is the wall-clock time it was taken.
    """

    __slots__ = ("at", "calls", "memory", "names", "pids", "queues", "reductions", "status",
                 "users")

    def __init__(self) -> None:
        self.pids: list[Pid] = []
        self.names: list[str | None] = []
        self.calls: list[str] = []
        self.queues = array("q")
        self.reductions = array("q")
        self.memory = array("q")
        self.status: list[str] = []
        self.at: float | None = None
        self.users = 0                  # requests reading it now

    def __len__(self) -> int:
        return len(self.pids)

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        """Append rows of ``process_table``."""
        for pid, name, call, queue, reductions, memory, status in rows:
            self.pids.append(pid)
            self.names.append(name)
            self.calls.append(call)
            self.queues.append(queue)
            self.reductions.append(reductions)
            self.memory.append(memory)
            self.status.append(status)

    async def release(self) -> None:
        """Empty the columns a slice at a time (freeing 100,000 references at
        once would hold the loop for milliseconds), unless a request is
        reading them (``users``): then they are freed when it is done."""
        if self.users:
            return
        for column in (self.pids, self.names, self.calls, self.status):
            while column:
                del column[-20_000:]
                await let_the_loop_run()
        self.queues, self.reductions, self.memory = array("q"), array("q"), array("q")

    def extended(self, rows: list[tuple[Any, ...]]) -> Census:
        """A copy with ``rows`` appended (the columns are copied, not the
        values), or this census itself if there are none."""
        if not rows:
            return self
        out = Census()
        out.pids, out.names, out.calls = self.pids[:], self.names[:], self.calls[:]
        out.queues, out.reductions, out.memory = self.queues[:], self.reductions[:], self.memory[:]
        out.status, out.at = self.status[:], self.at
        out.add(rows)
        return out


class Sampler:
    """Samples the runtime to turn its counters into rates and charts.

    The scheduler counts process ``steps``, ``messages``, busy time and
    ``crashes`` since it started, and supervisors count their restarts; a
    rate is the difference between two samples over the (monotonic) time
    between them.  Each ``sample`` appends one row to ``series`` (the last
    ``maxlen``: 5 minutes at one a second), and the observer calls it once
    an interval, with the event loop's lag (how late its own timer fired).

    Besides the system, a sampler follows the processes a page shows
    (``watch``): for each, the last ``process_points`` samples of its
    reductions per second, message queue and memory, for the sparklines.
    At most ``watch_max`` processes are followed; one not shown for a
    minute is dropped.

    A *census* (``await census()``) walks every process, a slice at a time
    with the loop free between slices, for the totals no counter gives
    (memory of all processes, queued messages) and the table of a large
    system (``table``).

    Args:
        maxlen: how many samples to remember.
        watch_max: how many processes to follow at most.
        process_points: how many samples of each followed process to remember.
    """

    def __init__(self, maxlen: int = 300, watch_max: int = 500, process_points: int = 120) -> None:
        for name, value in (("maxlen", maxlen), ("watch_max", watch_max),
                            ("process_points", process_points)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Sampler({name}=...): must be a positive int, got {value!r}")
        self.started: float = time.monotonic()
        self.started_wall: float = time.time()
        self.history: deque[tuple[float, float, float]] = deque(maxlen=maxlen)
        self.series: dict[str, deque[Any]] = {k: deque(maxlen=maxlen) for k in SERIES}
        # (monotonic time, steps, messages, busy seconds, crashes, restarts, long steps)
        self._last: tuple[float, int, int, float, int, int, int] | None = None
        self.steps_per_second: float = 0.0
        self.messages_per_second: float = 0.0
        self.busy_percent: float = 0.0
        self.crashes_per_second: float = 0.0
        self.restarts_per_second: float = 0.0
        self.loop_lag_ms: float = 0.0
        self.watch_max = watch_max
        self.process_points = process_points
        # pid -> (last asked for, monotonic), and pid -> samples (t, reductions, queue, memory)
        self._watched: dict[Pid, float] = {}
        self._points: dict[Pid, deque[tuple[float, float, int, int]]] = {}
        self._reductions: dict[Pid, tuple[float, int]] = {}    # the last sample of each
        # the last census
        self.table = Census()
        self.kinds: dict[Pid, str] = {}
        self.census_seconds: float = 0.0            # loop time the last census took
        self.memory: dict[str, Any] = {}

    def sample(self, loop_lag: float | None = None) -> None:
        """Read the counters now; update the rates, the series and the followed processes.

        Args:
            loop_lag: seconds the event loop was late for the sampler's timer.
        """
        sched = _scheduler()
        now = time.monotonic()
        counters = (sched.steps, sched.messages, sched.busy_seconds, sched.crashes,
                    supervision.restart_total, sched.long_steps)
        if loop_lag is not None:
            self.loop_lag_ms = max(0.0, loop_lag * 1e3)
        if self._last is not None:
            t0, s0, m0, b0, c0, r0, l0 = self._last
            dt = now - t0
            if dt > 0:
                steps, messages, busy, crashes, restarts, long_steps = counters
                self.steps_per_second = max(0, steps - s0) / dt
                self.messages_per_second = max(0, messages - m0) / dt
                self.busy_percent = min(100.0, max(0.0, 100.0 * (busy - b0) / dt))
                self.crashes_per_second = max(0, crashes - c0) / dt
                self.restarts_per_second = max(0, restarts - r0) / dt
                t = round(now - self.started, 3)
                self.history.append((t, round(self.messages_per_second, 1),
                                     round(self.steps_per_second, 1)))
                row = (t, round(self.messages_per_second, 1), round(self.steps_per_second, 1),
                       round(self.busy_percent, 2), sched.run_queue_length,
                       round(self.loop_lag_ms, 2), sched.process_count, memory_rss(),
                       round(self.crashes_per_second, 2), round(self.restarts_per_second, 2),
                       round(max(0, long_steps - l0) / dt, 2))
                for key, value in zip(SERIES, row):
                    self.series[key].append(value)
        self._last = (now, *counters)
        self._sample_processes(now)

    # -- the processes a page shows ------------------------------------------------

    def watch(self, pids: list[Any]) -> None:
        """Follow these processes (the rows a page shows, the process it opened)."""
        now = time.monotonic()
        for pid in pids:
            if isinstance(pid, Pid):
                self._watched[pid] = now
        if len(self._watched) > self.watch_max:           # keep the most recently shown
            keep = sorted(self._watched.items(), key=lambda kv: kv[1])[-self.watch_max:]
            for pid in set(self._watched) - {p for p, _ in keep}:
                self._forget(pid)

    def _sample_processes(self, now: float) -> None:
        horizon = now - 60.0
        for pid in [p for p, seen in self._watched.items() if seen < horizon]:
            self._forget(pid)
        if not self._watched:
            return
        rows = process_table(mailbox_limit=10, pids=list(self._watched))
        alive: set[Pid] = set()
        for pid, _, _, queue, reductions, memory, _ in rows:
            alive.add(pid)
            last = self._reductions.get(pid)
            self._reductions[pid] = (now, reductions)
            if last is None:
                continue                # a rate needs two samples
            points = self._points.get(pid)
            if points is None:
                points = self._points[pid] = deque(maxlen=self.process_points)
            rate = round(max(0, reductions - last[1]) / max(1e-9, now - last[0]), 1)
            points.append((round(now - self.started, 3), rate, queue, memory))
        for pid in [p for p in self._watched if p not in alive]:
            self._forget(pid)

    def _forget(self, pid: Pid) -> None:
        self._watched.pop(pid, None)
        self._points.pop(pid, None)
        self._reductions.pop(pid, None)

    def process_history(self, pid: Any, last: int | None = None) -> dict[str, list[Any]]:
        """A followed process's recent samples (the ``last`` ones), as columns
        (``PROCESS_SERIES``); empty lists for a process not followed yet."""
        points = self._points.get(pid)
        if not points:
            return {k: [] for k in PROCESS_SERIES}
        rows = list(points) if last is None or last >= len(points) else \
            list(itertools.islice(points, len(points) - last, None))
        return {k: list(column) for k, column in zip(PROCESS_SERIES, zip(*rows))}

    # -- the census ----------------------------------------------------------------

    async def census(self) -> None:
        """Walk every process, ``_CENSUS_SLICE`` at a time, yielding to the loop
        between slices; then set ``table`` (a ``Census``), ``kinds`` (the
        servers, as ``server_kinds``), ``memory`` and ``census_seconds`` (the
        loop time it took, slices only)."""
        spent = 0.0
        table = Census()
        classify = _Classifier()
        cursor: Any = None
        queued: list[Pid] = []                  # the processes with messages waiting
        total_memory = total_messages = mailboxes = 0
        while True:
            await let_the_loop_run()
            if current_scheduler() is None:
                return
            t0 = time.perf_counter()
            rows = process_table(mailbox_limit=MAILBOX_PREVIEW, after=cursor, limit=_CENSUS_SLICE)
            for row in rows:
                classify.add(row[0])
                if row[3]:
                    queued.append(row[0])
                    total_messages += row[3]
                total_memory += row[5]
            table.add(rows)
            spent += time.perf_counter() - t0
            if not rows:
                break
            cursor = rows[-1][0]
        # Mailboxes apart: the processes with messages queued, measured without them.
        for start in range(0, len(queued), _CENSUS_SLICE):
            await let_the_loop_run()
            t0 = time.perf_counter()
            some = queued[start:start + _CENSUS_SLICE]
            full = {r[0]: r[5] for r in process_table(mailbox_limit=MAILBOX_PREVIEW, pids=some)}
            for pid, bare in ((r[0], r[5]) for r in process_table(mailbox_limit=0, pids=some)):
                mailboxes += max(0, full.get(pid, bare) - bare)
            spent += time.perf_counter() - t0
        if sum(map(len, _kind_cache)) > len(table) + 1000:   # enough have exited to bother
            for shard in _kind_cache:
                await let_the_loop_run()
                _Classifier.prune(list(shard))
        table.at = time.time()
        rss = memory_rss()
        old, self.table = self.table, table
        await old.release()
        self.kinds = classify.kinds
        self.census_seconds = spent
        processes_bytes = total_memory - mailboxes
        self.memory = {"processes": processes_bytes, "mailboxes": mailboxes,
                       "messages": total_messages,
                       "other": max(0, rss - total_memory) if rss is not None else None,
                       "measured_at": table.at}

    def series_dict(self) -> dict[str, list[Any]]:
        """``series`` as JSON-ready columns."""
        return {k: list(v) for k, v in self.series.items()}


def memory_rss() -> int | None:
    """Resident memory of this OS process in bytes (Linux ``/proc``), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def uptime() -> float | None:
    """Seconds since this OS process started (Linux ``/proc``), or None."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            system_up = float(f.read().split()[0])
        return round(system_up - int(fields[19]) / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError):
        return None


def versions() -> dict[str, Any]:
    """What runs here: actors, Python, the event loop, the OS."""
    loop = _scheduler().loop
    module = type(loop).__module__.split(".")[0]
    loop_version = getattr(_sys.modules.get(module), "__version__", None)
    loop_name = f"{module} {loop_version}" if module != "asyncio" and loop_version else (
        f"asyncio ({type(loop).__name__})" if module == "asyncio" else module)
    return {"actors": actors.__version__,
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "loop": loop_name, "os": f"{platform.system()} {platform.release()}",
            "os_pid": os.getpid()}


def system(sampler: Sampler | None = None) -> dict[str, Any]:
    """The system summary.

    Keys: ``process_count``, ``run_queue_length``, ``steps`` and
    ``messages`` (totals since the runtime started), ``steps_per_second``
    and ``messages_per_second`` (from ``sampler``; 0 without one),
    ``scheduler_busy_percent`` (the share of wall time the scheduler spent
    running processes over the last sample), ``long_steps`` and
    ``longest_step_ms`` (process steps that held the loop longer than the
    runtime's ``long_step``), ``crashes`` (processes that ended by raising)
    and ``restarts`` (by supervisors), with ``crashes_per_second`` and
    ``restarts_per_second``, ``loop_lag_ms`` (how late the event loop ran
    the sampler's timer), ``registered`` (how many local names),
    ``memory_rss`` (bytes), ``memory`` (by kind, from the last census:
    ``processes``, ``mailboxes`` and ``other`` bytes, ``messages`` queued),
    ``uptime`` (seconds),
    ``started`` (Unix time), ``versions``, ``node`` (its name, or None),
    ``history`` (``[seconds, messages/s, steps/s]`` samples, oldest first)
    and ``series`` (every sampled value, as columns: ``SERIES``).
    """
    sched = _scheduler()
    up = uptime()
    return {
        "process_count": sched.process_count,
        "run_queue_length": sched.run_queue_length,
        "steps": sched.steps,
        "messages": sched.messages,
        "steps_per_second": round(sampler.steps_per_second, 1) if sampler else 0.0,
        "messages_per_second": round(sampler.messages_per_second, 1) if sampler else 0.0,
        "scheduler_busy_percent": round(sampler.busy_percent, 1) if sampler else 0.0,
        "long_steps": sched.long_steps,
        "longest_step_ms": round(sched.longest_step * 1e3, 1),
        "crashes": sched.crashes,
        "restarts": supervision.restart_total,
        "crashes_per_second": round(sampler.crashes_per_second, 2) if sampler else 0.0,
        "restarts_per_second": round(sampler.restarts_per_second, 2) if sampler else 0.0,
        "loop_lag_ms": round(sampler.loop_lag_ms, 2) if sampler else 0.0,
        "registered": len(actors.registered()),
        "memory_rss": memory_rss(),
        "memory": dict(sampler.memory) if sampler else {},
        "uptime": up,
        "started": round(time.time() - up, 1) if up is not None else None,
        "versions": versions(),
        "node": actors.Node.self() if actors.Node.alive() else None,
        "history": [list(h) for h in sampler.history] if sampler else [],
        "series": sampler.series_dict() if sampler else {k: [] for k in SERIES},
    }


# -- processes ---------------------------------------------------------------------


def _check_table_args(sort: Any, filter: Any, limit: Any, reverse: Any) -> None:
    if sort not in SORT_KEYS:
        raise ValueError(f"processes(sort=...): must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    if filter is not None and not isinstance(filter, str):
        raise TypeError(f"processes(filter=...): must be a str or None, got {filter!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ValueError(f"processes(limit=...): must be an int >= 0 or None, got {limit!r}")
    if reverse is not None and not isinstance(reverse, bool):
        raise TypeError(f"processes(reverse=...): must be a bool or None, got {reverse!r}")


# Where each column sits in a row of actors.lowlevel.process_table().
_COLUMN_INDEX = {"pid": 0, "registered_name": 1, "initial_call": 2, "message_queue_len": 3,
                 "reductions": 4, "memory": 5, "status": 6}


def _public(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A table row with its initial call as the observer shows it."""
    return row if "._" not in row[2] else (*row[:2], initial_call(row[2]), *row[3:])


def _order(sort: str, reverse: bool | None) -> tuple[Callable[[Any], Any], bool]:
    """The sort key of a table row for ``sort``, and whether it is descending."""
    descending = sort in _NUMERIC
    if reverse:
        descending = not descending
    column = _COLUMN_INDEX[sort]
    if sort == "pid":
        return (lambda r: pid_number(r[0])), descending
    if sort == "registered_name":
        return (lambda r: (r[1] is None, r[1] or "")), descending
    return (lambda r: r[column] if r[column] is not None else ""), descending


def _text(row: tuple[Any, ...]) -> str:
    return f"{row[0]} {row[1] or ''} {row[2]}".lower()


def _answer(total: int, matched: int, table: list[tuple[Any, ...]]) -> dict[str, Any]:
    rows = [{"pid": str(r[0]), "registered_name": r[1], "initial_call": r[2],
             "message_queue_len": r[3], "reductions": r[4], "memory": r[5], "status": r[6],
             "current_function": where_text(where(stack(r[0]), server_class(
                 process_info(r[0], "dictionary"))))}
            for r in table]
    return {"total": total, "matched": matched, "rows": rows, "pids": [r[0] for r in table]}


def processes(sort: str = "pid", filter: str | None = None, limit: int | None = None,
              reverse: bool | None = None) -> dict[str, Any]:
    """The process table, from one pass over every process (see
    ``processes_in`` for a large system).

    Args:
        sort: a column of ``COLUMNS``; ``"pid"`` is spawn order.
        filter: keep the processes whose pid, registered name or initial
            call contains this text (case-insensitive).
        limit: keep the first ``limit`` rows after sorting (None: all).
        reverse: flip the order (default: numbers largest first, text A-Z).

    Returns:
        ``{"total": live processes, "matched": rows that passed the filter,
        "rows": [{column: value}...]}``; each row also has
        ``current_function``, where the process waits in the user's code
        (``where_text``); ``pids`` lists the rows' ``Pid`` objects (for the
        server; it is not JSON).

    Raises:
        ValueError: unknown ``sort``, bad ``limit``.  TypeError: bad ``filter``.
    """
    _check_table_args(sort, filter, limit, reverse)
    table = process_table(mailbox_limit=MAILBOX_PREVIEW)        # one pass, in the core
    total = len(table)
    if filter:
        needle = filter.lower()
        table = [r for r in table if needle in _text(_public(r))]
    matched = len(table)
    key, descending = _order(sort, reverse)
    if sort != "pid":
        table.sort(key=key, reverse=descending)
    elif descending:
        table.reverse()
    if limit is not None:
        table = table[:limit]
    return _answer(total, matched, [_public(r) for r in table])


async def processes_in(census: Census, sort: str = "pid", filter: str | None = None,
                       limit: int = 100, reverse: bool | None = None) -> dict[str, Any]:
    """The process table of a large system, chosen among a ``census``'s
    processes a slice at a time, the loop free between slices; the ones
    chosen are then read again, so their values are the current ones (the
    order is the census's; processes that exited since are left out).
    Arguments and answer as ``processes``."""
    _check_table_args(sort, filter, limit, reverse)
    census.users += 1
    try:
        return await _choose(census, sort, filter, limit, reverse)
    finally:
        census.users -= 1


async def _choose(census: Census, sort: str, filter: str | None, limit: int,
                  reverse: bool | None) -> dict[str, Any]:
    descending = (sort in _NUMERIC) != bool(reverse)
    want = limit + limit // 5 + 10                  # spare rows for those that exited since
    needle = filter.lower() if filter else None
    pids, names, calls = census.pids, census.names, census.calls
    key: Callable[[int], Any]
    if sort in _NUMERIC:
        key = {"message_queue_len": census.queues, "reductions": census.reductions,
               "memory": census.memory}[sort].__getitem__
    elif sort == "registered_name":
        key = lambda i: (names[i] is None, names[i] or "")
    elif sort == "initial_call":
        key = calls.__getitem__
    else:
        key = census.status.__getitem__
    pick = heapq.nlargest if descending else heapq.nsmallest
    best: list[int] = []
    matched = 0
    n = len(census)
    order = range(n - 1, -1, -1) if sort == "pid" and descending else range(n)
    for start in range(0, n, _CHUNK):
        if start:
            await let_the_loop_run()
        chunk: Sequence[int] = order[start:start + _CHUNK]
        if needle:
            chunk = [i for i in chunk
                     if needle in f"{pids[i]} {names[i] or ''} {initial_call(calls[i]) or ''}".lower()]
        matched += len(chunk)
        if sort == "pid":
            if len(best) < want:
                best.extend(chunk[:want - len(best)])
            elif not needle:
                matched = n                 # spawn order: the rest need not be looked at
                break
        else:
            best = pick(want, best + list(chunk), key=key)
    fresh: dict[Pid, tuple[Any, ...]] = {}
    for start in range(0, len(best), _CENSUS_SLICE):
        await let_the_loop_run()
        some = [pids[i] for i in best[start:start + _CENSUS_SLICE]]
        fresh.update((r[0], _public(r)) for r in process_table(mailbox_limit=MAILBOX_PREVIEW, pids=some))
    table = [fresh[pids[i]] for i in best if pids[i] in fresh][:limit]
    return await _answer_in_slices(_scheduler().process_count, matched, table)


async def _answer_in_slices(total: int, matched: int, table: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``_answer``, 100 rows at a time (each row's stack is looked at)."""
    out = _answer(total, matched, table[:100])
    for start in range(100, len(table), 100):
        await let_the_loop_run()
        more = _answer(total, matched, table[start:start + 100])
        out["rows"] += more["rows"]
        out["pids"] += more["pids"]
    return out


# -- one process: where it waits, what it runs ---------------------------------------

#: Where the library's own code lives: frames there are not "user code".
_LIBRARY_DIRS = tuple(os.path.join(os.path.dirname(m.__file__ or ""), "")
                      for m in (actors, asyncio))
_STACK_LIMIT = 64
_SERVER_KINDS = {"Supervisor": "supervisor", "DynamicSupervisor": "dynamic_supervisor"}
_KIND_LABELS = {"supervisor": "Supervisor", "dynamic_supervisor": "DynamicSupervisor",
                "registry": "Registry"}


def is_library_file(filename: str) -> bool:
    """True for a file of actors itself or of asyncio (not the user's code)."""
    return filename.startswith(_LIBRARY_DIRS)


def stack(pid: Any) -> list[dict[str, Any]]:
    """The frames of a suspended process, innermost first (at most 64).

    Each is ``{"function", "file", "line", "library"}``; ``library`` is true
    for a frame of actors or asyncio (a GenServer's receive loop, a
    supervisor's machinery), so a page can show the user's own frames first.
    A process that is running (asking about itself) or exited has none.
    """
    coro = pid.get_coro() if isinstance(pid, Pid) else None
    frames: list[dict[str, Any]] = []
    while coro is not None and len(frames) < _STACK_LIMIT:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        frames.append({"function": code.co_qualname, "file": code.co_filename,
                       "line": frame.f_lineno, "library": is_library_file(code.co_filename)})
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    frames.reverse()
    return frames


def server_class(dictionary: dict[Any, Any] | None) -> type | None:
    """The GenServer class a process runs (from its process dictionary), or None."""
    cls = dictionary.get(GEN_SERVER_KEY) if dictionary else None
    return cls if isinstance(cls, type) and issubclass(cls, actors.GenServer) else None


def server_kind(cls: type | None) -> str | None:
    """What a GenServer class is to the observer: ``"supervisor"``,
    ``"dynamic_supervisor"``, ``"registry"``, ``"agent"``, ``"gen_server"``,
    or None for a process that is not a server."""
    if cls is None:
        return None
    if issubclass(cls, SupervisorServer):
        return _SERVER_KINDS.get(cls.kind, "supervisor")
    if cls.__module__ == "actors.registry":
        return "registry"
    if issubclass(cls, actors.Agent):
        return "agent"
    return "gen_server"


def _defined_at(cls: type) -> tuple[str, int] | tuple[None, None]:
    """File and line of the first callback the user's class defines itself."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("actors.") or klass.__module__ == "actors":
            break
        for name in ("handle_call", "handle_cast", "handle_info", "init"):
            code = getattr(klass.__dict__.get(name), "__code__", None)
            if code is not None:
                return code.co_filename, code.co_firstlineno
    return None, None


def where(frames: list[dict[str, Any]], cls: type | None) -> dict[str, Any] | None:
    """Where a process waits, in the user's code: the innermost frame that is
    not the library's.  A server waiting in its receive loop (no user frame
    at all) is ``"<Class>: waiting for a message"`` at its class's callbacks.
    ``{"function", "file", "line", "library"}``, or None (running, exited)."""
    for frame in frames:
        if not frame["library"]:
            return frame
    if cls is not None:
        kind = server_kind(cls)
        name = _KIND_LABELS.get(kind or "") or cls.__qualname__
        file, line = _defined_at(cls)
        return {"function": f"{name}: waiting for a message", "file": file, "line": line,
                "library": file is None}
    return frames[0] if frames else None


def where_text(place: dict[str, Any] | None) -> str:
    """``where`` as one line: ``fn (file:line)``."""
    if place is None:
        return ""
    if place["file"] is None:
        return str(place["function"])
    return f"{place['function']} ({os.path.basename(place['file'])}:{place['line']})"


def hidden_key(key: Any) -> bool:
    """The library's own process-dictionary keys (``"$gen_server"``,
    ``"$initial_call"``...): kept out of the observer's dictionary view."""
    return isinstance(key, str) and key.startswith("$")


def process(pid: Any) -> dict[str, Any] | None:
    """Everything about one process, JSON-ready; None if it is dead.

    Adds ``pid`` to the keys of ``Process.info``; ``monitors`` become
    ``{"ref", "pid"}`` objects; ``current_function`` is where it waits *in
    the user's code* (see ``where``: a ``{"function", "file", "line",
    "library"}`` object) and ``stack`` its frames, innermost first (see
    ``stack``); ``server`` says what it runs (``{"kind", "class"}`` for a
    GenServer, else None); ``messages`` holds shortened reprs of the first
    ``MAILBOX_PREVIEW`` messages and ``messages_more`` how many more are
    queued; ``dictionary`` the user's entries as shortened reprs (the first
    100; the library's ``"$..."`` keys are left out and counted in
    ``dictionary_hidden``).
    """
    info = process_info(pid, mailbox_limit=MAILBOX_PREVIEW)
    if info is None:
        return None
    cls = server_class(info["dictionary"])
    frames = stack(pid)
    out: dict[str, Any] = {"pid": str(pid)}
    for key, value in info.items():
        if key == "monitors":
            out[key] = [{"ref": repr(ref), "pid": jsonable(target)} for ref, target in value]
        elif key == "current_function":
            out[key] = where(frames, cls)
        elif key == "messages":
            out[key] = [short(m) for m in value]
            out["messages_more"] = max(0, info["message_queue_len"] - len(value))
        elif key == "initial_call":
            out[key] = initial_call(value)
        elif key == "dictionary":
            shown = [(k, v) for k, v in value.items() if not hidden_key(k)]
            out[key] = {label(k): short(v) for k, v in shown[:_MESSAGES_LIMIT]}
            out["dictionary_hidden"] = len(value) - len(shown)
        else:
            out[key] = jsonable(value)
    out["stack"] = frames
    out["server"] = None if cls is None else {
        "kind": server_kind(cls), "class": f"{cls.__module__}.{cls.__qualname__}"}
    return out


#: A server with more messages queued is not sent system requests: the
#: request would wait behind them all (or, the server suspended, be searched
#: for among them at every message).
SYS_MAILBOX_LIMIT = 10_000


class MailboxTooLong(LookupError):
    """A server's mailbox is too long to send it a system request."""


def check_mailbox(pid: Any) -> None:
    """Raise ``MailboxTooLong`` if ``pid`` has more than ``SYS_MAILBOX_LIMIT`` messages queued."""
    queued = process_info(pid, "message_queue_len")
    if queued is not None and queued > SYS_MAILBOX_LIMIT:
        raise MailboxTooLong(
            f"{pid!r} has {queued:,} messages queued: a system request would wait behind them "
            f"(or be searched for among them), so the observer does not send one")


async def server_status(pid: Any, timeout: float = 1.0) -> dict[str, Any]:
    """``sys.get_status`` of a live GenServer (so its ``format_status`` applies).

    Raises:
        LookupError: the process is dead or is not a GenServer;
            ``MailboxTooLong``: more than ``SYS_MAILBOX_LIMIT`` messages wait
            in its mailbox.
        actors.Timeout: it did not answer within ``timeout`` seconds.
        actors.NoProcess, actors.CallExit: it exited meanwhile.
    """
    pdict = process_info(pid, "dictionary") if isinstance(pid, Pid) else None
    if pdict is None:
        raise LookupError(f"{pid!r} is not alive")
    if server_class(pdict) is None:
        raise LookupError(f"{pid!r} is not a GenServer: only servers answer sys requests")
    check_mailbox(pid)
    status = await actors_sys.get_status(pid, timeout=timeout)
    return status if isinstance(status, dict) else {"state": status}


async def server_state(pid: Any, timeout: float = 1.0) -> dict[str, Any]:
    """A GenServer's state as ``sys.get_status`` gives it, so a class's
    ``format_status`` decides what is shown (hide secrets there).

    Returns ``{"pid", "class", "status" ("running" | "suspended"), "trace",
    "state"}``: ``state`` maps each attribute to its shortened repr (the
    first 100), or is one shortened repr if ``format_status`` made it
    something other than a dict.

    Raises:
        LookupError, actors.Timeout, actors.NoProcess, actors.CallExit: as
        ``server_status``.
    """
    status = await server_status(pid, timeout)
    state = status.get("state")
    if isinstance(state, dict):
        attributes: dict[Any, Any] = state  # pyright: ignore[reportUnknownVariableType]
        pairs = itertools.islice(attributes.items(), _MESSAGES_LIMIT)
        shown: Any = {label(k): short(v) for k, v in pairs}
    else:
        shown = short(state)
    cls = status.get("class")
    return {"pid": str(pid), "class": label(cls) if cls is not None else None,
            "status": jsonable(status.get("status")), "trace": bool(status.get("trace")),
            "state": shown}


# -- names -------------------------------------------------------------------------


# pid -> its kind (None: not a server), in shards: one dict of 100,000 entries
# would hold the loop for milliseconds each time it grows (a rehash of all).
_SHARDS = 64
_kind_cache: list[dict[Pid, str | None]] = [{} for _ in range(_SHARDS)]


class _Classifier:
    """Finds the servers among processes, a process at a time.

    A process's kind never changes, so it is looked up once (in its process
    dictionary) and remembered in ``_kind_cache`` while the process lives
    (``prune`` forgets the dead; the cache is changed in place, so that a
    census of 100,000 processes does not rebuild, and regrow, a dict of them)."""

    def __init__(self) -> None:
        self.kinds: dict[Pid, str] = {}

    def add(self, pid: Pid) -> None:
        shard = _kind_cache[hash(pid) % _SHARDS]
        kind = shard.get(pid, "?")
        if kind == "?":
            kind = server_kind(server_class(process_info(pid, "dictionary")))
            if kind is None and not process_info(pid, "reductions"):
                return                  # not started yet: it may still become a server
            shard[pid] = kind
        if kind is not None:
            self.kinds[pid] = kind

    @staticmethod
    def prune(pids: list[Pid]) -> None:
        """Forget those of ``pids`` that have exited."""
        for pid in pids:
            if not Process.alive(pid):
                _kind_cache[hash(pid) % _SHARDS].pop(pid, None)


def server_kinds() -> dict[Pid, str]:
    """``{pid: kind}`` (see ``server_kind``) for every live server, in spawn order."""
    classify = _Classifier()
    for pid in Process.list():
        classify.add(pid)
    for shard in _kind_cache:
        _Classifier.prune(list(shard))
    return classify.kinds


def supervisors(kinds: dict[Pid, str] | None = None) -> dict[Pid, str]:
    """``{pid: "supervisor" | "dynamic_supervisor"}`` for every live supervisor
    (among ``kinds``, ``server_kinds()`` by default).

    A supervisor is a GenServer whose class (in its process dictionary, as
    ``actors.reload`` finds servers) is a supervisor server; its initial
    call names the user's supervisor module, whatever it is."""
    return {pid: kind for pid, kind in (server_kinds() if kinds is None else kinds).items()
            if kind in ("supervisor", "dynamic_supervisor") and actors.Process.alive(pid)}


def _registry_keys(ref: Any) -> str:
    """``"unique"`` or ``"duplicate"``: only a unique registry names processes in ``via``."""
    try:
        actors.whereis(actors.via(ref, ("$observer", "probe")))
    except ValueError:
        return "duplicate"
    except Exception:                   # noqa: BLE001 - gone meanwhile
        return "?"
    return "unique"


def registries(kinds: dict[Pid, str] | None = None) -> list[dict[str, Any]]:
    """The running ``Registry`` servers (among ``kinds``, ``server_kinds()``
    by default): ``[{"pid", "name", "keys" ("unique" | "duplicate"),
    "count"}...]`` in spawn order."""
    out: list[dict[str, Any]] = []
    for pid, kind in (server_kinds() if kinds is None else kinds).items():
        if kind != "registry" or not actors.Process.alive(pid):
            continue
        name = process_info(pid, "registered_name")
        try:
            count = actors.Registry.count(name or pid)
        except Exception:       # noqa: BLE001 - starting up or shutting down
            count = None
        out.append({"pid": str(pid), "name": name, "keys": _registry_keys(name or pid), "count": count})
    return out


def names(kinds: dict[Pid, str] | None = None) -> dict[str, Any]:
    """Names: ``{"local": [{"name", "pid", "initial_call"}...], "registries":
    [...]}`` (the running ``Registry`` servers, as ``registries(kinds)``)."""
    local: list[dict[str, Any]] = [
        {"name": n, "pid": str(p), "initial_call": initial_call(process_info(p, "initial_call"))}
        for p, n in sorted(_names_by_pid().items(), key=lambda pn: pn[1])]
    return {"local": local, "registries": registries(kinds)}


_REGISTRY_SLICE = 200          # entries per slice of a registry's read (tens of microseconds)
_REGISTRY_STEP = 0.001         # seconds: a registry's page lets the loop go after this much work


async def registry(pid: Any, filter: str | None = None, limit: int = 500,
                   kinds: dict[Pid, str] | None = None) -> dict[str, Any] | None:
    """One registry's entries: ``{"pid", "name", "keys", "count", "matched",
    "entries": [{"key", "pid", "value"}...], "as_of"}`` (keys and values as
    shortened reprs; ``filter`` keeps the entries whose key, owner or value
    contains it, case-insensitive; at most ``limit`` of them, the first in
    ``Registry.select``'s order).  None if ``pid`` is not a running registry
    (among ``kinds``), or if it exits during the read.

    Cost: the registry is read a slice at a time (``Registry.select_slices``),
    and the loop is let go after every ``_REGISTRY_STEP`` of work, so no step
    holds it more than a few milliseconds whatever the registry's size.  An
    unfiltered page reads only its first ``limit`` entries; a filtered one
    goes through the whole registry (about 5 microseconds an entry, in slices).

    Between steps the registry may change; the page then shows the registry
    as the read went through it: the keys it had when the read began
    (``as_of``), each with its entries when the read reached it (those of a
    key registered later are not shown; those of a key unregistered before
    the read reached it are not either).  ``count`` is the registry's size
    when the read began (``Registry.count``, in the step of the first slice)
    and, unfiltered, ``matched`` is the same; a filtered page, which goes
    through every entry, gives as ``count`` the entries it went through and
    as ``matched`` how many of those matched (so ``matched <= count``).  With
    no change during the read, both ways give the registry's size."""
    if (server_kinds() if kinds is None else kinds).get(pid) != "registry" \
            or not actors.Process.alive(pid):
        return None
    name = process_info(pid, "registered_name")
    ref = name or pid
    needle = filter.lower() if filter else None
    taken = time.time()
    try:
        size = actors.Registry.count(ref)
        slices = actors.Registry.select_slices(ref, size=_REGISTRY_SLICE)
    except Exception:           # noqa: BLE001 - exited meanwhile
        return None
    entries: list[dict[str, Any]] = []
    seen = matched = 0
    deadline = time.perf_counter() + _REGISTRY_STEP
    try:
        # The first slice is read in this step, with ``size``: the two agree.
        for part in slices:
            seen += len(part)
            for key, owner, value in part:
                if needle is None:
                    if len(entries) >= limit:
                        break
                    entries.append({"key": short(key), "pid": str(owner), "value": short(value)})
                else:
                    k, o, v = short(key), str(owner), short(value)
                    if needle in f"{k} {o} {v}".lower():
                        matched += 1
                        if len(entries) < limit:
                            entries.append({"key": k, "pid": o, "value": v})
                if time.perf_counter() > deadline:
                    await let_the_loop_run()
                    deadline = time.perf_counter() + _REGISTRY_STEP
            if needle is None and len(entries) >= limit:
                break
    except actors.NoProcess:    # the registry exited during the read
        return None
    count = size if needle is None else seen
    return {"pid": str(pid), "name": name, "keys": _registry_keys(ref), "count": count,
            "matched": count if needle is None else matched, "entries": entries, "as_of": taken}


# -- nodes -------------------------------------------------------------------------


_nodes_seen: dict[str, float] = {}       # node -> when the observer first saw it connected
#: node -> its last traffic reading (monotonic time, packets in, out, bytes in, out)
_traffic_last: dict[str, tuple[float, int, int, int, int]] = {}
#: node -> its traffic rates at each reading: (packets/s in, out, bytes/s in, out)
_traffic_history: dict[str, deque[tuple[float, float, float, float]]] = {}
TRAFFIC_POINTS = 60


def _traffic(name: str, info: dict[str, Any], now: float) -> dict[str, Any]:
    """The connection's counters, and their rates since the previous reading."""
    counts = (info["packets_in"], info["packets_out"], info["bytes_in"], info["bytes_out"])
    last = _traffic_last.get(name)
    _traffic_last[name] = (now, *counts)
    history = _traffic_history.setdefault(name, deque(maxlen=TRAFFIC_POINTS))
    if last is not None and now > last[0]:
        dt = now - last[0]
        p_in, p_out, b_in, b_out = (round(max(0, c - l) / dt, 1) for c, l in zip(counts, last[1:]))
        history.append((p_in, p_out, b_in, b_out))
    rates = history[-1] if history else (0.0, 0.0, 0.0, 0.0)
    return {"type": info["type"], "address": info["address"], "tls": info["tls"],
            "since": info["since"], "packets_in": counts[0], "packets_out": counts[1],
            "bytes_in": counts[2], "bytes_out": counts[3], "buffered": info["buffered"],
            "packets_in_per_second": rates[0], "packets_out_per_second": rates[1],
            "bytes_in_per_second": rates[2], "bytes_out_per_second": rates[3],
            "history": {"bytes_in_per_second": [h[2] for h in history],
                        "bytes_out_per_second": [h[3] for h in history]}}


async def nodes(timeout: float = 1.0) -> dict[str, Any]:
    """Distribution: ``{"alive", "self", "nodes": [...]}``: the connected
    nodes (``actors.Node.list()``), each with ``name``, ``ping_ms`` (a ping's
    round trip now, None if no answer within ``timeout`` seconds),
    ``seen_since`` (when the observer first saw it connected, Unix time),
    and its link's traffic (``actors.Node.info``: ``type``, ``address``,
    ``tls``, ``since``, ``packets_in``/``out``, ``bytes_in``/``out``,
    ``buffered``), with the rates since the previous call
    (``packets_in_per_second``... ``bytes_out_per_second``) and their last
    ``TRAFFIC_POINTS`` values (``history``)."""
    alive = actors.Node.alive()
    names = actors.Node.list() if alive else []
    now = time.time()
    for table in (_nodes_seen, _traffic_last, _traffic_history):
        for name in [n for n in table if n not in names]:
            del table[name]

    async def ping(name: str) -> float | None:
        t0 = time.perf_counter()
        answer = await actors.Node.ping(name, timeout=timeout)
        return round((time.perf_counter() - t0) * 1e3, 2) if answer == "pong" else None

    pings = await asyncio.gather(*(ping(name) for name in names))
    out: list[dict[str, Any]] = []
    clock = time.monotonic()
    for name, ms in zip(names, pings):
        row: dict[str, Any] = {"name": name, "ping_ms": ms,
                               "seen_since": _nodes_seen.setdefault(name, now)}
        info = actors.Node.info(name)
        if info is not None:
            row.update(_traffic(name, info, clock))
        out.append(row)
    return {"alive": alive, "self": actors.Node.self(), "nodes": out}


# -- supervision trees -------------------------------------------------------------


#: Children of one supervisor that the tree lists (the rest are counted).
MAX_CHILDREN = 100
#: Nodes of one tree answer, at most.
MAX_NODES = 5000
#: ``tree(root=ALL_TREES)``: every tree whole.
ALL_TREES = object()

# What never changes about a supervisor: its parent and its options.
_supervisor_static: dict[Pid, dict[str, Any]] = {}


def _restart_info(child: Any) -> dict[str, Any] | None:
    last = getattr(child, "last_restart", None)
    if last is None:
        return None
    reason, when = last
    return {"reason": short(reason), "time": when}


def _static_facts(state: dict[str, Any], parent: Any) -> dict[str, Any]:
    intensity = state.get("intensity")
    module = state.get("module")
    return {"parent": parent, "strategy": state.get("strategy", "one_for_one"),
            "max_restarts": getattr(intensity, "max_restarts", None),
            "max_seconds": getattr(intensity, "max_seconds", None),
            "max_children": jsonable(state.get("max_children")),
            "module": label(type(module)) if module is not None else None}


def _children(state: dict[str, Any], kind: str) -> tuple[list[dict[str, Any]], int]:
    """The first ``MAX_CHILDREN`` children of a supervisor's state, and how many there are."""
    table: dict[Any, Any] = state.get("children", {})
    out: list[dict[str, Any]] = []
    for child in itertools.islice(table.values(), MAX_CHILDREN):
        spec = child.spec
        modules = default_modules(spec)
        out.append({
            "id": None if kind == "dynamic_supervisor" else label(child.id),
            "pid": jsonable(child.pid), "ref": child.pid,
            "type": spec.type, "restart": child.restart, "restarts": child.restarts,
            "last_restart": _restart_info(child), "shutdown": jsonable(child.shutdown),
            "modules": [label(m) for m in cast("Sequence[Any]", modules)]
            if isinstance(modules, (list, tuple)) else label(modules)})
    return out, len(table)


async def tree(timeout: float = 1.0, kinds: dict[Pid, str] | None = None,
               root: Any = ALL_TREES) -> list[dict[str, Any]]:
    """The supervision trees, one per root supervisor (one whose parent is not
    a supervisor), in spawn order.

    A supervisor is ``{"pid", "name", "kind", "strategy", "max_restarts",
    "max_seconds", "max_children", "module", "children": [...],
    "children_total", "error"}``; a child is ``{"id", "pid", "type",
    "restart", "restarts", "last_restart", "shutdown", "name", "modules"}``
    where ``pid`` is the pid, ``"restarting"`` or None (not running), ``id``
    is None under a DynamicSupervisor, ``restarts`` counts the supervisor's
    restarts of it and ``last_restart`` is ``{"reason", "time"}`` (Unix
    time) of the last one, or None.  A child that is a supervisor also has
    the supervisor's keys (its own subtree).  A supervisor lists its first
    ``MAX_CHILDREN`` children (``children_total`` counts them all), and an
    answer at most ``MAX_NODES`` nodes.  ``error`` is set when a supervisor
    did not answer within ``timeout`` seconds (busy restarting, or exiting).

    ``root``: by default every tree is given whole; with a root's name or
    pid number (a str), or None for the first root, only that tree is, and
    the others are listed without children (``"collapsed": true``).

    Runs inside a process (it asks the supervisors with ``sys``); each
    supervisor's parent and options are asked once and remembered.
    """
    sups = supervisors(kinds)
    named = _names_by_pid()
    for gone in [p for p in _supervisor_static if p not in sups]:
        del _supervisor_static[gone]
    states: dict[Pid, dict[str, Any]] = {}
    errors: dict[Pid, str] = {}

    async def ask(pid: Pid, with_parent: bool) -> None:
        try:
            if with_parent:
                status = await actors_sys.get_status(pid, timeout=timeout)
                states[pid] = status["state"]
                _supervisor_static[pid] = _static_facts(status["state"], status["parent"])
            else:
                states[pid] = await actors_sys.get_state(pid, timeout=timeout)
        except Exception as exc:        # noqa: BLE001 - shown on the page
            errors[pid] = f"{type(exc).__name__}: {exc}"

    for pid in sups:
        if pid not in _supervisor_static:
            await ask(pid, True)
    roots = [pid for pid in sups if _supervisor_static.get(pid, {}).get("parent") not in sups]
    full: set[Pid] = set()
    if root is ALL_TREES:
        full = set(roots)
    else:
        chosen = next((p for p in roots if root is not None and (
            named.get(p) == root or str(pid_number(p)) == root)), roots[0] if roots else None)
        if chosen is not None:
            full = {chosen}
    budget = [MAX_NODES]

    async def node(pid: Pid, expand: bool, seen: frozenset[Pid]) -> dict[str, Any]:
        facts = {k: v for k, v in _supervisor_static.get(pid, {}).items() if k != "parent"}
        out: dict[str, Any] = {"pid": str(pid), "name": named.get(pid), "kind": sups.get(pid),
                               **facts, "error": None}
        children: list[dict[str, Any]] = []
        out["children"] = children
        if not expand:
            out["collapsed"] = True
            return out
        if pid not in states and pid not in errors:
            await ask(pid, False)
        out["error"] = errors.get(pid)
        listed, out["children_total"] = _children(states.get(pid, {}), sups.get(pid, ""))
        seen = seen | {pid}
        for child in listed:
            budget[0] -= 1
            if budget[0] < 0:
                break
            ref = child.pop("ref")
            entry = dict(child, name=named.get(ref) if isinstance(ref, Pid) else None)
            if isinstance(ref, Pid) and ref in sups and ref not in seen:
                sub = await node(ref, True, seen)
                entry.update({k: v for k, v in sub.items() if k not in entry or k == "children"})
                entry["kind"], entry["error"] = sub["kind"], sub["error"]
            children.append(entry)
        return out

    return [await node(pid, pid in full, frozenset()) for pid in roots]
