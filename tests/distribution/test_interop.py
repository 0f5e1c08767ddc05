"""Python and BEAM processes are pids to each other (issue 11, docs/api.md section 8).

Every rule here is checked against a real ``erl`` node (OTP 25): messages both
ways, names on either node, calls both ways on OTP's wire format, links,
monitors and exit signals with the BEAM's reasons, ``noproc`` for a name
nobody holds, ``noconnection`` when a connection is lost, and remote spawn
allowed and refused.  Each test runs on every loop of ``--actors-loop``.
"""
from __future__ import annotations

import re
import sys
import time
import types

import pytest

import actors
from actors import ANY, Atom, Down, Exit, GenServer, ImproperList, Node

from conftest import python_node, unique_name
from erlnode import ErlNode

pytestmark = pytest.mark.actors


def q(node: str) -> str:
    """An Erlang atom literal for a node name."""
    return f"'{node}'"


async def erl_pid(erl: ErlNode, me: str, expr: str) -> actors.Pid:
    """Evaluate ``expr`` (a pid) on erl and have it sent here: the Pid."""
    actors.register("inbox")
    try:
        await erl.aeval(f"{{inbox, {q(me)}}} ! {{erl_pid, {expr}}}")
        _, pid = await actors.receive(("erl_pid", ANY), timeout=10)
    finally:
        actors.unregister("inbox")
    return pid


ECHO = "spawn(fun L() -> receive {From, M} -> From ! {echoed, M}, L(); stop -> ok end end)"
TRAPPER = ("spawn(fun() -> process_flag(trap_exit, true), (fun L() -> receive "
           "{link, P} -> link(P), L(); {unlink, P} -> unlink(P), L(); "
           "M -> io:format(\"got ~0tp~n\", [M]), L() end end)() end)")


# -- nodes ------------------------------------------------------------------------------------

