"""Supervisor: child specs, start order and failures, the three strategies, restart
values, restart intensity, shutdown values, nested and module-based supervisors,
run-time management, bad input (docs/api.md "OTP layers" and "Details";
Elixir's Supervisor docs)."""
from __future__ import annotations

import pytest

import actors
from actors import ANY, Exit, GenServer, Ignore, Process, StartError
from actors.child_spec import ChildSpec
from actors.supervisor import Child, Supervisor
from actors.testing import assert_receive, refute_received


class Probe(GenServer):
    """A child that reports ("started", name, pid) and ("stopped", name, reason).

    It traps exits, so a supervisor's shutdown reaches ``terminate``.
    """

    def init(self, name, report):
        actors.Process.flag("trap_exit", True)
        self.name, self.report = name, report
        actors.send(report, ("started", name, actors.self()))

    def handle_call(self, request, from_):
        if request == "name":
            return self.name

    def terminate(self, reason):
        actors.send(self.report, ("stopped", self.name, reason))


def probe(name, **overrides):
    """The spec of a Probe with id ``name`` reporting to the calling process."""
    return Probe.child_spec(name, actors.self()).replace(id=name, **overrides)


class Worker(GenServer):
    def init(self, value=None):
        self.value = value

    def handle_call(self, request, from_):
        return self.value


class Flaky(GenServer):
    """Starts only while ``state["fail"]`` is false."""

    def init(self, state):
        if state["fail"]:
            raise RuntimeError("cannot start now")


class Refuses(GenServer):
    def init(self):
        raise Ignore()


async def _stubborn(parent, exit_after):
    actors.Process.flag("trap_exit", True)
    actors.send(parent, ("stubborn", actors.self()))
    while True:
        msg = await actors.receive()
        if exit_after is not None and isinstance(msg, Exit):
            await actors.sleep(exit_after)           # a long cleanup
            raise actors.ProcessExit("shutdown")


async def _start_stubborn(exit_after):
    pid = actors.spawn_link(_stubborn, actors.self(), exit_after)   # runs in the supervisor
    await actors.receive(("stubborn", pid))
    return pid


def stubborn(child_id, shutdown, exit_after=None):
    """A child that traps exits and ignores "shutdown" (or takes ``exit_after`` s to obey)."""
    return ChildSpec(id=child_id, start=(_start_stubborn, (exit_after,)), shutdown=shutdown)


def now():
    return actors.lowlevel.current_scheduler().now()


async def events():
    """The ("started"/"stopped", name, _) reports received so far, as (kind, name) pairs."""
    got = []
    while (msg := await actors.receive(("started", ANY, ANY), ("stopped", ANY, ANY), timeout=0, default=None)):
        got.append((msg[0], msg[1]))
    return got


async def pids(sup):
    return {c.id: c.pid for c in await Supervisor.which_children(sup)}


async def crash(sup, child_id, reason="boom"):
    """Make child ``child_id`` exit with ``reason``; return once the supervisor handled it."""
    pid = (await pids(sup))[child_id]
    await GenServer.stop(pid, reason)
    await Supervisor.count_children(sup)       # the Exit is handled before this call
    return pid


# -- starting ---------------------------------------------------------------------------


class Stack(GenServer):
    def init(self, items):
        self.items = list(items)

    def handle_call(self, request, from_):
        if request == "pop":
            return self.items.pop(0)

    def handle_cast(self, item):
        self.items.insert(0, item)


def test_the_stack_example(run):
    """The module documentation's example: a registered stack crashes on an empty pop and
    the supervisor restarts it with its initial state, under the same name."""

    async def main():
        sup = await Supervisor.start_link([Stack.child_spec(["hello"], name="stack")])
        assert await Supervisor.count_children(sup) == {
            "specs": 1, "active": 1, "supervisors": 0, "workers": 1}
        assert await GenServer.call("stack", "pop") == "hello"
        GenServer.cast("stack", "world")
        assert await GenServer.call("stack", "pop") == "world"
        with pytest.raises(actors.CallExit):
            await GenServer.call("stack", "pop")
        await Supervisor.count_children(sup)
        assert await GenServer.call("stack", "pop") == "hello"

    run(main)



def test_children_start_in_order(run):
    """Children are started one by one in list order; which_children lists them in start
    order as Child(id, pid, type, modules)."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c")])
        assert await events() == [("started", "a"), ("started", "b"), ("started", "c")]
        children = await Supervisor.which_children(sup)
        assert [c.id for c in children] == ["a", "b", "c"]
        assert all(isinstance(c, Child) and c.type == "worker" and c.modules == [Probe] for c in children)
        assert [await GenServer.call(c.pid, "name") for c in children] == ["a", "b", "c"]
        assert all(sup in actors.Process.info(c.pid, "links") for c in children)

    run(main)


def test_start_link_argument_forms(run):
    """start_link(children, strategy=...) also takes children= by keyword and the options
    positionally, in the contract's order (children, strategy, max_restarts, max_seconds)."""

    async def main():
        a = await Supervisor.start_link(children=[Worker], strategy="rest_for_one")
        b = await Supervisor.start_link([Worker], "one_for_all", 0, 1.0)
        assert list(await pids(a)) == list(await pids(b)) == [Worker]

    run(main)


