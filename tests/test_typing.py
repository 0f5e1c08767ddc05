"""Typing as a gate (issues 9.5 and 10): mypy --strict and pyright (strict) on the
package, the examples, ``tests/typecheck`` (the public API as a typed user
writes it) and the code blocks of the README and the docs, pyright's
``--verifytypes`` completeness of the public API, mypy.stubtest on the compiled
core, and a check that ``_core.pyi`` matches the runtime signatures.

The docs' code blocks are checked as they run (``tests/test_docs.py``): the
blocks of a page in order, in one namespace, and each ``# test_x.py`` block on
its own; ``tests/docs_runner.py`` writes them as modules whose line N is line
N of their page, so every problem is reported as ``page.md:LINE``.  Blocks
marked ``<!-- skip: ... -->`` are not checked (they do not run either), nor
are ``docs/api.md``'s: the contract's blocks are notation (signatures,
fragments with placeholder names), only compiled.

pyright's configuration is ``[tool.pyright]`` in pyproject.toml: strict, on
``src/actors``, ``examples`` and ``tests/typecheck``, reading this checkout's
``src`` before any installed copy of actors.

The core is compiled with ``binding=False`` and ``embedsignature.format=clinic``: its
functions are plain builtins that carry a ``__text_signature__``, so
``inspect.signature(actors.spawn)`` works and stubtest compares their parameters.
Class constructors still have no text signature; for them (and as a second check
of every function and method) ``test_stub_signatures_match_runtime`` compares the
runtime's parameter names and kinds (positional-only, defaults, ``*args``,
keyword-only, ``**kwargs``) with the stub's; annotations are the stub's to choose.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

from docs_runner import parse_blocks, python_blocks, write_typecheck_sources

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
STUB = SRC / "actors" / "_core.pyi"

def test_mypy_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole package is clean under `mypy --strict` (the checkout's sources)."""
    args = ["--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--no-error-summary",
            "-p", "actors"]
    monkeypatch.setenv("MYPYPATH", str(SRC))
    stdout, stderr, status = mypy_api.run(args)
    assert status == 0, f"mypy --strict failed:\n{stdout}{stderr}"


