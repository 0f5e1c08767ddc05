"""DynamicSupervisor: children started on demand, max_children, restart values,
restart intensity, concurrent shutdown, module-based dynamic supervisors, bad
input (docs/api.md "OTP layers" and "Details"; Elixir's DynamicSupervisor docs)."""
from __future__ import annotations

import pytest

import actors
from actors import ANY, Exit, GenServer, Ignore, StartError
from actors.child_spec import ChildSpec
from actors.dynamic_supervisor import DynamicSupervisor
from actors.supervisor import Child
from helpers import wait_forever


class Worker(GenServer):
    """A server that answers ``"get"`` with its start value."""

    def init(self, value=None):
        self.value = value

    def handle_call(self, request, from_):
        if request == "get":
            return self.value


async def _stubborn(parent):
    actors.Process.flag("trap_exit", True)
    actors.send(parent, ("stubborn", actors.self()))
    while True:
        await actors.receive()          # ignores every exit signal, "shutdown" included


async def _start_stubborn():
    pid = actors.spawn_link(_stubborn, actors.self())   # runs in the supervisor
    await actors.receive(("stubborn", pid))
    return pid


def stubborn(shutdown):
    """A child that traps exits and ignores the shutdown signal (so it has to be killed)."""
    return ChildSpec(id="stubborn", start=(_start_stubborn, ()), shutdown=shutdown)


class Flaky(GenServer):
    """Starts only while ``state["fail"]`` is false."""

    def init(self, state):
        if state["fail"]:
            raise RuntimeError("cannot start now")


class Refuses(GenServer):
    def init(self):
        raise Ignore()


def now():
    return actors.lowlevel.current_scheduler().now()


async def children(sup):
    return [c.pid for c in await DynamicSupervisor.which_children(sup)]


# -- starting children ----------------------------------------------------------------


def test_start_child_returns_the_running_child(run):
    """start_child starts the child under the supervisor and returns its pid; which_children
    and count_children report it (id None, type, modules)."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        assert await DynamicSupervisor.which_children(sup) == []
        pid = await DynamicSupervisor.start_child(sup, (Worker, 42))
        assert await GenServer.call(pid, "get") == 42
        assert sup in actors.Process.info(pid, "links")
        assert await DynamicSupervisor.which_children(sup) == [Child(None, pid, "worker", [Worker])]
        assert await DynamicSupervisor.count_children(sup) == {
            "specs": 1, "active": 1, "supervisors": 0, "workers": 1}

    run(main)


def test_children_need_no_distinct_ids(run):
    """The spec's id is ignored: the same spec starts as many children as asked."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pids = [await DynamicSupervisor.start_child(sup, Worker.child_spec(n)) for n in range(3)]
        assert len(set(pids)) == 3
        assert await children(sup) == pids
        assert [await GenServer.call(p, "get") for p in pids] == [0, 1, 2]

    run(main)


def test_start_child_accepts_every_spec_form(run):
    """A ChildSpec, a dict, a class and a (class, arg) tuple all work as specs."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        forms = [ChildSpec(id="x", start=(Worker.start_link, (1,))),
                 {"id": "y", "start": (Worker.start_link, (2,))}, Worker, (Worker, 4)]
        values = [await GenServer.call(await DynamicSupervisor.start_child(sup, f), "get") for f in forms]
        assert values == [1, 2, None, 4]

    run(main)


def test_max_children_refuses_clearly(run):
    """Over max_children, start_child raises StartError("max_children"); terminating a
    child makes room again."""

    async def main():
        sup = await DynamicSupervisor.start_link(max_children=2)
        a = await DynamicSupervisor.start_child(sup, Worker)
        await DynamicSupervisor.start_child(sup, Worker)
        with pytest.raises(StartError, match="max_children") as info:
            await DynamicSupervisor.start_child(sup, Worker)
        assert info.value.reason == "max_children"
        assert (await DynamicSupervisor.count_children(sup))["specs"] == 2
        await DynamicSupervisor.terminate_child(sup, a)
        assert await DynamicSupervisor.start_child(sup, Worker) is not None

    run(main)


def test_max_children_zero_refuses_everything(run):
    """max_children=0 is a valid limit: no child may start."""

    async def main():
        sup = await DynamicSupervisor.start_link(max_children=0)
        with pytest.raises(StartError) as info:
            await DynamicSupervisor.start_child(sup, Worker)
        assert info.value.reason == "max_children"

    run(main)


def test_a_child_that_ignores_is_not_added(run):
    """A start function returning None (init raised Ignore): start_child returns None and
    nothing is added."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        assert await DynamicSupervisor.start_child(sup, Refuses) is None
        assert await DynamicSupervisor.count_children(sup) == {
            "specs": 0, "active": 0, "supervisors": 0, "workers": 0}

    run(main)


