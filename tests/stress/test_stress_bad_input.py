"""Bad input over the public API: it works, or it says what was wrong.

Hypothesis calls the public functions with arbitrary arguments, a few calls in
a row. Each call either works or raises ``TypeError``/``ValueError`` whose
message names the bad argument, or the documented exception of that function
(``NoProcess``, ``Timeout``, ``AlreadyRegistered``, ``StartError``...), and the
scheduler keeps running afterwards (a round trip to another process works).
"""
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stresslib import HYPOTHESIS, LOOPS

import actors
from actors import ANY

pytestmark = pytest.mark.stress


class Placeholder:
    """Stands for a runtime object that only exists inside the run."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


LIVE, DEAD, SERVER, REF, TREF = (Placeholder(n) for n in ("LIVE", "DEAD", "SERVER", "REF", "TREF"))


async def async_fn(*args, **kwargs):
    return None


async def crash_fn(*args, **kwargs):
    raise RuntimeError("crashed on purpose")


def sync_fn(*args, **kwargs):
    return None


async def wait_forever():
    await actors.receive("never sent to anybody")


async def start_ok(*args, **kwargs):
    """A child spec start function that works."""
    return actors.spawn_link(wait_forever)


async def start_junk(*args, **kwargs):
    """A child spec start function that returns something other than a pid."""
    return "not a pid"


class Server(actors.GenServer):
    def handle_call(self, request, from_):
        return request


SPECIALS = [LIVE, DEAD, SERVER, REF, TREF, async_fn, crash_fn, sync_fn, start_ok, start_junk,
            ANY, print, object, actors.Down, actors.via("nowhere", 1), math.inf, -math.inf,
            math.nan, 1e300, -0.0, "shutdown", "kill", "normal", "trap_exit", "permanent",
            "worker", "one_for_one", "brutal_kill"]

junk = st.deferred(lambda: st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(), st.floats(),
    st.text(max_size=4), st.binary(max_size=2), st.sampled_from(SPECIALS),
    st.lists(junk, max_size=2), st.tuples(junk, junk),
    st.dictionaries(st.text(max_size=2), junk, max_size=2),
))
fns = st.sampled_from([async_fn, crash_fn, sync_fn, start_ok, start_junk]) | junk
hashable = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.tuples(st.integers()))
spec_dicts = st.fixed_dictionaries(
    {"id": hashable | junk, "start": st.tuples(fns, st.lists(junk, max_size=2).map(tuple)) | junk},
    optional={"restart": st.sampled_from(["permanent", "transient", "temporary"]) | junk,
              "shutdown": st.sampled_from(["brutal_kill", None, 0, 1.5]) | junk,
              "type": st.sampled_from(["worker", "supervisor"]) | junk,
              "bogus": junk})
specs = spec_dicts | junk
# Valid timeouts are kept finite, so that every call ends (the clock jumps).
bounded_timeout = st.one_of(st.floats(-1, 10), st.integers(-1, 10), junk).filter(
    lambda t: t is not None and not (isinstance(t, (int, float)) and not isinstance(t, bool) and t > 10))

# name -> (argument strategy: (args, kwargs), names a message may use, documented exceptions)
OPS = {
    "spawn": (st.tuples(st.tuples(fns, junk), st.just({})), ["fn"], ()),
    "spawn_link": (st.tuples(st.tuples(fns), st.just({})), ["fn"], ()),
    "spawn_monitor": (st.tuples(st.tuples(fns, junk), st.just({})), ["fn"], ()),
    "send": (st.tuples(st.tuples(junk, junk), st.just({})), ["dest"], (actors.NoProcess,)),
    "receive": (st.tuples(st.lists(junk, max_size=2).map(tuple),
                          st.fixed_dictionaries({"timeout": bounded_timeout},
                                                optional={"default": junk})),
                ["timeout"], (actors.Timeout,)),
    "link": (st.tuples(st.tuples(junk), st.just({})), ["pid"], (actors.NoProcess,)),
    "unlink": (st.tuples(st.tuples(junk), st.just({})), ["pid"], ()),
    "monitor": (st.tuples(st.tuples(junk), st.just({})), ["dest"], ()),
    "demonitor": (st.tuples(st.tuples(junk, junk), st.just({})), ["ref"], ()),
    "exit": (st.tuples(st.tuples(junk, junk), st.just({})), ["pid"], ()),
    "send_after": (st.tuples(st.tuples(junk, junk, junk), st.just({})), ["dest", "seconds"], ()),
    "cancel_timer": (st.tuples(st.tuples(junk), st.just({})), ["tref"], ()),
    "register": (st.tuples(st.tuples(junk | st.text(max_size=2), junk), st.just({})),
                 ["name", "pid"], (actors.AlreadyRegistered,)),
    "unregister": (st.tuples(st.tuples(junk), st.just({})), ["name"], ()),
    # whereis(name) and call(server) say "dest" in their message: see
    # test_name_lookups_name_their_argument.
    "whereis": (st.tuples(st.tuples(junk), st.just({})), ["name", "dest"], ()),
    "Process.flag": (st.tuples(st.tuples(st.just("trap_exit") | junk, junk), st.just({})),
                     ["flag", "value"], ()),
    "GenServer.call": (st.tuples(st.tuples(junk, junk), st.fixed_dictionaries({"timeout": bounded_timeout})),
                       ["server", "timeout", "dest"], (actors.NoProcess, actors.Timeout, actors.CallExit)),
    "Supervisor.start_link": (
        st.tuples(st.tuples(st.lists(specs, max_size=3) | junk),
                  st.fixed_dictionaries({}, optional={"strategy": junk, "max_restarts": junk,
                                                      "max_seconds": junk, "name": junk})),
        ["children", "strategy", "max_restarts", "max_seconds", "name"], (actors.StartError,)),
    "ChildSpec": (st.tuples(st.just(()), spec_dicts),
                  ["id", "start", "restart", "shutdown", "type", "child spec", "bogus"], ()),
}

FUNCTIONS = {
    "Process.flag": actors.Process.flag,
    "GenServer.call": actors.GenServer.call,
    "Supervisor.start_link": actors.Supervisor.start_link,
    "ChildSpec": actors.ChildSpec,
}

calls = st.lists(st.sampled_from(sorted(OPS)).flatmap(
    lambda name: OPS[name][0].map(lambda a: (name, a[0], a[1]))), min_size=1, max_size=4)


def names_argument(message, names):
    """Whether ``message`` names one of ``names`` as the thing that is wrong
    (``"timeout must be"``, ``"register(name, pid): ..."``, ``"children[0]: ..."``,
    ``"start function must be"``, ``"unexpected keyword argument 'x'"``),
    not merely uses the word (``"a registered name (str)"``)."""
    return any(re.search(rf"\b{n}(\s+(function|args|kwargs))?\s*(must|is|has|=|:|\)|\[|,)"
                         rf"|[(,]\s*{n}\b|'{n}'", message) for n in map(re.escape, names))


async def echo():
    while True:
        sender, x = await actors.receive((actors.Pid, ANY))
        actors.send(sender, ("echo", x))


async def resolve(value, env):
    """``value`` with its placeholders replaced by live runtime objects."""
    if isinstance(value, Placeholder):
        if value is LIVE:
            return actors.spawn(wait_forever)
        return env[value.name]
    if isinstance(value, tuple):
        return tuple([await resolve(v, env) for v in value])
    if isinstance(value, list):
        return [await resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: await resolve(v, env) for k, v in value.items()}
    return value


async def exercise(steps):
    actors.Process.flag("trap_exit", True)      # links to crashing children must not end the test
    me = actors.self()
    dead, ref = actors.spawn_monitor(async_fn)
    await actors.receive(actors.Down(ref, ANY, ANY))
    env = {"DEAD": dead, "SERVER": await Server.start_link(), "REF": actors.make_ref(),
           "TREF": actors.send_after(me, "tref fired", 100)}
    checker = actors.spawn(echo)
    for i, (name, args, kwargs) in enumerate(steps):
        fn = FUNCTIONS.get(name) or getattr(actors, name)
        args = await resolve(args, env)
        kwargs = await resolve(kwargs, env)
        _, names, documented = OPS[name]
        try:
            result = fn(*args, **kwargs)
            if hasattr(result, "__await__"):
                result = await result
        except documented:
            pass
        except (TypeError, ValueError) as exc:
            assert names_argument(str(exc), names), \
                f"{name}{args!r} {kwargs!r}: {exc!r} does not name the bad argument"
        else:
            if name == "Supervisor.start_link" and isinstance(result, actors.Pid):
                await actors.Supervisor.stop(result)
        actors.Process.flag("trap_exit", True)     # in case the step was Process.flag
        actors.send(checker, (me, i))
        assert await actors.receive(("echo", i), timeout=60) == ("echo", i), "the scheduler stopped"
    return "survived"


@pytest.mark.parametrize("loop", LOOPS)
@HYPOTHESIS
@given(steps=calls)
def test_public_api_rejects_bad_arguments_cleanly(loop, steps):
    """Random arguments to the public API never crash the interpreter or the
    scheduler: a call works, raises the documented exception, or raises
    TypeError/ValueError naming the argument."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    assert actors.run(exercise, steps, loop=loop, clock=actors.MockClock(autojump=True)) == "survived"


@pytest.mark.parametrize("call", ["whereis", "GenServer.call"])
def test_name_lookups_name_their_argument(run, call):
    """whereis(name) and GenServer.call(server, ...) with a value of the wrong
    type raise TypeError naming their own argument."""
    async def main():
        if call == "whereis":
            with pytest.raises(TypeError) as info:
                actors.whereis(5)
            names = ["name"]
        else:
            with pytest.raises(TypeError) as info:
                await actors.GenServer.call(5, "request")
            names = ["server"]
        assert names_argument(str(info.value), names), info.value

    run(main)
