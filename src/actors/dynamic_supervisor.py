"""DynamicSupervisor: a supervisor that starts its children on demand.

A ``Supervisor`` is made for a mostly fixed set of children, started in a
given order when it starts.  A ``DynamicSupervisor`` starts with no
children: each one is started later with ``start_child``, there is no order
between them, and they need no distinct ids.  Use it for a variable number
of similar processes: one per connection, per user session, per job.

Example
-------
A dynamic supervisor is usually started, with a name, under a supervisor::

    children = [
        DynamicSupervisor.child_spec(name="sessions", max_children=10_000),
    ]
    await Supervisor.start_link(children, strategy="one_for_one")

and children are started on demand with a child spec::

    pid = await DynamicSupervisor.start_child("sessions", (Session, "alice"))
    await DynamicSupervisor.count_children("sessions")
    # {'specs': 1, 'active': 1, 'supervisors': 0, 'workers': 1}
    await DynamicSupervisor.terminate_child("sessions", pid)

Children are restarted as their ``restart`` value says (see
``Supervisor``): permanent ones always, transient ones after an abnormal
exit, temporary ones never (they are forgotten when they exit).  The
``id`` of a spec is not used here.  A restarted child has a new pid, of
course, so find it by name (``name=`` or a ``Registry``) rather than by
the pid ``start_child`` returned.

Options
-------
``start_link(max_children=None, max_restarts=3, max_seconds=5.0,
extra_arguments=(), name=None, timeout=None)``:

* ``max_children``: how many children may run at once (``None``: no
  limit).  Beyond it ``start_child`` raises ``StartError("max_children")``.
* ``max_restarts`` / ``max_seconds``: the restart intensity, as for a
  ``Supervisor``: one restart more than ``max_restarts`` within
  ``max_seconds`` and the supervisor stops all its children and exits with
  ``"shutdown"``.
* ``extra_arguments``: values put before the ``args`` of every child's
  start function (``fn(*extra_arguments, *args, **kwargs)``), for what all
  children share.
* ``name``: register the supervisor, as for a ``GenServer``.

Shutdown
--------
When it stops (``DynamicSupervisor.stop``, its parent's exit signal, or
too many restarts), a dynamic supervisor stops all its children
*concurrently*, each as its ``shutdown`` says (``"shutdown"`` signal, then
``"kill"`` after that many seconds), since they have no order.

Module-based dynamic supervisors
--------------------------------
As with ``Supervisor``, subclass and define ``init`` to return the
options::

    class Sessions(DynamicSupervisor):
        def init(self, limit):
            return DynamicSupervisor.init(max_children=limit)

    await Sessions.start_link(100, name="sessions")

``init`` runs inside the new supervisor; ``raise actors.Ignore()`` makes
``start_link`` return ``None``.  ``Sessions.child_spec(100)`` (so
``(Sessions, 100)`` as a child) runs it under a supervisor.

Name registration
-----------------
As for a ``GenServer``: ``name="sessions"`` or ``name=via(registry, key)``;
every function accepts a pid, a name or a ``via``.
"""
from __future__ import annotations

import inspect
import logging
import math
from typing import Any

from . import _core
from ._core import Down, Exit, Pid, StartError
from .child_spec import ChildSpec, child_spec as _normalize_spec
from .gen_server import GenServer, Stop, bad_request, check_server
from .supervisor import (
    Child, Intensity, StartFailed, check_intensity, check_start_options, check_timeout, default_modules,
    describe, is_clean_exit, malformed, mark_bad_input, not_a_pid, not_a_spec, shutdown_child,
    shutdown_was_clean, start_child_process, start_supervisor,
)

_logger = logging.getLogger("actors")

__all__ = ["DynamicSupervisor"]

_WHICH = "$dsup_which_children"
_COUNT = "$dsup_count_children"
_START = "$dsup_start_child"
_TERMINATE = "$dsup_terminate_child"
_RETRY = "$dsup_retry_restart"
_KILL = "$dsup_kill_after"

