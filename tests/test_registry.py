"""Registry: unique and duplicate keys, registering the caller, lookups that
read the table directly, cleanup when a registrant exits, dispatch, match,
metadata, listeners, via names and supervision (docs/api.md "OTP layers" and "Details";
Elixir's registry.ex is the reference where the contract is silent).
"""
from __future__ import annotations

import copy
import inspect
import pickle

import pytest

import actors
from actors import ANY, AlreadyRegistered, Down, Exit, NoProcess, Process, ProcessExit, via, where
from actors.child_spec import ChildSpec, child_spec
from actors.gen_server import GenServer
from actors.registry import Registry

_NOTHING = object()


async def expect(pattern, timeout=30.0):
    """The next message matching ``pattern``; Timeout (failing the test) if none comes."""
    return await actors.receive(pattern, timeout=timeout)


async def nothing(pattern=ANY):
    """Assert that no message matching ``pattern`` is waiting."""
    msg = await actors.receive(pattern, timeout=0, default=_NOTHING)
    assert msg is _NOTHING, f"unexpected message {msg!r}"


async def kill(pid):
    """Kill ``pid`` and wait until it has finished exiting.

    The monitor is made first: a monitor made once the process is exiting
    reports "noproc" at once, before the process has terminated.
    """
    ref = actors.monitor(pid)
    actors.exit(pid, "kill")
    return (await expect(Down(ref, ANY, ANY))).reason


async def registrant(registry, entries, parent):
    """Register ``(key, value)`` pairs, report, then obey commands from ``parent``.

    Commands: ("unregister", key) (answered with ("done", result)),
    ("exit", reason), ("crash",).
    """
    for key, value in entries:
        Registry.register(registry, key, value)
    actors.send(parent, ("registered", actors.self()))
    while True:
        cmd = await actors.receive()
        if cmd[0] == "unregister":
            actors.send(parent, ("done", Registry.unregister(registry, cmd[1])))
        elif cmd[0] == "exit":
            raise ProcessExit(cmd[1])
        elif cmd[0] == "crash":
            raise RuntimeError("registrant crashed on purpose")


async def start_registrant(registry, *entries, link=False):
    """Spawn a ``registrant`` holding ``entries`` and wait until it has registered."""
    spawn = actors.spawn_link if link else actors.spawn
    pid = spawn(registrant, registry, list(entries), actors.self())
    await expect(("registered", pid))
    return pid


async def ask(pid, *cmd):
    actors.send(pid, cmd)
    return (await expect(("done", ANY)))[1]


class Echo(GenServer):
    """A server that answers a call with ("echo", request) and reports casts."""

    def init(self, owner=None):
        self.owner = owner

    def handle_call(self, request, from_):
        return ("echo", request)

    def handle_cast(self, request):
        if self.owner is not None:
            actors.send(self.owner, ("cast", request))

    def handle_info(self, msg):
        if self.owner is not None:
            actors.send(self.owner, ("info", msg))


# -- starting ---------------------------------------------------------------------


def test_start_link_returns_the_registry_pid_registered_under_its_name(run):
    """start_link starts the registry process, linked to the caller, under its name."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        assert isinstance(reg, actors.Pid)
        assert actors.whereis("reg") is reg
        assert reg in Process.info(actors.self(), "links")
        assert Registry.count("reg") == 0
        assert Registry.count(reg) == 0

    run(main)


@pytest.mark.parametrize("options, error, match", [
    ({}, TypeError, "keys"),
    ({"keys": "uniq"}, ValueError, "keys"),
    ({"keys": ["unique"]}, ValueError, "keys"),
    ({"keys": "unique", "name": 42}, TypeError, "name"),
    ({"keys": "unique", "partitions": 0}, ValueError, "partitions"),
    ({"keys": "unique", "partitions": -3}, ValueError, "partitions"),
    ({"keys": "unique", "partitions": 2.0}, TypeError, "partitions"),
    ({"keys": "unique", "partitions": True}, TypeError, "partitions"),
    ({"keys": "unique", "listeners": "one"}, TypeError, "listeners"),
    ({"keys": "unique", "listeners": [1]}, TypeError, "listeners"),
    ({"keys": "unique", "meta": [("a", 1)]}, TypeError, "meta"),
])
def test_bad_options_raise_before_anything_starts(run, options, error, match):
    """Bad options raise TypeError/ValueError naming the option, and no process starts."""

    async def main():
        before = len(Process.list())
        with pytest.raises(error, match=match):
            await Registry.start_link(**options)
        assert len(Process.list()) == before

    run(main)


def test_a_taken_registry_name_raises_already_registered(run):
    """A registry name is a local name: a taken one raises AlreadyRegistered with the holder."""

    async def main():
        actors.register("taken")
        with pytest.raises(AlreadyRegistered) as info:
            await Registry.start_link(keys="unique", name="taken")
        assert info.value.pid is actors.self()

    run(main)


def test_start_link_outside_a_process_raises_runtime_error(aio_run):
    """start_link links to its caller, so plain asyncio code cannot call it."""

    async def main():
        async with actors.Runtime():
            with pytest.raises(RuntimeError, match=r"inside a process.*Registry\.start\("):
                await Registry.start_link(keys="unique", name="reg")

    aio_run(main)


def test_start_from_plain_asyncio_gives_a_registry_that_outlives_its_starter(aio_run):
    """Registry.start (OTP's unlinked start) is the way to start a registry
    from outside a process: it lives until the runtime stops it."""

    async def main():
        async with actors.Runtime() as rt:
            pid = await Registry.start(keys="unique", name="reg")

            async def use():
                Registry.register("reg", "k", 1)
                return Registry.lookup("reg", "k")

            async def look():
                return Registry.lookup("reg", "k")

            assert await rt.run_in_process(use) != []
            # run_in_process's helper process has come and gone: its entry went
            # with it, and the registry stays
            assert await rt.run_in_process(look) == []
            assert Process.alive(pid) and actors.whereis("reg") is pid

    aio_run(main)


def test_start_under_a_thread_runtime_stays_up_and_stops_with_it():
    with actors.Runtime.start_thread() as rt:
        pid = rt.submit(Registry.start, keys="duplicate", name="reg").result(30)
        assert rt.submit(_alive, pid).result(30) is True
    assert not rt.running


async def _alive(pid):
    return Process.alive(pid) and actors.whereis("reg") is pid


def test_start_checks_its_options_before_starting(run):
    async def main():
        with pytest.raises(ValueError, match="keys"):
            await Registry.start(keys="some")
        assert actors.whereis("reg") is None

    run(main)


def test_registry_is_not_instantiated():
    """Registry is a namespace of functions, like Elixir's module."""
    with pytest.raises(TypeError, match="start_link"):
        Registry()


@pytest.mark.parametrize("namespace", [Registry, actors.Process], ids=["Registry", "Process"])
def test_registry_and_process_are_namespaces_of_staticmethods(namespace):
    """Both namespaces are written the same way (docs/api.md "Namespaces"): every
    public function is a staticmethod, which type checkers accept as
    ``Registry.lookup(reg, key)`` (a plain function in a class reads to them as
    a method missing ``self``); and there are no instances."""
    public = {name: attr for name, attr in vars(namespace).items() if not name.startswith("_")}
    assert public
    assert {name for name, attr in public.items() if not isinstance(attr, staticmethod)} == set()
    with pytest.raises(TypeError, match="namespace"):
        namespace()


def test_registry_functions_follow_the_sync_async_rule():
    """Only the starts wait for another process (docs/api.md "Sync or async");
    every other Registry function completes in the caller."""
    awaited = {name for name, attr in vars(Registry).items()
               if isinstance(attr, staticmethod) and inspect.iscoroutinefunction(attr.__func__)}
    assert awaited == {"start", "start_link"}


def test_a_registry_can_be_used_by_pid_alone(run):
    """Without a name, the pid returned by start_link names the registry everywhere."""

    async def main():
        reg = await Registry.start_link(keys="duplicate")
        Registry.register(reg, "k", 1)
        assert Registry.lookup(reg, "k") == [(actors.self(), 1)]
        assert Registry.keys(reg, actors.self()) == ["k"]

    run(main)


# -- unique keys ---------------------------------------------------------------


def test_unique_register_then_lookup(run):
    """register stores (caller, value); lookup returns [] or [(pid, value)]."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        assert Registry.lookup("reg", "hello") == []
        Registry.register("reg", "hello", "world")
        assert Registry.lookup("reg", "hello") == [(actors.self(), "world")]
        Registry.register("reg", "other")
        assert Registry.lookup("reg", "other") == [(actors.self(), None)]   # value defaults to None
        assert Registry.count("reg") == 2

    run(main)


def test_register_returns_the_registry_pid(run):
    """register returns the owner of the entry, the registry's pid (Elixir's {:ok, owner})."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        assert Registry.register("reg", "k") is reg

    run(main)


