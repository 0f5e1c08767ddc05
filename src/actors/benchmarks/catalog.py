"""The workload catalog: what is measured, on which systems, against which target.

A *workload* is declared once (name, unit, parameters for the full and the
quick run, target) with :func:`workload`. Each *system* implements it with
one function registered with :func:`impl`::

    GENSERVER_CAST = workload(
        "genserver-cast", RATE, "cast/s",
        "{casts:,} casts to a counter server, then one call that returns the count",
        full={"casts": 1_000_000}, quick={"casts": 50_000},
        target=Speedup("asyncio", 10))

    @impl("genserver-cast", "actors")
    def genserver_cast(p, env):
        ...                       # run it, check what was received
        return rate(count, p["casts"], elapsed)

The Erlang column needs no Python: the workload names an exported function
of ``bench.erl`` (in the repository's ``bench/compare``; by default the workload's name with ``-`` turned into
``_``; ``"dist_bench:fn"`` for one of ``dist_bench.erl``, run on two nodes)
that takes the parameters in the order they are declared; a workload
whose function is not exported simply has no Erlang cell.

Systems are ``SYSTEMS``: actors, the asyncio baseline, Erlang and pykka.
actors' and the baseline's versions ship in this package; Erlang's and
pykka's are in the checkout's ``bench/compare`` (see ``checkout``). pykka
is optional (installed or not) and few rows have a pykka version: its
columns appear only when a selected row has one.

An implementation receives the parameters (a dict) and an :class:`Env`, and
returns a :class:`Sample`. It must count what its processes received and
raise :class:`MissingWork` if anything is missing or unexpected: a benchmark
that quietly does less work is a bug, never a speed-up.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

# Kinds of workload: what the one number of a sample means.
RATE = "rate"          # units per second, higher is better
MEMORY = "memory"      # bytes per process, lower is better
LATENCY = "latency"    # milliseconds (p50/p99/max of timer lateness), lower is better

SYSTEMS = ("actors", "asyncio", "erlang", "pykka")
#: Peers that only ``--compare`` runs (``bench/compare/runner.py``): implementations
#: may be registered for them with :func:`impl`, the plain table ignores them.
COMPARE_SYSTEMS = ("gevent", "thespian")
#: Systems that not every workload has: their columns appear only when a
#: selected workload implements them (pykka: an optional install).
OPTIONAL_SYSTEMS = ("pykka",)


class MissingWork(AssertionError):
    """A benchmark's processes did not receive exactly the work it defines."""


@dataclasses.dataclass
class Env:
    """What an implementation may need to know about the run."""

    loop: str = "asyncio"        # "asyncio" or "uvloop" (the Python systems' event loop)
    quick: bool = False
    #: The checkout's Erlang driver (``bench/compare/erlang.py``) when Erlang
    #: runs, else None: the rows whose actors side talks to Erlang nodes use
    #: its ``cluster()``. Not passed to an isolated measurement.
    erlang: Any = None


@dataclasses.dataclass
class Sample:
    """One measurement: ``value`` is the headline number (see the kinds above);
    ``extra`` holds the rest (counts, elapsed seconds, percentiles...)."""

    value: float
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict[str, Any])


def rate(count: int, expected: int, elapsed: float, what: str = "messages") -> Sample:
    """A rate sample, after checking that exactly ``expected`` units were done."""
    if count != expected:
        raise MissingWork(f"received {count:,} {what}, expected {expected:,}")
    if elapsed <= 0:
        raise MissingWork(f"elapsed time {elapsed!r} is not positive")
    return Sample(count / elapsed, {"count": count, "elapsed_s": elapsed})


def expect(condition: bool, message: str) -> None:
    """Raise :class:`MissingWork` with ``message`` unless ``condition``."""
    if not condition:
        raise MissingWork(message)


def lateness_sample(late_s: List[float], extra: Optional[Dict[str, Any]] = None) -> Sample:
    """A latency sample from a list of lateness values in seconds."""
    late = sorted(late_s)
    n = len(late)

    def pct(p: float) -> float:
        return late[min(n - 1, max(0, round(p * (n - 1))))] * 1e3

    out = {
        "count": n,
        "early": sum(1 for x in late if x < 0),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": late[-1] * 1e3,
    }
    out.update(extra or {})
    return Sample(out["p99_ms"], out)


# ----------------------------------------------------------------------------
# targets

class Target:
    """How a row is judged. ``judge`` returns (passed or None, short text)."""

    text: str = ""

    def judge(self, row: "Row", rows: Dict[str, "Row"]) -> Tuple[Optional[bool], str]:
        return None, self.text


class Speedup(Target):
    """actors' rate at least ``at_least`` times ``system``'s.

    ``text`` replaces the default wording (e.g. for a baseline that is not
    what the column is called)."""

    def __init__(self, system: str, at_least: float, text: Optional[str] = None):
        self.system: str = system
        self.at_least: float = at_least
        self.text: str = text or f">= {at_least:g}x {system}"

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        r = row.ratio(self.system)
        if r is None:
            return None, self.text
        return r >= self.at_least, self.text


class AtLeast(Target):
    """actors' rate at least ``limit`` (an absolute floor, for rows with no baseline)."""

    def __init__(self, limit: float, unit: str = ""):
        self.limit = limit
        self.text: str = f">= {limit:,g}{unit}"

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        v = row.median("actors")
        if v is None:
            return None, self.text
        return v >= self.limit, self.text


class RelativeTo(Target):
    """actors' rate at least ``at_least`` times actors' rate on another row."""

    def __init__(self, other: str, at_least: float):
        self.other: str = other
        self.at_least: float = at_least
        self.text: str = f">= {at_least:g}x {other}"

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        other = rows.get(self.other)
        mine = row.median("actors")
        theirs = other.median("actors") if other else None
        if not mine or not theirs:
            return None, self.text
        r = mine / theirs
        return r >= self.at_least, f"{r:.2f}x {self.other} (>= {self.at_least:g}x)"


