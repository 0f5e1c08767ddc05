"""Selective receive, patterns, timeouts, flush, refs and the receive marker
(docs/api.md "Processes and messages" and "Patterns", core-decisions.md)."""
from __future__ import annotations

import math

import pytest

import actors
from actors import ANY
from actors.lowlevel import call, reply
from actors.testing import assert_receive, refute_receive
from helpers import echo, run_script


def _fill(*msgs):
    me = actors.self()
    for m in msgs:
        actors.send(me, m)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Point3D(Point):
    pass


# -- mailbox order and selection --------------------------------------------------


def test_receive_without_patterns_takes_the_oldest_message(run):
    """No patterns: any message, first in mailbox order."""

    async def main():
        _fill("a", 1, None)
        return [await actors.receive() for _ in range(3)]

    assert run(main) == ["a", 1, None]


def test_receive_skips_non_matching_messages_and_leaves_them_in_order(run):
    """Non-matching messages stay in the mailbox, in their order."""

    async def main():
        _fill(1, "a", 2, "b", 3)
        assert await actors.receive(str) == "a"
        assert await actors.receive(str) == "b"
        assert actors.flush() == [1, 2, 3]

    run(main)


def test_receive_takes_the_first_message_that_matches_any_pattern(run):
    """Mailbox order wins over pattern order: the first message matching any pattern."""

    async def main():
        _fill(1.5, "x", 5)
        assert await actors.receive(int, str) == "x"
        assert actors.flush() == [1.5, 5]

    run(main)


def test_a_blocked_receive_is_not_satisfied_by_non_matching_arrivals(run):
    """A receive waiting for a pattern ignores messages that arrive and do not match."""

    async def sender(dest):
        for m in ["noise1", 7, ("noise", 2), "target", "after"]:
            actors.send(dest, m)

    async def main():
        actors.spawn(sender, actors.self())
        assert await actors.receive("target") == "target"
        assert actors.flush() == ["noise1", 7, ("noise", 2), "after"]

    run(main)


# -- patterns -------------------------------------------------------------------------


def test_any_matches_every_message(run):
    """ANY matches anything, including None and falsy values."""

    async def main():
        msgs = [None, 0, "", (), {}, False, object]
        _fill(*msgs)
        got = [await actors.receive(ANY, timeout=0) for _ in msgs]
        assert got == msgs

    run(main)


def test_class_pattern_matches_instances_and_subclass_instances(run):
    """A class matches instances of it (isinstance), including subclasses."""

    async def main():
        p2, p3 = Point(1, 2), Point3D(1, 2)
        _fill("s", 1, p3, 2.0, p2)
        assert await actors.receive(Point, timeout=0) is p3
        assert await actors.receive(Point, timeout=0) is p2
        assert await actors.receive(float, timeout=0) == 2.0
        assert await actors.receive(int, timeout=0) == 1
        assert await actors.receive(Point, timeout=0, default="none") == "none"
        assert actors.flush() == ["s"]

    run(main)


def test_a_class_pattern_does_not_match_the_class_itself(run):
    """A class is a type test (isinstance), on the receive path and when the
    message is handed to a waiting receiver: the class object sent as a
    message is not one of its own instances (but a metaclass pattern is a
    type test that it passes)."""

    async def waiter(parent):
        got = await actors.receive(int, type, timeout=5)
        actors.send(parent, ("got", got))

    async def main():
        actors.send(actors.self(), int)
        assert await actors.receive(int, timeout=0, default="none") == "none"
        assert await actors.receive(type, timeout=0) is int
        pid = actors.spawn(waiter, actors.self())
        await actors.lowlevel.checkpoint()
        actors.send(pid, int)
        assert await actors.receive(("got", ANY), timeout=5) == ("got", int)

    run(main)


def test_down_and_exit_are_tuples_matched_by_class_and_by_tuple_pattern(run):
    """Down and Exit are tuple subclasses: class patterns and tuple patterns match them."""

    async def main():
        ref = actors.make_ref()
        me = actors.self()
        down = actors.Down(ref, me, "normal")
        ex = actors.Exit(me, "boom")
        assert isinstance(down, tuple) and isinstance(ex, tuple)
        assert (down.ref, down.pid, down.reason) == (ref, me, "normal")
        assert (ex.pid, ex.reason) == (me, "boom")
        _fill(down, ex)
        assert await actors.receive(actors.Exit, timeout=0) == ex
        assert await actors.receive(actors.Down, timeout=0) == down
        _fill(down, ex)
        assert await actors.receive((me, "boom"), timeout=0) == ex
        assert await actors.receive((ref, ANY, ANY), timeout=0) == down

    run(main)


