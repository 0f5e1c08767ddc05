"""Introspection and the process dictionary: Process.info, list, alive, flag,
put/get/delete (docs/api.md "Names, timers, introspection" and "Details",
core-decisions.md)."""
from __future__ import annotations

import sys

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, wait_down, wait_forever

INFO_KEYS = {
    "status",
    "message_queue_len",
    "messages",
    "links",
    "monitors",
    "monitored_by",
    "trap_exit",
    "dictionary",
    "registered_name",
    "initial_call",
    "current_function",
    "reductions",
    "memory",
}


def _qualified(fn):
    return f"{fn.__module__}.{fn.__qualname__}"


def test_info_reports_every_contract_key_with_the_documented_types(run):
    """Process.info(pid) is a dict with at least the contract's keys, typed as documented."""

    async def main():
        info = actors.Process.info(actors.self())
        assert isinstance(info, dict)
        assert INFO_KEYS <= set(info)
        assert info["status"] == "running"
        assert isinstance(info["message_queue_len"], int)
        assert isinstance(info["messages"], list)
        assert isinstance(info["links"], list)
        assert isinstance(info["monitors"], list)
        assert isinstance(info["monitored_by"], list)
        assert info["trap_exit"] is False
        assert info["dictionary"] == {}
        assert info["registered_name"] is None
        assert info["initial_call"] == _qualified(main)
        assert isinstance(info["reductions"], int) and not isinstance(info["reductions"], bool)
        assert isinstance(info["memory"], int) and info["memory"] > 0

    run(main)


def test_info_with_a_key_returns_that_one_value(run):
    """Process.info(pid, key) is the value info(pid) has under key."""

    async def main():
        me = actors.self()
        actors.send(me, "queued")
        actors.Process.put("k", "v")
        actors.register("info_key_test")
        full = actors.Process.info(me)
        for key in INFO_KEYS - {"reductions", "memory", "current_function"}:
            assert actors.Process.info(me, key) == full[key], key

    run(main)


@pytest.mark.parametrize("key", ["no_such_key", "Status", ""])
def test_info_with_an_unknown_key_raises_value_error(run, key):
    """An unknown info key is a ValueError naming `key`."""

    async def main():
        with pytest.raises(ValueError, match="key"):
            actors.Process.info(actors.self(), key)

    run(main)


def test_info_of_a_dead_process_is_none(run):
    """Process.info of a dead pid is None, with or without a key."""

    async def quick():
        return None

    async def main():
        pid = actors.spawn(quick)
        await wait_down(pid)
        assert actors.Process.info(pid) is None
        assert actors.Process.info(pid, "status") is None
        assert actors.Process.info(pid, "messages") is None

    run(main)


def test_status_is_runnable_then_waiting(run):
    """A fresh process is "runnable"; one blocked in receive is "waiting"; the caller is "running"."""

    async def main():
        server = actors.spawn(echo)
        assert actors.Process.info(server, "status") == "runnable"
        await roundtrip(server)
        assert actors.Process.info(server, "status") == "waiting"
        assert actors.Process.info(actors.self(), "status") == "running"

    run(main)


def test_status_of_a_sleeping_process_is_waiting(run, clock):
    """A process suspended in sleep() is "waiting"."""

    async def sleeper(parent):
        actors.send(parent, "sleeping")
        await actors.sleep(100)

    async def main():
        pid = actors.spawn(sleeper, actors.self())
        await actors.receive("sleeping")
        assert actors.Process.info(pid, "status") == "waiting"
        actors.exit(pid, "kill")

    run(main, clock=clock)


def test_messages_and_queue_length_show_the_mailbox_in_order(run):
    """messages lists the mailbox in order without consuming it; message_queue_len counts it."""

    async def main():
        me = actors.self()
        target = actors.spawn(wait_forever)
        for m in ["a", ("b", 1), 3]:
            actors.send(me, m)
            actors.send(target, m)
        for pid in (me, target):
            assert actors.Process.info(pid, "messages") == ["a", ("b", 1), 3]
            assert actors.Process.info(pid, "message_queue_len") == 3
        assert actors.flush() == ["a", ("b", 1), 3]
        assert actors.Process.info(me, "message_queue_len") == 0
        assert actors.Process.info(me, "messages") == []

    run(main)