async def test_python_and_beam_ping_each_other(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        assert actors.Node.alive() and actors.Node.self() == me
        assert await actors.Node.ping(erl.name) == "pong"
        assert erl.name in actors.Node.list()
        assert await erl.aeval(f"net_adm:ping({q(me)})") == "pong"
    assert actors.Node.self() == "nonode@nohost" and not actors.Node.alive()


async def test_a_wrong_cookie_is_refused_both_ways(epmd, cookie, erl):
    async with python_node(epmd, "not-" + cookie) as me:
        assert await actors.Node.ping(erl.name) == "pang"
        assert await erl.aeval(f"net_adm:ping({q(me)})") == "pang"
        assert actors.Node.list() == []


async def test_node_monitor_sees_the_beam_node_go(epmd, cookie):
    erl = ErlNode(unique_name("erl"), cookie=cookie, epmd=epmd)
    try:
        async with python_node(epmd, cookie):
            assert await actors.Node.connect(erl.name)
            actors.Node.monitor(erl.name)
            erl.kill()
            assert await actors.receive(timeout=10) == actors.NodeDown(erl.name)
            assert erl.name not in actors.Node.list()
    finally:
        erl.stop()


async def test_node_monitor_of_an_unreachable_node_fires_at_once(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Node.monitor("nobody@127.0.0.1")
        assert await actors.receive(timeout=10) == actors.NodeDown("nobody@127.0.0.1")


# -- messages -----------------------------------------------------------------------------

TERMS = [
    0, -1, 255, 256, 2 ** 31, -(2 ** 31) - 1, 2 ** 64 + 7, -(10 ** 40), 1.5, -0.0, True, False,
    None, "text", "ünïcødé ✓", "", b"\xff\x00binary", Atom("ok"), Atom("with space"), (),
    (1, "two", Atom("three")), [], [1, [2, [3]]], ImproperList([1, 2], 3), {"a": 1, 2: [3]},
    {Atom("k"): {"nested": (1,)}},
]


async def test_every_term_type_round_trips_through_a_beam_process(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        echo = await erl_pid(erl, me, ECHO)
        assert echo.node == erl.name and echo != actors.self()
        assert re.fullmatch(r"<[1-9]\d*\.\d+\.\d+>", repr(echo))
        for term in TERMS:
            actors.send(echo, (actors.self(), term))
            _, back = await actors.receive(("echoed", ANY), timeout=10)
            assert back == term and type(back) is type(term), term
        # pids and refs come back as the same objects
        ref = actors.make_ref()
        actors.send(echo, (actors.self(), (actors.self(), ref, echo)))
        _, (me_back, ref_back, echo_back) = await actors.receive(("echoed", ANY), timeout=10)
        assert me_back is actors.self() and ref_back is ref and echo_back is echo


async def test_send_to_a_name_on_the_beam_and_back(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        await erl.aeval(f"register(echo, {ECHO})")
        actors.send(("echo", erl.name), (actors.self(), "hello"))
        assert await actors.receive(timeout=10) == ("echoed", "hello")
        actors.register("py_inbox")
        await erl.aeval(f"{{py_inbox, {q(me)}}} ! {{from_erl, [1, 2, 3]}}")
        assert await actors.receive(timeout=10) == ("from_erl", [1, 2, 3])


async def test_per_pair_order_is_kept(epmd, cookie, erl):
    async with python_node(epmd, cookie):
        await erl.aeval(f"register(echo, {ECHO})")
        for i in range(2000):
            actors.send(("echo", erl.name), (actors.self(), i))
        got = [(await actors.receive(timeout=10))[1] for _ in range(2000)]
        assert got == list(range(2000))


async def test_a_message_that_cannot_be_encoded_raises_typeerror_before_sending(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        echo = await erl_pid(erl, me, ECHO)
        with pytest.raises(TypeError, match="object"):
            actors.send(echo, (actors.self(), object()))
        actors.send(echo, (actors.self(), "after"))
        assert await actors.receive(timeout=10) == ("echoed", "after")


async def test_send_to_a_name_nobody_holds_is_dropped(epmd, cookie, erl):
    async with python_node(epmd, cookie):
        assert actors.send(("nobody", erl.name), "lost") == "lost"
        assert actors.send(("nobody", "nonode@unreachable"), "lost") == "lost"


# -- GenServer across nodes ------------------------------------------------------------------

class Echo(GenServer):
    def handle_call(self, request, from_):
        return ("echo", request)

    def handle_cast(self, request):
        to, msg = request
        actors.send(to, ("cast", msg))


async def test_beam_gen_server_call_reaches_a_python_genserver(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        pid = await Echo.start(name="py_echo")
        assert await erl.aeval(f"gen_server:call({{py_echo, {q(me)}}}, {{hi, <<\"x\">>, 42}})") \
            == '{<<"echo">>,{hi,<<"x">>,42}}'
        actors.register("inbox")
        await erl.aeval(f"gen_server:cast({{py_echo, {q(me)}}}, {{self(), ok}})")
        await erl.aeval(f"{{inbox, {q(me)}}} ! done")
        assert await actors.receive("done", timeout=10) == "done"
        assert await erl.aeval("receive {<<\"cast\">>, ok} -> got after 5000 -> nothing end") == "got"
        # by pid, and a call to a name nobody holds exits noproc
        await erl.aeval("register(shell, self())")
        actors.send(("shell", erl.name), pid)
        assert await erl.aeval("receive P -> gen_server:call(P, by_pid) after 5000 -> timeout end") \
            == '{<<"echo">>,by_pid}'
        assert "noproc" in await erl.aeval(f"catch gen_server:call({{nobody, {q(me)}}}, x)")
        assert actors.Process.alive(pid)


async def test_genserver_call_reaches_a_beam_gen_server(epmd, cookie, erl):
    async with python_node(epmd, cookie):
        # rex, the rpc server every node runs, is a gen_server
        request = (Atom("call"), Atom("erlang"), Atom("node"), [], actors.self())
        assert await GenServer.call(("rex", erl.name), request) == erl.name
        request = (Atom("call"), Atom("lists"), Atom("reverse"), [[1, 2, 3]], actors.self())
        assert await GenServer.call(("rex", erl.name), request) == [3, 2, 1]


async def test_genserver_call_by_pid_to_the_beam_and_a_dead_server(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        rex = await erl_pid(erl, me, "whereis(rex)")
        request = (Atom("call"), Atom("erlang"), Atom("node"), [], actors.self())
        assert await GenServer.call(rex, request) == erl.name
        with pytest.raises(actors.NoProcess):
            await GenServer.call(("nosuch", erl.name), "x", timeout=5)
        echo = await erl_pid(erl, me, ECHO)
        actors.send(echo, Atom("stop"))
        with pytest.raises((actors.NoProcess, actors.CallExit)):
            await GenServer.call(echo, "x", timeout=5)


async def test_genserver_call_to_an_unreachable_node_exits_noconnection(epmd, cookie):
    async with python_node(epmd, cookie):
        with pytest.raises(actors.CallExit) as info:
            await GenServer.call(("x", "nobody@127.0.0.1"), "x", timeout=10)
        assert info.value.reason == "noconnection"


# -- links and exit signals ------------------------------------------------------------------

async def test_a_beam_process_exit_reaches_a_linked_python_process(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        actors.Process.flag("trap_exit", True)
        for reason, expected in (("custom_reason", "custom_reason"), ("normal", "normal"),
                                 ("{shutdown, x}", ("shutdown", Atom("x")))):
            waiter = await erl_pid(
                erl, me, "spawn(fun() -> receive {die, R} -> exit(R) end end)")
            actors.link(waiter)
            actors.send(waiter, (Atom("die"), _erl_reason(reason)))
            assert await actors.receive(Exit(waiter, ANY), timeout=10) == Exit(waiter, expected)


def _erl_reason(text: str):
    if text.startswith("{shutdown"):
        return (Atom("shutdown"), Atom("x"))
    return Atom(text)


async def test_a_python_exit_reaches_a_linked_beam_process(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        trapper = await erl_pid(erl, me, TRAPPER)

        async def linked(reason):
            actors.link(trapper)
            await actors.receive("go")
            raise actors.ProcessExit(reason)

        for reason, printed in (("custom", '<<"custom">>'), ("normal", "normal"),
                                ("shutdown", "shutdown")):
            pid = actors.spawn(linked, reason)
            ref = actors.monitor(pid)
            actors.send(pid, "go")
            await actors.receive(Down(ref, pid, ANY), timeout=10)
            line = await erl.aexpect(r"got \{'EXIT',<\d+\.\d+\.\d+>,(.*)\}")
            assert line.group(1) == printed


async def test_a_crash_travels_as_class_and_message(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        trapper = await erl_pid(erl, me, TRAPPER)

        async def crasher():
            actors.link(trapper)
            await actors.receive("go")
            raise ValueError("bad value")

        pid = actors.spawn(crasher)
        actors.send(pid, "go")
        line = await erl.aexpect(r"got \{'EXIT',<\d+\.\d+\.\d+>,(.*)\}")
        assert line.group(1) == "{'ValueError',<<\"bad value\">>}"


async def test_a_beam_process_links_to_a_python_process(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        trapper = await erl_pid(erl, me, TRAPPER)

        async def target():
            reason = await actors.receive()
            raise actors.ProcessExit(reason)

        pid = actors.spawn(target)
        actors.send(trapper, (Atom("link"), pid))
        actors.send(trapper, "sync")
        await erl.aexpect(r'got <<"sync">>')    # erl linked; its LINK is on the wire
        actors.register("inbox")
        await erl.aeval(f"{{inbox, {q(me)}}} ! after_link")   # signals keep their order
        await actors.receive("after_link", timeout=10)
        actors.send(pid, "gone_now")
        line = await erl.aexpect(r"got \{'EXIT',<\d+\.\d+\.\d+>,(.*)\}")
        assert line.group(1) == '<<"gone_now">>'
        # linking to a dead Python process gives noproc
        actors.send(trapper, (Atom("link"), pid))
        line = await erl.aexpect(r"got \{'EXIT',<\d+\.\d+\.\d+>,(.*)\}")
        assert line.group(1) == "noproc"


async def test_unlink_id_removes_the_link_on_both_sides(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        actors.Process.flag("trap_exit", True)
        waiter = await erl_pid(erl, me, "spawn(fun() -> receive {die, R} -> exit(R) end end)")
        actors.link(waiter)
        actors.unlink(waiter)
        ref = actors.monitor(waiter)
        actors.send(waiter, (Atom("die"), Atom("boom")))
        assert await actors.receive(Down(ref, waiter, ANY), timeout=10) == Down(ref, waiter, "boom")
        # an exit signal through the link would have come before the Down
        assert actors.lowlevel.receive_nowait(Exit(waiter, ANY), default=None) is None


async def test_exit2_kill_and_custom_reasons_to_beam_processes(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        victim = await erl_pid(erl, me, "spawn(fun() -> process_flag(trap_exit, true), "
                                        "receive after infinity -> ok end end)")
        ref = actors.monitor(victim)
        actors.exit(victim, "kill")                 # untrappable: the victim exits killed
        assert await actors.receive(Down(ref, victim, ANY), timeout=10) == Down(ref, victim, "killed")
        trapper = await erl_pid(erl, me, TRAPPER)
        actors.exit(trapper, "custom")              # a trapping process gets a message
        line = await erl.aexpect(r"got \{'EXIT',<\d+\.\d+\.\d+>,(.*)\}")
        assert line.group(1) == '<<"custom">>'
        plain = await erl_pid(erl, me, "spawn(fun() -> receive after infinity -> ok end end)")
        pref = actors.monitor(plain)
        actors.exit(plain, "normal")                # ignored by a process that does not trap
        actors.exit(plain, "shutdown")
        assert await actors.receive(Down(pref, plain, ANY), timeout=10) == Down(pref, plain, "shutdown")


async def test_beam_exit2_reaches_python_processes(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        killer = await erl_pid(erl, me, "spawn(fun L() -> receive {kill, P, R} -> exit(P, R), L() end end)")

        async def victim(trap):
            actors.Process.flag("trap_exit", trap)
            while True:
                msg = await actors.receive()
                actors.send(msg[0], msg[1])

        for trap, reason, expected in ((False, Atom("custom"), "custom"), (True, Atom("kill"), "killed"),
                                       (False, Atom("normal"), None)):
            pid = actors.spawn(victim, trap)
            ref = actors.monitor(pid)
            actors.send(killer, (Atom("kill"), pid, reason))
            if expected is None:                    # "normal" is ignored: it still answers
                actors.send(pid, (actors.self(), "alive"))
                assert await actors.receive("alive", timeout=10) == "alive"
                actors.exit(pid, "kill")
                await actors.receive(Down(ref, pid, ANY), timeout=10)
            else:
                assert await actors.receive(Down(ref, pid, ANY), timeout=10) == Down(ref, pid, expected)
        trapping = actors.spawn(victim, True)
        actors.send(killer, (Atom("kill"), trapping, Atom("note")))
        actors.send(trapping, (actors.self(), "sync"))
        # a trapping victim gets Exit(killer, reason) as a message, and forwards nothing
        # of it here; it is alive and answers
        assert await actors.receive("sync", timeout=10) == "sync"
        assert actors.Process.alive(trapping)


# -- monitors --------------------------------------------------------------------------------

async def test_monitor_a_beam_process_and_a_name(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        echo = await erl_pid(erl, me, ECHO)
        await erl.aeval(f"register(named, {ECHO})")
        ref = actors.monitor(echo)
        nref = actors.monitor(("named", erl.name))
        actors.send(echo, Atom("stop"))
        assert await actors.receive(Down(ref, ANY, ANY), timeout=10) == Down(ref, echo, "normal")
        await erl.aeval("exit(whereis(named), kill)")
        assert await actors.receive(Down(nref, ANY, ANY), timeout=10) == \
            Down(nref, ("named", erl.name), "killed")
        # a name nobody holds: noproc
        ref = actors.monitor(("nosuch", erl.name))
        assert await actors.receive(Down(ref, ANY, ANY), timeout=10) == \
            Down(ref, ("nosuch", erl.name), "noproc")


async def test_demonitor_stops_a_remote_monitor(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        echo = await erl_pid(erl, me, ECHO)
        ref = actors.monitor(echo)
        assert actors.demonitor(ref) is True
        ref2 = actors.monitor(echo)
        actors.send(echo, Atom("stop"))
        assert (await actors.receive(Down(ANY, echo, ANY), timeout=10)).ref is ref2
        assert await erl.aeval("ok") == "ok"


async def test_a_beam_monitor_of_a_python_process_and_name(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        async def target():
            raise actors.ProcessExit(await actors.receive())

        pid = actors.spawn(target)
        actors.register("watched", pid)
        await erl.aeval(f"R = erlang:monitor(process, {{watched, {q(me)}}})")
        await erl.aeval(f"R2 = erlang:monitor(process, {{nosuch, {q(me)}}})")
        assert await erl.aeval("receive {'DOWN', R2, process, _, Why2} -> Why2 after 5000 -> t end") \
            == "noproc"
        actors.send(pid, "bye")
        assert await erl.aeval("receive {'DOWN', R, process, Who, Why} -> {Who, Why} "
                               "after 5000 -> timeout end") == f"{{{{watched,{q(me)}}},<<\"bye\">>}}"


# -- connection loss ---------------------------------------------------------------------------

async def test_killing_the_beam_node_is_noconnection_for_links_and_monitors(epmd, cookie):
    erl = ErlNode(unique_name("erl"), cookie=cookie, epmd=epmd)
    try:
        async with python_node(epmd, cookie) as me:
            actors.Process.flag("trap_exit", True)
            a = await erl_pid(erl, me, ECHO)
            b = await erl_pid(erl, me, ECHO)
            actors.link(a)
            ref = actors.monitor(b)
            nref = actors.monitor(("rex", erl.name))
            erl.kill()
            got = {await actors.receive(timeout=10) for _ in range(3)}
            assert got == {Exit(a, "noconnection"), Down(ref, b, "noconnection"),
                           Down(nref, ("rex", erl.name), "noconnection")}
    finally:
        erl.stop()


async def test_stopping_the_python_node_is_noconnection_on_the_beam(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        async def idle():
            await actors.receive()

        pid = actors.spawn(idle)
        actors.register("idle", pid)
        assert await erl.aeval(f"net_adm:ping({q(me)})") == "pong"
        await erl.aeval(f"R = erlang:monitor(process, {{idle, {q(me)}}})")
        assert await erl.aeval(f"lists:member({q(me)}, nodes(hidden))") == "true"
    assert await erl.aeval("receive {'DOWN', R, process, _, Why} -> Why after 10000 -> timeout end") \
        == "noconnection"


async def test_a_silent_peer_is_dropped_after_the_tick_time(epmd, cookie):
    erl = ErlNode(unique_name("erl"), cookie=cookie, epmd=epmd, ticktime=4)
    try:
        async with python_node(epmd, cookie, ticktime=4):
            actors.Process.flag("trap_exit", True)
            assert await actors.Node.connect(erl.name)
            actors.Node.monitor(erl.name)
            erl.suspend()
            assert await actors.receive(timeout=15) == actors.NodeDown(erl.name)
    finally:
        erl.stop()


# -- remote spawn ------------------------------------------------------------------------------

async def test_beam_spawns_on_python_when_allowed(epmd, cookie, erl):
    async with python_node(epmd, cookie, allow_spawn=["spawn_targets"]) as me:
        result = await erl.aeval(
            f"P = spawn({q(me)}, spawn_targets, tell, [self(), hello_from_python]), "
            f"receive M -> {{node(P), M}} after 5000 -> timeout end")
        assert result == f"{{{q(me)},hello_from_python}}"


async def test_beam_spawn_is_refused_without_allow_spawn(epmd, cookie, erl):
    async with python_node(epmd, cookie) as me:
        result = await erl.aeval(
            f"spawn_monitor({q(me)}, spawn_targets, tell, [self(), x])")
        assert result == "error error not_allowed"      # erlang:spawn_monitor/4 raises it
        result = await erl.aeval(f"spawn_request({q(me)}, spawn_targets, tell, [self(), x], []), "
                                 f"receive {{spawn_reply, _, error, Why}} -> Why after 5000 -> t end")
        assert result == "not_allowed"


async def test_python_spawns_on_another_node_refused_by_the_beam_rules(epmd, cookie, erl):
    async with python_node(epmd, cookie):
        with pytest.raises(TypeError):
            await actors.Node.spawn(erl.name, "not a function")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="top level"):
            async def local_fn():
                pass
            await actors.Node.spawn(erl.name, local_fn)



def beam_function(monkeypatch, module: str, name: str):
    """A stand-in that ``Node.spawn`` sends as ``{module, name, Arity}``: how
    a Python node names a BEAM function (a module of that name, holding it,
    is put in ``sys.modules`` for the test, where Node.spawn looks it up)."""
    async def stand_in(*args):
        raise AssertionError("runs on the BEAM only")
    stand_in.__module__, stand_in.__qualname__ = module, name
    fake = types.ModuleType(module)
    setattr(fake, name, stand_in)
    monkeypatch.setitem(sys.modules, module, fake)
    return stand_in


async def test_spawn_link_and_spawn_monitor_on_the_beam_are_atomic(epmd, cookie, erl, monkeypatch):
    erlang_exit = beam_function(monkeypatch, "erlang", "exit")
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        # erlang:exit(boom) ends the new process at once, before the caller
        # reads the spawn's reply: the link and the monitor made with the
        # spawn still bring its reason (not noproc, not nothing)
        for _ in range(20):
            pid, ref = await actors.Node.spawn_monitor(erl.name, erlang_exit, Atom("boom"))
            assert pid.node == erl.name
            assert await actors.receive(Down(ref, ANY, ANY), timeout=10) == Down(ref, pid, "boom")
            pid = await actors.Node.spawn_link(erl.name, erlang_exit, Atom("boom"))
            assert await actors.receive(Exit(pid, ANY), timeout=10) == Exit(pid, "boom")


async def test_node_info_counts_the_traffic_of_each_connection(epmd, cookie, erl):
    """``Node.info(node)`` (``net_kernel:node_info``): the peer's kind and
    address, and the packets and bytes each way, counted as they cross."""
    async with python_node(epmd, cookie):
        assert Node.info(erl.name) is None                      # not connected yet
        await erl.aeval(f"register(echo, {ECHO})")
        assert await Node.ping(erl.name) == "pong"
        before = Node.info(erl.name)
        assert before is not None and before["node"] == erl.name
        assert before["type"] == "hidden" and before["tls"] is False
        assert before["address"].startswith("127.0.0.1:")
        for i in range(100):
            actors.send(("echo", erl.name), (actors.self(), "x" * 1000))
        for _ in range(100):
            await actors.receive(("echoed", ANY), timeout=10)
        after = Node.info(erl.name)
        assert after["packets_out"] - before["packets_out"] >= 100
        assert after["packets_in"] - before["packets_in"] >= 100
        assert after["bytes_out"] - before["bytes_out"] >= 100 * 1000
        assert after["bytes_in"] - before["bytes_in"] >= 100 * 1000
        assert after["since"] == before["since"] <= time.time()
        await Node.disconnect(erl.name)
        assert Node.info(erl.name) is None


@pytest.mark.parametrize("bad, error", [(42, TypeError), ("nohost", ValueError)])
async def test_node_info_names_a_bad_argument(bad, error):
    with pytest.raises(error, match="Node.info"):
        Node.info(bad)
