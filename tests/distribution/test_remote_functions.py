"""Functions travel between nodes by name, under the receiving node's ``allow_spawn``
(``actors.dist.remote``; docs/api.md, "Nodes": remote spawn, Agent and tasks).

A function given to a process of another node travels as ``(module,
qualname)``; only what the other node can find again by that name may
travel, and that node imports it only from the modules it allows.  Errors
cross as ``(ClassName, message)``.
"""
from __future__ import annotations

import functools
import json

import pytest

import spawn_targets
from actors.dist import remote

NODE = "other@127.0.0.1"


def test_module_level_functions_classes_and_static_methods_travel_by_name():
    assert remote.function_to_wire(spawn_targets.get_key, "Agent.get", NODE) == \
        ("spawn_targets", "get_key")
    assert remote.function_to_wire(spawn_targets.Store, "sys.change_code", NODE) == \
        ("spawn_targets", "Store")
    assert remote.function_to_wire(spawn_targets.Helpers.static, "Agent.get", NODE) == \
        ("spawn_targets", "Helpers.static")
    assert remote.function_to_wire(spawn_targets.Helpers.klass, "Agent.get", NODE) == \
        ("spawn_targets", "Helpers.klass")
    assert remote.function_to_wire(json.dumps, "Agent.get", NODE) == ("json", "dumps")


def test_what_cannot_be_found_by_name_is_a_typeerror_naming_the_node():
    value = 1

    def closure(state):
        return value

    for fn in (lambda state: state, closure, spawn_targets.Store().handle_call,
               functools.partial(spawn_targets.get_key, key="k"), "not callable", None):
        with pytest.raises(TypeError, match=f"Agent.get: fn runs on node {NODE}.*top level"):
            remote.function_to_wire(fn, "Agent.get", NODE)


def test_a_node_imports_only_the_modules_its_allow_spawn_lists():
    for policy in (None, [], ["json"], False):
        with pytest.raises(PermissionError, match="'spawn_targets'.*allow_spawn"):
            remote.resolve_function(policy, "spawn_targets", "get_key")
    assert remote.resolve_function(["spawn_targets"], "spawn_targets", "get_key") is \
        spawn_targets.get_key
    assert remote.resolve_function(True, "spawn_targets", "Helpers.static") is \
        spawn_targets.Helpers.static
    with pytest.raises(AttributeError):
        remote.resolve_function(True, "spawn_targets", "no_such_function")
    with pytest.raises(TypeError, match="not callable"):
        remote.resolve_function(True, "spawn_targets", "__doc__")


def test_a_spawned_function_must_be_async_and_actors_entry_points_check_for_themselves():
    with pytest.raises(TypeError, match="async function"):
        remote.resolve_function(True, "spawn_targets", "get_key", spawn=True)
    assert remote.resolve_function(["spawn_targets"], "spawn_targets", "double", spawn=True) is \
        spawn_targets.double
    # TaskSupervisor's entry point is spawned whatever allow_spawn says (it checks the
    # task's function itself), but only as a spawn, and nothing else of its module
    entry = remote.resolve_function(None, "actors.task_supervisor", "_remote_start", spawn=True)
    assert entry.__qualname__ == "_remote_start"
    with pytest.raises(PermissionError):
        remote.resolve_function(None, "actors.task_supervisor", "_remote_start")
    with pytest.raises(PermissionError):
        remote.resolve_function(None, "actors.task_supervisor", "_run_nolink_task", spawn=True)


def test_a_function_name_from_another_node_is_looked_up_under_the_nodes_policy():
    # not a node: nothing is allowed
    with pytest.raises(PermissionError):
        remote.function_from_wire(("spawn_targets", "get_key"), "Agent.get")
    with pytest.raises(TypeError, match="module, qualname"):
        remote.function_from_wire(("spawn_targets",), "Agent.get")


def test_errors_cross_as_class_name_and_message():
    wire = remote.error_to_wire(ValueError("bad value"))
    assert wire == ("ValueError", "bad value")
    again = remote.error_from_wire(wire, NODE)
    assert type(again) is ValueError and str(again) == "bad value"
    assert type(remote.error_from_wire(("PermissionError", "no"), NODE)) is PermissionError

    class MyError(Exception):
        pass

    other = remote.error_from_wire(remote.error_to_wire(MyError("mine")), NODE)
    assert type(other) is RuntimeError and str(other) == f"MyError on {NODE}: mine"
    # a builtin class that needs more arguments, and a term that is no error at all
    assert type(remote.error_from_wire(("UnicodeDecodeError", "x"), NODE)) is RuntimeError
    assert type(remote.error_from_wire(42, NODE)) is RuntimeError
    assert type(remote.error_from_wire(("SystemExit", "x"), NODE)) is RuntimeError
