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

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from . import lowlevel
from .lowlevel import Down, Pid, StartError
from ._supervision import (
    COUNT, RESTARTING, START, TERMINATE, WHICH, Child, ChildState, StartFailed, SupervisorServer,
    call_supervisor, check_intensity, check_start_options, check_timeout, children_from_reply,
    not_a_pid, not_a_spec,
    start_child_process, start_supervisor, stop_supervisor,
)
from .child_spec import ChildSpec, child_spec as _normalize_spec
from .gen_server import GenServer, ServerRef
from .lowlevel import check_server

__all__ = ["DynamicSupervisor"]

#: The timer message that tells ``_stop_all`` to kill the children still alive.
_KILL = "$sup_kill_after"

_OPTIONS = ("max_children", "max_restarts", "max_seconds", "extra_arguments", "strategy")


def _check_options(max_children: Any = None, max_restarts: Any = 3, max_seconds: Any = 5.0,
                   extra_arguments: Any = (), strategy: Any = "one_for_one") -> dict[str, Any]:
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
            "extra_arguments": tuple(cast("Iterable[object]", extra_arguments)), "strategy": strategy}


def _checked_init(*args: Any, **options: Any) -> dict[str, Any]:
    """``DynamicSupervisor.init``: the options, checked."""
    if args:
        if len(args) != 1 or not isinstance(args[0], dict):
            raise TypeError(
                "DynamicSupervisor.init(**options) takes keyword options (or one dict of them), "
                f"got {args!r}")
        options = {**args[0], **options}
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError(f"DynamicSupervisor: unknown option(s) {', '.join(sorted(map(str, unknown)))} "
                        f"(known: {', '.join(_OPTIONS)}, and name and timeout for start_link)")
    return _check_options(**options)


