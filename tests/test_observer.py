"""The observer: its data layer and its JSON API, served from inside a running system.

Like Erlang's observer, it must show what the system is (processes, names,
supervision trees) without stopping it, and its one action (kill) must
need the token.
"""
from __future__ import annotations

import asyncio
import json

import pytest

aiohttp = pytest.importorskip("aiohttp")

import actors
from actors import observer
from actors.observer import snapshot


class Worker(actors.GenServer):
    def handle_call(self, request, from_):
        return request


async def start_tree():
    """sup (one_for_one) -> [w1 (Worker named "w1"), inner (Supervisor) -> [w2]]."""
    inner = actors.Supervisor.child_spec(
        actors.Supervisor.child_spec([actors.Supervisor.child_spec(Worker, id="w2")]), id="inner")
    children = [{"id": "w1", "start": (Worker.start_link, (), {"name": "w1"})}, inner]
    return await actors.Supervisor.start_link(children, name="top_sup")


def auth(obs):
    return {"Authorization": f"Bearer {obs.token}"}


async def get(session, obs, path, status=200, **kw):
    kw.setdefault("headers", auth(obs))
    async with session.get(f"http://127.0.0.1:{obs.port}{path}", **kw) as resp:
        assert resp.status == status, (path, resp.status, await resp.text())
        return await resp.json() if resp.content_type == "application/json" else await resp.text()


def find(tree, ident):
    for node in tree:
        for child in node["children"]:
            if child["id"] == ident:
                return child
            found = find([child], ident) if "children" in child else None
            if found:
                return found
    return None


def test_every_endpoint_describes_the_running_system(run):
    """The page and every read endpoint answer with the live system: counters,
    the process table with registered names, one process's links, the
    supervision tree (nested supervisors included) and the names."""
    async def main():
        sup = await start_tree()
        obs = await observer.start()
        try:
            assert obs.url.startswith(f"http://127.0.0.1:{obs.port}/?token=")
            async with aiohttp.ClientSession() as s:
                page = await get(s, obs, "/")
                assert "actors observer" in page and "/static/app.js" in page
                system = await get(s, obs, "/api/system")
                assert system["process_count"] == len(actors.Process.list())
                assert system["registered"] >= 2 and system["steps"] > 0
                table = await get(s, obs, "/api/processes?sort=reductions&limit=100")
                assert table["total"] == len(actors.Process.list())
                names = {row["registered_name"] for row in table["rows"]}
                assert {"w1", "top_sup"} <= names
                reds = [row["reductions"] for row in table["rows"]]
                assert reds == sorted(reds, reverse=True)
                only = await get(s, obs, "/api/processes?filter=top_sup")
                assert [r["pid"] for r in only["rows"]] == [str(sup)]
                info = await get(s, obs, f"/api/processes/{snapshot.pid_number(sup)}")
                assert info["registered_name"] == "top_sup" and info["trap_exit"] is True
                assert str(actors.whereis("w1")) in info["links"]
                tree = await get(s, obs, "/api/tree")
                assert [root["name"] for root in tree] == ["top_sup"]
                assert find(tree, "w1")["pid"] == str(actors.whereis("w1"))
                inner = find(tree, "inner")
                assert inner["kind"] == "supervisor" and inner["type"] == "supervisor"
                assert [c["id"] for c in inner["children"]] == ["w2"]
                names = await get(s, obs, "/api/names")
                assert {"name": "w1", "pid": str(actors.whereis("w1")),
                        "initial_call": "test_observer.Worker.init"} in names["local"]
        finally:
            await obs.stop()
    run(main)


def test_kill_needs_the_token_and_the_supervisor_restarts_the_child(run):
    """Every action that changes something is a POST that needs the token
    (as every request does); with it, kill sends exit(pid, "kill") and the
    supervisor restarts the child (the tree shows a new pid)."""
    async def main():
        await start_tree()
        obs = await observer.start(token="s3cret")
        try:
            old = actors.whereis("w1")
            path = f"http://127.0.0.1:{obs.port}/api/processes/{snapshot.pid_number(old)}/kill"
            async with aiohttp.ClientSession() as s:
                for kw in ({}, {"headers": {"Authorization": "Bearer wrong"}}):
                    async with s.post(path, **kw) as resp:
                        assert resp.status == 401
                assert actors.Process.alive(old)
                await get(s, obs, f"/api/processes/{snapshot.pid_number(old)}")   # reads are fine
                ref = actors.monitor(old)
                async with s.post(path, headers={"Authorization": "Bearer s3cret"}) as resp:
                    assert resp.status == 200 and (await resp.json())["killed"] == str(old)
                down = await actors.receive((ref, actors.ANY, actors.ANY), timeout=5)
                assert down.reason == "killed"
                tree = await get(s, obs, "/api/tree")
                new = find(tree, "w1")["pid"]
                assert new not in (str(old), None, "restarting")
                assert new == str(actors.whereis("w1"))
                async with s.post(path + "?token=s3cret") as resp:       # token as a query field
                    assert resp.status == 404                             # old pid is gone
        finally:
            await obs.stop()
    run(main)


