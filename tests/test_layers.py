"""One-way layering of ``src/actors`` (issue 9, item 1).

Layers, lowest first; a module may import its own layer and the ones below,
never one above:

0. core: ``actors._core`` (Cython: ``_core.pyx`` and its ``.pxi`` includes)
   and ``actors.lowlevel``, the core's only Python door.  The ``.pyx/.pxi``
   files import nothing from ``actors``.
1. runtime: ``actors.runtime`` runs the core on an asyncio loop.
2. OTP: ``child_spec``, ``gen_server``, ``_supervision``, ``supervisor``,
   ``dynamic_supervisor``, ``task``, ``task_supervisor``, ``agent``,
   ``registry``, ``introspection``; and the Erlang distribution: ``actors.dist``
   (its wire-level modules ``flags``, ``handshake``, ``epmd`` and ``tls`` are
   layer 0: they import nothing from actors but each other) and
   ``actors.node``, the public ``Node`` on it.
3. tools inside processes: ``sys``, ``reload``.
4. the ``actors`` package (``__init__.py``): re-exports the public names and
   registers the hooks that let a lower layer call a higher one
   (``lowlevel.set_via_handler``, ``gen_server.set_system_handler``,
   ``runtime.set_observer``, ``runtime.set_node_hooks``, ``node.set_service``),
   once, in one place.
5. tools on top: ``observer``, ``top``, ``stress``, ``benchmarks``,
   ``testing`` (the pytest plugin), ``__main__``.  (``actors.observer`` is
   reached from the package lazily, by name, on first use, so importing
   ``actors`` never imports it.)

Rules, for every ``src/actors/**/*.py`` (tests may import anything):

(a) no import of a module in a higher layer (function-level imports too);
(b) ``actors._core`` is imported only by ``__init__.py`` and ``lowlevel.py``;
(c) no private name (``_name``, not dunder) taken from another actors
    module, by ``from X import _name`` or ``X._name``.  Modules whose own name
    is private (``_supervision``) are fine to import: the rule is for names;
(d) hooks (``HOOKS``) are registered only by ``actors/__init__.py``, never
    as the side effect of importing some other module.

``ACTORS_LAYERS_SRC`` points the test at another tree's ``src`` (used to
check that it fails on the code before the layering).
"""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

SRC = Path(os.environ.get("ACTORS_LAYERS_SRC") or Path(__file__).resolve().parent.parent / "src")
PKG = SRC / "actors"

LAYER_NAMES = ["core", "runtime", "OTP", "process tools", "package", "tools"]

#: module (or package prefix) -> layer number; the longest prefix wins.
LAYERS = {
    "actors._core": 0,
    "actors.lowlevel": 0,
    "actors.runtime": 1,
    "actors.child_spec": 2,
    "actors.gen_server": 2,
    "actors._supervision": 2,
    "actors.supervisor": 2,
    "actors.dynamic_supervisor": 2,
    "actors.task": 2,
    "actors.task_supervisor": 2,
    "actors.agent": 2,
    "actors.registry": 2,
    "actors.introspection": 2,
    "actors.dist": 2,
    "actors.node": 2,
    "actors.dist.flags": 0,
    "actors.dist.handshake": 0,
    "actors.dist.epmd": 0,
    "actors.dist.tls": 0,
    "actors.sys": 3,
    "actors.reload": 3,
    "actors": 4,
    "actors.__main__": 5,
    "actors.observer": 5,
    "actors.top": 5,
    "actors.stress": 5,
    "actors.benchmarks": 5,
    "actors.testing": 5,
}

#: the only modules that may import ``actors._core``
CORE_IMPORTERS = {"actors", "actors.lowlevel"}

#: the functions that register a hook (a lower layer calling a higher one):
#: called only by ``actors/__init__.py``
HOOKS = {"set_via_handler", "set_system_handler", "set_observer", "set_node_hooks", "set_service"}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    while parts:
        name = ".".join(parts)
        if name in LAYERS:
            return LAYERS[name]
        parts.pop()
    return None


