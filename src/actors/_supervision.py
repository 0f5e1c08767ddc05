"""What every supervisor shares: the server machinery under ``Supervisor``,
``DynamicSupervisor`` and (through the latter) ``TaskSupervisor``.

It holds the ``Child`` entries of ``which_children``, the request tags and
their checks, the helpers that start a child and shut one down, the
restart-intensity window, and ``SupervisorServer``: the GenServer base
class that traps exits, answers (or refuses) requests, restarts a failed
child or retries a failed restart, gives up beyond the restart intensity
and stops the children when it exits.  ``supervisor.py`` and
``dynamic_supervisor.py`` add what makes each of them different; the
concepts are explained in their module documentation.
"""
from __future__ import annotations

# Messages and requests are untyped (Any) and this module matches them by
# shape, as in `type(msg) is tuple and len(msg) == 2`; pyright narrows them to
# tuple[Unknown, ...], which its strict mode reports at every use.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

import collections
import inspect
import logging
import math
import time
from typing import Any, NamedTuple

from . import lowlevel
from .lowlevel import ANY, Down, Exit, Pid, StartError, check_server, in_process, is_clean_exit
from .child_spec import ChildSpec
from .gen_server import GenServer, ServerRef, Stop, bad_request, start_server

#: Where every supervisor (Supervisor, DynamicSupervisor, TaskSupervisor) logs.
_logger = logging.getLogger("actors.supervisor")

#: ``Child.pid`` of a child whose restart failed and will be tried again.
RESTARTING = "restarting"

# The requests a supervisor answers (each server accepts those it knows), and
# the message a supervisor sends itself to try a failed restart again.
WHICH = "$sup_which_children"
COUNT = "$sup_count_children"
START = "$sup_start_child"
TERMINATE = "$sup_terminate_child"
RESTART = "$sup_restart_child"
DELETE = "$sup_delete_child"
RETRY = "$sup_retry_restart"


class Child(NamedTuple):
    """One entry of ``which_children``.

    Attributes:
        id: the child's id (``None`` under a ``DynamicSupervisor``).
        pid: its ``Pid``; ``None`` if it is not running; ``"restarting"``
            while a failed restart waits to be tried again.
        type: ``"worker"`` or ``"supervisor"``.
        modules: the spec's ``modules``, or ``[the start function's class]``
            (``[fn]`` for a plain function) when the spec gives none.
    """

    id: Any
    pid: Any
    type: str
    modules: Any


# -- starting and stopping one child ------------------------------------------------


def default_modules(spec: ChildSpec) -> Any:
    """``spec.modules``, or the class whose ``start_link`` starts the child."""
    if spec.modules is not None:
        return spec.modules
    fn = spec.start[0]
    owner = getattr(fn, "__self__", None)
    return [owner if isinstance(owner, type) else fn]


class StartFailed(Exception):
    """A child's start function failed; ``reason`` is why (OTP's ``{error, Reason}``)."""

    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