def test_bad_requests_are_answered_with_client_errors(run):
    """Unknown sort keys and bad limits give 400, unknown pids 404; the
    server keeps serving."""
    async def main():
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                assert "sort" in (await get(s, obs, "/api/processes?sort=nope", 400))["error"]
                assert "limit" in (await get(s, obs, "/api/processes?limit=-1", 400))["error"]
                await get(s, obs, "/api/processes/999999", 404)
                await get(s, obs, "/api/processes/abc", 400)
                await get(s, obs, "/api/system")
        finally:
            await obs.stop()
    run(main)


def test_non_loopback_host_requires_a_token_for_everything(run):
    """Listening beyond loopback without a token is refused before anything
    starts; with one, every request, reads included, must carry it."""
    async def main():
        with pytest.raises(ValueError, match="token"):
            await observer.start(host="0.0.0.0")
        with pytest.raises(ValueError, match="port"):
            await observer.start(port=70000)
        with pytest.raises(TypeError, match="token"):
            await observer.start(token="")
        obs = await observer.start(host="0.0.0.0", token="tok")
        try:
            async with aiohttp.ClientSession() as s:
                await get(s, obs, "/api/system", 401, headers={})
                await get(s, obs, "/", 401, headers={})
                await get(s, obs, "/api/system?token=tok", headers={})
                await get(s, obs, "/api/names", headers={"Authorization": "Bearer tok"})
        finally:
            await obs.stop()
            await obs.stop()        # idempotent
    run(main)


def test_start_outside_a_runtime_is_refused():
    """The observer reads the running system: with no runtime there is nothing to serve."""
    import asyncio

    with pytest.raises(RuntimeError, match="runtime"):
        asyncio.run(observer.start())


def test_process_table_sorts_filters_and_limits(run):
    """``processes`` ranks by any column, filters by text and returns only
    ``limit`` rows, while reporting the totals; bad arguments name themselves."""
    async def idle():
        await actors.receive("never")

    async def main():
        pids = [actors.spawn(idle) for _ in range(5)]
        actors.register("needle_proc", pids[2])
        for _ in range(3):
            await actors.sleep(0)
        table = snapshot.processes(limit=2)
        assert table["total"] == len(actors.Process.list()) and len(table["rows"]) == 2
        assert snapshot.processes(reverse=True)["rows"][0]["pid"] == str(pids[-1])
        found = snapshot.processes(filter="NEEDLE")
        assert found["matched"] == 1 and found["rows"][0]["pid"] == str(pids[2])
        assert snapshot.processes(sort="registered_name")["rows"][0]["registered_name"] == "needle_proc"
        assert snapshot.process(pids[0])["initial_call"].endswith("idle")
        with pytest.raises(ValueError, match="sort"):
            snapshot.processes(sort="bogus")
        with pytest.raises(ValueError, match="limit"):
            snapshot.processes(limit=-1)
        with pytest.raises(TypeError, match="filter"):
            snapshot.processes(filter=3)
        actors.exit(pids[0], "kill")
        await actors.sleep(0)
        assert snapshot.process(pids[0]) is None

    run(main)


def test_sampler_turns_counters_into_rates(run):
    """Messages per second come from two samples of the scheduler's counters."""
    async def echo():
        while True:
            sender, x = await actors.receive((actors.ANY, actors.ANY))
            actors.send(sender, x)

    async def main():
        sampler = snapshot.Sampler(maxlen=2)
        sampler.sample()
        server = actors.spawn(echo)
        for i in range(50):
            actors.send(server, (actors.self(), i))
            await actors.receive(i)
        sampler.sample()
        assert sampler.messages_per_second > 0 and len(sampler.history) == 1
        system = snapshot.system(sampler)
        assert system["messages_per_second"] > 0 and len(system["history"]) == 1
        with pytest.raises(ValueError, match="maxlen"):
            snapshot.Sampler(maxlen=0)

    run(main)


