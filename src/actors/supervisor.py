"""Supervisor: a process that starts, watches and restarts other processes.

A supervisor is a process whose only job is to look after other processes,
its *children*: it starts them, notices when one exits, and restarts it
according to rules you choose.  Supervisors under supervisors make a
*supervision tree*, the backbone of a fault-tolerant actors program: a
crash is contained in the smallest subtree that can recover from it, and
the program starts and shuts down in a well-defined order.

Example
-------
Take a stack server:

>>> import actors
>>> from actors import CallExit, GenServer, Supervisor
>>> class Stack(GenServer):
...     def init(self, items):
...         self.items = list(items)
...
...     def handle_call(self, request, from_):
...         if request == "pop":
...             return self.items.pop(0)    # raises IndexError on an empty stack
...
...     def handle_cast(self, item):
...         self.items.insert(0, item)

Start a supervisor with one child, the stack, registered as ``"stack"``,
and pop until the stack crashes; the supervisor restarts it:

>>> async def main():
...     children = [Stack.child_spec(["hello"], name="stack")]
...     sup = await Supervisor.start_link(children, strategy="one_for_one")
...     print(await Supervisor.count_children(sup))
...     print(await GenServer.call("stack", "pop"))
...     try:
...         await GenServer.call("stack", "pop")    # the stack crashes...
...     except CallExit as exc:
...         print("crashed:", repr(exc.reason))
...     # ...and the supervisor restarts it.  It answers a request only after
...     # the crash before it in its mailbox: when this call returns, the new
...     # stack runs (no sleep needed, and none would be reliable).
...     await Supervisor.which_children(sup)
...     print(await GenServer.call("stack", "pop"))
>>> actors.run(main)
{'specs': 1, 'active': 1, 'supervisors': 0, 'workers': 1}
hello
crashed: IndexError('pop from empty list')
hello

Child specifications
--------------------
A child specification (``ChildSpec``) tells the supervisor how to start,
restart and stop one child:

* ``id`` (required): identifies the child within this supervisor; ids must
  be unique among its children.
* ``start`` (required): ``(fn, args)`` or ``(fn, args, kwargs)``.  ``fn``
  is an async function that starts the child *linked to its caller* (the
  supervisor) and returns its ``Pid``, like ``Stack.start_link``; returning
  ``None`` (a GenServer whose ``init`` raised ``Ignore``) means "not
  running" (OTP's ``:ignore``): the spec is kept and the child is not
  started.
* ``restart``: when to restart the child, see "Restart values" below.
* ``shutdown``: how to stop it, see "Shutdown values" below.
* ``type``: ``"worker"`` or ``"supervisor"``.
* ``modules``: informational; ``which_children`` shows the start function's
  class (or the function) when it is not given.

Wherever a child spec is expected you may also pass a dict with the same
keys, a class with a ``child_spec`` classmethod such as a GenServer
subclass ``Stack`` (meaning ``Stack.child_spec()``), or a tuple
``(Stack, arg)`` (meaning ``Stack.child_spec(arg)``).  To change a field,
``Supervisor.child_spec((Stack, []), id="stack2", shutdown=10)``: this is
how the same server runs twice under one supervisor.

Restart values
--------------
``restart`` says which exits count as failures:

* ``"permanent"`` (default): the child is always restarted, whatever its
  exit reason.
* ``"temporary"``: never restarted, whatever the reason and whatever the
  strategy (not even when a sibling's failure restarts everybody under
  ``one_for_all``); its spec is deleted when it exits.
* ``"transient"``: restarted only after an *abnormal* exit, i.e. a reason
  other than ``"normal"``, ``"shutdown"`` or ``("shutdown", term)``.

Choose exit reasons accordingly: ``"normal"`` is not logged, does not
restart a transient child and does not kill linked processes;
``"shutdown"`` and ``("shutdown", term)`` are not logged and do not restart
a transient child, but do kill linked processes that do not trap exits;
anything else (an exception, most reasons) is logged, restarts transient
children and kills linked processes.

Shutdown values
---------------
When a supervisor stops a child (on its own shutdown, on
``terminate_child``, or to restart it with its siblings) it sends the exit
signal ``"shutdown"`` and waits:

* a number of seconds (default ``5.0`` for a worker): a child that does
  not trap exits dies at once; one that traps exits (to clean up in
  ``terminate``) gets that long, after which it is killed (``"kill"``,
  untrappable).
* ``None`` (default for a supervisor): wait forever, so that a child
  supervisor has all the time it needs to stop its own children.
* ``"brutal_kill"``: kill at once, with no chance to clean up.

So a process that must clean up on shutdown traps exits and has a
``shutdown`` long enough for its cleanup.

Strategies
----------
``strategy=`` says what happens to the *other* children when one has to be
restarted:

* ``"one_for_one"`` (default): only the failed child is restarted.
* ``"one_for_all"``: all the other children are stopped (in reverse start
  order), then all are started again in start order.  Use it when the
  children depend on each other so much that none can work alone.
* ``"rest_for_one"``: the children started *after* the failed one are
  stopped (in reverse order), then the failed child and those are started
  again, in start order.  Use it when each child depends on the ones
  started before it.

Only failures count: a transient child that exits ``"normal"`` or a
temporary child that exits at all leaves its siblings alone.

Restart intensity
-----------------
A child that crashes as soon as it starts would be restarted forever.  To
stop that, a supervisor allows at most ``max_restarts`` restarts (default
3) within any ``max_seconds`` (default 5.0) window.  One more restart than
that, and the supervisor gives up: it stops all its children, in reverse
start order, and exits with reason ``"shutdown"``.  Its own supervisor then
decides what to do (restart it, as a permanent child, which restarts the
whole subtree, or give up in turn): failures escalate up the tree until a
level can handle them.  A restart that fails to start the child counts as
a restart too and is retried; such a child shows as ``"restarting"`` in
``which_children`` meanwhile.  The window is measured on the runtime's
clock, so ``actors.MockClock`` makes it deterministic in tests.

Start and shutdown
------------------
``start_link`` starts the children one at a time, in list order, each
start function running inside the supervisor process; it returns when all
are running.  If one fails to start, the ones already started are stopped
in reverse order and ``start_link`` raises ``StartError`` whose reason is
``("shutdown", ("failed_to_start_child", id, reason))``.

``Supervisor.stop(sup)``, or an exit signal from the supervisor's parent
(a supervisor traps exits), stops the children in reverse start order,
each as its ``shutdown`` says, then the supervisor exits.  A supervisor
killed with ``"kill"`` cannot do that: its children get the ``"killed"``
exit signal through their links.

Module-based supervisors
------------------------
Subclass ``Supervisor`` and write ``init`` to return the children and the
options, as Elixir's ``use Supervisor``::

    class MyApp(Supervisor):
        def init(self, greeting):
            children = [(Stack, [greeting])]
            return Supervisor.init(children, strategy="one_for_one")

    sup = await MyApp.start_link("hello", name="my_app")

``init`` receives the arguments of ``start_link`` (but ``name=`` and
``timeout=``) and runs inside the supervisor process before any child
starts; it returns ``Supervisor.init(children, **options)``, which is just
``(children, options)`` checked (a bare list of children also works, with
the default options); ``raise actors.Ignore()`` makes ``start_link``
return ``None``.  ``MyApp.child_spec(arg)`` (so ``MyApp`` and ``(MyApp,
arg)`` as a child) runs it under another supervisor with
``type="supervisor"``: this is how trees are built.  A module-based
supervisor has no other callbacks: keep state in its children.

Use the plain ``Supervisor.start_link(children, ...)`` at the top of a
program, and module-based supervisors for the subtrees, so that each can
be started as a child of another.

From outside any process
------------------------
``start_link`` links the supervisor to its caller, so it must be called in
a process, and the supervisor stops when that process exits.  From plain
asyncio code (``async with actors.Runtime()``) or from another thread
(``Runtime.start_thread``), start the top of the tree with
``Supervisor.start(children, ...)`` instead: same arguments, no link.  The
supervisor then has no parent; it runs until ``Supervisor.stop(sup)`` or
until the runtime stops, which shuts it down as a parent would::

    async with actors.Runtime():
        sup = await Supervisor.start(children, strategy="one_for_one")
        ...

Name registration
-----------------
``name="my_sup"`` (or ``name=via(registry, key)``) registers the
supervisor, as for a ``GenServer``; every function below accepts a pid, a
name or a ``via``.

Managing children at run time
-----------------------------
``which_children``, ``count_children``, ``start_child``,
``terminate_child``, ``restart_child`` and ``delete_child`` change or
inspect a running supervisor; all are awaited and take ``timeout=``
(default ``None``: wait forever, as in OTP).  To start many similar
children on demand, use a ``DynamicSupervisor`` instead.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from . import lowlevel
from .lowlevel import Pid, StartError
from ._supervision import (
    COUNT, DELETE, RESTART, RESTARTING, START, TERMINATE, WHICH, Child, ChildState, StartFailed,
    child_name, children_from_reply,
    SupervisorServer, call_supervisor, check_intensity, check_start_options, check_timeout,
    not_a_spec, not_hashable, start_child_process, start_supervisor, stop_supervisor,
)
from .child_spec import ChildSpec, child_spec as _normalize_spec
from .gen_server import GenServer, ServerRef, Stop
from .lowlevel import check_server

__all__ = ["Supervisor", "Child"]


STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


async def _call_about_child(supervisor: ServerRef, tag: str, child_id: Any, timeout: Any, fn: str) -> Any:
    """Send the request ``(tag, child_id)`` for ``Supervisor.<fn>``, once its
    arguments are checked."""
    what = f"Supervisor.{fn}"
    check_server(supervisor, "supervisor", what)
    if not_hashable(child_id) is not None:
        raise TypeError(f"{what}: child_id must be hashable (a child spec's id), got {child_id!r}")
    check_timeout(timeout)
    return await GenServer.call(supervisor, (tag, child_id), timeout)



def _init_options(children: Any, strategy: Any = "one_for_one", max_restarts: Any = 3,
                  max_seconds: Any = 5.0) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(children, (str, bytes, dict, ChildSpec)) or not isinstance(children, (list, tuple)):
        raise TypeError(f"children must be a list of child specs, got {children!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}; got {strategy!r}")
    check_intensity(max_restarts, max_seconds)
    return list(cast("Iterable[object]", children)), {"strategy": strategy, "max_restarts": max_restarts, "max_seconds": max_seconds}


def _normalize_children(children: list[Any]) -> list[ChildSpec]:
    """Each child as a ChildSpec; duplicate ids are refused (ValueError)."""
    specs: list[ChildSpec] = []
    seen: set[Any] = set()
    for position, child in enumerate(children):
        try:
            spec = _normalize_spec(child)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"children[{position}]: {exc}") from None
        if spec.id in seen:
            raise ValueError(
                f"children[{position}]: duplicate child id {spec.id!r}; give each child a unique id, "
                f"e.g. Supervisor.child_spec(spec, id=...)")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def _parse_init_result(mod: type, result: Any) -> tuple[list[ChildSpec], dict[str, Any]]:
    """Check what a module-based supervisor's ``init`` returned."""
    if isinstance(result, list):
        result = _checked_init(result)
    if not (isinstance(result, tuple) and len(result) == 2  # pyright: ignore[reportUnknownArgumentType]
            and isinstance(result[1], dict)):
        raise TypeError(
            f"{mod.__qualname__}.init must return Supervisor.init(children, **options) "
            f"(a (children, options) tuple) or a list of children; got {result!r}")
    children, options = cast("tuple[object, dict[str, Any]]", result)
    unknown = set(options) - {"strategy", "max_restarts", "max_seconds"}
    if unknown:
        raise ValueError(f"{mod.__qualname__}.init: unknown supervisor option(s): "
                         f"{', '.join(sorted(map(str, unknown)))}")
    children, options = _init_options(children, **options)
    return _normalize_children(children), options