class AtMost(Target):
    """actors' value (e.g. bytes per process) at most ``limit``."""

    def __init__(self, limit: float, unit: str = ""):
        self.limit = limit
        self.text: str = f"<= {limit:g}{unit}"

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        v = row.median("actors")
        if v is None:
            return None, self.text
        return v <= self.limit, self.text


class Lateness(Target):
    """Timers never early, p99 lateness under ``p99_ms``."""

    def __init__(self, p99_ms: float):
        self.p99_ms = p99_ms
        self.text: str = f"p99 < {p99_ms:g}ms, 0 early"

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        res = row.results.get("actors")
        if not res or not res.samples:
            return None, self.text
        early = max(s.extra.get("early", 0) for s in res.samples)
        p99 = row.median("actors")
        if p99 is None:
            return None, self.text
        return (early == 0 and p99 < self.p99_ms), self.text


class AllOf(Target):
    def __init__(self, *targets: Target):
        self.targets = targets
        self.text: str = "; ".join(t.text for t in targets)

    def judge(self, row: Row, rows: Dict[str, Row]) -> Tuple[Optional[bool], str]:
        verdicts = [t.judge(row, rows) for t in self.targets]
        oks = [v for v, _ in verdicts]
        text = "; ".join(t for _, t in verdicts)
        if any(v is False for v in oks):
            return False, text
        if all(v is True for v in oks):
            return True, text
        return None, text


# ----------------------------------------------------------------------------
# workloads

@dataclasses.dataclass
class Workload:
    name: str
    kind: str
    unit: str
    description: str                      # formatted with the parameters
    full: Dict[str, int]
    quick: Dict[str, int]
    target: Target
    erlang: Optional[str]                 # exported function of bench.erl, or None
    isolated: bool = False                # each measurement in a fresh process
    baseline: str = "asyncio"             # what the "asyncio" column holds in this row
    needs_erlang: bool = False            # actors' version talks to Erlang nodes (Env.erlang)
    impls: Dict[str, Callable[[Dict[str, int], Env], Sample]] = dataclasses.field(
        default_factory=dict[str, Callable[[Dict[str, int], Env], Sample]])

    def params(self, quick: bool) -> Dict[str, int]:
        return dict(self.quick if quick else self.full)

    def describe(self, quick: bool) -> str:
        return self.description.format(**self.params(quick))


WORKLOADS: Dict[str, Workload] = {}


def workload(name: str, kind: str, unit: str, description: str, *, full: Dict[str, int],
             quick: Dict[str, int], target: Optional[Target] = None, erlang: Optional[str] = "",
             isolated: bool = False, baseline: str = "asyncio",
             needs_erlang: bool = False) -> Workload:
    """Declare a workload (a row of the table). ``erlang=""`` means the default
    function name (``name`` with ``-`` as ``_``), ``"module:function"`` one
    of another module of ``bench/compare``; ``None`` means no Erlang version.
    ``baseline`` names what the row's "asyncio" implementation really is when
    it is not an asyncio program (e.g. ``"dict"``): the table marks its cells.
    ``needs_erlang``: actors' version talks to Erlang nodes (``Env.erlang``),
    so it runs only when Erlang does."""
    if name in WORKLOADS:
        raise ValueError(f"workload {name!r} declared twice")
    if list(full) != list(quick):
        raise ValueError(f"workload {name!r}: full and quick parameters differ in names or order")
    if erlang == "":
        erlang = name.replace("-", "_")
    w = Workload(name, kind, unit, description, dict(full), dict(quick), target or Target(), erlang,
                 isolated, baseline, needs_erlang)
    WORKLOADS[name] = w
    return w


_F = TypeVar("_F", bound=Callable[..., "Sample"])


def impl(name: str, system: str) -> Callable[[_F], _F]:
    """Register ``fn(params, env) -> Sample`` as ``system``'s version of workload ``name``."""
    if system not in SYSTEMS + COMPARE_SYSTEMS or system == "erlang":
        raise ValueError(f"impl: system must be one of 'actors', 'asyncio', 'pykka', 'gevent', "
                         f"'thespian', not {system!r}")

    def deco(fn: _F) -> _F:
        w = WORKLOADS.get(name)
        if w is None:
            raise KeyError(f"impl: no workload {name!r} (declare it in workloads.py first)")
        if system in w.impls:
            raise ValueError(f"workload {name!r} already has a {system} implementation")
        w.impls[system] = fn
        return fn

    return deco


# ----------------------------------------------------------------------------
# results

@dataclasses.dataclass
class SystemResult:
    samples: List[Sample] = dataclasses.field(default_factory=list[Sample])
    errors: List[str] = dataclasses.field(default_factory=list[str])

    def median(self) -> Optional[float]:
        if not self.samples or self.errors:
            return None
        return statistics.median(s.value for s in self.samples)

    def median_extra(self, key: str) -> Optional[float]:
        vals = [s.extra[key] for s in self.samples if key in s.extra]
        return statistics.median(vals) if vals else None


@dataclasses.dataclass
class Row:
    workload: Workload
    params: Dict[str, int]
    results: Dict[str, SystemResult] = dataclasses.field(default_factory=dict[str, SystemResult])

    def median(self, system: str) -> Optional[float]:
        res = self.results.get(system)
        return res.median() if res else None

    def ratio(self, system: str) -> Optional[float]:
        """actors' advantage over ``system``: rate/rate, or for memory and
        latency (lower is better) their value / actors' value."""
        a, b = self.median("actors"), self.median(system)
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        return a / b if self.workload.kind == RATE else b / a
