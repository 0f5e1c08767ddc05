"""The documentation is executable: no example in it may rot.

* **Code blocks.**  Every ```` ```python ```` block of ``README.md`` and
  ``docs/**/*.md`` runs.  The blocks of one page run in order, in one
  namespace (a page is a tutorial: a later block may use what an earlier one
  defined), in a fresh interpreter per page (``tests/docs_runner.py``), with
  ``__name__ == "__main__"``.  One test per block, named ``page.md:LINE``.

  - A ```` ```text ```` block that follows a Python block (only blank lines
    between) is the output that block prints: it is checked, with
    ``...`` matching anything (doctest's ``ELLIPSIS``), so the output shown in
    the docs is the output the code gives.
  - A block whose first line is a comment naming a test file
    (``# test_counter.py``) is a complete pytest module: it is written to a
    fresh directory under that name and run with pytest (``pytester``), on
    its own; every test in it must pass.
  - A block whose first line names another file (``# greeter.py``) is a
    module the page tells you to save: it is written under that name to the
    directory the page's blocks run in, which is on ``PYTHONPATH`` (so the
    page's blocks, and the Python processes they start, import it), and
    must import cleanly itself.  It is not run as a script.
  - ``<!-- skip: reason -->`` on the line before a block keeps it from
    running.  Use it only for what cannot run here (a server that never
    ends, a shell session); prefer examples that terminate.

  Pages run with ``ERL_EPMD_PORT`` pointing at a private epmd (actors' own,
  ``python -m actors epmd``, started for the session and stopped at its
  end), so an example that starts a node neither meets the machine's
  nodes nor leaves an epmd daemon behind.  The docstring examples run with
  it too.

  ``docs/api.md`` is the contract: its blocks are notation (a signature line,
  fragments with placeholder names such as ``fn`` and ``request``) that
  every guide demonstrates with complete programs.  They are not run, only
  compiled (fragments may ``await`` at top level; a one-line
  ``name(...) -> T`` signature is left alone).

* **Docstring examples.**  Every ``>>>`` example in the package's docstrings
  runs as a doctest: the pure-Python modules' and the compiled core's (whose
  docstrings ``help()`` shows), with the module's globals and ``actors``.

* **The site builds.**  ``mkdocs build --strict`` (warnings are errors: a
  broken link or anchor, a docstring griffe cannot parse, a page missing
  from the nav).

* **Links stay inside the repository.**  No link in ``README.md`` or
  ``docs/`` points at a file outside the repository or at an absolute path;
  every relative link resolves to a file that exists.
"""
from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import json
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actors
from docs_runner import CONTRACT, Block, pages, parse_blocks, python_blocks

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "docs_runner.py"
PAGE_TIMEOUT = 90.0


_SIGNATURE = re.compile(r"^[\w.]+\(.*\)\s*->\s*.+$")

PYTHON_BLOCKS = python_blocks()
SCRIPT_BLOCKS = [b for b in PYTHON_BLOCKS if b.test_file is None and b.module_file is None]
TEST_FILE_BLOCKS = [b for b in PYTHON_BLOCKS if b.test_file is not None]
MODULE_BLOCKS = [b for b in PYTHON_BLOCKS if b.module_file is not None]


# -- a private epmd ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def docs_epmd() -> Iterator[int]:
    """The port of a private epmd (``python -m actors epmd --port 0``, the same
    actors this process imports), for the examples that start nodes; ended by
    its pid at the end of the session."""
    env = dict(os.environ)
    where = str(Path(actors.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [where, env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "actors", "epmd", "--port", "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()        # "epmd listening on 127.0.0.1:PORT"
        m = re.search(r"listening on \S+:(\d+)", line)
        assert m, f"python -m actors epmd did not start: {line}{proc.stdout.read()}"
        yield int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _page_env(work: Path, epmd_port: int) -> dict[str, str]:
    """The environment a page's blocks run in: its directory (where its modules
    are saved) first on PYTHONPATH, and the private epmd."""
    env = dict(os.environ, PYTHONHASHSEED="0", ERL_EPMD_PORT=str(epmd_port))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work), env.get("PYTHONPATH")]))
    return env


def _page_dir(path: Path, tmp_root: Path) -> Path:
    """The directory a page's blocks run in, with the page's modules saved in it."""
    work = tmp_root / re.sub(r"\W", "_", path.relative_to(ROOT).as_posix())
    if not work.exists():
        work.mkdir(parents=True)
        for block in MODULE_BLOCKS:
            if block.path == path and block.skip is None:
                assert block.module_file is not None
                (work / block.module_file).write_text(block.code, encoding="utf-8")
    return work


