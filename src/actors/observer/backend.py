"""What this node shows another node's observer (Erlang's ``observer_backend``).

Every actors node answers the name ``actors_observer`` (a service of the
distribution bridge, registered by ``actors/__init__.py``; no process holds
the name).  Another actors node's observer sends ``(ref, its_pid,
request)`` there and gets ``(ref, ("ok", answer))`` or ``(ref, ("error",
why))``, so the observer's page can browse this node's processes too:

* ``("system",)``: ``snapshot.system``, this node's summary;
* ``("processes", {"sort", "filter", "limit", "reverse"})``: the process
  table, as ``snapshot.processes``;
* ``("process", N)``: ``<0.N.0>`` as ``snapshot.process``, with its
  ``state`` (``snapshot.server_state``, so ``format_status`` hides what it
  must) or ``state_error``; None if it is not alive.

Read only: nothing here changes a process.  (A connected node shares the
cookie, so it may already send, link and exit anything: Erlang's trust
model.)  The answers are what this node's own observer API answers, with
the same bounds: a large system is read a slice at a time from a census
at most ``CENSUS_MAX_AGE`` seconds old.
"""
from __future__ import annotations

import time
from typing import Any

import actors
from actors.lowlevel import current_scheduler

from . import server, snapshot

__all__ = ["SERVICE", "NoAnswer", "answer", "ask"]

#: The name another node's observer sends its requests to.
SERVICE = "actors_observer"
#: A large system's table is read from a census at most this old (seconds).
CENSUS_MAX_AGE = 5.0
#: The longest table an answer carries.
MAX_ROWS = 1000

#: How long ``ask`` waits for the other node (seconds).
ASK_TIMEOUT = 5.0

_own_sampler: snapshot.Sampler | None = None     # when this node runs no observer


def _sampler() -> snapshot.Sampler:
    """This node's observer's sampler; else one of our own, sampled now (its
    rates are then over the time since the previous request)."""
    running = server.running()
    if running:
        return running[0].sampler
    global _own_sampler
    if _own_sampler is None:
        _own_sampler = snapshot.Sampler(maxlen=60)
    _own_sampler.sample()
    return _own_sampler


def _large() -> bool:
    sched = current_scheduler()
    return sched is not None and sched.process_count > snapshot.LIVE_LIMIT


async def _census(sampler: snapshot.Sampler) -> snapshot.Census:
    at = sampler.table.at
    if at is None or time.time() - at > CENSUS_MAX_AGE:
        await sampler.census()
    return sampler.table


async def answer(request: Any) -> Any:
    """Answer one request of another node's observer (see the module).

    Raises:
        ValueError: an unknown request or a bad argument in it.
        TypeError: the table's options are not a dict.
    """
    match request:
        case ("system",) | ["system"]:
            return snapshot.system(_sampler())
        case ("processes", options) | ["processes", options]:
            return await _processes(options)
        case ("process", int() as number) | ["process", int() as number]:
            return await _process(number)
        case _:
            raise ValueError("unknown request: ask ('system',), ('processes', {options}) "
                             "or ('process', N)")


async def _processes(asked: Any) -> dict[str, Any]:
    if not isinstance(asked, dict):
        raise TypeError("the options must be a dict")
    options: dict[Any, Any] = asked  # pyright: ignore[reportUnknownVariableType]
    sort = options.get("sort", "pid")
    if sort not in snapshot.SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(snapshot.SORT_KEYS)}")
    filter = options.get("filter") or None
    if filter is not None and not isinstance(filter, str):
        raise ValueError("filter must be a str")
    limit = options.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError("limit must be an int >= 0")
    limit = min(limit, MAX_ROWS)
    reverse = bool(options.get("reverse", False))
    if _large():
        census = await _census(_sampler())
        table = await snapshot.processes_in(census, sort=sort, filter=filter, limit=limit,
                                            reverse=reverse)
        table["as_of"] = census.at
    else:
        table = snapshot.processes(sort=sort, filter=filter, limit=limit, reverse=reverse)
    table.pop("pids", None)
    return table


async def _process(number: int) -> dict[str, Any] | None:
    if _large():
        pid = await snapshot.find_pid_in(number, await _census(_sampler()))
    else:
        pid = snapshot.find_pid(number)
    data = snapshot.process(pid) if pid is not None else None
    if data is None:
        return None
    if data["server"] is not None:
        try:
            data["state"] = await snapshot.server_state(pid)
        except Exception as exc:        # noqa: BLE001 - shown instead of the state
            data["state_error"] = str(exc) or type(exc).__name__
    return data


# -- asking another node -----------------------------------------------------------


class NoAnswer(LookupError):
    """The other node did not answer (it is not an actors node, or is too busy)."""


async def ask(node: str, request: tuple[Any, ...], timeout: float = ASK_TIMEOUT) -> Any:
    """From a process: ``request`` to ``node``'s ``actors_observer``; its answer.

    Raises:
        NoAnswer: the node has no ``actors_observer`` (an Erlang node),
            the connection was lost, or no answer came within ``timeout``
            seconds.
        RuntimeError: the other node answered ``("error", why)``.
    """
    mref = actors.monitor((SERVICE, node))     # fires at once on a node without the service
    ref = actors.make_ref()
    actors.send((SERVICE, node), (ref, actors.self(), request))
    try:
        got = await actors.receive((ref, actors.ANY), actors.Down(mref, actors.ANY, actors.ANY),
                                   timeout=timeout)
    except actors.Timeout:
        raise NoAnswer(f"{node} did not answer within {timeout:g} s: it is busy") from None
    finally:
        actors.demonitor(mref, flush=True)
    if isinstance(got, actors.Down):
        why = ("the connection was lost" if got.reason == "noconnection"
               else "it is not an actors node (an Erlang node has no actors_observer)")
        raise NoAnswer(f"{node} cannot be browsed: {why}")
    _, reply = got
    match reply:
        case ("ok", value):
            return value
        case ("error", why):
            raise RuntimeError(f"{node} answered: {why}")
        case _:
            raise RuntimeError(f"{node} answered something that is not (ok, _) or (error, _)")