def test_count_children(run):
    """count_children counts specs, active (running) children, supervisors and workers."""

    async def main():
        inner = Supervisor.child_spec([], id="inner")
        sup = await Supervisor.start_link([probe("a"), inner, Refuses])
        assert await Supervisor.count_children(sup) == {
            "specs": 3, "active": 2, "supervisors": 1, "workers": 2}

    run(main)


def test_a_failing_child_aborts_the_start(run):
    """A child that fails to start: the children already started are stopped in reverse
    order, the later ones never start, and start_link raises StartError
    ("shutdown", ("failed_to_start_child", id, reason))."""

    async def main():
        children = [probe("a"), probe("b"), Supervisor.child_spec((Flaky, {"fail": True}), id="bad"),
                    probe("c")]
        before = set(actors.Process.list())
        with pytest.raises(StartError, match="failed_to_start_child") as info:
            await Supervisor.start_link(children)
        kind, (what, child_id, reason) = info.value.reason
        assert (kind, what, child_id) == ("shutdown", "failed_to_start_child", "bad")
        assert isinstance(reason, RuntimeError)
        assert await events() == [("started", "a"), ("started", "b"), ("stopped", "b"), ("stopped", "a")]
        assert set(actors.Process.list()) == before

    run(main)


def test_a_child_that_ignores_is_kept_not_running(run):
    """A start function returning None (OTP :ignore): the spec is kept with pid None; a
    temporary child that ignores is dropped."""

    async def main():
        sup = await Supervisor.start_link([
            Supervisor.child_spec(Refuses, id="kept"),
            Supervisor.child_spec(Refuses, id="dropped", restart="temporary"),
        ])
        assert await Supervisor.which_children(sup) == [Child("kept", None, "worker", [Refuses])]

    run(main)


def test_children_stop_in_reverse_order(run):
    """Supervisor.stop stops the children in reverse start order with "shutdown", then the
    supervisor exits with the given reason."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c")])
        await events()
        ref = actors.monitor(sup)
        await Supervisor.stop(sup, reason="normal")
        assert await events() == [("stopped", "c"), ("stopped", "b"), ("stopped", "a")]
        assert (await actors.receive((ref, ANY, ANY))).reason == "normal"

    run(main)


def test_stop_with_a_reason(run):
    """Supervisor.stop(sup, reason) exits the supervisor with that reason."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([Worker])
        ref = actors.monitor(sup)
        await Supervisor.stop(sup, reason=("shutdown", "maintenance"))
        assert (await actors.receive((ref, ANY, ANY))).reason == ("shutdown", "maintenance")

    run(main)


def test_parent_exit_stops_the_tree(run):
    """A supervisor traps exits: its parent's exit signal makes it stop its children (in
    reverse order) and exit with the same reason."""

    async def parent(report):
        sup = await Supervisor.start_link([
            Probe.child_spec("a", report).replace(id="a"), Probe.child_spec("b", report).replace(id="b")])
        actors.send(report, ("sup", sup))
        await actors.receive("die")
        raise actors.ProcessExit("shutdown")

    async def main():
        p = actors.spawn(parent, actors.self())
        _, sup = await actors.receive(("sup", ANY))
        ref = actors.monitor(sup)
        actors.send(p, "die")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"
        assert await events() == [("started", "a"), ("started", "b"), ("stopped", "b"), ("stopped", "a")]

    run(main)


def test_start_link_timeout(run, clock):
    """start_link(timeout=...) gives up on a child that takes too long to start: it raises
    StartError that is also a Timeout; the supervisor is killed, and its children with it."""

    class Slow(GenServer):
        async def init(self):
            await actors.sleep(60)

    async def main():
        before = set(actors.Process.list())
        with pytest.raises(StartError) as info:
            await Supervisor.start_link([Slow], timeout=1)
        assert isinstance(info.value, actors.Timeout)
        for pid in set(actors.Process.list()) - before:      # the slow child, dying
            ref = actors.monitor(pid)
            assert (await actors.receive((ref, ANY, ANY))).reason in ("killed", "noproc")

    run(main, clock=clock)


def test_unexpected_messages_do_not_crash_a_supervisor(run):
    """Stray messages and casts are logged and ignored, an unknown call is answered
    with an error (OTP's {error, badcall}): a supervisor must not die of them."""

    async def main():
        sup = await Supervisor.start_link([Worker])
        actors.send(sup, "hello")
        GenServer.cast(sup, "hello")
        status, error = await GenServer.call(sup, "hello")
        assert status == "error" and isinstance(error, TypeError)
        assert (await Supervisor.count_children(sup))["active"] == 1

    run(main)