class DynamicSupervisor:
    """A supervisor whose children are started on demand; see the module documentation."""

    if TYPE_CHECKING:
        # For type checkers `init` is a plain function of the class, as it is when
        # called `DynamicSupervisor.init(...)`, so that a module-based supervisor overrides it
        # with `def init(self, ...)` or `async def init(self, ...)` (mypy refuses
        # a method in place of a staticmethod).
        def init(*args: Any, **options: Any) -> Any: ...
    else:
        @staticmethod
        def init(*args: Any, **options: Any) -> dict[str, Any]:
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
            return _checked_init(*args, **options)

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
        return await cls._start(args, kwargs, name, timeout, link=True)

    @classmethod
    async def start(cls, *args: Any, name: Any = None, timeout: float | None = None,
                    **kwargs: Any) -> Pid | None:
        """Like ``start_link``, without the link: it outlives its caller.

        For plain asyncio code and threads (see ``Supervisor.start``): it runs
        until ``DynamicSupervisor.stop`` or until the runtime stops.
        """
        return await cls._start(args, kwargs, name, timeout, link=False)

    @classmethod
    async def _start(cls, args: tuple[Any, ...], kwargs: dict[str, Any], name: Any,
                     timeout: float | None, *, link: bool) -> Pid | None:
        check_start_options(name, timeout)
        if cls.init is DynamicSupervisor.init:
            args, kwargs = (_checked_init(*args, **kwargs),), {}
        return await start_supervisor(_DynamicSupervisorServer, cls, args, kwargs, name, timeout, link)

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
            if len(args) != 1 or not isinstance(args[0], dict):
                raise TypeError("DynamicSupervisor.child_spec(**options) takes keyword options "
                                f"(or one dict of them), got {args!r}")
            kwargs = {**args[0], **kwargs}
        start_opts = {k: kwargs[k] for k in ("name", "timeout") if k in kwargs}
        check_start_options(start_opts.get("name"), start_opts.get("timeout"))
        _checked_init(**{k: v for k, v in kwargs.items() if k not in start_opts})
        name = kwargs.get("name")
        child_id = DynamicSupervisor if name is None else name.key if isinstance(name, lowlevel.via) else name
        return ChildSpec(id=child_id, start=(DynamicSupervisor.start_link, (), kwargs), type="supervisor")

    @staticmethod
    async def start_child(supervisor: ServerRef, spec: Any, timeout: float | None = None) -> Pid | None:
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
        status, value = await GenServer.call(supervisor, (START, spec), timeout)
        if status == "ok":
            pid: Pid | None = value
            return pid
        if value == "max_children":
            raise StartError("max_children", "start_child: the supervisor already has max_children children")
        raise StartError(value, f"start_child: the child failed to start: {value!r}")

    @staticmethod
    async def terminate_child(supervisor: ServerRef, pid: Pid, timeout: float | None = None) -> None:
        """Stop the child ``pid`` (as its ``shutdown`` says); it is not restarted.

        Raises:
            TypeError: ``pid`` is not a Pid.
            LookupError: ``pid`` is not a child of this supervisor.
        """
        check_server(supervisor, "supervisor", "DynamicSupervisor.terminate_child")
        if type(pid) is not Pid:
            raise TypeError(f"terminate_child(supervisor, pid): pid must be a Pid, got {pid!r}")
        check_timeout(timeout)
        status, _ = await GenServer.call(supervisor, (TERMINATE, pid), timeout)
        if status != "ok":
            raise LookupError(f"terminate_child: {pid!r} is not a child of this supervisor")

    @staticmethod
    async def which_children(supervisor: ServerRef, timeout: float | None = None) -> list[Child]:
        """The children as ``Child(None, pid, type, modules)`` (``pid`` is
        ``"restarting"`` while a failed restart waits to be retried)."""
        return children_from_reply(await call_supervisor(
            supervisor, (WHICH,), timeout, "DynamicSupervisor.which_children"))

    @staticmethod
    async def count_children(supervisor: ServerRef, timeout: float | None = None) -> dict[str, int]:
        """Counts: ``specs`` (children), ``active`` (running), ``supervisors``
        and ``workers`` (by type)."""
        counts: dict[str, int] = await call_supervisor(
            supervisor, (COUNT,), timeout, "DynamicSupervisor.count_children")
        return counts

    @staticmethod
    async def stop(supervisor: ServerRef, reason: Any = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor: its children stop concurrently, then it exits.

        Raises:
            NoProcess: no such supervisor.
            Timeout: it did not exit within ``timeout`` seconds.
        """
        await stop_supervisor(supervisor, reason, timeout, "DynamicSupervisor.stop")


class _DynamicSupervisorServer(SupervisorServer):
    """The dynamic supervisor process; ``DynamicSupervisor`` subclasses are its
    callback modules.

    ``children`` maps each child's pid, which is also its ``id``, to its
    ``ChildState``, in start order; a child whose restart failed stays under
    its old pid (with ``pid`` ``RESTARTING``) until the retry.
    """

    kind = "DynamicSupervisor"
    requests = {
        WHICH: (),
        COUNT: (),
        START: (not_a_spec,),
        TERMINATE: (not_a_pid,),
    }

    def _configure(self, mod: type, result: Any) -> dict[str, Any]:
        if result is None:
            result = {}
        if not isinstance(result, dict):
            raise TypeError(f"{mod.__qualname__}.init must return DynamicSupervisor.init(**options) "
                            f"(a dict), got {result!r}")
        options = _checked_init(result)
        self.max_children = options["max_children"]
        self.extra = options["extra_arguments"]
        self.children: dict[Pid, ChildState] = {}
        return options

    def _add(self, child: ChildState, pid: Pid | None) -> None:
        """Record ``child`` as running under ``pid`` (nothing if None: it chose not to start)."""
        if pid is not None:
            child.id = child.pid = pid
            self.children[pid] = child

    # -- requests ----------------------------------------------------------------------

    async def _start_child(self, spec: ChildSpec) -> tuple[Any, ...]:
        if len(self.children) >= self.max_children:
            return ("error", "max_children")
        fn, args, kwargs = spec.start
        child = ChildState(None, spec, (fn, self.extra + args if self.extra else args, kwargs))
        try:
            pid = await start_child_process(*child.start)
        except StartFailed as failed:
            return ("error", failed.reason)
        self._add(child, pid)
        return ("ok", pid)

    async def _terminate_child(self, pid: Pid) -> tuple[Any, ...]:
        child = self.children.pop(pid, None)
        if child is None:
            return ("not_found", None)
        await self._shut_down(child)
        return ("ok", None)

    async def _which_children(self) -> list[Child]:
        return [child.info(None) for child in self.children.values()]

    async def _count_children(self) -> dict[str, int]:
        children = self.children.values()
        supervisors = sum(1 for child in children if child.spec.type == "supervisor")
        restarting = sum(1 for child in children if child.pid == RESTARTING)
        specs = len(self.children)
        return {"specs": specs, "active": specs - restarting,
                "supervisors": supervisors, "workers": specs - supervisors}

    # -- exits and restarts ------------------------------------------------------

    def _exited(self, pid: Any) -> ChildState | None:
        child = self.children.get(pid) if type(pid) is Pid else None
        if child is None or type(child.pid) is not Pid:
            return None
        child.pid = None
        return child

    def _forget(self, child: ChildState) -> None:
        del self.children[child.id]

    async def _start_again(self, child: ChildState) -> None:
        """Start the failed ``child`` again, under a new pid."""
        try:
            pid = await start_child_process(*child.start)
        except StartFailed as failed:
            self._retry_later(child, failed.reason)
            return None
        del self.children[child.id]
        self._add(child, pid)
        return None

    # -- shutting down -----------------------------------------------------------------

    async def _stop_all(self) -> None:
        """Stop every running child at once; kill those still alive after their shutdown."""
        waiting: dict[Any, tuple[Pid, ChildState]] = {}
        deadlines: dict[float, list[Pid]] = {}
        for child in self.children.values():
            pid = child.pid
            if type(pid) is not Pid:
                continue
            waiting[lowlevel.monitor(pid)] = (pid, child)
            shutdown = child.shutdown
            if shutdown == "brutal_kill":
                lowlevel.exit(pid, "kill")
            else:
                lowlevel.exit(pid, "shutdown")
                if shutdown is not None:
                    deadlines.setdefault(shutdown, []).append(pid)
        tag = lowlevel.make_ref()
        me = self._pid
        timers = [lowlevel.send_after(me, (_KILL, tag, seconds), seconds) for seconds in deadlines]
        while waiting:
            msg = await lowlevel.receive(Down, (_KILL, tag, lowlevel.ANY))
            if type(msg) is Down:
                entry = waiting.pop(msg.ref, None)
                if entry is not None:
                    self._check_shutdown(entry[1], entry[0], msg.reason)
            else:
                for pid in deadlines[msg[2]]:
                    if lowlevel.is_alive(pid):
                        lowlevel.exit(pid, "kill")
        for timer in timers:
            lowlevel.cancel_timer(timer)
        self.children.clear()