def test_tuple_pattern_matches_same_length_item_by_item(run):
    """A tuple matches a tuple of the same length whose items match item by item."""

    async def main():
        _fill(("a", 1, 2), ["a", 1], ("a", "x"), ("b", 1), "a", ("a", 1))
        assert await actors.receive(("a", int), timeout=0) == ("a", 1)
        assert await actors.receive(("a", int), timeout=0, default=None) is None
        assert actors.flush() == [("a", 1, 2), ["a", 1], ("a", "x"), ("b", 1), "a"]

    run(main)


def test_nested_tuple_patterns(run):
    """Tuple patterns nest, and items may be any pattern (class, ANY, value)."""

    async def main():
        _fill(("reply", ("ok", "x")), ("reply", ("ok", 1)), ("reply", ("error", 1)))
        assert await actors.receive(("reply", ("ok", int)), timeout=0) == ("reply", ("ok", 1))
        assert await actors.receive(("reply", (ANY, int)), timeout=0) == ("reply", ("error", 1))
        assert await actors.receive(("reply", ANY), timeout=0) == ("reply", ("ok", "x"))

    run(main)


def test_empty_tuple_pattern_matches_only_the_empty_tuple(run):
    """() has length 0: it matches () only."""

    async def main():
        _fill((1,), [], ())
        assert await actors.receive((), timeout=0) == ()
        assert actors.flush() == [(1,), []]

    run(main)


def test_dict_pattern_requires_every_key_with_matching_values(run):
    """A dict matches a dict having every key of the pattern, each value matching;
    extra keys are allowed."""

    async def main():
        wanted = {"type": "order", "qty": int}
        _fill(
            {"type": "order"},
            {"type": "quote", "qty": 1},
            {"type": "order", "qty": "1"},
            [("type", "order"), ("qty", 1)],
            {"type": "order", "qty": 3, "extra": True},
        )
        assert await actors.receive(wanted, timeout=0) == {"type": "order", "qty": 3, "extra": True}
        assert await actors.receive(wanted, timeout=0, default=None) is None
        assert len(actors.flush()) == 4

    run(main)


def test_empty_dict_pattern_matches_any_dict_only(run):
    """{} has no keys to check: it matches every dict and nothing else."""

    async def main():
        _fill("x", ({},), {"k": 1})
        assert await actors.receive({}, timeout=0) == {"k": 1}
        assert actors.flush() == ["x", ({},)]

    run(main)


def test_patterns_nest_across_tuples_and_dicts(run):
    """Dict values and tuple items are themselves patterns."""

    async def main():
        _fill(("evt", {"user": {"id": "7"}}), ("evt", {"user": {"id": 7}}))
        got = await actors.receive(("evt", {"user": {"id": int}}), timeout=0)
        assert got == ("evt", {"user": {"id": 7}})

    run(main)


def test_where_matches_when_the_predicate_is_truthy(run):
    """where(predicate) matches a message when predicate(msg) is truthy."""
    seen = []

    def big(m):
        seen.append(m)
        return isinstance(m, int) and m > 10

    async def main():
        _fill(3, "x", 42, 11)
        assert await actors.receive(actors.where(big), timeout=0) == 42
        assert await actors.receive(("n", actors.where(lambda v: v % 2)), timeout=0, default=None) is None
        _fill(("n", 4), ("n", 5))
        assert await actors.receive(("n", actors.where(lambda v: v % 2)), timeout=0) == ("n", 5)
        assert await actors.receive(actors.where(lambda m: m == []), timeout=0, default="no") == "no"
        assert actors.flush() == [3, "x", 11, ("n", 4)]

    run(main)
    assert 42 in seen