# -- running a page's blocks -------------------------------------------------------------

_page_results: dict[Path, dict[int, dict[str, Any]]] = {}


def _run_page(path: Path, tmp_root: Path, epmd_port: int) -> dict[int, dict[str, Any]]:
    """Run every runnable script block of ``path`` in one fresh interpreter."""
    if path in _page_results:
        return _page_results[path]
    blocks = [b for b in SCRIPT_BLOCKS if b.path == path and b.skip is None]
    work = _page_dir(path, tmp_root)
    (work / "blocks.json").write_text(json.dumps(
        [{"path": str(b.path), "line": b.line, "code": b.code} for b in blocks]))
    env = _page_env(work, epmd_port)
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(RUNNER), "blocks.json", "results.json"],
        cwd=work, env=env, capture_output=True, text=True, timeout=PAGE_TIMEOUT)
    results_file = work / "results.json"
    if proc.returncode != 0 or not results_file.exists():
        pytest.fail(f"the runner failed on {path.name} (exit {proc.returncode}):\n"
                    f"{proc.stdout}{proc.stderr}")
    results = json.loads(results_file.read_text())
    by_line = {}
    first_failure = None
    for block, result in zip(blocks, results):
        result["stderr"] = proc.stderr
        if result["error"] and first_failure is None:
            first_failure = block.id
        result["first_failure"] = first_failure
        by_line[block.line] = result
    _page_results[path] = by_line
    return by_line


@pytest.fixture(scope="session")
def docs_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docs")


@pytest.mark.parametrize("block", SCRIPT_BLOCKS, ids=[b.id for b in SCRIPT_BLOCKS])
def test_code_block(block: Block, docs_tmp: Path, docs_epmd: int) -> None:
    """Each Python block runs without error, and prints what the docs show."""
    if block.skip is not None:
        assert block.skip.strip(), f"{block.id}: <!-- skip: --> needs a reason"
        # Not run; it must still be valid Python.
        compile(block.code, block.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return
    result = _run_page(block.path, docs_tmp, docs_epmd)[block.line]
    if result["not_run"]:
        pytest.fail(f"not run: the earlier block {result['first_failure']} failed")
    if result["error"]:
        pytest.fail(f"{block.id} raised:\n{result['error']}\nstderr of the page:\n"
                    f"{result['stderr']}", pytrace=False)
    if block.expected is not None:
        checker = doctest.OutputChecker()
        if not checker.check_output(block.expected, result["output"], doctest.ELLIPSIS):
            pytest.fail(f"{block.id}: the output differs from the text block after it.\n"
                        f"expected:\n{block.expected}\ngot:\n{result['output']}", pytrace=False)


@pytest.mark.parametrize("block", MODULE_BLOCKS, ids=[b.id for b in MODULE_BLOCKS])
def test_module_block(block: Block, docs_tmp: Path, docs_epmd: int) -> None:
    """A module a page tells you to save (first line ``# name.py``) imports
    cleanly, from the directory the page's blocks run in."""
    assert block.module_file is not None
    compile(block.code, block.id, "exec")
    if block.skip is not None:
        return
    work = _page_dir(block.path, docs_tmp)
    name = block.module_file.removesuffix(".py")
    proc = subprocess.run([sys.executable, "-W", "error", "-c", f"import {name}"], cwd=work,
                          env=_page_env(work, docs_epmd), capture_output=True, text=True,
                          timeout=PAGE_TIMEOUT)
    assert proc.returncode == 0, f"{block.id}: import {name} failed:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("block", TEST_FILE_BLOCKS, ids=[b.id for b in TEST_FILE_BLOCKS])
def test_test_file_block(block: Block, pytester: pytest.Pytester) -> None:
    """A block that is a test file (first line ``# test_x.py``) passes under pytest."""
    assert block.test_file is not None
    if block.skip is not None:
        compile(block.code, block.id, "exec")
        return
    pytester.path.joinpath(block.test_file).write_text(block.code)
    args = ["-p", "no:cacheprovider", "-W", "error"]
    if importlib.util.find_spec("actors.testing") is not None:
        args += ["-p", "actors.testing"]      # the plugin, even where its entry point is not installed
    result = pytester.runpytest_subprocess(*args, timeout=PAGE_TIMEOUT)
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) >= 1, (
        f"{block.id}: pytest did not pass:\n{result.stdout.str()}\n{result.stderr.str()}")


