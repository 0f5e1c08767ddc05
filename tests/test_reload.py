"""actors.reload: hot code reload of running GenServers (issue 4).

Each test writes two real versions of a module to ``tmp_path``, imports the
first, starts servers, rewrites the file and reloads: the servers must run
the new code with their state migrated by ``code_change(old_vsn, extra)``,
keep every message sent during the upgrade, and a failing ``code_change``
must leave its server on the old code (OTP's release handling:
suspend, load, change_code, resume).
"""
from __future__ import annotations

import importlib
import itertools
import sys
import textwrap

import pytest

import actors
from actors import ANY, CallExit, Process
from actors import sys as asys
from actors.gen_server import GenServer
from actors.reload import ReloadReport, reload

_names = itertools.count()

V1 = '''
import actors
from actors.gen_server import GenServer

class Counter(GenServer):
    vsn = 1

    def init(self, start=0):
        self.count = start

    def handle_call(self, request, from_):
        if request == "get":
            return self.count
        if request == "version":
            return 1

    def handle_cast(self, n):
        self.count += n

class Other(GenServer):
    def handle_call(self, request, from_):
        return "other v1"
'''

# Version 2 keeps a dict of counts and a log of the casts it handled; its
# handle_call is async (the server loop must notice); code_change migrates.
V2 = '''
import actors
from actors.gen_server import GenServer

class Counter(GenServer):
    vsn = 2

    def init(self, start=0):
        self.counts = {"default": start}
        self.handled = []

    async def code_change(self, old_vsn, extra):
        if old_vsn != 1:
            raise ValueError(f"cannot upgrade from {old_vsn!r}")
        if self.count < 0:
            self.counts = "half-migrated"        # restored on failure
            raise ValueError(f"negative count {self.count}")
        if extra == "wait":                      # pause mid-upgrade (see the tests)
            actors.send("reload_test", ("upgrading", actors.self()))
            await actors.receive("finish the upgrade")
        self.counts = {"default": self.count}
        del self.count
        self.handled = [("migrated", old_vsn, extra)]

    async def handle_call(self, request, from_):
        if request == "get":
            return self.counts
        if request == "version":
            return 2
        if request == "handled":
            return list(self.handled)

    def handle_cast(self, n):
        self.counts["default"] += n
        self.handled.append(n)

class Other(GenServer):
    def handle_call(self, request, from_):
        return "other v2"
'''


