"""Testing actors programs with pytest: ExUnit's helpers, spelled for Python.

``actors.testing`` is a pytest plugin.  Installing ``actors`` installs it
(the ``pytest11`` entry point ``actors.testing``): there is nothing to
import to turn it on.  In a checkout used without installing, add
``pytest_plugins = ["actors.testing"]`` to a ``conftest.py``, or run
``pytest -p actors.testing``.

Example
-------
::

    import pytest
    import actors
    from actors.testing import assert_receive, refute_receive

    @pytest.mark.actors
    async def test_pong():
        async def pong():
            sender, n = await actors.receive()
            actors.send(sender, ("pong", n + 1))

        pid = actors.spawn(pong)
        actors.send(pid, (actors.self(), 41))
        assert await assert_receive(("pong", int)) == ("pong", 42)
        await refute_receive(("pong", actors.ANY))

Tests that are processes
------------------------
A test marked ``@pytest.mark.actors`` is an ``async def`` function that runs
as the first process of a fresh runtime: the plugin calls
``actors.run(test, ...)``, so inside the test ``actors.self()`` is the test's
own pid, ``receive`` reads its mailbox, and processes it spawns or links to
are its own.  When the test returns, the processes it left running are shut
down in reverse start order (as ``actors.run`` does), so a test never hangs
on a process it forgot.  The marker may also be put on a class or a module
(``pytestmark = pytest.mark.actors``); a marked test that is not
``async def`` fails with a message saying so.

An exception in the test (a failed ``assert``, a crash) fails it with the
test's own traceback.  If the test process is killed by an exit signal
(it linked to a process that crashed, say) the test fails with the signal's
reason, and the crash's traceback when the reason is an exception.

Event loops
-----------
``--actors-loop`` says which event loops every actors test runs on, as a
comma-separated list: ``pytest --actors-loop=asyncio,uvloop`` runs each of
them twice, with ids ``[asyncio]`` and ``[uvloop]``.  The default is
``asyncio``.  Where uvloop is not installed its runs are skipped, with that
reason.  The ``actors_loop`` fixture gives the test the name of its loop.

Time
----
Request the ``mock_clock`` fixture and the test runs on an
``actors.MockClock(autojump=True)``: whenever every process is blocked, the
clock jumps to the next timer, so ``await actors.sleep(3600)``, receive
timeouts, ``send_after`` and supervisor restart windows all finish at once,
in the order real time would give, and ``refute_receive`` costs nothing.
The fixture is the clock itself: ``mock_clock()`` reads it, and
``mock_clock.advance(seconds)`` moves it by hand.

Mailbox assertions
------------------
The four assertions of ExUnit, for the calling process (any process, not
only a test).  Each takes one pattern, as ``actors.receive`` does (``ANY``,
a class, a tuple, a dict, ``where(predicate)``, or a value compared with
``==``).  A failure raises ``AssertionError`` with the pattern and the
mailbox as it is (the first ``MAILBOX_SHOWN`` messages, then how many more)::

    AssertionError: assert_receive: no message matching ('pong', ANY) arrived within 0.1 s.
    The mailbox of <0.1.0> (2 messages):
        ('ping', 1)
        'hello'

* ``await assert_receive(pattern, timeout=0.1)`` waits up to ``timeout``
  seconds for a matching message, removes it from the mailbox and returns it;
* ``assert_received(pattern)`` does the same without waiting (a plain call):
  the message must already be there;
* ``await refute_receive(pattern, timeout=0.1)`` fails if a matching message
  arrives within ``timeout`` seconds (so it waits the whole ``timeout`` when
  all is well: use ``mock_clock`` and it is instant);
* ``refute_received(pattern)`` fails if a matching message is in the mailbox
  now; it removes nothing.

Like ``receive``, the assertions that take a message leave the others where
they were, in order.

Supervised processes
--------------------
``await start_supervised(spec)`` starts a child under a supervisor that
belongs to the test and returns its pid.  ``spec`` is any child spec
(``ChildSpec``, a dict, a GenServer class ``Counter``, a tuple ``(Counter,
arg)``, a list of children for a nested supervisor); keyword arguments
change its fields (``start_supervised(Counter, id="c2")``), which is how two
children of one class get their own ids.  The supervisor restarts the
children as their specs say.  When the test ends, before the runtime shuts
down, the children are stopped in reverse start order, each as its
``shutdown`` says: a GenServer that traps exits runs its ``terminate``.
A child that fails to start fails the test: ``start_supervised`` raises
``StartError`` with the reason (the crash of ``init``, shown with its
traceback).  ``await stop_supervised(child_id)`` stops one of them earlier.
Both are for the test process itself.

Fixtures
--------
An actors test receives its fixtures' values as arguments, like any test.
Fixtures run outside the runtime: before it starts and after it stops.
Sync fixtures work as always (data, temporary files, monkeypatching); they
cannot spawn processes, since no runtime runs yet.  Async fixtures are not
supported: pytest refuses an ``async def`` fixture that no plugin handles,
and one run by another plugin (pytest-asyncio, anyio) runs on that plugin's
loop, not in the test's runtime.  Start processes in the test, with
``start_supervised`` (stopped for you) or in a helper ``async def`` that the
test awaits.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import traceback
import warnings
from collections.abc import Coroutine
from typing import Any, cast

import pytest

import actors
from actors import lowlevel
from actors.lowlevel import MockClock, NoProcess, Pid, ProcessExit, StartError
from actors import Supervisor

# (The fixtures, mock_clock and actors_loop, are the plugin's: not for import.)
__all__ = ["MAILBOX_SHOWN", "assert_receive", "assert_received", "mailbox_report",
           "refute_receive", "refute_received", "start_supervised", "stop_supervised"]

#: The event loops ``--actors-loop`` accepts (``actors.run(loop=...)``).
LOOPS = ("asyncio", "uvloop")

#: How many messages a failed assertion shows from the mailbox.
MAILBOX_SHOWN = 10

#: A shown message's repr is cut to this many characters.
_REPR_LIMIT = 200

_NOTHING: Any = object()


# -- the plugin: options, marker, parametrization, running a test as a process ----------

def _parse_loops(value: str) -> tuple[str, ...]:
    names = [name.strip() for name in value.split(",")]
    for name in names:
        if name not in LOOPS:
            raise argparse.ArgumentTypeError(
                f"unknown event loop {name!r}: give a comma-separated list of "
                f"{', '.join(LOOPS)}, e.g. --actors-loop=asyncio,uvloop")
    return tuple(dict.fromkeys(names))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--actors-loop=asyncio,uvloop``: the loops every actors test runs on."""
    group = parser.getgroup("actors", "actors: tests that run as processes")
    group.addoption(
        "--actors-loop", dest="actors_loops", metavar="LOOPS", type=_parse_loops,
        default=("asyncio",),
        help="run each @pytest.mark.actors test on these event loops, comma-separated: "
             f"{', '.join(LOOPS)} (default: asyncio)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``actors`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "actors: run this async def test as a process under actors.run, on each "
        "event loop of --actors-loop (actors.testing)")


