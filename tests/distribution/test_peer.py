"""Peers: Python nodes in other OS processes, started by ``actors.peer`` (docs/api.md, nodes).

Python talks to Python here, without Erlang: the nodes register with the epmd
built into actors (``python -m actors epmd``, a child process on a free port).
Each peer is a new OS process running the test's loop; the functions spawned
there are the module-level ones of ``spawn_targets``.  Every wait has a
timeout; an OS process's end is awaited on its pidfd, never polled.  Each test
runs on every loop of ``--actors-loop``.
"""
from __future__ import annotations

import os
import re
import select
import signal

import pytest
import spawn_targets as targets
import trustme  # (the test extra's) a CA and certificates, made in memory
from conftest import python_node
from helpers import PyEpmd

import actors
import actors.dist.tls
from actors import ANY, Down, Exit, GenServer, NodeDown, StartError

pytestmark = pytest.mark.actors

T = 20          # seconds: generous, the machine is shared


@pytest.fixture(scope="module")
def epmd():
    """The actors epmd for this module's nodes (no Erlang needed)."""
    daemon = PyEpmd()
    yield daemon
    daemon.stop()


def without_erlang() -> dict[str, str]:
    """An environment whose PATH finds neither ``erl`` nor ``epmd``."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    erlang = ("erl", "epmd")
    return {"PATH": os.pathsep.join(
        d for d in dirs if d and not any(os.path.exists(os.path.join(d, b)) for b in erlang))}


async def about(node: str) -> dict:
    """What ``spawn_targets.about`` says, run on ``node``."""
    await actors.Node.spawn(node, targets.about, actors.self())
    return await actors.receive({"node": node, **{k: ANY for k in (
        "nodes", "os_pid", "actors", "loop", "erl", "epmd")}}, timeout=T)


async def gone(os_pid: int, timeout: float = T) -> bool:
    """Wait until the OS process ``os_pid`` has ended: True, or False after ``timeout``."""
    try:
        fd = os.pidfd_open(os_pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = await actors.to_thread(select.select, [fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


# -- starting peers -------------------------------------------------------------------------

async def test_a_peer_is_another_os_process_running_the_same_actors(epmd, cookie, actors_loop):
    async with python_node(epmd, cookie) as me:
        pid, node = await actors.peer.start_link()
        assert pid.node == me and actors.Process.alive(pid)
        assert re.fullmatch(rf"peer\d+-{os.getpid()}@127\.0\.0\.1", node)
        assert node in actors.Node.list()
        assert await actors.Node.ping(node) == "pong"
        info = await about(node)
        assert info["os_pid"] != os.getpid()
        assert info["actors"] == actors.__file__            # this checkout's actors, not another
        assert info["loop"] == actors_loop                  # the parent's loop
        assert info["nodes"] == [me]
        await actors.peer.stop(pid)
        assert not actors.Process.alive(pid)
        assert await gone(info["os_pid"])
        assert node not in actors.Node.list()
        await actors.peer.stop(pid)                         # stopped already: fine


async def test_a_peer_can_be_named(epmd, cookie):
    async with python_node(epmd, cookie):
        pid, node = await actors.peer.start_link("worker_a")
        assert node == "worker_a@127.0.0.1"
        pid2, node2 = await actors.peer.start("worker-b@127.0.0.1")
        assert node2 == "worker-b@127.0.0.1"
        assert set(actors.Node.list()) == {node, node2}
        await actors.peer.stop(pid)
        await actors.peer.stop(pid2)


async def test_bad_arguments_name_the_argument(epmd, cookie):
    with pytest.raises(RuntimeError, match="not a node"):
        await actors.peer.start_link()
    async with python_node(epmd, cookie):
        for kwargs, error, text in (
                ({"name": 42}, TypeError, "name"),
                ({"name": "a@b@c"}, ValueError, "name"),
                ({"name": "bad name!"}, ValueError, "name"),
                ({"name": ""}, ValueError, "name"),
                ({"allow_spawn": "spawn_targets"}, TypeError, "allow_spawn"),
                ({"env": {"X": 1}}, TypeError, "env"),
                ({"timeout": "soon"}, TypeError, "timeout"),
                ({"timeout": -1}, ValueError, "timeout")):
            with pytest.raises(error, match=text):
                await actors.peer.start_link(**kwargs)
        with pytest.raises(TypeError, match="pid"):
            await actors.peer.stop("peer1")
        assert actors.Node.list() == []


async def test_a_tls_node_has_no_peers_yet(epmd, cookie, tmp_path):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ssl = actors.dist.tls.contexts(tmp_path / "cert.pem", tmp_path / "key.pem",
                                   cafile=tmp_path / "ca.pem")
    async with python_node(epmd, cookie, ssl=ssl):
        with pytest.raises(RuntimeError, match="TLS"):
            await actors.peer.start_link()


async def test_a_peer_that_cannot_start_raises_starterror_with_its_stderr(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        actors.Process.flag("trap_exit", True)
        with pytest.raises(StartError) as info:
            await actors.peer.start_link(me)               # the name is ours: epmd refuses it
        assert info.value.reason == ("exit_status", 1)
        assert "AlreadyRegistered" in str(info.value)       # the tail of its traceback
        with pytest.raises(StartError) as info:
            await actors.peer.start_link(timeout=0.001)
        assert info.value.reason == "timeout"
        assert actors.Node.list() == []
        # the owners unlinked before exiting: nothing reaches the caller
        assert actors.lowlevel.receive_nowait(ANY, default=None) is None


# -- remote spawn and messages --------------------------------------------------------------

async def test_spawn_spawn_link_and_spawn_monitor_on_a_peer(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        _, node = await actors.peer.start_link()
        pid = await actors.Node.spawn(node, targets.tell, actors.self(), "hello")
        assert pid.node == node
        assert await actors.receive(timeout=T) == "hello"
        linked = await actors.Node.spawn_link(node, targets.crash, "custom")
        assert await actors.receive(Exit(linked, ANY), timeout=T) == Exit(linked, "custom")
        watched, ref = await actors.Node.spawn_monitor(node, targets.raise_value_error,
                                                       "bad value")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == \
            Down(ref, watched, ("ValueError", "bad value"))    # a crash travels as class, message


async def test_messages_keep_their_order_both_ways(epmd, cookie):
    async with python_node(epmd, cookie):
        _, node = await actors.peer.start_link()
        echo = await actors.Node.spawn(node, targets.echo_forever)
        terms = [1, 2 ** 70, -1.5, "text", b"\xff", (1, ("a", [2, {"k": None}])), actors.self()]
        for term in terms:
            actors.send(echo, (actors.self(), term))
        assert [await actors.receive(timeout=T) for _ in terms] == terms
        for i in range(2000):
            actors.send(echo, (actors.self(), ("n", i)))
        assert [(await actors.receive(timeout=T))[1] for _ in range(2000)] == list(range(2000))
        await actors.Node.spawn(node, targets.count_to, actors.self(), 2000)
        assert [(await actors.receive(timeout=T))[1] for _ in range(2000)] == list(range(2000))
        actors.send(echo, "stop")


# -- links, monitors, exit signals ----------------------------------------------------------

async def test_exit_signals_cross_two_python_nodes(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        _, node = await actors.peer.start_link()
        # a remote process's exit reaches us through a link: custom and normal reasons
        for reason in ("custom", "normal", ("shutdown", "x")):
            pid = await actors.Node.spawn_link(node, targets.exit_when_told)
            actors.send(pid, reason)
            assert await actors.receive(Exit(pid, ANY), timeout=T) == Exit(pid, reason)
        # ours reaches a remote process linked to us, which dies of it
        remote = await actors.Node.spawn(node, targets.idle)
        ref = actors.monitor(remote)

        async def doomed():
            actors.link(remote)
            raise actors.ProcessExit(await actors.receive())

        actors.send(actors.spawn(doomed), "custom")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, remote, "custom")
        # exit/2: "normal" is ignored by a process that does not trap, "kill" is not
        echo = await actors.Node.spawn(node, targets.echo_forever)
        ref = actors.monitor(echo)
        actors.exit(echo, "normal")
        actors.send(echo, (actors.self(), "still here"))
        assert await actors.receive(timeout=T) == "still here"
        actors.exit(echo, "kill")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, echo, "killed")
        victim = await actors.Node.spawn(node, targets.idle)
        ref = actors.monitor(victim)
        actors.exit(victim, "custom")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, victim, "custom")
        # exit/2 from a remote process: it kills a local process that does not trap
        local = actors.spawn(targets.idle)
        ref = actors.monitor(local)
        await actors.Node.spawn(node, targets.send_exit, local, "from afar")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, local, "from afar")


async def test_monitors_of_processes_and_names_on_a_peer(epmd, cookie):
    async with python_node(epmd, cookie):
        _, node = await actors.peer.start_link()
        pid = await actors.Node.spawn(node, targets.exit_when_told)
        ref = actors.monitor(pid)
        stale = actors.monitor(pid)
        assert actors.demonitor(stale) is True
        actors.send(pid, "normal")
        assert await actors.receive(Down(ANY, ANY, ANY), timeout=T) == Down(ref, pid, "normal")
        assert await actors.receive(Down(ANY, pid, ANY), timeout=0.5, default=None) is None
        await actors.Node.spawn(node, targets.start_counter, "counter", actors.self())
        _, counter = await actors.receive(("counter", ANY), timeout=T)
        nref = actors.monitor(("counter", node))
        GenServer.cast(counter, "stop")
        assert await actors.receive(Down(nref, ANY, ANY), timeout=T) == \
            Down(nref, ("counter", node), "normal")
        ref = actors.monitor(("nosuch", node))
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == \
            Down(ref, ("nosuch", node), "noproc")
        # a dead pid of a live node: noproc
        ref = actors.monitor(pid)
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, pid, "noproc")


# -- GenServer across Python nodes --------------------------------------------------------------

class Greeter(GenServer):
    def handle_call(self, request, from_):
        return ("hello", request, actors.Node.self())


async def test_genserver_calls_between_python_nodes_both_ways(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        _, node = await actors.peer.start_link()
        await actors.Node.spawn(node, targets.start_counter, "counter", actors.self())
        _, counter = await actors.receive(("counter", ANY), timeout=T)
        assert counter.node == node
        assert await GenServer.call(("counter", node), "incr") == ("count", 1, node)
        assert await GenServer.call(counter, "incr") == ("count", 2, node)
        GenServer.cast(("counter", node), ("add", 10))
        assert await GenServer.call(counter, "get") == ("count", 12, node)
        with pytest.raises(actors.NoProcess):
            await GenServer.call(("nosuch", node), "x", timeout=T)
        # and from the peer to a GenServer here, by name and by pid
        greeter = await Greeter.start(name="greeter")
        for server in (("greeter", me), greeter):
            await actors.Node.spawn(node, targets.call_and_tell, server, [1, "two"], actors.self())
            assert await actors.receive(("called", ANY), timeout=T) == \
                ("called", ("hello", [1, "two"], me))
        ref = actors.monitor(counter)
        GenServer.cast(counter, "stop")
        await actors.receive(Down(ref, ANY, ANY), timeout=T)
        with pytest.raises(actors.NoProcess):
            await GenServer.call(counter, "incr", timeout=T)


# -- remote spawn refused -------------------------------------------------------------------

async def test_spawn_is_refused_not_allowed_where_allow_spawn_says_no(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        _, closed = await actors.peer.start_link(allow_spawn=None)
        with pytest.raises(StartError) as info:
            await actors.Node.spawn(closed, targets.tell, actors.self(), "x")
        assert info.value.reason == "not_allowed"
        _, other = await actors.peer.start_link(allow_spawn=["some_other_module"])
        with pytest.raises(StartError) as info:
            await actors.Node.spawn_link(other, targets.tell, actors.self(), "x")
        assert info.value.reason == "not_allowed"
        # this node was started without allow_spawn: it refuses its peer
        _, node = await actors.peer.start_link(allow_spawn=["spawn_targets"])
        await actors.Node.spawn(node, targets.spawn_on, me, actors.self())
        assert await actors.receive(timeout=T) == ("refused", "not_allowed")


# -- losing a peer ---------------------------------------------------------------------------

async def _linked_and_monitored(node: str) -> set:
    """Link to a process on ``node``, monitor another, a name there and the
    node: the messages its loss must bring."""
    a = await actors.Node.spawn_link(node, targets.idle)
    b = await actors.Node.spawn(node, targets.idle)
    ref = actors.monitor(b)
    await actors.Node.spawn(node, targets.start_counter, "counter", actors.self())
    await actors.receive(("counter", ANY), timeout=T)
    nref = actors.monitor(("counter", node))
    actors.Node.monitor(node)
    return {Exit(a, "noconnection"), Down(ref, b, "noconnection"),
            Down(nref, ("counter", node), "noconnection"), NodeDown(node)}


async def test_stopping_a_peer_is_noconnection_and_nodedown(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        pid, node = await actors.peer.start_link()
        os_pid = (await about(node))["os_pid"]
        expected = await _linked_and_monitored(node)
        ref = actors.monitor(pid)
        await actors.peer.stop(pid)
        got = {await actors.receive(timeout=T) for _ in range(len(expected) + 2)}
        assert got == expected | {Down(ref, pid, "normal"), Exit(pid, "normal")}
        assert await gone(os_pid)


async def test_killing_the_peer_os_process_is_noconnection_and_nodedown(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        pid, node = await actors.peer.start_link()
        os_pid = (await about(node))["os_pid"]
        expected = await _linked_and_monitored(node)
        os.kill(os_pid, signal.SIGKILL)
        got = {await actors.receive(timeout=T) for _ in range(len(expected) + 1)}
        # its owner exits with the OS process's status: killed by signal 9
        assert got == expected | {Exit(pid, ("exit_status", -signal.SIGKILL))}
        assert await gone(os_pid)


async def test_the_peer_stops_when_the_process_that_started_it_dies(epmd, cookie):
    async with python_node(epmd, cookie):
        me = actors.self()

        async def starter():
            pid, node = await actors.peer.start_link()
            actors.send(me, ("started", pid, node))
            await actors.receive()

        starter_pid = actors.spawn(starter)
        _, owner, node = await actors.receive(("started", ANY, ANY), timeout=T)
        os_pid = (await about(node))["os_pid"]
        actors.Node.monitor(node)
        ref = actors.monitor(owner)
        actors.exit(starter_pid, "kill")
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, owner, "killed")
        assert await actors.receive(timeout=T) == NodeDown(node)
        assert await gone(os_pid)


async def test_a_peer_exits_when_the_connection_to_its_parent_is_lost(epmd, cookie):
    async with python_node(epmd, cookie):
        pid, node = await actors.peer.start_link()
        os_pid = (await about(node))["os_pid"]
        ref = actors.monitor(pid)
        assert await actors.Node.disconnect(node)
        # it sees NodeDown for us and exits by itself (status 0)
        assert await actors.receive(Down(ref, ANY, ANY), timeout=T) == Down(ref, pid, "normal")
        assert await gone(os_pid)


async def test_a_peer_exits_when_its_parent_os_process_dies(epmd, cookie):
    async with python_node(epmd, cookie):
        actors.Process.flag("trap_exit", True)
        _, parent = await actors.peer.start_link()
        parent_os_pid = (await about(parent))["os_pid"]
        # the parent starts a peer of its own: our grandchild
        await actors.Node.spawn(parent, targets.start_peer, actors.self())
        _, child = await actors.receive(("peer", ANY), timeout=T)
        info = await about(child)
        assert set(info["nodes"]) == {parent, actors.Node.self()}
        os.kill(parent_os_pid, signal.SIGKILL)
        assert await gone(parent_os_pid)
        assert await gone(info["os_pid"])


# -- a cluster of Python nodes -----------------------------------------------------------------

async def test_a_python_only_cluster_of_three_nodes(epmd, cookie):
    async with python_node(epmd, cookie) as me:
        peers = [await actors.peer.start_link(env=without_erlang()) for _ in range(2)]
        (_, a), (_, b) = peers
        for node in (a, b):
            info = await about(node)
            assert info["erl"] is None and info["epmd"] is None
        echoes = {node: await actors.Node.spawn(node, targets.echo_forever) for node in (a, b)}
        echoes[me] = actors.spawn(targets.echo_forever)
        # every node asks every other node's echo: all three pairs, both ways
        for frm in (me, a, b):
            for to in (me, a, b):
                if frm == to:
                    continue
                if frm == me:
                    actors.spawn(targets.ask, echoes[to], ("from", frm), actors.self())
                else:
                    await actors.Node.spawn(frm, targets.ask, echoes[to], ("from", frm),
                                            actors.self())
                assert await actors.receive(("answer", frm, ANY), timeout=T) == \
                    ("answer", frm, ("from", frm))
        for node in (a, b):
            assert set((await about(node))["nodes"]) == {me, a, b} - {node}
        assert set(actors.Node.list()) == {a, b}


async def test_cpu_bound_work_spreads_over_peers(epmd, cookie):
    async with python_node(epmd, cookie):
        nodes = [(await actors.peer.start_link())[1] for _ in range(2)]
        sizes = [300_000 + i for i in range(4)]
        for i, n in enumerate(sizes):
            await actors.Node.spawn(nodes[i % 2], targets.burn, n, actors.self())
        results = {}
        for _ in sizes:
            _, n, total = await actors.receive(("burned", ANY, ANY), timeout=60)
            results[n] = total
        assert results == {n: sum(i * i for i in range(n)) for n in sizes}
