"""Registry: a local key-value store of processes.

A registry lets processes find one another by key.  Each entry is a
``(pid, value)`` pair stored under a key, and it belongs to the process that
registered it: when that process exits, its entries are removed.  A registry
with ``keys="unique"`` maps a key to at most one process; with
``keys="duplicate"`` a key may map to any number of processes (and to the
same process several times).  In both kinds one process may hold many keys.

It is Elixir's ``Registry``, and it serves the same purposes: naming
processes (through ``via``), storing per-process properties, custom
dispatching, and a local publish/subscribe.

Example
-------
::

    reg = await Registry.start_link(keys="unique", name="sessions")
    Registry.register("sessions", "alice", {"since": 1990})   # registers the caller
    Registry.lookup("sessions", "alice")      # -> [(<0.12.0>, {"since": 1990})]
    Registry.lookup("sessions", "bob")        # -> []
    Registry.keys("sessions", actors.self())  # -> ["alice"]

``start_link`` is awaited (it starts the registry's process); every other
function is a plain call that completes at once.

Using in ``via``
----------------
Once a unique registry runs, ``via(registry, key)`` names a process in it,
wherever a process name is accepted::

    await Registry.start_link(keys="unique", name="rooms")
    name = actors.via("rooms", "lobby")
    await Room.start_link(name=name)           # registers the new server, value None
    await actors.GenServer.call(name, "who")   # a server reference
    actors.send(name, "hello")                 # a send destination
    actors.whereis(name)                       # -> the server's pid
    Registry.lookup("rooms", "lobby")          # -> [(pid, None)]

The server registers itself from its own process, before ``init`` runs.  If
the key is taken, ``start_link`` raises ``AlreadyRegistered`` (``.pid`` is
the holder).  Sending to a ``via`` whose key nobody holds raises
``NoProcess``.  Only unique registries can be used in ``via``; a ``via``
naming a registry that is not running is a name nobody holds (``whereis``
gives ``None``, ``send`` and ``call`` raise ``NoProcess``).

How to supervise
----------------
A registry is usually a child of a supervisor, listed before the processes
that use it::

    children = [
        (Registry, {"keys": "unique", "name": "rooms"}),   # Registry.child_spec(...)
        Room.child_spec(name=actors.via("rooms", "lobby")),
    ]
    await Supervisor.start_link(children, strategy="rest_for_one")

Its registrants are linked to it (see "Registrations"), so if it crashes
they exit too, and ``rest_for_one`` restarts the registry and then them, in
order.  Stop a registry like any server: ``GenServer.stop(registry)``, or
through its supervisor.

Using as a dispatcher
---------------------
``dispatch(registry, key, fn)`` calls ``fn(entries)`` with every
``(pid, value)`` entry under ``key``, **in the calling process**, and not at
all when there is none.  The registered processes take no part unless
``fn`` involves them.  With a duplicate registry where each subscriber
stored a callback::

    Registry.register("handlers", "order_paid", send_receipt)
    ...
    def run_all(entries):
        for pid, handler in entries:
            handler(pid)
    Registry.dispatch("handlers", "order_paid", run_all)

An exception in ``fn`` propagates to the caller of ``dispatch``: catch and
log inside ``fn`` if one bad entry must not stop the others.

Using as a PubSub
-----------------
A duplicate registry and ``dispatch`` make a local publish/subscribe::

    await Registry.start_link(keys="duplicate", name="pubsub")

    # each subscriber, in its own process:
    Registry.register("pubsub", "news", None)

    # a publisher:
    def broadcast(entries):
        for pid, _ in entries:
            actors.send(pid, ("news", "extra!"))
    Registry.dispatch("pubsub", "news", broadcast)

A subscriber that exits is unsubscribed automatically.

Reading, matching, metadata
---------------------------
Besides ``lookup``: ``keys(registry, pid)`` lists a process's keys,
``values(registry, key, pid)`` its values under a key, ``count(registry)``
the number of entries.  ``match(registry, key, pattern)`` keeps the entries
whose value matches an actors pattern (``ANY``, a class, a tuple, a dict,
``where(predicate)``: Elixir's match specs and guards, spelled as
``receive`` patterns); ``select(registry, pattern)`` matches ``(key, pid,
value)`` across the whole table, in one step, and ``select_slices`` a slice
at a time, for a reader of a large registry that lets other processes run
in between; ``count_match`` and ``count_select`` count.
``update_value`` changes the caller's value under a unique key,
``unregister_match`` removes some of the caller's entries.  A registry also
carries metadata (``meta``, ``put_meta``, ``delete_meta``), and may tell
``listeners`` of every ``register`` and ``unregister``.

Registrations
-------------
``register`` always registers the **calling** process, and ``unregister``
removes the caller's own entries: a process manages its own registrations
(as in Elixir).  The caller is linked to the registry while it has entries
in it, so if the registry crashes, its registrants get the exit signal (trap
exits to survive it); the link is removed when the caller unregisters its
last key.  The registry traps exits, so each registrant's exit also queues
an ``Exit`` in its mailbox; it drops them all at once whenever it runs, so
that its mailbox stays bounded however fast registrants come and go.

Entries vanish when their process exits, and they are already gone by the
time anybody can notice the exit: the registry installs a hook
(``Scheduler.on_exit``) that the scheduler runs synchronously while the
process terminates, right after its links and monitors are signalled and
before any other process runs.  So the process that receives the ``Down``
or ``Exit`` of a registrant, or a supervisor restarting a ``via``-named
child, never finds a stale entry.  A monitor (or Elixir's link from the
partition) would leave a window, until the registry process ran, in which
``lookup`` returns a dead pid and a unique key stays taken; Elixir documents
that window, actors closes it.  One window remains, as in Elixir: between
an exit signal and the moment its target finishes exiting (at its next
step), ``lookup`` may still return it.  ``register`` and ``via`` look
through that: a unique key held by a process that is exiting is taken over.

Lookups (``lookup``, ``keys``, ``values``, ``match``, ``count``,
``dispatch``...) read the table directly, like ETS: no message to the
registry, no waiting.  The table is a Python structure that the registry
process owns; all processes run on one thread, so there is no concurrent
mutation.  When the registry process exits, its table goes with it, and
every function given its name or pid raises ``NoProcess``.

Keys are any hashable value and compare with Python's ``==``, so ``1``,
``1.0`` and ``True`` are the same key (Elixir compares with ``===``).  Values
are any value.

Partitioning
------------
Elixir partitions a registry (``partitions=System.schedulers_online()``) so
that many schedulers can write to it in parallel and dispatch to it
concurrently.  actors runs every process on one thread, so partitions would
change nothing for throughput: ``partitions=N`` is accepted (and validated)
for parity with Elixir, and a registry keeps one table whatever ``N``.  The
one observable consequence: ``dispatch`` calls ``fn`` once with all the
entries, where a partitioned Elixir duplicate registry calls it once per
partition.

Performance
-----------
``lookup`` is a function call and two dictionary lookups (the registry's
key table by name or pid, then the key): on CPython 3.11, about 0.1
microseconds, a few times the cost of a plain ``d[key]``.  It copies
nothing: it returns the key's current snapshot, a read-only list shared by
every caller until the key changes (a change makes a new snapshot, so a
list you hold never changes under you; ``list(entries)`` gives a list of
your own to modify).  In a duplicate registry the first lookup after a
change rebuilds the snapshot.  A key missing from a unique registry takes
the slow path of a caught ``KeyError`` (about 0.5 microseconds): hits are
what the table is tuned for.  ``register`` and ``unregister`` are O(1) per
entry, and a process's exit costs O(its entries), however many other
processes share its keys.
"""
from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVarTuple, cast

