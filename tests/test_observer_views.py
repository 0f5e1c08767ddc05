"""The observer's views (issue 12): every view has a URL; a process page with its
state, stack, mailbox and actions; live tracing; the supervision graph's data;
the system's series; registries; nodes.  Each test states what a person
reading the observer is promised; the JSON API is what the page draws.
"""
from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

aiohttp = pytest.importorskip("aiohttp")

import actors
from actors import observer
from actors.observer import snapshot, tracing


class Worker(actors.GenServer):
    def init(self, n=0):
        self.n = n

    def handle_call(self, request, from_):
        return ("echo", request)

    def handle_cast(self, request):
        self.n += request

    def handle_info(self, msg):
        if msg == "crash":
            raise RuntimeError("asked to crash")


class Vault(actors.GenServer):
    """A server that hides its secret from sys.get_status (and so from the observer)."""

    def init(self):
        self.owner = "ada"
        self.password = "hunter2"

    def handle_call(self, request, from_):
        return self.owner

    def format_status(self, status):
        status["state"] = {**status["state"], "password": "***"}
        return status


class Slow(actors.GenServer):
    """Waits in its own callback, so its current function is user code."""

    async def handle_call(self, request, from_):
        return await self.wait_here()

    async def wait_here(self):
        await actors.receive("never")


async def idle():
    await actors.receive("never")


def auth(obs):
    return {"Authorization": f"Bearer {obs.token}"}


async def get(session, obs, path, status=200, **kw):
    kw.setdefault("headers", auth(obs))
    async with session.get(f"http://127.0.0.1:{obs.port}{path}", **kw) as resp:
        assert resp.status == status, (path, resp.status, await resp.text())
        return await resp.json() if resp.content_type == "application/json" else await resp.text()


async def post(session, obs, path, status=200, **kw):
    kw.setdefault("headers", auth(obs))
    async with session.post(f"http://127.0.0.1:{obs.port}{path}", **kw) as resp:
        assert resp.status == status, (path, resp.status, await resp.text())
        return await resp.json()


def n(pid):
    return snapshot.pid_number(pid)


async def until(predicate, what):
    """Yield to the runtime until ``predicate()`` holds (bounded: no sleeps)."""
    for _ in range(10_000):
        if predicate():
            return
        await actors.sleep(0)
    raise AssertionError(f"never: {what}")


# -- addresses ------------------------------------------------------------------


PAGES = ["/", "/system", "/processes", "/processes/1", "/tree", "/tracing", "/names",
         "/registries/1", "/nodes", "/nodes/py2@127.0.0.1", "/nodes/py2@127.0.0.1/processes",
         "/nodes/py2@127.0.0.1/processes/1"]


def test_every_view_has_an_address_that_serves_the_page(run):
    """Deep links: each view's path answers with the page (which shows the view
    its path names), with a policy that allows only the observer's own scripts
    and styles; the script and style sheet are served from the package."""
    async def main():
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                for path in PAGES:
                    async with s.get(f"http://127.0.0.1:{obs.port}{path}?filter=x", headers=auth(obs)) as r:
                        assert r.status == 200 and r.content_type == "text/html", path
                        body = await r.text()
                        assert '<script src="/static/app.js"' in body
                        csp = r.headers["Content-Security-Policy"]
                        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                        assert r.headers["Referrer-Policy"] == "no-referrer"
                for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css"),
                                   ("favicon.svg", "image/svg+xml")):
                    async with s.get(f"http://127.0.0.1:{obs.port}/static/{name}", headers=auth(obs)) as r:
                        assert r.status == 200 and r.content_type == kind
                for bad in ("/static/nope.js", "/static/index.html", "/static/..%2Fserver.py",
                            "/static/.hidden.js", "/processes/1/extra", "/nowhere"):
                    async with s.get(f"http://127.0.0.1:{obs.port}{bad}", headers=auth(obs)) as r:
                        assert r.status == 404, bad
        finally:
            await obs.stop()
    run(main)


def test_the_script_builds_every_element_from_text():
    """Nothing a process holds is rendered as HTML: the page's script never
    assigns innerHTML/outerHTML, never uses insertAdjacentHTML,
    document.write or eval, and has no external URL (no CDN)."""
    from pathlib import Path

    static = Path(observer.__file__).with_name("static")
    script = (static / "app.js").read_text()
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "new Function", "http://", "https://"):
        assert banned not in script.replace("http://www.w3.org/2000/svg", ""), banned
    page = (static / "index.html").read_text()
    assert "<script>" not in page and "style=" not in page and "https://" not in page