@pytest.fixture
def module_file(tmp_path, monkeypatch):
    """``write(source)`` writes a fresh module in tmp_path (on sys.path) and returns
    its name; rewriting it later and reloading loads the new source (no stale .pyc)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    name = f"reload_subject_{next(_names)}"
    path = tmp_path / f"{name}.py"

    def write(source):
        path.write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return name

    yield write
    sys.modules.pop(name, None)


def test_reload_upgrades_every_server_of_the_module(run, module_file):
    """reload(module) re-imports it and moves every running server of its classes to
    the new class; code_change(old_vsn, extra) migrates each state; the servers run
    the new code (even an async handle_call where the old one was plain); servers
    started afterwards use the new code; servers of other modules are untouched."""
    name = module_file(V1)

    class Elsewhere(GenServer):
        def handle_call(self, request, from_):
            return "elsewhere"

    async def main():
        mod = importlib.import_module(name)
        a = await mod.Counter.start_link(1)
        b = await mod.Counter.start_link(2, name="counter_b")
        other = await mod.Other.start_link()
        elsewhere = await Elsewhere.start_link()
        actors.GenServer.cast(a, 10)
        assert await GenServer.call(a, "version") == 1
        module_file(V2)
        report = await reload(mod, extra="x")
        assert isinstance(report, ReloadReport)
        assert report.module == name
        assert report.upgraded == [a, b, other]
        assert report.failed == {} and report.ok
        assert await GenServer.call(a, "version") == 2
        assert await GenServer.call(a, "get") == {"default": 11}
        assert await GenServer.call("counter_b", "get") == {"default": 2}
        assert await GenServer.call(a, "handled") == [("migrated", 1, "x")]
        assert await GenServer.call(other, "x") == "other v2"
        assert await GenServer.call(elsewhere, "x") == "elsewhere"
        status = await asys.get_status(a)
        assert status["vsn"] == 2 and status["class"] is mod.Counter
        assert status["state"] == {"counts": {"default": 11}, "handled": [("migrated", 1, "x")]}
        fresh = await mod.Counter.start_link(5)
        assert await GenServer.call(fresh, "get") == {"default": 5}

    run(main)


def test_messages_sent_during_the_upgrade_are_all_processed(run, module_file):
    """While a server is suspended for its upgrade, calls, casts and infos sent to it
    wait in its mailbox; after resume the new code handles every one, in order."""
    name = module_file(V1)

    async def main():
        me = actors.self()
        actors.register("reload_test", me)
        mod = importlib.import_module(name)
        pid = await mod.Counter.start_link(0)
        for n in (1, 2):
            GenServer.cast(pid, n)
        module_file(V2)

        async def reloader():
            actors.send(me, ("report", await reload(name, extra="wait")))

        actors.spawn(reloader)
        _, upgrading = await actors.receive(("upgrading", ANY))
        assert upgrading == pid                        # now inside code_change, suspended
        for n in (3, 4, 5):
            GenServer.cast(pid, n)

        async def caller():
            actors.send(me, ("version", await GenServer.call(pid, "version")))

        actors.spawn(caller)
        actors.send(pid, "finish the upgrade")         # code_change's own receive
        _, report = await actors.receive(("report", ANY))
        assert report.upgraded == [pid] and report.failed == {}
        assert await actors.receive(("version", ANY)) == ("version", 2)
        assert await GenServer.call(pid, "get") == {"default": 15}
        assert await GenServer.call(pid, "handled") == [("migrated", 1, "wait"), 3, 4, 5]

    run(main)


def test_a_failing_code_change_leaves_that_server_on_the_old_code(run, module_file):
    """A code_change that raises leaves its server on the old class with its old state
    (restored even if code_change changed it first) and running; the report says why;
    the other servers are upgraded."""
    name = module_file(V1)

    async def main():
        mod = importlib.import_module(name)
        good = await mod.Counter.start_link(3)
        bad = await mod.Counter.start_link(-1)
        module_file(V2)
        report = await reload(mod)
        assert report.upgraded == [good]
        assert list(report.failed) == [bad] and not report.ok
        assert isinstance(report.failed[bad], ValueError)
        assert "negative count -1" in str(report.failed[bad])
        assert await GenServer.call(good, "version") == 2
        assert await GenServer.call(bad, "version") == 1
        assert await asys.get_state(bad) == {"count": -1}
        GenServer.cast(bad, 4)                           # still running, old code
        assert await GenServer.call(bad, "get") == 3
        assert (await asys.get_status(bad))["status"] == "running"

    run(main)


def test_a_class_the_new_module_no_longer_defines(run, module_file):
    """A server whose class disappeared from the new module stays on its old code and
    is reported with a LookupError."""
    name = module_file(V1)

    async def main():
        mod = importlib.import_module(name)
        other = await mod.Other.start_link()
        counter = await mod.Counter.start_link()
        module_file(V2.split("class Other")[0])
        report = await reload(mod)
        assert report.upgraded == [counter]
        assert isinstance(report.failed[other], LookupError)
        assert "Other" in str(report.failed[other])
        assert await GenServer.call(other, "x") == "other v1"

    run(main)


def test_a_module_that_fails_to_load_upgrades_nothing(run, module_file):
    """If re-importing fails, the error is raised, every server resumes on its old code,
    and the messages sent meanwhile are handled."""
    name = module_file(V1)

    async def main():
        mod = importlib.import_module(name)
        pid = await mod.Counter.start_link(1)
        module_file(V1 + "\ndef broken(:\n")
        with pytest.raises(SyntaxError):
            await reload(mod)
        GenServer.cast(pid, 1)
        assert await GenServer.call(pid, "version") == 1
        assert await GenServer.call(pid, "get") == 2
        assert (await asys.get_status(pid))["status"] == "running"

    run(main)


def test_reload_twice_and_from_a_name(run, module_file):
    """A server upgraded once is found again by the next reload (its recorded class
    follows it); reload accepts the module's name."""
    name = module_file(V1)
    v3 = V2.replace("vsn = 2", "vsn = 3").replace(
        "if old_vsn != 1:", "if old_vsn == 2:\n            self.handled = ['from 2']\n"
        "            return\n        if old_vsn != 1:")

    async def main():
        mod = importlib.import_module(name)
        pid = await mod.Counter.start_link(1)
        module_file(V2)
        assert (await reload(name)).upgraded == [pid]
        module_file(v3)
        assert (await reload(name)).upgraded == [pid]
        assert (await asys.get_status(pid))["vsn"] == 3
        assert await GenServer.call(pid, "handled") == ["from 2"]
        assert await GenServer.call(pid, "get") == {"default": 1}

    run(main)


