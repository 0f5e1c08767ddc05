"""GenServer: starting, calls, casts, replies, stopping, callbacks and their
actions (docs/api.md "OTP layers", "Errors" and "Details"; Elixir's GenServer
is the reference where the contract is silent).

Every test that involves time runs on ``MockClock(autojump=True)``: timeouts
fire as soon as every process is blocked, so nothing sleeps for real.
"""
from __future__ import annotations

import asyncio
import logging

import pytest

import actors
from actors import (
    ANY,
    CallExit,
    Down,
    Exit,
    NoProcess,
    Process,
    ProcessExit,
    StartError,
    Timeout,
    via,
)
from actors.child_spec import ChildSpec, child_spec
from actors.gen_server import (
    HIBERNATE,
    IDLE_TIMEOUT,
    NOREPLY,
    Continue,
    GenServer,
    IdleTimeout,
    Ignore,
    NoReply,
    Reply,
    Stop,
)

from actors.testing import assert_receive, refute_receive, refute_received
from helpers import expect, nothing, now, wait_down  # noqa: E402


async def exit_reason(pid):
    """The exit reason of ``pid``, linked to the caller, which traps exits.

    Unlike a monitor made after the fact, the link exists from the spawn, so
    this works for a server that may already be gone (for example one that
    stops in a handle_continue run right after init).
    """
    return (await expect(Exit(pid, ANY))).reason


async def watcher(owner):
    """Monitor the first pid sent here; report ("down", pid, reason) to owner."""
    pid = await actors.receive(actors.Pid)
    ref = actors.monitor(pid)
    down = await actors.receive(Down(ref, ANY, ANY))
    actors.send(owner, ("down", pid, down.reason))


# -- servers used by several tests -----------------------------------------------------


class Counter(GenServer):
    """The contract's example server."""

    def init(self, start=0):
        self.n = start

    def handle_call(self, request, from_):
        match request:
            case "get":
                return self.n
            case ("add", k):
                self.n += k
                return self.n
            case "from":
                return from_

    def handle_cast(self, request):
        self.n += request


class Reporter(GenServer):
    """Reports what happens to it to ``owner`` as tuples; ``action`` is init's return."""

    def init(self, owner, action=None):
        self.owner = owner
        return action

    def tell(self, *event):
        actors.send(self.owner, event)

    def handle_call(self, request, from_):
        match request:
            case ("stop", reason):
                raise Stop(reason)
            case ("stop_reply", reason, value):
                raise Stop(reason, reply=value)
            case ("raise", exc):
                raise exc
            case "hold":
                return NOREPLY
            case ("return", value):
                return value
            case _:
                self.tell("call", request)
                return ("ok", request)

    def handle_cast(self, request):
        match request:
            case ("stop", reason):
                raise Stop(reason)
            case ("raise", exc):
                raise exc
            case ("return", value):
                return value
            case _:
                self.tell("cast", request)

    def handle_info(self, msg):
        match msg:
            case ("stop", reason):
                raise Stop(reason)
            case ("raise", exc):
                raise exc
            case ("return", value):
                return value
            case _:
                self.tell("info", msg)

    def handle_continue(self, arg):
        match arg:
            case ("stop", reason):
                raise Stop(reason)
            case ("raise", exc):
                raise exc
            case ("return", value):
                return value
            case _:
                self.tell("continue", arg)

    def terminate(self, reason):
        self.tell("terminate", reason)


class Failing(GenServer):
    """init raises what it is given."""

    def init(self, exc):
        raise exc


# -- start / start_link -----------------------------------------------------------------


def test_start_link_waits_for_init_and_links_to_the_caller(run, clock):
    """start_link returns only after init has finished (even an init that awaits),
    with the server's pid; the server is linked to the caller."""

    class SlowInit(GenServer):
        async def init(self, owner):
            await actors.sleep(2)
            actors.send(owner, "init done")
            self.ready = True

        def handle_call(self, request, from_):
            return self.ready

    async def main():
        me = actors.self()
        pid = await SlowInit.start_link(me)
        assert isinstance(pid, actors.Pid)
        assert await actors.receive(timeout=0) == "init done"   # already there on return
        assert await GenServer.call(pid, "ready?") is True
        assert pid in Process.info(me, "links")
        assert me in Process.info(pid, "links")

    run(main, clock=clock)


def test_start_does_not_link(run):
    """start() is start_link without the link: the caller and server are independent."""

    async def main():
        pid = await Counter.start(3)
        assert pid not in Process.info(actors.self(), "links")
        assert Process.info(pid, "links") == []
        assert await GenServer.call(pid, "get") == 3

    run(main)


def test_the_contract_example(run):
    """docs/api.md "OTP layers": start_link(5, name="counter"); call "get" -> 5; cast 1; stop."""

    async def main():
        pid = await Counter.start_link(5, name="counter")
        assert actors.whereis("counter") is pid
        assert await GenServer.call("counter", "get", timeout=5.0) == 5
        assert GenServer.cast("counter", 1) is None
        assert await GenServer.call("counter", "get") == 6
        assert await GenServer.stop("counter", reason="normal") is None
        assert actors.whereis("counter") is None

    run(main)


def test_init_gets_positional_and_keyword_arguments_but_never_name_or_timeout(run):
    """name= and timeout= are options of start/start_link and never reach init."""

    class Args(GenServer):
        def init(self, *args, **kwargs):
            self.got = (args, kwargs)

        def handle_call(self, request, from_):
            return self.got

    async def main():
        pid = await Args.start_link(1, "two", three=3, name="args", timeout=10.0)
        assert await GenServer.call(pid, "args") == ((1, "two"), {"three": 3})
        pid = await Args.start(name="args2", timeout=None)
        assert await GenServer.call(pid, "args") == ((), {})

    run(main)


def test_init_raising_makes_start_link_raise_start_error_and_spares_the_caller(run):
    """An init that raises makes start_link raise StartError whose .reason is the
    exception; the linked caller is not killed and (as in OTP 26+, where
    proc_lib flushes it) finds no exit message even when it traps exits."""
    exc = ValueError("bad config")

    async def main():
        with pytest.raises(StartError) as info:
            await Failing.start_link(exc)
        assert info.value.reason is exc
        assert isinstance(info.value, actors.ActorsError)
        Process.flag("trap_exit", True)
        with pytest.raises(StartError) as info:
            await Failing.start_link(exc, name="failing")
        assert info.value.reason is exc
        await nothing(timeout=0)
        assert actors.whereis("failing") is None
        return "caller alive"

    assert run(main) == "caller alive"


def test_stop_in_init_makes_start_link_raise_start_error_with_its_reason(run):
    """raise Stop(reason) in init: start_link raises StartError(reason); the caller,
    though linked and not trapping, survives even an abnormal reason."""

    class Refuses(GenServer):
        def init(self, reason):
            raise Stop(reason)

    async def main():
        for reason in ("normal", "bad config", ("shutdown", "no db")):
            with pytest.raises(StartError) as info:
                await Refuses.start_link(reason, name="refuses")
            assert info.value.reason == reason
            assert actors.whereis("refuses") is None
        return "caller alive"

    assert run(main) == "caller alive"


def test_the_name_is_free_again_after_a_failed_start(run):
    """A server whose init failed releases its name before start_link returns,
    so a retry with the same name can succeed at once."""

    class FailsOnce(GenServer):
        def init(self, fail):
            if fail:
                raise RuntimeError("first try")

        def handle_call(self, request, from_):
            return "up"

    async def main():
        with pytest.raises(StartError):
            await FailsOnce.start_link(True, name="retry")
        pid = await FailsOnce.start_link(False, name="retry")
        assert actors.whereis("retry") is pid
        assert await GenServer.call("retry", "?") == "up"

    run(main)