from . import lowlevel
from .lowlevel import ANY, AlreadyRegistered, Exit, NoProcess, Pid, Ref, flush, link, send, unlink, whereis
from .lowlevel import self as _self
from .child_spec import ChildSpec
from .gen_server import GenServer, bad_request
from .lowlevel import Where, is_alive

__all__ = ["Registry"]

_Ts = TypeVarTuple("_Ts")

KINDS = ("unique", "duplicate")

# The tables of every running registry, each under the registry's pid and,
# if it has one, its name.  `_keys` holds the key dict alone, so that
# `lookup` costs two dict lookups; `_tables` holds the whole `_Table`.
# Invariant: registry in _keys  <=>  registry in _tables, and then
# _keys[registry] is _tables[registry].keys.
_tables: dict[Any, _Table] = {}
_keys: dict[Any, dict[Any, _Entries]] = {}
_scheduler: Any = None          # the scheduler the tables belong to

_serials = itertools.count()    # orders the entries of duplicate keys


class _Entries(list[tuple[Pid, Any]]):
    """The list ``lookup`` returns: a read-only snapshot of one key's entries.

    A snapshot is shared by every caller until the key changes; a change
    makes a new one, so a list a caller holds never changes under it.
    Being read-only is what lets ``lookup`` return it without copying.
    Copies (``list(entries)``, ``copy.copy``, pickling) are plain lists.
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the list Registry.lookup returns is shared and read-only: "
                        "copy it first, with list(entries)")

    # (list's mutators, replaced by one that raises: not their signatures)
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only  # pyright: ignore[reportAssignmentType]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[tuple[Pid, Any]]]]:
        return (list, (list(self),))


_EMPTY = _Entries()


class _Snapshots(dict[Any, _Entries]):
    """A duplicate registry's key -> ``_Entries`` map, the one ``lookup`` indexes.

    It caches snapshots of ``bags``: a change to a key's bag deletes its
    snapshot, and the next read rebuilds it (``__missing__``).  A key with no
    entry reads as the empty snapshot.  (A unique registry's map is a plain
    dict, which indexes faster: there a missing key takes ``lookup``'s slow
    path.)
    """

    __slots__ = ("bags",)

    bags: dict[Any, dict[int, tuple[Pid, Any]]]

    def __missing__(self, key: Any) -> _Entries:
        bag = self.bags.get(key)
        if bag is None:
            return _EMPTY
        snapshot = self[key] = _Entries(bag.values())
        return snapshot


class _Table:
    """One registry's entries.  Only the functions of this module change it.

    Invariants:

    * Unique registry: ``keys[key]`` is ``_Entries([(pid, value)])``; a key
      with no holder is absent.  ``bags`` is empty.
    * Duplicate registry: ``bags[key]`` maps a serial number to
      ``(pid, value)``, in registration order, and a key with no entry is
      absent; ``keys[key]``, if present, is a snapshot of ``bags[key]``
      (every change to ``bags[key]`` deletes it).
    * ``owners[pid]`` lists ``(key, serial)`` for each entry of ``pid``, in
      registration order (serial is None in a unique registry); a pid with no
      entry is absent.  ``size`` is the number of entries.
    * ``hooked`` holds the pids whose exit hook is installed (at most one
      hook per pid and table; a hook outlives an ``unregister``, and then
      finds nothing to remove).
    """

    __slots__ = ("pid", "name", "unique", "partitions", "keys", "bags", "owners", "hooked",
                 "size", "listeners", "meta", "parent")

    def __init__(self, pid: Pid, name: str | None, kind: str, partitions: int,
                 listeners: tuple[str | Pid, ...], meta: dict[Any, Any], parent: Pid | None) -> None:
        self.pid = pid
        self.name = name
        self.unique = kind == "unique"
        self.partitions = partitions
        self.bags: dict[Any, dict[int, tuple[Pid, Any]]] = {}
        if self.unique:
            self.keys: dict[Any, _Entries] = {}
        else:
            snapshots = _Snapshots()
            snapshots.bags = self.bags
            self.keys = snapshots
        self.owners: dict[Pid, list[tuple[Any, int | None]]] = {}
        self.hooked: set[Pid] = set()
        self.size = 0
        self.listeners = listeners
        self.meta = dict(meta)
        self.parent = parent

    def __repr__(self) -> str:
        return f"Registry({self.name!r})" if self.name is not None else f"Registry({self.pid!r})"

    @property
    def ref(self) -> Any:
        """How listeners' messages name this registry: its name, else its pid."""
        return self.name if self.name is not None else self.pid

    # -- reading -------------------------------------------------------------------

    def read(self, key: Any) -> _Entries:
        """The snapshot of ``key``'s entries (empty if none)."""
        if self.unique:
            return self.keys.get(key, _EMPTY)
        return self.keys[key]

    def holder(self, key: Any) -> Pid | None:
        """Unique registry: the pid holding ``key``, or None."""
        held = self.keys.get(key)
        return None if held is None else held[0][0]

    def items(self) -> list[tuple[Any, _Entries]]:
        """A snapshot of every ``(key, entries)``."""
        if self.unique:
            return list(self.keys.items())
        return [(key, self.keys[key]) for key in list(self.bags)]

    # -- writing -----------------------------------------------------------------

    def add(self, pid: Pid, key: Any, value: Any) -> None:
        entry = (pid, value)
        serial: int | None
        if self.unique:
            self.keys[key] = _Entries((entry,))
            serial = None
        else:
            serial = next(_serials)
            bag = self.bags.get(key)
            if bag is None:
                bag = self.bags[key] = {}
            bag[serial] = entry
            self.keys.pop(key, None)
        owned = self.owners.get(pid)
        if owned is None:
            self.owners[pid] = [(key, serial)]
        else:
            owned.append((key, serial))
        self.size += 1
        if pid not in self.hooked:
            sched = lowlevel.current_scheduler()
            assert sched is not None            # the caller is a process
            sched.on_exit(pid, self.owner_exited)
            self.hooked.add(pid)

    def replace(self, key: Any, pid: Pid, value: Any) -> None:
        """Unique registry: set the value of ``pid``'s entry under ``key``."""
        self.keys[key] = _Entries(((pid, value),))

    def remove(self, pid: Pid, key: Any, keep: Callable[[Any], bool] | None = None) -> int:
        """Remove ``pid``'s entries under ``key`` (those whose value ``keep``
        rejects, if given); returns how many were removed."""
        owned = self.owners.get(pid)
        if not owned:
            return 0
        kept: list[tuple[Any, int | None]] = []
        removed = 0
        for item in owned:
            k, serial = item
            if k != key or (keep is not None and keep(self._value(k, serial))):
                kept.append(item)
            else:
                self._drop(k, serial)
                removed += 1
        if removed:
            if kept:
                self.owners[pid] = kept
            else:
                del self.owners[pid]
        return removed

    def owner_exited(self, pid: Pid, reason: Any, result: Any, exc: Any, by_signal: bool) -> None:
        """Exit hook of a registrant: remove all its entries (runs inside the scheduler)."""
        self.hooked.discard(pid)
        for k, serial in self.owners.pop(pid, ()):
            self._drop(k, serial)

    def _value(self, key: Any, serial: int | None) -> Any:
        if serial is None:
            return self.keys[key][0][1]
        return self.bags[key][serial][1]

    def _drop(self, key: Any, serial: int | None) -> None:
        if serial is None:
            del self.keys[key]
        else:
            bag = self.bags[key]
            del bag[serial]
            if not bag:
                del self.bags[key]
            self.keys.pop(key, None)
        self.size -= 1

    def notify(self, msg: tuple[Any, ...]) -> None:
        for listener in self.listeners:
            try:
                send(listener, msg)
            except NoProcess:
                pass                      # a listener that is not running misses the event