def test_a_child_that_fails_to_start_is_discarded(run):
    """A child whose init raises: start_child raises StartError with the init error as
    reason; the supervisor keeps running and adds nothing."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        with pytest.raises(StartError) as info:
            await DynamicSupervisor.start_child(sup, (Flaky, {"fail": True}))
        assert isinstance(info.value.reason, RuntimeError)
        assert "cannot start now" in str(info.value.reason)
        assert await children(sup) == []
        assert actors.Process.alive(sup)

    run(main)


def test_extra_arguments_come_first(run):
    """extra_arguments are put before the spec's args in every start call."""

    async def main():
        seen = []

        async def start(*args):
            seen.append(args)
            return actors.spawn_link(wait_forever)

        sup = await DynamicSupervisor.start_link(extra_arguments=("shared",))
        await DynamicSupervisor.start_child(sup, {"id": "w", "start": (start, (1, 2))})
        assert seen == [("shared", 1, 2)]

    run(main)


# -- restart values --------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "bye"), "boom"])
def test_permanent_children_are_always_restarted(run, reason):
    """A permanent child is restarted whatever its exit reason, even "normal"."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, (Worker, 7))
        await GenServer.stop(pid, reason)
        [new] = await children(sup)
        assert new != pid and await GenServer.call(new, "get") == 7

    run(main)


@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "bye")])
def test_transient_children_are_not_restarted_after_a_clean_exit(run, reason):
    """A transient child exiting normal, shutdown or ("shutdown", x) is not restarted and
    is removed."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, Worker.child_spec().replace(restart="transient"))
        await GenServer.stop(pid, reason)
        assert await children(sup) == []

    run(main)


def test_transient_children_are_restarted_after_an_abnormal_exit(run):
    """A transient child that exits with any other reason is restarted."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, Worker.child_spec().replace(restart="transient"))
        await GenServer.stop(pid, "boom")
        [new] = await children(sup)
        assert new != pid and actors.Process.alive(new)

    run(main)


@pytest.mark.parametrize("reason", ["normal", "boom"])
def test_temporary_children_are_never_restarted(run, reason):
    """A temporary child is never restarted, even after a crash; it is forgotten."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, Worker.child_spec().replace(restart="temporary"))
        await GenServer.stop(pid, reason)
        assert await children(sup) == []

    run(main)


# -- restart intensity ---------------------------------------------------------------------


def test_exceeding_the_restart_intensity_shuts_everything_down(run, clock):
    """One restart more than max_restarts within max_seconds: the supervisor stops its
    other children and exits with "shutdown"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await DynamicSupervisor.start_link(max_restarts=2, max_seconds=5)
        other = await DynamicSupervisor.start_child(sup, Worker)
        victim = await DynamicSupervisor.start_child(sup, Worker)
        sup_ref, other_ref = actors.monitor(sup), actors.monitor(other)
        for _ in range(2):
            await GenServer.stop(victim, "boom")
            victim = (await children(sup))[-1]
        await GenServer.stop(victim, "boom")       # the third restart in 5 s: one too many
        assert (await actors.receive((other_ref, ANY, ANY))).reason == "shutdown"
        assert (await actors.receive((sup_ref, ANY, ANY))).reason == "shutdown"
        assert await actors.receive(Exit(sup, ANY)) == Exit(sup, "shutdown")

    run(main, clock=clock)


def test_restarts_older_than_max_seconds_are_forgotten(run, clock):
    """The intensity is a sliding window: restarts spread wider than max_seconds never stop
    the supervisor."""

    async def main():
        sup = await DynamicSupervisor.start_link(max_restarts=1, max_seconds=5)
        victim = await DynamicSupervisor.start_child(sup, Worker)
        for _ in range(4):
            await GenServer.stop(victim, "boom")
            [victim] = await children(sup)
            await actors.sleep(5.5)          # virtual time: move the window on
        assert actors.Process.alive(sup)

    run(main, clock=clock)


def test_max_restarts_zero_gives_up_at_the_first_failure(run):
    """max_restarts=0: the first failure stops the supervisor."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await DynamicSupervisor.start_link(max_restarts=0)
        ref = actors.monitor(sup)
        await GenServer.stop(await DynamicSupervisor.start_child(sup, Worker), "boom")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"

    run(main)