#: The requests a DynamicSupervisor answers, with the checks of their arguments.
_REQUESTS = {
    _WHICH: (),
    _COUNT: (),
    _START: (not_a_spec,),
    _TERMINATE: (not_a_pid,),
}

_OPTIONS = ("max_children", "max_restarts", "max_seconds", "extra_arguments", "strategy")


def _check_options(max_children: Any = None, max_restarts: Any = 3, max_seconds: Any = 5.0,
                   extra_arguments: Any = (), strategy: Any = "one_for_one") -> dict:
    if strategy != "one_for_one":
        raise ValueError(f"strategy: a DynamicSupervisor supports only 'one_for_one', got {strategy!r}")
    if max_children is not None and max_children != math.inf:
        if isinstance(max_children, bool) or not isinstance(max_children, int):
            raise TypeError(f"max_children must be an int >= 0 or None (no limit), got {max_children!r}")
        if max_children < 0:
            raise ValueError(f"max_children must be >= 0, got {max_children!r}")
    check_intensity(max_restarts, max_seconds)
    if isinstance(extra_arguments, (str, bytes)) or not isinstance(extra_arguments, (list, tuple)):
        raise TypeError(f"extra_arguments must be a tuple or list, got {extra_arguments!r}")
    return {"max_children": math.inf if max_children is None else max_children,
            "max_restarts": max_restarts, "max_seconds": max_seconds,
            "extra_arguments": tuple(extra_arguments), "strategy": strategy}


