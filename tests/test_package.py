"""The package: `import actors` works, the core is the compiled extension, and
every public core name is re-exported (API.md sections 1 and 6, STYLE.md)."""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import pathlib

import pytest

import actors
import actors._core
import actors.lowlevel

CORE_API = [
    "spawn", "spawn_link", "spawn_monitor", "self", "send", "receive", "flush",
    "make_ref", "ANY", "where", "via", "link", "unlink", "monitor", "demonitor",
    "exit", "Process", "register", "unregister", "whereis", "registered",
    "send_after", "cancel_timer", "sleep", "to_thread", "Down", "Exit",
    "ActorsError", "NoProcess", "Timeout", "CallExit", "AlreadyRegistered",
    "StartError", "ProcessExit", "MockClock", "Runtime", "run",
]


def test_import_actors_exposes_the_core_api():
    """`import actors` works and offers every core name of the contract."""
    mod = importlib.import_module("actors")
    missing = [name for name in CORE_API if not hasattr(mod, name)]
    assert missing == []
    assert callable(actors.lowlevel.call) and callable(actors.lowlevel.reply)


def test_the_core_is_the_compiled_extension():
    """actors._core is a compiled extension module; there is no pure-Python fallback."""
    core_file = pathlib.Path(actors._core.__file__)
    assert core_file.suffix in (".so", ".pyd"), core_file
    package_dir = pathlib.Path(actors.__file__).parent
    assert not (package_dir / "_core.py").exists()
    spec = importlib.util.find_spec("actors._core")
    assert spec is not None and spec.origin == str(core_file)
    assert isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


def _defined_in_core(obj):
    if not (inspect.isclass(obj) or callable(obj)):
        return False
    return getattr(obj, "__module__", None) in ("actors", "actors._core", "actors.lowlevel")


def test_every_public_core_name_is_re_exported():
    """Every public class/function defined in actors._core is available from
    `actors` or `actors.lowlevel` (the very same object)."""
    public = {
        name: obj
        for name, obj in vars(actors._core).items()
        if not name.startswith("_") and _defined_in_core(obj)
    }
    assert public, "actors._core defines no public names?"
    not_exported = sorted(
        name
        for name, obj in public.items()
        if getattr(actors, name, None) is not obj and getattr(actors.lowlevel, name, None) is not obj
    )
    assert not_exported == []


@pytest.mark.parametrize(
    "cls, bases",
    [
        ("NoProcess", (Exception, LookupError)),
        ("Timeout", (Exception, TimeoutError)),
        ("CallExit", (Exception,)),
        ("AlreadyRegistered", (Exception,)),
        ("StartError", (Exception,)),
    ],
)
def test_errors_derive_from_actors_error(cls, bases):
    """ActorsError(Exception) is the base of NoProcess (a LookupError), Timeout
    (a TimeoutError), CallExit, AlreadyRegistered and StartError."""
    exc_type = getattr(actors, cls)
    assert issubclass(actors.ActorsError, Exception)
    assert issubclass(exc_type, actors.ActorsError)
    for base in bases:
        assert issubclass(exc_type, base)


def test_process_exit_is_not_an_exception():
    """ProcessExit is a BaseException (like SystemExit) so `except Exception` lets it through."""
    assert issubclass(actors.ProcessExit, BaseException)
    assert not issubclass(actors.ProcessExit, Exception)
    assert actors.ProcessExit("why").reason == "why"


def test_down_and_exit_are_named_tuples():
    """Down(ref, pid, reason) and Exit(pid, reason) are tuple subclasses with named fields."""
    d = actors.Down("r", "p", "why")
    e = actors.Exit("p", "why")
    assert isinstance(d, tuple) and d == ("r", "p", "why")
    assert (d.ref, d.pid, d.reason) == ("r", "p", "why")
    assert isinstance(e, tuple) and e == ("p", "why")
    assert (e.pid, e.reason) == ("p", "why")
    match d:
        case actors.Down(ref, pid, reason):
            assert (ref, pid, reason) == ("r", "p", "why")
        case _:
            pytest.fail("Down does not support positional class patterns")


def test_star_import_does_not_shadow_the_standard_library():
    """`from actors import *` must not replace a user's `sys` (or any other
    standard-library module name) with an actors submodule."""
    import sys as stdlib_sys

    namespace: dict = {}
    exec("from actors import *", namespace)
    for name in namespace:
        if name != "__builtins__":
            assert name not in stdlib_sys.stdlib_module_names, name
