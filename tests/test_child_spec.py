"""Child specs: ChildSpec validation and defaults, and child_spec() normalisation
of the shapes accepted wherever a spec is expected (docs/api.md "Details", "Child
specs"; Elixir's Supervisor.child_spec/2 is the reference where it is silent).

Malformed specs raise TypeError/ValueError naming the bad field, when the spec
is made, before any supervisor starts anything.
"""
from __future__ import annotations

import dataclasses
import math

import pytest

import actors
from actors.child_spec import ChildSpec, child_spec
from actors.gen_server import GenServer


async def start_worker(*args, **kwargs):
    """A start function: what a supervisor calls to start a child."""
    return (args, kwargs)


class Worker(GenServer):
    def init(self, arg=None):
        self.arg = arg

    def handle_call(self, request, from_):
        return self.arg


class Sup:
    """Any class with a child_spec classmethod works (a Supervisor, an Agent...)."""

    @classmethod
    def child_spec(cls, arg=None):
        return ChildSpec(id=("sup", arg), start=(start_worker, (arg,)), type="supervisor")


# -- ChildSpec: defaults ------------------------------------------------------------


def test_defaults_make_a_permanent_worker_with_a_five_second_shutdown():
    """ChildSpec(id, start): restart "permanent", type "worker", shutdown 5.0, modules None."""
    spec = ChildSpec("w", (start_worker, ()))
    assert spec.id == "w"
    assert spec.restart == "permanent"
    assert spec.type == "worker"
    assert spec.shutdown == 5.0
    assert spec.modules is None


def test_a_supervisor_waits_forever_by_default():
    """type="supervisor" defaults shutdown to None (OTP's infinity)."""
    spec = ChildSpec("s", (start_worker, ()), type="supervisor")
    assert spec.shutdown is None
    assert ChildSpec("s", (start_worker, ()), type="supervisor", shutdown=2).shutdown == 2


def test_start_is_normalised_to_fn_args_kwargs():
    """start may be (fn, args) or (fn, args, kwargs); it is kept as (fn, tuple, dict),
    and a list of args is accepted."""
    assert ChildSpec("a", (start_worker, (1, 2))).start == (start_worker, (1, 2), {})
    assert ChildSpec("b", (start_worker, [1], {"k": 2})).start == (start_worker, (1,), {"k": 2})


def test_the_spec_keeps_its_own_copy_of_the_arguments():
    """Changing the list/dict passed as args/kwargs later does not change the spec."""
    args, kwargs = [1], {"k": 1}
    spec = ChildSpec("c", (start_worker, args, kwargs))
    args.append(2)
    kwargs["k"] = 2
    assert spec.start == (start_worker, (1,), {"k": 1})


@pytest.mark.parametrize("shutdown", [0, 0.5, 30, "brutal_kill", None, math.inf])
def test_valid_shutdowns(shutdown):
    """shutdown is seconds >= 0, "brutal_kill" or None (wait forever)."""
    assert ChildSpec("w", (start_worker, ()), shutdown=shutdown).shutdown == shutdown


@pytest.mark.parametrize("restart", ["permanent", "transient", "temporary"])
def test_valid_restarts(restart):
    """The three restart values of OTP are accepted."""
    assert ChildSpec("w", (start_worker, ()), restart=restart).restart == restart