# -- one process ---------------------------------------------------------------------


def test_a_process_page_shows_where_it_waits_in_user_code(run):
    """A GenServer waiting for a message is shown waiting in its class (at its
    callbacks), not in the library's receive loop; one waiting in its own
    callback is shown at that line; the stack lists the user's frames and
    marks the library's."""
    async def main():
        worker = await Worker.start_link()
        slow = await Slow.start_link()
        caller = actors.spawn(Slow.call, slow, "go", timeout=None)
        await until(lambda: snapshot.process(slow)["current_function"]["function"] == "Slow.wait_here",
                    "Slow waiting in its own code")
        info = snapshot.process(worker)
        where = info["current_function"]
        assert where["function"] == "Worker: waiting for a message"
        assert where["file"] == __file__ and where["library"] is False
        assert all(f["library"] for f in info["stack"]) and info["stack"]
        assert "gen_server" not in where["function"] and "_loop" not in where["function"]
        slow_info = snapshot.process(slow)
        user = [f["function"] for f in slow_info["stack"] if not f["library"]]
        assert user[:2] == ["Slow.wait_here", "Slow.handle_call"]
        assert slow_info["current_function"]["file"] == __file__
        table = {r["pid"]: r for r in snapshot.processes()["rows"]}
        assert table[str(worker)]["current_function"].startswith("Worker: waiting for a message (")
        assert table[str(slow)]["current_function"].startswith("Slow.wait_here (test_observer_views.py:")
        actors.exit(caller, "kill")

    run(main)


def test_the_library_s_own_names_and_keys_stay_hidden(run):
    """No internal names: the library's process-dictionary keys ($gen_server,
    $initial_call) are left out (and counted), the user's are shown; a
    Registry's initial call is its public name; a process says what it runs."""
    async def main():
        worker = await Worker.start_link()
        reg = await actors.Registry.start_link(keys="unique", name="hidden_reg")

        async def with_dict():
            actors.Process.put("job", 7)
            await actors.receive("never")

        plain = actors.spawn(with_dict)
        await until(lambda: snapshot.process(plain)["dictionary"], "the user's key")
        info = snapshot.process(worker)
        assert info["dictionary"] == {} and info["dictionary_hidden"] == 2
        assert info["server"] == {"kind": "gen_server", "class": "test_observer_views.Worker"}
        assert snapshot.process(plain)["dictionary"] == {"job": "7"}
        assert snapshot.process(plain)["server"] is None
        reg_info = snapshot.process(reg)
        assert reg_info["initial_call"] == "actors.registry.Registry.init"
        assert reg_info["server"]["kind"] == "registry"
        row = next(r for r in snapshot.processes()["rows"] if r["pid"] == str(reg))
        assert row["initial_call"] == "actors.registry.Registry.init"
        assert snapshot.processes(filter="_RegistryServer")["matched"] == 0

    run(main)


def test_the_state_view_goes_through_format_status(run):
    """A server's state is read with sys.get_status, so a class's format_status
    hides what it must (a password); a process that is not a server has no
    state (409), a dead one is 404."""
    async def main():
        vault = await Vault.start_link()
        plain = actors.spawn(idle)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                state = await get(s, obs, f"/api/processes/{n(vault)}/state")
                assert state["state"] == {"owner": "'ada'", "password": "'***'"}
                assert state["class"] == "Vault" and state["status"] == "running"
                assert "hunter2" not in str(state)
                error = await get(s, obs, f"/api/processes/{n(plain)}/state", 409)
                assert "not a GenServer" in error["error"]
                actors.exit(plain, "kill")
                await get(s, obs, f"/api/processes/{n(plain)}/state", 404)
                await get(s, obs, f"/api/processes/{n(plain)}", 404)
        finally:
            await obs.stop()
    run(main)


