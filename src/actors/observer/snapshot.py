"""Collecting what the observer shows, from inside the running system.

Every function here reads the live runtime of the calling thread and returns
plain JSON-ready data (dicts, lists, strings, numbers): pids appear as their
printed form ``"<0.42.0>"``.  Nothing here changes the system.

* ``system(sampler)`` - counters: process count, run queue, steps and
  messages (totals and per second), memory (RSS), uptime.
* ``processes(sort=, filter=, limit=)`` - the process table.
* ``process(pid)`` - everything ``Process.info`` knows about one process.
* ``names()`` - locally registered names and the running registries.
* ``await tree()`` - the supervision trees (it asks each supervisor for its
  children, so it must run inside a process: from plain asyncio code use
  ``actors.lowlevel.call_in_process(tree)``).

Cost: every call does work bounded by the number of processes, never by
the size of a mailbox: the process table is one pass of
``lowlevel.process_table`` and ``process(pid)`` one ``process_info``, both
with ``mailbox_limit=MAILBOX_PREVIEW``, so they look at the first
``MAILBOX_PREVIEW`` messages of a mailbox (memory counts the rest at their
average size) however long it is, and reprs are cut short as they are made
(``reprlib``), so a huge message costs no more than a small one.
"""
from __future__ import annotations

import itertools
import os
import re
import reprlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

import actors
from actors import Process
from actors._supervision import SupervisorServer
from actors.gen_server import GEN_SERVER_KEY
from actors.lowlevel import Pid, current_scheduler, process_info, process_table