def test_ignore_in_init_makes_start_link_return_none(run):
    """raise Ignore() in init: start_link returns None, no name stays registered,
    and the linked caller is not affected."""

    class Ignored(GenServer):
        def init(self):
            raise Ignore()

    async def main():
        Process.flag("trap_exit", True)
        assert await Ignored.start_link(name="ignored") is None
        assert await Ignored.start(name="ignored") is None
        assert actors.whereis("ignored") is None
        await nothing(actors.Exit, timeout=0)
        return "caller alive"

    assert run(main) == "caller alive"


@pytest.mark.parametrize("value", [42, "ok", True, [1], Continue])
def test_init_returning_a_bad_value_fails_the_start(run, value):
    """init may return None, Continue(arg), IdleTimeout(s) or HIBERNATE; anything else
    fails the start with reason ("bad_return_value", value)."""

    class Bad(GenServer):
        def init(self):
            return value

    async def main():
        with pytest.raises(StartError) as info:
            await Bad.start_link()
        assert info.value.reason == ("bad_return_value", value)

    run(main)


def test_default_init_takes_no_arguments(run):
    """A server without its own init given arguments fails to start (TypeError as reason)."""

    class NoInit(GenServer):
        pass

    async def main():
        with pytest.raises(StartError) as info:
            await NoInit.start_link(1)
        assert isinstance(info.value.reason, TypeError)
        assert isinstance(await NoInit.start_link(), actors.Pid)

    run(main)


def test_start_timeout_kills_the_server_and_raises_start_error(run, clock):
    """start(timeout=s): an init that takes longer is killed, and start raises
    StartError (also a Timeout) after s seconds; a linked caller survives."""

    class Stuck(GenServer):
        async def init(self, watcher):
            actors.send(watcher, actors.self())
            await actors.sleep(100)

    async def main():
        for start in (Stuck.start_link, Stuck.start):
            t0 = now()
            with pytest.raises(StartError) as info:
                await start(actors.spawn(watcher, actors.self()), name="stuck", timeout=1.5)
            assert isinstance(info.value, Timeout)
            assert now() - t0 == pytest.approx(1.5)
            _, _pid, reason = await expect(("down", ANY, ANY))
            assert reason == "killed"
            assert actors.whereis("stuck") is None
        return "caller alive"

    assert run(main, clock=clock) == "caller alive"


def test_start_waits_forever_by_default(run, clock):
    """start/start_link wait for init with no timeout by default (OTP's infinity)."""

    class VerySlow(GenServer):
        async def init(self):
            await actors.sleep(3600)

    async def main():
        t0 = now()
        assert isinstance(await VerySlow.start_link(), actors.Pid)
        assert now() - t0 == pytest.approx(3600)

    run(main, clock=clock)


async def signaller(signal):
    """Send exit signal ``signal`` to the first pid sent here."""
    actors.exit(await actors.receive(actors.Pid), signal)


@pytest.mark.parametrize("signal, reason", [("kill", "killed"), ("shutdown", "shutdown"), ("boom", "boom")])
def test_a_server_killed_during_init_gives_start_error_with_the_exit_reason(run, signal, reason):
    """A server killed by an exit signal while its init runs makes start raise
    StartError whose .reason is the exit reason (OTP: {error, Reason} from the
    'DOWN'), not an exception object."""

    class KilledInInit(GenServer):
        async def init(self, killer):
            actors.send(killer, actors.self())
            await actors.receive("never")

    async def main():
        with pytest.raises(StartError) as info:
            await KilledInInit.start(actors.spawn(signaller, signal))
        assert info.value.reason == reason

    run(main)


@pytest.mark.parametrize("start", ["start", "start_link"])
def test_start_arguments_are_checked_before_anything_starts(run, start):
    """A bad name or timeout raises TypeError/ValueError naming it, and spawns nothing."""

    async def main():
        fn = getattr(Counter, start)
        before = set(Process.list())
        with pytest.raises(TypeError, match="name"):
            await fn(name=42)
        with pytest.raises(TypeError, match="name"):
            await fn(name=("counter",))
        with pytest.raises(ValueError, match="timeout"):
            await fn(timeout=-1)
        with pytest.raises(TypeError, match="timeout"):
            await fn(timeout="5")
        assert set(Process.list()) == before

    run(main)


# -- names ---------------------------------------------------------------------------


def test_name_registers_the_server_and_is_freed_when_it_exits(run):
    """name="x" registers the server; the name is released when it stops, crashes
    or is killed, so a new server can take it."""

    async def main():
        exc = RuntimeError("crash")
        for ending in ("stop", "crash", "kill"):
            pid = await Reporter.start(actors.self(), name="named")
            assert actors.whereis("named") is pid
            assert Process.info(pid, "registered_name") == "named"
            assert await GenServer.call("named", "hi") == ("ok", "hi")
            if ending == "stop":
                await GenServer.stop("named")
            elif ending == "crash":
                GenServer.cast("named", ("raise", exc))
                assert await wait_down(pid) is exc
            else:
                ref = actors.monitor(pid)
                actors.exit(pid, "kill")
                assert (await expect(Down(ref, ANY, ANY))).reason == "killed"
            assert actors.whereis("named") is None
            actors.flush()

    run(main)


def test_a_taken_name_raises_already_registered_with_the_holder(run):
    """Starting under a taken name raises AlreadyRegistered whose .pid is the holder
    (a server or any process); the caller is not killed and the holder is untouched."""

    async def main():
        first = await Counter.start_link(1, name="taken")
        for start in (Counter.start_link, Counter.start):
            with pytest.raises(actors.AlreadyRegistered) as info:
                await start(2, name="taken")
            assert info.value.pid is first
        assert await GenServer.call("taken", "get") == 1
        actors.register("mine", actors.self())
        with pytest.raises(actors.AlreadyRegistered) as info:
            await Counter.start_link(name="mine")
        assert info.value.pid is actors.self()
        return "caller alive"

    assert run(main) == "caller alive"


class DictRegistry:
    """A minimal via registry (Elixir's {:via, module, name} protocol)."""

    def __init__(self):
        self.names = {}

    def whereis_name(self, key):
        return self.names.get(key)

    def register_name(self, key, pid):
        holder = self.names.get(key)
        if holder is not None and Process.alive(holder):
            raise actors.AlreadyRegistered(f"{key!r} is taken", holder)
        self.names[key] = pid

    def unregister_name(self, key):
        self.names.pop(key, None)


def test_via_names_with_a_registry_object(run):
    """name=via(registry, key) registers through the registry; call, cast and stop
    accept the via; the key is unregistered when the server stops; a taken key
    raises AlreadyRegistered with the holder."""

    async def main():
        reg = DictRegistry()
        name = via(reg, ("counter", 1))
        pid = await Counter.start_link(10, name=name)
        assert reg.names[("counter", 1)] is pid
        GenServer.cast(name, 5)
        assert await GenServer.call(name, "get") == 15
        with pytest.raises(actors.AlreadyRegistered) as info:
            await Counter.start_link(name=name)
        assert info.value.pid is pid
        await GenServer.stop(name)
        assert ("counter", 1) not in reg.names
        with pytest.raises(NoProcess):
            await GenServer.call(name, "get")
        assert GenServer.cast(name, 1) is None

    run(main)


