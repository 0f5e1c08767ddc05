"""Hot code reload: upgrade running GenServers to a module's new code.

Erlang can load a new version of a module while its processes run, and OTP
upgrades each server's state to the new code in place: the system is never
stopped.  ``actors.reload(module)`` does the same for a Python module that
defines GenServer classes::

    import counters                      # defines class Counter(GenServer)
    pid = await counters.Counter.start_link()
    ...                                  # edit counters.py on disk
    report = await actors.reload(counters)
    report.upgraded                      # [pid]: it now runs the new code

What happens
------------
1. The running servers whose class is defined in ``module`` are found
   (every GenServer records its class in its process dictionary).
2. Each is suspended (``actors.sys.suspend``): it finishes the message it is
   handling, then leaves the rest in its mailbox.
3. The module is re-imported (``importlib.reload``); new servers started
   from now on use the new classes.
4. Each suspended server's instance moves to the class of the same name in
   the new module and runs that class's ``code_change(old_vsn, extra)``
   (``actors.sys.change_code``), inside the server, where ``old_vsn`` is the
   old class's ``vsn``.
5. Every suspended server resumes and handles the messages that arrived
   meanwhile, in order: none is lost.

Versions and ``code_change``
----------------------------
Give each version of a server class a ``vsn`` class attribute; ``code_change``
of the new class sees the old one and migrates the instance's attributes::

    class Counter(GenServer):
        vsn = 2

        def code_change(self, old_vsn, extra):
            if old_vsn == 1:                 # version 1 kept a plain int
                self.counts = {"default": self.count}
                del self.count

``code_change`` returns None; to refuse the upgrade, raise.  A server whose
``code_change`` raises (or whose class the new module no longer defines)
stays on its old code with its old attributes, keeps running, and is listed
in the report's ``failed`` with the reason; the other servers are upgraded
regardless.  (``importlib.reload`` keeps the names the new source no longer
defines, so a class deleted from the source is still in the module: it is
recognised as the old class and reported as no longer defined.)  The restore is shallow: build new values in ``code_change``
instead of mutating nested ones in place.

What is not upgraded
--------------------
Only instances of classes defined *in* the reloaded module move: a subclass
defined in another module keeps its old base class until that module is
reloaded too.  Plain functions running as processes keep the code they
started with (Python has no equivalent of Erlang's fully qualified call that
jumps to the new version).  If re-importing fails (a ``SyntaxError``, an
exception at import), every server resumes on its old code and the error is
raised.
"""
from __future__ import annotations

import importlib
import logging
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from . import lowlevel
from . import sys as actors_sys
from .lowlevel import CallExit, NoProcess, Pid, Timeout
from .gen_server import GEN_SERVER_KEY, GenServer
from .lowlevel import call_in_process, check_seconds, in_process

__all__ = ["ReloadReport", "reload"]

_logger = logging.getLogger("actors.reload")


@dataclass
class ReloadReport:
    """What ``reload`` did.

    Attributes:
        module: the reloaded module's name.
        upgraded: the servers now running the new code, in pid order.
        failed: the servers left on their old code (or gone), each with the
            reason: the exception ``code_change`` raised, a ``LookupError``
            when the new module no longer defines the class, or the
            ``NoProcess``/``CallExit``/``Timeout`` met while talking to it.
    """

    module: str
    upgraded: list[Pid] = field(default_factory=list[Pid])
    failed: dict[Pid, BaseException] = field(default_factory=dict[Pid, BaseException])

    @property
    def ok(self) -> bool:
        """True when no server failed."""
        return not self.failed


async def reload(module: types.ModuleType | str, extra: Any = None,
                 timeout: float | None = 5.0) -> ReloadReport:
    """Re-import ``module`` and upgrade every running GenServer whose class it defines.

    Args:
        module: the module, or its name in ``sys.modules``.
        extra: passed to every ``code_change(old_vsn, extra)``.
        timeout: seconds to wait for each server at each step (suspend,
            code change, resume); ``None``: forever.

    Returns:
        A ``ReloadReport``: which servers were upgraded, which failed and why.

    Raises:
        TypeError: ``module`` is not a module or a str.
        ValueError: no module of that name is imported.
        Exception: re-importing the module failed (nothing was upgraded).
    """
    if isinstance(module, str):
        if module not in sys.modules:
            raise ValueError(f"reload(module): no module named {module!r} is imported")
        module = sys.modules[module]
    if not isinstance(module, types.ModuleType):
        raise TypeError(f"reload(module): module must be a module or its name, got {module!r}")
    check_seconds(timeout, "timeout", allow_none=True)
    if not in_process():
        done: ReloadReport = await call_in_process(reload, module, extra, timeout)
        return done

    name = module.__name__
    report = ReloadReport(name)
    servers = _servers_of(name)
    suspended: list[tuple[Pid, type]] = []
    try:
        for pid, cls in servers:
            try:
                await actors_sys.suspend(pid, timeout=timeout)
            except (NoProcess, CallExit, Timeout) as exc:
                _fail(report, pid, cls, exc)
                if isinstance(exc, Timeout):      # the request may still be handled later
                    actors_sys.cast_system(pid, ("resume",))
                continue
            suspended.append((pid, cls))
        new_module = importlib.reload(module)
        for pid, cls in suspended:
            new_cls = _find_class(new_module, cls)
            if new_cls is None:
                _fail(report, pid, cls, LookupError(
                    f"{name} no longer defines a GenServer class {cls.__qualname__}"))
                continue
            try:
                await actors_sys.change_code(pid, new_cls, extra, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 (reported, not raised)
                _fail(report, pid, cls, exc)
            else:
                report.upgraded.append(pid)
    finally:
        for pid, _cls in suspended:
            try:
                await actors_sys.resume(pid, timeout=timeout)
            except (NoProcess, CallExit, Timeout):
                actors_sys.cast_system(pid, ("resume",))
    return report


def _servers_of(module_name: str) -> list[tuple[Pid, type]]:
    """The live GenServers (but the caller) whose class is defined in ``module_name``."""
    me = lowlevel.self()
    found: list[tuple[Pid, type]] = []
    for pid in lowlevel.process_list():
        if pid is me:
            continue
        pdict = lowlevel.process_info(pid, "dictionary")
        cls = pdict.get(GEN_SERVER_KEY) if pdict else None
        if isinstance(cls, type) and issubclass(cls, GenServer) and cls.__module__ == module_name:
            found.append((pid, cls))
    return found


def _find_class(module: types.ModuleType, cls: type) -> type | None:
    """The class named like ``cls`` in the new ``module`` (nested classes too)."""
    obj: Any = module
    for part in cls.__qualname__.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if obj is cls:       # importlib.reload keeps the names the new source does not define
        return None
    return obj if isinstance(obj, type) and issubclass(obj, GenServer) else None


def _fail(report: ReloadReport, pid: Pid, cls: type, exc: BaseException) -> None:
    report.failed[pid] = exc
    lowlevel.report(_logger, logging.WARNING, "code_change_failed", pid,
                    "reload %s: %r (%s) stays on its old code: %r",
                    report.module, pid, cls.__qualname__, exc, reload_module=report.module, reason=exc,
                    stacklevel=2)
