"""A supervised crash storm: crashes per second with default logging and with
logging disabled, side by side (issue 8: crash storms must not drown the system).

    python bench/crash_storm.py [--seconds S] [--rounds R] [--children N]

A one_for_one supervisor (restart intensity high enough never to give up)
runs ``--children`` workers that raise as soon as they start; every crash is
a real crash report (``_log_exit``, a traceback) and a restart.  Each round
runs the storm for ``--seconds`` once with Python's default logging (no
handler configured: the ``actors`` logger's errors go to stderr through
``logging.lastResort``) and once with logging disabled, alternating, and
prints the medians: crashes/s, the ratio, the bytes written to stderr per
second (fd 2 goes to a temporary file during a round) and the worst lateness
of a ``sleep(0.05)`` loop running beside the storm (are timers still prompt?).
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

import actors

TICK = 0.05
_crashes = [0]


async def _crasher():
    _crashes[0] += 1
    raise RuntimeError("boom")


async def _start_crasher():
    return actors.spawn_link(_crasher)


async def _ticker(worst: list) -> None:
    while True:
        due = time.perf_counter() + TICK
        await actors.sleep(TICK)
        worst[0] = max(worst[0], time.perf_counter() - due)


async def _storm(seconds: float, children: int) -> tuple[float, float]:
    """Crashes per second over ``seconds`` and the worst timer lateness."""
    specs = [{"id": i, "start": (_start_crasher, ())} for i in range(children)]
    late = [0.0]
    actors.spawn_link(_ticker, late)
    sup = await actors.Supervisor.start_link(specs, max_restarts=10**12, max_seconds=1.0)
    await actors.sleep(0.2)                         # warm up
    c0, t0, late[0] = _crashes[0], time.perf_counter(), 0.0
    await actors.sleep(seconds)
    rate = (_crashes[0] - c0) / (time.perf_counter() - t0)
    worst = late[0]
    actors.unlink(sup)
    actors.exit(sup, "kill")
    return rate, worst


def _run_round(seconds: float, children: int, logging_on: bool) -> tuple[float, float, int]:
    """One storm in a fresh runtime; fd 2 goes to a temporary file meanwhile."""
    logger = logging.getLogger("actors")
    logger.disabled = not logging_on
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            rate, late = actors.run(_storm, seconds, children)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            logger.disabled = False
        written = sink.seek(0, os.SEEK_END)
    return rate, late, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--children", type=int, default=8)
    args = parser.parse_args()
    results = {True: [], False: []}
    for _ in range(args.rounds):
        for logging_on in (True, False):
            results[logging_on].append(_run_round(args.seconds, args.children, logging_on))
    print(f"supervised crash storm, {args.children} crashing children, "
          f"{args.seconds:g} s x {args.rounds} rounds (medians):")
    med = {}
    for logging_on, label in ((True, "default logging"), (False, "logging disabled")):
        rows = results[logging_on]
        rate = statistics.median(r[0] for r in rows)
        late = statistics.median(r[1] for r in rows)
        out = statistics.median(r[2] for r in rows) / args.seconds
        med[logging_on] = rate
        print(f"  {label:<17} {rate:>10,.0f} crashes/s   stderr {out / 1e6:7.2f} MB/s   "
              f"worst sleep({TICK}) lateness {late * 1000:6.1f} ms")
    print(f"  ratio (disabled / default): {med[False] / med[True]:.2f}x")


if __name__ == "__main__":
    main()