def test_a_failed_restart_is_retried_and_shows_as_restarting(run):
    """A child whose restart fails stays in the supervisor as "restarting" (still counted
    in specs, not active) and is retried until it starts."""

    async def main():
        state = {"fail": False}
        sup = await DynamicSupervisor.start_link(max_restarts=10**9)
        pid = await DynamicSupervisor.start_child(sup, (Flaky, state))
        state["fail"] = True
        await GenServer.stop(pid, "boom")
        [child] = await DynamicSupervisor.which_children(sup)
        assert child.pid == "restarting"
        assert await DynamicSupervisor.count_children(sup) == {
            "specs": 1, "active": 0, "supervisors": 0, "workers": 1}
        state["fail"] = False
        while (await children(sup)) == ["restarting"]:
            pass
        [new] = await children(sup)
        assert actors.Process.alive(new)

    run(main)


def test_failed_restarts_count_towards_the_intensity(run):
    """Each failed restart attempt is a restart: a child that cannot start again makes the
    supervisor give up with "shutdown"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        state = {"fail": False}
        sup = await DynamicSupervisor.start_link(max_restarts=3)
        ref = actors.monitor(sup)
        pid = await DynamicSupervisor.start_child(sup, (Flaky, state))
        state["fail"] = True
        await GenServer.stop(pid, "boom")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"

    run(main)


# -- stopping children ----------------------------------------------------------------


def test_terminate_child_stops_it_for_good(run):
    """terminate_child stops the child with "shutdown" and it is not restarted."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(sup, Worker)
        ref = actors.monitor(pid)
        await DynamicSupervisor.terminate_child(sup, pid)
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"
        assert await children(sup) == []

    run(main)


def test_terminate_child_of_an_unknown_pid(run):
    """terminate_child of a pid that is not a child raises LookupError; of a non-pid,
    TypeError naming the argument."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        with pytest.raises(LookupError, match="not a child"):
            await DynamicSupervisor.terminate_child(sup, actors.self())
        with pytest.raises(TypeError, match="pid"):
            await DynamicSupervisor.terminate_child(sup, "worker")

    run(main)


def test_a_child_that_ignores_shutdown_is_killed_after_its_shutdown_time(run, clock):
    """A child trapping exits gets the "shutdown" signal, then is killed when its shutdown
    seconds are up."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(
            sup, stubborn(3))
        ref = actors.monitor(pid)
        start = now()
        await DynamicSupervisor.terminate_child(sup, pid)
        assert now() - start == pytest.approx(3)
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"

    run(main, clock=clock)


def test_brutal_kill_kills_at_once(run, clock):
    """shutdown="brutal_kill": the child is killed without waiting."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        pid = await DynamicSupervisor.start_child(
            sup, stubborn("brutal_kill"))
        ref = actors.monitor(pid)
        start = now()
        await DynamicSupervisor.terminate_child(sup, pid)
        assert now() == start
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"

    run(main, clock=clock)


def test_stop_shuts_children_down_concurrently(run, clock):
    """Stopping a dynamic supervisor stops all children at once: two stubborn children with
    shutdown=4 are both killed after 4 s, not 8."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        spec = stubborn(4)
        pids = [await DynamicSupervisor.start_child(sup, spec) for _ in range(2)]
        pids.append(await DynamicSupervisor.start_child(sup, Worker))
        refs = [actors.monitor(p) for p in pids]
        start = now()
        await DynamicSupervisor.stop(sup)
        assert now() - start == pytest.approx(4)
        reasons = [(await actors.receive((ref, ANY, ANY))).reason for ref in refs]
        assert reasons == ["killed", "killed", "shutdown"]

    run(main, clock=clock)