def test_a_spec_is_immutable():
    """A ChildSpec is a value: its fields cannot be assigned (use replace)."""
    spec = ChildSpec("w", (start_worker, ()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.restart = "temporary"


def test_start_child_runs_the_start_function(run):
    """spec.start_child() awaits fn(*args, **kwargs) and returns its result."""

    async def main():
        return await ChildSpec("w", (start_worker, (1,), {"k": 2})).start_child()

    assert run(main) == ((1,), {"k": 2})


# -- ChildSpec: malformed specs -----------------------------------------------------


@pytest.mark.parametrize("restart", ["always", None, "Permanent", 1])
def test_a_bad_restart_is_a_value_error_naming_restart(restart):
    """restart must be permanent, transient or temporary."""
    with pytest.raises(ValueError, match="restart"):
        ChildSpec("w", (start_worker, ()), restart=restart)


@pytest.mark.parametrize("type_", ["process", None, "Worker"])
def test_a_bad_type_is_a_value_error_naming_type(type_):
    """type must be worker or supervisor."""
    with pytest.raises(ValueError, match="type"):
        ChildSpec("w", (start_worker, ()), type=type_)


@pytest.mark.parametrize("shutdown, error", [
    (-1, ValueError), (float("nan"), ValueError), ("infinity", TypeError),
    ("5", TypeError), (True, TypeError), ([5], TypeError),
])
def test_a_bad_shutdown_is_rejected_naming_shutdown(shutdown, error):
    """shutdown: a negative or NaN number is a ValueError; anything that is not a
    number, "brutal_kill" or None (a bool included) is a TypeError."""
    with pytest.raises(error, match="shutdown"):
        ChildSpec("w", (start_worker, ()), shutdown=shutdown)


@pytest.mark.parametrize("start", [
    [start_worker, ()], start_worker, (start_worker,), (start_worker, (), {}, "extra"), None,
])
def test_start_must_be_a_tuple_of_fn_args_and_maybe_kwargs(start):
    """start that is not a 2- or 3-tuple raises, naming start."""
    with pytest.raises((TypeError, ValueError), match="start"):
        ChildSpec("w", start)


def test_start_parts_are_type_checked():
    """fn must be callable, args a tuple or list, kwargs a dict: TypeError otherwise."""
    with pytest.raises(TypeError, match="callable"):
        ChildSpec("w", ("start_worker", ()))
    with pytest.raises(TypeError, match="args"):
        ChildSpec("w", (start_worker, "abc"))
    with pytest.raises(TypeError, match="args"):
        ChildSpec("w", (start_worker, None))
    with pytest.raises(TypeError, match="kwargs"):
        ChildSpec("w", (start_worker, (), [("k", 1)]))


def test_a_plain_def_start_function_is_a_type_error_naming_start():
    """The start function is an async function the supervisor awaits (docs/api.md "Details"):
    a plain def is refused when the spec is made, not when a supervisor runs it."""

    def plain_start():
        return None

    with pytest.raises(TypeError, match="start function must be an async function"):
        ChildSpec("w", (plain_start, ()))
    with pytest.raises(TypeError, match="start"):
        child_spec({"id": "w", "start": (plain_start, ())})
    with pytest.raises(TypeError, match="start"):
        ChildSpec("w", (start_worker, ())).replace(start=(plain_start, ()))
    assert ChildSpec("g", (Worker.start_link, ())).start[0] == Worker.start_link


def test_id_must_be_hashable():
    """The id identifies the child in its supervisor, so it must be hashable."""
    with pytest.raises(TypeError, match="id"):
        ChildSpec(["not", "hashable"], (start_worker, ()))
    assert ChildSpec(("tuple", 1), (start_worker, ())).id == ("tuple", 1)
    assert ChildSpec(Worker, (start_worker, ())).id is Worker


# -- replace ------------------------------------------------------------------------


def test_replace_returns_a_changed_copy():
    """replace(**fields) returns a new spec; the original is unchanged."""
    spec = ChildSpec("w", (start_worker, ()))
    other = spec.replace(id="w2", restart="transient", shutdown="brutal_kill")
    assert (other.id, other.restart, other.shutdown) == ("w2", "transient", "brutal_kill")
    assert (spec.id, spec.restart, spec.shutdown) == ("w", "permanent", 5.0)
    assert other.start == spec.start


def test_replace_validates_again():
    """A replaced field is checked like a new one; an unknown field is a ValueError
    naming it."""
    spec = ChildSpec("w", (start_worker, ()))
    with pytest.raises(ValueError, match="restart"):
        spec.replace(restart="sometimes")
    with pytest.raises(ValueError, match="restarts"):
        spec.replace(restarts="temporary")


def test_changing_the_type_keeps_the_default_shutdown_of_the_new_type():
    """As in Elixir (the default shutdown follows the type when none was given):
    turning a spec with the default shutdown into a supervisor gives shutdown
    None, and the other way round 5.0; an explicit shutdown is kept."""
    spec = ChildSpec("w", (start_worker, ()))
    assert spec.replace(type="supervisor").shutdown is None
    assert child_spec(spec, type="supervisor").shutdown is None
    sup = ChildSpec("s", (start_worker, ()), type="supervisor")
    assert sup.replace(type="worker").shutdown == 5.0
    explicit = ChildSpec("w", (start_worker, ()), shutdown=1.0)
    assert explicit.replace(type="supervisor").shutdown == 1.0


# -- child_spec(): every accepted shape ---------------------------------------------


def test_a_child_spec_is_returned_as_is():
    """child_spec(ChildSpec) is that spec."""
    spec = ChildSpec("w", (start_worker, ()))
    assert child_spec(spec) is spec


def test_a_dict_with_the_same_keys_is_a_child_spec():
    """A dict with id and start (and optionally the other fields) is a spec, with the
    same defaults."""
    spec = child_spec({"id": "w", "start": (start_worker, (1,))})
    assert spec == ChildSpec("w", (start_worker, (1,)))
    sup = child_spec({"id": "s", "start": (start_worker, ()), "type": "supervisor",
                      "restart": "temporary", "modules": ["m"]})
    assert (sup.type, sup.shutdown, sup.restart, sup.modules) == ("supervisor", None, "temporary", ["m"])


@pytest.mark.parametrize("missing", ["id", "start"])
def test_a_dict_without_id_or_start_is_a_value_error_naming_it(missing):
    """id and start are required."""
    spec = {"id": "w", "start": (start_worker, ())}
    del spec[missing]
    with pytest.raises(ValueError, match=missing):
        child_spec(spec)


def test_a_dict_with_an_unknown_key_is_a_value_error_naming_it():
    """A misspelt key is an error, not silently ignored."""
    with pytest.raises(ValueError, match="restrat"):
        child_spec({"id": "w", "start": (start_worker, ()), "restrat": "temporary"})


def test_a_dict_is_validated_like_a_child_spec():
    """The dict's values go through the same checks."""
    with pytest.raises(ValueError, match="restart"):
        child_spec({"id": "w", "start": (start_worker, ()), "restart": "never"})
    with pytest.raises((TypeError, ValueError), match="start"):
        child_spec({"id": "w", "start": start_worker})


def test_a_class_means_its_child_spec():
    """A class with child_spec() (a GenServer subclass, a Supervisor...) means
    cls.child_spec(); a (cls, arg) tuple means cls.child_spec(arg)."""
    assert child_spec(Worker) == Worker.child_spec()
    assert child_spec((Worker, 5)) == Worker.child_spec(5)
    assert child_spec((Worker, (1, 2))).start == (Worker.start_link, ((1, 2),), {})
    assert child_spec(Sup) == Sup.child_spec()
    assert child_spec((Sup, "x")).id == ("sup", "x")
    assert child_spec((Sup, "x")).shutdown is None


def test_a_gen_server_child_spec_starts_the_server(run):
    """Worker.child_spec(arg) runs Worker.start_link(arg): the spec of a GenServer is
    enough to start it."""

    async def main():
        pid = await child_spec((Worker, "hello")).start_child()
        return await GenServer.call(pid, "arg")

    assert run(main) == "hello"


def test_overrides_apply_on_top_of_any_shape():
    """child_spec(spec, **overrides) changes id, restart, shutdown or type
    (Elixir's Supervisor.child_spec(spec, overrides))."""
    spec = child_spec((Worker, 1), id="w1", restart="temporary", shutdown=0.5)
    assert (spec.id, spec.restart, spec.shutdown) == ("w1", "temporary", 0.5)
    assert spec.start == (Worker.start_link, (1,), {})
    spec = child_spec({"id": "w", "start": (start_worker, ())}, shutdown="brutal_kill")
    assert spec.shutdown == "brutal_kill"
    with pytest.raises(ValueError, match="shutdwn"):
        child_spec(Worker, shutdwn=1)
    with pytest.raises(ValueError, match="type"):
        child_spec(Worker, type="manager")


@pytest.mark.parametrize("spec", [
    42, "Worker", None, (start_worker, ()), (Worker,), (Worker, 1, 2), [Worker, 1], start_worker,
])
def test_anything_else_is_a_type_error(spec):
    """Only a ChildSpec, a dict, a class with child_spec or a (class, arg) pair is a spec."""
    with pytest.raises(TypeError, match="child spec"):
        child_spec(spec)


def test_a_class_whose_child_spec_returns_a_dict_is_normalised():
    """A child_spec classmethod may return a dict (as in Elixir): it is normalised."""

    class DictSpec:
        @classmethod
        def child_spec(cls, arg=None):
            return {"id": cls, "start": (start_worker, (arg,)), "restart": "transient"}

    spec = child_spec((DictSpec, 3))
    assert isinstance(spec, ChildSpec)
    assert (spec.id, spec.restart, spec.start) == (DictSpec, "transient", (start_worker, (3,), {}))


def test_child_spec_is_exported_from_actors():
    """ChildSpec is public API."""
    assert actors.ChildSpec is ChildSpec