async def start_child_process(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Pid | None:
    """Run a start function in the calling (supervisor) process.

    Returns:
        The child's ``Pid``, or ``None`` if it chose not to start.

    Raises:
        StartFailed: the start function raised (``StartError`` is unwrapped to
            its reason) or returned something else than a Pid or None.
    """
    try:
        result = fn(*args, **kwargs)
        if type(result) is not Pid and inspect.isawaitable(result):
            result = await result
    except StartError as exc:
        raise StartFailed(exc.reason) from exc
    except Exception as exc:
        raise StartFailed(exc) from exc
    if result is None or type(result) is Pid:
        return result
    raise StartFailed(("bad_return", result))


async def shutdown_child(pid: Pid, shutdown: Any) -> Any:
    """Stop one linked child as its ``shutdown`` says; return its exit reason.

    The child gets the exit signal ``"shutdown"`` and ``shutdown`` seconds to
    exit (``None``: forever), then ``"kill"``; ``"brutal_kill"`` kills at
    once.  Afterwards the link is gone and no ``Exit`` from the child is left
    in the caller's mailbox.
    """
    ref = lowlevel.monitor(pid)
    pattern = Down(ref, ANY, ANY)
    if shutdown == "brutal_kill":
        lowlevel.exit(pid, "kill")
        down = await lowlevel.receive(pattern)
    else:
        lowlevel.exit(pid, "shutdown")
        if shutdown is None:
            down = await lowlevel.receive(pattern)
        else:
            down = await lowlevel.receive(pattern, timeout=shutdown, default=None)
            if down is None:
                lowlevel.exit(pid, "kill")
                down = await lowlevel.receive(pattern)
    lowlevel.unlink(pid)
    await lowlevel.receive(Exit(pid, ANY), timeout=0, default=None)
    return down.reason


def shutdown_was_clean(reason: Any, shutdown: Any, restart: str) -> bool:
    """Whether a child stopped by ``shutdown_child`` exited as expected (else OTP logs it)."""
    if reason == "noproc":                      # it had already exited
        return True
    if shutdown == "brutal_kill":
        return bool(reason == "killed")
    if reason == "normal":
        return restart != "permanent"
    return is_clean_exit(reason)


#: Restarts made by every supervisor of this Python process since it started
#: (the observer turns it into a rate).
restart_total: int = 0


class Intensity:
    """The restart-intensity window: at most ``max_restarts`` in ``max_seconds``."""

    __slots__ = ("max_restarts", "max_seconds", "times", "now")

    def __init__(self, max_restarts: int, max_seconds: float) -> None:
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        # No more than max_restarts + 1 timestamps ever matter.
        self.times: collections.deque[float] = collections.deque(maxlen=max_restarts + 1)
        scheduler = lowlevel.current_scheduler()
        assert scheduler is not None, "a supervisor runs in a process"
        self.now = scheduler.now

    def add(self) -> bool:
        """Record a restart now; False if that is one too many (give up)."""
        now = self.now()
        times = self.times
        times.append(now)
        horizon = now - self.max_seconds
        while times[0] < horizon:
            times.popleft()
        return len(times) <= self.max_restarts


# -- options ---------------------------------------------------------------------------


def check_intensity(max_restarts: Any, max_seconds: Any) -> None:
    """Validate ``max_restarts`` and ``max_seconds`` (TypeError / ValueError)."""
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int):
        raise TypeError(f"max_restarts must be an int >= 0, got {max_restarts!r}")
    if max_restarts < 0:
        raise ValueError(f"max_restarts must be >= 0, got {max_restarts!r}")
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)):
        raise TypeError(f"max_seconds must be a number of seconds > 0, got {max_seconds!r}")
    if math.isnan(max_seconds) or max_seconds <= 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")


def check_start_options(name: Any, timeout: Any) -> None:
    """Validate ``name=`` and ``timeout=`` of a supervisor's start_link."""
    if name is not None and not isinstance(name, (str, lowlevel.via)):
        raise TypeError(f"name must be a str, a via(registry, key) or None, got {name!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
        if math.isnan(timeout) or timeout < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout!r}")


def check_timeout(timeout: Any) -> None:
    """Validate the ``timeout=`` of a management call."""
    check_start_options(None, timeout)


# -- requests to a running supervisor ----------------------------------------------
# A server checks every request against the forms it knows before acting on it,
# so that a malformed one (a raw call, a client's bad argument) gets an error
# reply instead of crashing the supervisor and, through their links, its children.


def not_hashable(value: Any) -> str | None:
    """Why ``value`` cannot be a dict key, or None."""
    try:
        hash(value)
    except Exception:
        return f"{value!r} is not hashable"
    return None


def not_a_spec(value: Any) -> str | None:
    """Why ``value`` is not a ``ChildSpec``, or None."""
    return None if isinstance(value, ChildSpec) else f"{value!r} is not a ChildSpec"


def not_a_pid(value: Any) -> str | None:
    """Why ``value`` is not a ``Pid``, or None."""
    return None if type(value) is Pid else f"{value!r} is not a Pid"


def malformed(request: Any, forms: dict[Any, Any]) -> str | None:
    """Why ``request`` is not one of ``forms``, or None if it is.

    ``forms`` maps each request tag to the checks of its arguments: a request
    is the tuple ``(tag, *args)`` with one argument per check, and each check
    returns why its argument is wrong (None if it is fine).
    """
    if type(request) is not tuple or not request:
        return "a request is a (tag, *args) tuple"
    try:
        checks = forms.get(request[0])
    except Exception:
        checks = None
    if checks is None:
        return "unknown request"
    if len(request) != 1 + len(checks):
        return f"{request[0]!r} takes {len(checks)} argument(s), got {len(request) - 1}"
    for check, arg in zip(checks, request[1:]):
        why: str | None = check(arg)
        if why is not None:
            return why
    return None