def test_parent_exit_stops_the_supervisor_and_its_children(run):
    """A supervisor traps exits: its parent's exit signal makes it stop its children, then
    exit with the same reason."""

    async def parent(report):
        sup = await DynamicSupervisor.start_link()
        child = await DynamicSupervisor.start_child(sup, Worker)
        actors.send(report, (sup, child))
        await actors.receive("die")
        raise actors.ProcessExit("shutdown")

    async def main():
        p = actors.spawn(parent, actors.self())
        sup, child = await actors.receive((actors.Pid, actors.Pid))
        sup_ref, child_ref = actors.monitor(sup), actors.monitor(child)
        actors.send(p, "die")
        assert (await actors.receive((child_ref, ANY, ANY))).reason == "shutdown"
        assert (await actors.receive((sup_ref, ANY, ANY))).reason == "shutdown"

    run(main)


# -- names, nesting, module-based ----------------------------------------------------------


def test_named_dynamic_supervisor_under_a_supervisor(run):
    """DynamicSupervisor.child_spec(name=...) runs it under a Supervisor as a supervisor
    child; every function accepts the name."""
    from actors.supervisor import Supervisor

    async def main():
        spec = DynamicSupervisor.child_spec(name="jobs", max_children=1)
        assert (spec.id, spec.type, spec.shutdown) == ("jobs", "supervisor", None)
        top = await Supervisor.start_link([spec])
        [child] = await Supervisor.which_children(top)
        assert child.id == "jobs" and child.pid == actors.whereis("jobs") and child.type == "supervisor"
        await DynamicSupervisor.start_child("jobs", Worker)
        with pytest.raises(StartError, match="max_children"):
            await DynamicSupervisor.start_child("jobs", Worker)
        assert (await Supervisor.count_children(top))["supervisors"] == 1

    run(main)


def test_dynamic_supervisor_class_as_a_child(run):
    """DynamicSupervisor itself, or (DynamicSupervisor, {options}), works as a child."""
    from actors.supervisor import Supervisor

    async def main():
        top = await Supervisor.start_link([
            DynamicSupervisor,
            Supervisor.child_spec((DynamicSupervisor, {"max_children": 5}), id="limited"),
        ])
        ids = [c.id for c in await Supervisor.which_children(top)]
        assert ids == [DynamicSupervisor, "limited"]

    run(main)


class Sessions(DynamicSupervisor):
    """A module-based dynamic supervisor."""

    def init(self, limit):
        self.limit = limit
        return DynamicSupervisor.init(max_children=limit)


def test_module_based_dynamic_supervisor(run):
    """A subclass's init returns DynamicSupervisor.init(...) options; start_link passes its
    arguments to init; child_spec gives a supervisor spec with the class as id."""

    async def main():
        sup = await Sessions.start_link(1, name="sessions")
        assert actors.whereis("sessions") == sup
        await DynamicSupervisor.start_child("sessions", Worker)
        with pytest.raises(StartError, match="max_children"):
            await DynamicSupervisor.start_child("sessions", Worker)
        spec = Sessions.child_spec(3)
        assert (spec.id, spec.type, spec.start[1]) == (Sessions, "supervisor", (3,))

    run(main)


def test_module_based_init_may_ignore(run):
    """init raising Ignore makes start_link return None."""

    class Never(DynamicSupervisor):
        def init(self):
            raise Ignore()

    async def main():
        assert await Never.start_link() is None

    run(main)