@pytest.mark.parametrize("request_", [
    42, None, (), [1], "x", ("$sup_no_such_request",), ([1], 2),
    ("$sup_terminate_child", [1]), ("$sup_restart_child", {"a": 1}), ("$sup_delete_child", {1}),
    ("$sup_terminate_child",), ("$sup_terminate_child", "w", "extra"),
    ("$sup_start_child", "not a spec"), ("$sup_start_child", {"id": "x"}),
    ("$sup_which_children", 1), ("$sup_count_children", [], []),
])
@pytest.mark.actors
async def test_a_malformed_request_gets_an_error_and_the_supervisor_and_children_survive(request_):
    """A client's bad argument never kills a server: a raw call with garbage, or a
    supervisor request with the wrong arity or argument types (an unhashable id),
    is answered with ("error", TypeError) while the supervisor and its children
    run on."""
    sup = await Supervisor.start_link([Worker])
    child = (await Supervisor.which_children(sup))[0].pid
    sup_ref, child_ref = actors.monitor(sup), actors.monitor(child)
    status, error = await actors.lowlevel.call(sup, request_)
    assert status == "error" and isinstance(error, TypeError)
    refute_received(actors.Down)
    assert (await Supervisor.which_children(sup))[0].pid is child
    actors.demonitor(sup_ref)
    actors.demonitor(child_ref)


@pytest.mark.parametrize("fn", ["terminate_child", "restart_child", "delete_child"])
def test_an_unhashable_child_id_is_a_type_error_in_the_caller(run, fn):
    """terminate_child, restart_child and delete_child check the id in the caller:
    a TypeError naming child_id, and the supervisor never sees the request."""

    async def main():
        sup = await Supervisor.start_link([Worker])
        child = (await Supervisor.which_children(sup))[0].pid
        with pytest.raises(TypeError, match="child_id"):
            await getattr(Supervisor, fn)(sup, ["not", "hashable"])
        assert Process.alive(sup) and Process.alive(child)
        assert (await Supervisor.which_children(sup))[0].pid is child

    run(main)


@pytest.mark.parametrize("fn, args", [
    ("which_children", ()), ("count_children", ()), ("start_child", (Worker,)),
    ("terminate_child", ("w",)), ("restart_child", ("w",)), ("delete_child", ("w",)), ("stop", ()),
])
def test_every_client_function_names_its_supervisor_argument(run, fn, args):
    """A supervisor reference that is not a Pid, a name or a via is a TypeError
    naming the argument: supervisor."""

    async def main():
        with pytest.raises(TypeError, match=r"Supervisor\.\w+: supervisor must be a Pid"):
            await getattr(Supervisor, fn)(42, *args)

    run(main)


def test_a_supervisor_exits_when_its_parent_exits_normally(run):
    """Unlike a plain linked process, a supervisor (it traps exits) also stops when its
    parent exits "normal", taking its children down with it."""

    async def parent(report):
        sup = await Supervisor.start_link([Probe.child_spec("a", report).replace(id="a")])
        actors.send(report, ("sup", sup))
        await actors.receive("return")

    async def main():
        p = actors.spawn(parent, actors.self())
        _, sup = await actors.receive(("sup", ANY))
        ref = actors.monitor(sup)
        actors.send(p, "return")
        assert (await actors.receive((ref, ANY, ANY))).reason == "normal"
        assert await events() == [("started", "a"), ("stopped", "a")]

    run(main)


def test_a_killed_supervisor_takes_its_children_with_it(run):
    """A supervisor killed with "kill" cannot stop its children; they die through their
    links with "killed"."""

    async def main():
        sup = await Supervisor.start_link([Worker])
        actors.unlink(sup)
        [child] = (await pids(sup)).values()
        ref = actors.monitor(child)
        actors.exit(sup, "kill")
        assert (await actors.receive((ref, ANY, ANY))).reason == "killed"

    run(main)


# -- strategies -----------------------------------------------------------------------------


def test_one_for_one_restarts_only_the_failed_child(run):
    """one_for_one: the failed child is restarted with its spec; its siblings keep running."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c")], strategy="one_for_one")
        before = await pids(sup)
        await events()
        old = await crash(sup, "b")
        after = await pids(sup)
        assert after["a"] == before["a"] and after["c"] == before["c"]
        assert after["b"] != old and await GenServer.call(after["b"], "name") == "b"
        assert await events() == [("stopped", "b"), ("started", "b")]

    run(main)


def test_one_for_all_restarts_every_child(run):
    """one_for_all: the others are stopped in reverse order, then all start again in start
    order."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c")], strategy="one_for_all")
        before = await pids(sup)
        await events()
        await crash(sup, "b")
        after = await pids(sup)
        assert all(after[k] != before[k] for k in "abc")
        assert await events() == [("stopped", "b"),                      # the crash itself
                            ("stopped", "c"), ("stopped", "a"),
                            ("started", "a"), ("started", "b"), ("started", "c")]

    run(main)