def test_kill_sends_the_exit_reason_chosen_on_the_page(run):
    """Kill with a reason: the process exits with it (a monitor sees
    "shutdown"); without a body it is "kill"; a reason that is not a short
    string is refused (400) and sends nothing."""
    async def main():
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                victim = actors.spawn(idle)
                ref = actors.monitor(victim)
                for bad in ({"reason": ""}, {"reason": 3}, {"reason": "x" * 201}, [1]):
                    await post(s, obs, f"/api/processes/{n(victim)}/kill", 400, json=bad)
                async with s.post(f"http://127.0.0.1:{obs.port}/api/processes/{n(victim)}/kill",
                                  headers=auth(obs), data=b"not json") as r:
                    assert r.status == 400
                assert actors.Process.alive(victim)
                answer = await post(s, obs, f"/api/processes/{n(victim)}/kill",
                                    json={"reason": "shutdown"})
                assert answer == {"killed": str(victim), "reason": "shutdown"}
                down = await actors.receive(actors.Down(ref, actors.ANY, actors.ANY), timeout=5)
                assert down.reason == "shutdown"
                other = actors.spawn(idle)
                ref = actors.monitor(other)
                await post(s, obs, f"/api/processes/{n(other)}/kill")
                down = await actors.receive(actors.Down(ref, actors.ANY, actors.ANY), timeout=5)
                assert down.reason == "killed"
                await post(s, obs, f"/api/processes/{n(other)}/kill", 404)
        finally:
            await obs.stop()
    run(main)


def test_suspend_and_resume_from_the_page(run):
    """Suspend: the server handles only system messages, so a cast waits in its
    mailbox and the state view says "suspended"; Resume: it is handled.  Only
    servers can be suspended (409)."""
    async def main():
        worker = await Worker.start_link(1)
        plain = actors.spawn(idle)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                assert (await post(s, obs, f"/api/processes/{n(worker)}/suspend"))["status"] == "suspended"
                Worker.cast(worker, 10)
                assert (await get(s, obs, f"/api/processes/{n(worker)}/state"))["status"] == "suspended"
                info = await get(s, obs, f"/api/processes/{n(worker)}")
                assert info["message_queue_len"] == 1 and info["messages"] == ["('$gen_cast', 10)"]
                await post(s, obs, f"/api/processes/{n(worker)}/resume")
                state = await get(s, obs, f"/api/processes/{n(worker)}/state")
                assert state["status"] == "running" and state["state"] == {"n": "11"}
                await post(s, obs, f"/api/processes/{n(plain)}/suspend", 409)
        finally:
            await obs.stop()
    run(main)


# -- tracing -----------------------------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_tracing_shows_messages_in_and_out_live_and_stops(run):
    """Trace from the page: every call, cast and info the server handles (in)
    and every reply (out) is listed, newest last, read with ``since``; Stop
    turns sys.trace off again.  The trace lines do not reach a console that did
    not ask for INFO records of ``actors.sys``."""
    async def main():
        worker = await Worker.start_link()
        root = Collect()
        logging.getLogger().addHandler(root)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                started = await post(s, obs, f"/api/processes/{n(worker)}/trace")
                assert started["active"] is True and started["pid"] == str(worker)
                assert (await actors.sys.get_status(worker))["trace"] is True
                assert await Worker.call(worker, "ping") == ("echo", "ping")
                Worker.cast(worker, 5)
                actors.send(worker, "tick")
                await actors.sys.get_state(worker)          # the three are handled by now
                got = await get(s, obs, f"/api/processes/{n(worker)}/trace?since=0")
                events = [(e["dir"], e["kind"], e["message"]) for e in got["events"]]
                assert events == [("in", "call", "'ping'"), ("out", "reply", "('echo', 'ping')"),
                                  ("in", "cast", "5"), ("in", "info", "'tick'")]
                me = str(actors.self())
                assert got["events"][0]["peer"] == me and got["events"][1]["peer"] == me
                assert got["next"] == 4
                assert (await get(s, obs, f"/api/processes/{n(worker)}/trace?since=4"))["events"] == []
                listed = await get(s, obs, "/api/traces")
                assert [t["pid"] for t in listed] == [str(worker)]
                stopped = await post(s, obs, f"/api/processes/{n(worker)}/trace/stop")
                assert stopped["active"] is False
                assert (await actors.sys.get_status(worker))["trace"] is False
                assert (await get(s, obs, f"/api/processes/{n(worker)}/trace"))["active"] is False
                await post(s, obs, f"/api/processes/{n(worker)}/trace/stop", 404)
                assert await get(s, obs, "/api/traces") == []
        finally:
            await obs.stop()
            logging.getLogger().removeHandler(root)
        assert not [r for r in root.records if getattr(r, "event", None) == "trace"]
        assert logging.getLogger("actors.sys").level == logging.NOTSET

    run(main)


