"""Selective receive agrees with a reference matcher of the documented rules.

``ref_match`` is docs/api.md's "Patterns" section in plain Python: ANY matches
anything; a class matches its instances; a tuple matches a tuple of the same
length item by item (a tuple subclass pattern, such as ``Down(...)``, also
requires an instance of that subclass); a dict matches a dict that has each
of its keys with a matching value; ``where(pred)`` matches when ``pred(msg)``
is truthy; anything else matches by equality. Hypothesis draws messages and
patterns derived from them, and ``receive`` must agree, both when the message
is already queued and when it is handed to a parked receiver.
"""
import collections
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stresslib import HYPOTHESIS, LOOPS

import actors
from actors import ANY, Down, Exit
from actors.lowlevel import Where

pytestmark = pytest.mark.stress

Pair = collections.namedtuple("Pair", "a b")


class Box:
    """An object equal only to itself."""


NAN = math.nan
REF = actors.make_ref()
ATOMS = [0, 1, 2, -1, True, False, 1.0, 0.5, NAN, "a", "b", "", None, b"a", Box(), REF]
CLASSES = [int, bool, float, str, bytes, tuple, dict, list, object, type(None), Box,
           Down, Exit, Pair, actors.Ref]
PREDICATES = [
    lambda m: isinstance(m, int),
    bool,
    lambda m: m == "a",
    lambda m: False,
    lambda m: m > 0,                    # raises TypeError for most non-numbers
]


def ref_match(pat, msg):
    """The documented pattern rules, in plain Python."""
    if pat is msg or pat is ANY:
        return True
    if isinstance(pat, tuple):
        if not isinstance(msg, tuple) or len(msg) != len(pat):
            return False
        if type(pat) is not tuple and not isinstance(msg, type(pat)):
            return False
        return all(ref_match(p, m) for p, m in zip(pat, msg))
    if isinstance(pat, type):
        return isinstance(msg, pat)
    if isinstance(pat, Where):
        return bool(pat.predicate(msg))
    if isinstance(pat, dict):
        if not isinstance(msg, dict):
            return False
        return all(k in msg and ref_match(v, msg[k]) for k, v in pat.items())
    return bool(pat == msg)


def ref_outcome(patterns, msg):
    """"match", "no match", or the type of the exception a pattern raised."""
    try:
        return "match" if any(ref_match(p, msg) for p in patterns) else "no match"
    except Exception as exc:            # a where() predicate that raised
        return type(exc)


atoms = st.sampled_from(ATOMS)
KEYS = st.sampled_from(["k", "j", 1, ("t",)])
messages = st.recursive(atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(tuple),
    st.builds(Pair, inner, inner),
    st.builds(Down, inner, inner, inner),
    st.builds(Exit, inner, inner),
    st.dictionaries(KEYS, inner, max_size=3),
    st.lists(inner, max_size=2),
), max_leaves=8)


@st.composite
def pattern_for(draw, msg, depth=0):
    """A pattern for ``msg``: often one that matches it, or almost does."""
    choices = ["any", "class", "equal", "atom", "where", "other"]
    if isinstance(msg, tuple) and depth < 4:
        choices += ["tuple"] * 4
    if isinstance(msg, dict) and depth < 4:
        choices += ["dict"] * 3
    kind = draw(st.sampled_from(choices))
    if kind == "any":
        return ANY
    if kind == "class":
        return draw(st.sampled_from([type(msg)] + CLASSES))
    if kind == "equal":
        return msg
    if kind == "atom":
        return draw(atoms)
    if kind == "where":
        return actors.where(draw(st.sampled_from(PREDICATES)))
    if kind == "other":
        return draw(messages)
    if kind == "tuple":
        items = [draw(pattern_for(m, depth + 1)) for m in msg]
        if draw(st.booleans()) and items:
            del items[draw(st.integers(0, len(items) - 1))]   # wrong length
        shape = draw(st.sampled_from(["same", "plain", "other"]))
        if shape == "same" and type(msg) is not tuple and len(items) == len(msg):
            return type(msg)(*items)
        if shape == "other" and len(items) == 2:
            return Pair(*items)
        if shape == "other" and len(items) == 3:
            return Down(*items)
        return tuple(items)
    keys = draw(st.lists(st.sampled_from(list(msg)), unique=True)) if msg else []
    pat = {k: draw(pattern_for(msg[k], depth + 1)) for k in keys}
    if draw(st.booleans()):
        pat[draw(KEYS)] = draw(pattern_for(draw(atoms), depth + 1))
    return pat


@st.composite
def cases(draw):
    msg = draw(messages)
    patterns = [draw(pattern_for(msg))] + draw(st.lists(pattern_for(draw(messages)), max_size=2))
    return draw(st.permutations(patterns)), msg


NOMATCH = object()


async def parked_receiver(parent, patterns):
    actors.send(parent, "parked")       # the parent runs once we are parked
    try:
        got = await actors.receive(*patterns, timeout=1.0, default=NOMATCH)
    except Exception as exc:
        actors.send(parent, ("outcome", type(exc)))
    else:
        actors.send(parent, ("outcome", "no match" if got is NOMATCH else got))


async def both_paths(patterns, msg):
    """(outcome when queued, outcome when handed to a parked receiver)."""
    me = actors.self()
    actors.send(me, msg)
    try:
        got = await actors.receive(*patterns, timeout=0, default=NOMATCH)
        if got is NOMATCH:
            queued = "no match"
            assert actors.flush() == [msg] or msg != msg, "a message that did not match was lost"
        else:
            assert got is msg
            queued = "match"
    except Exception as exc:
        queued = type(exc)
        actors.flush()
    p = actors.spawn(parked_receiver, me, patterns)
    await actors.receive("parked")
    actors.send(p, msg)
    _, got = await actors.receive(("outcome", ANY))
    parked = "match" if got is msg else got
    return queued, parked


@pytest.mark.parametrize("loop", LOOPS)
@HYPOTHESIS
@given(case=cases())
def test_receive_agrees_with_the_documented_pattern_rules(loop, case):
    """receive(*patterns, timeout=0) takes the message exactly when the
    reference matcher says one of the patterns matches it (or raises what a
    where() predicate raised), queued or parked."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    patterns, msg = case
    expected = ref_outcome(patterns, msg)
    got = actors.run(both_paths, tuple(patterns), msg, loop=loop,
                     clock=actors.MockClock(autojump=True))
    assert got == (expected, expected), (patterns, msg)
