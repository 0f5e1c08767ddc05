"""Local names: register, whereis, unregister, registered, and release on exit
before links and monitors fire (docs/api.md "Names, timers, introspection",
core-decisions.md)."""
from __future__ import annotations

import pytest

import actors
from actors import ANY
from helpers import echo, roundtrip, wait_down, wait_forever


async def _named(name, parent):
    """Registers itself under `name`, reports, then exits with the reason it is sent."""
    actors.register(name)
    actors.send(parent, ("registered", name))
    raise actors.ProcessExit(await actors.receive())


async def _start_named(name):
    pid = actors.spawn(_named, name, actors.self())
    await actors.receive(("registered", name))
    return pid


def test_register_self_then_whereis_and_send_by_name(run):
    """register(name) names the caller; whereis finds it; send accepts the name."""

    async def main():
        me = actors.self()
        assert actors.whereis("main_proc") is None
        actors.register("main_proc")
        assert actors.whereis("main_proc") == me
        assert "main_proc" in actors.registered()
        assert actors.Process.info(me, "registered_name") == "main_proc"
        assert actors.send("main_proc", "by name") == "by name"
        assert await actors.receive(timeout=0) == "by name"

    run(main)


def test_register_another_pid(run):
    """register(name, pid) names another process; messages to the name reach it."""

    async def main():
        server = actors.spawn(echo)
        actors.register("echo_server", server)
        assert actors.whereis("echo_server") == server
        actors.send("echo_server", (actors.self(), "hi"))
        assert await actors.receive(("echo", ANY)) == ("echo", "hi")

    run(main)


def test_registered_lists_every_name_as_str(run):
    """registered() returns the registered names as a list of str."""

    async def main():
        names = {f"worker_{i}" for i in range(5)}
        for n in names:
            actors.register(n, actors.spawn(wait_forever))
        got = actors.registered()
        assert isinstance(got, list)
        assert all(isinstance(n, str) for n in got)
        assert names <= set(got)

    run(main)


def test_registering_a_taken_name_raises_already_registered_with_the_holder(run):
    """A taken name raises AlreadyRegistered (an ActorsError) whose .pid is the
    holder, and changes nothing."""

    async def main():
        holder = actors.spawn(wait_forever)
        other = actors.spawn(wait_forever)
        actors.register("taken_name", holder)
        before = sorted(actors.registered())
        with pytest.raises(actors.AlreadyRegistered, match="taken_name") as info:
            actors.register("taken_name", other)
        assert info.value.pid == holder
        assert isinstance(info.value, actors.ActorsError)
        with pytest.raises(actors.AlreadyRegistered):
            actors.register("taken_name")
        assert actors.whereis("taken_name") == holder
        assert sorted(actors.registered()) == before
        assert actors.Process.info(other, "registered_name") is None
        assert actors.Process.info(actors.self(), "registered_name") is None

    run(main)


def test_registering_a_name_again_for_its_holder_raises_already_registered(run):
    """As Erlang's register/2 (badarg when the name is in use), a name is taken
    even when the holder itself asks for it again."""

    async def main():
        actors.register("mine_already")
        with pytest.raises(actors.AlreadyRegistered, match="mine_already") as info:
            actors.register("mine_already")
        assert info.value.pid == actors.self()
        assert actors.whereis("mine_already") == actors.self()

    run(main)


@pytest.mark.parametrize("bad", [42, None, b"name", ("tuple",)])
def test_register_a_non_str_name_raises_type_error(run, bad):
    """register(name) with a name that is not a str is a TypeError naming `name`."""

    async def main():
        before = sorted(actors.registered())
        with pytest.raises(TypeError, match="name"):
            actors.register(bad)
        assert sorted(actors.registered()) == before
        assert actors.Process.info(actors.self(), "registered_name") is None

    run(main)


def test_register_a_dead_pid_raises_value_error(run):
    """register(name, pid) with a dead pid is a ValueError naming `pid`; the name stays free."""

    async def quick():
        return None

    async def main():
        dead = actors.spawn(quick)
        await wait_down(dead)
        with pytest.raises(ValueError, match="pid"):
            actors.register("for_a_dead_pid", dead)
        assert actors.whereis("for_a_dead_pid") is None
        assert "for_a_dead_pid" not in actors.registered()

    run(main)