def test_rest_for_one_restarts_the_failed_child_and_later_ones(run):
    """rest_for_one: the children after the failed one are stopped in reverse order, then
    the failed child and those start again, in start order; earlier children are untouched."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c"), probe("d")],
                                          strategy="rest_for_one")
        before = await pids(sup)
        await events()
        await crash(sup, "b")
        after = await pids(sup)
        assert after["a"] == before["a"]
        assert all(after[k] != before[k] for k in "bcd")
        assert await events() == [("stopped", "b"),
                            ("stopped", "d"), ("stopped", "c"),
                            ("started", "b"), ("started", "c"), ("started", "d")]

    run(main)


def test_rest_for_one_with_the_last_child(run):
    """rest_for_one when the last child fails: only it is restarted."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b")], strategy="rest_for_one")
        await events()
        await crash(sup, "b")
        assert await events() == [("stopped", "b"), ("started", "b")]

    run(main)


# -- restart values ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "bye"), "boom"])
def test_permanent_children_are_always_restarted(run, reason):
    """A permanent child (the default) is restarted whatever its exit reason."""

    async def main():
        sup = await Supervisor.start_link([probe("a")])
        old = await crash(sup, "a", reason)
        new = (await pids(sup))["a"]
        assert isinstance(new, actors.Pid) and new != old

    run(main)


@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "bye")])
def test_transient_children_are_not_restarted_after_a_clean_exit(run, reason):
    """A transient child exiting normal, shutdown or ("shutdown", x) is not restarted; its
    spec stays, with pid None."""

    async def main():
        sup = await Supervisor.start_link([probe("a", restart="transient")])
        await crash(sup, "a", reason)
        assert await Supervisor.which_children(sup) == [Child("a", None, "worker", [Probe])]
        assert (await Supervisor.count_children(sup))["active"] == 0

    run(main)


def test_transient_children_are_restarted_after_an_abnormal_exit(run):
    """A transient child exiting with any other reason is restarted."""

    async def main():
        sup = await Supervisor.start_link([probe("a", restart="transient")])
        old = await crash(sup, "a", ValueError("bad"))
        new = (await pids(sup))["a"]
        assert isinstance(new, actors.Pid) and new != old

    run(main)


@pytest.mark.parametrize("reason", ["normal", "boom"])
def test_temporary_children_are_never_restarted(run, reason):
    """A temporary child is never restarted, and its spec is deleted when it exits."""

    async def main():
        sup = await Supervisor.start_link([probe("a", restart="temporary"), probe("b")])
        await crash(sup, "a", reason)
        assert list(await pids(sup)) == ["b"]

    run(main)


def test_temporary_children_are_not_restarted_by_one_for_all(run):
    """Under one_for_all a sibling's failure stops a temporary child, which is not started
    again (and is forgotten)."""

    async def main():
        sup = await Supervisor.start_link([probe("t", restart="temporary"), probe("a"), probe("b")],
                                          strategy="one_for_all")
        await events()
        await crash(sup, "b")
        assert list(await pids(sup)) == ["a", "b"]
        assert await events() == [("stopped", "b"), ("stopped", "a"), ("stopped", "t"),
                            ("started", "a"), ("started", "b")]

    run(main)


def test_exits_that_are_not_failures_leave_siblings_alone(run):
    """Only failures trigger a strategy: a temporary child's crash or a transient child's
    normal exit does not restart the others under one_for_all."""

    async def main():
        sup = await Supervisor.start_link(
            [probe("t", restart="temporary"), probe("tr", restart="transient"), probe("a")],
            strategy="one_for_all")
        before = await pids(sup)
        await events()
        await crash(sup, "t", "boom")
        await crash(sup, "tr", "normal")
        assert (await pids(sup)) == {"tr": None, "a": before["a"]}
        assert await events() == [("stopped", "t"), ("stopped", "tr")]

    run(main)


# -- restart intensity ---------------------------------------------------------------------


def test_exceeding_the_intensity_stops_all_children_and_exits_shutdown(run, clock):
    """One restart more than max_restarts within max_seconds: the supervisor stops all its
    children in reverse start order and exits with "shutdown"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([probe("a"), probe("b"), probe("c")],
                                          max_restarts=2, max_seconds=5)
        ref = actors.monitor(sup)
        await crash(sup, "b")
        await crash(sup, "b")
        await events()
        pid = (await pids(sup))["b"]
        await GenServer.stop(pid, "boom")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"
        assert await actors.receive(Exit(sup, ANY)) == Exit(sup, "shutdown")
        assert await events() == [("stopped", "b"), ("stopped", "c"), ("stopped", "a")]

    run(main, clock=clock)


def test_the_intensity_window_slides(run, clock):
    """Restarts older than max_seconds are forgotten: spread-out failures never stop the
    supervisor, but the same number within the window does."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([probe("a")], max_restarts=2, max_seconds=10)
        for _ in range(5):
            await crash(sup, "a")
            await actors.sleep(6)            # virtual time: two restarts never share a window
        assert actors.Process.alive(sup)
        ref = actors.monitor(sup)
        await crash(sup, "a")
        await actors.sleep(3)
        await GenServer.stop((await pids(sup))["a"], "boom")   # three restarts in 10 s: too many
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"

    run(main, clock=clock)


