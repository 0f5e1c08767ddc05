"""The headline table of ``python -m actors bench``: run the workloads on every system.

Systems: actors and the asyncio baseline, always; from a checkout of the
repository (see ``checkout``), also Erlang/OTP (if ``erl`` is on PATH) and
pykka (if installed; only the rows that have a pykka version, and its
columns appear only when such a row is selected).

Rounds are interleaved: for each workload, round after round, every system
runs once (in an order rotated each round), so drift on a shared machine
hits all systems alike; the table shows medians. Python systems run
in-process with a ``gc.collect()`` before every measurement, except
workloads declared ``isolated`` (memory), which run in a fresh interpreter
(or a fresh Erlang VM) each time.

The helpers here (``measure``, ``metadata``, the cell formatting, ``footer``)
are also what the checkout's ``--compare`` (``bench/compare/runner.py``)
builds on. Imports go one way: that module imports this one; this one loads
only the Erlang driver and pykka's versions from the checkout, through
``checkout``, never the comparison.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import datetime
import faulthandler
import gc
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence

from . import checkout
from .catalog import (LATENCY, MEMORY, OPTIONAL_SYSTEMS, RATE, WORKLOADS, Env, MissingWork,
                      Row, Sample, SystemResult, Workload)

DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 3
WATCHDOG_S = 600        # a measurement that hangs (a lost message) dumps tracebacks and exits


#: Why actors' implementations could not be imported, or None; set by :func:`load`.
_actors_import_error: Optional[str] = None

#: The checkout's pykka module (``bench/compare/impl_pykka.py``), or None
#: without a checkout; set by :func:`load`.
_pykka: Optional[ModuleType] = None


def load() -> Dict[str, Workload]:
    """Import every implementation module (which fills the catalog): actors'
    and the asyncio baseline's, and pykka's when run from a checkout."""
    global _actors_import_error, _pykka
    from . import workloads, impl_asyncio  # noqa: F401  # pyright: ignore[reportUnusedImport]
    try:
        from . import impl_actors  # noqa: F401 (needs the compiled core)  # pyright: ignore[reportUnusedImport]
        from . import impl_dist  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except Exception as e:                    # noqa: BLE001 -- reported in the header
        _actors_import_error = f"{type(e).__name__}: {e}"
    _pykka = checkout.import_peer("impl_pykka")
    return WORKLOADS


def start_erlang(no_erlang: bool) -> tuple[Any, Optional[str]]:
    """The checkout's Erlang/OTP runner, started, and a note for the header.

    Returns:
        ``(erlang, note)``: an ``Erlang`` from ``bench/compare/erlang.py``
        and None, or None and why Erlang does not run.
    """
    if no_erlang:
        return None, "skipped (--no-erlang)"
    mod = checkout.import_peer("erlang")
    if mod is None:
        return None, f"not run: the Erlang/OTP column {checkout.NEEDS_CHECKOUT}"
    if not mod.find_erl():
        return None, "not run (erl/erlc not on PATH)"
    try:
        return mod.Erlang(timeout=WATCHDOG_S), None
    except mod.ErlangError as e:
        return None, f"not run ({e})"


# ----------------------------------------------------------------------------
# the command

def main(args: argparse.Namespace, argv: Optional[List[str]] = None) -> int:
    """Run the selected workloads (``args`` as parsed by ``cli.add_arguments``)
    and print the table; returns the exit status (1 if any system failed)."""
    argv = sys.argv[1:] if argv is None else argv
    workloads = load()
    if args.list:
        for w in workloads.values():
            print(f"{w.name:22} {w.describe(False)}")
        return 0
    rounds = args.rounds if args.rounds is not None else (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        print("actors bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    selected = list(workloads.values())
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in workloads]
        if unknown:
            print(f"actors bench: unknown workload(s) {', '.join(unknown)}; "
                  f"known: {', '.join(workloads)}", file=sys.stderr)
            return 2
        selected = [workloads[n] for n in names]
    if args.loop == "uvloop":
        try:
            import uvloop  # noqa: F401  # pyright: ignore[reportUnusedImport]
        except ImportError:
            print("actors bench: --loop uvloop needs uvloop installed", file=sys.stderr)
            return 2

    erlang, erlang_note = start_erlang(args.no_erlang)
    env = Env(loop=args.loop, quick=args.quick, erlang=erlang)

    meta = metadata(argv, env, rounds, erlang, erlang_note)
    if _actors_import_error:
        meta["actors"] = f"NOT IMPORTABLE ({_actors_import_error})"
    # The header goes to stderr now (context for the progress lines) and to
    # stdout with the table at the end, so that stdout alone is the report.
    print(format_header(meta), file=sys.stderr, flush=True)

    rows: Dict[str, Row] = {}
    t_start = time.perf_counter()
    try:
        for w in selected:
            rows[w.name] = run_workload(w, env, rounds, erlang)
    finally:
        if erlang is not None:
            erlang.cleanup()
    meta["wall_s"] = round(time.perf_counter() - t_start, 1)
    meta["loadavg_end"] = loadavg()

    print(format_header(meta))
    print(render_table(rows, meta))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(rows, meta), f, indent=2)
        print(f"\nwrote {args.json}")
    errors = [(r.workload.name, s, e) for r in rows.values() for s, res in r.results.items()
              for e in res.errors]
    return 1 if errors or _actors_import_error else 0


# ----------------------------------------------------------------------------
# running

def systems_for(w: Workload, erlang: Any) -> List[str]:
    """The systems that run ``w``: those with a version of it that can run here."""
    out: List[str] = [s for s in ("actors", "asyncio") if s in w.impls
                      and not (s == "actors" and w.needs_erlang and erlang is None)]
    if erlang is not None and erlang.has(w):
        out.append("erlang")
    if "pykka" in w.impls and _pykka is not None and _pykka.available():
        out.append("pykka")
    return out


def run_workload(w: Workload, env: Env, rounds: int, erlang: Any) -> Row:
    params = w.params(env.quick)
    row = Row(w, params)
    systems = systems_for(w, erlang)
    for s in systems:
        row.results[s] = SystemResult()
    if not systems:
        print(f"[{w.name}] not run: no system can run it here", file=sys.stderr, flush=True)
        return row
    for r in range(rounds):
        k = r % len(systems)
        order = systems[k:] + systems[:k]
        shown = {}
        for s in order:
            res = row.results[s]
            if res.errors:
                continue                      # failed once: its median means nothing
            try:
                sample = measure(w, s, params, env, erlang)
            except Exception as e:            # noqa: BLE001 -- reported loudly, run goes on
                msg = f"{type(e).__name__}: {e}"
                res.errors.append(msg)
                print(f"\n!!! {w.name} / {s}: {msg}", file=sys.stderr)
                if not isinstance(e, MissingWork):
                    traceback.print_exc(file=sys.stderr)
                shown[s] = "ERROR"
                continue
            res.samples.append(sample)
            shown[s] = fmt_value(w, sample.value, sample.extra)
        progress = "  ".join(f"{s} {shown[s]}" for s in systems if s in shown)
        print(f"[{w.name}] round {r + 1}/{rounds}: {progress} {w.unit}", file=sys.stderr, flush=True)
    return row


def measure(w: Workload, system: str, params: Dict[str, int], env: Env, erlang: Any) -> Sample:
    if system == "erlang":
        sample: Sample = erlang.measure(w, params)
        return sample
    if w.isolated:
        return measure_in_subprocess(w, system, params, env)
    fn = w.impls[system]
    gc.collect()
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    try:
        sample = fn(params, env)
    finally:
        faulthandler.cancel_dump_traceback_later()
    gc.collect()
    return sample


def measure_in_subprocess(w: Workload, system: str, params: Dict[str, int], env: Env,
                          module: str = "actors.benchmarks.isolated",
                          path: Sequence[str] = ()) -> Sample:
    """Run one measurement as ``python -m module NAME SYSTEM PARAMS ENV`` in a fresh
    interpreter, with the directories ``path`` first on its ``PYTHONPATH``;
    it prints ``SAMPLE {json}``."""
    cmd = [sys.executable, "-m", module, w.name, system,
           json.dumps(params), json.dumps({"loop": env.loop, "quick": env.quick})]
    child_env = None
    if path:
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(
            [*path, *filter(None, [os.environ.get("PYTHONPATH")])])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=WATCHDOG_S,
                             env=child_env)
    except subprocess.TimeoutExpired:
        raise MissingWork(f"{w.name}/{system}: subprocess did not finish in {WATCHDOG_S} s") from None
    for line in out.stdout.splitlines():
        if line.startswith("SAMPLE "):
            d = json.loads(line[7:])
            return Sample(d["value"], d["extra"])
    tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
    raise MissingWork(f"subprocess failed (exit {out.returncode}):\n{tail}")


# ----------------------------------------------------------------------------
# metadata

def metadata(argv: List[str], env: Env, rounds: int, erlang: Any,
             erlang_note: Optional[str]) -> Dict[str, Any]:
    try:
        cython = importlib.metadata.version("Cython")
    except importlib.metadata.PackageNotFoundError:
        cython = "not installed"
    try:
        import actors
        actors_version = actors.__version__
        core = getattr(getattr(actors, "_core", None), "__file__", None)
    except Exception:                         # noqa: BLE001
        actors_version, core = "?", None
    erl = erlang.version() if erlang is not None else None
    if _pykka is None:
        pykka = f"not run: its column {checkout.NEEDS_CHECKOUT}"
    else:
        pykka = _pykka.version()
        if pykka is None:
            pykka = f"not installed (pip install pykka): its cells show n/a ({_pykka.IMPORT_ERROR})"
    loop = env.loop
    if loop == "uvloop":
        import uvloop
        loop = f"uvloop {getattr(uvloop, '__version__', '?')}"
    try:
        affinity: Optional[int] = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m actors " + shlex.join(argv),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cython": cython,
        "actors": actors_version,
        "core": core,
        "erlang": erl or erlang_note,
        "erl_command": "erl +S 1 -noshell" if erlang is not None else None,
        "pykka": pykka,
        "loop": loop,
        "nproc": os.cpu_count(),
        "usable_cpus": affinity,
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "loadavg": loadavg(),
        "quick": env.quick,
        "rounds": rounds,
    }


def loadavg() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def format_header(meta: Dict[str, Any]) -> str:
    load = f"load {meta['loadavg']}"
    if meta.get("loadavg_end"):
        load = f"load at start {meta['loadavg']}, at end {meta['loadavg_end']}"
    lines = [
        f"actors bench — {meta['date']}",
        f"command:  {meta['command']}",
        f"python:   {meta['python']}   cython: {meta['cython']}   actors: {meta['actors']}   "
        f"loop: {meta['loop']}",
        f"erlang:   {meta['erlang']}" + (f"   ({meta['erl_command']})" if meta["erl_command"] else ""),
        f"pykka:    {meta.get('pykka')}",
        f"machine:  nproc {meta['nproc']} (usable {meta['usable_cpus']}), {meta['cpu']}, "
        f"{meta['platform']}",
        f"          {load}",
        f"rounds:   {meta['rounds']} per system, medians shown, systems interleaved round by round",
    ]
    if meta["quick"]:
        lines.append("*** QUICK MODE: scaled-down counts for a smoke test; "
                     "numbers are indicative only, not comparable with a full run ***")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# output

def fmt_rate(v: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            x = v / div
            return f"{x:.3g}{suffix}" if x < 100 else f"{x:.0f}{suffix}"
    return f"{v:.3g}"


def fmt_value(w: Workload, value: Optional[float], extra: Optional[Dict[str, Any]] = None) -> str:
    if value is None:
        return "-"
    if w.kind == RATE:
        return fmt_rate(value)
    if w.kind == MEMORY:
        return f"{value:,.0f}"
    if w.kind == LATENCY:
        e = extra or {}
        return "/".join(f"{e.get(k, float('nan')):.2f}" for k in ("p50_ms", "p99_ms", "max_ms"))
    return f"{value:g}"


def cell(row: Row, system: str, erlang_note: Optional[str]) -> str:
    res = row.results.get(system)
    if res is None:
        return "-" if not_run_without_erlang(row, system) else "n/a"
    mark = baseline_mark(row, system)
    if mark:
        return f"{mark} {cell_value(row, system, res)}"
    return cell_value(row, system, res)


def not_run_without_erlang(row: Row, system: str) -> bool:
    """Whether ``system`` (actors) did not run ``row`` for want of Erlang nodes."""
    return system == "actors" and row.workload.needs_erlang and "actors" not in row.results


def baseline_mark(row: Row, system: str) -> str:
    """``[dict]`` on the asyncio-column cells of a row whose baseline is not asyncio."""
    if system == "asyncio" and row.workload.baseline != "asyncio":
        return f"[{row.workload.baseline}]"
    return ""


def cell_value(row: Row, system: str, res: SystemResult) -> str:
    if res.errors:
        return "ERROR"
    if not res.samples:
        return "-"
    if row.workload.kind == LATENCY:
        extra = {k: res.median_extra(k) for k in ("p50_ms", "p99_ms", "max_ms")}
        early = max(s.extra.get("early", 0) for s in res.samples)
        return fmt_value(row.workload, res.median(), extra) + (f" EARLY:{early}" if early else "")
    p50, p99 = res.median_extra("p50_us"), res.median_extra("p99_us")
    if p50 is not None and p99 is not None:      # a rate with per-operation latency
        return f"{fmt_value(row.workload, res.median())} ({p50:.0f}/{p99:.0f}us)"
    return fmt_value(row.workload, res.median())


def ratio_cell(row: Row, system: str) -> str:
    r = row.ratio(system)
    if r is None:
        return "-"
    if row.workload.kind == LATENCY:
        return "-"
    mark = baseline_mark(row, system)
    if row.workload.kind == MEMORY:
        text = f"{r:.1f}x less"
    else:
        text = f"{r:.2f}x" if r < 10 else f"{r:.1f}x"
    return f"{mark} {text}" if mark else text


def table_systems(rows: Dict[str, Row]) -> List[str]:
    """The systems that get columns: the optional ones (pykka) only if a row
    implements them."""
    out = ["actors", "asyncio", "erlang"]
    for s in OPTIONAL_SYSTEMS:
        if any(s in row.workload.impls for row in rows.values()):
            out.append(s)
    return out


def render_table(rows: Dict[str, Row], meta: Dict[str, Any]) -> str:
    systems = table_systems(rows)
    others = systems[1:]
    head = ["workload", "unit", *systems, *(f"vs {s}" for s in others), "target", "met"]
    body: List[List[object]] = []
    for row in rows.values():
        verdict, text = row.workload.target.judge(row, rows)
        if any(res.errors for res in row.results.values()):
            met = "ERROR"
        else:
            met = {True: "yes", False: "NO", None: "?"}[verdict]
        body.append([row.workload.name, row.workload.unit,
                     *(cell(row, s, meta["erlang"]) for s in systems),
                     *(ratio_cell(row, s) for s in others), text, met])
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    right = set(range(2, 2 + len(systems) + len(others)))

    def line(r: Sequence[object]) -> str:
        return "  ".join(str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
                         for i, c in enumerate(r)).rstrip()

    out = ["", line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    out.append("")
    out.append("vs X: actors' rate / X's rate (higher is better for actors); for memory, X's "
               "bytes / actors' bytes. Latency cells: p50/p99/max ms; (a/b us): a rate's "
               "p50/p99 latency per operation. n/a: that system has no version of the row, or "
               "was not run (see the header).")
    unrun = [row.workload.name for row in rows.values() if not_run_without_erlang(row, "actors")]
    if unrun:
        out.append(f"-: not run, {', '.join(unrun)} need(s) Erlang nodes "
                   f"(erlang: {meta.get('erlang')}).")
    marked = sorted({row.workload.baseline for row in rows.values()} - {"asyncio"})
    if marked:
        out.append("[" + "], [".join(marked) + "]: in that row the asyncio column holds another "
                   "baseline (not an asyncio program); see the row's description.")
    if "pykka" in systems and str(meta.get("pykka")).startswith("not installed"):
        out.append(f"pykka: {meta.get('pykka')}")
    out += footer(rows, meta)
    return "\n".join(out)


def footer(rows: Dict[str, Row], meta: Dict[str, Any]) -> List[str]:
    """The lines under a table: quick-mode warning, what each row does, errors."""
    out: List[str] = []
    if meta.get("quick"):
        out.append("QUICK MODE: scaled-down counts (smoke test); see a full run for real numbers.")
    out.append(f"wall time {meta.get('wall_s', '?')} s. What each row does:")
    for row in rows.values():
        out.append(f"  {row.workload.name}: {row.workload.describe(meta.get('quick', False))}")
    errors = [(row.workload.name, s, e) for row in rows.values()
              for s, res in row.results.items() for e in res.errors]
    if errors:
        out.append("")
        out.append("ERRORS (a system that did not receive exactly the defined work has no number):")
        out += [f"  {name} / {s}: {e}" for name, s, e in errors]
    return out


def to_json(rows: Dict[str, Row], meta: Dict[str, Any]) -> Dict[str, Any]:
    workloads: List[Dict[str, Any]] = []
    out: Dict[str, Any] = {"meta": meta, "workloads": workloads}
    for row in rows.values():
        w = row.workload
        verdict, text = w.target.judge(row, rows)
        out["workloads"].append({
            "name": w.name,
            "kind": w.kind,
            "unit": w.unit,
            "description": w.describe(meta.get("quick", False)),
            "params": row.params,
            "target": text,
            "target_met": verdict,
            "results": {
                s: {
                    "median": res.median(),
                    "samples": [s_.value for s_ in res.samples],
                    "extra": [s_.extra for s_ in res.samples],
                    "errors": res.errors,
                } for s, res in row.results.items()
            },
            "ratios": {s: row.ratio(s) for s in row.results if s != "actors"},
        })
    return out