def test_via_names_with_actors_registry(run):
    """name=via("reg", key) with an actors.Registry: the server is found by key,
    the entry vanishes when the server exits, a taken key raises AlreadyRegistered."""
    registry = pytest.importorskip("actors.registry")
    Registry = registry.Registry

    async def main():
        await Registry.start_link(keys="unique", name="reg")
        name = via("reg", "c")
        pid = await Counter.start_link(1, name=name)
        assert Registry.lookup("reg", "c") == [(pid, None)]
        assert actors.whereis(name) is pid
        GenServer.cast(name, 1)
        assert await GenServer.call(name, "get") == 2
        with pytest.raises(actors.AlreadyRegistered) as info:
            await Counter.start(name=name)
        assert info.value.pid is pid
        await GenServer.stop(name)
        assert Registry.lookup("reg", "c") == []
        pid = await Counter.start(name=name)            # the key is free again
        ref = actors.monitor(pid)
        actors.exit(pid, "kill")
        await expect(Down(ref, ANY, ANY))
        with pytest.raises(NoProcess):
            await GenServer.call(name, "get")
        assert GenServer.cast(via("reg", "nobody"), 1) is None

    run(main)


# -- call ----------------------------------------------------------------------------


def test_call_returns_what_handle_call_returns(run):
    """The return value of handle_call is the reply; None is a valid reply;
    from_ identifies the caller (from_[0] is its pid)."""

    async def main():
        pid = await Counter.start_link(5)
        assert await GenServer.call(pid, ("add", 2)) == 7
        assert await GenServer.call(pid, "unknown") is None
        from_ = await GenServer.call(pid, "from")
        assert from_[0] is actors.self()

    run(main)


def test_requests_are_handled_one_at_a_time_in_the_order_sent(run):
    """Casts and calls from one process are handled in the order they were sent."""

    class Log(GenServer):
        def init(self):
            self.log = []

        def handle_cast(self, request):
            self.log.append(request)

        def handle_call(self, request, from_):
            self.log.append(request)
            return list(self.log)

    async def main():
        pid = await Log.start_link()
        for i in range(100):
            GenServer.cast(pid, i)
        assert await GenServer.call(pid, "end") == [*range(100), "end"]

    run(main)


def test_call_default_timeout_is_five_seconds(run, clock):
    """GenServer.call waits 5 s by default, then raises Timeout (also a TimeoutError)."""

    async def main():
        pid = await Reporter.start_link(actors.self())
        t0 = now()
        with pytest.raises(Timeout):
            await GenServer.call(pid, "hold")
        assert now() - t0 == pytest.approx(5.0)
        t0 = now()
        with pytest.raises(TimeoutError):
            await GenServer.call(pid, "hold", timeout=0.5)
        assert now() - t0 == pytest.approx(0.5)

    run(main, clock=clock)


def test_a_late_reply_never_reaches_the_callers_mailbox(run, clock):
    """After a call timed out, the reply the server sends later is dropped: the
    caller's mailbox never sees it (nor the call's monitor)."""

    class Late(GenServer):
        def init(self):
            self.pending = []

        def handle_call(self, request, from_):
            if request == "hold":
                self.pending.append(from_)
                return NOREPLY
            for pending in self.pending:
                GenServer.reply(pending, "late reply")
            return "released"

    async def main():
        pid = await Late.start_link()
        with pytest.raises(Timeout):
            await GenServer.call(pid, "hold", timeout=1.0)
        assert await GenServer.call(pid, "release") == "released"
        assert actors.flush() == []
        assert Process.info(actors.self(), "monitors") == []

    run(main, clock=clock)


def test_call_with_timeout_none_waits_forever(run, clock):
    """timeout=None waits as long as it takes (OTP's infinity)."""

    class Slow(GenServer):
        async def handle_call(self, request, from_):
            await actors.sleep(3600)
            return "finally"

    async def main():
        pid = await Slow.start_link()
        assert await GenServer.call(pid, "?", timeout=None) == "finally"

    run(main, clock=clock)


def test_calling_a_dead_or_unknown_server_raises_no_process(run):
    """A call to a pid that has exited, or to a name nobody holds, raises NoProcess
    (also a LookupError)."""

    async def main():
        pid = await Counter.start()
        await GenServer.stop(pid)
        with pytest.raises(NoProcess):
            await GenServer.call(pid, "get")
        with pytest.raises(LookupError):
            await GenServer.call("nobody", "get")
        assert Process.info(actors.self(), "monitors") == []

    run(main)


def test_a_server_crashing_during_a_call_raises_call_exit_with_its_reason(run):
    """A server that exits before replying makes the call raise CallExit whose
    .reason is the server's exit reason (the exception of a crash, a Stop reason)."""

    async def main():
        exc = ValueError("boom")
        pid = await Reporter.start(actors.self())
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, ("raise", exc))
        assert info.value.reason is exc
        pid = await Reporter.start(actors.self())
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, ("stop", "normal"))
        assert info.value.reason == "normal"
        pid = await Reporter.start(actors.self())
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, ("stop", ("shutdown", 1)))
        assert info.value.reason == ("shutdown", 1)

    run(main)


def test_a_server_killed_during_a_call_raises_call_exit(run, clock):
    """A server killed by an exit signal while a call waits: CallExit("killed")."""

    async def killer(pid):
        await actors.sleep(1)
        actors.exit(pid, "kill")

    async def main():
        pid = await Reporter.start(actors.self())
        actors.spawn(killer, pid)
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, "hold", timeout=None)
        assert info.value.reason == "killed"

    run(main, clock=clock)


def test_calling_yourself_is_an_error_not_a_deadlock(run, clock):
    """A process that calls itself (by pid or by name), a server included, gets
    CallExit("calling_self") at once instead of waiting for the timeout."""

    class SelfCaller(GenServer):
        async def handle_call(self, request, from_):
            if request == "outer":
                try:
                    await GenServer.call(actors.self(), "inner")
                except CallExit as exc:
                    return ("refused", exc.reason)
            return "inner"

    async def main():
        pid = await SelfCaller.start_link(name="selfish")
        t0 = now()
        assert await GenServer.call(pid, "outer") == ("refused", "calling_self")
        with pytest.raises(CallExit) as info:
            await GenServer.call(actors.self(), "x")
        assert info.value.reason == "calling_self"
        actors.register("me", actors.self())
        with pytest.raises(CallExit):
            await GenServer.call("me", "x")
        assert now() == t0

    run(main, clock=clock)


def test_call_rejects_a_bad_timeout(run):
    """A negative or non-numeric call timeout raises ValueError/TypeError naming it."""

    async def main():
        pid = await Counter.start_link()
        with pytest.raises(ValueError, match="timeout"):
            await GenServer.call(pid, "get", timeout=-1)
        with pytest.raises(TypeError, match="timeout"):
            await GenServer.call(pid, "get", timeout="1")
        assert await GenServer.call(pid, "get") == 0

    run(main)


@pytest.mark.parametrize("fn, args", [("call", ("get",)), ("stop", ()), ("cast", (1,))])
def test_client_functions_name_their_server_argument(run, fn, args):
    """A server reference that is neither a Pid, a name nor a via is a TypeError
    naming the argument: server (not the core's own parameter name)."""

    async def main():
        with pytest.raises(TypeError, match=rf"GenServer\.{fn}: server must be a Pid"):
            result = getattr(GenServer, fn)(42, *args)
            if fn != "cast":
                await result

    run(main)