def test_default_intensity_is_3_in_5_seconds(run):
    """The defaults are Elixir's: 3 restarts allowed in 5 seconds, the 4th stops."""

    async def main():
        actors.Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([Worker])
        ref = actors.monitor(sup)
        for _ in range(3):
            (child,) = (await pids(sup)).values()
            await GenServer.stop(child, "boom")
        assert actors.Process.alive(sup)
        (child,) = (await pids(sup)).values()
        await GenServer.stop(child, "boom")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"

    run(main)


def test_a_failed_restart_shows_restarting_and_is_retried(run):
    """A restart whose start fails leaves the child "restarting" (not active) and is
    retried until it starts."""

    async def main():
        state = {"fail": False}
        sup = await Supervisor.start_link([Supervisor.child_spec((Flaky, state), id="f"), probe("a")],
                                          max_restarts=10**9)
        state["fail"] = True
        await crash(sup, "f")
        assert (await pids(sup))["f"] == "restarting"
        assert (await Supervisor.count_children(sup))["active"] == 1
        state["fail"] = False
        while (await pids(sup))["f"] == "restarting":
            pass
        assert actors.Process.alive((await pids(sup))["f"])

    run(main)


def test_failed_restarts_count_towards_the_intensity(run):
    """Each failed restart attempt counts: a child that cannot start again makes the
    supervisor give up with "shutdown"."""

    async def main():
        actors.Process.flag("trap_exit", True)
        state = {"fail": False}
        sup = await Supervisor.start_link([Supervisor.child_spec((Flaky, state), id="f")])
        ref = actors.monitor(sup)
        state["fail"] = True
        (child,) = (await pids(sup)).values()
        await GenServer.stop(child, "boom")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"

    run(main)


def test_a_failed_restart_under_one_for_all_is_retried(run):
    """one_for_all: if a child fails to start again, the later ones wait; the retry
    restarts everything once the child can start."""

    async def main():
        state = {"fail": False}
        sup = await Supervisor.start_link(
            [probe("a"), Supervisor.child_spec((Flaky, state), id="f"), probe("b")],
            strategy="one_for_all", max_restarts=10**9)
        state["fail"] = True
        await crash(sup, "a")
        now_pids = await pids(sup)
        assert now_pids["f"] == "restarting" and now_pids["b"] is None
        state["fail"] = False
        while (await pids(sup))["f"] == "restarting":
            pass
        assert all(isinstance(p, actors.Pid) for p in (await pids(sup)).values())

    run(main)


# -- shutdown values ---------------------------------------------------------------------------


@pytest.mark.actors
async def test_a_child_that_ignores_shutdown_is_killed_after_its_shutdown_time(mock_clock):
    """A child trapping exits that ignores "shutdown" is killed after its shutdown seconds."""
    sup = await Supervisor.start_link([stubborn("s", shutdown=2)])
    pid = (await pids(sup))["s"]
    ref = actors.monitor(pid)
    start = mock_clock()
    await Supervisor.terminate_child(sup, "s")
    assert mock_clock() - start == pytest.approx(2)
    assert (await assert_receive((ref, ANY, ANY))).reason == "killed"


@pytest.mark.actors
async def test_stubborn_children_are_killed_one_after_another_on_stop(mock_clock):
    """On stop, children are shut down one at a time in reverse order, each given its own
    shutdown time."""
    sup = await Supervisor.start_link([stubborn("a", 1), stubborn("b", 2)])
    refs = {k: actors.monitor(p) for k, p in (await pids(sup)).items()}
    start = mock_clock()
    await Supervisor.stop(sup)
    assert mock_clock() - start == pytest.approx(3)
    assert (await assert_receive((refs["a"], ANY, ANY))).reason == "killed"
    assert (await assert_receive((refs["b"], ANY, ANY))).reason == "killed"


@pytest.mark.actors
async def test_a_child_that_cleans_up_in_time_is_not_killed(mock_clock):
    """A trapping child that exits within its shutdown time exits with its own reason."""
    sup = await Supervisor.start_link([stubborn("s", shutdown=5, exit_after=1)])
    ref = actors.monitor((await pids(sup))["s"])
    start = mock_clock()
    await Supervisor.terminate_child(sup, "s")
    assert mock_clock() - start == pytest.approx(1)
    assert (await assert_receive((ref, ANY, ANY))).reason == "shutdown"


@pytest.mark.actors
async def test_shutdown_none_waits_forever(mock_clock):
    """shutdown=None (a supervisor child's default): the supervisor waits as long as it
    takes."""
    sup = await Supervisor.start_link([stubborn("s", shutdown=None, exit_after=1000)])
    ref = actors.monitor((await pids(sup))["s"])
    start = mock_clock()
    await Supervisor.terminate_child(sup, "s")
    assert mock_clock() - start == pytest.approx(1000)
    assert (await assert_receive((ref, ANY, ANY))).reason == "shutdown"


@pytest.mark.actors
async def test_brutal_kill_does_not_wait(mock_clock):
    """shutdown="brutal_kill": killed at once."""
    sup = await Supervisor.start_link([stubborn("s", shutdown="brutal_kill")])
    ref = actors.monitor((await pids(sup))["s"])
    start = mock_clock()
    await Supervisor.terminate_child(sup, "s")
    assert mock_clock() == start
    assert (await assert_receive((ref, ANY, ANY))).reason == "killed"