def test_a_trace_the_user_started_is_left_on(run):
    """A server the user already traces with sys.trace stays traced when the
    page stops watching it, and its records still reach the user's handlers."""
    async def main():
        worker = await Worker.start_link()
        logger = logging.getLogger("actors.sys")
        logger.setLevel(logging.INFO)
        mine = Collect()
        logger.addHandler(mine)
        await actors.sys.trace(worker, True)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                await post(s, obs, f"/api/processes/{n(worker)}/trace")
                await Worker.call(worker, "x")
                got = await get(s, obs, f"/api/processes/{n(worker)}/trace")
                assert [e["kind"] for e in got["events"]] == ["call", "reply"]
                await post(s, obs, f"/api/processes/{n(worker)}/trace/stop")
                assert (await actors.sys.get_status(worker))["trace"] is True
                assert len([r for r in mine.records if getattr(r, "event", None) == "trace"]) == 2
        finally:
            await obs.stop()
            logger.removeHandler(mine)
            logger.setLevel(logging.NOTSET)

    run(main)


def test_a_trace_is_bounded(run, monkeypatch):
    """A trace keeps its newest MAX_EVENTS events; above MAX_RATE messages in
    a second it stops itself (and turns sys.trace off), and one nobody reads
    for IDLE_SECONDS is stopped; only servers can be traced (409)."""
    monkeypatch.setattr(tracing, "MAX_RATE", 6)
    monkeypatch.setattr(tracing, "MAX_EVENTS", 4)

    async def main():
        busy = await Worker.start_link()
        quiet = await Worker.start_link()
        tracer = tracing.Tracer()
        try:
            with pytest.raises(LookupError):
                await tracer.start(actors.spawn(idle))
            session = await tracer.start(busy)
            for i in range(10):
                Worker.cast(busy, i)
            await actors.sys.get_state(busy)
            assert session.stopped is not None and "messages in one second" in session.stopped
            assert [e["message"] for e in session.since(0)] == ["2", "3", "4", "5"]
            assert session.summary()["dropped"] == 2
            await tracer.expire()
            assert (await actors.sys.get_status(busy))["trace"] is False
            other = await tracer.start(quiet)
            monkeypatch.setattr(tracing, "IDLE_SECONDS", -1.0)
            await tracer.expire()
            assert tracer.get(quiet) is None and other.stopped == "stopped"
            assert (await actors.sys.get_status(quiet))["trace"] is False
        finally:
            await tracer.close()
        assert tracer.sessions == {}

    run(main)


# -- supervision trees ---------------------------------------------------------------------


def find(nodes, ident):
    for node in nodes:
        if node.get("id") == ident:
            return node
        found = find(node.get("children", []), ident)
        if found:
            return found
    return None


def test_the_tree_shows_strategies_restart_types_and_restarts(run):
    """The supervision graph's data: each supervisor's strategy and intensity;
    each child's id, restart type, restart count and its last restart's
    reason and time; a DynamicSupervisor's children have no id (None, not the
    text "None") but name their module."""
    async def main():
        children = [
            actors.Supervisor.child_spec(Worker, id="flaky", restart="transient"),
            {"id": "pool", "start": (actors.DynamicSupervisor.start_link, (), {"name": "pool"}),
             "type": "supervisor"},
        ]
        sup = await actors.Supervisor.start_link(children, strategy="rest_for_one", name="graph_sup",
                                                 max_restarts=5)
        dyn_child = await actors.DynamicSupervisor.start_child("pool", Worker.child_spec(1))
        trees = await snapshot.tree()
        [root] = [t for t in trees if t["pid"] == str(sup)]
        assert root["strategy"] == "rest_for_one" and root["max_restarts"] == 5
        flaky = find([root], "flaky")
        assert flaky["restart"] == "transient" and flaky["restarts"] == 0
        assert flaky["last_restart"] is None and flaky["modules"] == ["Worker"]
        pool = find([root], "pool")
        assert pool["kind"] == "dynamic_supervisor" and pool["type"] == "supervisor"
        [dyn] = pool["children"]
        assert dyn["id"] is None and dyn["pid"] == str(dyn_child) and dyn["modules"] == ["Worker"]

        old = flaky["pid"]
        ref = actors.monitor(actors.lowlevel.whereis("pool"))        # (a rest_for_one sibling)
        actors.send(snapshot.find_pid(snapshot.pid_number(old)), "crash")
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY), timeout=5)
        flaky = None
        while flaky is None or not str(flaky["pid"]).startswith("<"):
            flaky = find(await snapshot.tree(), "flaky")
        assert flaky["pid"] != old and flaky["restarts"] == 1
        assert flaky["last_restart"]["reason"] == "RuntimeError('asked to crash')"
        assert flaky["last_restart"]["time"] > 0
        assert snapshot.system()["restarts"] >= 1

    run(main)