def _registry_exited(table: _Table, pid: Pid, reason: Any, result: Any, exc: Any,
                     by_signal: bool) -> None:
    """Exit hook of a registry's process: its table goes away."""
    for ref in (pid, table.name):
        if ref is not None and _tables.get(ref) is table:
            del _tables[ref]
            del _keys[ref]


# -- resolving a registry ----------------------------------------------------------

def _table(registry: Any) -> _Table:
    try:
        return _tables[registry]
    except (KeyError, TypeError):
        raise _unknown(registry) from None


def _unknown(registry: Any) -> Exception:
    if not isinstance(registry, (str, Pid)):
        return TypeError(f"registry must be a Registry's name (str) or pid, got {registry!r}")
    pid = registry if isinstance(registry, Pid) else whereis(registry)
    if pid is not None and is_alive(pid):
        return ValueError(f"registry {registry!r} is a process, but not a Registry")
    return NoProcess(f"unknown registry {registry!r}: no Registry is running under this name or "
                     f"pid (it was never started, or it has exited)")


def _caller(what: str) -> Pid:
    try:
        return _self()
    except RuntimeError:
        raise RuntimeError(f"{what} must be called inside a process: it acts on the calling "
                           f"process (the one it registers or unregisters), so call it from "
                           f"that process") from None