__all__ = [
    "COLUMNS",
    "MAILBOX_PREVIEW",
    "SORT_KEYS",
    "Sampler",
    "find_pid",
    "jsonable",
    "names",
    "pid_number",
    "process",
    "processes",
    "system",
    "tree",
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


def pid_number(pid: Any) -> int:
    """The ``N`` of a pid printed ``<0.N.0>`` (what the API puts in URLs)."""
    m = _PID_RE.fullmatch(str(pid))
    if m is None:
        raise ValueError(f"pid_number(pid): not a pid: {pid!r}")
    return int(m.group(1))


def find_pid(number: int) -> Any:
    """The live process whose pid prints as ``<0.number.0>``, or None."""
    wanted = f"<0.{number}.0>"
    for pid in Process.list():
        if str(pid) == wanted:
            return pid
    return None


def _short(value: Any) -> str:
    if isinstance(value, str):
        text = value[:_REPR_LIMIT + 1]
    else:
        try:
            text = _repr(value)
        except Exception as exc:        # noqa: BLE001 - a broken __repr__ is shown, not raised
            text = f"<{type(value).__name__}: repr failed: {exc!r}>"
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


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
    if value is None or isinstance(value, (bool, int, float)):
        return value
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


class Sampler:
    """Samples the scheduler's counters to turn totals into rates.

    The scheduler counts process ``steps`` and ``messages`` since it started;
    a rate is the difference between two samples over the (monotonic, wall
    clock) time between them.  The last ``maxlen`` rates are kept as
    ``history`` for the charts.

    Args:
        maxlen: how many samples to remember (300 at one a second: 5 minutes).
    """

    def __init__(self, maxlen: int = 300) -> None:
        if not isinstance(maxlen, int) or isinstance(maxlen, bool) or maxlen < 1:
            raise ValueError(f"Sampler(maxlen=...): must be a positive int, got {maxlen!r}")
        self.started: float = time.monotonic()
        self.history: deque[tuple[float, float, float]] = deque(maxlen=maxlen)
        # (monotonic time, steps, messages, busy seconds) at the last sample
        self._last: tuple[float, int, int, float] | None = None
        self.steps_per_second: float = 0.0
        self.messages_per_second: float = 0.0
        self.busy_percent: float = 0.0

    def sample(self) -> None:
        """Read the counters now and update the rates and the history."""
        sched = _scheduler()
        now, steps, messages = time.monotonic(), sched.steps, sched.messages
        busy = sched.busy_seconds
        if self._last is not None:
            t0, s0, m0, b0 = self._last
            dt = now - t0
            if dt > 0:
                self.steps_per_second = max(0, steps - s0) / dt
                self.messages_per_second = max(0, messages - m0) / dt
                self.busy_percent = min(100.0, max(0.0, 100.0 * (busy - b0) / dt))
                self.history.append((round(now - self.started, 3),
                                     round(self.messages_per_second, 1),
                                     round(self.steps_per_second, 1)))
        self._last = (now, steps, messages, busy)


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


def system(sampler: Sampler | None = None) -> dict[str, Any]:
    """The system summary.

    Keys: ``process_count``, ``run_queue_length``, ``steps`` and
    ``messages`` (totals since the runtime started), ``steps_per_second``
    and ``messages_per_second`` (from ``sampler``; 0 without one),
    ``scheduler_busy_percent`` (the share of wall time the scheduler spent
    running processes over the last sample), ``long_steps`` and
    ``longest_step_ms`` (process steps that held the loop longer than the
    runtime's ``long_step``), ``registered`` (how many local names), ``memory_rss`` (bytes),
    ``uptime`` (seconds), ``history`` (``[seconds, messages/s, steps/s]``
    samples, oldest first).
    """
    sched = _scheduler()
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
        "registered": len(actors.registered()),
        "memory_rss": memory_rss(),
        "uptime": uptime(),
        "history": [list(h) for h in sampler.history] if sampler else [],
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


def processes(sort: str = "pid", filter: str | None = None, limit: int | None = None,
              reverse: bool | None = None) -> dict[str, Any]:
    """The process table.

    Args:
        sort: a column of ``COLUMNS``; ``"pid"`` is spawn order.
        filter: keep the processes whose pid, registered name or initial
            call contains this text (case-insensitive).
        limit: keep the first ``limit`` rows after sorting (None: all).
        reverse: flip the order (default: numbers largest first, text A-Z).

    Returns:
        ``{"total": live processes, "matched": rows that passed the filter,
        "rows": [{column: value}...]}``.

    Raises:
        ValueError: unknown ``sort``, bad ``limit``.  TypeError: bad ``filter``.
    """
    _check_table_args(sort, filter, limit, reverse)
    table = process_table(mailbox_limit=MAILBOX_PREVIEW)   # one pass, in the core
    total = len(table)
    if filter:
        needle = filter.lower()
        table = [r for r in table if needle in f"{r[0]} {r[1] or ''} {r[2]}".lower()]
    matched = len(table)
    descending = sort in _NUMERIC
    if reverse:
        descending = not descending
    if sort == "pid":
        if descending:
            table.reverse()
    else:
        column = _COLUMN_INDEX[sort]
        key: Callable[[Any], Any]
        if sort == "registered_name":
            key = lambda r: (r[1] is None, r[1] or "")
        else:
            key = lambda r: r[column] if r[column] is not None else ""
        table.sort(key=key, reverse=descending)
    if limit is not None:
        table = table[:limit]
    rows = [{"pid": str(r[0]), "registered_name": r[1], "initial_call": r[2],
             "message_queue_len": r[3], "reductions": r[4], "memory": r[5], "status": r[6]}
            for r in table]
    return {"total": total, "matched": matched, "rows": rows}


def process(pid: Any) -> dict[str, Any] | None:
    """Everything about one process, JSON-ready; None if it is dead.

    Adds ``pid`` to the keys of ``Process.info``; ``monitors`` become
    ``{"ref", "pid"}`` objects; ``current_function`` a
    ``{"function", "file", "line"}`` object; ``messages`` holds shortened
    reprs of the first ``MAILBOX_PREVIEW`` messages and ``messages_more``
    how many more are queued; dictionary values are shortened reprs (the
    first 100).
    """
    info = process_info(pid, mailbox_limit=MAILBOX_PREVIEW)
    if info is None:
        return None
    out: dict[str, Any] = {"pid": str(pid)}
    for key, value in info.items():
        if key == "monitors":
            out[key] = [{"ref": repr(ref), "pid": jsonable(target)} for ref, target in value]
        elif key == "current_function":
            out[key] = (None if value is None else
                        {"function": value[0], "file": value[1], "line": value[2]})
        elif key == "messages":
            out[key] = [_short(m) for m in value]
            out["messages_more"] = max(0, info["message_queue_len"] - len(value))
        elif key == "dictionary":
            out[key] = {label(k): _short(v)
                        for k, v in itertools.islice(value.items(), _MESSAGES_LIMIT)}
        else:
            out[key] = jsonable(value)
    return out


# -- names -------------------------------------------------------------------------


def names() -> dict[str, Any]:
    """Names: ``{"local": [{"name", "pid"}...], "registries": [{"pid",
    "name", "count"}...]}`` (the running ``Registry`` servers and how many
    entries each holds)."""
    local = sorted(({"name": n, "pid": str(p)} for p, n in _names_by_pid().items()),
                   key=lambda e: e["name"])
    registries: list[dict[str, Any]] = []
    info = Process.info
    for pid in Process.list():
        if info(pid, "initial_call") != "actors.registry._RegistryServer.init":
            continue
        name = info(pid, "registered_name")
        try:
            count = actors.Registry.count(name or pid)
        except Exception:       # noqa: BLE001 - starting up or shutting down
            count = None
        registries.append({"pid": str(pid), "name": name, "count": count})
    return {"local": local, "registries": registries}


# -- supervision trees -------------------------------------------------------------


def supervisors() -> dict[Pid, str]:
    """``{pid: "supervisor" | "dynamic_supervisor"}`` for every live supervisor.

    A supervisor is a GenServer whose class (in its process dictionary, as
    ``actors.reload`` finds servers) is a supervisor server; its initial
    call names the user's supervisor module, whatever it is."""
    found: dict[Pid, str] = {}
    for pid in Process.list():
        pdict = process_info(pid, "dictionary")
        cls = pdict.get(GEN_SERVER_KEY) if pdict else None
        if isinstance(cls, type) and issubclass(cls, SupervisorServer):
            found[pid] = "dynamic_supervisor" if cls.kind == "DynamicSupervisor" else "supervisor"
    return found


async def tree(timeout: float = 1.0) -> list[dict[str, Any]]:
    """The supervision trees, one per root supervisor (one that no other
    supervisor supervises), in spawn order.

    A node is ``{"pid", "name", "kind", "children": [...], "error"}``; a
    child is ``{"id", "pid", "type", "name", "modules"}`` where ``pid`` is
    the pid, ``"restarting"`` or None (not running), and a child that is a
    supervisor also has ``kind``/``children``/``error`` (its own subtree).
    ``error`` is set when a supervisor did not answer within ``timeout``
    seconds (busy restarting, or exiting).

    Runs inside a process (it calls ``which_children``).
    """
    kinds = supervisors()
    named = _names_by_pid()
    found: dict[Pid, tuple[list[Any], str | None]] = {}
    for pid, kind in kinds.items():
        call = (actors.Supervisor.which_children if kind == "supervisor"
                else actors.DynamicSupervisor.which_children)
        try:
            found[pid] = (await call(pid, timeout=timeout), None)
        except Exception as exc:        # noqa: BLE001 - shown on the page
            found[pid] = ([], f"{type(exc).__name__}: {exc}")
    supervised = {c.pid for children, _ in found.values() for c in children}

    def node(pid: Pid, seen: frozenset[Pid]) -> dict[str, Any]:
        children, error = found.get(pid, ([], None))
        out: dict[str, Any] = {"pid": str(pid), "name": named.get(pid), "kind": kinds.get(pid),
               "error": error, "children": []}
        seen = seen | {pid}
        for child in children:
            modules = child.modules
            entry = {"id": label(child.id), "pid": jsonable(child.pid), "type": child.type,
                     "name": named.get(child.pid) if not isinstance(child.pid, str) else None,
                     "modules": [label(m) for m in cast("Sequence[Any]", modules)]
                     if isinstance(modules, (list, tuple)) else label(modules)}
            if child.pid in found and child.pid not in seen:
                sub = node(child.pid, seen)
                entry.update(kind=sub["kind"], error=sub["error"], children=sub["children"])
            out["children"].append(entry)
        return out

    return [node(pid, frozenset()) for pid in kinds if pid not in supervised]