# -- system ------------------------------------------------------------------------------


def test_the_system_series_count_crashes_and_restarts(run):
    """The System charts' data: one column per measure (messages, reductions,
    scheduler use, run queue, loop lag, processes, memory, crash and restart
    rates), one value per sample; crashes count processes that ended by
    raising, not those that returned or were killed."""
    async def crash():
        raise ValueError("boom")

    async def main():
        sampler = snapshot.Sampler()
        sampler.sample(loop_lag=0.002)
        before = snapshot.system()["crashes"]
        ref = actors.monitor(actors.spawn(crash))
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
        victim = actors.spawn(idle)
        ref = actors.monitor(victim)
        actors.exit(victim, "kill")
        await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
        sampler.sample(loop_lag=0.004)
        summary = snapshot.system(sampler)
        assert summary["crashes"] == before + 1 and summary["crashes_per_second"] > 0
        series = summary["series"]
        assert set(series) == set(snapshot.SERIES)
        assert all(len(v) == 1 for v in series.values())
        assert series["loop_lag_ms"] == [4.0] and summary["loop_lag_ms"] == 4.0
        assert series["process_count"] == [len(actors.Process.list())]
        assert summary["versions"]["python"].startswith("CPython") or summary["versions"]["python"]
        assert summary["versions"]["actors"] == actors.__version__
        assert summary["node"] is None

    logging.getLogger("actors").setLevel(logging.CRITICAL)     # the crash is on purpose
    try:
        run(main)
    finally:
        logging.getLogger("actors").setLevel(logging.NOTSET)


def test_the_census_and_the_sparklines(run):
    """A census walks every process in slices (memory of all processes, queued
    messages), and the last one is freed in slices unless a request is still
    reading it; a followed process gets a history of reductions per second,
    queue and memory, one point per sample; at most ``watch_max`` are followed."""
    async def main():
        pids = [actors.spawn(idle) for _ in range(2500)]
        for _ in range(3):
            actors.send(pids[0], "queued")
        await actors.sleep(0)
        sampler = snapshot.Sampler(watch_max=2)
        await sampler.census()
        assert len(sampler.table) == len(actors.Process.list())
        assert sampler.memory["messages"] == 3 and sampler.memory["processes"] > 2500 * 100
        assert sampler.memory["mailboxes"] > 0
        first = sampler.table
        first.users = 1                         # a request is reading it
        await sampler.census()
        assert sampler.table is not first and len(first) == len(sampler.table)
        first.users = 0
        await first.release()                   # nobody is: freed, a slice at a time
        assert len(first) == 0 and len(first.queues) == 0
        sampler.watch([pids[0], pids[1], pids[2]])
        sampler.sample()
        sampler.sample()
        history = sampler.process_history(pids[2])
        assert history["queue"] == [0] and len(history["t"]) == 1
        assert sampler.process_history(pids[0]) == {k: [] for k in snapshot.PROCESS_SERIES}
        sampler.watch([pids[0]])
        actors.exit(pids[0], "kill")
        await actors.sleep(0)
        sampler.sample()
        assert sampler.process_history(pids[0])["t"] == []
        for pid in pids:
            actors.exit(pid, "kill")

    run(main)


def test_find_pid_finds_a_process_by_its_number(run):
    """A URL names a process by its number: found among live processes; a dead
    or unknown number is None."""
    async def main():
        pids = [actors.spawn(idle) for _ in range(50)]
        actors.exit(pids[10], "kill")
        await actors.sleep(0)
        assert snapshot.find_pid(n(pids[20])) is pids[20]
        assert snapshot.find_pid(n(pids[10])) is None
        assert snapshot.find_pid(10**9) is None and snapshot.find_pid(0) is None

    run(main)


# -- names and registries -----------------------------------------------------------------


