"""actors: Erlang/Elixir processes for Python.

Cheap isolated processes that share nothing and talk only by messages, with
selective receive, links, monitors and supervisors, on a compiled core.

Example:
    >>> import actors
    >>> async def pong():
    ...     sender, n = await actors.receive()
    ...     actors.send(sender, n + 1)
    >>> async def main():
    ...     pid = actors.spawn(pong)
    ...     actors.send(pid, (actors.self(), 41))
    ...     return await actors.receive()
    >>> actors.run(main)
    42
"""
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

try:
    from . import _core as _core
except ImportError as _exc:  # no pure-Python fallback, ever
    raise ImportError(
        "actors: the compiled core actors._core is missing or broken. actors needs "
        "its Cython extension: install the wheel with `pip install actors-otp`, or "
        "build it from a clone with `pip install .` (a C compiler is required)"
    ) from _exc

from ._core import ANY as ANY
from ._core import ActorsError as ActorsError
from ._core import AlreadyRegistered as AlreadyRegistered
from ._core import CallExit as CallExit
from ._core import Down as Down
from ._core import Exit as Exit
from ._core import MockClock as MockClock
from ._core import NoProcess as NoProcess
from ._core import Pid as Pid
from ._core import ProcessExit as ProcessExit
from ._core import Ref as Ref
from ._core import StartError as StartError
from ._core import Timeout as Timeout
from ._core import TimerRef as TimerRef
from ._core import cancel_timer as cancel_timer
from ._core import demonitor as demonitor
from ._core import exit as exit
from ._core import flush as flush
from ._core import link as link
from ._core import make_ref as make_ref
from ._core import monitor as monitor
from ._core import receive as receive
from ._core import register as register
from ._core import registered as registered
from ._core import self as self
from ._core import send as send
from ._core import send_after as send_after
from ._core import sleep as sleep
from ._core import spawn as spawn
from ._core import spawn_link as spawn_link
from ._core import spawn_monitor as spawn_monitor
from ._core import to_thread as to_thread
from ._core import unlink as unlink
from ._core import unregister as unregister
from ._core import via as via
from ._core import where as where
from ._core import whereis as whereis
from . import lowlevel as lowlevel
from . import sys as sys
from .child_spec import ChildSpec as ChildSpec
from .dynamic_supervisor import DynamicSupervisor as DynamicSupervisor
from .gen_server import HIBERNATE as HIBERNATE
from .gen_server import IDLE_TIMEOUT as IDLE_TIMEOUT
from .gen_server import NOREPLY as NOREPLY
from .gen_server import Continue as Continue
from .gen_server import GenServer as GenServer
from .gen_server import IdleTimeout as IdleTimeout
from .gen_server import Ignore as Ignore
from .gen_server import NoReply as NoReply
from .gen_server import Reply as Reply
from .gen_server import Stop as Stop
from .agent import Agent as Agent
from .introspection import Process as Process
from .registry import Registry as Registry
from .reload import ReloadReport as ReloadReport
from .reload import reload as reload
from .task import Task as Task
from .task_supervisor import TaskSupervisor as TaskSupervisor
from .runtime import Runtime as Runtime
from .runtime import ThreadRuntime as ThreadRuntime
from .supervisor import Child as Child
from .supervisor import Supervisor as Supervisor
from .runtime import run as run
from .node import Node as Node
from .node import NodeDown as NodeDown
from .dist.etf import Atom as Atom
from .dist.etf import ImproperList as ImproperList
from . import node as _node
from . import peer as peer
from . import gen_server as _gen_server
from . import registry as _registry
from . import runtime as _runtime


# -- hooks: the one place where the layers are wired together ------------------------
# A lower layer never imports a higher one (tests/test_layers.py); where it must
# call up, the higher layer registers a function here, once, at import.

async def _start_observer(**options: _Any) -> _Any:
    import importlib                    # imported on first use: it imports `actors`
    return await importlib.import_module("actors.observer").start(**options)


async def _observer_service(request: _Any) -> _Any:
    import importlib                    # imported on first use, as above, in a thread:
    import sys as _sys                  # (aiohttp's import would hold the loop ~0.2 s)
    backend = _sys.modules.get("actors.observer.backend")
    if backend is None:
        backend = await to_thread(importlib.import_module, "actors.observer.backend")
    return await backend.answer(request)


lowlevel.set_via_handler(_registry.ViaHandler())        # via(registry, key) names
_gen_server.set_system_handler(sys.handle_system)       # actors.sys requests to servers
_runtime.set_observer(_start_observer)                  # actors.run(observe=...)
_runtime.set_node_hooks(_node.start_for_run, _node.Node.stop)   # actors.run(node=...)
_node.set_service("actors_observer", _observer_service)  # other nodes' observers browse this one


if _TYPE_CHECKING:
    from types import ModuleType as _ModuleType

    # `actors.observer`, reached through __getattr__ below (for a precise type,
    # `import actors.observer`; the package itself never imports it).
    observer: _ModuleType


def __getattr__(name: str) -> _Any:
    if name == "observer":              # `actors.observer` without importing it first
        import importlib
        return importlib.import_module("actors.observer")
    raise AttributeError(f"module 'actors' has no attribute {name!r}")

from ._version import __version__ as __version__

# Reprs and tracebacks say actors.Pid, not actors._core.Pid.
for _obj in (Pid, Ref, TimerRef, MockClock, via, cancel_timer, demonitor, exit, flush,
             link, make_ref, monitor, receive, register, registered, self, send,
             send_after, sleep, spawn, spawn_link, spawn_monitor, to_thread, unlink,
             unregister, where, whereis):
    try:
        _obj.__module__ = "actors"
    except (AttributeError, TypeError):
        pass
del _obj

__all__ = [
    "Agent", "Child", "ChildSpec", "Continue", "DynamicSupervisor", "GenServer", "HIBERNATE", "IDLE_TIMEOUT", "IdleTimeout", "Ignore",
    "Atom", "ImproperList", "Node", "NodeDown", "peer",
    "NOREPLY", "NoReply", "Reply", "Registry", "ReloadReport", "Stop", "Supervisor", "Task", "TaskSupervisor",
    "ANY", "ActorsError", "AlreadyRegistered", "CallExit", "Down", "Exit", "MockClock",
    "NoProcess", "Pid", "Process", "ProcessExit", "Ref", "Runtime", "StartError", "ThreadRuntime",
    "Timeout", "TimerRef", "cancel_timer", "demonitor", "exit", "flush", "link",
    "make_ref", "monitor", "receive", "register", "registered", "run", "self", "send",
    "send_after", "sleep", "spawn", "spawn_link", "spawn_monitor", "to_thread",
    "unlink", "unregister", "via", "where", "whereis", "reload", "observer",
]