def test_parse_blocks_reads_the_directives(tmp_path: Path) -> None:
    """Output blocks, skip comments, test files, module files and indented
    (tabbed) blocks are recognised; a text block after prose is not an output."""
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent('''\
        Intro.

        ```python
        print("hi")
        ```

        ```text
        hi
        ```

        <!-- skip: runs forever -->
        ```python
        while True: pass
        ```

        Prose.

        ```text
        not an output
        ```

        === "Tab"

            ```python
            # test_example.py
            def test_x(): pass
            ```

        ```python
        # greeter.py
        def hello() -> str: return "hi"
        ```
        '''))
    blocks = parse_blocks(page)
    assert [(b.line, b.lang) for b in blocks] == [(4, "python"), (8, "text"), (13, "python"),
                                                  (19, "text"), (25, "python"), (30, "python")]
    first, _, forever, prose, tabbed, module = blocks
    assert first.expected == "hi\n" and first.skip is None and first.test_file is None
    assert first.module_file is None
    assert forever.skip == "runs forever" and forever.expected is None
    assert tabbed.test_file == "test_example.py" and tabbed.module_file is None
    assert tabbed.code == "# test_example.py\ndef test_x(): pass\n"
    assert module.module_file == "greeter.py" and module.test_file is None


def test_contract_blocks_compile() -> None:
    """docs/api.md's blocks are valid Python fragments (or one-line signatures)."""
    for block in parse_blocks(CONTRACT):
        if block.lang != "python":
            continue
        if _SIGNATURE.match(block.code.strip()) and block.code.strip().count("\n") == 0:
            continue
        compile(block.code, block.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_every_page_has_run_code() -> None:
    """The mechanism finds blocks: the README and the guides have examples that run."""
    pages = {b.rel for b in SCRIPT_BLOCKS if b.skip is None}
    assert "README.md" in pages
    assert any(p.startswith("docs/guides/") for p in pages)
    assert any(b.expected is not None for b in SCRIPT_BLOCKS)     # outputs are checked


# -- docstring examples ------------------------------------------------------------------

def _modules() -> list[Any]:
    """The package, its compiled core and every pure-Python module."""
    mods: list[Any] = [actors, importlib.import_module("actors._core")]
    for info in pkgutil.walk_packages(actors.__path__, "actors."):
        if info.name.endswith("__main__") or info.name == "actors._core":
            continue
        mods.append(importlib.import_module(info.name))
    return mods


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: dict[str, doctest.DocTest] = {}
    for mod in _modules():
        for test in finder.find(mod, extraglobs={"actors": actors}):
            if ".__test__." in test.name:       # Cython's copies of the same docstrings
                continue
            if test.examples and test.docstring not in {t.docstring for t in found.values()}:
                found.setdefault(test.name, test)
    return sorted(found.values(), key=lambda t: t.name)


DOCTESTS = _doctests()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test: doctest.DocTest, docs_epmd: int,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each docstring's ``>>>`` examples give the output they show (a node an
    example starts registers with the private epmd)."""
    monkeypatch.setenv("ERL_EPMD_PORT", str(docs_epmd))
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=out.append, clear_globs=True)
    assert runner.failures == 0, "".join(out)


def test_doctests_found() -> None:
    """The docstring examples of the core and of the OTP layers are collected."""
    names = {t.name for t in DOCTESTS}
    assert "actors" in names                        # the package docstring
    assert "actors.where" in names                  # a core function (the .pyx)
    assert any(n.startswith("actors.supervisor") for n in names)


# -- the site ----------------------------------------------------------------------------

def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict`` passes: every page in the nav, every link and
    anchor resolves, every docstring of the API reference parses."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}{proc.stderr}"
    assert (tmp_path / "site" / "reference" / "gen_server" / "index.html").exists()


_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)"
                   r"|(?:href|src)=\"(?P<html>[^\"]+)\"")


def _links(path: Path) -> list[tuple[int, str]]:
    found = []
    in_code = False
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for m in _LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            found.append((n, m.group("target") or m.group("html")))
    return found


def test_links_stay_in_the_repository() -> None:
    """No link leaves the repository: relative links resolve to files in it,
    and no link is an absolute or ``file:`` path."""
    bad = []
    for page in pages():
        for n, target in _links(page):
            where = f"{page.relative_to(ROOT)}:{n}: {target}"
            if re.match(r"^(https?|mailto):", target) or target.startswith("#"):
                continue
            if target.startswith(("/", "file:", "~")) or re.match(r"^[a-zA-Z]:\\", target):
                bad.append(f"{where} (an absolute path)")
                continue
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            resolved = (page.parent / file_part).resolve()
            if ROOT not in resolved.parents and resolved != ROOT:
                bad.append(f"{where} (outside the repository)")
            elif not resolved.exists():
                bad.append(f"{where} (no such file)")
    assert not bad, "links that leave the repository or lead nowhere:\n" + "\n".join(bad)