def test_unique_key_taken_by_another_process_raises_with_the_holder(run):
    """A unique key held by another process raises AlreadyRegistered whose .pid is the holder."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        holder = await start_registrant("reg", ("k", 1))
        with pytest.raises(AlreadyRegistered, match="'k'") as info:
            Registry.register("reg", "k", 2)
        assert info.value.pid is holder
        assert Registry.lookup("reg", "k") == [(holder, 1)]
        assert Registry.keys("reg", actors.self()) == []
        assert actors.Process.info(actors.self(), "links") == [actors.whereis("reg")]

    run(main)


def test_unique_key_already_held_by_the_caller_raises_with_the_caller(run):
    """Registering a unique key the caller already holds raises too (.pid is the caller)."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k", 1)
        with pytest.raises(AlreadyRegistered) as info:
            Registry.register("reg", "k", 2)
        assert info.value.pid is actors.self()
        assert Registry.lookup("reg", "k") == [(actors.self(), 1)]
        assert Registry.keys("reg", actors.self()) == ["k"]

    run(main)


def test_one_process_may_hold_many_unique_keys(run):
    """Different keys may identify the same process."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        for key in ("a", "b", ("tuple", 1)):
            Registry.register("reg", key, key)
        assert Registry.keys("reg", actors.self()) == ["a", "b", ("tuple", 1)]
        assert Registry.lookup("reg", ("tuple", 1)) == [(actors.self(), ("tuple", 1))]

    run(main)


def test_keys_compare_with_python_equality(run):
    """Keys are hashable values compared with ==: 1 and 1.0 are the same key."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", 1, "int")
        assert Registry.lookup("reg", 1.0) == [(actors.self(), "int")]
        with pytest.raises(AlreadyRegistered):
            Registry.register("reg", 1.0)

    run(main)


def test_unhashable_key_raises_type_error_naming_key(run):
    """A key must be hashable; every function says so naming the key."""

    async def main():
        await Registry.start_link(keys="duplicate", name="reg")
        with pytest.raises(TypeError, match="key must be hashable"):
            Registry.register("reg", ["list"], 1)
        with pytest.raises(TypeError, match="key must be hashable"):
            Registry.lookup("reg", ["list"])
        with pytest.raises(TypeError, match="key must be hashable"):
            Registry.unregister("reg", {"a": 1})
        assert Registry.count("reg") == 0

    run(main)


@pytest.mark.parametrize("keys", ["unique", "duplicate"])
def test_every_function_taking_a_key_refuses_an_unhashable_one_in_the_caller(run, keys):
    """Every function that takes a key (metadata keys too) raises TypeError naming
    the key, in the caller; the registry and its registrants are untouched."""

    async def main():
        reg = await Registry.start_link(keys=keys, name="reg")
        Registry.register("reg", "k", 1)
        bad = ["list"]
        calls = [
            lambda: Registry.register("reg", bad), lambda: Registry.unregister("reg", bad),
            lambda: Registry.unregister_match("reg", bad, ANY), lambda: Registry.lookup("reg", bad),
            lambda: Registry.values("reg", bad, actors.self()), lambda: Registry.match("reg", bad, ANY),
            lambda: Registry.count_match("reg", bad, ANY), lambda: Registry.dispatch("reg", bad, len),
            lambda: Registry.meta("reg", bad), lambda: Registry.meta("reg", bad, None),
            lambda: Registry.put_meta("reg", bad, 1), lambda: Registry.delete_meta("reg", bad),
        ]
        if keys == "unique":
            calls.append(lambda: Registry.update_value("reg", bad, lambda v: v))
        for call in calls:
            with pytest.raises(TypeError, match="key must be hashable"):
                call()
        assert Process.alive(reg) and Registry.lookup("reg", "k") == [(actors.self(), 1)]

    run(main)


@pytest.mark.parametrize("request_", [42, ("register", ["list"]), "lookup"])
def test_a_stray_call_or_cast_does_not_kill_the_registry_or_its_registrants(run, request_):
    """A client's bad argument never kills a server: a raw call to the registry
    process gets ("error", TypeError) and a cast is logged and dropped; the
    registry (and so every registrant linked to it) lives on."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k", 1)
        ref = actors.monitor(reg)
        status, error = await actors.lowlevel.call(reg, request_)
        assert status == "error" and isinstance(error, TypeError)
        GenServer.cast(reg, request_)
        status, error = await actors.lowlevel.call(reg, "sync")    # the cast was handled
        assert status == "error"
        await nothing(Down)
        assert Registry.lookup("reg", "k") == [(actors.self(), 1)]
        actors.demonitor(ref)

    run(main)


# -- duplicate keys -------------------------------------------------------------


def test_duplicate_keys_allow_many_processes_and_repeats(run):
    """In a duplicate registry a key maps to any number of entries, in registration order."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "topic", "first")
        Registry.register("dup", "topic", "again")
        other = await start_registrant("dup", ("topic", "other"))
        assert Registry.lookup("dup", "topic") == [(me, "first"), (me, "again"), (other, "other")]
        assert Registry.keys("dup", me) == ["topic", "topic"]
        assert Registry.count("dup") == 3

    run(main)


