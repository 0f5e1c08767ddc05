"""Child specifications: how a supervisor starts, restarts and stops a child.

A child spec is a ``ChildSpec``; wherever one is expected these work too
(as in Elixir): a dict with the same keys; a ``GenServer`` subclass ``Counter``
(meaning ``Counter.child_spec()``); a tuple ``(Counter, arg)`` (meaning
``Counter.child_spec(arg)``).
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Iterable
from typing import Any, cast

__all__ = ["ChildSpec", "child_spec"]

RESTARTS = ("permanent", "transient", "temporary")
TYPES = ("worker", "supervisor")
_DEFAULT = object()


def _is_async(fn: object) -> bool:
    """Whether calling ``fn`` gives a coroutine: an ``async def`` function or
    method, a ``functools.partial`` of one, or an object whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)
    return call is not None and inspect.iscoroutinefunction(call)


@dataclasses.dataclass(frozen=True)
class ChildSpec:
    """How to start, restart and stop one supervised child.

    Args:
        id: identifies the child within its supervisor (any hashable value).
        start: ``(fn, args)`` or ``(fn, args, kwargs)``: ``fn`` is an async
            function that starts the child linked to its caller and returns
            its ``Pid`` (or ``None`` to say it chose not to start), like
            ``Counter.start_link``.
        restart: ``"permanent"`` (always restarted), ``"transient"``
            (restarted only after an abnormal exit: not ``"normal"``,
            ``"shutdown"`` or ``("shutdown", x)``), ``"temporary"`` (never).
        shutdown: seconds to wait after the ``"shutdown"`` exit signal before
            killing the child; ``"brutal_kill"`` to kill at once; ``None`` to
            wait forever.  Default: 5.0 for a worker, ``None`` for a supervisor.
        type: ``"worker"`` or ``"supervisor"``.
        modules: informational (the code the child runs), as in OTP.
    """

    id: Any
    start: tuple[Any, ...]
    restart: str = "permanent"
    shutdown: Any = _DEFAULT
    type: str = "worker"
    modules: Any = None
    # Whether shutdown was left to its default (so it follows a change of type).
    _default_shutdown: bool = dataclasses.field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            hash(self.id)
        except TypeError:
            raise TypeError(f"child spec id must be hashable, got {self.id!r}") from None
        start = self.start
        if not isinstance(start, tuple) or len(start) not in (2, 3):
            raise ValueError(
                f"child spec {self.id!r}: start must be (fn, args) or (fn, args, kwargs), got {start!r}")
        fn, args = start[0], start[1]
        kwargs: object = start[2] if len(start) == 3 else {}
        if not callable(fn):
            raise TypeError(f"child spec {self.id!r}: start function must be callable, got {fn!r}")
        if not _is_async(fn):
            raise TypeError(
                f"child spec {self.id!r}: start function must be an async function (defined with "
                f"`async def`, like Counter.start_link) that starts the child and returns its Pid; "
                f"got {fn!r}")
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"child spec {self.id!r}: start args must be a tuple or list, got {args!r}")
        if not isinstance(kwargs, dict):
            raise TypeError(f"child spec {self.id!r}: start kwargs must be a dict, got {kwargs!r}")
        object.__setattr__(self, "start", (fn, tuple(cast("Iterable[object]", args)),
                                           dict(cast("dict[str, object]", kwargs))))
        if self.restart not in RESTARTS:
            raise ValueError(
                f"child spec {self.id!r}: restart must be one of {', '.join(RESTARTS)}; got {self.restart!r}")
        if self.type not in TYPES:
            raise ValueError(f"child spec {self.id!r}: type must be 'worker' or 'supervisor', got {self.type!r}")
        shutdown = self.shutdown
        if shutdown is _DEFAULT:
            shutdown = 5.0 if self.type == "worker" else None
            object.__setattr__(self, "_default_shutdown", True)
        elif shutdown == "brutal_kill" or shutdown is None:
            pass
        elif isinstance(shutdown, bool) or not isinstance(shutdown, (int, float)):
            raise TypeError(
                f"child spec {self.id!r}: shutdown must be seconds, 'brutal_kill' or None; got {shutdown!r}")
        elif math.isnan(shutdown) or shutdown < 0:
            raise ValueError(f"child spec {self.id!r}: shutdown must be >= 0, got {shutdown!r}")
        object.__setattr__(self, "shutdown", shutdown)

    async def start_child(self) -> Any:
        """Run the start function: returns the child's ``Pid`` or ``None``."""
        fn, args, kwargs = self.start
        return await fn(*args, **kwargs)

    def replace(self, **overrides: Any) -> "ChildSpec":
        """A copy with some fields changed (``id``, ``start``, ``restart``, ``shutdown``, ``type``, ``modules``)."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self) if f.init}
        if unknown:
            raise ValueError(f"unknown child spec field(s): {', '.join(sorted(unknown))}")
        if "type" in overrides and "shutdown" not in overrides and self._default_shutdown:
            overrides["shutdown"] = _DEFAULT
        return dataclasses.replace(self, **overrides)


def child_spec(spec: Any, **overrides: Any) -> ChildSpec:
    """Normalize anything accepted as a child spec into a ``ChildSpec``.

    Args:
        spec: a ``ChildSpec``, a dict of its fields, a class with a
            ``child_spec`` classmethod (a GenServer, Supervisor, Agent...), or a
            tuple ``(cls, arg)``.
        **overrides: fields to change (``Supervisor.child_spec(spec, id=...)``).

    Raises:
        TypeError, ValueError: the spec is malformed (the message says how).
    """
    if isinstance(spec, ChildSpec):
        result = spec
    elif isinstance(spec, dict):
        fields = cast("dict[str, Any]", spec)
        missing = {"id", "start"} - set(fields)
        if missing:
            raise ValueError(f"child spec {spec!r} is missing {', '.join(sorted(missing))}")
        unknown = set(fields) - {f.name for f in dataclasses.fields(ChildSpec) if f.init}
        if unknown:
            raise ValueError(f"child spec {spec!r} has unknown key(s): {', '.join(sorted(unknown))}")
        result = ChildSpec(**fields)
    elif inspect.isclass(spec) and callable(getattr(spec, "child_spec", None)):
        result = getattr(spec, "child_spec")()
    elif (isinstance(spec, tuple) and len(pair := cast("tuple[object, ...]", spec)) == 2
          and inspect.isclass(pair[0]) and callable(getattr(pair[0], "child_spec", None))):
        result = getattr(pair[0], "child_spec")(pair[1])
    else:
        raise TypeError(
            f"not a child spec: {spec!r} (expected a ChildSpec, a dict with id and start, "
            f"a class with child_spec(), or a (class, arg) tuple)")
    if not isinstance(result, ChildSpec):
        result = child_spec(result)
    return result.replace(**overrides) if overrides else result


