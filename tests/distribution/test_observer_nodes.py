"""The observer's Nodes view (issue 12): each link's traffic, and the processes
of another actors node browsed from this node's page.

Rules checked: the Nodes view counts the bytes and messages each way of
every connection, with rates between two readings; another actors node's
system, process table and process pages (its GenServer state through its
``format_status``) come through its ``actors_observer`` service, read only;
an Erlang node (no such service) is a clear 504, a node not connected a
404, a bad request a 400, and every such route needs the token.  The second
node is a peer (``actors.peer``): another OS process.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

aiohttp = pytest.importorskip("aiohttp")

import spawn_targets as targets
from conftest import python_node

import actors
from actors import ANY, observer
from actors.observer import backend

pytestmark = pytest.mark.actors

T = 20          # seconds: generous, the machine is shared


def auth(obs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {obs.token}"}


async def get(session: Any, obs: Any, path: str, status: int = 200, **kw: Any) -> Any:
    kw.setdefault("headers", auth(obs))
    async with session.get(f"http://127.0.0.1:{obs.port}{path}", **kw) as resp:
        assert resp.status == status, (path, resp.status, await resp.text())
        return await resp.json()


def number(pid: Any) -> int:
    return int(str(pid).split(".")[1])


async def store_on(node: str, name: str) -> actors.Pid:
    """A ``spawn_targets.Store`` registered as ``name`` on ``node``: its pid."""
    await actors.Node.spawn(node, targets.start_store, name, actors.self())
    _, pid = await actors.receive(("store", ANY), timeout=T)
    return pid


async def test_the_nodes_view_counts_each_links_traffic(epmd, cookie):
    async with python_node(epmd, cookie):
        owner, peer = await actors.peer.start_link()
        obs = await observer.start()
        try:
            store = await store_on(peer, "traffic")
            async with aiohttp.ClientSession() as s:
                before = (await get(s, obs, "/api/nodes"))["nodes"]
                [link] = [n for n in before if n["name"] == peer]
                assert link["type"] == "hidden" and link["tls"] is False
                assert link["address"].startswith("127.0.0.1:")
                for i in range(200):
                    actors.GenServer.cast(store, ("put", i, "v" * 500))
                assert await actors.GenServer.call(store, ("get", 199), timeout=T) == "v" * 500
                [after] = [n for n in (await get(s, obs, "/api/nodes"))["nodes"] if n["name"] == peer]
            assert after["packets_out"] - link["packets_out"] >= 201
            assert after["bytes_out"] - link["bytes_out"] >= 200 * 500
            assert after["packets_in"] > link["packets_in"]          # the reply, pongs
            assert after["bytes_out_per_second"] > 0
            assert after["history"]["bytes_out_per_second"][-1] == after["bytes_out_per_second"]
        finally:
            await obs.stop()
            await actors.peer.stop(owner)


async def test_another_actors_nodes_processes_are_browsed_from_this_page(epmd, cookie):
    """Its system, its table (filtered), one process with its state through
    ``format_status``, its links as its own pids; a pid it does not have is a 404."""
    async with python_node(epmd, cookie):
        owner, peer = await actors.peer.start_link()
        obs = await observer.start()
        try:
            store = await store_on(peer, "browsed_store")
            await actors.GenServer.call(store, ("put", "colour", "teal"), timeout=T)
            base = f"/api/nodes/{peer}"
            async with aiohttp.ClientSession() as s:
                system = await get(s, obs, base + "/system")
                assert system["node"] == peer and system["process_count"] >= 1
                assert system["versions"]["actors"] == actors.__version__
                table = await get(s, obs, base + "/processes?filter=browsed_store&sort=memory")
                [row] = table["rows"]
                assert row["pid"] == f"<0.{number(store)}.0>"    # as the other node prints it
                assert row["registered_name"] == "browsed_store"
                assert table["matched"] == 1 and table["total"] >= 1
                one = await get(s, obs, f"{base}/processes/{number(store)}")
                assert one["registered_name"] == "browsed_store"
                assert one["server"]["kind"] == "gen_server"
                assert one["server"]["class"] == "spawn_targets.Store"
                assert "teal" in one["state"]["state"]["items"]
                assert "history" not in one                           # no charts from afar
                await get(s, obs, f"{base}/processes/999999", 404)
                # the local table is still this node's own
                mine = await get(s, obs, "/api/processes?filter=browsed_store")
                assert mine["rows"] == []
        finally:
            await obs.stop()
            await actors.peer.stop(owner)


async def test_browsing_is_read_only_and_bounded(epmd, cookie):
    """The service answers reads only: an unknown request is an error, not a
    crash of anything; a limit above ``MAX_ROWS`` is cut to it."""
    async with python_node(epmd, cookie):
        owner, peer = await actors.peer.start_link()
        try:
            with pytest.raises(RuntimeError, match="unknown request"):
                await backend.ask(peer, ("kill", 1))
            with pytest.raises(RuntimeError, match="sort must be"):
                await backend.ask(peer, ("processes", {"sort": "nonsense"}))
            table = await backend.ask(peer, ("processes", {"limit": 10**9}))
            assert len(table["rows"]) <= backend.MAX_ROWS and "pids" not in table
            assert await backend.ask(peer, ("process", 10**9)) is None
            assert await actors.Node.ping(peer) == "pong"             # still fine
        finally:
            await actors.peer.stop(owner)


async def test_an_erlang_node_or_a_stranger_is_a_clear_error(epmd, cookie, erl):
    async with python_node(epmd, cookie):
        obs = await observer.start()
        try:
            assert await actors.Node.ping(erl.name) == "pong"
            async with aiohttp.ClientSession() as s:
                err = await get(s, obs, f"/api/nodes/{erl.name}/processes", 504)
                assert "not an actors node" in err["error"]
                err = await get(s, obs, "/api/nodes/nobody@127.0.0.1/processes", 404)
                assert "not a node connected" in err["error"]
                await get(s, obs, f"/api/nodes/{erl.name}/processes?sort=nonsense", 400)
                await get(s, obs, f"/api/nodes/{erl.name}/processes/x", 400)
                async with s.get(f"http://127.0.0.1:{obs.port}/api/nodes/{erl.name}/system") as r:
                    assert r.status == 401                            # no token
        finally:
            await obs.stop()


async def test_a_peer_that_lies_in_its_answers_cannot_break_the_page(epmd, cookie):
    """A hostile node answering the observer's questions with something that is
    not a JSON object gets a 502; pids and refs in an answer are shown as text;
    an answer to a question nobody asked is dropped.  The observer serves on."""
    from actors.dist.etf import decode_from, encode
    from actors.dist.node import REG_SEND_TAG, SEND_TAG
    from test_lying_peer import liar

    async with python_node(epmd, cookie) as me:
        conn, name = await liar(epmd, me, cookie)
        obs = await observer.start()
        lies = [(actors.Atom("ok"), [1, 2, 3]),
                (actors.Atom("ok"), {"rows": [actors.Atom("x")], "pid": None}),
                (actors.Atom("error"), "I refuse")]

        async def answer_with_lies() -> None:
            for lie in lies:
                while True:
                    packet = await conn.recv()
                    assert packet is not None
                    control, end = decode_from(packet, 1)
                    if control[0] == REG_SEND_TAG and control[3] == backend.SERVICE:
                        ref, frm, _ = decode_from(packet, end)[0]
                        break
                unasked = (ref.__class__(ref.node, ref.creation, (9, 9, 9)), "unasked")
                conn.send(b"p" + encode((SEND_TAG, actors.Atom(""), frm)) + encode(unasked))
                conn.send(b"p" + encode((SEND_TAG, actors.Atom(""), frm)) + encode((ref, lie)))

        try:
            liar_task = asyncio.ensure_future(answer_with_lies())
            async with aiohttp.ClientSession() as s:
                err = await get(s, obs, f"/api/nodes/{name}/processes", 502)
                assert "not a JSON object" in err["error"]
                shown = await get(s, obs, f"/api/nodes/{name}/system")
                assert shown == {"rows": ["x"], "pid": None}
                err = await get(s, obs, f"/api/nodes/{name}/processes", 502)
                assert "I refuse" in err["error"]
                await liar_task
                assert (await get(s, obs, "/api/system"))["node"] == me     # serves on
        finally:
            conn.close()
            await obs.stop()
