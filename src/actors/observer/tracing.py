"""Tracing a server from the observer: ``sys.trace`` records, captured live.

``sys.trace(pid, True)`` makes a GenServer log every message it handles and
every reply it sends (INFO records on the logger ``"actors.sys"`` with
``record.event == "trace"`` and ``record.trace``, the event).  A
``Tracer`` turns tracing on for the processes a person picks on the page and
keeps their last events in a bounded buffer that the page polls.

Bounds, so that a forgotten trace cannot hurt the system:

* each session keeps the last ``MAX_EVENTS`` events (older ones are dropped,
  and counted);
* a session stops itself when its server handles more than ``MAX_RATE``
  messages in one second (tracing a hot server costs it a log record per
  message), when nobody has read it for ``IDLE_SECONDS`` (the page was
  closed), and when its process exits;
* ``Tracer.close`` (the observer stopping) stops every session.

Capture without noise: the records must be created to be captured, so
while a session runs the logger ``"actors.sys"`` is set to INFO if it was
quieter; a filter on that logger takes the traced records and lets through
only those that the logger's own level would have let through before, so
starting a trace from the page does not print trace lines on a console that
did not ask for them.  A server already traced with ``sys.trace`` stays
traced after the page stops watching it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from actors import sys as actors_sys
from actors.lowlevel import Pid, is_alive

from . import snapshot

__all__ = ["IDLE_SECONDS", "MAX_EVENTS", "MAX_RATE", "Session", "Tracer"]

#: Events kept per session (the newest).
MAX_EVENTS = 500
#: A session stops itself above this many events in one second.
MAX_RATE = 500
#: A session nobody has read for this many seconds stops itself.
IDLE_SECONDS = 60.0

_logger = logging.getLogger("actors.sys")
_level_lock = threading.Lock()
_level_users = 0                        # sessions (all tracers) that need INFO records
_saved_level: int | None = None         # the level we replaced, while we replaced one


def _need_info_records(on: bool) -> None:
    """Count a session that needs the trace records created (or one that stopped)."""
    global _level_users, _saved_level
    with _level_lock:
        if on:
            _level_users += 1
            if _level_users == 1 and not _logger.isEnabledFor(logging.INFO):
                _saved_level = _logger.level
                _logger.setLevel(logging.INFO)
        else:
            _level_users -= 1
            if _level_users == 0 and _saved_level is not None:
                if _logger.level == logging.INFO:       # nobody changed it meanwhile
                    _logger.setLevel(_saved_level)
                _saved_level = None


def _would_pass(record: logging.LogRecord) -> bool:
    """Whether ``record`` would have been logged without our level change."""
    saved = _saved_level
    if saved is None:
        return True
    level = saved if saved != logging.NOTSET else (
        _logger.parent.getEffectiveLevel() if _logger.parent else logging.WARNING)
    return record.levelno >= level


def event_of(trace: Any, created: float) -> dict[str, Any]:
    """One ``sys.trace`` event as the page shows it: ``{"time", "dir"
    ("in"/"out"), "kind" ("call"/"cast"/"info"/"reply"), "message",
    "peer"}`` (``peer``: who sent a call, or whom a reply went to)."""
    out: dict[str, Any] = {"time": created, "dir": None, "kind": None, "message": None, "peer": None}
    event: tuple[Any, ...] = trace if type(trace) is tuple else ()  # pyright: ignore[reportUnknownVariableType]
    if len(event) >= 3 and event[0] == "in":
        out.update(dir="in", kind=str(event[1]), message=snapshot.short(event[2]))
        if event[1] == "call" and len(event) >= 4:
            out["peer"] = _caller(event[3])
    elif len(event) >= 3 and event[0] == "out":
        out.update(dir="out", kind="reply", message=snapshot.short(event[1]), peer=str(event[2]))
    else:
        out["message"] = snapshot.short(trace)
    return out


def _caller(from_: Any) -> str:
    """The pid of a call's ``from_`` (``(pid, ref)``), as text."""
    if type(from_) is tuple:
        parts: tuple[Any, ...] = from_  # pyright: ignore[reportUnknownVariableType]
        return str(parts[0]) if parts else ""
    return str(from_)