def _checked_init(*args: Any, **options: Any) -> tuple[list[Any], dict[str, Any]]:
    """``Supervisor.init``: the children and options, checked."""
    if not args and "children" in options:
        args = (options.pop("children"),)
    if not 1 <= len(args) <= 4:
        raise TypeError(
            "Supervisor.init(children, strategy='one_for_one', max_restarts=3, max_seconds=5.0) "
            f"takes the list of children first; got {len(args)} positional arguments")
    unknown = set(options) - {"strategy", "max_restarts", "max_seconds"}
    if unknown:
        raise TypeError(f"Supervisor: unknown option(s) {', '.join(sorted(unknown))} (known: strategy, "
                        f"max_restarts, max_seconds, and name and timeout for start_link)")
    return _init_options(*args, **options)


class Supervisor:
    """Starts, watches and restarts child processes; see the module documentation.

    Use it directly (``await Supervisor.start_link(children, strategy=...)``)
    or subclass it and define ``init`` (a module-based supervisor).
    """

    if TYPE_CHECKING:
        # For type checkers `init` is a plain function of the class, as it is when
        # called `Supervisor.init(...)`, so that a module-based supervisor overrides it
        # with `def init(self, ...)` or `async def init(self, ...)` (mypy refuses
        # a method in place of a staticmethod).
        def init(*args: Any, **options: Any) -> Any: ...
    else:
        @staticmethod
        def init(*args: Any, **options: Any) -> tuple[list[Any], dict[str, Any]]:
            """Return the children and options of a supervisor, checked.

            Called as ``Supervisor.init(children, strategy=..., max_restarts=...,
            max_seconds=...)`` at the end of a module-based supervisor's ``init``
            (as Elixir's ``Supervisor.init/2``); it is also the default ``init``,
            used by ``Supervisor.start_link(children, ...)``.

            Args:
                children: a list of child specs (anything ``child_spec`` accepts).
                strategy: ``"one_for_one"`` (default), ``"one_for_all"`` or
                    ``"rest_for_one"``.
                max_restarts: restarts allowed within ``max_seconds`` (default 3).
                max_seconds: the intensity window in seconds (default 5.0).

            Returns:
                ``(children, options)``.

            Raises:
                TypeError, ValueError: an option is invalid (the message names it).
            """
            return _checked_init(*args, **options)

    # -- starting ----------------------------------------------------------------

    @classmethod
    async def start_link(cls, *args: Any, name: Any = None, timeout: float | None = None,
                         **kwargs: Any) -> Pid | None:
        """Start a supervisor linked to the caller, and its children.

        ``Supervisor.start_link(children, strategy="one_for_one",
        max_restarts=3, max_seconds=5.0, name=None, timeout=None)``; for a
        module-based supervisor ``MySup.start_link(*args, name=None,
        timeout=None, **kwargs)`` passes ``args`` and ``kwargs`` to
        ``MySup.init``.

        Args:
            children: the child specs, started in this order.
            strategy: ``"one_for_one"``, ``"one_for_all"`` or ``"rest_for_one"``.
            max_restarts: restarts allowed within ``max_seconds``; one more
                and the supervisor exits with ``"shutdown"``.
            max_seconds: the intensity window, in seconds.
            name: a ``str`` or ``via(registry, key)`` to register it under.
            timeout: seconds to wait for the supervisor and all its children
                to start (``None``: forever).

        Returns:
            The supervisor's ``Pid`` (``None`` if a module-based ``init``
            raised ``Ignore``).

        Raises:
            TypeError, ValueError: malformed child specs, duplicate ids, an
                unknown strategy, a bad intensity (before anything starts).
            StartError: a child failed to start (``.reason`` is
                ``("shutdown", ("failed_to_start_child", id, reason))``), or a
                module-based ``init`` raised.
            AlreadyRegistered: ``name`` is taken.
        """
        return await cls._start(args, kwargs, name, timeout, link=True)

    @classmethod
    async def start(cls, *args: Any, name: Any = None, timeout: float | None = None,
                    **kwargs: Any) -> Pid | None:
        """Like ``start_link``, without the link: the supervisor outlives its caller.

        For the top of a tree started from plain asyncio code or from a
        thread (``Runtime.start_thread``): it runs until ``Supervisor.stop``
        or until the runtime stops, which shuts it down as its parent would
        (its children in reverse start order).  Works inside a process too.
        """
        return await cls._start(args, kwargs, name, timeout, link=False)

    @classmethod
    async def _start(cls, args: tuple[Any, ...], kwargs: dict[str, Any], name: Any,
                     timeout: float | None, *, link: bool) -> Pid | None:
        check_start_options(name, timeout)
        if cls.init is Supervisor.init:
            children, options = _checked_init(*args, **kwargs)
            args, kwargs = (_normalize_children(children),), options
        return await start_supervisor(_SupervisorServer, cls, args, kwargs, name, timeout, link)

    @classmethod
    def child_spec(cls, *args: Any, **kwargs: Any) -> ChildSpec:
        """Build a child spec.

        ``Supervisor.child_spec(spec, **overrides)`` normalizes ``spec`` (a
        ``ChildSpec``, dict, class or ``(class, arg)``) and changes fields
        (``id``, ``restart``, ``shutdown``, ``type``, ``start``, ``modules``)::

            Supervisor.child_spec((Stack, []), id="stack2")

        ``Supervisor.child_spec([children...], id=..., strategy=...)`` (a list)
        is the spec of a nested plain supervisor with those children; keyword
        arguments are the start options (``strategy``, ``max_restarts``,
        ``max_seconds``, ``name``) and spec overrides (default id:
        ``Supervisor``).

        On a module-based supervisor, ``MySup.child_spec(*args, **kwargs)`` is
        the spec that runs ``MySup.start_link(*args, **kwargs)`` with
        ``id=MySup`` and ``type="supervisor"``.

        Raises:
            TypeError, ValueError: the spec or an override is malformed.
        """
        if cls is not Supervisor:
            return ChildSpec(id=cls, start=(cls.start_link, args, kwargs), type="supervisor")
        if len(args) != 1:
            raise TypeError(
                "Supervisor.child_spec(spec, **overrides) takes one spec (a ChildSpec, a dict, a class "
                "or a (class, arg) tuple), or a list of children for a nested supervisor; as a child, "
                "use (Supervisor, [children...]) or a Supervisor subclass")
        spec = args[0]
        if isinstance(spec, list):
            start_keys = {"strategy", "max_restarts", "max_seconds", "name"}
            options = {k: v for k, v in kwargs.items() if k in start_keys}
            overrides = {k: v for k, v in kwargs.items() if k not in start_keys}
            children, _ = _checked_init(spec, **{k: v for k, v in options.items() if k != "name"})
            check_start_options(options.get("name"), None)
            _normalize_children(children)
            base = ChildSpec(id=Supervisor, start=(Supervisor.start_link, (children,), options),
                             type="supervisor")
            return base.replace(**overrides) if overrides else base
        return _normalize_spec(spec, **kwargs)

    # -- managing a running supervisor --------------------------------------------

    @staticmethod
    async def which_children(supervisor: ServerRef, timeout: float | None = None) -> list[Child]:
        """The children, in start order, as ``Child(id, pid, type, modules)``.

        ``pid`` is ``None`` for a child that is not running and
        ``"restarting"`` while a failed restart waits to be retried.
        """
        return children_from_reply(await call_supervisor(
            supervisor, (WHICH,), timeout, "Supervisor.which_children"))

    @staticmethod
    async def count_children(supervisor: ServerRef, timeout: float | None = None) -> dict[str, int]:
        """Counts: ``specs`` (all children), ``active`` (running),
        ``supervisors`` and ``workers`` (by type, running or not)."""
        counts: dict[str, int] = await call_supervisor(
            supervisor, (COUNT,), timeout, "Supervisor.count_children")
        return counts

    @staticmethod
    async def start_child(supervisor: ServerRef, spec: Any, timeout: float | None = None) -> Pid | None:
        """Add a child spec to a running supervisor and start the child.

        The child goes last in start order (so it is stopped first).

        Returns:
            The child's ``Pid``; ``None`` if its start function chose not to
            start (the spec is kept, unless the child is temporary).

        Raises:
            TypeError, ValueError: ``spec`` is malformed (nothing is sent).
            StartError: ``.reason`` is ``("already_started", pid)`` if a
                running child has this id, ``"already_present"`` if a stopped
                one has, else why the child failed to start (its spec is then
                discarded).
        """
        check_server(supervisor, "supervisor", "Supervisor.start_child")
        spec = _normalize_spec(spec)
        check_timeout(timeout)
        status, value = await GenServer.call(supervisor, (START, spec), timeout)
        if status == "ok":
            pid: Pid | None = value
            return pid
        raise StartError(value, f"start_child {spec.id!r}: {value!r}")

    @staticmethod
    async def terminate_child(supervisor: ServerRef, child_id: Any, timeout: float | None = None) -> None:
        """Stop the child ``child_id`` (as its ``shutdown`` says); keep its spec.

        The spec stays so that ``restart_child`` can start it again (unless
        the child is temporary: its spec is deleted).  A stopped child is not
        restarted by the supervisor.

        Raises:
            LookupError: no child has this id.
            TypeError: ``child_id`` is not hashable (nothing is sent).
        """
        status, _ = await _call_about_child(supervisor, TERMINATE, child_id, timeout, "terminate_child")
        if status != "ok":
            raise LookupError(f"terminate_child: the supervisor has no child with id {child_id!r}")

    @staticmethod
    async def restart_child(supervisor: ServerRef, child_id: Any, timeout: float | None = None) -> Pid | None:
        """Start again a child that is not running (after ``terminate_child``).

        Returns:
            The child's new ``Pid`` (``None`` if it chose not to start).

        Raises:
            LookupError: no child has this id.
            StartError: ``.reason`` is ``"running"`` or ``"restarting"`` if the
                child is, else why it failed to start.
            TypeError: ``child_id`` is not hashable (nothing is sent).
        """
        status, value = await _call_about_child(supervisor, RESTART, child_id, timeout, "restart_child")
        if status == "ok":
            pid: Pid | None = value
            return pid
        if status == "not_found":
            raise LookupError(f"restart_child: the supervisor has no child with id {child_id!r}")
        raise StartError(value, f"restart_child {child_id!r}: {value!r}")

    @staticmethod
    async def delete_child(supervisor: ServerRef, child_id: Any, timeout: float | None = None) -> None:
        """Delete the spec of a child that is not running.

        Raises:
            LookupError: no child has this id.
            RuntimeError: the child is running or restarting
                (``terminate_child`` it first).
            TypeError: ``child_id`` is not hashable (nothing is sent).
        """
        status, value = await _call_about_child(supervisor, DELETE, child_id, timeout, "delete_child")
        if status == "not_found":
            raise LookupError(f"delete_child: the supervisor has no child with id {child_id!r}")
        if status != "ok":
            raise RuntimeError(f"delete_child: child {child_id!r} is {value}; terminate_child it first")

    @staticmethod
    async def stop(supervisor: ServerRef, reason: Any = "normal", timeout: float | None = None) -> None:
        """Stop the supervisor: its children stop in reverse start order, then it exits.

        Raises:
            NoProcess: no such supervisor.
            Timeout: it did not exit within ``timeout`` seconds.
        """
        await stop_supervisor(supervisor, reason, timeout, "Supervisor.stop")