def test_other_values_match_by_equality(run):
    """Anything else (str, int, None, frozenset, Pid, Ref) matches by equality."""

    async def main():
        me = actors.self()
        other = actors.spawn(echo)
        ref, ref2 = actors.make_ref(), actors.make_ref()
        _fill("hello", "hellO", 7, None, frozenset({1}), other, me, ref2, ref)
        assert await actors.receive(ref, timeout=0) is ref
        assert await actors.receive(me, timeout=0) == me
        assert await actors.receive(frozenset({1}), timeout=0) == frozenset({1})
        assert await actors.receive(None, timeout=0, default="d") is None
        assert await actors.receive(7, timeout=0) == 7
        assert await actors.receive("hello", timeout=0) == "hello"
        assert actors.flush() == ["hellO", other, ref2]

    run(main)


# -- timeouts -------------------------------------------------------------------


def test_receive_timeout_returns_the_default(run, clock):
    """On timeout, receive returns `default` when one is given (None included)."""

    async def main():
        t0 = clock()
        assert await actors.receive(timeout=1.5, default="late") == "late"
        assert clock() - t0 >= 1.5
        assert await actors.receive(str, timeout=2, default=None) is None

    run(main, clock=clock)


def test_receive_timeout_without_default_raises_timeout(run, clock):
    """On timeout without a default, receive raises Timeout (a TimeoutError and
    an ActorsError) and leaves the mailbox untouched."""

    async def main():
        _fill(1, 2)
        with pytest.raises(actors.Timeout):
            await actors.receive(str, timeout=1)
        with pytest.raises(TimeoutError):
            await actors.receive(str, timeout=1)
        with pytest.raises(actors.ActorsError):
            await actors.receive(str, timeout=1)
        assert actors.flush() == [1, 2]

    run(main, clock=clock)


def test_a_message_arriving_before_the_timeout_is_returned(run, clock):
    """A matching message that arrives before the deadline is returned, not the default."""

    async def late_sender(dest):
        await actors.sleep(1)
        actors.send(dest, "made it")

    async def main():
        actors.spawn(late_sender, actors.self())
        assert await actors.receive(str, timeout=5, default="timeout") == "made it"
        assert clock() == pytest.approx(1, abs=0.01)

    run(main, clock=clock)


def test_timeout_zero_polls_and_returns_at_once_even_if_time_stands_still(run):
    """timeout=0 only polls: with a frozen clock it still returns at once."""
    frozen = actors.MockClock()

    async def main():
        assert await actors.receive(timeout=0, default="empty") == "empty"
        with pytest.raises(actors.Timeout):
            await actors.receive(timeout=0)
        _fill("x", 1)
        assert await actors.receive(int, timeout=0) == 1
        assert await actors.receive(int, timeout=0, default=None) is None
        for _ in range(1000):
            await actors.receive(int, timeout=0, default=None)
        assert actors.flush() == ["x"]
        return frozen()

    assert run(main, clock=frozen) == 0.0


@pytest.mark.parametrize("forever", [None, math.inf])
def test_timeout_none_or_inf_waits_forever(run, clock, forever):
    """timeout=None and timeout=math.inf both mean: no timeout."""

    async def late_sender(dest):
        await actors.sleep(10_000)
        actors.send(dest, "eventually")

    async def main():
        actors.spawn(late_sender, actors.self())
        assert await actors.receive(str, timeout=forever) == "eventually"

    run(main, clock=clock)


@pytest.mark.parametrize(
    "timeout, exc",
    [
        (-1, ValueError),
        (-0.001, ValueError),
        (math.nan, ValueError),
        (-math.inf, ValueError),
        ("1", TypeError),
        (True, TypeError),
        ([1], TypeError),
    ],
)
def test_bad_timeouts_raise_and_leave_the_mailbox_alone(run, timeout, exc):
    """A negative/NaN timeout is a ValueError, a non-number (or a bool) a TypeError;
    the message names `timeout` and no message is consumed."""

    async def main():
        _fill("keep", 1)
        with pytest.raises(exc, match="timeout"):
            await actors.receive(timeout=timeout)
        with pytest.raises(exc, match="timeout"):
            await actors.receive(int, timeout=timeout, default=None)
        assert actors.flush() == ["keep", 1]

    run(main)


# -- flush, outside-a-process -------------------------------------------------------


