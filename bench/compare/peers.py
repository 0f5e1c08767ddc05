"""The systems of the comparison: which are installed, their versions, their code.

Each peer's version of a workload is registered in the catalog
(``actors.benchmarks.catalog``) with ``@impl(name, system)`` by its module
here (``impl_gevent``, ``impl_thespian``; pykka's comparison rows are in
``impl_pykka.EXTRA``); Erlang's are the exports of ``bench.erl``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable, Dict, Optional

from actors.benchmarks import runner
from actors.benchmarks.catalog import Env, Sample, Workload

#: Every system of the comparison, in column order.
COMPARE_SYSTEMS = ("actors", "asyncio", "asyncio+uvloop", "gevent", "pykka", "thespian",
                   "erlang", "erlang-smp")

#: Peers measured in a fresh interpreter each time.
SUBPROCESS_SYSTEMS = ("gevent", "pykka", "thespian")

#: system -> the distribution that provides it (for "pip install ...").
PACKAGES = {"asyncio+uvloop": "uvloop", "gevent": "gevent", "pykka": "pykka",
            "thespian": "thespian"}

#: ``erl``'s flags for each Erlang system.
ERL_SYSTEM_FLAGS = {"erlang": ["+S", "1", "-noshell"], "erlang-smp": ["-noshell"]}


def installed(system: str) -> bool:
    """Whether ``system``'s package can be imported (Erlang: ``erl`` and ``erlc`` on PATH)."""
    if system in ("actors", "asyncio"):
        return True
    if system in ("erlang", "erlang-smp"):
        from .erlang import find_erl
        return find_erl() is not None
    return importlib.util.find_spec(PACKAGES[system]) is not None


def peer_version(system: str) -> Optional[str]:
    """The installed version of ``system``'s package (Erlang: OTP and erts), or None."""
    if system in ("erlang", "erlang-smp"):
        from .erlang import erl_version
        return erl_version()
    pkg = PACKAGES.get(system)
    if pkg is None:
        return None
    try:
        from importlib.metadata import version
        return version(pkg)
    except Exception:                     # noqa: BLE001
        return "?"


def load() -> None:
    """Import every implementation module (fills the catalog). gevent is
    imported but never monkey-patched; its code only runs in subprocesses."""
    runner.load()
    for mod in ("impl_gevent", "impl_thespian"):
        try:
            importlib.import_module(f".{mod}", __package__)
        except ImportError:
            pass


def implementation(w: Workload, system: str) -> Optional[Callable[[Dict[str, int], Env], Sample]]:
    """``system``'s Python version of ``w``, or None."""
    if system == "asyncio+uvloop":
        system = "asyncio"
    fn = w.impls.get(system)
    if fn is None and system == "pykka":
        from . import impl_pykka
        fn = impl_pykka.EXTRA.get(w.name)
    return fn


def not_applicable(w: Workload, system: str) -> Optional[str]:
    """Why ``system`` has no version of ``w`` (a note for the table), or None."""
    if system == "actors" and w.needs_erlang:
        return "actors: not run (its other end is an Erlang node, and Erlang does not run)"
    if system == "thespian":
        from .impl_thespian import NOT_APPLICABLE
        return NOT_APPLICABLE.get(w.name)
    if system == "pykka" and w.name in ("request-reply-queued", "timers", "timer-lateness"):
        return "pykka: n/a (" + ("no selective receive" if w.name == "request-reply-queued"
                                 else "no timers") + ")"
    return None