@pytest.mark.actors
async def test_a_child_not_trapping_exits_dies_at_once(mock_clock):
    """A child that does not trap exits dies from the "shutdown" signal immediately."""
    sup = await Supervisor.start_link([Worker])
    ref = actors.monitor((await pids(sup))[Worker])
    start = mock_clock()
    await Supervisor.terminate_child(sup, Worker)
    assert mock_clock() == start
    assert (await assert_receive((ref, ANY, ANY))).reason == "shutdown"


# -- nested supervisors -----------------------------------------------------------------------


class Inner(Supervisor):
    def init(self, report):
        return Supervisor.init([Probe.child_spec("x", report).replace(id="x"),
                                Probe.child_spec("y", report).replace(id="y")],
                               strategy="one_for_one", max_restarts=1, max_seconds=5)


def test_nested_supervisors(run):
    """A module-based supervisor runs as a child (type "supervisor", shutdown None); a
    grandchild's crash is handled by the inner supervisor alone."""

    async def main():
        top = await Supervisor.start_link([probe("a"), (Inner, actors.self()), probe("b")])
        assert await events() == [("started", "a"), ("started", "x"), ("started", "y"), ("started", "b")]
        [_, inner, _] = await Supervisor.which_children(top)
        assert inner == Child(Inner, inner.pid, "supervisor", [Inner])
        before = await pids(top)
        await crash(inner.pid, "x")
        assert await pids(top) == before
        assert await events() == [("stopped", "x"), ("started", "x")]

    run(main)


def test_an_inner_supervisor_giving_up_is_restarted_by_the_outer_one(run, clock):
    """Failures escalate: an inner supervisor over its intensity exits "shutdown" and the
    outer one restarts it (it is permanent), which starts a fresh subtree."""

    async def main():
        top = await Supervisor.start_link([probe("a"), (Inner, actors.self())])
        inner = (await pids(top))[Inner]
        await crash(inner, "x")
        await events()
        ref = actors.monitor(inner)
        await GenServer.stop((await pids(inner))["x"], "boom")    # the second restart: too many
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"
        await Supervisor.count_children(top)
        new_inner = (await pids(top))[Inner]
        assert new_inner != inner and actors.Process.alive(new_inner)
        assert await events() == [("stopped", "x"), ("stopped", "y"), ("started", "x"), ("started", "y")]

    run(main, clock=clock)


def test_stopping_the_top_stops_the_whole_tree_in_reverse_order(run):
    """Stopping the top supervisor stops every subtree, depth first, in reverse order."""

    async def main():
        top = await Supervisor.start_link([probe("a"), (Inner, actors.self()), probe("b")])
        await events()
        await Supervisor.stop(top)
        assert await events() == [("stopped", "b"), ("stopped", "y"), ("stopped", "x"), ("stopped", "a")]

    run(main)


def test_an_inline_nested_supervisor(run):
    """Supervisor.child_spec([children], id=..., strategy=...), or (Supervisor, [children]),
    nests a plain supervisor."""

    async def main():
        spec = Supervisor.child_spec([probe("x")], id="inner", strategy="one_for_all")
        assert (spec.id, spec.type, spec.shutdown) == ("inner", "supervisor", None)
        top = await Supervisor.start_link([spec, (Supervisor, [Worker])])
        inner = (await pids(top))["inner"]
        assert list(await pids(inner)) == ["x"]
        other = (await pids(top))[Supervisor]
        assert list(await pids(other)) == [Worker]

    run(main)


# -- managing children -----------------------------------------------------------------------


def test_start_child_adds_a_child_last(run):
    """start_child starts a new child and appends it to the start order (so it stops
    first)."""

    async def main():
        sup = await Supervisor.start_link([probe("a")])
        pid = await Supervisor.start_child(sup, probe("b"))
        assert (await pids(sup)) == {"a": (await pids(sup))["a"], "b": pid}
        await events()
        await Supervisor.stop(sup)
        assert await events() == [("stopped", "b"), ("stopped", "a")]

    run(main)


def test_start_child_with_a_taken_id(run):
    """start_child with the id of a running child: StartError(("already_started", pid));
    of a stopped one: StartError("already_present")."""

    async def main():
        sup = await Supervisor.start_link([probe("a")])
        running = (await pids(sup))["a"]
        with pytest.raises(StartError, match="already_started") as info:
            await Supervisor.start_child(sup, probe("a"))
        assert info.value.reason == ("already_started", running)
        await Supervisor.terminate_child(sup, "a")
        with pytest.raises(StartError, match="already_present") as info:
            await Supervisor.start_child(sup, probe("a"))
        assert info.value.reason == "already_present"

    run(main)


def test_start_child_that_fails_is_discarded(run):
    """A child that fails to start: StartError with the failure reason; its spec is not
    kept."""

    async def main():
        sup = await Supervisor.start_link([])
        with pytest.raises(StartError) as info:
            await Supervisor.start_child(sup, (Flaky, {"fail": True}))
        assert isinstance(info.value.reason, RuntimeError)
        assert await Supervisor.which_children(sup) == []

    run(main)