# -- starting a supervisor -------------------------------------------------------------


def mark_bad_input(exc: BaseException) -> BaseException:
    """Tag a TypeError/ValueError about a supervisor's own configuration.

    Such an error raised while a module-based supervisor's ``init`` result is
    checked (inside the new process) is raised again, as itself, by
    ``start_link`` in the caller, instead of being wrapped in ``StartError``.
    """
    exc._actors_bad_input = True  # type: ignore[attr-defined]
    return exc


def reraise_bad_input(err: StartError) -> None:
    """If ``err`` wraps a tagged configuration error, raise that error instead."""
    reason = err.reason
    if isinstance(reason, (TypeError, ValueError)) and getattr(reason, "_actors_bad_input", False):
        raise reason.with_traceback(None) from None


async def start_supervisor(server: type[GenServer], cls: type, args: tuple[Any, ...],
                           kwargs: dict[str, Any], name: Any,
                           timeout: Any, link: bool = True) -> Pid | None:
    """Start ``server`` (the GenServer running a supervisor module ``cls``),
    linked to the caller (``start_link``) or not (``start``)."""
    if link and not in_process():
        raise RuntimeError(
            f"{cls.__qualname__}.start_link() must be called inside a process (the supervisor "
            f"links to its caller, and stops when it exits); from plain asyncio code or a "
            f"thread, use {cls.__qualname__}.start(...), which starts it unlinked: it runs "
            f"until it is stopped or the runtime stops")
    try:
        return await start_server(server, (cls, args, kwargs), {}, name=name, timeout=timeout, link=link)
    except StartError as err:
        reraise_bad_input(err)
        if isinstance(err, lowlevel.Timeout):
            raise
        raise StartError(err.reason, f"{cls.__qualname__} failed to start: {err.reason!r}") from None


def describe(server: Any) -> str:
    """``"<0.5.0> (my_sup)"``: how log messages name a supervisor."""
    pid = server._pid
    return f"{pid!r} ({server._name!r})" if server._name is not None else repr(pid)


# -- the client side -------------------------------------------------------------------


def portable_child(child: Child) -> Child:
    """``child`` as it can travel to another node: its id and modules (classes,
    functions) named by ``child_name`` where they are not plain terms."""
    def name(value: Any) -> Any:
        return child_name(value) if callable(value) else value
    return Child(name(child.id), child.pid, child.type, [name(m) for m in child.modules or ()])


def children_from_reply(reply: Any) -> list[Child]:
    """``which_children``'s reply as ``Child`` tuples (from another node they
    arrive as plain tuples)."""
    return [c if type(c) is Child else Child(*c) for c in reply]


async def call_supervisor(supervisor: ServerRef, request: tuple[Any, ...], timeout: Any, what: str) -> Any:
    """Check the ``supervisor`` and ``timeout`` arguments of the client function
    ``what``, then send ``request`` and return the reply."""
    check_server(supervisor, "supervisor", what)
    check_timeout(timeout)
    return await GenServer.call(supervisor, request, timeout)


async def stop_supervisor(supervisor: ServerRef, reason: Any, timeout: Any, what: str) -> None:
    """``GenServer.stop`` for the client function ``what``, once ``supervisor`` is checked."""
    check_server(supervisor, "supervisor", what)
    await GenServer.stop(supervisor, reason, timeout)


# -- the supervisor process ----------------------------------------------------------

#: The method of ``SupervisorServer`` that answers each request.
ANSWERS = {
    WHICH: "_which_children",
    COUNT: "_count_children",
    START: "_start_child",
    TERMINATE: "_terminate_child",
    RESTART: "_restart_child",
    DELETE: "_delete_child",
}