@pytest.mark.parametrize("msg", [
    ("$gen_call", "not a from", "get"), ("$gen_call", (1, 2), "get"), ("$gen_call", ("pid",), "get"),
    ("$system", "not a from", ("get_state",)), ("$system", None, 42), ("$system", None, ("trace",)),
])
def test_a_forged_call_or_system_message_does_not_crash_the_server(run, msg):
    """A "$gen_call" whose from_ is not a caller's (pid, ref), or a malformed system
    message, has nobody to answer it: the server logs and drops it and lives on."""

    async def main():
        pid = await Counter.start_link(5)
        ref = actors.monitor(pid)
        actors.send(pid, msg)
        assert await GenServer.call(pid, "get") == 5
        await nothing(Down)
        actors.demonitor(ref)

    run(main)


def test_the_default_handle_call_and_handle_cast_crash_the_server(run):
    """A server without handle_call/handle_cast crashes on a call/cast (as in Elixir)."""

    class Mute(GenServer):
        pass

    async def main():
        pid = await Mute.start()
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, "hello")
        assert isinstance(info.value.reason, RuntimeError)
        pid = await Mute.start()
        GenServer.cast(pid, "hello")
        assert isinstance(await wait_down(pid), RuntimeError)

    run(main)


# -- cast ----------------------------------------------------------------------------


def test_cast_returns_at_once_and_never_fails(run):
    """cast returns None without waiting, even to a dead pid, an unregistered name or
    an unheld via key."""

    async def main():
        pid = await Counter.start()
        assert GenServer.cast(pid, 1) is None
        assert await GenServer.call(pid, "get") == 1
        await GenServer.stop(pid)
        assert GenServer.cast(pid, 1) is None
        assert GenServer.cast("nobody", 1) is None
        assert GenServer.cast(via(DictRegistry(), "nobody"), 1) is None

    run(main)


# -- reply / NOREPLY -----------------------------------------------------------------


def test_noreply_then_reply_from_another_process(run):
    """handle_call may return NOREPLY and let any process answer later with
    GenServer.reply(from_, value); meanwhile the server keeps serving."""

    async def worker(from_, value):
        GenServer.reply(from_, value * 2)

    class Delegating(GenServer):
        def handle_call(self, request, from_):
            if request == "ping":
                return "pong"
            actors.spawn(worker, from_, request)
            return NOREPLY

    async def caller(owner, server, n):
        actors.send(owner, ("result", n, await GenServer.call(server, n)))

    async def main():
        pid = await Delegating.start_link()
        for n in range(5):
            actors.spawn(caller, actors.self(), pid, n)
        assert await GenServer.call(pid, "ping") == "pong"
        results = {(await expect(("result", ANY, ANY)))[1:] for _ in range(5)}
        assert results == {(n, n * 2) for n in range(5)}

    run(main)


def test_the_server_can_reply_later_itself(run):
    """A from_ saved by the server can be answered from a later callback; replies
    can go out in any order."""

    class Barrier(GenServer):
        def init(self):
            self.waiting = []

        def handle_call(self, request, from_):
            self.waiting.append((from_, request))
            if len(self.waiting) < 3:
                return NOREPLY
            for waiter, req in reversed(self.waiting):
                GenServer.reply(waiter, ("released", req))
            return NoReply()

    async def caller(owner, server, n):
        actors.send(owner, await GenServer.call(server, n))

    async def main():
        pid = await Barrier.start_link()
        actors.spawn(caller, actors.self(), pid, 1)
        actors.spawn(caller, actors.self(), pid, 2)
        actors.spawn(caller, actors.self(), pid, 3)
        got = {await expect(("released", ANY)) for _ in range(3)}
        assert got == {("released", 1), ("released", 2), ("released", 3)}

    run(main)


def test_reply_rejects_something_that_is_not_a_from(run):
    """GenServer.reply with a malformed from_ raises TypeError naming from_."""

    async def main():
        with pytest.raises(TypeError, match="from_"):
            GenServer.reply("not a from", 1)
        with pytest.raises(TypeError, match="from_"):
            GenServer.reply((1, 2), 1)

    run(main)


def test_reply_and_noreply_carry_an_action(run):
    """Reply(value, action) replies, then performs the action; NoReply(action)
    performs it without replying (Elixir's {:reply, r, s, {:continue, x}})."""

    class Actions(Reporter):
        def handle_call(self, request, from_):
            if request == "reply":
                return Reply("replied", Continue("after reply"))
            return Reply(("plain", request))

        def handle_continue(self, arg):
            self.tell("continue", arg)

    async def main():
        pid = await Actions.start_link(actors.self())
        assert await GenServer.call(pid, "x") == ("plain", "x")
        assert await GenServer.call(pid, "reply") == "replied"
        assert await expect(("continue", ANY)) == ("continue", "after reply")

    run(main)


def test_noreply_with_continue_answers_from_handle_continue(run):
    """NoReply(Continue(arg)): the caller is answered later, here by handle_continue."""

    class Later(GenServer):
        def handle_call(self, request, from_):
            self.pending = from_
            return NoReply(Continue(request))

        def handle_continue(self, arg):
            GenServer.reply(self.pending, ("continued", arg))

    async def main():
        pid = await Later.start_link()
        assert await GenServer.call(pid, 7) == ("continued", 7)

    run(main)


# -- Stop ----------------------------------------------------------------------------


def test_stop_with_reply_answers_the_caller_then_exits(run):
    """raise Stop(reason, reply=v) in handle_call: the caller gets v (not CallExit),
    terminate(reason) runs and the server exits with reason."""

    async def main():
        pid = await Reporter.start(actors.self(), name="stopper")
        ref = actors.monitor(pid)
        assert await GenServer.call(pid, ("stop_reply", "normal", "bye")) == "bye"
        assert await expect(("terminate", ANY)) == ("terminate", "normal")
        assert (await expect(Down(ref, ANY, ANY))).reason == "normal"
        assert actors.whereis("stopper") is None
        pid = await Reporter.start(actors.self())
        ref = actors.monitor(pid)
        assert await GenServer.call(pid, ("stop_reply", "fatal", None)) is None
        assert (await expect(Down(ref, ANY, ANY))).reason == "fatal"

    run(main)


def test_terminate_has_run_when_a_stop_reply_arrives(run, clock):
    """As in OTP (gen_server calls terminate, then sends the {stop, R, Reply, S}
    reply): once the caller has the reply, terminate has finished, even an async
    terminate that awaits."""

    class SlowTerminate(Reporter):
        async def terminate(self, reason):
            await actors.sleep(1)
            self.tell("terminate", reason)

    async def main():
        pid = await SlowTerminate.start(actors.self())
        assert await GenServer.call(pid, ("stop_reply", "normal", "bye")) == "bye"
        assert await actors.receive(timeout=0, default=None) == ("terminate", "normal")

    run(main, clock=clock)


@pytest.mark.parametrize("where", ["cast", "info", "continue"])
@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "done"), "failed"])
def test_stop_from_any_callback_terminates_with_the_reason(run, where, reason):
    """raise Stop(reason) in handle_cast/handle_info/handle_continue: terminate(reason)
    runs and the server exits with that reason."""

    async def main():
        me = actors.self()
        Process.flag("trap_exit", True)
        if where == "continue":
            pid = await Reporter.start_link(me, Continue(("stop", reason)))
        else:
            pid = await Reporter.start_link(me)
        if where == "cast":
            GenServer.cast(pid, ("stop", reason))
        elif where == "info":
            actors.send(pid, ("stop", reason))
        assert await expect(("terminate", ANY)) == ("terminate", reason)
        assert await exit_reason(pid) == reason

    run(main)


