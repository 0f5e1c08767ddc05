"""What the OTP layers need to work across nodes.

``Agent``, ``actors.sys`` and ``TaskSupervisor`` reach processes of other
nodes.  Three things make that harder than a local call, and this module
holds the rules for each, so that they are the same everywhere:

* **Functions travel by name.**  A function cannot be pickled (actors never
  pickles), so a function given to a process of another node travels as
  ``(module, qualname)`` (two atoms) and the other node imports it, as
  ``Node.spawn`` does: ``function_to_wire`` refuses, with ``TypeError``, what
  the other node could not find by that name (a lambda, a closure, a bound
  method, a ``functools.partial``); ``function_from_wire`` imports it on the
  receiving node if that node's ``allow_spawn`` lists its module
  (``PermissionError`` otherwise).  A few entry points of actors itself
  (``remote_entry``) may be spawned whatever ``allow_spawn`` says: they check
  the functions they are asked to run against it themselves.
* **Errors travel as ``(ClassName, message)``**, as exit reasons do
  (``error_to_wire``); ``error_from_wire`` raises a builtin class again as
  itself (``ValueError("bad")``), any other as ``RuntimeError("MyError:
  bad")``.
* **Answers must be terms** (``encodable``): what cannot be encoded raises
  ``TypeError`` before anything is sent.

The running node's bridge installs itself here (``serve``); without one
the runtime is not a node.
"""
from __future__ import annotations

# Terms from other nodes are untyped (Any) and matched by shape, as in
# `type(ref) is tuple and len(ref) == 2`; pyright narrows them to
# tuple[Unknown, ...], which its strict mode reports at every use.
# pyright: reportUnknownArgumentType=false, reportUnknownVariableType=false

import builtins
import importlib
import sys
from collections.abc import Callable
from typing import Any

from .. import lowlevel
from ..lowlevel import ANY, CallExit, Pid, StartError
from .etf import Atom

__all__ = [
    "encodable", "error_from_wire", "error_to_wire", "function_from_wire", "function_to_wire",
    "is_function_ref", "remote_entry", "remote_node", "resolve_function", "serve", "spawn",
]

_bridge: Any = None                          # the running node's Bridge
_ENTRIES: set[tuple[str, str]] = set()       # (module, qualname) of actors' remote entry points


def serve(bridge: Any) -> None:
    """Make ``bridge`` (an ``actors.dist.bridge.Bridge``) the running node's,
    or None when the node stops."""
    global _bridge
    _bridge = bridge


def remote_node(server: Any) -> str | None:
    """The node of ``server`` (a ``Pid`` or ``(name, node)``) when it is
    another node than this one; None for a local server (or a name, a via)."""
    tp = type(server)
    if tp is Pid:
        node = server.node
    elif tp is tuple and len(server) == 2 and isinstance(server[1], str):
        node = server[1]
    else:
        return None
    return None if node == lowlevel.node_name() else str(node)


# -- functions by name --------------------------------------------------------------------

def function_to_wire(fn: Any, what: str, node: str) -> tuple[Atom, Atom]:
    """``(module, qualname)``, the name ``fn`` travels to ``node`` by.

    Raises:
        TypeError: ``fn`` cannot be found by that name: it is not callable,
            or it is a lambda, a nested function, a bound method, a partial...
    """
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    found: Any = sys.modules.get(module) if isinstance(module, str) else None
    if found is not None and isinstance(qualname, str) and "<" not in qualname:
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is fn or (found is not None and found == fn):
            return (Atom(module), Atom(qualname))     # type: ignore[arg-type]
    raise TypeError(f"{what}: fn runs on node {node}, so it must be a function defined at the top "
                    f"level of a module (the other node imports it by module and name; a lambda, "
                    f"a nested function, a bound method or a partial cannot travel), got {fn!r}")


def is_function_ref(value: Any) -> bool:
    """True for a function's name as it arrives from another node."""
    return (type(value) is tuple and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], str))