class _SupervisorServer(SupervisorServer):
    """The supervisor process (OTP's ``supervisor`` gen_server); ``Supervisor``
    subclasses are its callback modules.

    ``children`` maps each child's id to its ``ChildState``, in start order;
    ``by_pid`` holds exactly the children whose ``pid`` is a Pid.
    """

    kind = "Supervisor"
    requests = {
        WHICH: (),
        COUNT: (),
        START: (not_a_spec,),
        TERMINATE: (not_hashable,),
        RESTART: (not_hashable,),
        DELETE: (not_hashable,),
    }

    def _configure(self, mod: type, result: Any) -> dict[str, Any]:
        specs, options = _parse_init_result(mod, result)
        self.strategy = options["strategy"]
        self.children: dict[Any, ChildState] = {}
        for spec in specs:
            self.children[spec.id] = ChildState(spec.id, spec, spec.start)
        self.by_pid: dict[Pid, ChildState] = {}
        return options

    async def init(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        await super().init(mod, args, kwargs)
        for child in list(self.children.values()):
            try:
                await self._start(child)
            except StartFailed as failed:
                self.report(logging.ERROR, "child_start_failed", "child %s failed to start: %r",
                            child_name(child.id), failed.reason, child_id=child.id, reason=failed.reason)
                await self._stop_all()
                raise Stop(("shutdown", ("failed_to_start_child", child.id, failed.reason))) from None
        return None

    # -- starting and stopping children ----------------------------------------------

    async def _start(self, child: ChildState) -> Pid | None:
        """Start ``child``; record its pid.  A temporary child that does not
        start is forgotten.  Raises StartFailed."""
        pid = await start_child_process(*child.start)
        if pid is None:
            child.pid = None
            if child.restart == "temporary":
                del self.children[child.id]
        else:
            child.pid = pid
            self.by_pid[pid] = child
        return pid

    async def _stop(self, child: ChildState) -> None:
        """Stop ``child`` if it runs; forget it if it is temporary."""
        if type(child.pid) is Pid:
            del self.by_pid[child.pid]
        await self._shut_down(child)
        if child.restart == "temporary":
            self.children.pop(child.id, None)

    async def _stop_children(self, children: Any) -> None:
        for child in children:
            await self._stop(child)

    async def _stop_all(self) -> None:
        await self._stop_children(reversed(list(self.children.values())))

    # -- exits and restarts ------------------------------------------------------

    def _exited(self, pid: Any) -> ChildState | None:
        child = self.by_pid.pop(pid, None) if type(pid) is Pid else None
        if child is not None:
            child.pid = None
        return child

    def _forget(self, child: ChildState) -> None:
        if child.restart == "temporary":
            del self.children[child.id]

    async def _start_again(self, child: ChildState) -> None:
        """Restart the failed ``child`` as the strategy says."""
        strategy = self.strategy
        if strategy == "one_for_one":
            try:
                await self._start(child)
            except StartFailed as failed:
                self._retry_later(child, failed.reason)
            return None
        order = list(self.children.values())
        if strategy == "one_for_all":
            again = order
        else:
            again = order[order.index(child):]
        await self._stop_children(reversed(again))
        for other in again:
            if other.id not in self.children:        # a temporary child, stopped for good
                continue
            try:
                await self._start(other)
            except StartFailed as failed:
                self._retry_later(other, failed.reason)
                return None
        return None

    # -- requests ----------------------------------------------------------------------

    async def _which_children(self) -> list[Child]:
        return [child.info(child.id) for child in self.children.values()]

    async def _count_children(self) -> dict[str, int]:
        active = supervisors = 0
        alive = lowlevel.is_alive
        for child in self.children.values():
            if type(child.pid) is Pid and alive(child.pid):
                active += 1
            if child.spec.type == "supervisor":
                supervisors += 1
        specs = len(self.children)
        return {"specs": specs, "active": active, "supervisors": supervisors, "workers": specs - supervisors}

    async def _start_child(self, spec: ChildSpec) -> tuple[Any, ...]:
        old = self.children.get(spec.id)
        if old is not None:
            if type(old.pid) is Pid:
                return ("error", ("already_started", old.pid))
            return ("error", "already_present")
        child = ChildState(spec.id, spec, spec.start)
        self.children[spec.id] = child
        try:
            pid = await self._start(child)
        except StartFailed as failed:
            del self.children[spec.id]
            return ("error", failed.reason)
        return ("ok", pid)

    async def _terminate_child(self, child_id: Any) -> tuple[Any, ...]:
        child = self.children.get(child_id)
        if child is None:
            return ("not_found", None)
        await self._stop(child)
        return ("ok", None)

    def _stopped(self, child_id: Any) -> tuple[ChildState | None, tuple[Any, ...] | None]:
        """The child ``child_id`` if it is not running, else the reply that says why not."""
        child = self.children.get(child_id)
        if child is None:
            return None, ("not_found", None)
        if child.pid is not None:
            return None, ("error", "running" if type(child.pid) is Pid else RESTARTING)
        return child, None

    async def _restart_child(self, child_id: Any) -> tuple[Any, ...]:
        child, refusal = self._stopped(child_id)
        if child is None:
            assert refusal is not None
            return refusal
        try:
            pid = await self._start(child)
        except StartFailed as failed:
            return ("error", failed.reason)
        return ("ok", pid)

    async def _delete_child(self, child_id: Any) -> tuple[Any, ...]:
        child, refusal = self._stopped(child_id)
        if child is None:
            assert refusal is not None
            return refusal
        del self.children[child.id]
        return ("ok", None)
