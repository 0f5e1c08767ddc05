"""The core's Python face: low-level pieces for libraries built on actors.

Layers (each imports only the ones before it; ``tests/test_layers.py``
enforces it):

1. core: the compiled ``actors._core`` and this module, its only door;
2. ``actors.runtime``: runs the core on an asyncio loop;
3. OTP: ``child_spec``, ``gen_server``, ``_supervision``, ``supervisor``,
   ``dynamic_supervisor``, ``task``, ``task_supervisor``, ``agent``,
   ``registry``, ``introspection``;
4. tools inside processes: ``sys``, ``reload``;
5. the ``actors`` package, which re-exports the public names and wires the
   hooks below, once, in one place;
6. tools on top: ``observer``, ``top``, ``stress``, ``benchmarks``,
   ``testing``.

Everything below the ``actors`` package imports the core from here, never
from ``actors._core`` and never from the half-built ``actors`` package.
The core's public names (the same objects as ``actors.send``,
``actors.receive``...) can be imported from here by those layers; they are
exported by ``actors`` (``__all__`` here lists what only this module
exports).  Besides the core's low-level functions, this module offers a
small toolkit:

- ``call_in_process(fn, *args, **kwargs)``: from plain asyncio code, await
  ``fn`` inside a short-lived process and return its result;
- ``in_process()``: True when called inside a process;
- ``check_async_fn(fn, what)``: TypeError unless ``fn`` can be spawned;
- ``check_seconds(value, what, allow_none=True)``: TypeError/ValueError
  unless ``value`` is a number of seconds >= 0 (or None, if allowed);
- ``check_server(server, arg, what)``: TypeError unless ``server`` is a Pid,
  a registered name or a ``via``;
- ``is_clean_exit(reason)``: True for ``"normal"``, ``"shutdown"`` and
  ``("shutdown", why)``, the reasons that are not crashes;
- ``set_via_handler(handler)``: install the resolver of ``via(registry, key)``
  names (hooks are registered explicitly; ``actors/__init__.py`` does it);
- ``report(logger, level, event, pid, msg, *args, **fields)``: log one
  record with the runtime's structured fields (``log_fields``), counted
  against the crash-report burst limit: how the OTP layers log.
"""
from __future__ import annotations

import logging
from typing import Any, TypeAlias, cast

from ._core import ANY as ANY
from ._core import LONG_STEP as LONG_STEP
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
from ._core import Scheduler as Scheduler
from ._core import StartError as StartError
from ._core import Timeout as Timeout
from ._core import TimerRef as TimerRef
from ._core import Where as Where
from ._core import call as call
from ._core import call_in_process as call_in_process
from ._core import cancel_timer as cancel_timer
from ._core import check_async_fn as check_async_fn
from ._core import check_seconds as check_seconds
from ._core import in_process as in_process
from ._core import checkpoint as checkpoint
from ._core import current_scheduler as current_scheduler
from ._core import demonitor as demonitor
from ._core import exit as exit
from ._core import flush as flush
from ._core import is_alive as is_alive
from ._core import link as link
from ._core import log_fields as log_fields
from ._core import make_ref as make_ref
from ._core import matches as matches
from ._core import monitor as monitor
from ._core import pdict_delete as pdict_delete
from ._core import pdict_get as pdict_get
from ._core import pdict_put as pdict_put
from ._core import process_flag as process_flag
from ._core import process_info as process_info
from ._core import process_list as process_list
from ._core import process_table as process_table
from ._core import receive_nowait as receive_nowait
from ._core import receive as receive
from ._core import register as register
from ._core import registered as registered
from ._core import reply as reply
from ._core import report_allowed as report_allowed
from ._core import self as self
from ._core import send as send
from ._core import send_after as send_after
from ._core import set_crash_report_limit as set_crash_report_limit
from ._core import set_via_handler as set_via_handler
from ._core import sleep as sleep
from ._core import spawn as spawn
from ._core import spawn_link as spawn_link
from ._core import spawn_monitor as spawn_monitor
from ._core import to_thread as to_thread
from ._core import unlink as unlink
from ._core import unregister as unregister
from ._core import via as via
from ._core import via_register as via_register
from ._core import via_unregister as via_unregister
from ._core import where as where
from ._core import whereis as whereis
# The distribution layer's door (see _remote.pxi): processes of other nodes.
from ._core import node_name as node_name
from ._core import pid_to_wire as pid_to_wire
from ._core import ref_to_wire as ref_to_wire
from ._core import remote_demonitor as remote_demonitor
from ._core import remote_down as remote_down
from ._core import remote_exit as remote_exit
from ._core import remote_gone as remote_gone
from ._core import remote_link as remote_link
from ._core import remote_monitor as remote_monitor
from ._core import remote_monitored as remote_monitored
from ._core import remote_peers as remote_peers
from ._core import remote_pid as remote_pid
from ._core import remote_ref as remote_ref
from ._core import remote_unlink as remote_unlink
from ._core import set_node as set_node