def test_registries_show_their_keys_values_and_owners(run):
    """Every Registry is listed with its kind of keys and size; its page lists
    each key with its owner and value, filterable; a process that is not a
    registry has no registry page."""
    async def main():
        await actors.Registry.start_link(keys="unique", name="rooms")
        dup = await actors.Registry.start_link(keys="duplicate")

        async def member(key, value):
            actors.Registry.register("rooms", key, value)
            actors.Registry.register(dup, "topic", value)
            await actors.receive("never")

        owners = [actors.spawn(member, f"room{i}", {"size": i}) for i in range(3)]
        await until(lambda: actors.Registry.count("rooms") == 3, "three rooms")
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                names = await get(s, obs, "/api/names")
                regs = {r["name"]: r for r in names["registries"]}
                assert regs["rooms"]["keys"] == "unique" and regs["rooms"]["count"] == 3
                assert regs[None]["keys"] == "duplicate" and regs[None]["count"] == 3
                rooms = await get(s, obs, f"/api/registries/{n(actors.whereis('rooms'))}")
                assert rooms["name"] == "rooms" and rooms["count"] == 3
                assert {(e["key"], e["pid"], e["value"]) for e in rooms["entries"]} == {
                    (f"'room{i}'", str(owners[i]), f"{{'size': {i}}}") for i in range(3)}
                one = await get(s, obs, f"/api/registries/{n(actors.whereis('rooms'))}?filter=ROOM1")
                assert one["matched"] == 1 and one["entries"][0]["pid"] == str(owners[1])
                await get(s, obs, f"/api/registries/{n(owners[0])}", 404)
        finally:
            await obs.stop()
    run(main)


def test_the_nodes_view_lists_the_connected_nodes(run):
    """Without distribution the view says so; as a node, it lists each
    connected node with the round trip of a ping (a peer that answers)."""
    import socket

    from actors.dist.node import DistNode

    async def main():
        empty = await snapshot.nodes()
        assert empty == {"alive": False, "self": "nonode@nohost", "nodes": []}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        peer = await DistNode.start("obspeer@127.0.0.1", "c00kie", epmd_port=port, builtin_epmd=True)
        try:
            me = await actors.Node.start("obsnode@127.0.0.1", cookie="c00kie", epmd_port=port)
            try:
                assert await actors.Node.connect(peer.name)
                view = await snapshot.nodes()
                assert view["alive"] is True and view["self"] == me
                [link] = view["nodes"]
                assert link["name"] == peer.name and link["ping_ms"] > 0 and link["seen_since"] > 0
                assert snapshot.system()["node"] == me
            finally:
                await actors.Node.stop()
        finally:
            await peer.stop()

    run(main)


# -- security of every new route --------------------------------------------------------------


def test_every_new_route_needs_the_token_its_host_and_its_origin(run):
    """The hardening rules hold for every view and action: no token or a wrong
    one is 401, a foreign Host 403, a foreign Origin 403; actions are POST only
    (a GET is 405, or reads, and does nothing); the process was never touched."""
    async def main():
        victim = await Worker.start_link()
        obs = await observer.start()
        k = n(victim)
        reads = PAGES + ["/static/app.js", f"/api/processes/{k}/state", f"/api/processes/{k}/trace",
                         "/api/traces", "/api/nodes", f"/api/registries/{k}",
                         "/api/nodes/py2@127.0.0.1/system", "/api/nodes/py2@127.0.0.1/processes",
                         "/api/nodes/py2@127.0.0.1/processes/1"]
        actions = [f"/api/processes/{k}/{a}" for a in ("kill", "suspend", "resume", "trace", "trace/stop")]
        base = f"http://127.0.0.1:{obs.port}"
        try:
            async with aiohttp.ClientSession() as s:
                for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                        ({**auth(obs), "Host": "evil.example"}, 403),
                                        ({**auth(obs), "Origin": "http://evil.example"}, 403)):
                    for path in reads:
                        async with s.get(base + path, headers=headers) as r:
                            assert r.status == status, (path, headers)
                    for path in actions:
                        async with s.post(base + path, headers=headers, json={"reason": "kill"}) as r:
                            assert r.status == status, (path, headers)
                for path in actions:          # (a GET of .../trace reads the events)
                    async with s.get(base + path, headers=auth(obs)) as r:
                        assert r.status == (200 if path.endswith("/trace") else 405), path
                assert actors.Process.alive(victim)
                assert (await actors.sys.get_status(victim))["status"] == "running"
                assert (await actors.sys.get_status(victim))["trace"] is False
        finally:
            await obs.stop()
    run(main)


# -- a large system ---------------------------------------------------------------------