def test_process_info_shows_a_message_that_is_not_received_yet(run):
    """Process.info's `messages`/`message_queue_len` list every message sent to
    the process that its code has not received yet, in order (the BEAM's
    message queue), even one that matched a pending receive."""

    async def worker(parent):
        actors.send(parent, "ready")
        await actors.receive(int)
        await actors.receive("never sent")

    async def main():
        pid = actors.spawn(worker, actors.self())
        await actors.receive("ready")
        actors.send(pid, "a")
        actors.send(pid, 1)
        assert actors.Process.info(pid, "messages") == ["a", 1]
        assert actors.Process.info(pid, "message_queue_len") == 2
        actors.exit(pid, "kill")

    run(main)


def test_mailbox_limit_bounds_the_walk_of_a_long_mailbox(run):
    """lowlevel.process_info/process_table(mailbox_limit=N) look at only the
    first N messages: ``messages`` is that prefix (a handed-off message in its
    place), ``memory`` counts the rest at the prefix's average size, and
    ``message_queue_len`` is still the whole count.  A bad limit names itself."""
    from actors import lowlevel

    async def main():
        target = actors.spawn(wait_forever)
        big = b"x" * 100_000
        for m in ["a", "b", "c"] + [big] * 1000:
            actors.send(target, m)
        info = lowlevel.process_info(target, mailbox_limit=3)
        assert info["messages"] == ["a", "b", "c"] and info["message_queue_len"] == 1003
        assert lowlevel.process_info(target, "messages", mailbox_limit=0) == []
        bounded = lowlevel.process_info(target, "memory", mailbox_limit=3)
        full = lowlevel.process_info(target, "memory")
        assert bounded < full / 100 and full > 1000 * len(big)
        [row] = [r for r in lowlevel.process_table(mailbox_limit=3) if r[0] == target]
        assert row[3] == 1003 and row[5] == bounded
        # the average of a prefix stands for the rest
        assert lowlevel.process_info(target, "memory", mailbox_limit=500) > 0.9 * full
        for bad, error in ((-1, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError)):
            with pytest.raises(error, match="mailbox_limit"):
                lowlevel.process_info(target, mailbox_limit=bad)
            with pytest.raises(error, match="mailbox_limit"):
                lowlevel.process_table(mailbox_limit=bad)

    run(main)


def test_links_monitors_and_monitored_by(run):
    """links and monitored_by are lists of Pid; monitors a list of (Ref, Pid)."""

    async def main():
        me = actors.self()
        linked = actors.spawn_link(wait_forever)
        watched = actors.spawn(wait_forever)
        ref = actors.monitor(watched)
        assert actors.Process.info(me, "links") == [linked]
        assert actors.Process.info(linked, "links") == [me]
        assert actors.Process.info(me, "monitors") == [(ref, watched)]
        assert actors.Process.info(watched, "monitored_by") == [me]
        assert actors.Process.info(watched, "links") == []
        assert actors.Process.info(linked, "monitored_by") == []

    run(main)


def test_trap_exit_dictionary_and_registered_name_of_another_process(run):
    """info reflects another process's trap_exit, process dictionary and name."""

    async def configured(parent):
        actors.Process.flag("trap_exit", True)
        actors.Process.put("role", "worker")
        actors.Process.put(("tuple", "key"), [1, 2])
        actors.register("configured_proc")
        actors.send(parent, "configured")
        await actors.receive("never")

    async def main():
        pid = actors.spawn(configured, actors.self())
        await actors.receive("configured")
        info = actors.Process.info(pid)
        assert info["trap_exit"] is True
        assert info["dictionary"] == {"role": "worker", ("tuple", "key"): [1, 2]}
        assert info["registered_name"] == "configured_proc"
        assert info["initial_call"] == _qualified(configured)
        actors.exit(pid, "kill")  # it traps exits: do not leave it to the shutdown timeout

    run(main)


async def _suspended_here(parent):
    line = sys._getframe().f_lineno + 2
    actors.send(parent, ("line", line))
    await actors.receive("never")


async def _outer(parent):
    await _suspended_here(parent)


def test_current_function_is_where_the_process_is_suspended(run):
    """current_function is (qualname, filename, lineno) of the innermost frame of
    the process's own code; initial_call is the function it was spawned with."""

    async def main():
        pid = actors.spawn(_outer, actors.self())
        (_, line) = await actors.receive(("line", ANY))
        qualname, filename, lineno = actors.Process.info(pid, "current_function")
        assert qualname == _suspended_here.__qualname__
        assert filename == __file__
        assert lineno == line
        assert actors.Process.info(pid, "initial_call") == _qualified(_outer)

    run(main)