def test_start_child_that_ignores(run):
    """start_child returns None for a child that chose not to start; its spec is kept."""

    async def main():
        sup = await Supervisor.start_link([])
        assert await Supervisor.start_child(sup, Refuses) is None
        assert await Supervisor.which_children(sup) == [Child(Refuses, None, "worker", [Refuses])]

    run(main)


def test_terminate_restart_and_delete_child(run):
    """terminate_child stops a child and keeps its spec (not restarted); restart_child
    starts it again; delete_child removes a stopped child's spec."""

    async def main():
        sup = await Supervisor.start_link([probe("a"), probe("b")])
        old = (await pids(sup))["a"]
        ref = actors.monitor(old)
        await Supervisor.terminate_child(sup, "a")
        assert (await actors.receive((ref, ANY, ANY))).reason == "shutdown"
        assert (await pids(sup))["a"] is None
        new = await Supervisor.restart_child(sup, "a")
        assert isinstance(new, actors.Pid) and new != old and (await pids(sup))["a"] == new
        await Supervisor.terminate_child(sup, "a")
        await Supervisor.delete_child(sup, "a")
        assert list(await pids(sup)) == ["b"]

    run(main)


def test_terminate_child_deletes_a_temporary_spec(run):
    """terminate_child of a temporary child deletes its spec."""

    async def main():
        sup = await Supervisor.start_link([probe("t", restart="temporary")])
        await Supervisor.terminate_child(sup, "t")
        assert await Supervisor.which_children(sup) == []

    run(main)


def test_management_errors(run):
    """Unknown ids raise LookupError; restart_child of a running child StartError("running");
    delete_child of a running child RuntimeError."""

    async def main():
        sup = await Supervisor.start_link([probe("a")])
        for fn in (Supervisor.terminate_child, Supervisor.restart_child, Supervisor.delete_child):
            with pytest.raises(LookupError, match="'nope'"):
                await fn(sup, "nope")
        with pytest.raises(StartError, match="running") as info:
            await Supervisor.restart_child(sup, "a")
        assert info.value.reason == "running"
        with pytest.raises(RuntimeError, match="running"):
            await Supervisor.delete_child(sup, "a")

    run(main)


def test_a_named_supervisor(run):
    """name= registers the supervisor; every function accepts the name; a taken name raises
    AlreadyRegistered."""

    async def main():
        sup = await Supervisor.start_link([Worker], name="top")
        assert actors.whereis("top") == sup
        assert (await Supervisor.count_children("top"))["active"] == 1
        with pytest.raises(actors.AlreadyRegistered):
            await Supervisor.start_link([], name="top")
        await Supervisor.stop("top")
        assert actors.whereis("top") is None

    run(main)


def test_management_from_plain_asyncio(aio_run):
    """Management functions work from asyncio code running a Runtime (like GenServer.call)."""

    async def main():
        async with actors.Runtime() as rt:
            async def start():
                sup = await Supervisor.start_link([Worker], name="sup")
                actors.unlink(sup)
                return sup

            sup = await rt.run_in_process(start)
            assert (await Supervisor.count_children("sup"))["active"] == 1
            assert [c.id for c in await Supervisor.which_children(sup)] == [Worker]
            await Supervisor.stop(sup)

    aio_run(main)


# -- module-based supervisors ---------------------------------------------------------------


class App(Supervisor):
    def init(self, greeting, strategy="one_for_one"):
        return Supervisor.init([(Worker, greeting)], strategy=strategy)


def test_module_based_supervisor(run):
    """A subclass's init gets start_link's arguments and returns Supervisor.init(children,
    **options); name= is handled by start_link."""

    async def main():
        sup = await App.start_link("hello", strategy="one_for_all", name="app")
        assert actors.whereis("app") == sup
        (child,) = (await pids(sup)).values()
        assert await GenServer.call(child, "get") == "hello"
        spec = App.child_spec("hi")
        assert (spec.id, spec.type, spec.shutdown, spec.start[1]) == (App, "supervisor", None, ("hi",))

    run(main)


def test_module_based_init_may_return_a_list(run):
    """init may return just the children (default options) and may be async."""

    class Listed(Supervisor):
        async def init(self):
            return [Worker]

    async def main():
        sup = await Listed.start_link()
        assert list(await pids(sup)) == [Worker]

    run(main)


def test_module_based_init_ignore_and_errors(run):
    """init raising Ignore: start_link returns None; init raising: StartError with the
    exception; init returning garbage or bad options: TypeError/ValueError naming it."""

    class Never(Supervisor):
        def init(self):
            raise Ignore()

    class Broken(Supervisor):
        def init(self):
            raise KeyError("config")

    class Garbage(Supervisor):
        def init(self, value):
            return value

    async def main():
        assert await Never.start_link() is None
        with pytest.raises(StartError) as info:
            await Broken.start_link()
        assert isinstance(info.value.reason, KeyError)
        with pytest.raises(TypeError, match="must return"):
            await Garbage.start_link(42)
        with pytest.raises(ValueError, match="strategy"):
            await Garbage.start_link(([], {"strategy": "all_for_one"}))
        with pytest.raises(ValueError, match="duplicate child id"):
            await Garbage.start_link([Worker, Worker])

    run(main)