def test_values_gives_the_values_of_one_pid_under_a_key(run):
    """values(reg, key, pid): [] or [value] in a unique registry; all of pid's in a duplicate one."""

    async def main():
        me = actors.self()
        await Registry.start_link(keys="unique", name="uni")
        await Registry.start_link(keys="duplicate", name="dup")
        assert Registry.values("uni", "k", me) == []
        Registry.register("uni", "k", "v")
        assert Registry.values("uni", "k", me) == ["v"]
        other = await start_registrant("dup", ("k", "theirs"))
        Registry.register("dup", "k", 1)
        Registry.register("dup", "k", 2)
        assert Registry.values("dup", "k", me) == [1, 2]
        assert Registry.values("dup", "k", other) == ["theirs"]
        assert Registry.values("uni", "k", other) == []
        with pytest.raises(TypeError, match="pid"):
            Registry.values("dup", "k", "me")

    run(main)


# -- unregister -------------------------------------------------------------------


def test_unregister_removes_every_entry_of_the_caller_under_the_key(run):
    """unregister(reg, key) removes all of the caller's entries under key, and nobody else's."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "k", 1)
        Registry.register("dup", "k", 2)
        Registry.register("dup", "other", 3)
        them = await start_registrant("dup", ("k", "theirs"))
        assert Registry.unregister("dup", "k") is None
        assert Registry.lookup("dup", "k") == [(them, "theirs")]
        assert Registry.keys("dup", me) == ["other"]
        assert Registry.count("dup") == 2

    run(main)


def test_unregister_of_a_key_not_held_is_a_no_op(run):
    """Unregistering a key the caller does not hold changes nothing, even if another holds it."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1))
        Registry.unregister("reg", "k")
        Registry.unregister("reg", "never")
        assert Registry.lookup("reg", "k") == [(them, 1)]

    run(main)


def test_a_unique_key_freed_by_unregister_can_be_taken(run):
    """After its holder unregisters, a unique key can be registered by another process."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1))
        assert await ask(them, "unregister", "k") is None
        Registry.register("reg", "k", 2)
        assert Registry.lookup("reg", "k") == [(actors.self(), 2)]

    run(main)


def test_unregister_match_removes_only_matching_values(run):
    """unregister_match removes the caller's entries under key whose value matches the pattern."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        for value in ("world_a", "world_b", "world_c"):
            Registry.register("dup", "hello", value)
        Registry.unregister_match("dup", "hello", "world_a")
        assert Registry.lookup("dup", "hello") == [(me, "world_b"), (me, "world_c")]
        Registry.unregister_match("dup", "hello", where(lambda v: v.endswith("c")))
        assert Registry.lookup("dup", "hello") == [(me, "world_b")]
        Registry.unregister_match("dup", "hello", "no match")
        assert Registry.keys("dup", me) == ["hello"]

    run(main)


# -- links between registrants and the registry ------------------------------------


def test_registering_links_the_caller_to_the_registry_until_its_last_key_goes(run):
    """The caller is linked to the registry while it has entries; unlinked after the last unregister."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("a", 1), ("b", 2))
        assert reg in Process.info(them, "links")
        await ask(them, "unregister", "a")
        assert reg in Process.info(them, "links")
        await ask(them, "unregister", "b")
        assert reg not in Process.info(them, "links")

    run(main)


def test_unregistering_does_not_unlink_the_registry_from_its_parent(run):
    """The process that started the registry keeps its link after unregistering its keys."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k")
        Registry.unregister("reg", "k")
        assert reg in Process.info(actors.self(), "links")

    run(main)


def test_a_registry_crash_kills_its_registrants(run):
    """Registrants are linked to the registry: its abnormal exit reaches them (Elixir's link)."""

    async def main():
        actors.Process.flag("trap_exit", True)
        reg = await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1))
        watched = await start_registrant("reg", ("t", 1))
        await ask(watched, "unregister", "t")            # no entry left: no link, survives
        ref = actors.monitor(them)
        actors.exit(reg, "boom")
        assert (await expect(Exit(reg, ANY))).reason == "boom"
        assert (await expect(Down(ref, ANY, ANY))).reason == "boom"
        assert Process.alive(watched)

    run(main)


def test_a_trapping_registrant_gets_the_registry_exit_as_a_message(run, caplog):
    """A registrant that traps exits receives Exit(registry, reason) and keeps running."""

    async def trapper(parent):
        actors.Process.flag("trap_exit", True)
        Registry.register("reg", "k")
        actors.send(parent, ("registered", actors.self()))
        actors.send(parent, ("got", await actors.receive(Exit)))

    async def main():
        actors.Process.flag("trap_exit", True)
        reg = await Registry.start_link(keys="unique", name="reg")
        pid = actors.spawn(trapper, actors.self())
        await expect(("registered", pid))
        ref = actors.monitor(pid)
        actors.exit(reg, "boom")
        assert (await expect(("got", ANY)))[1] == Exit(reg, "boom")
        assert (await expect(Down(ref, ANY, ANY))).reason == "normal"   # outlived its registry

    run(main)
    assert not [r for r in caplog.records if "exit callback" in r.getMessage()]


# -- entries vanish when their process exits ----------------------------------------


@pytest.mark.parametrize("how", ["normal", "crash", "kill", "shutdown"])
def test_entries_disappear_when_the_owner_dies(run, how):
    """A process's entries are gone by the time its Down arrives, however it exited."""

    async def main():
        await Registry.start_link(keys="unique", name="uni")
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "topic", "mine")
        them = actors.spawn(registrant_both, me)
        await expect(("registered", them))
        assert Registry.lookup("uni", "name") == [(them, 1)]
        ref = actors.monitor(them)
        if how == "normal":
            actors.send(them, ("exit", "normal"))
        elif how == "crash":
            actors.send(them, ("crash",))
        elif how == "kill":
            actors.exit(them, "kill")
        else:
            actors.exit(them, "shutdown")
        await expect(Down(ref, ANY, ANY))
        assert Registry.lookup("uni", "name") == []
        assert Registry.lookup("dup", "topic") == [(me, "mine")]
        assert Registry.keys("uni", them) == []
        assert Registry.keys("dup", them) == []
        assert Registry.count("uni") == 0
        assert Registry.count("dup") == 1

    run(main)