def test_reductions_grow_as_a_process_works(run):
    """reductions counts the steps a process has run: sends and receives add to it."""

    async def worker(parent):
        me = actors.self()
        while True:
            n = await actors.receive(int)
            for i in range(n):
                actors.send(me, ("step", i))
                await actors.receive(("step", i))
            actors.send(parent, "done")

    async def main():
        pid = actors.spawn(worker, actors.self())
        actors.send(pid, 0)
        await actors.receive("done")
        before = actors.Process.info(pid, "reductions")
        actors.send(pid, 100)
        await actors.receive("done")
        after = actors.Process.info(pid, "reductions")
        assert after - before >= 100

    run(main)


# -- list and alive --------------------------------------------------------------------


def test_list_and_alive_track_live_processes(run):
    """Process.list() is every live process; alive(pid) tells whether one lives."""

    async def quick():
        return None

    async def main():
        me = actors.self()
        live = [actors.spawn(wait_forever) for _ in range(3)]
        dead = actors.spawn(quick)
        await wait_down(dead)
        pids = actors.Process.list()
        assert isinstance(pids, list)
        assert me in pids and set(live) <= set(pids)
        assert dead not in pids
        assert all(actors.Process.alive(p) for p in [me, *live])
        assert actors.Process.alive(dead) is False
        victim = live[0]
        ref = actors.monitor(victim)
        actors.exit(victim, "kill")
        await actors.receive((ref, ANY, ANY))
        assert victim not in actors.Process.list()
        assert actors.Process.alive(victim) is False

    run(main)


# -- flags -------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["no_such_flag", "trap_exits", "TRAP_EXIT"])
def test_an_unknown_flag_raises_value_error(run, flag):
    """Process.flag with an unknown flag is a ValueError naming `flag`; nothing changes."""

    async def main():
        with pytest.raises(ValueError, match="flag"):
            actors.Process.flag(flag, True)
        assert actors.Process.info(actors.self(), "trap_exit") is False

    run(main)


def test_flag_outside_a_process_raises_runtime_error():
    """Process.flag outside a process raises RuntimeError."""
    with pytest.raises(RuntimeError):
        actors.Process.flag("trap_exit", True)


# -- the process dictionary ----------------------------------------------------------


def test_put_get_delete_return_old_values(run):
    """put returns the old value (or None), get a value or the default,
    delete the old value (or None)."""

    async def main():
        P = actors.Process
        assert P.get("k") is None
        assert P.get("k", "dflt") == "dflt"
        assert P.put("k", 1) is None
        assert P.put("k", 2) == 1
        assert P.get("k") == 2
        assert P.delete("k") == 2
        assert P.delete("k") is None
        assert P.get("k", "gone") == "gone"

    run(main)


def test_get_without_a_key_returns_a_copy_of_the_dictionary(run):
    """Process.get() returns the whole dictionary as a copy."""

    async def main():
        actors.Process.put("a", 1)
        actors.Process.put("b", 2)
        d = actors.Process.get()
        assert d == {"a": 1, "b": 2}
        d["c"] = 3
        assert actors.Process.get() == {"a": 1, "b": 2}
        assert actors.Process.get("c") is None

    run(main)


def test_each_process_has_its_own_dictionary(run):
    """The process dictionary is private: a child sees none of its parent's entries."""

    async def child(parent):
        actors.send(parent, ("child sees", actors.Process.get("secret"), actors.Process.get()))
        actors.Process.put("secret", "child's")

    async def main():
        actors.Process.put("secret", "parent's")
        pid, ref = actors.spawn_monitor(child, actors.self())
        assert await actors.receive(("child sees", ANY, ANY)) == ("child sees", None, {})
        await actors.receive((ref, ANY, ANY))
        assert actors.Process.get("secret") == "parent's"

    run(main)


@pytest.mark.parametrize("op", ["put", "get", "delete"])
def test_the_process_dictionary_outside_a_process_raises_runtime_error(op):
    """put/get/delete outside a process raise RuntimeError."""
    args = {"put": ("k", 1), "get": ("k",), "delete": ("k",)}[op]
    with pytest.raises(RuntimeError):
        getattr(actors.Process, op)(*args)