def describe(module: str) -> str:
    layer = layer_of(module)
    return f"{module} (layer {layer}, {LAYER_NAMES[layer]})" if layer is not None else module


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """``name`` (dotted) is a module or package of the source tree."""
    rel = Path(*name.split("."))
    return ((SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()
            or (SRC / rel).with_suffix(".pyx").exists())


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def python_modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def check_module(path: Path, source: str | None = None) -> list[str]:
    """The layering violations of one module, as readable lines."""
    me = module_name(path)
    is_pkg = path.name == "__init__.py"
    package = me if is_pkg else me.rpartition(".")[0]
    tree = ast.parse(source if source is not None else path.read_text(), str(path))
    my_layer = layer_of(me)
    where = f"{path.relative_to(SRC.parent) if SRC.parent in path.parents else path}"
    problems: list[str] = []
    if my_layer is None:
        return [f"{where}: module {me} is in no layer: add it to LAYERS in tests/test_layers.py"]
    aliases: dict[str, str] = {}        # local name -> actors module it is bound to

    def imported(node: ast.AST, target: str, text: str) -> None:
        if target != "actors" and not target.startswith("actors."):
            return
        if target == me:
            return
        if target == "actors._core" or target.startswith("actors._core."):
            if me not in CORE_IMPORTERS:
                problems.append(f"{where}:{node.lineno}: {me} imports the core directly "
                                f"(`{text}`): only {sorted(CORE_IMPORTERS)} may; use actors.lowlevel")
            return
        target_layer = layer_of(target)
        if target_layer is not None and target_layer > my_layer:
            problems.append(f"{where}:{node.lineno}: {describe(me)} imports {describe(target)} "
                            f"(`{text}`): an upward import; register a hook in actors/__init__.py "
                            f"or move the code down")

    def private_name(node: ast.AST, module: str, name: str, text: str) -> None:
        if module != me and is_private(name) and not is_module(f"{module}.{name}"):
            problems.append(f"{where}:{node.lineno}: {me} takes the private name {name!r} from "
                            f"{module} (`{text}`): export a documented public name instead")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                text = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                imported(node, alias.name, text)
                if alias.name == "actors" or alias.name.startswith("actors."):
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[:len(base) - node.level + 1]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            if base_name != "actors" and not base_name.startswith("actors."):
                continue
            names = []
            for alias in node.names:
                text = f"from {'.' * node.level}{node.module or ''} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else "")
                sub = f"{base_name}.{alias.name}"
                if is_module(sub):                      # from . import gen_server
                    imported(node, sub, text)
                    aliases[alias.asname or alias.name] = sub
                else:                                    # from .gen_server import GenServer
                    names.append(alias.name)
                    private_name(node, base_name, alias.name, text)
            if names:                                    # one report per statement
                imported(node, base_name, f"from {'.' * node.level}{node.module or ''} import "
                                          f"{', '.join(names)}")
        elif isinstance(node, ast.Call) and me != "actors":
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in HOOKS:
                problems.append(f"{where}:{node.lineno}: {me} registers a hook ({name}): hooks "
                                f"are registered only in actors/__init__.py, in one visible place")
    for node in ast.walk(tree):                          # X._name on an imported actors module
        if isinstance(node, ast.Attribute):
            chain = []
            value: ast.AST = node
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if not isinstance(value, ast.Name) or value.id not in aliases:
                continue
            chain.reverse()
            module = aliases[value.id]
            for i, attr in enumerate(chain):
                if is_module(f"{module}.{attr}"):
                    module = f"{module}.{attr}"
                    continue
                if i == len(chain) - 1:       # (the inner node of a longer chain is checked on its own)
                    private_name(node, module, attr, f"{value.id}.{'.'.join(chain[:i + 1])}")
                break
    return problems


def check_core_sources() -> list[str]:
    """The Cython core imports nothing from actors (it is the lowest layer)."""
    problems = []
    pattern = re.compile(r"^\s*(from\s+(actors\b|\.)|import\s+actors\b)|\b__import__\(\s*['\"]actors")
    for path in sorted(list(PKG.glob("*.pyx")) + list(PKG.glob("*.pxi"))):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                problems.append(f"{path.relative_to(SRC.parent)}:{lineno}: the core imports from "
                                f"actors (`{line.strip()}`): the core must import nothing above it; "
                                f"export a function through actors.lowlevel or take a hook")
    return problems


def all_problems() -> list[str]:
    problems = check_core_sources()
    for path in python_modules():
        problems.extend(check_module(path))
    return problems


def test_the_layers_are_one_way():
    problems = all_problems()
    assert not problems, (f"{len(problems)} layering violation(s) (see tests/test_layers.py for "
                          f"the layers and rules):\n" + "\n".join(problems))


def test_every_module_has_a_layer():
    unmapped = [module_name(p) for p in python_modules() if layer_of(module_name(p)) is None]
    assert not unmapped, f"modules in no layer (add them to LAYERS): {unmapped}"


# -- the checker itself finds what it should ------------------------------------------

@pytest.mark.parametrize("relpath, source, why", [
    ("actors/runtime.py", "from .gen_server import check_server\n", "upward import"),
    ("actors/runtime.py", "def f():\n    from . import observer\n", "upward import"),
    ("actors/gen_server.py", "from . import sys\n", "upward import"),
    ("actors/__init__.py", "from . import observer\n", "upward import"),
    ("actors/gen_server.py", "from . import _core\n", "imports the core directly"),
    ("actors/task.py", "from actors._core import Pid\n", "imports the core directly"),
    ("actors/reload.py", "from .gen_server import _in_process\n", "private name"),
    ("actors/sys.py", "from . import gen_server as _gs\n_gs._system_handler = None\n", "private name"),
    ("actors/task_supervisor.py", "import actors.task\nactors.task._current('x')\n", "private name"),
    ("actors/registry.py", "from . import lowlevel\nlowlevel.set_via_handler(None)\n", "registers a hook"),
])
def test_the_checker_finds(relpath, source, why):
    problems = check_module(SRC / relpath, source)
    assert any(why in p for p in problems), problems


@pytest.mark.parametrize("relpath, source", [
    ("actors/gen_server.py", "from . import lowlevel\nfrom .lowlevel import ANY\nlowlevel.send\n"),
    ("actors/supervisor.py", "from ._supervision import WHICH\nfrom .gen_server import GenServer\n"),
    ("actors/observer/server.py", "import actors\nfrom actors.lowlevel import call_in_process\n"
                                  "actors.__version__\n"),
    ("actors/gen_server.py", "_private = 1\nfrom .lowlevel import self as _self\n"),
])
def test_the_checker_allows(relpath, source):
    assert check_module(SRC / relpath, source) == []


def test_importing_actors_does_not_import_the_tools():
    """``actors.observer`` imports ``actors``: the package must not import it
    back while it is half-built (it is loaded on first use instead).  Nor
    does it import the pytest plugin: pytest is no dependency of a program."""
    import subprocess
    import sys
    code = ("import sys, actors\n"
            "assert 'actors.observer' not in sys.modules, 'actors imported actors.observer'\n"
            "assert 'actors.testing' not in sys.modules, 'actors imported actors.testing'\n"
            "assert 'pytest' not in sys.modules, 'actors imported pytest'\n"
            "assert actors.observer.start is not None\n")
    # The actors this interpreter imports (installed, or the checkout's src
    # with its compiled core), not SRC: a clean checkout has no built core.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