class DynamicSupervisor:
    """A supervisor whose children are started on demand; see the module documentation."""

    def init(*args: Any, **options: Any) -> dict:
        """Return a dynamic supervisor's options, checked.

        Called as ``DynamicSupervisor.init(max_children=..., max_restarts=...,
        max_seconds=..., extra_arguments=...)`` at the end of a module-based
        dynamic supervisor's ``init`` (Elixir's ``DynamicSupervisor.init/1``);
        it is also the default ``init``.  A dict of options may be given
        positionally.

        Returns:
            The options, as a dict.

        Raises:
            TypeError, ValueError: an option is invalid (the message names it).
        """
        if args and isinstance(args[0], DynamicSupervisor):
            args = args[1:]
        if args:
            if len(args) > 1 or not isinstance(args[0], dict):
                raise TypeError(
                    "DynamicSupervisor.init(**options) takes keyword options (or one dict of them), "
                    f"got {args!r}")
            options = {**args[0], **options}
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"DynamicSupervisor: unknown option(s) {', '.join(sorted(map(str, unknown)))} "
                            f"(known: {', '.join(_OPTIONS)}, and name and timeout for start_link)")
        return _check_options(**options)

    @classmethod
    async def start_link(cls, *args: Any, name: Any = None, timeout: float | None = None,
                         **kwargs: Any) -> Pid | None:
        """Start a dynamic supervisor linked to the caller, with no children.

        ``DynamicSupervisor.start_link(max_children=None, max_restarts=3,
        max_seconds=5.0, extra_arguments=(), name=None, timeout=None)``; for a
        module-based one, ``MySup.start_link(*args, name=None, timeout=None,
        **kwargs)`` passes ``args`` and ``kwargs`` to ``MySup.init``.

        Args:
            max_children: children allowed at once (``None``: no limit).
            max_restarts: restarts allowed within ``max_seconds``.
            max_seconds: the intensity window, in seconds.
            extra_arguments: put before every child's start arguments.
            name: a ``str`` or ``via(registry, key)`` to register it under.
            timeout: seconds to wait for it to start (``None``: forever).

        Returns:
            Its ``Pid`` (``None`` if a module-based ``init`` raised ``Ignore``).

        Raises:
            TypeError, ValueError: an invalid option (before anything starts).
            StartError: a module-based ``init`` raised.
            AlreadyRegistered: ``name`` is taken.
        """
        check_start_options(name, timeout)
        if cls.init is DynamicSupervisor.init:
            args, kwargs = (DynamicSupervisor.init(*args, **kwargs),), {}
        return await start_supervisor(_DynamicSupervisorServer, cls, args, kwargs, name, timeout)

    @classmethod
    def child_spec(cls, *args: Any, **kwargs: Any) -> ChildSpec:
        """The spec that runs this dynamic supervisor under a supervisor (``type="supervisor"``).

        ``DynamicSupervisor.child_spec(name="jobs", max_children=10)`` (or one
        dict of the same options, so ``(DynamicSupervisor, {"name": "jobs"})``
        works as a child) runs ``DynamicSupervisor.start_link(**options)``; its
        id is the name, or ``DynamicSupervisor``.  On a module-based subclass,
        ``MySup.child_spec(*args, **kwargs)`` runs ``MySup.start_link(*args,
        **kwargs)`` with ``id=MySup``.

        Raises:
            TypeError, ValueError: an invalid option.
        """
        if cls is not DynamicSupervisor:
            return ChildSpec(id=cls, start=(cls.start_link, args, kwargs), type="supervisor")
        if args:
            if len(args) > 1 or not isinstance(args[0], dict):
                raise TypeError("DynamicSupervisor.child_spec(**options) takes keyword options "
                                f"(or one dict of them), got {args!r}")
            kwargs = {**args[0], **kwargs}
        start_opts = {k: kwargs[k] for k in ("name", "timeout") if k in kwargs}
        check_start_options(start_opts.get("name"), start_opts.get("timeout"))
        DynamicSupervisor.init(**{k: v for k, v in kwargs.items() if k not in start_opts})
        name = kwargs.get("name")
        child_id = DynamicSupervisor if name is None else name.key if isinstance(name, _core.via) else name
        return ChildSpec(id=child_id, start=(DynamicSupervisor.start_link, (), kwargs), type="supervisor")

    @staticmethod
    async def start_child(supervisor: Any, spec: Any, timeout: float | None = None) -> Pid | None:
        """Start a child under ``supervisor``.

        ``spec`` is anything a ``Supervisor`` accepts (``ChildSpec``, dict,
        class, ``(class, arg)``); its ``id`` is ignored.  The start function
        runs inside the supervisor with ``extra_arguments`` before its args.

        Returns:
            The child's ``Pid``, or ``None`` if it chose not to start (then
            nothing is added).

        Raises:
            TypeError, ValueError: ``spec`` is malformed (nothing is sent).
            StartError: ``StartError("max_children")`` if the supervisor
                already has ``max_children`` children; else ``.reason`` says
                why the child failed to start.
        """
        check_server(supervisor, "supervisor", "DynamicSupervisor.start_child")
        spec = _normalize_spec(spec)
        check_timeout(timeout)
        status, value = await GenServer.call(supervisor, (_START, spec), timeout)
        if status == "ok":
            return value
        if value == "max_children":
            raise StartError("max_children", "start_child: the supervisor already has max_children children")
        raise StartError(value, f"start_child: the child failed to start: {value!r}")

    @staticmethod
    async def terminate_child(supervisor: Any, pid: Pid, timeout: float | None = None) -> None:
        """Stop the child ``pid`` (as its ``shutdown`` says); it is not restarted.

        Raises:
            TypeError: ``pid`` is not a Pid.
            LookupError: ``pid`` is not a child of this supervisor.
        """
        check_server(supervisor, "supervisor", "DynamicSupervisor.terminate_child")
        if type(pid) is not Pid:
            raise TypeError(f"terminate_child(supervisor, pid): pid must be a Pid, got {pid!r}")
        check_timeout(timeout)
        if await GenServer.call(supervisor, (_TERMINATE, pid), timeout) != "ok":
            raise LookupError(f"terminate_child: {pid!r} is not a child of this supervisor")

    @staticmethod
    async def which_children(supervisor: Any, timeout: float | None = None) -> list[Child]:
        """The children as ``Child(None, pid, type, modules)`` (``pid`` is
        ``"restarting"`` while a failed restart waits to be retried)."""
        check_server(supervisor, "supervisor", "DynamicSupervisor.which_children")
        check_timeout(timeout)
        return await GenServer.call(supervisor, (_WHICH,), timeout)

    @staticmethod
    async def count_children(supervisor: Any, timeout: float | None = None) -> dict[str, int]:
        """Counts: ``specs`` (children), ``active`` (running), ``supervisors``
        and ``workers`` (by type)."""
        check_server(supervisor, "supervisor", "DynamicSupervisor.count_children")
        check_timeout(timeout)
        return await GenServer.call(supervisor, (_COUNT,), timeout)

    @staticmethod
    async def stop(supervisor: Any, reason: Any = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor: its children stop concurrently, then it exits.

        Raises:
            NoProcess: no such supervisor.
            Timeout: it did not exit within ``timeout`` seconds.
        """
        check_server(supervisor, "supervisor", "DynamicSupervisor.stop")
        await GenServer.stop(supervisor, reason, timeout)


class _DynamicSupervisorServer(GenServer):
    """The dynamic supervisor process; ``DynamicSupervisor`` subclasses are its
    callback modules.

    ``children`` maps each child's pid to its spec, in start order; a child
    whose restart failed stays under its old pid, which is then also in
    ``restarting``, until the retry.
    """

    async def init(self, mod: type, args: tuple, kwargs: dict) -> None:
        _core.process_flag("trap_exit", True)
        module = mod.__new__(mod)
        result = module.init(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        try:
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"{mod.__qualname__}.init must return DynamicSupervisor.init(**options) "
                                f"(a dict), got {result!r}")
            options = DynamicSupervisor.init(result)
        except (TypeError, ValueError) as exc:
            raise mark_bad_input(exc) from None
        self.module = module
        self.max_children = options["max_children"]
        self.extra = options["extra_arguments"]
        self.intensity = Intensity(options["max_restarts"], options["max_seconds"])
        self.children: dict[Pid, ChildSpec] = {}
        self.restarting: set[Pid] = set()
        return None

    async def _start(self, spec: ChildSpec) -> Pid | None:
        fn, args, kwargs = spec.start
        if self.extra:
            args = self.extra + args
        return await start_child_process(fn, args, kwargs)

    # -- requests ----------------------------------------------------------------------

    async def handle_call(self, request: Any, from_: Any) -> Any:
        why = malformed(request, _REQUESTS)
        if why is not None:
            return bad_request(self, "DynamicSupervisor", request, why)
        tag = request[0]
        if tag == _START:
            if len(self.children) >= self.max_children:
                return ("error", "max_children")
            spec = request[1]
            try:
                pid = await self._start(spec)
            except StartFailed as failed:
                return ("error", failed.reason)
            if pid is not None:
                self.children[pid] = spec
            return ("ok", pid)
        if tag == _TERMINATE:
            pid = request[1]
            spec = self.children.pop(pid, None)
            if spec is None:
                return "not_found"
            if pid in self.restarting:
                self.restarting.discard(pid)
            else:
                reason = await shutdown_child(pid, spec.shutdown)
                if not shutdown_was_clean(reason, spec.shutdown, spec.restart):
                    if _core.report_allowed():
                        _logger.error("DynamicSupervisor %s: child %r shut down with reason %r",
                                      describe(self), pid, reason)
            return "ok"
        if tag == _WHICH:
            restarting = self.restarting
            return [Child(None, "restarting" if pid in restarting else pid, spec.type, default_modules(spec))
                    for pid, spec in self.children.items()]
        if tag == _COUNT:
            supervisors = sum(1 for spec in self.children.values() if spec.type == "supervisor")
            specs = len(self.children)
            return {"specs": specs, "active": specs - len(self.restarting),
                    "supervisors": supervisors, "workers": specs - supervisors}
        return bad_request(self, "DynamicSupervisor", request, "unknown request")

    def handle_cast(self, request: Any) -> None:
        if _core.report_allowed():
            _logger.error("DynamicSupervisor %s received unexpected cast: %r", describe(self), request)
        return None

    # -- exits and restarts ------------------------------------------------------

    async def handle_info(self, msg: Any) -> None:
        if type(msg) is Exit:
            pid = msg.pid
            spec = self.children.get(pid) if type(pid) is Pid else None
            if spec is None or pid in self.restarting:
                return None
            restart = spec.restart
            if restart == "permanent" or (restart == "transient" and not is_clean_exit(msg.reason)):
                await self._restart(pid, spec)
            else:
                del self.children[pid]
            return None
        if type(msg) is tuple and len(msg) == 2 and msg[0] == _RETRY and type(msg[1]) is Pid:
            pid = msg[1]
            if pid in self.restarting:
                self.restarting.discard(pid)
                await self._restart(pid, self.children[pid])
            return None
        if _core.report_allowed():
            _logger.error("DynamicSupervisor %s received unexpected message: %r", describe(self), msg)
        return None

    async def _restart(self, old: Pid, spec: ChildSpec) -> None:
        """The child ``old`` failed: start it again (or give up on intensity)."""
        if not self.intensity.add():
            del self.children[old]
            if _core.report_allowed():
                _logger.error("DynamicSupervisor %s: reached max restart intensity (%d in %s s); shutting down",
                              describe(self), self.intensity.max_restarts, self.intensity.max_seconds)
            raise Stop("shutdown")
        try:
            pid = await self._start(spec)
        except StartFailed as failed:
            if _core.report_allowed():
                _logger.error("DynamicSupervisor %s: restarting a child failed: %r; trying again",
                              describe(self), failed.reason)
            self.restarting.add(old)
            _core.send(self._pid, (_RETRY, old))
            return None
        del self.children[old]
        if pid is not None:
            self.children[pid] = spec
        return None

    # -- shutting down -----------------------------------------------------------------

    async def terminate(self, reason: Any) -> None:
        children = getattr(self, "children", None)
        if children:
            await self._stop_all(children)

    async def _stop_all(self, children: dict[Pid, ChildSpec]) -> None:
        """Stop every running child at once; kill those still alive after their shutdown."""
        waiting: dict[Any, tuple[Pid, ChildSpec]] = {}
        deadlines: dict[float, list[Pid]] = {}
        for pid, spec in children.items():
            if pid in self.restarting:
                continue
            waiting[_core.monitor(pid)] = (pid, spec)
            shutdown = spec.shutdown
            if shutdown == "brutal_kill":
                _core.exit(pid, "kill")
            else:
                _core.exit(pid, "shutdown")
                if shutdown is not None:
                    deadlines.setdefault(shutdown, []).append(pid)
        tag = _core.make_ref()
        me = self._pid
        timers = [_core.send_after(me, (_KILL, tag, seconds), seconds) for seconds in deadlines]
        while waiting:
            msg = await _core.receive(Down, (_KILL, tag, _core.ANY))
            if type(msg) is Down:
                entry = waiting.pop(msg.ref, None)
                if entry is not None and not shutdown_was_clean(msg.reason, entry[1].shutdown, entry[1].restart):
                    if _core.report_allowed():
                        _logger.error("DynamicSupervisor %s: child %r shut down with reason %r",
                                      describe(self), entry[0], msg.reason)
            else:
                for pid in deadlines[msg[2]]:
                    if _core.is_alive(pid):
                        _core.exit(pid, "kill")
        for timer in timers:
            _core.cancel_timer(timer)
        children.clear()
        self.restarting.clear()