def test_module_based_init_with_bad_options(run):
    """A module-based init returning invalid options: start_link raises the ValueError /
    TypeError naming the option, not a wrapped error."""

    class Bad(DynamicSupervisor):
        def init(self, opts):
            return opts

    async def main():
        with pytest.raises(ValueError, match="max_children"):
            await Bad.start_link({"max_children": -1})
        with pytest.raises(TypeError, match="must return"):
            await Bad.start_link(["not", "a", "dict"])

    run(main)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_children": -1}, ValueError, "max_children"),
    ({"max_children": "many"}, TypeError, "max_children"),
    ({"max_restarts": -1}, ValueError, "max_restarts"),
    ({"max_restarts": 1.5}, TypeError, "max_restarts"),
    ({"max_seconds": 0}, ValueError, "max_seconds"),
    ({"strategy": "one_for_all"}, ValueError, "strategy"),
    ({"extra_arguments": "abc"}, TypeError, "extra_arguments"),
    ({"max_childs": 3}, TypeError, "max_childs"),
    ({"name": 42}, TypeError, "name"),
    ({"timeout": -1}, ValueError, "timeout"),
])
def test_bad_options_are_refused_before_starting(run, kwargs, error, match):
    """Invalid options raise TypeError/ValueError naming the option; nothing is spawned."""

    async def main():
        before = len(actors.Process.list())
        with pytest.raises(error, match=match):
            await DynamicSupervisor.start_link(**kwargs)
        assert len(actors.Process.list()) == before

    run(main)


@pytest.mark.parametrize("spec, error, match", [
    ("worker", TypeError, "not a child spec"),
    ({"id": "x"}, ValueError, "missing start"),
    ({"id": "x", "start": (Worker.start_link, ()), "restart": "sometimes"}, ValueError, "restart"),
])
def test_malformed_specs_are_refused_by_start_child(run, spec, error, match):
    """start_child with a malformed spec raises TypeError/ValueError in the caller."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        with pytest.raises(error, match=match):
            await DynamicSupervisor.start_child(sup, spec)
        assert await children(sup) == []

    run(main)


def test_start_link_outside_a_process(aio_run):
    """start_link links to its caller, so it must run inside a process: a clear
    RuntimeError from plain asyncio code, naming DynamicSupervisor.start;
    that unlinked start works there, and the supervisor stays up after it."""

    async def main():
        async with actors.Runtime() as rt:
            with pytest.raises(RuntimeError, match=r"inside a process.*DynamicSupervisor\.start\("):
                await DynamicSupervisor.start_link()
            sup = await DynamicSupervisor.start(name="dyn")
            child = await rt.run_in_process(DynamicSupervisor.start_child, "dyn", (Worker, 7))
            assert await rt.call(child, "get") == 7
            assert actors.Process.alive(sup)
            assert actors.Process.info(sup, "links") == [child]

    aio_run(main)


@pytest.mark.parametrize("request_", [
    42, None, (), "x", [1], ("$sup_no_such_request",),
    ("$sup_terminate_child", [1]), ("$sup_terminate_child", "not a pid"), ("$sup_terminate_child",),
    ("$sup_start_child", "not a spec"), ("$sup_start_child", {"id": "x"}, 1),
    ("$sup_which_children", 1),
])
def test_a_malformed_request_gets_an_error_and_the_supervisor_and_children_survive(run, request_):
    """A client's bad argument never kills a server: a raw call with garbage, or a
    request of the wrong arity or argument types, is answered with
    ("error", TypeError) while the supervisor and its children run on."""

    async def main():
        sup = await DynamicSupervisor.start_link()
        child = await DynamicSupervisor.start_child(sup, Worker)
        sup_ref, child_ref = actors.monitor(sup), actors.monitor(child)
        status, error = await actors.lowlevel.call(sup, request_)
        assert status == "error" and isinstance(error, TypeError)
        actors.send(sup, ("$sup_retry_restart", [1]))          # a forged internal message
        assert await children(sup) == [child]
        assert await actors.receive(actors.Down, timeout=0, default=None) is None
        actors.demonitor(sup_ref)
        actors.demonitor(child_ref)

    run(main)


@pytest.mark.parametrize("fn, args", [
    ("which_children", ()), ("count_children", ()), ("start_child", (Worker,)),
    ("terminate_child", (None,)), ("stop", ()),
])
def test_every_client_function_names_its_supervisor_argument(run, fn, args):
    """A supervisor reference that is not a Pid, a name or a via is a TypeError
    naming the argument: supervisor."""

    async def main():
        with pytest.raises(TypeError, match=r"DynamicSupervisor\.\w+: supervisor must be a Pid"):
            await getattr(DynamicSupervisor, fn)(42, *args)

    run(main)
