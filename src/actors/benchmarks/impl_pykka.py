"""pykka's version of the workloads that have one: the actor library a
Python user reaches for today.

pykka is optional (``pip install pykka``): without it these rows show
"n/a" in the pykka column and the header says why. Its actors are threads
(``pykka.ThreadingActor``); a call is ``ref.ask(message)``, which blocks the
calling thread on a future until the actor's ``on_receive`` has answered.
pykka is much slower than the other systems, so its rows use a smaller
count (a parameter of the workload, named in the row's description); the
table compares rates, which do not depend on the count.
"""

from __future__ import annotations

import time
from typing import Optional

from . import workloads  # noqa: F401  (declares the workloads before @impl)
from .registry import MissingWork, impl, rate

try:
    import pykka
except ImportError as e:                  # noqa: F841 -- reported in the header
    pykka = None
    IMPORT_ERROR: Optional[str] = f"{type(e).__name__}: {e}"
else:
    IMPORT_ERROR = None

perf_counter = time.perf_counter


def available() -> bool:
    """Whether pykka can be imported."""
    return pykka is not None


def version() -> Optional[str]:
    """pykka's version, or None if it is not installed."""
    if pykka is None:
        return None
    try:
        from importlib.metadata import version as dist_version
        return dist_version("pykka")
    except Exception:                     # noqa: BLE001
        return getattr(pykka, "__version__", "?")


def _counter_class():
    class Counter(pykka.ThreadingActor):
        """``ask("incr")`` answers the new count, ``ask("get")`` the count."""

        def __init__(self):
            super().__init__()
            self.n = 0

        def on_receive(self, message):
            if message == "incr":
                self.n += 1
            return self.n

    return Counter


# ---------------------------------------------------------------------------
# genserver-call: ask a counter actor, pykka_calls times

@impl("genserver-call", "pykka")
def genserver_call(p, env):
    calls = p["pykka_calls"]
    ref = _counter_class().start()
    try:
        got = 0
        t0 = perf_counter()
        for i in range(1, calls + 1):
            n = ref.ask("incr")
            if not (n == i):
                raise MissingWork(f"genserver-call (pykka): ask {i} answered {n!r}")
            got += 1
        t1 = perf_counter()
    finally:
        ref.stop()
    return rate(got, calls, t1 - t0, "replies")