def test_a_server_stopping_normally_does_not_kill_its_linked_starter(run):
    """Stop("normal") is a normal exit: a linked, non-trapping starter keeps running;
    an abnormal Stop reaches a trapping starter as Exit(server, reason)."""

    async def main():
        pid = await Reporter.start_link(actors.self())
        GenServer.cast(pid, ("stop", "normal"))
        await expect(("terminate", "normal"))
        Process.flag("trap_exit", True)
        pid = await Reporter.start_link(actors.self())
        GenServer.cast(pid, ("stop", "failed"))
        assert await expect(Exit) == Exit(pid, "failed")
        return "starter alive"

    assert run(main) == "starter alive"


# -- handle_info ---------------------------------------------------------------------


def test_other_messages_go_to_handle_info(run):
    """Anything that is not a call or a cast (plain sends, Down messages, timers)
    arrives in handle_info."""

    async def main():
        pid = await Reporter.start_link(actors.self())
        actors.send(pid, "plain")
        actors.send(pid, ("$gen_cast",))           # looks like a cast but is not one
        assert await expect(("info", ANY)) == ("info", "plain")
        assert await expect(("info", ANY)) == ("info", ("$gen_cast",))
        actors.send_after(pid, "timer", 0)
        assert await expect(("info", ANY)) == ("info", "timer")

    run(main)


def test_the_default_handle_info_logs_and_drops_unexpected_messages(run, caplog):
    """A server without handle_info survives stray messages (they are logged)."""

    async def main():
        pid = await Counter.start_link(1)
        actors.send(pid, "stray message")
        assert await GenServer.call(pid, "get") == 1

    with caplog.at_level(logging.WARNING, logger="actors"):
        run(main)
    assert "stray message" in caplog.text


def test_a_trapping_server_gets_exits_of_other_links_in_handle_info(run):
    """A server that traps exits receives Exit(pid, reason) from linked processes
    other than its parent in handle_info, and keeps running."""

    class Trapper(Reporter):
        def init(self, owner):
            self.owner = owner
            Process.flag("trap_exit", True)

    async def linked_then_dies(server):
        actors.link(server)
        raise ProcessExit("oops")

    async def main():
        pid = await Trapper.start_link(actors.self())
        other = actors.spawn(linked_then_dies, pid)
        assert await expect(("info", ANY)) == ("info", Exit(other, "oops"))
        assert await GenServer.call(pid, "alive?") == ("ok", "alive?")

    run(main)


# -- terminate -----------------------------------------------------------------------


def test_terminate_runs_when_a_callback_raises(run):
    """A callback that raises stops the server: terminate gets the exception, and
    the exception is the exit reason."""

    async def main():
        Process.flag("trap_exit", True)
        for where in ("call", "cast", "info", "continue"):
            exc = KeyError(where)
            me = actors.self()
            pid = await Reporter.start_link(me, Continue(("raise", exc)) if where == "continue" else None)
            if where == "call":
                with pytest.raises(CallExit):
                    await GenServer.call(pid, ("raise", exc))
            elif where == "cast":
                GenServer.cast(pid, ("raise", exc))
            elif where == "info":
                actors.send(pid, ("raise", exc))
            terminate = await expect(("terminate", ANY))
            assert terminate[1] is exc
            assert await exit_reason(pid) is exc

    run(main)


class Trapping(Reporter):
    """A Reporter that traps exits."""

    def init(self, owner):
        self.owner = owner
        Process.flag("trap_exit", True)


async def parent_of(owner, server_class):
    """Start a server linked to this process, hand it to owner, exit when told."""
    pid = await server_class.start_link(owner)
    actors.send(owner, ("server", pid))
    match await actors.receive():
        case ("signal", reason):
            actors.exit(pid, reason)                  # a supervisor's shutdown
            await actors.receive("never")
        case reason:
            raise ProcessExit(reason)


@pytest.mark.actors
@pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", "x"), "crashed"])
async def test_terminate_runs_when_the_parent_exits_and_the_server_traps_exits(reason, mock_clock):
    """A trapping server whose parent (the start_link caller) exits runs
    terminate(reason) and exits with the same reason, whatever the reason."""
    parent = actors.spawn(parent_of, actors.self(), Trapping)
    _, pid = await assert_receive(("server", ANY))
    ref = actors.monitor(pid)
    actors.send(parent, reason)
    assert await assert_receive(("terminate", ANY)) == ("terminate", reason)
    assert (await assert_receive(Down(ref, ANY, ANY))).reason == reason
    refute_received(("info", ANY))                    # not handled as a message


@pytest.mark.actors
async def test_terminate_runs_on_the_parents_shutdown_signal(mock_clock):
    """A supervisor-style exit(server, "shutdown") from the parent reaches a trapping
    server's terminate("shutdown"), not handle_info."""
    parent = actors.spawn(parent_of, actors.self(), Trapping)
    _, pid = await assert_receive(("server", ANY))
    ref = actors.monitor(pid)
    actors.send(parent, ("signal", "shutdown"))
    assert await assert_receive(("terminate", ANY)) == ("terminate", "shutdown")
    assert (await assert_receive(Down(ref, ANY, ANY))).reason == "shutdown"
    refute_received(("info", ANY))


@pytest.mark.actors
async def test_terminate_is_not_called_when_killed_by_a_signal_it_does_not_trap(mock_clock):
    """As in OTP: a non-trapping server killed by an exit signal, and any server
    killed with "kill", exits without running terminate."""
    me = actors.self()
    for cls, signal, reason in ((Reporter, "shutdown", "shutdown"), (Trapping, "kill", "killed")):
        pid = await cls.start(me)
        ref = actors.monitor(pid)
        actors.exit(pid, signal)
        assert (await assert_receive(Down(ref, ANY, ANY))).reason == reason
    parent = actors.spawn(parent_of, me, Reporter)   # parent dies, no trapping
    _, pid = await assert_receive(("server", ANY))
    actors.send(parent, "crashed")
    assert await wait_down(pid) == "crashed"
    refute_received(("terminate", ANY))


def test_a_terminate_that_raises_makes_the_server_exit_with_that_error(run):
    """As in OTP (gen_server re-raises a crash in terminate/2): when terminate raises,
    the server exits with terminate's exception, not the original reason."""

    class BadTerminate(GenServer):
        def init(self, exc):
            self.exc = exc

        def handle_cast(self, request):
            raise Stop("normal")

        def terminate(self, reason):
            raise self.exc

    async def main():
        exc = RuntimeError("terminate failed")
        pid = await BadTerminate.start(exc)
        GenServer.cast(pid, "stop")
        assert await wait_down(pid) is exc

    run(main)


def test_a_terminate_that_raises_still_frees_the_name(run):
    """Whatever terminate does, the server's name is released when it exits."""

    class BadTerminate(GenServer):
        def handle_cast(self, request):
            raise Stop("normal")

        def terminate(self, reason):
            raise RuntimeError("terminate failed")

    async def main():
        pid = await BadTerminate.start(name="bad_terminate")
        GenServer.cast(pid, "stop")
        await wait_down(pid)
        assert actors.whereis("bad_terminate") is None

    run(main)


def test_a_crash_report_names_the_servers_registered_name(run, caplog):
    """The crash report (logger "actors", as OTP's error logger) of a named server
    gives its registered name: the name is released when the process has exited,
    not before the report is written."""

    class Crashy(GenServer):
        def handle_cast(self, request):
            raise KeyError("crash-report-test")

    async def main():
        pid = await Crashy.start(name="crashy_server")
        GenServer.cast(pid, "crash")
        assert isinstance(await wait_down(pid), KeyError)
        assert actors.whereis("crashy_server") is None

    with caplog.at_level(logging.ERROR, logger="actors"):
        run(main)
    reports = [r.getMessage() for r in caplog.records if "crash-report-test" in r.getMessage()]
    assert reports and "registered name: crashy_server" in reports[0], reports