def test_a_large_system_is_served_from_the_census(run, monkeypatch):
    """Beyond LIVE_LIMIT processes, the table is chosen among the last census's
    rows a slice at a time, with current values; it ranks, filters and
    counts as the one-pass table does, finds a process spawned after the
    census, and says which census it used."""
    monkeypatch.setattr(snapshot, "LIVE_LIMIT", 100)
    monkeypatch.setattr(snapshot, "_CHUNK", 64)

    async def main():
        pids = [actors.spawn(idle) for _ in range(700)]
        for i, pid in enumerate(pids[:50]):
            for _ in range(i % 7):
                actors.send(pid, "m")
        actors.register("needle_big", pids[333])
        await actors.sleep(0)
        obs = await observer.start()
        try:
            late = actors.spawn(idle)
            await actors.sleep(0)
            async with aiohttp.ClientSession() as s:
                for query, sort, filt, rev in (("sort=message_queue_len&limit=20", "message_queue_len", None, False),
                                              ("sort=pid&limit=15&reverse=1", "pid", None, True),
                                              ("sort=pid&limit=15", "pid", None, False),
                                              ("sort=registered_name&limit=5", "registered_name", None, False),
                                              ("filter=needle&limit=5", "pid", "needle", False)):
                    big = await get(s, obs, f"/api/processes?{query}")
                    one = snapshot.processes(sort=sort, filter=filt, limit=big and len(big["rows"]),
                                             reverse=rev)
                    assert big["as_of"] is not None, query
                    assert [r["pid"] for r in big["rows"]] == [r["pid"] for r in one["rows"]], query
                    assert big["matched"] == one["matched"] and big["total"] == one["total"], query
                assert (await get(s, obs, f"/api/processes/{n(late)}"))["pid"] == str(late)
                assert (await get(s, obs, f"/api/processes/{n(pids[5])}"))["pid"] == str(pids[5])
                actors.exit(pids[6], "kill")
                await get(s, obs, f"/api/processes/{n(pids[6])}", 404)
                await get(s, obs, "/api/processes/999999999", 404)
        finally:
            await obs.stop()
        for pid in pids:
            actors.exit(pid, "kill")

    run(main)


def test_a_supervisor_s_children_are_listed_up_to_a_cap(run, monkeypatch):
    """A supervisor with more children than MAX_CHILDREN lists the first ones
    and counts them all; asked for one root, the tree gives that one whole
    and the others without children."""
    monkeypatch.setattr(snapshot, "MAX_CHILDREN", 3)

    async def main():
        await actors.DynamicSupervisor.start_link(name="many")
        for i in range(7):
            await actors.DynamicSupervisor.start_child("many", Worker.child_spec(i))
        await actors.Supervisor.start_link([actors.Supervisor.child_spec(Worker, id="w")], name="other")
        whole = {t["name"]: t for t in await snapshot.tree()}
        assert len(whole["many"]["children"]) == 3 and whole["many"]["children_total"] == 7
        one = {t["name"]: t for t in await snapshot.tree(root="other")}
        assert one["many"]["collapsed"] is True and one["many"]["children"] == []
        assert one["many"]["strategy"] == "one_for_one"
        assert [c["id"] for c in one["other"]["children"]] == ["w"]
        first = await snapshot.tree(root=None)
        assert first[0]["name"] == "many" and "collapsed" not in first[0]

    run(main)


def test_a_large_registry_page_counts_and_lists_its_entries(run, monkeypatch):
    """A registry of 5,000 entries, read a slice at a time (small slices here,
    and the loop let go after every entry): the page counts every entry,
    lists the first ``limit`` in ``Registry.select``'s order, and a filter
    counts every match however far into the registry it is; the page is
    current (a change shows at the next request)."""
    monkeypatch.setattr(snapshot, "_REGISTRY_SLICE", 64)
    monkeypatch.setattr(snapshot, "_REGISTRY_STEP", 0.0)

    async def main():
        await actors.Registry.start_link(keys="unique", name="big")
        dup = await actors.Registry.start_link(keys="duplicate")

        async def member(lo, hi):
            for i in range(lo, hi):
                actors.Registry.register("big", f"key{i}", {"n": i})
                actors.Registry.register(dup, f"topic{i % 3}", i)
            await actors.receive("never")

        for lo in range(0, 5000, 1000):
            actors.spawn(member, lo, lo + 1000)
        await until(lambda: actors.Registry.count("big") == 5000 == actors.Registry.count(dup),
                    "5,000 entries in each")
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                for reg in (actors.whereis("big"), dup):
                    url = f"/api/registries/{n(reg)}"
                    triples = actors.Registry.select(reg)
                    rows = [{"key": snapshot.short(k), "pid": str(p), "value": snapshot.short(v)}
                            for k, p, v in triples]
                    page = await get(s, obs, f"{url}?limit=300")
                    assert page["count"] == page["matched"] == 5000
                    assert page["entries"] == rows[:300]
                    # "4999" is in the last keys (unique) or values (duplicate): all are counted
                    found = [r for r in rows if "4999" in f"{r['key']} {r['pid']} {r['value']}"]
                    page = await get(s, obs, f"{url}?limit=300&filter=4999")
                    assert (page["count"], page["matched"], page["entries"]) == (5000, len(found), found)
                    assert len(found) == 1
                    nines = [r for r in rows if "99" in f"{r['key']} {r['pid']} {r['value']}"]
                    page = await get(s, obs, f"{url}?limit=30&filter=99")
                    assert page["matched"] == len(nines) > 30 and page["entries"] == nines[:30]
                actors.Registry.register("big", "late", "here")
                page = await get(s, obs, f"/api/registries/{n(actors.whereis('big'))}?filter=late")
                assert (page["count"], page["matched"]) == (5001, 1)
        finally:
            await obs.stop()

    run(main)