class Session:
    """One traced process: its newest events, numbered from 1."""

    def __init__(self, pid: Pid, ours: bool) -> None:
        self.pid = pid
        self.key = str(pid)
        self.ours = ours        # we turned sys.trace on (it was off): turn it off at the end
        self.started = time.time()
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.seq = 0
        self.read_at = time.monotonic()
        self.stopped: str | None = None     # why it stopped, once it has
        self._second = 0.0
        self._in_second = 0

    def add(self, trace: Any, created: float) -> None:
        """Record one event (called from the logging filter)."""
        if self.stopped is not None:
            return
        now = time.monotonic()
        if now - self._second >= 1.0:
            self._second, self._in_second = now, 0
        self._in_second += 1
        if self._in_second > MAX_RATE:
            self.stopped = f"more than {MAX_RATE} messages in one second: stopped to spare the server"
            return
        self.seq += 1
        event = event_of(trace, created)
        event["seq"] = self.seq
        self.events.append(event)

    def since(self, seq: int) -> list[dict[str, Any]]:
        """The kept events numbered above ``seq``, oldest first."""
        self.read_at = time.monotonic()
        return [e for e in self.events if e["seq"] > seq]

    def summary(self) -> dict[str, Any]:
        first = self.events[0]["seq"] if self.events else self.seq + 1
        return {"pid": self.key, "started": self.started, "events": self.seq,
                "dropped": first - 1, "active": self.stopped is None, "stopped": self.stopped}


class _Capture(logging.Filter):
    """The filter on ``"actors.sys"`` that hands the traced records to sessions."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "event", None) != "trace" or record.thread != self.tracer.thread:
            return True
        session = self.tracer.sessions.get(str(getattr(record, "pid", None)))
        if session is None:
            return True
        session.add(getattr(record, "trace", None), record.created)
        return _would_pass(record)


class Tracer:
    """The trace sessions of one observer (they all run on its runtime's thread)."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.thread = threading.get_ident()
        self._capture = _Capture(self)

    def get(self, pid: Pid) -> Session | None:
        """The session of ``pid``, or None."""
        return self.sessions.get(str(pid))

    async def start(self, pid: Pid, timeout: float = 2.0) -> Session:
        """Trace ``pid`` (idempotent): it must be a live GenServer.

        Raises:
            LookupError: ``pid`` is dead or not a GenServer.
            actors.Timeout, actors.NoProcess, actors.CallExit: ``sys`` could not reach it.
        """
        session = self.get(pid)
        if session is not None and session.stopped is None:
            return session
        if session is not None:
            await self.stop(pid)
        status = await snapshot.server_status(pid, timeout)
        session = Session(pid, ours=not status.get("trace"))
        if not self.sessions:
            _logger.addFilter(self._capture)
        self.sessions[session.key] = session
        _need_info_records(True)
        try:
            if session.ours:
                await actors_sys.trace(pid, True, timeout=timeout)
        except BaseException:
            self._forget(session)
            raise
        return session

    async def stop(self, pid: Pid, timeout: float = 2.0) -> Session | None:
        """Stop tracing ``pid`` (its session's events are dropped); None if it had none."""
        session = self.get(pid)
        if session is None:
            return None
        self._forget(session)
        if session.stopped is None:
            session.stopped = "stopped"
        await self._untrace(session, timeout)
        return session

    @staticmethod
    async def _untrace(session: Session, timeout: float) -> None:
        """Turn off the ``sys.trace`` we turned on (if the process still runs)."""
        if session.ours and is_alive(session.pid):
            session.ours = False
            try:
                await actors_sys.trace(session.pid, False, timeout=timeout)
            except Exception:           # noqa: BLE001, S110 - it exited meanwhile, or is stuck
                pass

    def _forget(self, session: Session) -> None:
        if self.sessions.get(session.key) is session:
            del self.sessions[session.key]
            _need_info_records(False)
            if not self.sessions:
                _logger.removeFilter(self._capture)

    async def expire(self) -> None:
        """Stop the sessions whose process exited, that hit the rate limit, or
        that nobody read for ``IDLE_SECONDS`` (called by the observer's sampler)."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if not is_alive(session.pid):
                session.stopped = session.stopped or "the process exited"
            if now - session.read_at > IDLE_SECONDS:
                await self.stop(session.pid)
            elif session.stopped is not None:
                await self._untrace(session, 2.0)   # keep its events for the page, end the cost

    async def close(self) -> None:
        """Stop every session (the observer is stopping)."""
        for session in list(self.sessions.values()):
            await self.stop(session.pid)