async def registrant_both(parent):
    """Holds "name" in the unique registry and two "topic" entries in the duplicate one."""
    Registry.register("uni", "name", 1)
    Registry.register("dup", "topic", "a")
    Registry.register("dup", "topic", "b")
    actors.send(parent, ("registered", actors.self()))
    cmd = await actors.receive()
    if cmd[0] == "exit":
        raise ProcessExit(cmd[1])
    raise RuntimeError("registrant crashed on purpose")


def test_entries_are_gone_before_links_are_handled(run):
    """A linked, trapping process that handles the owner's Exit already sees the entry gone."""

    async def main():
        actors.Process.flag("trap_exit", True)
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1), link=True)
        actors.send(them, ("exit", "bye"))
        await expect(Exit(them, "bye"))
        assert Registry.lookup("reg", "k") == []
        Registry.register("reg", "k", 2)                  # the key is free again at once
        assert Registry.lookup("reg", "k") == [(actors.self(), 2)]

    run(main)


def test_a_key_held_by_an_exiting_process_can_be_taken_over(run):
    """A unique key whose holder was killed but has not finished exiting is free (Elixir checks
    Process.alive? too); the old holder's exit then leaves the new entry alone."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1))
        ref = actors.monitor(them)
        actors.exit(them, "kill")
        assert not Process.alive(them)                  # exiting: not yet terminated
        Registry.register("reg", "k", 2)
        await expect(Down(ref, ANY, ANY))
        assert Registry.lookup("reg", "k") == [(actors.self(), 2)]
        assert Registry.count("reg") == 1

    run(main)


async def _register_and_exit(key):
    Registry.register("churn", key, None)


async def _churn(worker, count):
    """Start ``count`` registrants one after another, one per scheduling round."""
    for i in range(count):
        actors.spawn(_register_and_exit, (worker, i))
        await actors.lowlevel.checkpoint()


def test_the_registry_keeps_up_with_registrant_churn(run):
    """Under sustained churn (50,000 registrants registering then exiting, 2,500 at
    a time) the registry's mailbox stays bounded by what one scheduling round can
    end, instead of growing with every round: each registrant's Exit (it is linked
    to the registry) is dropped as fast as it comes.  Lookups never return a dead
    pid meanwhile."""
    workers, each = 2_500, 20

    async def main():
        reg = await Registry.start_link(keys="unique", name="churn")
        refs = {actors.monitor(actors.spawn(_churn, w, each)) for w in range(workers)}
        longest = 0
        while refs:
            down = await actors.receive(Down, timeout=0, default=None)
            if down is not None:
                refs.discard(down.ref)
                continue
            longest = max(longest, Process.info(reg, "message_queue_len"))
            for key, pid, _ in Registry.select("churn"):
                assert Process.alive(pid), (key, pid)
                assert Registry.lookup("churn", key) == [(pid, None)]
            await actors.lowlevel.checkpoint()
        await actors.lowlevel.checkpoint()
        assert Registry.count("churn") == 0
        return longest

    assert run(main) <= workers


def test_requests_queued_among_registrant_exits_are_still_answered(run):
    """Dropping registrants' exits in bulk keeps every other message: a request
    that arrives between exits is still answered, and the registry still stops
    when asked."""

    async def registrant(parent):
        Registry.register("reg", "k")
        actors.send(parent, "registered")
        await actors.receive("go")

    async def ask(parent, reg):
        actors.send(parent, ("answer", await actors.lowlevel.call(reg, "ping")))

    async def main():
        reg = await Registry.start_link(keys="duplicate", name="reg")
        me = actors.self()
        first = [actors.spawn(registrant, me) for _ in range(50)]
        last = [actors.spawn(registrant, me) for _ in range(50)]
        for _ in range(100):
            await expect("registered")
        for pid in first:
            actors.send(pid, "go")
        actors.spawn(ask, me, reg)            # runs after the first 50 have exited
        for pid in last:
            actors.send(pid, "go")
        _, (status, error) = await expect(("answer", ANY))
        assert status == "error" and isinstance(error, TypeError)
        await GenServer.stop(reg)

    run(main)


def test_many_registrants_of_one_key_all_leave_when_they_exit(run):
    """Every subscriber of a duplicate key is removed on exit; the others stay, in order."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        pids = [await start_registrant("dup", ("topic", i)) for i in range(50)]
        for pid in pids[::2]:
            await kill(pid)
        assert Registry.lookup("dup", "topic") == [(pid, i) for i, pid in enumerate(pids) if i % 2]
        assert Registry.count("dup") == 25

    run(main)


# -- lookups read the table directly -------------------------------------------------


def test_lookups_need_no_round_trip_to_the_registry(run):
    """Lookups are plain calls that never message the registry: it stays parked, untouched."""

    async def main():
        reg = await Registry.start_link(keys="duplicate", name="dup")
        Registry.register("dup", "k", 1)
        assert Process.info(reg, "status") == "waiting"
        before = Process.info(reg, "reductions")
        assert Registry.lookup("dup", "k") == [(actors.self(), 1)]
        assert Registry.keys("dup", actors.self()) == ["k"]
        assert Registry.values("dup", "k", actors.self()) == [1]
        assert Registry.match("dup", "k", int) == [(actors.self(), 1)]
        assert Registry.count("dup") == 1
        Registry.dispatch("dup", "k", lambda entries: None)
        assert Process.info(reg, "status") == "waiting"     # a message would make it runnable
        assert Process.info(reg, "message_queue_len") == 0
        await actors.sleep(0)                               # let anything pending run
        assert Process.info(reg, "reductions") == before


def test_lookup_from_another_process_sees_the_same_entries(run):
    """Any process reads any registry: entries are not private to their owner."""

    async def reader(parent):
        actors.send(parent, ("seen", Registry.lookup("reg", "k")))

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k", "v")
        actors.spawn(reader, actors.self())
        assert (await expect(("seen", ANY)))[1] == [(actors.self(), "v")]

    run(main)


def test_lookup_from_plain_asyncio_code(aio_run):
    """Lookups need no process: plain asyncio code running a Runtime can read a registry."""

    async def starter(parent):
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k", 42)
        actors.send(parent, "ready")
        await actors.receive("stop")

    async def main():
        async with actors.Runtime() as rt:
            async def wait_ready():
                pid = actors.spawn(starter, actors.self())
                await actors.receive("ready")
                return pid
            pid = await rt.run_in_process(wait_ready)
            assert Registry.lookup("reg", "k") == [(pid, 42)]
            assert Registry.count("reg") == 1
            rt.send(pid, "stop")

    aio_run(main)


