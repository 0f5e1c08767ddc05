"""The pytest plugin ``actors.testing`` (docs/api.md section 10, docs/guides/testing.md).

Most promises are about what pytest reports, so they are checked by running
small test files with pytest's ``pytester`` (in process, with the plugin
given as ``-p actors.testing``: installed or not, it is then registered once).
The assertions themselves are also used directly, in tests of this module
that are actors tests.
"""
from __future__ import annotations

import re
import sys
import time
import tomllib
from pathlib import Path

import pytest

import actors
from actors import lowlevel
from actors import ANY, Down
from actors.testing import (assert_receive, assert_received, refute_receive, refute_received,
                            start_supervised, stop_supervised)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guides" / "testing.md"


@pytest.fixture
def run_tests(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Write ``source`` as a test module and run pytest on it with the plugin
    (and no other: installed plugins are not loaded)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def run(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_it=source)
        return pytester.runpytest("-p", "actors.testing", "-p", "no:cacheprovider", *args)

    return run


HEADER = """
import asyncio
import pytest
import actors
from actors import ANY
from actors.testing import *
"""


# -- tests that are processes -------------------------------------------------------------


def test_a_marked_test_runs_as_the_main_process_of_a_runtime(run_tests):
    """The test is a process: it has a pid, a mailbox, and spawns processes."""
    result = run_tests(HEADER + """
async def echo():
    sender, x = await actors.receive()
    actors.send(sender, ("echo", x))

@pytest.mark.actors
async def test_echo():
    me = actors.self()
    assert isinstance(me, actors.Pid)
    assert actors.Process.info(me, "initial_call").endswith("test_echo")
    actors.send(actors.spawn(echo), (me, 1))
    assert await actors.receive(("echo", ANY), timeout=5) == ("echo", 1)
""")
    result.assert_outcomes(passed=1)


def test_a_failed_assertion_fails_the_test_with_the_tests_own_traceback(run_tests):
    """pytest shows the test's source and its rewritten assert, not the runtime's frames."""
    result = run_tests(HEADER + """
@pytest.mark.actors
async def test_sum():
    total = 1 + 1
    assert total == 3
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([">       assert total == 3", "E       assert 2 == 3"])
    assert "runtime.py" not in result.stdout.str()
    assert "testing.py" not in result.stdout.str()


def test_a_crash_in_the_test_process_shows_where_it_crashed(run_tests):
    """An exception raised deep in the user's code is reported with its traceback."""
    result = run_tests(HEADER + """
def parse(text):
    return int(text)

@pytest.mark.actors
async def test_parse():
    await actors.sleep(0)
    parse("forty-two")
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([">       parse(\"forty-two\")", "test_it.py:13: ", "*",
                                 "    def parse(text):", ">       return int(text)", "*",
                                 "E       ValueError: invalid literal for int()*",
                                 "test_it.py:8: ValueError"])
    out = result.stdout.str()
    assert "runtime.py" not in out and "testing.py" not in out
    assert "exited with reason" not in out      # reported once, not also as a crash report


def test_a_marked_test_that_is_not_async_fails_saying_so(run_tests):
    result = run_tests(HEADER + """
@pytest.mark.actors
def test_plain():
    pass
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_plain is marked @pytest.mark.actors but is not an async "
                                 "function*define it with `async def`*"])


def test_a_test_killed_by_an_exit_signal_fails_with_the_reason_and_the_crash(run_tests):
    """A linked process that crashes kills the test process: the test fails
    with the reason, and the crash's traceback."""
    result = run_tests(HEADER + """
async def worker():
    raise KeyError("lost")

@pytest.mark.actors
async def test_linked():
    actors.spawn_link(worker)
    await actors.receive()
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*the test process was killed by an exit signal with reason KeyError('lost')*",
        "*in worker", "*raise KeyError(\"lost\")"])


def test_processes_left_running_are_shut_down_when_the_test_ends(run_tests):
    """A test does not hang on what it leaves behind: a process blocked in
    receive, a linked one, one that traps exits and ignores the shutdown
    (killed after its grace period, on the mock clock)."""
    result = run_tests(HEADER + """
async def forever():
    await actors.receive("never sent")

async def stubborn():
    actors.Process.flag("trap_exit", True)
    while True:
        await actors.receive()

@pytest.mark.actors
async def test_leaves_processes(mock_clock):
    actors.spawn(forever)
    actors.spawn_link(forever)
    actors.spawn(stubborn)
""")
    result.assert_outcomes(passed=1)


def test_the_marker_on_a_class_or_a_module_marks_its_tests(run_tests):
    result = run_tests(HEADER + """
pytestmark = pytest.mark.actors

async def test_module_level():
    assert actors.self() is not None

@pytest.mark.actors
class TestGroup:
    async def test_method(self):
        assert actors.self() is not None
""")
    result.assert_outcomes(passed=2)


def test_pytest_outcomes_raised_in_the_test_process_count(run_tests):
    """``pytest.skip`` and ``pytest.fail`` work inside an actors test."""
    result = run_tests(HEADER + """
@pytest.mark.actors
async def test_skips():
    await actors.sleep(0)
    pytest.skip("not today")

@pytest.mark.actors
async def test_fails():
    pytest.fail("on purpose")
""")
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*on purpose*"])


# -- fixtures -----------------------------------------------------------------------------


def test_the_test_gets_its_sync_fixtures(run_tests):
    result = run_tests(HEADER + """
@pytest.fixture
def greeting():
    return "hello"

@pytest.mark.actors
async def test_fixtures(greeting, tmp_path):
    assert greeting == "hello"
    assert tmp_path.is_dir()
""")
    result.assert_outcomes(passed=1)


def test_an_async_fixture_is_refused(run_tests):
    """No plugin runs ``async def`` fixtures here: pytest refuses them, clearly."""
    result = run_tests(HEADER + """
@pytest.fixture
async def server():
    return actors.spawn(actors.receive)

@pytest.mark.actors
async def test_uses_it(server):
    pass
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*requested an async fixture 'server'*"])


def test_mock_clock_makes_an_hour_of_sleep_instant(run_tests):
    """With ``mock_clock`` the test runs on MockClock(autojump=True)."""
    result = run_tests(HEADER + """
import time

@pytest.mark.actors
async def test_an_hour(mock_clock):
    assert isinstance(mock_clock, actors.MockClock) and mock_clock.autojump
    started = time.monotonic()
    await actors.sleep(3600)
    assert mock_clock() >= 3600
    assert time.monotonic() - started < 60
""")
    result.assert_outcomes(passed=1)


# -- --actors-loop -----------------------------------------------------------------------

LOOP_TEST = HEADER + """
@pytest.mark.actors
async def test_loop(actors_loop):
    loop = type(asyncio.get_running_loop())
    assert loop.__module__.startswith("uvloop") == (actors_loop == "uvloop")
"""


def test_by_default_actors_tests_run_on_asyncio(run_tests):
    result = run_tests(LOOP_TEST, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_loop[[]asyncio[]] PASSED*"])


def test_actors_loop_runs_each_test_on_each_loop(run_tests):
    pytest.importorskip("uvloop")
    result = run_tests(LOOP_TEST, "-v", "--actors-loop=asyncio,uvloop")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_loop[[]asyncio[]] PASSED*", "*test_loop[[]uvloop[]] PASSED*"])


def test_without_uvloop_its_runs_are_skipped_with_the_reason(run_tests, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)      # as if not installed
    result = run_tests(LOOP_TEST, "-rs", "--actors-loop=asyncio,uvloop")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*uvloop is not installed*"])


def test_an_unknown_loop_is_a_usage_error(run_tests):
    result = run_tests(LOOP_TEST, "--actors-loop=asyncio,trio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--actors-loop: unknown event loop 'trio'*asyncio, uvloop*"])


def test_the_plugin_given_twice_is_registered_once(run_tests, pytester):
    """``-p actors.testing`` (or the installed entry point, of the same name)
    and a conftest's ``pytest_plugins``: one plugin, no conflict."""
    pytester.makeconftest('pytest_plugins = ["actors.testing"]')
    result = run_tests(LOOP_TEST)
    result.assert_outcomes(passed=1)


def test_the_entry_point_is_named_after_the_module():
    """pytest registers an entry-point plugin under the entry point's name and
    skips ``-p``/``pytest_plugins`` names already registered: the same name
    means the plugin loads once however it is asked for."""
    pyproject = ROOT / "pyproject.toml"
    entry_points = tomllib.loads(pyproject.read_text())["project"]["entry-points"]["pytest11"]
    assert entry_points == {"actors.testing": "actors.testing"}


# -- mailbox assertions, inside actors tests --------------------------------------------


@pytest.mark.actors
async def test_assert_receive_returns_the_first_matching_message_and_keeps_the_others():
    me = actors.self()
    for msg in [1, "a", ("pong", 2), "b"]:
        actors.send(me, msg)
    assert await assert_receive(("pong", int)) == ("pong", 2)
    assert actors.flush() == [1, "a", "b"]


@pytest.mark.actors
async def test_assert_receive_waits_for_a_message_on_its_way(mock_clock):
    actors.send_after(actors.self(), "late", 0.05)
    assert await assert_receive("late") == "late"
    assert mock_clock() == pytest.approx(0.05, abs=0.01)


def test_assert_receive_fails_showing_the_pattern_and_a_bounded_mailbox(run_tests):
    """ExUnit's "no matching message after 100ms. The process mailbox is: ..."."""
    result = run_tests(HEADER + """
@pytest.mark.actors
async def test_no_pong(mock_clock):
    for i in range(15):
        actors.send(actors.self(), ("ping", i))
    await assert_receive(("pong", ANY))
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       AssertionError: assert_receive: no message matching ('pong', ANY) arrived "
        "within 0.1 s.",
        "E       The mailbox of <*> (15 messages):",
        "E           ('ping', 0)",
        "E           ('ping', 9)",
        "E           ... and 5 more"])
    assert "('ping', 10)" not in result.stdout.str()


def test_an_empty_mailbox_is_shown_as_empty(run_tests):
    result = run_tests(HEADER + """
@pytest.mark.actors
async def test_nothing(mock_clock):
    await assert_receive("hello", timeout=2)
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E       AssertionError: assert_receive: no message matching "
                                 "'hello' arrived within 2 s.", "E       The mailbox of <*> is empty."])


@pytest.mark.actors
async def test_assert_received_keeps_the_rest_of_the_mailbox_in_order():
    me = actors.self()
    for msg in [1, "a", 2, "b", 3]:
        actors.send(me, msg)
    assert assert_received(str) == "a"
    assert actors.flush() == [1, 2, "b", 3]


@pytest.mark.actors
async def test_assert_received_does_not_wait_for_a_message_on_its_way(mock_clock):
    actors.send_after(actors.self(), "soon", 0)
    with pytest.raises(AssertionError, match=r"assert_received: no message matching 'soon' is in "
                                              r"the mailbox\.\nThe mailbox of <.*> is empty\."):
        assert_received("soon")
    assert await assert_receive("soon") == "soon"


@pytest.mark.actors
async def test_refute_receive_passes_when_nothing_matching_comes(mock_clock):
    actors.send(actors.self(), "other")
    await refute_receive("hello")
    assert mock_clock() == pytest.approx(0.1)       # it watched the whole timeout
    assert actors.flush() == ["other"]


@pytest.mark.actors
async def test_refute_receive_fails_on_a_message_that_arrives_in_time(mock_clock):
    actors.send_after(actors.self(), ("pong", 7), 0.05)
    with pytest.raises(AssertionError, match=r"refute_receive: received \('pong', 7\), which "
                                              r"matches \('pong', ANY\), within 0\.1 s"):
        await refute_receive(("pong", ANY))


def test_refute_receive_failing_fails_the_test(run_tests):
    result = run_tests(HEADER + """
@pytest.mark.actors
async def test_unexpected(mock_clock):
    actors.send(actors.self(), "first")
    actors.send(actors.self(), ("pong", 1))
    await refute_receive(("pong", ANY))
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       AssertionError: refute_receive: received ('pong', 1), which matches "
        "('pong', ANY), within 0.1 s.",
        "E       The mailbox of <*> (1 message):", "E           'first'"])


@pytest.mark.actors
async def test_refute_received_looks_at_the_mailbox_and_removes_nothing():
    me = actors.self()
    actors.send(me, "a")
    actors.send(me, ("pong", 1))
    refute_received(("ping", ANY))
    with pytest.raises(AssertionError, match=r"refute_received: \('pong', 1\), which matches "
                                              r"\('pong', ANY\), is in the mailbox"):
        refute_received(("pong", ANY))
    assert actors.flush() == ["a", ("pong", 1)]


@pytest.mark.actors
async def test_a_long_message_is_cut_in_the_report():
    actors.send(actors.self(), "x" * 1000)
    with pytest.raises(AssertionError) as failed:
        assert_received(int)
    line = str(failed.value).splitlines()[-1]
    assert line.endswith("...") and len(line) < 300


@pytest.mark.actors
@pytest.mark.parametrize("call", [
    lambda: assert_receive(ANY, timeout="soon"),
    lambda: refute_receive(ANY, timeout=None),
    lambda: assert_receive(ANY, timeout=True),
])
async def test_a_timeout_that_is_not_seconds_is_a_type_error_naming_it(call):
    with pytest.raises(TypeError, match="timeout"):
        call()


@pytest.mark.actors
@pytest.mark.parametrize("call", [
    lambda: assert_receive(ANY, timeout=-1),
    lambda: refute_receive(ANY, timeout=float("nan")),
])
async def test_a_negative_timeout_is_a_value_error_naming_it(call):
    with pytest.raises(ValueError, match="timeout"):
        call()


@pytest.mark.parametrize("call", [
    lambda: assert_receive(ANY),
    lambda: assert_received(ANY),
    lambda: refute_receive(ANY),
    lambda: refute_received(ANY),
])
def test_the_assertions_outside_a_process_are_a_runtime_error(call):
    with pytest.raises(RuntimeError, match="must be called inside a process"):
        call()


class Point:
    def __init__(self, x):
        self.x = x


class Point3D(Point):
    pass


class EqualToAll:
    """A message that says it equals anything (patterns compare with ``==``)."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


REF = object()          # stands for a Ref made inside the test (see below)


@pytest.mark.actors
async def test_assert_received_matches_as_receive_does():
    """The assertions that look at the mailbox without waiting use the core's
    ``matches`` and ``receive_nowait``, which follow the rules of ``receive``:
    every pattern kind, against messages that match it and that do not."""
    ref = actors.make_ref()
    me = actors.self()
    p3 = Point3D(1)
    patterns = [ANY, int, str, Point, Point3D, type, "a", 1, 1.0, (), ("a", ANY), ("a", int),
                (ANY, (ANY, str)), {"k": 1}, {"k": ANY, "j": str}, {}, actors.where(lambda m: m == 2),
                me, ref, Down(ref, ANY, ANY), (ref, ANY), p3, None, True]
    messages = [1, 2, True, 1.0, "a", "b", Point(1), p3, int, (), ("a", 1), ("a", "b"), ("a",),
                (1, (2, "x")), {"k": 1}, {"k": 2, "j": "x"}, {"j": "x"}, [1], me, ref,
                Down(ref, me, "normal"), (ref, me, "normal"), (ref, 1), None, False, b"a",
                EqualToAll(), ("a", EqualToAll())]
    for pattern in patterns:
        for msg in messages:
            actors.send(me, msg)
            by_receive = await actors.receive(pattern, timeout=0, default=REF) is not REF
            actors.flush()
            assert lowlevel.matches(pattern, msg) == by_receive, (pattern, msg)
            actors.send(me, msg)
            taken = lowlevel.receive_nowait(pattern, default=REF) is not REF
            actors.flush()
            assert taken == by_receive, (pattern, msg)


# -- supervised processes -----------------------------------------------------------------


class Store(actors.GenServer):
    def init(self, value=None):
        self.value = value

    def handle_call(self, request, from_):
        return self.value


@pytest.mark.actors
async def test_start_supervised_returns_the_pid_of_a_running_child():
    pid = await start_supervised((Store, 42))
    assert await actors.GenServer.call(pid, "get") == 42
    other = await start_supervised(Store, id="second")
    assert other != pid and await actors.GenServer.call(other, "get") is None


@pytest.mark.actors
async def test_start_supervised_takes_every_kind_of_spec():
    specs = [Store, actors.Supervisor.child_spec((Store, 1), id="tuple"),
             actors.ChildSpec(id="spec", start=(Store.start_link, (2,))),
             {"id": "dict", "start": (Store.start_link, (3,))},
             actors.Supervisor.child_spec([Store], id="nested")]
    pids = [await start_supervised(spec) for spec in specs]
    assert all(actors.Process.alive(pid) for pid in pids)


class Announcer(actors.GenServer):
    def init(self, test):
        actors.send(test, ("started", actors.self()))


@pytest.mark.actors
async def test_a_crashed_child_is_restarted_by_the_test_supervisor():
    pid = await start_supervised((Announcer, actors.self()))
    assert await assert_receive(("started", ANY)) == ("started", pid)
    actors.exit(pid, "crash")
    _, again = await assert_receive(("started", ANY), timeout=5)
    assert again is not pid and actors.Process.alive(again)


@pytest.mark.actors
async def test_the_same_id_twice_is_a_start_error_that_says_what_to_do():
    await start_supervised(Store)
    with pytest.raises(actors.StartError, match=r"already_started.*id=") as failed:
        await start_supervised(Store)
    assert failed.value.reason[0] == "already_started"


def test_a_child_that_fails_to_start_fails_the_test_with_the_reason(run_tests):
    result = run_tests(HEADER + """
class Broken(actors.GenServer):
    def init(self):
        raise RuntimeError("no database")

@pytest.mark.actors
async def test_start_it():
    await start_supervised(Broken)
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*raise RuntimeError(\"no database\")", "E       RuntimeError: no database",
        "*direct cause*",
        ">       await start_supervised(Broken)",
        "E       actors.StartError: start_supervised: child <class 'test_it.Broken'> failed to "
        "start: RuntimeError('no database')"])


def test_supervised_children_stop_in_reverse_order_when_the_test_ends(run_tests):
    """Before the runtime shuts down (the test process is still alive), newest
    first, each as its spec says (a trapping GenServer runs ``terminate``)."""
    result = run_tests(HEADER + """
STOPPED = []

class Named(actors.GenServer):
    def init(self, name, test):
        actors.Process.flag("trap_exit", True)
        self.name, self.test = name, test

    def terminate(self, reason):
        STOPPED.append((self.name, reason, actors.Process.alive(self.test)))

@pytest.mark.actors
async def test_a_start_three():
    me = actors.self()
    for name in "abc":
        await start_supervised(actors.ChildSpec(id=name, start=(Named.start_link, (name, me))))

def test_b_they_stopped_newest_first():
    assert STOPPED == [("c", "shutdown", True), ("b", "shutdown", True), ("a", "shutdown", True)]
""")
    result.assert_outcomes(passed=2)


@pytest.mark.actors
async def test_stop_supervised_stops_a_child_for_good():
    pid = await start_supervised(Store, id="store")
    ref = actors.monitor(pid)
    await stop_supervised("store")
    await assert_receive(Down(ref, pid, "shutdown"))
    assert await start_supervised(Store, id="store") is not pid     # the id is free again


@pytest.mark.actors
async def test_stop_supervised_of_an_unknown_id_is_a_lookup_error():
    with pytest.raises(LookupError, match="stop_supervised: no child with id 'nobody'"):
        await stop_supervised("nobody")
    await start_supervised(Store)
    with pytest.raises(LookupError, match="'nobody'"):
        await stop_supervised("nobody")


@pytest.mark.actors
async def test_start_supervised_is_for_the_test_process_only():
    async def helper(parent):
        try:
            await start_supervised(Store)
        except RuntimeError as exc:
            actors.send(parent, ("refused", str(exc)))

    actors.spawn(helper, actors.self())
    _, text = await assert_receive(("refused", str), timeout=5)
    assert "must be called by the test process itself" in text


def test_start_supervised_outside_an_actors_test_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"only inside an @pytest.mark.actors test"):
        start_supervised(Store).send(None)
    with pytest.raises(RuntimeError, match=r"only inside an @pytest.mark.actors test"):
        stop_supervised("x").send(None)


def test_mock_clock_is_an_autojumping_mock_clock(mock_clock):
    """Outside an actors test too, for ``actors.run(main, clock=mock_clock)``."""
    started = time.monotonic()

    async def main():
        await actors.sleep(3600)
        return mock_clock()

    assert actors.run(main, clock=mock_clock) >= 3600
    assert time.monotonic() - started < 60


# -- the guide ----------------------------------------------------------------------------

GUIDE_BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)


@pytest.mark.parametrize("block", GUIDE_BLOCKS,
                         ids=[f"block{i}" for i in range(len(GUIDE_BLOCKS))])
def test_the_guides_examples_pass(run_tests, block):
    """docs/guides/testing.md teaches with complete test modules: each passes,
    on both loops."""
    result = run_tests(block, "--actors-loop=asyncio,uvloop")
    if "def test_" in block:
        assert result.ret == pytest.ExitCode.OK and result.parseoutcomes().get("passed"), \
            result.stdout.str()
    else:
        assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()