def child_name(child_id: Any) -> str:
    """How log messages name a child id: a class or function as
    ``module.qualname`` (as the record's ``child_id`` field has it), anything
    else as its repr (``'worker'``)."""
    qualname = getattr(child_id, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{getattr(child_id, '__module__', None) or '?'}.{qualname}"
    return repr(child_id)


def describe_child(child: "ChildState", pid: Pid) -> str:
    """How log messages name a child: its id, then its pid if that is not the id."""
    return repr(pid) if child.id is pid else f"{child_name(child.id)} ({pid!r})"


class ChildState:
    """One child of a supervisor: how to start it, and what runs now.

    A supervisor keeps its children in ``children``, a dict from ``id`` to
    ``ChildState`` in start order.  ``pid`` is the running ``Pid``, ``None``
    (not running) or ``RESTARTING`` (a failed restart waits to be retried).
    ``restarts`` counts the times the supervisor restarted it, and
    ``failed`` is why its last restart failed (both for the logs);
    ``last_restart`` is ``(reason, wall-clock time)`` of its last restart, or
    None (for the observer).
    """

    __slots__ = ("id", "spec", "start", "restart", "shutdown", "pid", "restarts", "failed",
                 "last_restart")

    def __init__(self, child_id: Any, spec: ChildSpec, start: tuple[Any, ...]) -> None:
        self.id = child_id
        self.spec = spec
        self.start = start
        self.restart = spec.restart
        self.shutdown = spec.shutdown
        self.pid: Any = None
        self.restarts = 0
        self.failed: Any = None
        self.last_restart: tuple[Any, float] | None = None

    def info(self, child_id: Any) -> Child:
        """This child as ``which_children`` shows it, with ``child_id`` as its id."""
        return Child(child_id, self.pid, self.spec.type, default_modules(self.spec))


class SupervisorServer(GenServer):
    """The GenServer under every supervisor; its subclasses say how they differ.

    A subclass sets ``kind`` (its name in logs and errors) and ``requests``
    (the requests it answers, as ``malformed`` takes them), defines the
    methods ``ANSWERS`` names for those requests, and:

    * ``_configure(mod, result)``: check ``result``, what ``mod.init``
      returned (TypeError/ValueError), set up ``children``, and return the
      options (with ``max_restarts`` and ``max_seconds``);
    * ``_exited(pid)``: the running child whose pid this is, now marked not
      running (``pid`` None); None if there is none;
    * ``_forget(child)``: a child exited and is not restarted;
    * ``_start_again(child)``: restart a failed child (as the strategy says),
      calling ``_retry_later`` when a start fails;
    * ``_stop_all()``: stop every child, as the supervisor exits.
    """

    kind = "Supervisor"
    requests: dict[str, tuple[Any, ...]] = {}
    children: dict[Any, Any]
    _pid: Pid  # set by the GenServer loop before init

    async def init(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        lowlevel.process_flag("trap_exit", True)
        # Logs and Process.info name the supervisor module, not this server class.
        lowlevel.pdict_put("$initial_call", f"{mod.__module__}.{mod.__qualname__}.init")
        module: Any = mod.__new__(mod)
        result = module.init(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        try:
            options = self._configure(mod, result)
        except (TypeError, ValueError) as exc:
            raise mark_bad_input(exc) from None
        self.module = module
        self.intensity = Intensity(options["max_restarts"], options["max_seconds"])
        return None

    def _configure(self, mod: type, result: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _exited(self, pid: Any) -> ChildState | None:
        raise NotImplementedError

    def _forget(self, child: ChildState) -> None:
        raise NotImplementedError

    async def _start_again(self, child: ChildState) -> None:
        raise NotImplementedError

    async def _stop_all(self) -> None:
        raise NotImplementedError

    # -- requests ----------------------------------------------------------------------

    async def handle_call(self, request: Any, from_: Any) -> Any:
        why = malformed(request, self.requests)
        if why is not None:
            return bad_request(self, self.kind, request, why)
        answer = await getattr(self, ANSWERS[request[0]])(*request[1:])
        if request[0] == WHICH and from_[0].node != lowlevel.node_name():
            return [portable_child(child) for child in answer]   # for another node
        return answer

    def handle_cast(self, request: Any) -> None:
        self.report(logging.ERROR, "unexpected_message", "received unexpected cast: %r", request,
                    received=request)
        return None

    def report(self, level: int, event: str, msg: str, *args: Any, **fields: Any) -> None:
        """Log ``"<kind> <pid> (<name>): " + msg % args`` on "actors.supervisor"
        with the structured fields of this supervisor and ``fields``; the
        record names the method that called ``report`` as its source."""
        if not _logger.isEnabledFor(level):      # before describe(): restarts stay cheap
            return
        lowlevel.report(_logger, level, event, self._pid, "%s %s: " + msg, self.kind, describe(self),
                        *args, stacklevel=2, **fields)

    # -- exits and restarts ------------------------------------------------------------

    async def handle_info(self, msg: Any) -> None:
        if type(msg) is Exit:
            child = self._exited(msg.pid)
            if child is None:
                return None                      # not a child (any more): nothing to do
            restart = child.restart
            if restart == "permanent" or (restart == "transient" and not is_clean_exit(msg.reason)):
                await self._restart(child, msg.pid, msg.reason)
            else:
                self._forget(child)
            return None
        if type(msg) is tuple and len(msg) == 2 and msg[0] == RETRY and not_hashable(msg[1]) is None:
            child = self.children.get(msg[1])
            if child is not None and child.pid == RESTARTING:
                await self._restart(child, None, child.failed)
            return None
        self.report(logging.ERROR, "unexpected_message", "received unexpected message: %r", msg,
                    received=msg)
        return None

    async def _restart(self, child: ChildState, pid: Pid | None, reason: Any) -> None:
        """``child`` failed (it is not running): it exited from ``pid`` with
        ``reason``, or (``pid`` None) its restart failed with ``reason``.
        Restart it, or give up if that is one restart too many."""
        child_id = child.id
        if not self.intensity.add():
            self.report(logging.ERROR, "max_restart_intensity",
                        "reached max restart intensity (%d in %s s) after child %s exited with "
                        "reason %r; shutting down", self.intensity.max_restarts,
                        self.intensity.max_seconds, child_name(child_id), reason,
                        child_id=child_id, child_pid=pid, reason=reason,
                        restart_count=child.restarts, max_restarts=self.intensity.max_restarts,
                        max_seconds=self.intensity.max_seconds)
            child.pid = None
            raise Stop("shutdown")
        global restart_total
        child.restarts += 1
        child.last_restart = (reason, time.time())
        restart_total += 1
        if not _logger.isEnabledFor(logging.INFO):
            pass                                  # (the names below cost a restart ~7%)
        elif pid is None:
            self.report(logging.INFO, "restart", "child %s: trying its restart again (restart %d)",
                        child_name(child_id), child.restarts, child_id=child_id, child_pid=None, reason=reason,
                        restart_count=child.restarts)
        else:
            self.report(logging.INFO, "restart", "child %s exited with reason %r; restarting it "
                        "(restart %d)", describe_child(child, pid), reason, child.restarts,
                        child_id=child_id, child_pid=pid, reason=reason,
                        restart_count=child.restarts)
        await self._start_again(child)

    def _retry_later(self, child: ChildState, reason: Any) -> None:
        """Restarting ``child`` failed: mark it ``RESTARTING`` and try again
        once the messages already waiting are handled."""
        self.report(logging.ERROR, "restart_failed", "restarting child %s failed: %r; trying again",
                    child_name(child.id), reason, child_id=child.id, reason=reason,
                    restart_count=child.restarts)
        child.pid = RESTARTING
        child.failed = reason
        lowlevel.send(self._pid, (RETRY, child.id))

    # -- stopping children -------------------------------------------------------------

    async def _shut_down(self, child: ChildState) -> None:
        """Stop ``child`` if it runs, as its ``shutdown`` says; afterwards its ``pid`` is None."""
        pid = child.pid
        child.pid = None
        if type(pid) is Pid:
            self._check_shutdown(child, pid, await shutdown_child(pid, child.shutdown))

    def _check_shutdown(self, child: ChildState, pid: Pid, reason: Any) -> None:
        """Log a child that a shutdown stopped with another reason than expected."""
        if not shutdown_was_clean(reason, child.shutdown, child.restart):
            self.report(logging.ERROR, "shutdown_error", "child %s shut down with reason %r",
                        describe_child(child, pid), reason, child_id=child.id, child_pid=pid,
                        reason=reason)

    async def terminate(self, reason: Any) -> None:
        if getattr(self, "children", None):
            await self._stop_all()