def test_lookup_returns_a_read_only_snapshot(run):
    """lookup's list never changes afterwards and cannot be mutated; copies are plain lists."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "k", 1)
        first = Registry.lookup("dup", "k")
        Registry.register("dup", "k", 2)
        assert first == [(me, 1)]
        assert Registry.lookup("dup", "k") == [(me, 1), (me, 2)]
        assert isinstance(first, list)
        with pytest.raises(TypeError, match="read-only"):
            first.append((me, 3))
        with pytest.raises(TypeError, match="read-only"):
            first.sort()
        with pytest.raises(TypeError, match="read-only"):
            first[0] = None
        mine = list(first)
        mine.append("x")
        assert type(copy.copy(first)) is list
        assert pickle.loads(pickle.dumps(Registry.lookup("dup", "none"))) == []
        assert sorted(Registry.lookup("dup", "k"), key=lambda e: -e[1]) == [(me, 2), (me, 1)]

    run(main)


def test_keys_of_a_dead_or_unknown_pid_is_empty(run):
    """keys(reg, pid) is [] for a process that never registered or has exited."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg", ("k", 1))
        assert Registry.keys("reg", actors.self()) == []
        await kill(them)
        assert Registry.keys("reg", them) == []
        with pytest.raises(TypeError, match="pid"):
            Registry.keys("reg", "not a pid")

    run(main)


def test_count_counts_entries(run):
    """count is the number of entries: every registration counts in a duplicate registry."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        Registry.register("dup", "a")
        Registry.register("dup", "a")
        Registry.register("dup", "b")
        assert Registry.count("dup") == 3
        Registry.unregister("dup", "a")
        assert Registry.count("dup") == 1

    run(main)


# -- dispatch -----------------------------------------------------------------------


def test_dispatch_runs_fn_in_the_caller_with_every_entry(run):
    """dispatch calls fn(entries) in the calling process, with the (pid, value) entries."""

    async def main():
        await Registry.start_link(keys="duplicate", name="pubsub")
        me = actors.self()
        subs = [await start_registrant("pubsub", ("news", i)) for i in range(3)]
        calls = []

        def fn(entries):
            calls.append((actors.self(), list(entries)))

        assert Registry.dispatch("pubsub", "news", fn) is None
        assert calls == [(me, [(pid, i) for i, pid in enumerate(subs)])]

    run(main)


def test_dispatch_as_pubsub_reaches_every_subscriber(run):
    """The PubSub recipe: dispatch sends to each registered process."""

    async def subscriber(parent):
        Registry.register("pubsub", "news")
        actors.send(parent, ("registered", actors.self()))
        actors.send(parent, ("heard", actors.self(), await actors.receive(("broadcast", ANY))))

    async def main():
        await Registry.start_link(keys="duplicate", name="pubsub", partitions=4)
        pids = []
        for _ in range(3):
            pid = actors.spawn(subscriber, actors.self())
            await expect(("registered", pid))
            pids.append(pid)
        Registry.dispatch("pubsub", "news",
                          lambda entries: [actors.send(pid, ("broadcast", "world")) for pid, _ in entries])
        heard = {(await expect(("heard", ANY, ANY)))[1] for _ in pids}
        assert heard == set(pids)

    run(main)


def test_dispatch_gives_a_snapshot_that_fn_may_change_the_registry_under(run):
    """fn may register and unregister while it runs: the entries it was given do not change."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "k", 1)
        seen = []

        def fn(entries):
            Registry.unregister("dup", "k")
            Registry.register("dup", "k", 2)
            seen.append(list(entries))

        Registry.dispatch("dup", "k", fn)
        assert seen == [[(me, 1)]]
        assert Registry.lookup("dup", "k") == [(me, 2)]

    run(main)


def test_dispatch_does_not_call_fn_without_entries(run):
    """With no entry under the key, fn is never called."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        Registry.dispatch("dup", "nobody", lambda entries: pytest.fail("called"))

    run(main)


def test_dispatch_passes_extra_args_and_propagates_errors(run):
    """dispatch(reg, key, fn, *args) calls fn(entries, *args); an exception in fn reaches the caller."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k", "v")
        seen = []
        Registry.dispatch("reg", "k", lambda entries, a, b: seen.append((entries, a, b)), 1, 2)
        assert seen == [([(actors.self(), "v")], 1, 2)]

        def bad(entries):
            raise KeyError("bad registration")

        with pytest.raises(KeyError, match="bad registration"):
            Registry.dispatch("reg", "k", bad)

    run(main)


def test_dispatch_refuses_async_functions(run):
    """dispatch is not awaited, so an async fn (whose coroutine would never run) is a TypeError."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k")

        async def handler(entries):
            pass

        with pytest.raises(TypeError, match="fn must be a plain function"):
            Registry.dispatch("reg", "k", handler)
        with pytest.raises(TypeError, match="awaitable"):
            Registry.dispatch("reg", "k", lambda entries: handler(entries))
        with pytest.raises(TypeError, match="fn must be callable"):
            Registry.dispatch("reg", "k", "not callable")

    run(main)


# -- match and select ----------------------------------------------------------------


def test_match_filters_values_with_actors_patterns(run):
    """match(reg, key, pattern) keeps entries whose value matches: ANY, class, tuple, dict, where."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        Registry.register("dup", "hello", (1, "atom", 1))
        Registry.register("dup", "hello", (2, "atom", 2))
        Registry.register("dup", "hello", {"role": "admin", "level": 3})
        Registry.register("dup", "hello", "plain")
        assert Registry.match("dup", "hello", (1, ANY, ANY)) == [(me, (1, "atom", 1))]
        assert Registry.match("dup", "hello", (ANY, "atom", ANY)) == [(me, (1, "atom", 1)), (me, (2, "atom", 2))]
        assert Registry.match("dup", "hello", (ANY, ANY, where(lambda x: x > 1))) == [(me, (2, "atom", 2))]
        assert Registry.match("dup", "hello", {"role": "admin"}) == [(me, {"role": "admin", "level": 3})]
        assert Registry.match("dup", "hello", str) == [(me, "plain")]
        assert Registry.match("dup", "hello", "plain") == [(me, "plain")]
        assert len(Registry.match("dup", "hello", ANY)) == 4
        assert Registry.match("dup", "hello", (ANY, ANY)) == []
        assert Registry.match("dup", "nobody", ANY) == []
        assert Registry.count_match("dup", "hello", (ANY, "atom", ANY)) == 2

    run(main)