# -- GenServer.stop ------------------------------------------------------------------


def test_stop_runs_terminate_with_the_reason_and_waits_for_the_exit(run):
    """GenServer.stop(server, reason) makes the server run terminate(reason) and
    returns once it has exited with that reason (default "normal")."""

    async def main():
        for reason in ("normal", ("shutdown", 1), "custom"):
            pid = await Reporter.start(actors.self(), name="to_stop")
            ref = actors.monitor(pid)
            if reason == "normal":
                assert await GenServer.stop("to_stop") is None
            else:
                assert await GenServer.stop(pid, reason) is None
            assert not Process.alive(pid)
            assert actors.whereis("to_stop") is None
            assert await actors.receive(timeout=0) == ("terminate", reason)
            assert (await actors.receive(timeout=0)) == Down(ref, pid, reason)

    run(main)


def test_stop_of_a_dead_or_unknown_server_raises_no_process(run):
    """GenServer.stop of a pid that has exited or an unregistered name raises NoProcess."""

    async def main():
        pid = await Counter.start()
        await GenServer.stop(pid)
        with pytest.raises(NoProcess):
            await GenServer.stop(pid)
        with pytest.raises(NoProcess):
            await GenServer.stop("nobody")
        with pytest.raises(NoProcess):
            await GenServer.stop(via(DictRegistry(), "nobody"))

    run(main)


def test_stop_with_a_timeout(run, clock):
    """GenServer.stop(timeout=s) raises Timeout if the server has not exited after s
    seconds; by default it waits as long as terminate takes."""

    class SlowTerminate(GenServer):
        async def terminate(self, reason):
            await actors.sleep(60)

    async def main():
        pid = await SlowTerminate.start()
        t0 = now()
        with pytest.raises(Timeout):
            await GenServer.stop(pid, timeout=1.0)
        assert now() - t0 == pytest.approx(1.0)
        assert Process.info(actors.self(), "monitors") == []
        pid = await SlowTerminate.start()
        t0 = now()
        await GenServer.stop(pid)
        assert now() - t0 == pytest.approx(60)
        assert not Process.alive(pid)
        with pytest.raises(ValueError, match="timeout"):
            await GenServer.stop(pid, timeout=-1)

    run(main, clock=clock)


def test_stop_raises_call_exit_when_the_server_exits_with_another_reason(run):
    """As Elixir's GenServer.stop ("returns :ok if the server terminates with the
    given reason; if it terminates with another reason, the call exits"): a server
    that exits with a reason other than the one asked for makes stop raise
    CallExit with the actual reason."""

    class Stubborn(GenServer):
        def terminate(self, reason):
            raise ProcessExit("changed its mind")

    async def main():
        pid = await Stubborn.start()
        with pytest.raises(CallExit) as info:
            await GenServer.stop(pid, "normal")
        assert info.value.reason == "changed its mind"
        assert not Process.alive(pid)

    run(main)


def test_a_server_cannot_stop_itself_with_gen_server_stop(run):
    """GenServer.stop on itself raises CallExit("calling_self") instead of deadlocking
    (a server stops itself by raising Stop)."""

    class SelfStopper(GenServer):
        async def handle_call(self, request, from_):
            try:
                await GenServer.stop(actors.self())
            except CallExit as exc:
                return exc.reason

    async def main():
        pid = await SelfStopper.start_link()
        assert await GenServer.call(pid, "stop yourself") == "calling_self"

    run(main)


# -- handle_continue -----------------------------------------------------------------


def test_continue_from_init_runs_before_messages_that_arrived_during_init(run, clock):
    """Continue(arg) from init runs handle_continue(arg) before any message already
    in the mailbox, including ones sent while init was running."""

    async def sender(server):
        actors.send(server, "sent during init")

    class Busy(Reporter):
        async def init(self, owner):
            self.owner = owner
            actors.send(actors.self(), "sent to self")
            actors.spawn(sender, actors.self())
            await actors.sleep(1)
            return Continue("setup")

        async def handle_continue(self, arg):
            await actors.sleep(1)
            self.tell("continue", arg)

    async def main():
        pid = await Busy.start_link(actors.self())
        GenServer.cast(pid, "cast after start")
        events = [await expect(ANY) for _ in range(4)]
        assert events == [
            ("continue", "setup"), ("info", "sent to self"), ("info", "sent during init"),
            ("cast", "cast after start"),
        ]

    run(main, clock=clock)


def test_continue_from_a_callback_runs_before_the_next_message(run):
    """Continue returned by handle_cast runs before the next queued cast; a
    handle_continue may return Continue again (chained)."""

    class Chain(Reporter):
        def handle_cast(self, request):
            self.tell("cast", request)
            if request == 1:
                return Continue(3)

        def handle_continue(self, arg):
            self.tell("continue", arg)
            if arg > 1:
                return Continue(arg - 1)

    async def main():
        pid = await Chain.start_link(actors.self())
        GenServer.cast(pid, 1)
        GenServer.cast(pid, 2)
        events = [await expect(ANY) for _ in range(5)]
        assert events == [("cast", 1), ("continue", 3), ("continue", 2), ("continue", 1), ("cast", 2)]

    run(main)


def test_continue_without_handle_continue_crashes_the_server(run):
    """Returning Continue from a server that defines no handle_continue crashes it."""

    class NoContinue(GenServer):
        def init(self):
            return Continue("x")

    async def main():
        Process.flag("trap_exit", True)
        pid = await NoContinue.start_link()
        assert isinstance(await exit_reason(pid), RuntimeError)

    run(main)


# -- idle timeouts -------------------------------------------------------------------


class Idler(Reporter):
    """Reports IDLE_TIMEOUT with the time it fired; re-arms with ``rearm`` seconds."""

    def init(self, owner, action=None, rearm=None):
        self.owner = owner
        self.rearm = rearm
        return action

    def handle_info(self, msg):
        if msg is IDLE_TIMEOUT:
            self.tell("idle", now())
            return IdleTimeout(self.rearm) if self.rearm is not None else None
        self.tell("info", msg)

    def handle_call(self, request, from_):
        if type(request) is tuple and request[0] == "idle_reply":
            return Reply("ok", IdleTimeout(request[1]))
        return super().handle_call(request, from_)

    def handle_cast(self, request):
        self.tell("cast", request)
        if type(request) is tuple and request[0] == "idle":
            return IdleTimeout(request[1])


# On the mock clock, time jumps to the next timer when every process waits: an
# assertion that waits for an idle timeout of s seconds needs a timeout longer
# than s (30 s here), or its own timer would fire first.

@pytest.mark.actors
async def test_idle_timeout_from_init_fires_after_the_given_seconds(mock_clock):
    """IdleTimeout(s) from init: with no message for s seconds, handle_info receives
    IDLE_TIMEOUT; it fires once (it is not re-armed by itself)."""
    t0 = mock_clock()
    await Idler.start_link(actors.self(), IdleTimeout(2.5))
    _, at = await assert_receive(("idle", ANY), timeout=30)
    assert at - t0 == pytest.approx(2.5)
    await refute_receive(("idle", ANY), timeout=100)


