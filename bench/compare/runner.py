"""``python -m actors bench --compare``: actors against every installed peer.

The same workloads as the headline table (their declarations in
``actors/benchmarks/workloads.py``), written idiomatically for each peer:

* ``asyncio``         -- the baseline of ``actors.benchmarks.impl_asyncio`` (Task + Queue);
* ``asyncio+uvloop``  -- the very same code on uvloop's event loop;
* ``gevent``          -- greenlets and ``gevent.queue.Queue`` (``impl_gevent``);
* ``pykka``           -- ``ThreadingActor`` (``impl_pykka``; counts capped
  where threads cannot reach them, said in the row's note);
* ``thespian``        -- actors on the ``simpleSystemBase`` (``impl_thespian``);
* ``erlang``          -- ``bench.erl`` in ``erl +S 1`` (one scheduler; ``erlang.py``);
* ``erlang-smp``      -- the same in ``erl`` with its default schedulers
  (one per core).

A peer that is not installed is skipped with a line saying so (``peers``).
actors and both asyncio systems run in this process (as in the headline
table); gevent, pykka and thespian run each measurement in a fresh
interpreter (``isolated``), so that no hub, thread or actor system outlives
its measurement or meets the asyncio loop. Rounds are interleaved (every
system once per round, the order rotated), the table shows medians and
actors' advantage over each system. ``--plot out.png`` draws the results
(``plot``).

This module builds on ``actors.benchmarks.runner`` (measuring, metadata,
cells, footer); nothing in the package imports it but ``python -m actors
bench --compare``, through ``actors.benchmarks.checkout``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

from actors.benchmarks import runner
from actors.benchmarks.catalog import (LATENCY, MEMORY, WORKLOADS, Env, MissingWork, Row, Sample,
                                       SystemResult, Workload)

from .erlang import Erlang
from .peers import (COMPARE_SYSTEMS, ERL_SYSTEM_FLAGS, PACKAGES, SUBPROCESS_SYSTEMS, implementation,
                    installed, load, not_applicable, peer_version)
from .plot import plot

#: The rows of the comparison, in order. The distribution rows run only on
#: actors and Erlang (two nodes each; see ``erlang_cluster``).
COMPARE_WORKLOADS = ("ping-pong", "ring", "spawn", "fan-in", "request-reply-queued",
                     "genserver-call", "timers", "timer-lateness", "memory",
                     "dist-stream", "dist-stream-to-beam", "dist-stream-from-beam",
                     "dist-ping-pong", "dist-genserver-call", "dist-fan-in")

WATCHDOG_S = 600

#: The ``bench/`` directory this package is in (put on a subprocess's PYTHONPATH).
BENCH_DIR = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------
# measuring

class Comparison:
    """Runs the comparison: ``run()`` returns the rows (name -> Row)."""

    def __init__(self, names: Iterable[str] = COMPARE_WORKLOADS,
                 systems: Iterable[str] = COMPARE_SYSTEMS, *, rounds: int = 3,
                 quick: bool = False, loop: str = "asyncio",
                 params: Optional[Dict[str, Dict[str, int]]] = None,
                 log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)):
        load()
        names = list(names)
        unknown = [n for n in names if n not in WORKLOADS]
        if unknown:
            raise ValueError(f"names: unknown workload(s) {', '.join(unknown)}")
        systems = list(systems)
        bad = [s for s in systems if s not in COMPARE_SYSTEMS]
        if bad:
            raise ValueError(f"systems: unknown system(s) {', '.join(bad)}; "
                             f"known: {', '.join(COMPARE_SYSTEMS)}")
        if rounds < 1:
            raise ValueError(f"rounds must be at least 1, not {rounds!r}")
        self.workloads = [WORKLOADS[n] for n in names]
        self.rounds, self.quick, self.loop, self.log = rounds, quick, loop, log
        self.params = params or {}
        self.skipped: Dict[str, str] = {}
        self.systems = []
        for s in systems:
            if installed(s):
                self.systems.append(s)
            else:
                what = "erl/erlc not on PATH" if s.startswith("erlang") else \
                    f"not installed (pip install {PACKAGES[s]})"
                self.skipped[s] = what
        self.vms: Dict[str, object] = {}
        self.notes: Dict[str, List[str]] = {}

    def versions(self) -> Dict[str, Optional[str]]:
        out = {s: peer_version(s) for s in self.systems if s in PACKAGES or s.startswith("erl")}
        if "erlang-smp" in self.systems:
            out["erlang-smp"] = f"{out['erlang-smp']}, {os.cpu_count()} schedulers (erl default)"
        return out

    def erlang(self, system: str):
        vm = self.vms.get(system)
        if vm is None:
            vm = self.vms[system] = Erlang(timeout=WATCHDOG_S, flags=ERL_SYSTEM_FLAGS[system])
        return vm

    def has(self, w: Workload, system: str) -> bool:
        if system.startswith("erlang"):
            return self.erlang(system).has(w)
        if system == "actors" and w.needs_erlang and "erlang" not in self.systems:
            return False
        return implementation(w, system) is not None

    def measure(self, w: Workload, system: str, params: Dict[str, int]) -> Sample:
        if system.startswith("erlang"):
            return self.erlang(system).measure(w, params)
        if system in SUBPROCESS_SYSTEMS:
            return measure_in_subprocess(w, system, params, Env("asyncio", self.quick))
        loop = "uvloop" if system == "asyncio+uvloop" else self.loop if system == "actors" \
            else "asyncio"
        erl = self.erlang("erlang") if w.needs_erlang and "erlang" in self.systems else None
        return runner.measure(w, system.split("+")[0], params,
                              Env(loop, self.quick, erlang=erl), None)

    def run_workload(self, w: Workload) -> Row:
        params = w.params(self.quick)
        params.update(self.params.get(w.name, {}))
        row = Row(w, params)
        notes = self.notes.setdefault(w.name, [])
        systems = []
        for s in self.systems:
            if self.has(w, s):
                systems.append(s)
            else:
                why = not_applicable(w, s)
                if why:
                    notes.append(why)
        for s in systems:
            row.results[s] = SystemResult()
        for r in range(self.rounds):
            k = r % len(systems) if systems else 0
            shown = {}
            for s in systems[k:] + systems[:k]:
                res = row.results[s]
                if res.errors:
                    continue
                try:
                    sample = self.measure(w, s, params)
                except Exception as e:     # noqa: BLE001 -- reported, the run goes on
                    res.errors.append(f"{type(e).__name__}: {e}")
                    self.log(f"\n!!! {w.name} / {s}: {type(e).__name__}: {e}")
                    if not isinstance(e, MissingWork):
                        self.log(traceback.format_exc())
                    shown[s] = "ERROR"
                    continue
                res.samples.append(sample)
                note = sample.extra.get("note")
                if note and note not in notes:
                    notes.append(note)
                shown[s] = runner.fmt_value(w, sample.value, sample.extra)
            progress = "  ".join(f"{s} {shown[s]}" for s in systems if s in shown)
            self.log(f"[{w.name}] round {r + 1}/{self.rounds}: {progress} {w.unit}")
        return row

    def run(self) -> Dict[str, Row]:
        for s, why in self.skipped.items():
            self.log(f"compare: skipping {s}: {why}")
        rows = {}
        try:
            for w in self.workloads:
                rows[w.name] = self.run_workload(w)
        finally:
            for vm in self.vms.values():
                vm.cleanup()
            self.vms.clear()
        return rows


def measure_in_subprocess(w: Workload, system: str, params: Dict[str, int], env: Env) -> Sample:
    """One measurement of a peer in a fresh interpreter (gevent, pykka, thespian)."""
    return runner.measure_in_subprocess(w, system, params, env, module=f"{__package__}.isolated",
                                        path=[str(BENCH_DIR)])


# ----------------------------------------------------------------------------
# output

def ratio_text(row: Row, system: str) -> str:
    if system == "actors":
        return "1.00x" if row.median("actors") else "-"
    r = row.ratio(system)
    if r is None:
        return "-"
    if row.workload.kind == LATENCY:
        return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"
    if row.workload.kind == MEMORY:
        return f"{r:.1f}x less"
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def render_table(rows: Dict[str, Row], cmp: Comparison, meta: dict) -> str:
    head = ["workload", "unit", "system", "median", "actors vs it"]
    body = []
    for row in rows.values():
        first = True
        for s in COMPARE_SYSTEMS:
            res = row.results.get(s)
            if res is None:
                continue
            body.append([row.workload.name if first else "", row.workload.unit if first else "",
                         s, runner.cell_value(row, s, res), ratio_text(row, s)])
            first = False
        if first:
            body.append([row.workload.name, row.workload.unit, "(no system ran)", "", ""])
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]

    def line(r):
        return "  ".join(str(c).rjust(widths[i]) if i >= 3 else str(c).ljust(widths[i])
                         for i, c in enumerate(r)).rstrip()

    out = ["", line(head), line(["-" * w for w in widths])]
    prev = None
    for r in body:
        if r[0] and prev is not None:
            out.append("")
        out.append(line(r))
        prev = r
    out.append("")
    out.append("actors vs it: actors' rate / its rate (higher is better for actors); memory: its "
               "bytes / actors' bytes; timer-lateness (p50/p99/max ms): its p99 / actors' p99.")
    if cmp.skipped:
        for s, why in cmp.skipped.items():
            out.append(f"skipped {s}: {why}")
    notes = [(name, n) for name, ns in cmp.notes.items() for n in ns]
    if notes:
        out.append("notes:")
        out += [f"  {name}: {n}" for name, n in notes]
    out += runner.footer(rows, meta)
    return "\n".join(out)


def main(args, argv: List[str]) -> int:
    """``python -m actors bench --compare [--quick] [--only ...] [--json P] [--plot P]``."""
    quick = args.quick
    rounds = args.rounds if args.rounds is not None else (runner.QUICK_ROUNDS if quick
                                                          else runner.DEFAULT_ROUNDS)
    names = list(COMPARE_WORKLOADS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
    systems = [s for s in COMPARE_SYSTEMS if not (args.no_erlang and s.startswith("erlang"))]
    try:
        cmp = Comparison(names, systems, rounds=rounds, quick=quick, loop=args.loop)
    except ValueError as e:
        print(f"actors bench --compare: {e}", file=sys.stderr)
        return 2
    env = Env(loop=args.loop, quick=quick)
    meta = runner.metadata(argv, env, rounds, None, "see peers")
    meta["erl_command"] = None
    meta["peers"] = cmp.versions()
    meta["skipped"] = dict(cmp.skipped)
    if args.no_erlang:
        meta["skipped"].update({s: "--no-erlang" for s in ("erlang", "erlang-smp")})
    header = runner.format_header(meta) + "\npeers:    " + ", ".join(
        f"{s} {v}" for s, v in meta["peers"].items()) + (
        "   (erlang: erl +S 1; erlang-smp: erl with its default schedulers)"
        if any(s.startswith("erl") for s in meta["peers"]) else "")
    print(header, file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    rows = cmp.run()
    meta["wall_s"] = round(time.perf_counter() - t0, 1)
    meta["loadavg_end"] = runner.loadavg()
    meta["notes"] = cmp.notes
    print(header)
    print(render_table(rows, cmp, meta))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runner.to_json(rows, meta), f, indent=2)
        print(f"\nwrote {args.json}")
    if getattr(args, "plot", None):
        err = plot(rows, args.plot)
        print(err if err else f"wrote {args.plot}")
    errors = [e for r in rows.values() for res in r.results.values() for e in res.errors]
    return 1 if errors else 0

