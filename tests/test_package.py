"""The package: `import actors` works, the core is the compiled extension, and
every public core name is exported exactly once, from `actors` or
`actors.lowlevel` (docs/api.md "Execution model" and "Errors")."""
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
    "StartError", "ProcessExit", "MockClock", "Runtime", "ThreadRuntime", "run",
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


_CORE_MODULES = ("actors", "actors._core", "actors.lowlevel")

# Core names deliberately exported from both `actors` and `actors.lowlevel`.
# Empty: every core name has one home, so there is one way to spell it. Add a
# name here only with the reason, in this comment.
EXPORTED_TWICE: set[str] = set()


def _defined_in_core(obj):
    """A class or function the core defines, or an instance of a core class
    (`ANY`); not the core's own imports (asyncio, ...) or tuning constants."""
    if inspect.isclass(obj) or callable(obj):
        return getattr(obj, "__module__", None) in _CORE_MODULES
    return type(obj).__module__ in _CORE_MODULES and not isinstance(obj, (int, float, str))


def _public_core_names():
    public = {
        name: obj
        for name, obj in vars(actors._core).items()
        if not name.startswith("_") and _defined_in_core(obj)
    }
    assert public, "actors._core defines no public names?"
    return public


def _exports(obj):
    """Where `obj` is exported: ("module", "name") for every `__all__` entry of
    `actors` and `actors.lowlevel` that is this very object."""
    return [
        (mod.__name__, name)
        for mod in (actors, actors.lowlevel)
        for name in mod.__all__
        if getattr(mod, name, None) is obj
    ]


def test_every_public_core_name_is_exported_exactly_once():
    """Every public name of actors._core (its classes, functions and `ANY`) is
    exported exactly once: from `actors` (the API of docs/api.md) or from
    `actors.lowlevel` (for libraries built on actors), never from both and
    never under a second name. "Exported" means listed in that module's
    `__all__` as the very same object. The one allowed exception would be a
    name in EXPORTED_TWICE (none today)."""
    wrong = {}
    for name, obj in sorted(_public_core_names().items()):
        where = _exports(obj)
        expected = 2 if name in EXPORTED_TWICE else 1
        if len(where) != expected or any(alias != name for _, alias in where):
            wrong[name] = where
    assert wrong == {}, "core names exported zero times, twice or renamed"


def test_the_package_does_not_offer_a_low_level_name():
    """A core name exported by `actors.lowlevel` is not also reachable as a
    public attribute of `actors` (`actors.call` next to `actors.lowlevel.call`
    would be a second spelling of the same API).  The other way is allowed:
    `actors.lowlevel` is where the layers below the package (GenServer,
    Supervisor...) import the core from, so it offers `send`, `receive`...
    without exporting them (see tests/test_layers.py)."""
    leaks = []
    for name, obj in sorted(_public_core_names().items()):
        if name in EXPORTED_TWICE:
            continue
        homes = {mod for mod, _ in _exports(obj)}
        for mod in (actors,):
            if mod.__name__ not in homes and getattr(mod, name, None) is obj:
                leaks.append(f"{mod.__name__}.{name}")
    assert leaks == []


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


def test_the_docs_point_only_inside_the_repository():
    """The public API is docs/api.md, in the repository: no README, doc,
    docstring, test or example cites a contract file outside a clone
    (the old shared files next to the project)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    if not (root / "docs" / "api.md").exists():
        pytest.skip("not a source checkout")
    outside = ("API" + ".md", "../" + "shared/")   # spelled so this file does not match itself
    files = [root / "README.md", *root.glob("docs/**/*.md")]
    for pattern in ("src/actors/**/*.py", "src/actors/*.pxi", "src/actors/*.pyx",
                    "src/actors/*.pyi", "tests/**/*.py", "examples/**/*.py", "bench/**/*.py"):
        files += root.glob(pattern)
    cited = sorted(str(f.relative_to(root)) for f in files
                   if any(s in f.read_text(encoding="utf-8", errors="replace") for s in outside))
    assert cited == []


def test_the_core_functions_have_signatures():
    """inspect.signature works on the compiled functions (help(), IDEs and
    stubtest read it): the core embeds them in the argument-clinic format."""
    import inspect

    assert str(inspect.signature(actors.spawn)) == "(fn, *args, **kwargs)"
    assert str(inspect.signature(actors.lowlevel.call)) == "(server, request, timeout=5.0)"
    assert list(inspect.signature(actors.demonitor).parameters) == ["ref", "flush"]
