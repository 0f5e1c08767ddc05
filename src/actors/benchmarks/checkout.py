"""The repository checkout's ``bench/compare``: the benchmark code a wheel does not ship.

The wheel holds actors' own workloads and the asyncio baseline, enough for
the headline table. The rest lives in the repository, in the ``compare``
package under ``bench/``: the Erlang/OTP versions (``bench.erl`` and its
driver), pykka's, gevent's and thespian's versions, and ``--compare``
itself. They are found in ``$ACTORS_BENCH_DIR`` if it is set, else in
``./bench`` (run from the repository's root), and imported as ``compare``
with that directory put first on ``sys.path``. The checkout's modules
import ``actors.benchmarks``; this package names theirs only at run time,
through :func:`import_peer`.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional

#: Names the ``bench/`` directory of a checkout, for runs from elsewhere.
ENV_VAR = "ACTORS_BENCH_DIR"

#: The package, inside ``bench/``, that holds the peers and ``--compare``.
PACKAGE = "compare"

NEEDS_CHECKOUT = ("needs a checkout of the repository: run it from the repo root "
                  f"(or set {ENV_VAR} to the checkout's bench/ directory)")


def bench_dir() -> Optional[Path]:
    """The checkout's ``bench/`` directory, or None when there is none to be found.

    Returns:
        ``$ACTORS_BENCH_DIR`` if set, else ``./bench``, provided it holds
        ``compare/__init__.py``; otherwise None.
    """
    where = os.environ.get(ENV_VAR)
    d = Path(where) if where else Path.cwd() / "bench"
    return d.resolve() if (d / PACKAGE / "__init__.py").is_file() else None


def import_peer(name: str) -> Optional[ModuleType]:
    """Import ``compare.NAME`` from the checkout's ``bench/`` directory.

    Args:
        name: a module of ``bench/compare``, e.g. ``"erlang"``, ``"impl_pykka"``
            or ``"runner"``.

    Returns:
        The module, or None when no checkout is found (see :func:`bench_dir`).
        Once ``compare`` is imported, later calls return its modules
        whatever the current directory.
    """
    if PACKAGE not in sys.modules:
        d = bench_dir()
        if d is None:
            return None
        if str(d) not in sys.path:
            sys.path.insert(0, str(d))
    return importlib.import_module(f"{PACKAGE}.{name}")