def _marked(collector: pytest.Module | pytest.Class, obj: object) -> bool:
    if collector.get_closest_marker("actors") is not None:
        return True
    return any(getattr(mark, "name", None) == "actors" for mark in getattr(obj, "pytestmark", ()))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str,
                              obj: object) -> None:
    """Give every marked ``async def`` test the ``actors_loop`` fixture, which
    ``pytest_generate_tests`` then parametrizes over ``--actors-loop``."""
    if (collector.istestfunction(obj, name) and inspect.iscoroutinefunction(obj)
            and _marked(collector, obj)):
        pytest.mark.usefixtures("actors_loop")(obj)


def _loop_param(name: str) -> Any:
    if name == "uvloop" and importlib.util.find_spec("uvloop") is None:
        return pytest.param(name, id=name, marks=pytest.mark.skip(
            reason='uvloop is not installed (pip install "actors-otp[uvloop]")'))
    return pytest.param(name, id=name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each marked test once per loop of ``--actors-loop`` (ids ``[asyncio]``...)."""
    if "actors_loop" in metafunc.fixturenames and metafunc.definition.get_closest_marker("actors"):
        loops = cast("tuple[str, ...]", metafunc.config.getoption("actors_loops"))
        metafunc.parametrize("actors_loop", [_loop_param(name) for name in loops])


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a marked test as the main process of ``actors.run``."""
    if pyfuncitem.get_closest_marker("actors") is None:
        return None
    fn = pyfuncitem.obj
    if not inspect.iscoroutinefunction(fn):
        pytest.fail(
            f"{pyfuncitem.name} is marked @pytest.mark.actors but is not an async function: "
            f"an actors test runs as a process, so define it with `async def`", pytrace=False)
    # The test's own arguments, as pytest's default pytest_pyfunc_call gives them.
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop = str(pyfuncitem.funcargs.get("actors_loop", LOOPS[0]))
    clock = pyfuncitem.funcargs.get("mock_clock")
    result = _run_test(fn, kwargs, loop, clock)
    if result is not None:
        warnings.warn(pytest.PytestReturnNotNoneWarning(
            f"Test functions should return None, but {pyfuncitem.nodeid} returned "
            f"{type(result)!r}."), stacklevel=1)
    return True


class _TestRun:
    """The test being run: its process and its supervisor (started on first use)."""

    def __init__(self, pid: Pid) -> None:
        self.pid = pid
        self.supervisor: Pid | None = None

    async def stop_supervisor(self) -> None:
        """Stop the supervised children in reverse start order, then their supervisor."""
        sup = self.supervisor
        if sup is None:
            return
        self.supervisor = None
        lowlevel.unlink(sup)
        try:
            await Supervisor.stop(sup)
        except NoProcess:
            pass                    # it had exited already (and its children with it)


#: The actors test that is running, if any (one runtime runs at a time).
_current: _TestRun | None = None


def _run_test(fn: Any, kwargs: dict[str, Any], loop: str,
              clock: Any) -> Any:
    """Run ``fn(**kwargs)`` as the main process of a runtime; raise what it raised."""
    __tracebackhide__ = True
    failure: list[BaseException] = []
    result: list[Any] = [None]

    async def test_process() -> None:
        global _current
        run = _current = _TestRun(lowlevel.self())
        try:
            try:
                result[0] = await fn(**kwargs)
            except (ProcessExit, GeneratorExit, KeyboardInterrupt):
                raise               # an exit signal: the process exits with it
            except BaseException as exc:
                # Kept, not raised: the test process ends normally, so the
                # failure is reported once, by pytest, without a crash report.
                failure.append(exc)
            try:
                await run.stop_supervisor()
            except Exception as exc:
                if not failure:
                    failure.append(exc)
        finally:
            _current = None

    # Process.info and crash reports name the test, not this wrapper.
    test_process.__module__ = fn.__module__
    test_process.__qualname__ = fn.__qualname__
    test_process.__name__ = fn.__name__
    try:
        actors.run(test_process, loop=loop, clock=clock)
    except ProcessExit as exc:
        failure.append(exc)
    if failure and isinstance(failure[0], ProcessExit):
        pytest.fail(_exit_message(failure[0].reason), pytrace=False)
    if failure:
        raise failure[0]
    return result[0]


def _exit_message(reason: Any) -> str:
    text = f"the test process was killed by an exit signal with reason {reason!r}"
    if isinstance(reason, BaseException):       # a crash, most often of a linked process
        crash = "".join(traceback.format_exception(reason)).rstrip()
        text += f":\n\n{crash}"
    return text


# -- mailbox assertions -----------------------------------------------------------------

def _check(what: str, timeout: Any = _NOTHING) -> Pid:
    if not lowlevel.in_process():
        raise RuntimeError(f"{what} must be called inside a process (an @pytest.mark.actors "
                           f"test, or a process it started): it looks at the caller's mailbox")
    if timeout is not _NOTHING:
        lowlevel.check_seconds(timeout, f"{what}: timeout", allow_none=False)
    return lowlevel.self()


def _short(msg: Any) -> str:
    text = repr(msg)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def mailbox_report(pid: Pid) -> str:
    """The mailbox of ``pid`` as the assertions show it: the first
    ``MAILBOX_SHOWN`` messages, one per line, then how many more there are."""
    count = lowlevel.process_info(pid, "message_queue_len")
    if not count:
        return f"The mailbox of {pid!r} is empty."
    shown = lowlevel.process_info(pid, "messages", mailbox_limit=MAILBOX_SHOWN)[:MAILBOX_SHOWN]
    lines = [f"The mailbox of {pid!r} ({count} message{'' if count == 1 else 's'}):"]
    lines += [f"    {_short(msg)}" for msg in shown]
    if count > len(shown):
        lines.append(f"    ... and {count - len(shown)} more")
    return "\n".join(lines)


def _seconds(timeout: float) -> str:
    return f"{timeout:g} s"


def assert_receive(pattern: Any, timeout: float = 0.1) -> Coroutine[Any, Any, Any]:
    """Wait for a message matching ``pattern``, take it and return it; fail if none comes.

    ExUnit's ``assert_receive``: ``msg = await assert_receive(("pong", ANY))``.

    Args:
        pattern: a receive pattern (see ``actors.receive``).
        timeout: seconds to wait (on the runtime's clock: instant with
            ``mock_clock``); ``0`` does not wait.

    Returns:
        An awaitable: await it at once, in the calling process.  It gives the
        message, removed from the mailbox (the others stay, in order).

    Raises:
        AssertionError: no matching message within ``timeout`` (the message
            shows the pattern and the mailbox).
        RuntimeError: called outside a process.
        TypeError, ValueError: ``timeout`` is not a number of seconds >= 0.
    """
    _check("assert_receive()", timeout)
    return _assert_receive(pattern, timeout)


async def _assert_receive(pattern: Any, timeout: float) -> Any:
    __tracebackhide__ = True
    msg = await lowlevel.receive(pattern, timeout=timeout, default=_NOTHING)
    if msg is _NOTHING:
        raise AssertionError(
            f"assert_receive: no message matching {pattern!r} arrived within "
            f"{_seconds(timeout)}.\n{mailbox_report(lowlevel.self())}")
    return msg


def assert_received(pattern: Any) -> Any:
    """Take and return a message matching ``pattern`` that is already in the mailbox.

    ExUnit's ``assert_received``: it does not wait (a plain call, not awaited)
    and leaves the other messages in their order.

    Raises:
        AssertionError: no message in the mailbox matches (the message shows
            the pattern and the mailbox).
        RuntimeError: called outside a process.
    """
    __tracebackhide__ = True
    me = _check("assert_received()")
    msg = lowlevel.receive_nowait(pattern, default=_NOTHING)
    if msg is _NOTHING:
        raise AssertionError(
            f"assert_received: no message matching {pattern!r} is in the mailbox.\n"
            f"{mailbox_report(me)}")
    return msg


def refute_receive(pattern: Any, timeout: float = 0.1) -> Coroutine[Any, Any, None]:
    """Fail if a message matching ``pattern`` arrives within ``timeout`` seconds.

    ExUnit's ``refute_receive``: ``await refute_receive(("pong", ANY))``.
    When no such message comes it waits the whole ``timeout`` (instant with
    ``mock_clock``).  A matching message already in the mailbox fails it too.

    Args:
        pattern: a receive pattern (see ``actors.receive``).
        timeout: seconds to watch the mailbox; ``0`` only looks at it.

    Raises:
        AssertionError: a matching message came (it is shown, with the rest of
            the mailbox).
        RuntimeError: called outside a process.
        TypeError, ValueError: ``timeout`` is not a number of seconds >= 0.
    """
    _check("refute_receive()", timeout)
    return _refute_receive(pattern, timeout)


async def _refute_receive(pattern: Any, timeout: float) -> None:
    __tracebackhide__ = True
    msg = await lowlevel.receive(pattern, timeout=timeout, default=_NOTHING)
    if msg is not _NOTHING:
        raise AssertionError(
            f"refute_receive: received {_short(msg)}, which matches {pattern!r}, within "
            f"{_seconds(timeout)}.\n{mailbox_report(lowlevel.self())}")


def refute_received(pattern: Any) -> None:
    """Fail if a message matching ``pattern`` is in the mailbox now.

    ExUnit's ``refute_received``: it does not wait and removes nothing.

    Raises:
        AssertionError: a matching message is there (it is shown, with the mailbox).
        RuntimeError: called outside a process.
    """
    __tracebackhide__ = True
    me = _check("refute_received()")
    for msg in lowlevel.process_info(me, "messages"):
        if lowlevel.matches(pattern, msg):
            raise AssertionError(
                f"refute_received: {_short(msg)}, which matches {pattern!r}, is in the "
                f"mailbox.\n{mailbox_report(me)}")


# -- supervised processes ---------------------------------------------------------------

def _test_run(what: str) -> _TestRun:
    run = _current
    if run is None:
        raise RuntimeError(f"{what} works only inside an @pytest.mark.actors test "
                           f"(the plugin stops the children when the test ends)")
    if not lowlevel.in_process() or lowlevel.self() is not run.pid:
        raise RuntimeError(f"{what} must be called by the test process itself, "
                           f"not by a process it started")
    return run


async def start_supervised(spec: Any, **overrides: Any) -> Pid | None:
    """Start a child under the test's supervisor and return its pid.

    ExUnit's ``start_supervised!``.  The child is stopped when the test ends,
    in reverse start order with the others, before the runtime shuts down.

    Args:
        spec: any child spec: a ``ChildSpec``, a dict, a GenServer class, a
            ``(class, arg)`` tuple, a list of children (a nested supervisor).
        **overrides: spec fields to change (``id``, ``restart``,
            ``shutdown``, ``type``...), as ``Supervisor.child_spec`` takes them.

    Returns:
        The child's ``Pid``; ``None`` if its start function chose not to start
        (``init`` raised ``actors.Ignore``).

    Raises:
        StartError: the child failed to start (``.reason`` says why, and an
            exception raised by ``init`` is chained), or a child with the same
            id runs already (``.reason`` is ``("already_started", pid)``: give
            it another ``id=``).
        TypeError, ValueError: ``spec`` is malformed.
        RuntimeError: not called by the process of an actors test.
    """
    __tracebackhide__ = True
    run = _test_run("start_supervised()")
    child = Supervisor.child_spec(spec, **overrides)
    if run.supervisor is None or not lowlevel.is_alive(run.supervisor):
        # One_for_one and restarts without a limit that matters, as ExUnit's
        # test supervisor: a child's crashes never take the others down.
        run.supervisor = await Supervisor.start_link(
            [], strategy="one_for_one", max_restarts=1_000_000, max_seconds=1.0)
        assert run.supervisor is not None
    try:
        return await Supervisor.start_child(run.supervisor, child)
    except StartError as exc:
        reason = exc.reason
        hint = ""
        if isinstance(reason, tuple) and reason and reason[0] == "already_started":
            hint = " (a running child has this id: give this one its own, with id=...)"
        cause = reason if isinstance(reason, BaseException) else None
        raise StartError(reason, f"start_supervised: child {child.id!r} failed to start: "
                                 f"{reason!r}{hint}") from cause


async def stop_supervised(child_id: Any) -> None:
    """Stop a child that ``start_supervised`` started, and forget it.

    ExUnit's ``stop_supervised!``: the child stops as its spec's ``shutdown``
    says and is not restarted.

    Raises:
        LookupError: no child with this id was started by ``start_supervised``
            (or it was temporary and has exited).
        RuntimeError: not called by the process of an actors test.
    """
    __tracebackhide__ = True
    run = _test_run("stop_supervised()")
    sup = run.supervisor
    try:
        if sup is None:
            raise LookupError(child_id)
        await Supervisor.terminate_child(sup, child_id)
    except LookupError:
        raise LookupError(f"stop_supervised: no child with id {child_id!r} was started "
                          f"with start_supervised") from None
    try:
        await Supervisor.delete_child(sup, child_id)
    except LookupError:
        pass                        # a temporary child's spec goes with it


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def mock_clock() -> MockClock:
    """An ``actors.MockClock(autojump=True)``: an actors test that requests it
    runs on this clock, so timers fire at once when every process waits."""
    return MockClock(autojump=True)


@pytest.fixture
def actors_loop(request: pytest.FixtureRequest) -> str:
    """The event loop the test runs on: ``"asyncio"`` or ``"uvloop"``
    (parametrized by ``--actors-loop`` for actors tests)."""
    loops = cast("tuple[str, ...]", request.config.getoption("actors_loops"))
    return loops[0]