def test_tracing_follows_the_upgrade(run, module_file, caplog):
    """A traced server keeps being traced after the upgrade, and the trace shows the
    new code's replies."""
    import logging
    caplog.set_level(logging.INFO, logger="actors.sys")
    name = module_file(V1)

    async def main():
        mod = importlib.import_module(name)
        pid = await mod.Counter.start_link(1)
        await asys.trace(pid, True)
        module_file(V2)
        assert (await reload(mod)).upgraded == [pid]
        caplog.clear()
        assert await GenServer.call(pid, "version") == 2
        assert [r.trace[0] for r in caplog.records if r.name == "actors.sys"] == ["in", "out"]
        assert caplog.records[-1].trace[1] == 2

    run(main)


def test_a_server_that_dies_during_the_reload_is_reported(run, module_file):
    """A server that exits before it can be suspended is reported with the CallExit met
    on the way (its exit reason); the others are upgraded."""
    name = module_file(V1.replace('        if request == "get":', """\
        if request == "die once suspend is asked":
            me = actors.self()
            actors.send("reload_test", "dying")
            while not any(type(m) is tuple and m[:1] == ("$system",)
                          for m in actors.Process.info(me, "messages")):
                await actors.sleep(0)
            raise RuntimeError("bye")
        if request == "get":""").replace("    def handle_call(", "    async def handle_call("))

    async def main():
        mod = importlib.import_module(name)
        doomed = await mod.Counter.start()
        fine = await mod.Counter.start_link(1)
        dead = await mod.Counter.start()
        await GenServer.stop(dead)                        # dead servers are not looked for

        async def dying_call():
            await GenServer.call(doomed, "die once suspend is asked", timeout=None)

        actors.register("reload_test", actors.self())
        actors.spawn(dying_call)
        await actors.receive("dying")                   # doomed is inside handle_call
        module_file(V2)
        report = await reload(mod)
        assert report.upgraded == [fine]
        assert list(report.failed) == [doomed]
        assert isinstance(report.failed[doomed], CallExit)
        assert isinstance(report.failed[doomed].reason, RuntimeError)
        assert not Process.alive(doomed)

    run(main)


def test_bad_arguments(run):
    """reload's module must be a module or the name of an imported one; bad timeouts
    are refused; all before anything is suspended."""
    async def main():
        with pytest.raises(TypeError, match="module"):
            await reload(42)
        with pytest.raises(ValueError, match="module"):
            await reload("no_such_module_is_imported_here")
        with pytest.raises(ValueError, match="timeout"):
            await reload(importlib.import_module("json"), timeout=-1)

    run(main)


def test_reload_from_plain_asyncio_code(aio_run, module_file):
    """reload works from asyncio code running an actors.Runtime, like GenServer.call."""
    name = module_file(V1)

    async def app():
        async with actors.Runtime():
            mod = importlib.import_module(name)
            pid = await mod.Counter.start(4)
            module_file(V2)
            report = await reload(mod)
            assert report.upgraded == [pid]
            assert await GenServer.call(pid, "get") == {"default": 4}
        return "ok"

    assert aio_run(app) == "ok"