def test_run_with_observe_serves_the_dashboard_while_main_runs(loop_name):
    """actors.run(main, observe={...}) starts the observer before main and stops it
    after; main finds it with actors.observer.running()."""
    import urllib.request

    async def main():
        [obs] = actors.observer.running()
        req = urllib.request.Request(f"http://127.0.0.1:{obs.port}/api/system",
                                     headers={"Authorization": f"Bearer {obs.token}"})
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(req, timeout=10).read())
        return obs, json.loads(body)

    obs, system = actors.run(main, loop=loop_name, observe={"port": 0})
    assert system["process_count"] >= 1
    assert actors.observer.running() == []
    with pytest.raises(TypeError, match="observe"):
        actors.run(main, observe="yes")


def test_the_system_summary_reports_scheduler_busy_time(run):
    """Issue 4's system page: how busy the scheduler is (share of wall time spent
    running processes), between 0 and 100 percent, and its running total."""

    async def main():
        sampler = snapshot.Sampler()
        sampler.sample()
        me = actors.self()
        for i in range(20_000):                     # keep the scheduler busy
            actors.send(me, i)
            await actors.receive()
        await actors.sleep(0.01)
        sampler.sample()
        summary = snapshot.system(sampler)
        assert 0.0 < summary["scheduler_busy_percent"] <= 100.0
        assert actors.lowlevel.current_scheduler().busy_seconds > 0.0

    run(main)


def test_the_system_summary_counts_long_steps(run):
    """Issue 8's long-step reports are counted where the observer shows them."""
    import time

    async def main():
        assert snapshot.system()["long_steps"] == 0
        time.sleep(0.06)                            # one step holds the loop
        await actors.sleep(0.01)
        summary = snapshot.system()
        assert summary["long_steps"] == 1
        assert summary["longest_step_ms"] >= 30

    run(main, long_step=0.03)


# -- issue 8: readable only by its user ---------------------------------------------


async def idle():
    await actors.receive("never")


ROUTES = ["/", "/api/system", "/api/processes", "/api/processes/1", "/api/tree",
          "/api/names", "/static/index.html", "/favicon.ico"]


def test_every_request_needs_the_token(run):
    """Reads included, on loopback included: no token or a wrong one gives 401
    on every route (unknown ones too) and for the kill POST, so a page in the
    same browser cannot read mailboxes or process dictionaries."""
    async def main():
        victim = actors.spawn(idle)
        obs = await observer.start()
        kill = f"/api/processes/{snapshot.pid_number(victim)}/kill"
        try:
            async with aiohttp.ClientSession() as s:
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": obs.token}):
                    for path in ROUTES + [f"{r}?token=wrong" for r in ROUTES]:
                        await get(s, obs, path, 401, headers=headers)
                    async with s.post(f"http://127.0.0.1:{obs.port}{kill}", headers=headers) as resp:
                        assert resp.status == 401
                assert actors.Process.alive(victim)
                await get(s, obs, "/api/system")                        # Bearer header
                await get(s, obs, f"/api/names?token={obs.token}", headers={})
        finally:
            await obs.stop()
    run(main)


def test_the_page_opened_with_the_token_keeps_it_in_a_strict_httponly_cookie(run):
    """Opening ``/?token=...`` sets an HttpOnly, SameSite=Strict cookie; later
    requests without the token in the URL (a reload, the page's own fetches)
    are served with it."""
    async def main():
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                async with s.get(obs.url) as resp:
                    assert resp.status == 200
                    [cookie] = resp.cookies.values()
                    assert cookie.value == obs.token and cookie["httponly"]
                    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
                assert (await get(s, obs, "/api/system", headers={}))["process_count"] >= 1
                assert "actors observer" in await get(s, obs, "/", headers={})
            async with aiohttp.ClientSession(cookies={cookie.key: "wrong"}) as s:
                await get(s, obs, "/api/system", 401, headers={})
        finally:
            await obs.stop()
    run(main)


def test_requests_naming_another_host_are_refused(run):
    """DNS rebinding: a page at evil.example whose name now points at
    127.0.0.1 sends ``Host: evil.example``; even with the token it is
    refused.  Loopback names and addresses are accepted."""
    async def main():
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                for host in ("evil.example", f"evil.example:{obs.port}", "127.0.0.1.evil.example",
                             "localhost.evil.example", "", "[::1"):
                    for path in ("/api/system", "/"):
                        await get(s, obs, path, 403, headers={**auth(obs), "Host": host})
                for host in (f"127.0.0.1:{obs.port}", f"localhost:{obs.port}", "LOCALHOST",
                             f"[::1]:{obs.port}", "127.0.0.2"):
                    await get(s, obs, "/api/system", headers={**auth(obs), "Host": host})
        finally:
            await obs.stop()
    run(main)