#: What names a server (or any process) in client functions: its pid, a
#: registered name, ``(name, node)`` for a name on another node, or
#: ``via(registry, key)``.
ServerRef: TypeAlias = Pid | str | tuple[str, str] | via


def check_server(server: Any, arg: str, what: str) -> None:
    """TypeError naming the argument ``arg`` of ``what`` unless ``server`` is a
    server reference: a ``Pid``, a registered name (``str``), a ``(name,
    node)`` tuple or a ``via``."""
    if type(server) is Pid or isinstance(server, (str, via)):
        return
    if type(server) is tuple:
        parts = cast("tuple[object, ...]", server)
        if len(parts) == 2 and isinstance(parts[0], str) and isinstance(parts[1], str):
            return
    raise TypeError(f"{what}: {arg} must be a Pid, a registered name (str), a (name, node) "
                    f"tuple or via(registry, key), got {server!r}")


def is_clean_exit(reason: Any) -> bool:
    """True for the exit reasons that are not crashes: ``"normal"``,
    ``"shutdown"`` and ``("shutdown", why)`` (they do not restart a transient
    child, and are not logged)."""
    if type(reason) is str:
        return reason == "normal" or reason == "shutdown"
    if type(reason) is tuple:
        why = cast("tuple[object, ...]", reason)
        return len(why) == 2 and why[0] == "shutdown"
    return False


def report(logger: logging.Logger, level: int, event: str, pid: Pid | None, msg: str, /, *args: Any,
           limited: bool = True, exc_info: Any = None, stacklevel: int = 1, **fields: Any) -> bool:
    """Log ``msg % args`` at ``level`` with the runtime's structured fields.

    The record's ``extra`` is ``log_fields(pid, event, **fields)``.  Nothing
    is done when ``logger`` is not enabled for ``level``; a ``limited`` report
    (the default) counts against the crash-report burst limit
    (``report_allowed``) and is dropped beyond it.

    Args:
        logger: where to log.
        level: a ``logging`` level.
        event: what happened (the record's ``event`` field).
        pid: the process the record is about, or None.
        msg, *args: the message, as for ``logger.log``.
        limited: False for records a storm cannot multiply (traces asked for).
        exc_info: as for ``logger.log``.
        stacklevel: as for ``logger.log``, counted from the caller of
            ``report``: 1 names that caller as the record's source; a helper
            that reports for its own caller passes 2.
        **fields: the event's own fields (see ``log_fields``).

    Returns:
        True if the record was logged.
    """
    if not logger.isEnabledFor(level):
        return False
    if limited and not report_allowed():
        return False
    logger.log(level, msg, *args, exc_info=exc_info, extra=log_fields(pid, event, **fields),
               stacklevel=stacklevel + 1)
    return True


__all__ = [
    # the toolkit
    "call_in_process", "check_async_fn", "check_seconds", "check_server", "in_process",
    "is_clean_exit", "report", "set_via_handler", "ServerRef",
    # the core's low-level functions
    "LONG_STEP", "Scheduler", "call", "checkpoint", "current_scheduler", "is_alive",
    "log_fields", "matches", "pdict_delete", "pdict_get", "pdict_put", "process_flag",
    "process_info", "process_list", "process_table", "receive_nowait", "reply",
    "report_allowed", "set_crash_report_limit",
    "via_register", "via_unregister", "Where",
    # processes of other nodes (for actors.dist)
    "node_name", "pid_to_wire", "ref_to_wire", "remote_demonitor", "remote_down", "remote_exit",
    "remote_gone", "remote_link", "remote_monitor", "remote_monitored", "remote_peers", "remote_pid", "remote_ref",
    "remote_unlink", "set_node",
]
# The core's public names (send, receive, Pid...) are imported above for the
# layers below the ``actors`` package, which take them from here; they are
# exported, once, by ``actors``.