def test_flush_returns_every_message_in_order_and_empties_the_mailbox(run):
    """flush() removes and returns every message in mailbox order."""

    async def main():
        assert actors.flush() == []
        _fill(*range(10))
        assert actors.flush() == list(range(10))
        assert actors.flush() == []
        assert await actors.receive(timeout=0, default="empty") == "empty"

    run(main)


def test_flush_outside_a_process_raises_runtime_error():
    """flush() outside a process raises RuntimeError."""
    with pytest.raises(RuntimeError):
        actors.flush()


def test_receive_outside_a_process_raises_runtime_error(aio_run):
    """receive() from plain asyncio code (no runtime) raises RuntimeError."""

    async def plain():
        with pytest.raises(RuntimeError):
            await actors.receive(timeout=0, default=None)
        return "raised"

    assert aio_run(plain) == "raised"


# -- refs ---------------------------------------------------------------------------


def test_make_ref_is_unique_hashable_and_equal_only_to_itself(run):
    """make_ref() gives a unique, hashable reference equal only to itself."""

    async def main():
        refs = [actors.make_ref() for _ in range(1000)]
        assert len(set(refs)) == 1000
        a, b = refs[0], refs[1]
        assert a == a and a != b
        assert {a: "x"}[a] == "x"
        assert a != actors.self()
        with pytest.raises(TypeError):
            type(a)()

    run(main)


# -- the receive marker (call idiom) -------------------------------------------------


async def _call_server():
    while True:
        (_, from_, request) = await actors.receive(("$gen_call", ANY, ANY))
        reply(from_, ("answer", request))


def test_a_call_with_100k_queued_unrelated_messages_gets_the_right_reply(run):
    """A call made with 100,000 unrelated queued messages returns the right
    reply and leaves every queued message in place, in order."""

    async def main():
        server = actors.spawn(_call_server)
        me = actors.self()
        for i in range(100_000):
            actors.send(me, ("noise", i))
        for q in range(3):
            assert await call(server, q) == ("answer", q)
        rest = actors.flush()
        assert len(rest) == 100_000
        assert rest[0] == ("noise", 0) and rest[-1] == ("noise", 99_999)
        assert rest == [("noise", i) for i in range(100_000)]

    run(main)


def test_a_ref_receive_with_100k_queued_messages_finds_its_reply(run):
    """The hand-written request/reply idiom (make_ref, send, receive on the ref)
    works behind 100,000 queued messages."""

    async def server():
        while True:
            (sender, ref, x) = await actors.receive((ANY, ANY, ANY))
            actors.send(sender, (ref, x * 2))

    async def main():
        srv = actors.spawn(server)
        me = actors.self()
        for i in range(100_000):
            actors.send(me, i)
        ref = actors.make_ref()
        actors.send(srv, (me, ref, 21))
        assert await actors.receive((ref, ANY)) == (ref, 42)
        assert len(actors.flush()) == 100_000

    run(main)


@pytest.mark.actors
async def test_a_ref_receive_still_sees_messages_sent_after_the_ref_was_made():
    """The marker is where the ref was made: a reply queued right after is found."""
    _fill("old1", "old2")
    ref = actors.make_ref()
    actors.send(actors.self(), (ref, "reply"))
    assert await assert_receive((ref, ANY), timeout=0) == (ref, "reply")
    assert actors.flush() == ["old1", "old2"]


def test_a_receive_with_a_ref_and_another_pattern_still_scans_old_messages(run):
    """The marker only applies when every pattern needs the fresh ref: an
    alternative pattern must still match messages queued before the ref."""

    async def main():
        _fill("noise", "old-match")
        ref = actors.make_ref()
        got = await actors.receive((ref, ANY), "old-match", timeout=0, default=None)
        assert got == "old-match"
        got = await actors.receive((ref, ANY), str, timeout=0, default=None)
        assert got == "noise"

    run(main)


@pytest.mark.actors
async def test_an_older_ref_is_found_after_a_newer_ref_was_received():
    """Two outstanding refs: receiving the newer one first does not hide the
    older one's reply (which arrived before the newer ref was made)."""
    _fill("noise")
    ref1 = actors.make_ref()
    actors.send(actors.self(), (ref1, "first"))
    ref2 = actors.make_ref()
    actors.send(actors.self(), (ref2, "second"))
    assert await assert_receive((ref2, ANY), timeout=0) == (ref2, "second")
    assert await assert_receive((ref1, ANY), timeout=0) == (ref1, "first")
    assert actors.flush() == ["noise"]