def _check_key(key: Any) -> None:
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"key must be hashable, got {key!r}") from None


def _check_fn(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what}: fn must be callable, got {fn!r}")
    if inspect.iscoroutinefunction(fn):
        raise TypeError(f"{what}: fn must be a plain function (it runs in the caller, "
                        f"which does not await it), got the async function {fn!r}")


def _lookup_missing(registry: Any, key: Any) -> list[tuple[Pid, Any]]:
    """``lookup``'s slow path: a key missing from a unique registry, an unknown
    registry, or an unhashable key."""
    table = _tables.get(registry) if isinstance(registry, (str, Pid)) else None
    if table is None:
        raise _unknown(registry)
    try:
        return table.read(key)
    except TypeError:
        raise TypeError(f"key must be hashable, got {key!r}") from None


# -- matching values against actors patterns -------------------------------------

def _matches(pattern: Any, value: Any) -> bool:
    """``receive``'s pattern rules (see the README), applied to a registered value."""
    if pattern is value or pattern is ANY:
        return True
    tp = type(pattern)  # pyright: ignore[reportUnknownVariableType]
    if isinstance(pattern, tuple):
        if not isinstance(value, tuple) or len(value) != len(pattern):  # pyright: ignore[reportUnknownArgumentType]
            return False
        if tp is not tuple and not isinstance(value, tp):
            return False                     # e.g. Down(ref, ANY, ANY) needs a Down
        return all(_matches(p, v) for p, v in zip(pattern, value))  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if tp is Pid or tp is Ref:
        return False                         # pids and refs match by identity only
    if isinstance(pattern, type):
        return isinstance(value, pattern)
    if tp is Where:
        return bool(pattern.predicate(value))
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        for k, p in pattern.items():  # pyright: ignore[reportUnknownVariableType]
            if k not in value or not _matches(p, value[k]):
                return False
        return True
    return bool(pattern == value)


# -- starting ------------------------------------------------------------------------

def _check_options(keys: Any, name: Any, partitions: Any, listeners: Any,
                   meta: Any) -> tuple[tuple[str | Pid, ...], dict[Any, Any]]:
    if keys not in KINDS or not isinstance(keys, str):
        raise ValueError(f"keys must be 'unique' or 'duplicate', got {keys!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {name!r}")
    if isinstance(partitions, bool) or not isinstance(partitions, int):
        raise TypeError(f"partitions must be a positive int, got {partitions!r}")
    if partitions < 1:
        raise ValueError(f"partitions must be a positive int, got {partitions!r}")
    if isinstance(listeners, (str, Pid)) or not isinstance(listeners, (list, tuple)):
        raise TypeError(f"listeners must be a list of process names (str) or pids, got {listeners!r}")
    for listener in cast("Iterable[object]", listeners):
        if not isinstance(listener, (str, Pid)):
            raise TypeError(f"listeners must be a list of process names (str) or pids, got {listener!r}")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {meta!r}")
    checked_meta = cast("dict[object, object]", meta)
    for k in checked_meta:
        _check_key(k)
    return tuple(cast("Iterable[str | Pid]", listeners)), checked_meta


class _RegistryServer(GenServer):
    """The process that owns a registry's table (Elixir's partition process)."""

    # Set by GenServer before ``init`` runs (declared here for type checkers).
    _name: str | None
    _pid: Pid
    _parent: Pid | None

    def init(self, kind: str, partitions: int, listeners: tuple[str | Pid, ...],
             meta: dict[Any, Any], parent: Pid | None) -> None:
        global _scheduler
        lowlevel.process_flag("trap_exit", True)   # registrants' exits arrive as messages
        sched = lowlevel.current_scheduler()
        if sched is not _scheduler:                # tables of an earlier runtime are stale
            _tables.clear()
            _keys.clear()
            _scheduler = sched
        assert sched is not None                   # init runs in a process
        me = _self()
        table = _Table(me, self._name, kind, partitions, listeners, meta, parent)
        for ref in (me, self._name):
            if ref is not None:
                _tables[ref] = table
                _keys[ref] = table.keys
        sched.on_exit(me, functools.partial(_registry_exited, table))

    def handle_info(self, msg: Any) -> Any:
        if type(msg) is Exit:
            # A registrant exited: its exit hook already cleaned up.  Drop the
            # other registrants' exits waiting behind this one in one go.
            self._drop_exits()
            return None
        return super().handle_info(msg)

    def _drop_exits(self) -> None:
        """Take every registrant's ``Exit`` out of the mailbox at once.

        Each registrant is linked to the registry, so each exit queues an
        ``Exit`` here.  Handled one per message, they come in at most a
        reduction budget per scheduling round, while a round of churning
        processes may end many more registrants: the mailbox (and memory)
        would grow without bound.  ``flush`` empties it in one step; the
        other messages (requests, system messages, the parent's exit) go
        back in their order, and since nothing else runs meanwhile, ahead of
        anything sent later.
        """
        parent = self._parent
        keep = [msg for msg in flush() if type(msg) is not Exit or msg.pid is parent]
        me = self._pid
        for msg in keep:
            send(me, msg)

    def handle_call(self, request: Any, from_: Any) -> Any:
        # Every Registry function works on the table in the caller: the registry
        # process answers no call, and a stray one must not kill it (nor, through
        # their links, its registrants).
        return bad_request(self, "Registry", request, "a Registry answers no call")

    def handle_cast(self, request: Any) -> None:
        bad_request(self, "Registry", request, "a Registry takes no cast")
        return None


