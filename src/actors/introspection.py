"""Looking at processes: the ``Process`` namespace (Erlang's ``process_info``,
``processes``, ``is_process_alive``, ``process_flag`` and the process dictionary).
"""
from __future__ import annotations

from typing import Any

from . import lowlevel
from .lowlevel import Pid

__all__ = ["Process"]


class Process:
    """Functions about processes, grouped as in Elixir's ``Process`` module.

    A namespace, written like ``Registry``: a class of staticmethods with no
    instances.  Every function completes at once (it reads or changes the
    scheduler's tables), so none is awaited.

    Example:
        >>> async def main():
        ...     was_trapping = Process.flag("trap_exit", True)
        ...     actors.send(actors.self(), "hello")
        ...     return was_trapping, Process.info(actors.self(), "message_queue_len")
        >>> actors.run(main)
        (False, 1)
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Process:
        raise TypeError("Process is a namespace of functions; it has no instances")

    @staticmethod
    def list() -> list[Pid]:
        """Every live process, in spawn order."""
        return lowlevel.process_list()

    @staticmethod
    def alive(pid: Pid) -> bool:
        """True if ``pid``'s process has neither exited nor started exiting."""
        return lowlevel.is_alive(pid)

    @staticmethod
    def info(pid: Pid, key: str | None = None) -> Any:
        """What a process is doing, as a dict; None if it is dead.

        Keys: ``status`` (``"running"``, ``"runnable"``, ``"waiting"``,
        ``"exiting"``), ``message_queue_len``, ``messages``, ``links``,
        ``monitors`` (``(ref, pid)`` pairs), ``monitored_by``, ``trap_exit``,
        ``dictionary``, ``registered_name``, ``initial_call``
        (``"module.qualname"``), ``current_function`` (``(qualname, filename,
        lineno)`` where it is suspended), ``reductions``, ``memory`` (bytes,
        estimated).

        Args:
            pid: the process.
            key: one of the keys: return just that value.

        Raises:
            ValueError: ``key`` is not one of the keys.
        """
        return lowlevel.process_info(pid, key)

    @staticmethod
    def flag(flag: str, value: Any) -> Any:
        """Set a flag of the calling process and return its old value.

        Flags: ``"trap_exit"`` (bool): turn exit signals into ``Exit(pid,
        reason)`` messages (except ``exit(pid, "kill")``).

        Raises:
            ValueError: unknown flag.  TypeError: bad value.
        """
        return lowlevel.process_flag(flag, value)

    @staticmethod
    def put(key: Any, value: Any) -> Any:
        """Store ``value`` under ``key`` in the process dictionary; returns the old value."""
        return lowlevel.pdict_put(key, value)

    @staticmethod
    def get(*args: Any, **kwargs: Any) -> Any:
        """``get(key, default=None)``: a value of the process dictionary;
        ``get()``: a copy of the whole dictionary."""
        return lowlevel.pdict_get(*args, **kwargs)

    @staticmethod
    def delete(key: Any) -> Any:
        """Remove ``key`` from the process dictionary; returns its old value."""
        return lowlevel.pdict_delete(key)