def test_a_registry_page_read_while_the_registry_changes(run, monkeypatch):
    """Registrations and unregistrations between the slices of a page's read
    do not break it: each key there all along is shown once, no key twice,
    and the counts agree with what is shown (``matched <= count``; a filtered
    page counts the entries it went through)."""
    monkeypatch.setattr(snapshot, "_REGISTRY_SLICE", 16)
    monkeypatch.setattr(snapshot, "_REGISTRY_STEP", 0.0)
    changes = []                        # one item per change the churner made
    at_slices = []                      # len(changes) when each slice was read
    churners = []
    real = actors.Registry.select_slices

    def watched(*args, **kwargs):
        for part in real(*args, **kwargs):      # each slice asks the churner for a change
            at_slices.append(len(changes))
            actors.send(churners[0], "change")
            yield part

    monkeypatch.setattr(actors.Registry, "select_slices", staticmethod(watched))

    async def main():
        reg = await actors.Registry.start_link(keys="unique")

        async def stable():
            for i in range(300):
                actors.Registry.register(reg, f"s{i}", i)
            await actors.receive("never")

        async def churner():
            for i in itertools.count():
                await actors.receive("change")
                actors.Registry.register(reg, f"c{i}", i)
                if i >= 5:
                    actors.Registry.unregister(reg, f"c{i - 5}")
                changes.append(i)

        actors.spawn(stable)
        churners.append(actors.spawn(churner))
        for _ in range(5):
            actors.send(churners[0], "change")
        await until(lambda: actors.Registry.count(reg) == 305, "300 stable entries, 5 churning")
        loop = asyncio.get_running_loop()
        for query in ({"filter": None, "limit": 1000}, {"filter": "s", "limit": 1000}):
            at_slices.clear()
            # (read in a task of its own, as the server does, while the churner runs)
            page = await loop.create_task(snapshot.registry(reg, **query))
            assert at_slices[-1] - at_slices[0] == len(at_slices) - 1, "a change between slices"
            keys = [e["key"] for e in page["entries"]]
            assert len(keys) == len(set(keys)), "a key shown twice"
            assert {f"'s{i}'" for i in range(300)} <= set(keys)
            assert len(keys) <= page["matched"] <= page["count"]
            if query["filter"]:
                assert page["matched"] == 300 and 300 <= page["count"] <= 305
            else:
                assert page["count"] == 305 and len(keys) < 305   # churned away meanwhile

    run(main)


def test_no_system_request_to_a_server_with_a_long_mailbox(run, monkeypatch):
    """A server with more than SYS_MAILBOX_LIMIT messages queued is not sent a
    system request (it would wait behind them, or, suspended, be searched for
    among them): its state, suspend, resume and trace are refused (409) and
    say why; kill still works."""
    monkeypatch.setattr(snapshot, "SYS_MAILBOX_LIMIT", 5)

    async def main():
        worker = await Worker.start()
        await actors.sys.suspend(worker)
        for i in range(6):
            Worker.cast(worker, i)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                error = await get(s, obs, f"/api/processes/{n(worker)}/state", 409)
                assert "6 messages queued" in error["error"]
                for action in ("suspend", "resume", "trace"):
                    await post(s, obs, f"/api/processes/{n(worker)}/{action}", 409)
                assert (await get(s, obs, f"/api/processes/{n(worker)}"))["message_queue_len"] == 6
                await post(s, obs, f"/api/processes/{n(worker)}/kill")
        finally:
            await obs.stop()

    run(main)