@pytest.mark.actors
async def test_idle_timeout_can_be_rearmed_from_handle_info(mock_clock):
    """Returning IdleTimeout from handle_info(IDLE_TIMEOUT) makes a periodic tick."""
    t0 = mock_clock()
    await Idler.start_link(actors.self(), IdleTimeout(1), rearm=1)
    ticks = [(await assert_receive(("idle", ANY), timeout=30))[1] - t0 for _ in range(3)]
    assert ticks == pytest.approx([1, 2, 3])


@pytest.mark.actors
async def test_any_message_cancels_the_idle_timeout(mock_clock):
    """A message (call, cast or plain) arriving before the idle timeout cancels it."""
    for message in ("cast", "call", "info"):
        pid = await Idler.start_link(actors.self(), IdleTimeout(5))
        if message == "cast":
            GenServer.cast(pid, "hello")
        elif message == "call":
            await GenServer.call(pid, "hello")
        else:
            actors.send(pid, "hello")
        await refute_receive(("idle", ANY), timeout=60)
        await GenServer.stop(pid)
        actors.flush()


@pytest.mark.actors
async def test_a_message_arriving_later_still_cancels_the_idle_timeout(mock_clock):
    """The idle timer counts from the callback's return: a message at 4 s of a 5 s
    idle timeout cancels it; a new IdleTimeout counts again from that message."""
    pid = await Idler.start_link(actors.self(), IdleTimeout(5))
    await actors.sleep(4)
    t1 = mock_clock()
    GenServer.cast(pid, ("idle", 3))
    _, at = await assert_receive(("idle", ANY), timeout=30)
    assert at - t1 == pytest.approx(3)


@pytest.mark.actors
async def test_an_idle_timeout_never_fires_when_a_message_is_waiting(mock_clock):
    """IdleTimeout(0) with a message already queued: the message is handled, the
    timeout never fires; with an empty mailbox IdleTimeout(0) fires at once."""
    pid = await Idler.start_link(actors.self())
    GenServer.cast(pid, ("idle", 0))
    GenServer.cast(pid, "queued")
    assert await assert_receive(ANY) == ("cast", ("idle", 0))
    assert await assert_receive(ANY) == ("cast", "queued")
    await refute_receive(ANY, timeout=60)
    t0 = mock_clock()
    GenServer.cast(pid, ("idle", 0))
    assert await assert_receive(ANY) == ("cast", ("idle", 0))
    _, at = await assert_receive(("idle", ANY))
    assert at == pytest.approx(t0)


@pytest.mark.actors
async def test_idle_timeout_after_a_reply(mock_clock):
    """Reply(value, IdleTimeout(s)): the caller gets value, then the timeout runs."""
    pid = await Idler.start_link(actors.self())
    t0 = mock_clock()
    assert await GenServer.call(pid, ("idle_reply", 2)) == "ok"
    _, at = await assert_receive(("idle", ANY), timeout=30)
    assert at - t0 == pytest.approx(2)


def test_idle_timeout_rejects_bad_seconds():
    """IdleTimeout(seconds) needs a number >= 0: TypeError/ValueError naming seconds."""
    with pytest.raises(ValueError, match="seconds"):
        IdleTimeout(-1)
    with pytest.raises(ValueError, match="seconds"):
        IdleTimeout(float("nan"))
    with pytest.raises(TypeError, match="seconds"):
        IdleTimeout("1")
    with pytest.raises(TypeError, match="seconds"):
        IdleTimeout(None)
    with pytest.raises(TypeError, match="seconds"):
        IdleTimeout(True)
    assert IdleTimeout(0).seconds == 0
    assert repr(IdleTimeout(1.5)) == "IdleTimeout(1.5)"


# -- hibernation ---------------------------------------------------------------------


def test_a_hibernating_server_keeps_its_state_and_answers(run):
    """HIBERNATE from init, a cast, a Reply or NoReply: the server parks and still
    answers the next message with its state intact."""

    class Sleeper(GenServer):
        def init(self):
            self.n = 0
            return HIBERNATE

        def handle_cast(self, request):
            self.n += request
            return HIBERNATE

        def handle_call(self, request, from_):
            if request == "noreply":
                GenServer.reply(from_, self.n)
                return NoReply(HIBERNATE)
            return Reply(self.n, HIBERNATE)

    async def main():
        pid = await Sleeper.start_link()
        assert await GenServer.call(pid, "get") == 0
        GenServer.cast(pid, 5)
        assert await GenServer.call(pid, "get") == 5
        assert await GenServer.call(pid, "noreply") == 5
        assert Process.info(pid, "status") == "waiting"
        assert await GenServer.call(pid, "get") == 5

    run(main)


# -- code_change / vsn ---------------------------------------------------------------


def test_code_change_and_vsn(run):
    """vsn names the code's version (None by default); code_change(old_vsn, extra)
    exists on every server (default: nothing to migrate) and can be overridden."""

    class V1(Counter):
        pass

    class V2(Counter):
        vsn = 2

        def code_change(self, old_vsn, extra):
            if old_vsn is None:
                self.n = {"count": self.n, **extra}

    assert GenServer.vsn is None and V1.vsn is None and V2.vsn == 2

    async def main():
        server = V1.__new__(V1)
        server.init(3)
        assert server.code_change(None, {}) is None
        assert server.n == 3
        upgraded = V2.__new__(V2)
        upgraded.init(3)
        upgraded.code_change(V1.vsn, {"unit": "apples"})
        assert upgraded.n == {"count": 3, "unit": "apples"}

    run(main)


# -- bad return values ---------------------------------------------------------------


@pytest.mark.parametrize("value", [42, "noreply", True, (None,), IdleTimeout])
@pytest.mark.parametrize("where", ["cast", "info", "continue"])
def test_a_bad_return_value_stops_the_server(run, where, value):
    """handle_cast/handle_info/handle_continue returning anything but None or an
    action stops the server: terminate and the exit reason get
    ("bad_return_value", value)."""

    async def main():
        me = actors.self()
        Process.flag("trap_exit", True)
        if where == "continue":
            pid = await Reporter.start_link(me, Continue(("return", value)))
        else:
            pid = await Reporter.start_link(me)
        if where == "cast":
            GenServer.cast(pid, ("return", value))
        elif where == "info":
            actors.send(pid, ("return", value))
        expected = ("bad_return_value", value)
        assert await expect(("terminate", ANY)) == ("terminate", expected)
        assert await exit_reason(pid) == expected

    run(main)


def test_a_bad_action_in_a_call_result_stops_the_server(run):
    """Reply(value, bad) replies and then stops the server with a bad_return_value
    reason; NoReply(bad) stops it and the caller gets CallExit with that reason."""

    async def main():
        me = actors.self()
        pid = await Reporter.start(me)
        ref = actors.monitor(pid)
        assert await GenServer.call(pid, ("return", Reply("answer", 42))) == "answer"
        reason = (await expect(Down(ref, ANY, ANY))).reason
        assert reason[0] == "bad_return_value"
        pid = await Reporter.start(me)
        with pytest.raises(CallExit) as info:
            await GenServer.call(pid, ("return", NoReply(42)))
        assert info.value.reason[0] == "bad_return_value"

    run(main)


# -- async callbacks -----------------------------------------------------------------