def test_a_wildcard_host_accepts_ip_addresses_and_the_allowed_names(run):
    """Listening on 0.0.0.0, the Host may be any IP address (rebinding needs a
    name) or a name given in ``allowed_hosts``; other names are refused."""
    async def main():
        with pytest.raises(TypeError, match="allowed_hosts"):
            await observer.start(allowed_hosts="box.lan")
        obs = await observer.start(host="0.0.0.0", token="tok", allowed_hosts=["box.lan"])
        try:
            async with aiohttp.ClientSession() as s:
                for host in ("10.1.2.3:80", "box.lan", "BOX.LAN:8000", "0.0.0.0"):
                    await get(s, obs, "/api/system", headers={**auth(obs), "Host": host})
                await get(s, obs, "/api/system", 403, headers={**auth(obs), "Host": "evil.example"})
        finally:
            await obs.stop()
    run(main)


def test_cross_origin_requests_are_refused(run):
    """A request whose ``Origin`` is another site (or the opaque ``null``) is
    refused with 403 even with the token, the kill POST included; the page's
    own origin is accepted."""
    async def main():
        victim = actors.spawn(idle)
        obs = await observer.start()
        kill = f"http://127.0.0.1:{obs.port}/api/processes/{snapshot.pid_number(victim)}/kill"
        try:
            async with aiohttp.ClientSession() as s:
                for origin in ("http://evil.example", f"http://localhost:{obs.port + 1}", "null",
                               f"https://evil.example:{obs.port}"):
                    headers = {**auth(obs), "Origin": origin}
                    await get(s, obs, "/api/processes", 403, headers=headers)
                    async with s.post(kill, headers=headers) as resp:
                        assert resp.status == 403
                assert actors.Process.alive(victim)
                own = {**auth(obs), "Origin": f"http://127.0.0.1:{obs.port}"}
                await get(s, obs, "/api/system", headers=own)
                async with s.post(kill, headers=own) as resp:
                    assert resp.status == 200
        finally:
            await obs.stop()
    run(main)


def test_start_prints_the_url_with_its_token_and_that_url_works(run, capsys):
    """Like Jupyter: ``observer.start()`` prints the URL, token included, on
    stderr; opening it gives the page, and its token reads the API."""
    async def main():
        obs = await observer.start()
        try:
            printed = capsys.readouterr().err
            assert obs.url in printed and f"token={obs.token}" in printed
            url = next(w for w in printed.split() if w.startswith("http://"))
            async with aiohttp.ClientSession() as s:
                async with s.get(url) as resp:
                    assert resp.status == 200 and "actors observer" in await resp.text()
                async with s.get(url.replace("/?", "/api/system?")) as resp:
                    assert resp.status == 200 and (await resp.json())["process_count"] >= 1
        finally:
            await obs.stop()
    run(main)


def test_run_with_observe_prints_the_url(loop_name, capsys):
    """``actors.run(main, observe=True)`` prints the observer's URL with its token."""
    async def main():
        [obs] = actors.observer.running()
        return obs.url, capsys.readouterr().err

    url, printed = actors.run(main, loop=loop_name, observe=True)
    assert url in printed and "?token=" in url


def test_a_huge_mailbox_is_read_only_as_a_bounded_prefix(run):
    """A process with a million queued messages: the table and the detail
    look at only the first MAILBOX_PREVIEW messages.  The detail shows those
    and how many more there are; the memory sizes count the rest at the
    prefix's average (the first messages are small and the rest big, so a
    full walk would report gigabytes), and a huge message is shown cut."""
    n = 1_000_000
    big = b"x" * 10_000                 # one object, queued many times

    async def main():
        hoarder = actors.spawn(idle)
        actors.send(hoarder, ["z" * 10**7])       # shallow size small, repr huge
        for i in range(1, snapshot.MAILBOX_PREVIEW):
            actors.send(hoarder, i)
        for _ in range(n - snapshot.MAILBOX_PREVIEW):
            actors.send(hoarder, big)
        await actors.sleep(0)
        full_walk = n * len(big)
        obs = await observer.start()
        try:
            async with aiohttp.ClientSession() as s:
                info = await get(s, obs, f"/api/processes/{snapshot.pid_number(hoarder)}")
                assert info["message_queue_len"] == n
                assert len(info["messages"]) == snapshot.MAILBOX_PREVIEW
                assert info["messages"][1:4] == ["1", "2", "3"]
                assert info["messages_more"] == n - snapshot.MAILBOX_PREVIEW
                assert len(info["messages"][0]) <= 300
                assert info["memory"] < full_walk / 10
                table = await get(s, obs, "/api/processes?sort=message_queue_len&limit=1")
                [row] = table["rows"]
                assert row["pid"] == str(hoarder) and row["message_queue_len"] == n
                assert row["memory"] < full_walk / 10
        finally:
            await obs.stop()
    run(main)