@pytest.mark.actors
async def test_a_ref_made_by_another_process_matches_anywhere_in_the_mailbox(mock_clock):
    """A ref received from elsewhere may tag messages queued before we learned it."""

    async def child(parent):
        ref = actors.make_ref()
        actors.send(parent, ("data", ref, 1))
        actors.send(parent, ("tag", ref))

    actors.spawn(child, actors.self())
    (_, ref) = await assert_receive(("tag", ANY))
    assert await assert_receive(("data", ref, ANY), timeout=0) == ("data", ref, 1)


@pytest.mark.actors
async def test_a_ref_receive_that_times_out_leaves_old_messages_in_order(mock_clock):
    """Waiting on a fresh ref with a timeout neither loses nor reorders old messages."""
    _fill(*range(1000))
    ref = actors.make_ref()
    await refute_receive((ref, ANY), timeout=1)
    assert actors.flush() == list(range(1000))


# -- hostile input ------------------------------------------------------------


@pytest.mark.parametrize("queued_first", [True, False], ids=["queued", "handed-off"])
def test_a_pattern_nested_deeper_than_the_recursion_limit_raises_recursion_error(loop_name, queued_first):
    """Matching a message nested 100,000 deep against an equally deep pattern
    raises RecursionError in the receiving process (whether the message was
    queued before the receive or sent to a receiver already waiting), never
    crashes the interpreter; the scheduler and the sender carry on."""
    proc = run_script(loop_name, f"""
        import actors

        def deep():
            t = 0
            for i in range(100_000):
                t = (i, t)
            return t

        async def receiver(parent):
            if {queued_first!r}:
                await actors.receive("go")
            try:
                await actors.receive(deep(), timeout=5)
                actors.send(parent, "matched")
            except RecursionError:
                actors.send(parent, "RecursionError")

        async def main():
            pid = actors.spawn(receiver, actors.self())
            await actors.lowlevel.checkpoint()     # the receiver waits now
            actors.send(pid, deep())
            actors.send(pid, "go")
            return await actors.receive(timeout=5)

        print(actors.run(main, loop=LOOP))
    """, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "RecursionError"


def test_a_message_a_pattern_sends_to_its_own_receiver_is_matched_in_a_later_pass(run):
    """A scan checks the messages queued when it starts; what a pattern sends
    to its own receiver meanwhile is checked by the next pass, not lost."""

    async def main():
        me = actors.self()

        def pred(msg):
            if msg == "first":
                actors.send(me, "second")
            return msg == "second"

        actors.send(me, "first")
        assert await actors.receive(actors.where(pred), timeout=5) == "second"
        assert actors.flush() == ["first"]

    run(main)


@pytest.mark.parametrize("timeout", [0, 0.05])
def test_a_pattern_that_feeds_its_own_mailbox_cannot_make_receive_scan_forever(run, timeout):
    """A where() that sends to its receiver on every call: each pass is
    bounded, the others run between passes, and the timeout is honoured."""

    async def main():
        me = actors.self()
        calls = [0]

        def feeds_itself(msg):
            calls[0] += 1
            actors.send(me, "more")
            return False

        actors.send(me, "first")
        got = await actors.receive(actors.where(feeds_itself), timeout=timeout, default="timed out")
        assert got == "timed out"
        return calls[0]

    assert run(main) >= 1


def test_a_pattern_that_sends_to_its_own_receiver_loses_no_message(run):
    """send never loses a message: a `where` predicate that itself sends to the
    waiting receiver (user code run by the sender's match) must leave both the
    original message and the new one deliverable."""

    async def receiver(parent):
        me = actors.self()

        def pred(msg):
            if msg == "first":
                actors.send(me, "second")
            return True

        actors.send(parent, "ready")
        a = await actors.receive(actors.where(pred))
        b = await actors.receive(timeout=60, default=None)
        actors.send(parent, ("got", a, b))

    async def main():
        pid = actors.spawn(receiver, actors.self())
        await actors.receive("ready")
        actors.send(pid, "first")
        _, a, b = await actors.receive(("got", ANY, ANY))
        assert sorted([a, b], key=str) == ["first", "second"]

    run(main, clock=actors.MockClock(autojump=True))


def test_flush_inside_a_receive_pattern_does_not_crash(loop_name):
    """A pattern's user code that empties the mailbox (flush()) while receive is
    scanning it must not make the core read freed mailbox nodes (crash): it
    either works or raises a Python error in the process."""
    proc = run_script(loop_name, """
        import actors

        async def main():
            me = actors.self()
            for i in range(5):
                actors.send(me, ("junk", i))
            actors.send(me, "target")

            def pred(m):
                if m == ("junk", 1):
                    actors.flush()
                return m == "target"

            try:
                await actors.receive(actors.where(pred), timeout=0, default=None)
            except Exception:
                pass
            for i in range(10):
                actors.send(me, ("new", i))
            return len(actors.flush())

        print(actors.run(main, loop=LOOP))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Either flush() inside the pattern was refused (RuntimeError, mailbox kept:
    # 6 + 10) or it worked (10): no crash either way.
    assert proc.stdout.strip() in ("10", "16")


# -- receive_nowait and matches (lowlevel) ---------------------------------------------


def test_receive_nowait_takes_the_first_match_and_keeps_the_rest_in_order(run):
    """Erlang's ``receive ... after 0`` as a plain call: the first queued match
    is taken, the other messages stay queued in their order."""
    async def main():
        _fill("a", ("x", 1), "b", ("x", 2))
        assert actors.lowlevel.receive_nowait(("x", ANY)) == ("x", 1)
        assert actors.lowlevel.receive_nowait() == "a"          # no pattern: any message
        assert actors.flush() == ["b", ("x", 2)]

    run(main)


def test_receive_nowait_returns_default_or_raises_timeout_when_nothing_matches(run):
    async def main():
        _fill("a")
        assert actors.lowlevel.receive_nowait("b", default=None) is None
        with pytest.raises(actors.Timeout):
            actors.lowlevel.receive_nowait("b")
        assert actors.flush() == ["a"]

    run(main)


def test_receive_nowait_never_waits_for_what_is_not_queued_yet(run):
    """A message sent by another process after the call is not seen by it."""
    async def main():
        me = actors.self()

        async def later():
            actors.send(me, "late")

        actors.spawn(later)
        assert actors.lowlevel.receive_nowait(default="none") == "none"
        assert await actors.receive("late", timeout=30) == "late"

    run(main)


def test_receive_nowait_leaves_the_mailbox_usable_after_a_pattern_raises(run):
    """A pattern that raises propagates its error; the mailbox is intact and
    the process can receive again."""
    def boom(msg):
        raise ValueError("bad pattern")

    async def main():
        _fill(1, 2)
        with pytest.raises(ValueError, match="bad pattern"):
            actors.lowlevel.receive_nowait(actors.where(boom))
        assert await actors.receive(2, timeout=0) == 2
        assert actors.flush() == [1]

    run(main)


def test_receive_nowait_cannot_be_called_from_a_pattern_or_outside_a_process(run):
    async def main():
        _fill(1)

        def sneaky(msg):
            actors.lowlevel.receive_nowait()
            return True

        with pytest.raises(RuntimeError, match="patterns must not touch the mailbox"):
            await actors.receive(actors.where(sneaky), timeout=0)

    run(main)
    with pytest.raises(RuntimeError):
        actors.lowlevel.receive_nowait()


@pytest.mark.parametrize("pattern, message, expected", [
    (ANY, object(), True),
    (("ok", int), ("ok", 1), True),
    (("ok", int), ("ok", "1"), False),
    ({"k": ANY}, {"k": 1, "j": 2}, True),
    (int, int, False),                  # a class matches its instances, not itself
    ("a", b"a", False),
])
def test_matches_follows_the_rules_of_receive(pattern, message, expected):
    """``lowlevel.matches`` needs no runtime: it is the core's matcher."""
    assert actors.lowlevel.matches(pattern, message) is expected


def _nested(depth):
    deep = current = []
    for _ in range(depth):
        current.append([])
        current = current[0]
    return deep


def test_matches_guards_deep_nesting():
    """A pattern and a message nested 100,000 deep raise RecursionError
    instead of crashing the interpreter."""
    with pytest.raises(RecursionError):
        actors.lowlevel.matches(_nested(100_000), _nested(100_000))