def test_async_callbacks(run, clock):
    """Every callback may be an async def that awaits actors' and asyncio's awaitables."""

    class Async(GenServer):
        async def init(self, owner):
            self.owner = owner
            await actors.sleep(1)
            await asyncio.sleep(0)
            self.log = ["init"]
            return Continue("c")

        async def handle_continue(self, arg):
            await actors.sleep(1)
            self.log.append(("continue", arg))

        async def handle_call(self, request, from_):
            await actors.sleep(1)
            return list(self.log)

        async def handle_cast(self, request):
            await actors.sleep(1)
            self.log.append(("cast", request))

        async def handle_info(self, msg):
            await asyncio.sleep(0)
            self.log.append(("info", msg))

        async def terminate(self, reason):
            await actors.sleep(1)
            actors.send(self.owner, ("terminate", reason))

    async def main():
        pid = await Async.start_link(actors.self())
        GenServer.cast(pid, "a")
        actors.send(pid, "b")
        assert await GenServer.call(pid, "log") == ["init", ("continue", "c"), ("cast", "a"), ("info", "b")]
        await GenServer.stop(pid, "normal")
        assert await actors.receive(timeout=0) == ("terminate", "normal")

    run(main, clock=clock)


def test_an_awaiting_callback_holds_back_other_messages(run, clock):
    """While an async callback awaits, the server handles no other message."""

    class OneAtATime(GenServer):
        def init(self):
            self.busy = 0
            self.most = 0

        async def handle_call(self, request, from_):
            if request == "most":
                return self.most
            self.busy += 1
            self.most = max(self.most, self.busy)
            await actors.sleep(1)
            self.busy -= 1
            return request

    async def caller(owner, server, n):
        actors.send(owner, ("done", await GenServer.call(server, n)))

    async def main():
        pid = await OneAtATime.start_link()
        t0 = now()
        for n in range(3):
            actors.spawn(caller, actors.self(), pid, n)
        done = [await expect(("done", ANY)) for _ in range(3)]
        assert sorted(done) == [("done", 0), ("done", 1), ("done", 2)]
        assert now() - t0 == pytest.approx(3)
        assert await GenServer.call(pid, "most") == 1

    run(main, clock=clock)


def test_an_async_callback_that_raises_crashes_the_server(run):
    """An exception from an awaited callback stops the server like a sync one."""

    class AsyncCrash(GenServer):
        async def handle_cast(self, request):
            raise request

    async def main():
        exc = ArithmeticError("async crash")
        pid = await AsyncCrash.start()
        GenServer.cast(pid, exc)
        assert await wait_down(pid) is exc

    run(main)


# -- child_spec ----------------------------------------------------------------------


def test_child_spec_passes_its_arguments_to_start_link_and_uses_the_class_as_id():
    """Counter.child_spec(5, name="x") calls Counter.start_link(5, name="x"); the id is
    Counter; a permanent worker with the 5 s shutdown."""
    spec = Counter.child_spec(5, name="x")
    assert isinstance(spec, ChildSpec)
    assert spec.id is Counter
    assert spec.start == (Counter.start_link, (5,), {"name": "x"})
    assert (spec.restart, spec.shutdown, spec.type) == ("permanent", 5.0, "worker")
    assert Counter.child_spec().start == (Counter.start_link, (), {})


def test_a_class_or_class_arg_tuple_is_a_child_spec():
    """child_spec(Counter) means Counter.child_spec(); (Counter, arg) means
    Counter.child_spec(arg); overrides apply on top."""
    assert child_spec(Counter) == Counter.child_spec()
    assert child_spec((Counter, 5)) == Counter.child_spec(5)
    spec = child_spec((Counter, 5), id="c5", restart="transient")
    assert (spec.id, spec.restart, spec.start) == ("c5", "transient", (Counter.start_link, (5,), {}))


def test_an_overridden_child_spec_is_used():
    """A class overriding child_spec changes what child_spec(cls) gives."""

    class Temp(Counter):
        @classmethod
        def child_spec(cls, *args, **kwargs):
            return super().child_spec(*args, **kwargs).replace(restart="temporary", shutdown=1.0)

    spec = child_spec((Temp, 1))
    assert (spec.id, spec.restart, spec.shutdown) == (Temp, "temporary", 1.0)


def test_a_child_spec_starts_the_server_linked_to_its_caller(run):
    """Running a GenServer's spec starts it with the spec's arguments, linked to the
    caller (as a supervisor needs)."""

    async def main():
        pid = await Counter.child_spec(5, name="from_spec").start_child()
        assert actors.whereis("from_spec") is pid
        assert pid in Process.info(actors.self(), "links")
        fn, args, kwargs = child_spec((Counter, 7)).start
        pid7 = await fn(*args, **kwargs)
        assert await GenServer.call(pid7, "get") == 7
        assert await GenServer.call("from_spec", "get") == 5

    run(main)


# -- from plain asyncio code ---------------------------------------------------------


def test_gen_server_from_plain_asyncio_code(aio_run):
    """Outside any process, inside an actors.Runtime: start, call, cast, stop and
    rt.call work, and report errors the same way."""

    async def app():
        async with actors.Runtime(clock=actors.MockClock(autojump=True)) as rt:
            pid = await Counter.start(5, name="outside")
            assert isinstance(pid, actors.Pid)
            assert await GenServer.call("outside", "get") == 5
            assert GenServer.cast(pid, 2) is None
            assert await rt.call(pid, "get") == 7
            assert await GenServer.call(pid, ("add", 1), timeout=1.0) == 8
            await GenServer.stop("outside")
            assert not Process.alive(pid)
            with pytest.raises(NoProcess):
                await GenServer.call(pid, "get")
            with pytest.raises(NoProcess):
                await GenServer.stop(pid)
            assert GenServer.cast(pid, 1) is None
            with pytest.raises(StartError) as info:
                await Failing.start(KeyError("outside"))
            assert isinstance(info.value.reason, KeyError)

            class Ignored(GenServer):
                def init(self):
                    raise Ignore()

            assert await Ignored.start() is None
            holder = await Reporter.start(None)
            with pytest.raises(Timeout):
                await GenServer.call(holder, "hold", timeout=1.0)
            with pytest.raises(CallExit):
                await GenServer.call(holder, ("stop", "gone"))
        return "ok"

    assert aio_run(app) == "ok"


def test_start_link_from_plain_asyncio_code_is_refused(aio_run):
    """start_link links to its caller, so outside a process it raises RuntimeError
    pointing to start()."""

    async def app():
        async with actors.Runtime():
            with pytest.raises(RuntimeError, match=r"start\(\)"):
                await Counter.start_link()
        return "ok"

    assert aio_run(app) == "ok"


# -- public names --------------------------------------------------------------------


def test_the_gen_server_names_are_exported_from_actors():
    """GenServer and its return values/actions are public names of actors."""
    from actors import gen_server

    for name in ("GenServer", "NOREPLY", "NoReply", "Reply", "Stop", "Ignore", "Continue",
                 "IdleTimeout", "IDLE_TIMEOUT", "HIBERNATE"):
        assert getattr(actors, name) is getattr(gen_server, name)
    assert isinstance(NOREPLY, NoReply)
    assert repr(NOREPLY) == "NOREPLY"
    assert repr(IDLE_TIMEOUT) == "IDLE_TIMEOUT" and repr(HIBERNATE) == "HIBERNATE"
    stop = Stop("why", reply=1)
    assert (stop.reason, stop.reply) == ("why", 1)
    assert Stop().reason == "normal"


def test_a_servers_initial_call_names_its_class(run):
    """Process.info(pid, "initial_call") of a GenServer names its class's init
    (OTP's $initial_call), not the library's server loop."""

    class Named(actors.GenServer):
        def init(self):
            pass

    async def main():
        pid = await Named.start_link()
        assert actors.Process.info(pid, "initial_call") == f"{__name__}.{Named.__qualname__}.init"

    run(main)