def test_a_pid_can_hold_only_one_name(run):
    """A process that already has a name cannot take a second one (ValueError)."""

    async def main():
        actors.register("first_name")
        with pytest.raises(ValueError, match="pid|first_name"):
            actors.register("second_name")
        assert actors.whereis("second_name") is None
        assert actors.Process.info(actors.self(), "registered_name") == "first_name"

    run(main)


def test_unregister_frees_the_name(run):
    """unregister(name) removes the name; the process lives on and the name can be reused."""

    async def main():
        server = actors.spawn(echo)
        actors.register("temp_name", server)
        actors.unregister("temp_name")
        assert actors.whereis("temp_name") is None
        assert "temp_name" not in actors.registered()
        assert actors.Process.info(server, "registered_name") is None
        with pytest.raises(actors.NoProcess):
            actors.send("temp_name", "x")
        assert await roundtrip(server) == ("echo", "sync")
        actors.register("temp_name")
        assert actors.whereis("temp_name") == actors.self()

    run(main)


def test_unregister_an_unheld_name_raises_value_error(run):
    """unregister of a name nobody holds is a ValueError that names it."""

    async def main():
        with pytest.raises(ValueError, match="ghost_name|name"):
            actors.unregister("ghost_name")

    run(main)


@pytest.mark.parametrize("reason", ["normal", "crash", "kill"])
def test_a_name_is_freed_when_its_process_exits(run, reason):
    """However a process ends, its name is released and can be taken again."""

    async def main():
        pid = await _start_named("short_lived")
        ref = actors.monitor(pid)
        if reason == "kill":
            actors.exit(pid, "kill")
        else:
            actors.send(pid, reason)
        await actors.receive((ref, ANY, ANY))
        assert actors.whereis("short_lived") is None
        assert "short_lived" not in actors.registered()
        with pytest.raises(actors.NoProcess):
            actors.send("short_lived", "too late")
        actors.register("short_lived")
        assert actors.whereis("short_lived") == actors.self()

    run(main)


def test_the_name_is_released_before_monitors_fire(run):
    """When Down arrives, the dead process's name is already free to re-register."""

    async def main():
        pid = await _start_named("released_for_monitors")
        ref = actors.monitor(pid)
        actors.send(pid, "crash")
        await actors.receive((ref, ANY, ANY))
        actors.register("released_for_monitors")
        return actors.whereis("released_for_monitors") == actors.self()

    assert run(main) is True


def test_the_name_is_released_before_links_fire(run):
    """When a trapping link receives Exit, the dead process's name is already free;
    a restarter can re-register it at once (what a supervisor relies on)."""

    async def watcher(parent, name):
        actors.Process.flag("trap_exit", True)
        pid = actors.spawn_link(_named, name, parent)
        actors.send(parent, ("watching", pid))
        await actors.receive(actors.Exit)
        seen = actors.whereis(name)
        actors.register(name)
        actors.send(parent, ("re-registered", seen, actors.whereis(name) == actors.self()))

    async def main():
        actors.spawn(watcher, actors.self(), "released_for_links")
        (_, pid) = await actors.receive(("watching", ANY))
        await actors.receive(("registered", "released_for_links"))
        actors.send(pid, "crash")
        (_, seen, ok) = await actors.receive(("re-registered", ANY, ANY))
        assert seen is None
        assert ok is True

    run(main)


async def _named_linked(name, partner, parent):
    actors.link(partner)
    await _named(name, parent)


def test_a_process_killed_through_a_link_frees_its_name_too(run):
    """Names of processes killed by a link's exit signal are freed as well."""

    async def main():
        b = await _start_named("link_victim_b")
        a = actors.spawn(_named_linked, "link_victim_a", b, actors.self())
        await actors.receive(("registered", "link_victim_a"))
        ref_a, ref_b = actors.monitor(a), actors.monitor(b)
        actors.send(a, "boom")
        assert (await actors.receive((ref_a, ANY, ANY))).reason == "boom"
        assert (await actors.receive((ref_b, ANY, ANY))).reason == "boom"
        assert actors.whereis("link_victim_a") is None
        assert actors.whereis("link_victim_b") is None
        assert not {"link_victim_a", "link_victim_b"} & set(actors.registered())

    run(main)


def test_whereis_forgets_a_process_that_is_exiting(run):
    """whereis agrees with Process.alive: once a killing signal is accepted, the
    name no longer leads to the process (it is released when the process ends)."""

    async def main():
        pid = actors.spawn(wait_forever)
        actors.register("going", pid)
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        assert not actors.Process.alive(pid)
        assert actors.whereis("going") is None
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
        assert "going" not in actors.registered()

    run(main)