def resolve_function(allow_spawn: Any, module: str, qualname: str, *, spawn: bool = False) -> Any:
    """Import ``module`` and return its attribute ``qualname``, if ``allow_spawn``
    (a node's option: ``True``, a list of module names, or None) allows it.

    Args:
        spawn: the function starts a process: it must be an async function
            (``remote_entry`` functions are allowed whatever ``allow_spawn`` says).

    Raises:
        PermissionError: ``allow_spawn`` does not list ``module``.
        ImportError, AttributeError: no such function.
        TypeError: it is not callable (not an async function, with ``spawn``).
    """
    entry = spawn and (module, qualname) in _ENTRIES
    if not (entry or allow_spawn is True or (isinstance(allow_spawn, list) and module in allow_spawn)):
        raise PermissionError(f"node {lowlevel.node_name()} does not allow functions of module "
                              f"{module!r} (see its allow_spawn)")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if spawn:
        lowlevel.check_async_fn(obj, "spawn")
    elif not callable(obj):
        raise TypeError(f"{module}.{qualname} is not callable")
    return obj


def function_from_wire(ref: Any, what: str) -> Callable[..., Any]:
    """The function named by ``ref`` (``(module, qualname)`` from another node),
    imported on this node under its ``allow_spawn``.

    Raises:
        PermissionError: this node's ``allow_spawn`` does not list the module.
        LookupError: there is no such function here.
        TypeError: ``ref`` is no function name, or names something that is
            not callable.
    """
    if not is_function_ref(ref):
        raise TypeError(f"{what}: expected a function as (module, qualname), got {ref!r}")
    module, qualname = str(ref[0]), str(ref[1])
    allow = _bridge.allow_spawn if _bridge is not None else None
    try:
        fn: Callable[..., Any] = resolve_function(allow, module, qualname)
    except (ImportError, AttributeError):
        raise LookupError(f"{what}: node {lowlevel.node_name()} has no function "
                          f"{module}.{qualname}") from None
    return fn


def remote_entry(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn``, an async function of actors, as one other nodes may
    spawn whatever ``allow_spawn`` says (it checks what it runs itself)."""
    _ENTRIES.add((fn.__module__, fn.__qualname__))
    return fn


# -- errors and terms ---------------------------------------------------------------------

def error_to_wire(exc: BaseException) -> tuple[Atom, str]:
    """How an exception travels: ``(ClassName, message)``, as an exit reason does."""
    return (Atom(type(exc).__name__), str(exc))


def error_from_wire(term: Any, where: str) -> Exception:
    """The exception to raise for ``term``, an error that came from ``where``
    (a node): a builtin class as itself, another as ``RuntimeError``."""
    if type(term) is tuple and len(term) == 2 and isinstance(term[0], str):
        name, message = str(term[0]), term[1] if isinstance(term[1], str) else repr(term[1])
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except Exception:  # noqa: BLE001 (a class that needs more arguments)
                pass
        return RuntimeError(f"{name} on {where}: {message}")
    return RuntimeError(f"error on {where}: {term!r}")


def encodable(term: Any) -> bool:
    """True if ``term`` can be sent to another node (not a node: always False)."""
    if _bridge is None:
        return False
    try:
        _bridge.codec.encode(term)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


# -- remote spawn ---------------------------------------------------------------------------

async def spawn(node: str, fn: Callable[..., Any], args: tuple[Any, ...], what: str,
                timeout: float | None = None) -> Pid:
    """Start ``fn(*args)`` on ``node`` (a ``remote_entry`` there) and return its pid.

    Raises:
        CallExit: ``"noconnection"``: this runtime is not a node or ``node``
            cannot be reached.
        StartError: ``node`` refused or failed to start it.
        Timeout: ``node`` did not answer within ``timeout`` seconds.
    """
    bridge = _bridge
    if bridge is None:
        raise CallExit("noconnection", f"{what}: this runtime is not a node, it cannot reach {node}")
    me = lowlevel.self()
    req = bridge.spawn_request(node, me, fn.__module__, fn.__qualname__, list(args), False)
    msg = await lowlevel.receive((req, ANY), timeout=timeout, default=None)
    if msg is None:
        raise lowlevel.Timeout(f"{what}: {node} did not answer within {timeout} s")
    result = msg[1]
    if type(result) is Pid:
        return result
    if result == "noconnection":
        raise CallExit("noconnection", f"{what}: cannot reach node {node}")
    raise StartError(result, f"{what}: {node} did not start {fn.__qualname__}: {result}")