# -- child specs and bad input -------------------------------------------------------------


def test_child_spec_overrides(run):
    """Supervisor.child_spec(spec, **overrides) normalizes any spec form and changes fields;
    unknown fields are refused."""

    async def main():
        spec = Supervisor.child_spec((Worker, 1), id="w1", restart="transient", shutdown=10)
        assert (spec.id, spec.restart, spec.shutdown, spec.start[1]) == ("w1", "transient", 10, (1,))
        assert Supervisor.child_spec(Worker).id is Worker
        with pytest.raises(ValueError, match="colour"):
            Supervisor.child_spec(Worker, colour="red")
        with pytest.raises(TypeError, match="not a child spec"):
            Supervisor.child_spec(42)

    run(main)


def test_the_same_server_twice_needs_distinct_ids(run):
    """Two children with the same id are refused; child_spec(id=...) tells them apart."""

    async def main():
        with pytest.raises(ValueError, match="duplicate child id"):
            await Supervisor.start_link([(Worker, 1), (Worker, 2)])
        sup = await Supervisor.start_link([Supervisor.child_spec((Worker, 1), id=1),
                                           Supervisor.child_spec((Worker, 2), id=2)])
        assert list(await pids(sup)) == [1, 2]

    run(main)


@pytest.mark.parametrize("children, kwargs, error, match", [
    ("not a list", {}, TypeError, "children"),
    ([Worker, 42], {}, TypeError, r"children\[1\]"),
    ([{"id": "x"}], {}, ValueError, "missing start"),
    ([{"id": "x", "start": (Worker.start_link, ()), "restart": "always"}], {}, ValueError, "restart"),
    ([{"id": "x", "start": (Worker.start_link, ()), "type": "boss"}], {}, ValueError, "type"),
    ([{"id": "x", "start": (Worker.start_link, ()), "shutdown": -1}], {}, ValueError, "shutdown"),
    ([{"id": "x", "start": "Worker"}], {}, ValueError, "start"),
    ([Worker, Worker], {}, ValueError, "duplicate child id"),
    ([], {"strategy": "all_for_one"}, ValueError, "strategy"),
    ([], {"max_restarts": -1}, ValueError, "max_restarts"),
    ([], {"max_restarts": "3"}, TypeError, "max_restarts"),
    ([], {"max_seconds": 0}, ValueError, "max_seconds"),
    ([], {"max_seconds": None}, TypeError, "max_seconds"),
    ([], {"stratgy": "one_for_all"}, TypeError, "stratgy"),
    ([], {"name": 3}, TypeError, "name"),
    ([], {"timeout": -1}, ValueError, "timeout"),
])
def test_bad_input_is_refused_before_anything_starts(run, children, kwargs, error, match):
    """Malformed specs, duplicate ids, an unknown strategy, bad intensity or options: a
    TypeError/ValueError naming the problem, and no process is started."""

    async def main():
        before = len(actors.Process.list())
        with pytest.raises(error, match=match):
            await Supervisor.start_link(children, **kwargs)
        assert len(actors.Process.list()) == before

    run(main)


def test_start_child_with_a_malformed_spec(run):
    """start_child with a malformed spec raises in the caller; the supervisor is untouched."""

    async def main():
        sup = await Supervisor.start_link([])
        with pytest.raises(ValueError, match="restart"):
            await Supervisor.start_child(sup, {"id": "x", "start": (Worker.start_link, ()),
                                               "restart": "forever"})
        assert await Supervisor.which_children(sup) == []

    run(main)


def test_start_link_outside_a_process(aio_run):
    """start_link links to its caller: from plain asyncio code it raises a clear
    RuntimeError, which names the unlinked start to use instead."""

    async def main():
        async with actors.Runtime():
            with pytest.raises(RuntimeError, match=r"inside a process.*Supervisor\.start\("):
                await Supervisor.start_link([])

    aio_run(main)


def test_start_is_not_linked_the_supervisor_outlives_its_starter(run):
    """Supervisor.start (OTP's gen_server:start): the supervisor has no parent,
    so the crash of the process that started it does not stop it."""

    async def starter(report):
        sup = await Supervisor.start([Probe.child_spec("a", report)], name="top")
        actors.send(report, ("sup", sup))
        raise RuntimeError("the starter crashes")

    async def main():
        me = actors.self()
        pid, ref = actors.spawn_monitor(starter, me)
        _, _, child = await actors.receive(("started", "a", ANY))
        _, sup = await actors.receive(("sup", ANY))
        assert isinstance((await actors.receive((ref, pid, ANY))).reason, RuntimeError)
        assert Process.alive(sup) and actors.whereis("top") == sup
        assert Process.info(sup, "links") == [child]
        assert await GenServer.call(child, "name") == "a"
        await Supervisor.stop(sup)
        await actors.receive(("stopped", "a", "shutdown"))

    run(main)