def test_match_compares_pids_by_identity(run):
    """A pid inside a pattern matches that very pid, as in receive."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        me = actors.self()
        them = await start_registrant("dup")
        Registry.register("dup", "k", ("owner", me))
        Registry.register("dup", "k", ("owner", them))
        assert Registry.match("dup", "k", ("owner", them)) == [(me, ("owner", them))]

    run(main)


def test_select_matches_key_pid_value_triples(run):
    """select(reg, pattern) returns every (key, pid, value) matching (Elixir's select)."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        me = actors.self()
        them = await start_registrant("reg", ("theirs", 0))
        Registry.register("reg", "hello", "value")
        Registry.register("reg", "world", "value")
        assert sorted(k for k, _, _ in Registry.select("reg")) == ["hello", "theirs", "world"]
        assert Registry.select("reg", (ANY, them, ANY)) == [("theirs", them, 0)]
        assert Registry.count_select("reg", (ANY, me, "value")) == 2

    run(main)


# -- select_slices: select a slice at a time -------------------------------------------


@pytest.mark.parametrize("keys", ["unique", "duplicate"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_select_slices_are_select_a_slice_at_a_time(run, keys, size):
    """Concatenated, the slices of a registry that does not change are select's
    answer, in its order, for any pattern; a slice examines at most ``size``
    entries (so a slice of a filtered read may be short, even empty); an
    empty registry gives no slice."""

    async def main():
        reg = await Registry.start_link(keys=keys)
        assert list(Registry.select_slices(reg, size=size)) == []
        them = await start_registrant(reg, *[(f"t{i}", i) for i in range(4)])
        for i in range(5):
            for j in range(1 if keys == "unique" else i + 1):      # "k4": 5 entries, spanning slices
                Registry.register(reg, f"k{i}", (i, j))
        for pattern in (ANY, (ANY, them, ANY), (ANY, ANY, (4, ANY)), ("none", ANY, ANY)):
            slices = list(Registry.select_slices(reg, pattern, size=size))
            assert [t for part in slices for t in part] == Registry.select(reg, pattern), pattern
            assert all(len(part) <= size for part in slices)
            if pattern is ANY:           # every entry matches: the slices are full but the last
                assert [len(part) for part in slices[:-1]] == [size] * (len(slices) - 1)
        assert len(list(Registry.select_slices(reg, ("none", ANY, ANY), size=size))) == \
            -(-Registry.count(reg) // size)

    run(main)


@pytest.mark.parametrize("size, error", [(0, ValueError), (-3, ValueError), ("3", TypeError),
                                         (2.0, TypeError), (True, TypeError), (None, TypeError)])
def test_select_slices_refuses_a_bad_size_when_called(run, size, error):
    """A size that is not a positive int raises TypeError/ValueError naming
    ``size``, at the call (not at the first slice)."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        with pytest.raises(error, match="size must be a positive int"):
            Registry.select_slices("reg", size=size)

    run(main)


def test_select_slices_of_an_unknown_registry_raise_at_the_call(run):
    """As every function: NoProcess for a registry not running, ValueError for a
    process that is not a registry, TypeError for something not a name or pid."""

    async def main():
        with pytest.raises(NoProcess, match="unknown registry 'nope'"):
            Registry.select_slices("nope")
        with pytest.raises(ValueError, match="not a Registry"):
            Registry.select_slices(actors.self())
        with pytest.raises(TypeError, match="registry must be"):
            Registry.select_slices(42)

    run(main)


def test_select_slices_survive_changes_between_slices(run):
    """Between slices the registry may change and the read does not fail: an
    entry there from the start to the moment the read reaches its key is given
    exactly once, with its value then; a key registered after the read began
    is not given, nor one unregistered (or whose owner exited) before the read
    reached it; entries already given stay given."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        me = actors.self()
        early = await start_registrant("reg", ("early", 0))      # in the first slice
        for i in range(10):
            Registry.register("reg", i, "old")
        late = await start_registrant("reg", ("late", 0))        # in the last slice
        slices = Registry.select_slices("reg", size=4)
        assert next(slices) == [("early", early, 0), (0, me, "old"), (1, me, "old"), (2, me, "old")]
        Registry.unregister("reg", 1)                            # already given
        await kill(early)                                        # already given
        Registry.unregister("reg", 5)                            # not read yet: not given
        await kill(late)                                         # not read yet: not given
        Registry.register("reg", "new", "new")                   # after the read began
        Registry.update_value("reg", 6, lambda old: "changed")   # not read yet: its value then
        assert [t for part in slices for t in part] == [
            (3, me, "old"), (4, me, "old"), (6, me, "changed"), (7, me, "old"), (8, me, "old"),
            (9, me, "old")]

    run(main)


def test_select_slices_keep_a_duplicate_key_s_snapshot_across_slices(run):
    """A duplicate key's entries are read at once when the read reaches the key:
    if they span several slices, the later slices give that snapshot, even
    if entries of the key come and go meanwhile."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        owners = [await start_registrant("dup", ("topic", i)) for i in range(5)]
        slices = Registry.select_slices("dup", size=2)
        assert next(slices) == [("topic", owners[0], 0), ("topic", owners[1], 1)]
        await kill(owners[3])
        await start_registrant("dup", ("topic", 5))
        assert [t for part in slices for t in part] == [("topic", owners[i], i) for i in (2, 3, 4)]
        assert len(Registry.lookup("dup", "topic")) == 5           # the registry did change

    run(main)


def test_select_slices_raise_no_process_if_the_registry_exits_during_the_read(run):
    """A read whose registry exits between slices ends with NoProcess at its next
    slice, rather than giving entries of a table that is gone."""

    async def main():
        reg = await Registry.start(keys="unique", name="reg")
        for i in range(4):
            Registry.register("reg", i)
        slices = Registry.select_slices("reg", size=2)
        assert len(next(slices)) == 2
        await actors.GenServer.stop(reg)
        with pytest.raises(NoProcess, match="exited during the read"):
            next(slices)

    run(main)


# -- update_value and metadata --------------------------------------------------------


def test_update_value_changes_the_callers_own_entry(run):
    """update_value(reg, key, fn) -> (new, old) for the caller's key; None if it does not hold it."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "hello", 1)
        assert Registry.update_value("reg", "hello", lambda v: v + 1) == (2, 1)
        assert Registry.lookup("reg", "hello") == [(actors.self(), 2)]
        assert Registry.update_value("reg", "missing", lambda v: v) is None
        await start_registrant("reg", ("theirs", 0))
        assert Registry.update_value("reg", "theirs", lambda v: v + 1) is None
        await Registry.start_link(keys="duplicate", name="dup")
        with pytest.raises(ValueError, match="unique"):
            Registry.update_value("dup", "hello", lambda v: v)

    run(main)


def test_meta_put_meta_delete_meta(run):
    """Registry metadata: given at start, read, stored and deleted with plain calls."""

    async def main():
        await Registry.start_link(keys="unique", name="reg", meta={"custom_key": "custom_value"})
        assert Registry.meta("reg", "custom_key") == "custom_value"
        with pytest.raises(KeyError):
            Registry.meta("reg", "unknown_key")
        assert Registry.meta("reg", "unknown_key", None) is None
        Registry.put_meta("reg", ("tuple", "key"), "tuple_value")
        assert Registry.meta("reg", ("tuple", "key")) == "tuple_value"
        Registry.delete_meta("reg", "custom_key")
        assert Registry.meta("reg", "custom_key", "gone") == "gone"

    run(main)


# -- listeners ---------------------------------------------------------------------------


def test_listeners_are_told_of_register_and_unregister_but_not_exits(run):
    """Listeners get ("register", reg, key, pid, value) and ("unregister", reg, key, pid); an exit
    is not announced (a listener that cares monitors the registrant), as in Elixir."""

    async def main():
        actors.register("listener")
        await Registry.start_link(keys="duplicate", name="dup", listeners=["listener", "not_running"])
        me = actors.self()
        Registry.register("dup", "k", 1)
        assert await expect(("register", ANY, ANY, ANY, ANY)) == ("register", "dup", "k", me, 1)
        Registry.unregister("dup", "k")
        assert await expect(("unregister", ANY, ANY, ANY)) == ("unregister", "dup", "k", me)
        them = await start_registrant("dup", ("t", 2))
        assert await expect(("register", ANY, ANY, ANY, ANY)) == ("register", "dup", "t", them, 2)
        await kill(them)
        await nothing(("unregister", ANY, ANY, ANY))

    run(main)


# -- via names ----------------------------------------------------------------------------


def test_via_as_genserver_name_registers_the_server_with_value_none(run):
    """GenServer.start_link(name=via(reg, key)) registers the server itself, value None."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        pid = await Echo.start_link(name=via("reg", "echo"))
        assert Registry.lookup("reg", "echo") == [(pid, None)]
        assert Registry.keys("reg", pid) == ["echo"]

    run(main)


def test_via_works_as_a_server_reference(run):
    """call, cast, send, whereis, monitor and stop accept via(reg, key)."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        name = via("reg", "echo")
        pid = await Echo.start_link(actors.self(), name=name)
        assert actors.whereis(name) is pid
        assert await actors.GenServer.call(name, "hi") == ("echo", "hi")
        actors.GenServer.cast(name, "c")
        assert await expect(("cast", ANY)) == ("cast", "c")
        actors.send(name, "plain")
        assert await expect(("info", ANY)) == ("info", "plain")
        ref = actors.monitor(name)
        await actors.GenServer.stop(name)
        assert await expect(Down(ref, ANY, ANY)) == Down(ref, pid, "normal")
        assert Registry.lookup("reg", "echo") == []
        assert actors.whereis(name) is None

    run(main)


def test_via_name_taken_raises_already_registered_with_the_holder(run):
    """A second server under a held via name fails to start with AlreadyRegistered(.pid = holder)."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        first = await Echo.start_link(name=via("reg", "echo"))
        with pytest.raises(AlreadyRegistered) as info:
            await Echo.start_link(name=via("reg", "echo"))
        assert info.value.pid is first
        assert Registry.lookup("reg", "echo") == [(first, None)]

    run(main)


def test_via_name_is_free_again_when_the_server_dies(run):
    """A crashed via-named server's key is free for its replacement at once (restart)."""

    async def main():
        actors.Process.flag("trap_exit", True)
        await Registry.start_link(keys="unique", name="reg")
        first = await Echo.start_link(name=via("reg", "echo"))
        actors.exit(first, "kill")
        await expect(Exit(first, "killed"))
        second = await Echo.start_link(name=via("reg", "echo"))
        assert Registry.lookup("reg", "echo") == [(second, None)]

    run(main)


class FailingInit(GenServer):
    def init(self, how):
        if how == "ignore":
            raise actors.Ignore()
        raise RuntimeError("init failed")


@pytest.mark.parametrize("how", ["crash", "ignore"])
def test_via_name_is_released_when_init_fails_or_ignores(run, how, caplog):
    """A server whose init fails (StartError) or ignores (None) leaves its via key free."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        if how == "crash":
            with pytest.raises(actors.StartError):
                await FailingInit.start_link(how, name=via("reg", "k"))
        else:
            assert await FailingInit.start_link(how, name=via("reg", "k")) is None
        assert Registry.lookup("reg", "k") == []
        assert Registry.count("reg") == 0
        Registry.register("reg", "k")

    run(main)


def test_send_to_an_unheld_via_raises_no_process(run):
    """send(via(reg, key), msg) raises NoProcess when nobody holds key; call does too."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        with pytest.raises(NoProcess):
            actors.send(via("reg", "nobody"), "hi")
        with pytest.raises(NoProcess):
            await actors.GenServer.call(via("reg", "nobody"), "hi")
        actors.GenServer.cast(via("reg", "nobody"), "never fails")
        assert actors.whereis(via("reg", "nobody")) is None

    run(main)


def test_via_to_a_registry_that_is_not_running(run):
    """A via naming a registry that is not running is a name nobody holds; registering under it
    raises NoProcess naming the registry."""

    async def main():
        name = via("no_such_registry", "k")
        assert actors.whereis(name) is None
        with pytest.raises(NoProcess):
            actors.send(name, "hi")
        ref = actors.monitor(name)
        assert (await expect(Down(ref, ANY, ANY))).reason == "noproc"
        with pytest.raises(NoProcess, match="no_such_registry"):
            await Echo.start_link(name=name)

    run(main)


def test_via_needs_a_unique_registry(run):
    """Only unique registries can be used in via (a ValueError otherwise)."""

    async def main():
        await Registry.start_link(keys="duplicate", name="dup")
        with pytest.raises(ValueError, match="unique"):
            await Echo.start_link(name=via("dup", "k"))
        with pytest.raises(ValueError, match="unique"):
            actors.whereis(via("dup", "k"))
        assert Registry.count("dup") == 0

    run(main)


def test_via_register_only_registers_the_caller(run):
    """The via protocol registers the calling process; another pid is refused."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        them = await start_registrant("reg")
        with pytest.raises(ValueError, match="calling process"):
            actors.lowlevel.via_register(via("reg", "k"), them)
        actors.lowlevel.via_register(via("reg", "k"), actors.self())
        assert Registry.lookup("reg", "k") == [(actors.self(), None)]
        actors.lowlevel.via_unregister(via("reg", "k"))
        assert Registry.lookup("reg", "k") == []

    run(main)


# -- the registry's own exit ---------------------------------------------------------------


def test_a_stopped_registry_takes_its_table_with_it(run):
    """After the registry exits, every function raises NoProcess naming it; a normal stop does
    not kill the registrants."""

    async def main():
        reg = await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k")
        await actors.GenServer.stop("reg")
        for call in (lambda: Registry.lookup("reg", "k"), lambda: Registry.lookup(reg, "k"),
                     lambda: Registry.register("reg", "k"), lambda: Registry.count("reg"),
                     lambda: Registry.keys("reg", actors.self()),
                     lambda: Registry.dispatch("reg", "k", print)):
            with pytest.raises(NoProcess, match="unknown registry 'reg'|unknown registry <"):
                call()
        assert actors.whereis(via("reg", "k")) is None

    run(main)


def test_a_registry_can_be_restarted_under_the_same_name(run):
    """A new registry under a freed name starts with an empty table."""

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k")
        await actors.GenServer.stop("reg")
        await Registry.start_link(keys="duplicate", name="reg")
        assert Registry.lookup("reg", "k") == []
        Registry.register("reg", "k")
        Registry.register("reg", "k")
        assert Registry.count("reg") == 2

    run(main)


def test_unknown_and_non_registry_references(run):
    """A name nobody holds raises NoProcess; a live process that is not a registry, ValueError;
    something that is not a name or pid, TypeError."""

    async def main():
        with pytest.raises(NoProcess, match="unknown registry 'nope'"):
            Registry.lookup("nope", "k")
        actors.register("plain_process")
        with pytest.raises(ValueError, match="not a Registry"):
            Registry.lookup("plain_process", "k")
        with pytest.raises(ValueError, match="not a Registry"):
            Registry.count(actors.self())
        with pytest.raises(TypeError, match="registry must be"):
            Registry.lookup(42, "k")
        with pytest.raises(TypeError, match="registry must be"):
            Registry.count(["a list"])

    run(main)


def test_tables_do_not_outlive_their_runtime(run):
    """A registry of an earlier runtime is gone in the next one."""

    async def first():
        await Registry.start_link(keys="unique", name="reg")
        Registry.register("reg", "k")

    async def second():
        with pytest.raises(NoProcess):
            Registry.lookup("reg", "k")

    run(first)
    run(second)


def test_register_outside_a_process_raises_runtime_error(aio_run):
    """register acts on the calling process, so plain asyncio code cannot call it."""

    async def main():
        async with actors.Runtime() as rt:
            async def start():
                pid = actors.spawn(hold_registry, actors.self())
                await actors.receive("ready")
                return pid
            await rt.run_in_process(start)
            with pytest.raises(RuntimeError, match="inside a process"):
                Registry.register("reg", "k")

    aio_run(main)


async def hold_registry(parent):
    await Registry.start_link(keys="unique", name="reg")
    actors.send(parent, "ready")
    await actors.receive("stop")


# -- partitions and supervision ----------------------------------------------------------


@pytest.mark.parametrize("keys", ["unique", "duplicate"])
def test_partitions_change_nothing_observable_but_dispatch_calls(run, keys):
    """partitions=N is accepted; lookups see every entry, and dispatch calls fn once."""

    async def main():
        await Registry.start_link(keys=keys, name="reg", partitions=8)
        pids = [await start_registrant("reg", (f"k{i}", i), ("shared", i) if keys == "duplicate" else ("x" * (i + 1), i))
                for i in range(5)]
        assert Registry.count("reg") == 10
        for i, pid in enumerate(pids):
            assert Registry.lookup("reg", f"k{i}") == [(pid, i)]
        if keys == "duplicate":
            calls = []
            Registry.dispatch("reg", "shared", calls.append)
            assert calls == [[(pid, i) for i, pid in enumerate(pids)]]

    run(main)


def test_child_spec_like_elixir(run):
    """child_spec: id is the name, type supervisor, start calls start_link with the options;
    (Registry, {options}) works wherever a child spec is expected."""

    async def main():
        spec = Registry.child_spec(keys="unique", name="reg")
        assert isinstance(spec, ChildSpec)
        assert spec.id == "reg"
        assert spec.type == "supervisor"
        assert child_spec((Registry, {"keys": "duplicate", "name": "r2"})).id == "r2"
        assert Registry.child_spec(keys="unique").id is Registry
        with pytest.raises(ValueError, match="keys"):
            Registry.child_spec(name="reg")
        with pytest.raises(ValueError, match="partitions"):
            Registry.child_spec(keys="unique", partitions=0)
        with pytest.raises(TypeError, match="bogus"):
            Registry.child_spec(keys="unique", bogus=1)
        pid = await spec.start_child()
        assert actors.whereis("reg") is pid
        assert pid in Process.info(actors.self(), "links")
        Registry.register("reg", "k")
        assert Registry.lookup("reg", "k") == [(actors.self(), None)]

    run(main)


def test_registry_stops_with_its_parent(run):
    """The registry exits when its parent's exit signal arrives (it traps exits, as a GenServer)."""

    async def parent(owner):
        reg = await Registry.start_link(keys="unique", name="reg")
        actors.send(owner, ("reg", reg))
        await actors.receive("stop")
        raise ProcessExit("shutdown")

    async def main():
        p = actors.spawn(parent, actors.self())
        _, reg = await expect(("reg", ANY))
        ref = actors.monitor(reg)
        actors.send(p, "stop")
        assert (await expect(Down(ref, ANY, ANY))).reason == "shutdown"
        with pytest.raises(NoProcess):
            Registry.count("reg")

    run(main)


def test_a_supervised_via_child_is_found_again_after_restarts(run):
    """Under a rest_for_one supervisor, a via-named child that crashes is restarted under the
    same key, and a registry crash restarts the registry and then the child (Elixir's setup)."""
    supervisor = pytest.importorskip("actors.supervisor")

    async def restarted(sup, child_id, old):
        while True:                          # each which_children is a round trip to sup
            for child in await supervisor.Supervisor.which_children(sup):
                if child.id == child_id and isinstance(child.pid, actors.Pid) and child.pid is not old:
                    return child.pid

    async def main():
        name = via("reg", "echo")
        sup = await supervisor.Supervisor.start_link(
            [(Registry, {"keys": "unique", "name": "reg"}), Echo.child_spec(name=name)],
            strategy="rest_for_one")
        first = actors.whereis(name)
        assert Registry.lookup("reg", "echo") == [(first, None)]
        await kill(first)
        second = await restarted(sup, Echo, first)
        assert Registry.lookup("reg", "echo") == [(second, None)]
        assert await actors.GenServer.call(name, "hi") == ("echo", "hi")
        old_registry = actors.whereis("reg")
        await kill(old_registry)
        await restarted(sup, "reg", old_registry)
        third = await restarted(sup, Echo, second)
        assert Registry.lookup("reg", "echo") == [(third, None)]
        await supervisor.Supervisor.stop(sup)

    run(main)