def test_mypy_strict_on_the_examples_and_a_typed_user(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples and tests/typecheck/usage.py are clean under `mypy --strict`: the
    types the API promises hold (assert_type) and the calls it must refuse are refused
    (their `# type: ignore[...]` would be reported unused otherwise)."""
    files = sorted(str(p) for p in (ROOT / "examples").rglob("*.py"))
    files.append(str(ROOT / "tests" / "typecheck" / "usage.py"))
    args = ["--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--no-error-summary", *files]
    monkeypatch.setenv("MYPYPATH", str(SRC))
    stdout, stderr, status = mypy_api.run(args)
    assert status == 0, f"mypy --strict failed:\n{stdout}{stderr}"



# -- the docs' code blocks -------------------------------------------------------------

@pytest.fixture(scope="module")
def docs_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, str]:
    """The README's and the docs' code blocks written as modules: {file: page}."""
    sources = write_typecheck_sources(python_blocks(), tmp_path_factory.mktemp("docs_typecheck"))
    pages = set(sources.values())
    assert "README.md" in pages and any(p.startswith("docs/guides/") for p in pages)
    assert "docs/api.md" not in pages
    return sources


def _on_the_page(sources: dict[Path, str], file: str, line: int) -> str | None:
    """``page.md:LINE`` for a written file's line (the same line), or None."""
    by_name = {path.name: page for path, page in sources.items()}   # one directory
    page = by_name.get(Path(file).name)
    if page is None:
        return None
    return f"{page}:{line}" + (" (a name an earlier block of the page left)" if line == 1 else "")


_MYPY_LINE = re.compile(r"^(?P<file>.+?\.py):(?P<line>\d+):(?:\d+:)? (?P<rest>.*)$")


def _mypy_on_docs(sources: dict[Path, str], tmp_path: Path) -> tuple[int, list[str]]:
    """mypy --strict on written code blocks: its exit status and its messages, each
    at its page and line."""
    args = ["--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--no-error-summary",
            "--show-absolute-path", "--no-pretty", *sorted(map(str, sources))]
    stdout, stderr, status = mypy_api.run(args)
    problems = []
    for line in (stdout + stderr).splitlines():
        m = _MYPY_LINE.match(line)
        where = m and _on_the_page(sources, m.group("file"), int(m.group("line")))
        problems.append(f"{where}: {m.group('rest')}" if m and where else line)
    return status, problems


def test_mypy_strict_on_the_docs(docs_sources: dict[Path, str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Every code block of the README and the docs that runs is clean under
    `mypy --strict`; problems are reported at their page and line."""
    monkeypatch.setenv("MYPYPATH", str(SRC))
    status, problems = _mypy_on_docs(docs_sources, tmp_path)
    assert status == 0 and not problems, ("mypy --strict on the docs' code blocks:\n"
                                          + "\n".join(problems))


def test_docs_blocks_are_checked_as_they_run(tmp_path: Path) -> None:
    """A page's blocks are checked in order, as one namespace: a later block sees what
    an earlier one defined, and may define `main` again (as tutorials do) without an
    error; a test-file block stands alone; a skipped block is not checked; a problem
    is reported at its line of the page."""
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent('''\
        A tutorial.

        ```python
        def main() -> int:
            return 1

        answer = main()
        ```

        Then:

        ```python
        def main() -> str:
            return "a"

        wrong: str = answer
        ```

        <!-- skip: not Python -->
        ```python
        this is not checked
        ```

        ```python
        # test_page.py
        def test_it() -> None:
            assert True
        ```
        '''))
    sources = write_typecheck_sources(parse_blocks(page), tmp_path / "out")
    assert sorted(p.name for p in sources) == ["page_md.py", "page_md_13.py",
                                               "page_md_25_test_page.py"]
    lines = page.read_text().split("\n")
    for path in sources:
        for n, text in enumerate(path.read_text().split("\n"), 1):
            if text.strip() and n > 1:
                assert text == lines[n - 1], f"{path.name}:{n}"
    assert (tmp_path / "out" / "page_md_13.py").read_text().startswith(
        "from page_md import answer as answer")
    status, problems = _mypy_on_docs(sources, tmp_path)
    assert status == 1 and len(problems) == 1, problems
    assert problems[0].startswith("page.md:16: error: Incompatible types in assignment")


# -- pyright ---------------------------------------------------------------------------

def _pyright(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run pyright (the `pyright` package's CLI) from the checkout; its JSON report."""
    pytest.importorskip("pyright")
    proc = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no JSON report (exit {proc.returncode}):\n"
                    f"{proc.stdout}{proc.stderr}")
    return report


def test_pyright_strict() -> None:
    """The package, the examples and tests/typecheck are clean under pyright's strict
    mode ([tool.pyright] in pyproject.toml)."""
    report = _pyright()
    problems = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
                f" ({d.get('rule', d['severity'])})"
                for d in report["generalDiagnostics"] if d["severity"] != "information"]
    assert problems == [], "pyright (strict) reports:\n" + "\n".join(problems)
    # Every source it was meant to check was checked (not an include that matches nothing).
    sources = [*(SRC / "actors").rglob("*.py"), *(SRC / "actors").rglob("*.pyi"),
               *(ROOT / "examples").rglob("*.py"), *(ROOT / "tests" / "typecheck").rglob("*.py")]
    assert report["summary"]["filesAnalyzed"] >= len(sources)


def test_public_api_type_completeness() -> None:
    """`pyright --verifytypes actors`: at least 95% of the symbols the package exports
    have a known type (issue 10), measured on this checkout's sources."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    report = _pyright("--verifytypes", "actors", "--ignoreexternal", env=env)
    completeness = report["typeCompleteness"]
    assert Path(completeness["packageRootDirectory"]).resolve() == (SRC / "actors").resolve()
    unknown = [f"{s['name']}: {[d['message'] for d in s['diagnostics']]}"
               for s in completeness["symbols"] if s["isExported"] and not s["isTypeKnown"]]
    assert completeness["completenessScore"] >= 0.95, (
        f"type completeness {completeness['completenessScore']:.1%}; symbols without a known "
        f"type:\n" + "\n".join(unknown))


def test_stubtest_core(tmp_path: Path) -> None:
    core = pytest.importorskip("actors._core")
    # Check the compiled core this test imports (src/ in a build_ext --inplace checkout,
    # site-packages after `pip install .`) against the stub installed beside it.
    where = Path(core.__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(where))
    env.pop("MYPYPATH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "actors._core",
         "--allowlist", str(ROOT / "stubtest-allowlist.txt")],
        cwd=tmp_path,       # stubtest keeps its mypy cache in ./.mypy_cache
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"stubtest failed:\n{proc.stdout}{proc.stderr}"


# -- stub vs embedded signatures -------------------------------------------------------

# (positional-only names, positional-or-keyword names, *args name, keyword-only names,
#  **kwargs name, how many positional parameters have defaults, keyword-only ones with defaults)
Shape = tuple[tuple[str, ...], tuple[str, ...], str | None, tuple[str, ...], str | None,
              int, tuple[str, ...]]


def _shape_of_args(a: ast.arguments, drop_self: bool) -> Shape:
    posonly = [x.arg for x in a.posonlyargs]
    normal = [x.arg for x in a.args]
    if drop_self:
        (posonly if posonly else normal).pop(0)
    return (tuple(posonly), tuple(normal), a.vararg.arg if a.vararg else None,
            tuple(x.arg for x in a.kwonlyargs), a.kwarg.arg if a.kwarg else None,
            len(a.defaults), tuple(x.arg for x, d in zip(a.kwonlyargs, a.kw_defaults) if d))


def _shape_of_doc(line: str, drop_self: bool) -> Shape:
    """Shape of an embedsignature line such as
    ``Scheduler.on_exit(self, Pid pid, callback)`` or ``now(self) -> double``
    (C types dropped; defaults must not contain commas, as none in the core do)."""
    _, _, rest = line.partition("(")
    params = rest.rsplit(")", 1)[0]
    parts = []
    for p in filter(None, (x.strip() for x in params.split(","))):
        name, eq, _default = p.partition("=")
        star = "**" if name.startswith("**") else "*" if name.startswith("*") else ""
        word = name.lstrip("*").split()[-1] if name.lstrip("*").strip() else ""
        parts.append(star + word + ("=..." if eq else ""))
    fn = ast.parse(f"def f({', '.join(parts)}): pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    return _shape_of_args(fn.args, drop_self)


def _stub_defs() -> dict[str, ast.arguments]:
    tree = ast.parse(STUB.read_text())
    out: dict[str, ast.arguments] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = node.args
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out[f"{node.name}.{sub.name}"] = sub.args
    return out


def test_stub_signatures_match_runtime() -> None:
    core = pytest.importorskip("actors._core")
    stub = _stub_defs()
    problems: list[str] = []
    checked = 0
    for name in dir(core):
        if name.startswith("_"):
            continue
        obj = getattr(core, name)
        targets: list[tuple[str, object, bool]] = []
        if isinstance(obj, types.BuiltinFunctionType):
            targets.append((name, obj, False))
        elif isinstance(obj, type) and obj.__module__ == "actors._core":
            for meth in vars(obj):
                if not meth.startswith("_") and callable(getattr(obj, meth)):
                    targets.append((f"{name}.{meth}", getattr(obj, meth), True))
            doc_head = (obj.__doc__ or "").split("\n", 1)[0]
            if doc_head.startswith(f"{name}("):
                targets.append((f"{name}.__init__", obj, True))
        for qual, target, is_method in targets:
            is_init = qual.endswith(".__init__")
            expected_head = qual.split(".")[0] if is_init else qual.split(".")[-1]
            text_sig = None if is_init else getattr(target, "__text_signature__", None)
            if text_sig:                 # embedsignature.format=clinic: inspect.signature works
                line = expected_head + text_sig.replace("$self", "self")
            else:
                line = (target.__doc__ or "").split("\n", 1)[0]
            if not line.split("(", 1)[0].endswith(expected_head):
                continue  # no embedded signature (e.g. a NamedTuple's field accessors)
            runtime_shape = _shape_of_doc(line, drop_self=is_method and not is_init)
            if qual in stub:
                stub_shape = _shape_of_args(stub[qual], drop_self=is_method)
                shown = ast.unparse(stub[qual])
            elif is_init:  # no __init__ in the stub: object's, which takes no arguments
                stub_shape, shown = ((), (), None, (), None, 0, ()), "(inherited from object)"
            else:
                problems.append(f"{qual}: in the runtime ({line}) but not in the stub")
                continue
            checked += 1
            if runtime_shape != stub_shape:
                problems.append(f"{qual}: runtime {line!r} vs stub {shown!r}")
    assert checked > 30
    assert not problems, "stub signatures differ from the runtime:\n" + "\n".join(problems)


def test_pyright_strict_on_the_docs(docs_sources: dict[Path, str]) -> None:
    """Every code block of the README and the docs that runs is clean under pyright's
    strict mode, configured as for the package ([tool.pyright]); problems are
    reported at their page and line."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pyright"]
    config.update(include=["."], extraPaths=[str(SRC)])     # include: relative paths only
    project = next(iter(docs_sources)).parent / "pyrightconfig.json"
    project.write_text(json.dumps(config))
    report = _pyright("--project", str(project))
    problems = [f"{_on_the_page(docs_sources, d['file'], d['range']['start']['line'] + 1) or d['file']}"
                f": {d['message']} ({d.get('rule', d['severity'])})"
                for d in report["generalDiagnostics"] if d["severity"] != "information"]
    assert not problems, "pyright (strict) on the docs' code blocks:\n" + "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] >= len(docs_sources)