# -- the public API ------------------------------------------------------------------

class Registry:
    """A local key-value store of processes; see the module documentation.

    ``Registry`` is a namespace: it has no instances.  A registry is named
    by the ``name`` given to ``start_link`` or by its pid.

    Its functions are staticmethods, as in every namespace of the package
    (``Process``, ``Supervisor``, ``Task``...), so that type checkers accept
    ``Registry.lookup(registry, key)``.  (A plain function stored in a class
    would be a few tens of nanoseconds faster to call on CPython, which
    specializes it, but a type checker reads it as a method missing its
    ``self``.)

    Example:
        >>> async def main():
        ...     await Registry.start_link(keys="unique", name="sessions")
        ...     Registry.register("sessions", "alice", {"since": 1990})
        ...     [(pid, value)] = Registry.lookup("sessions", "alice")
        ...     return pid == actors.self(), value, Registry.lookup("sessions", "bob")
        >>> actors.run(main)
        (True, {'since': 1990}, [])
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Registry:
        raise TypeError("Registry is a namespace of functions; start a registry with "
                        "`await Registry.start_link(keys=..., name=...)`")

    # -- starting ----------------------------------------------------------------

    @staticmethod
    async def start_link(*, keys: str, name: str | None = None, partitions: int = 1,
                         listeners: list[str | Pid] | tuple[str | Pid, ...] = (),
                         meta: dict[Any, Any] | None = None,
                         timeout: float | None = None) -> Pid:
        """Start a registry linked to the caller.

        Example:
            ```python
            await Registry.start_link(keys="unique", name="sessions")   # -> <0.7.0>
            ```

        Args:
            keys: ``"unique"`` (a key maps to at most one process) or
                ``"duplicate"`` (to any number).
            name: the registry's name (it is registered as a local name);
                ``None`` to use the registry by its pid only.
            partitions: accepted for parity with Elixir (a positive int);
                one thread needs no partitions, so they change nothing (see
                "Partitioning" in the module documentation).
            listeners: names (or pids) of processes told of every
                ``register`` (``("register", registry, key, pid, value)``)
                and ``unregister`` (``("unregister", registry, key, pid)``),
                where ``registry`` is the name, else the pid.  Not told when
                a registrant exits: a listener that cares monitors it.
            meta: initial metadata (see ``meta``).
            timeout: seconds to wait for the registry to start (``None``:
                forever).

        Returns:
            The registry's pid.

        Raises:
            TypeError, ValueError: a bad option (before anything starts).
            AlreadyRegistered: ``name`` is taken (``.pid`` is the holder).
            RuntimeError: called outside a process.
        """
        listeners, meta = _check_options(keys, name, partitions, listeners, meta)
        try:
            parent = _self()
        except RuntimeError:
            raise RuntimeError(
                "Registry.start_link must be called inside a process: it links the registry "
                "to its caller. Outside a process, start it with Registry.start(...) (or "
                "under a supervisor: Supervisor.start([Registry.child_spec(...)]))") from None
        pid = await _RegistryServer.start_link(keys, partitions, listeners, meta, parent,
                                               name=name, timeout=timeout)
        assert pid is not None                    # init never ignores
        return pid

    @staticmethod
    async def start(*, keys: str, name: str | None = None, partitions: int = 1,
                    listeners: list[str | Pid] | tuple[str | Pid, ...] = (),
                    meta: dict[Any, Any] | None = None,
                    timeout: float | None = None) -> Pid:
        """Like ``start_link``, without the link: the registry outlives its caller.

        For a registry started from plain asyncio code or from a thread
        (``Runtime.start_thread``): it runs until the runtime stops, which
        shuts it down as a parent would.  Works inside a process too.

        Raises:
            TypeError, ValueError: a bad option (before anything starts).
            AlreadyRegistered: ``name`` is taken (``.pid`` is the holder).
        """
        listeners, meta = _check_options(keys, name, partitions, listeners, meta)
        pid = await _RegistryServer.start(keys, partitions, listeners, meta, None,
                                          name=name, timeout=timeout)
        assert pid is not None                    # init never ignores
        return pid

    @staticmethod
    def child_spec(options: dict[str, Any] | None = None, /, **kwargs: Any) -> ChildSpec:
        """The spec a supervisor uses to run a registry.

        Takes the options of ``start_link``, as keywords or as one dict, so
        that ``(Registry, {"keys": "unique", "name": "sessions"})`` works in a
        supervisor's list of children (Elixir's ``{Registry, keys: :unique,
        name: ...}``).  The id is the registry's name (``Registry`` if it has
        none) and the type is ``"supervisor"``, as in Elixir.

        Raises:
            TypeError, ValueError: a bad option.
        """
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"Registry.child_spec(options): options must be a dict, got {options!r}")
        opts = {**(options or {}), **kwargs}
        unknown = set(opts) - {"keys", "name", "partitions", "listeners", "meta", "timeout"}
        if unknown:
            raise TypeError(f"Registry.child_spec: unknown option(s) {', '.join(sorted(unknown))}")
        if "keys" not in opts:
            raise ValueError("keys must be given: 'unique' or 'duplicate'")
        _check_options(opts["keys"], opts.get("name"), opts.get("partitions", 1),
                       opts.get("listeners", ()), opts.get("meta"))
        name = opts.get("name")
        return ChildSpec(id=Registry if name is None else name,
                         start=(Registry.start_link, (), opts), type="supervisor",
                         modules=[Registry])

    # -- registering (the caller) ----------------------------------------------

    @staticmethod
    def register(registry: str | Pid, key: Any, value: Any = None) -> Pid:
        """Register the calling process under ``key``, with ``value``.

        In a unique registry a key has one holder; in a duplicate registry
        a process may register the same key several times.  The caller is
        linked to the registry (see "Registrations").

        Example:
            ```python
            Registry.register("sessions", "alice", {"since": 1990})   # -> <0.7.0>
            ```

        Args:
            registry: the registry's name or pid.
            key: any hashable value.
            value: stored with the entry (default ``None``).

        Returns:
            The registry's pid (Elixir's owner).

        Raises:
            AlreadyRegistered: unique registry, the key is held (even by the
                caller itself); ``.pid`` is the holder.
            NoProcess: the registry is not running.
            TypeError: ``key`` is not hashable.
            RuntimeError: called outside a process.
        """
        table = _table(registry)
        me = _caller("Registry.register")
        _check_key(key)
        if table.unique:
            holder = table.holder(key)
            if holder is not None:
                if holder is me or is_alive(holder):
                    raise AlreadyRegistered(
                        f"Registry.register: key {key!r} in {table!r} is already registered "
                        f"to {holder!r}", holder)
                table.remove(holder, key)          # the holder is exiting: take the key over
        if me is not table.pid:
            if not is_alive(table.pid):
                raise _unknown(registry)
            link(table.pid)
        table.add(me, key, value)
        if table.listeners:
            table.notify(("register", table.ref, key, me, value))
        return table.pid

    @staticmethod
    def unregister(registry: str | Pid, key: Any) -> None:
        """Remove every entry of the calling process under ``key``.

        Nothing happens if the caller has none.  When the caller has no entry
        left in the registry, it is unlinked from it.

        Raises:
            NoProcess: the registry is not running.
            RuntimeError: called outside a process.
        """
        table = _table(registry)
        me = _caller("Registry.unregister")
        _check_key(key)
        if table.remove(me, key):
            _unlink_if_done(table, me)
            if table.listeners:
                table.notify(("unregister", table.ref, key, me))

    @staticmethod
    def unregister_match(registry: str | Pid, key: Any, pattern: Any) -> None:
        """Remove the calling process's entries under ``key`` whose value matches ``pattern``.

        ``pattern`` is an actors pattern, as in ``match``.

        Raises:
            NoProcess: the registry is not running.
            RuntimeError: called outside a process.
        """
        table = _table(registry)
        me = _caller("Registry.unregister_match")
        _check_key(key)
        if table.remove(me, key, keep=lambda value: not _matches(pattern, value)):
            _unlink_if_done(table, me)
            if table.listeners and not any(k == key for k, _ in table.owners.get(me, ())):
                table.notify(("unregister", table.ref, key, me))

    @staticmethod
    def update_value(registry: str | Pid, key: Any,
                     fn: Callable[[Any], Any]) -> tuple[Any, Any] | None:
        """Replace the value of the caller's entry under ``key`` with ``fn(old)``.

        Unique registries only.

        Returns:
            ``(new_value, old_value)``; ``None`` if the caller does not hold
            ``key``.

        Raises:
            ValueError: the registry is a duplicate registry.
            NoProcess: the registry is not running.
            TypeError: ``key`` is not hashable, or ``fn`` not callable.
        """
        table = _table(registry)
        me = _caller("Registry.update_value")
        _check_key(key)
        _check_fn(fn, "Registry.update_value(registry, key, fn)")
        if not table.unique:
            raise ValueError(f"Registry.update_value: {table!r} has duplicate keys; "
                             f"it works on unique registries only")
        if table.holder(key) is not me:
            return None
        old = table.keys[key][0][1]
        new = fn(old)
        if table.holder(key) is me:              # fn may have unregistered it
            table.replace(key, me, new)
        return new, old

    # -- reading (any process, no message) ------------------------------------

    @staticmethod
    def lookup(registry: str | Pid, key: Any) -> list[tuple[Pid, Any]]:
        """The ``(pid, value)`` entries under ``key``: ``[]`` if none.

        A unique registry gives at most one entry; a duplicate registry gives
        them in registration order.  Reads the table directly, with no
        message to the registry.  The list is a read-only snapshot, shared
        with other callers and never changed afterwards (``list(entries)``
        copies it).

        Example:
            ```python
            Registry.lookup("sessions", "alice")   # -> [(<0.12.0>, {'since': 1990})]
            ```

        Raises:
            NoProcess: the registry is not running.
        """
        try:
            return _keys[registry][key]
        except (KeyError, TypeError):
            return _lookup_missing(registry, key)

    @staticmethod
    def keys(registry: str | Pid, pid: Pid) -> list[Any]:
        """The keys ``pid`` has registered, in registration order.

        A key appears once per registration (so possibly several times in a
        duplicate registry); ``[]`` for a dead process or one with no entry.

        Raises:
            NoProcess: the registry is not running.
            TypeError: ``pid`` is not a Pid.
        """
        table = _table(registry)
        if not isinstance(pid, Pid):
            raise TypeError(f"Registry.keys(registry, pid): pid must be a Pid, got {pid!r}")
        return [k for k, _ in table.owners.get(pid, ())]

    @staticmethod
    def values(registry: str | Pid, key: Any, pid: Pid) -> list[Any]:
        """The values ``pid`` has registered under ``key`` (``[]`` if none).

        Raises:
            NoProcess: the registry is not running.
            TypeError: ``pid`` is not a Pid.
        """
        table = _table(registry)
        if not isinstance(pid, Pid):
            raise TypeError(f"Registry.values(registry, key, pid): pid must be a Pid, got {pid!r}")
        _check_key(key)
        return [v for p, v in table.read(key) if p is pid]

    @staticmethod
    def match(registry: str | Pid, key: Any, pattern: Any) -> list[tuple[Pid, Any]]:
        """The entries under ``key`` whose value matches ``pattern``.

        ``pattern`` is an actors pattern, matched as ``receive`` matches
        messages: ``ANY``; a class; a tuple (item by item); a dict (those
        keys, values matching); ``where(predicate)``; else equality.  It is
        Elixir's ``Registry.match`` with the guards written as ``where``.

        Example:
            ```python
            Registry.match("workers", "pool", ("busy", ANY))   # -> [(<0.9.0>, ('busy', 3))]
            ```

        Raises:
            NoProcess: the registry is not running.
        """
        table = _table(registry)
        _check_key(key)
        return [e for e in table.read(key) if _matches(pattern, e[1])]

    @staticmethod
    def count(registry: str | Pid) -> int:
        """How many entries the registry holds (in constant time).

        Raises:
            NoProcess: the registry is not running.
        """
        return _table(registry).size

    @staticmethod
    def count_match(registry: str | Pid, key: Any, pattern: Any) -> int:
        """How many entries under ``key`` have a value matching ``pattern`` (see ``match``).

        Raises:
            NoProcess: the registry is not running.
        """
        return len(Registry.match(registry, key, pattern))

    @staticmethod
    def select(registry: str | Pid, pattern: Any = ANY) -> list[tuple[Any, Pid, Any]]:
        """Every ``(key, pid, value)`` of the registry that matches ``pattern``.

        Elixir's ``Registry.select``, with an actors pattern in place of a
        match spec: ``Registry.select(reg, (ANY, pid, ANY))`` gives all of
        ``pid``'s entries; ``[k for k, _, _ in Registry.select(reg)]`` all
        the keys.  Scans the whole table in one step (about a microsecond
        an entry, during which no other process runs): ``select_slices``
        reads a large registry a slice at a time.

        Raises:
            NoProcess: the registry is not running.
        """
        table = _table(registry)
        out: list[tuple[Any, Pid, Any]] = []
        for key, held in table.items():          # a snapshot: predicates may register
            for pid, value in held:
                triple = (key, pid, value)
                if _matches(pattern, triple):
                    out.append(triple)
        return out

    @staticmethod
    def select_slices(registry: str | Pid, pattern: Any = ANY, *,
                      size: int = 1000) -> Iterator[list[tuple[Any, Pid, Any]]]:
        """``select``, a slice at a time: an iterator of lists of the matching ``(key, pid, value)``.

        Each slice (each ``next``) examines at most ``size`` entries of the
        table and holds those that match ``pattern`` (so it may hold fewer,
        or none), so that a caller that reads a large registry can let other
        processes run between slices (``await actors.sleep(0)``), which one
        ``select`` cannot: it reads the whole table in one step.  In the
        spirit of ETS's ``select/3`` continuations.  Slices come in
        ``select``'s order: concatenated, the slices of a registry that did
        not change are ``select(registry, pattern)``.

        Example:
            ```python
            for part in Registry.select_slices("sessions", size=500):
                handle(part)                 # [(key, pid, value), ...]
                await actors.sleep(0)        # other processes run between slices
            ```

        Between slices the registry may change, and the read never fails
        because of it: the keys are listed when the read begins (its first
        slice), and each key's entries are read, all at once, when the read
        reaches that key (a duplicate key's entries stay the snapshot taken
        then, even if they span several slices).  So an entry registered
        before the read began and still there when it reaches its key is
        given exactly once; a key registered after the read began is not
        given, nor one unregistered (or whose process exited) before the read
        reached it; an entry given may be gone by the time the caller uses
        it, as with ``lookup``.

        Cost: the first slice lists the keys (a pointer copy, about a
        millisecond per 100,000 keys); then each slice costs about what
        ``select`` costs for ``size`` entries.

        Args:
            registry: the registry's name or pid.
            pattern: an actors pattern that each ``(key, pid, value)`` must
                match (as in ``select``); default: every entry.
            size: the most entries a slice examines (a positive int).

        Raises:
            NoProcess: the registry is not running (when called), or it
                exited during the read (from the next slice).
            TypeError: ``size`` is not an int.
            ValueError: ``size`` is less than 1.
        """
        table = _table(registry)
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"Registry.select_slices(registry, pattern, size): size must be a "
                            f"positive int, got {size!r}")
        if size < 1:
            raise ValueError(f"Registry.select_slices(registry, pattern, size): size must be a "
                             f"positive int, got {size!r}")
        return _select_slices(table, registry, pattern, size)

    @staticmethod
    def count_select(registry: str | Pid, pattern: Any = ANY) -> int:
        """How many ``(key, pid, value)`` triples match ``pattern`` (see ``select``).

        Raises:
            NoProcess: the registry is not running.
        """
        return len(Registry.select(registry, pattern))

    @staticmethod
    def dispatch(registry: str | Pid, key: Any, fn: Callable[[list[tuple[Pid, Any]], *_Ts], object],
                 *args: *_Ts) -> None:
        """Call ``fn(entries, *args)`` in the calling process with the entries under ``key``.

        ``entries`` is the non-empty list of ``(pid, value)``; when there is
        no entry, ``fn`` is not called.  Whatever ``fn`` raises propagates.

        Example:
            ```python
            Registry.dispatch("pubsub", "news",
                              lambda entries: [actors.send(pid, "extra!") for pid, _ in entries])
            ```

        Raises:
            TypeError: ``fn`` is not a plain (non-async) callable.
            NoProcess: the registry is not running.
        """
        _check_fn(fn, "Registry.dispatch(registry, key, fn)")
        entries = Registry.lookup(registry, key)
        if entries:
            result = fn(entries, *args)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError("Registry.dispatch: fn returned an awaitable, which dispatch "
                                "cannot await (it is a plain function); make fn a plain function")

    # -- metadata --------------------------------------------------------------

    @staticmethod
    def meta(registry: str | Pid, key: Any, *default: Any) -> Any:
        """The registry's metadata under ``key`` (from ``start_link(meta=...)`` or ``put_meta``).

        Args:
            default: returned when ``key`` is absent (else ``KeyError``).

        Raises:
            KeyError: no metadata under ``key`` and no default.
            NoProcess: the registry is not running.
            TypeError: ``key`` is not hashable.
        """
        table = _table(registry)
        _check_key(key)
        if len(default) > 1:
            raise TypeError(f"Registry.meta takes at most one default, got {len(default)}")
        try:
            return table.meta[key]
        except KeyError:
            if default:
                return default[0]
            raise KeyError(key) from None

    @staticmethod
    def put_meta(registry: str | Pid, key: Any, value: Any) -> None:
        """Store ``value`` as the registry's metadata under ``key`` (any hashable value).

        Raises:
            NoProcess: the registry is not running.
            TypeError: ``key`` is not hashable.
        """
        table = _table(registry)
        _check_key(key)
        table.meta[key] = value

    @staticmethod
    def delete_meta(registry: str | Pid, key: Any) -> None:
        """Remove the registry's metadata under ``key`` (if any).

        Raises:
            NoProcess: the registry is not running.
            TypeError: ``key`` is not hashable.
        """
        table = _table(registry)
        _check_key(key)
        table.meta.pop(key, None)


def _unlink_if_done(table: _Table, me: Pid) -> None:
    """The caller has no entry left: drop its link to the registry (not its parent's link)."""
    if me not in table.owners and me is not table.pid and me is not table.parent:
        unlink(table.pid)


def _select_slices(table: _Table, registry: Any, pattern: Any,
                   size: int) -> Iterator[list[tuple[Any, Pid, Any]]]:
    """``Registry.select_slices``'s iterator (see there for what a read gives)."""
    keys = list(table.keys if table.unique else table.bags)   # when the read begins
    i = 0                                       # the next key to read
    key: Any = None
    held: list[tuple[Pid, Any]] = _EMPTY        # the entries of ``key``, read when reached
    j = 0                                       # the next of them
    every = pattern is ANY
    while i < len(keys) or j < len(held):
        if _tables.get(table.pid) is not table:
            raise NoProcess(f"Registry.select_slices: registry {registry!r} exited during the read")
        out: list[tuple[Any, Pid, Any]] = []
        budget = size
        while budget > 0:
            if j >= len(held):
                if i >= len(keys):
                    break
                key = keys[i]
                i += 1
                held = table.read(key)
                j = 0
                if not held:
                    budget -= 1                 # a key gone meanwhile costs a look
                continue
            part = held[j:j + budget]
            j += len(part)
            budget -= len(part)
            if every:
                out.extend([(key, pid, value) for pid, value in part])
            else:
                for pid, value in part:
                    triple = (key, pid, value)
                    if _matches(pattern, triple):
                        out.append(triple)
        yield out


# -- via(registry, key) --------------------------------------------------------------

class ViaHandler:
    """Resolves ``via(registry, key)`` names for the core (``actors/__init__.py``
    registers one with ``lowlevel.set_via_handler``)."""

    def whereis_name(self, registry: Any, key: Any) -> Pid | None:
        table = _tables.get(registry) if isinstance(registry, (str, Pid)) else None
        if table is None:
            return None                          # a registry that is not running holds no name
        if not table.unique:
            raise ValueError(f"via({registry!r}, {key!r}): {table!r} has duplicate keys; "
                             f"via needs a unique registry")
        pid = table.holder(key)
        return pid if pid is not None and is_alive(pid) else None

    def register_name(self, registry: Any, key: Any, pid: Pid) -> None:
        table = _table(registry)
        if not table.unique:
            raise ValueError(f"via({registry!r}, {key!r}): {table!r} has duplicate keys; "
                             f"via needs a unique registry")
        me = _caller("registering a via name")
        if pid is not me:
            raise ValueError(f"via({registry!r}, {key!r}): a Registry registers the calling "
                             f"process only, not {pid!r}")
        Registry.register(registry, key, None)

    def unregister_name(self, registry: Any, key: Any) -> None:
        table = _tables.get(registry) if isinstance(registry, (str, Pid)) else None
        if table is not None:
            Registry.unregister(registry, key)

