"""The Python code blocks of the Markdown pages: finding them, running a page's
blocks, and handing them to the type checkers.

Finding them: ``parse_blocks(page)`` reads a page's fenced code blocks with
their directives (``<!-- skip: reason -->`` before a block, a ```` ```text ````
block right after one as its output, ``# test_x.py`` as a block's first line
for a test file, ``# name.py`` for a module the page's other blocks import).
``tests/test_docs.py`` runs them; ``tests/test_typing.py`` type-checks them.

Running them: ``tests/test_docs.py`` runs this script in a fresh interpreter for
each page: ``python docs_runner.py BLOCKS.json RESULTS.json``.  ``BLOCKS.json``
is a list of ``{"path": ..., "line": ..., "code": ...}``; the blocks share one
namespace, as the steps of a tutorial do, whose ``__name__`` is
``"__main__"`` (so ``if __name__ == "__main__": actors.run(main)`` runs).
Each block's standard output is captured.  ``RESULTS.json`` gets, per block,
``{"output": ..., "error": traceback or None}``; after a block fails the
rest are not run (they are reported with ``"not_run": true``).

Tracebacks point at the Markdown file and line: each block is compiled
with the page's path as its file name, shifted to the line where it starts.

Type-checking them: ``write_typecheck_sources`` writes what runs as Python
files: a page's script blocks, in order, as one module (they run in one
namespace), each ``# test_x.py`` block as a module of its own, each
``# name.py`` block as the module ``name`` (so ``import name`` finds it).  Code keeps its
line: line N of a written file is line N of its page (blank lines stand for
the prose between blocks), so a checker's ``file:line`` maps back to
``page.md:line`` by the file name alone.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The API contract: its blocks are notation, compiled but neither run nor type-checked.
CONTRACT = DOCS / "api.md"


def pages() -> list[Path]:
    """The pages whose code blocks are examples: the README and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


# -- finding the code blocks ---------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})\s*(?P<lang>[\w+-]*)")
_SKIP = re.compile(r"^\s*<!--\s*skip:\s*(?P<reason>.+?)\s*-->\s*$")
_TEST_FILE = re.compile(r"^#\s*(?P<name>test_\w+\.py)\s*$")
_MODULE_FILE = re.compile(r"^#\s*(?P<name>[A-Za-z_]\w*\.py)\s*$")


@dataclass
class Block:
    path: Path
    line: int                  # the first line of code (1-based)
    lang: str
    code: str
    end: int = 0               # the index of the closing fence line (0-based)
    skip: str | None = None    # the reason given by <!-- skip: ... -->
    expected: str | None = None

    @property
    def rel(self) -> str:
        """The page's path in the repository (its name, for a page outside it)."""
        return (self.path.relative_to(ROOT) if ROOT in self.path.parents
                else Path(self.path.name)).as_posix()

    @property
    def id(self) -> str:
        return f"{self.rel}:{self.line}"

    @property
    def test_file(self) -> str | None:
        m = _TEST_FILE.match(self.code.split("\n", 1)[0])
        return m.group("name") if m else None

    @property
    def module_file(self) -> str | None:
        """``name.py`` for a block whose first line is ``# name.py`` (not a
        test file): a module, saved under that name beside the page's
        scripts, which they import (it is not run as a script)."""
        if self.test_file is not None:
            return None
        m = _MODULE_FILE.match(self.code.split("\n", 1)[0])
        return m.group("name") if m else None


def parse_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their directives."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    previous = ""          # the last non-blank line before the current one
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        indent, ticks, lang = len(m.group("indent")), m.group("ticks"), m.group("lang")
        start = i + 1
        j = start
        while j < len(lines) and not (lines[j].strip().startswith(ticks)
                                      and not lines[j].strip().strip("`")):
            j += 1
        body = "\n".join(line[indent:] if line[:indent].strip() == "" else line
                         for line in lines[start:j])
        skip = _SKIP.match(previous)
        blocks.append(Block(path, start + 1, lang, textwrap.dedent(body) + "\n", j,
                            skip.group("reason") if skip else None))
        previous = lines[j] if j < len(lines) else ""
        i = j + 1
    # A text block right after a Python block (blank lines between) is its output.
    for k, block in enumerate(blocks[:-1]):
        nxt = blocks[k + 1]
        if block.lang == "python" and nxt.lang == "text":
            between = lines[block.end + 1:nxt.line - 2]
            if not any(line.strip() for line in between):
                block.expected = nxt.code
    return blocks


def python_blocks() -> list[Block]:
    """Every Python block of every page but the contract, page by page, in order."""
    return [b for page in pages() if page != CONTRACT
            for b in parse_blocks(page) if b.lang == "python"]


# -- handing them to the type checkers -----------------------------------------------

def _at_its_lines(blocks: list[Block], first_line: str = "") -> str:
    """The blocks' code with each block starting at its line of the page (line 1,
    the top of the page, is prose or a fence: ``first_line`` may use it)."""
    text = first_line + "\n"
    for block in blocks:
        written = text.count("\n")
        assert written < block.line, f"{block.id}: blocks out of order"
        text += "\n" * (block.line - 1 - written) + block.code
    return text


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements that run at module level: the body and what nests in an
    ``if``, ``for``, ``while``, ``with`` or ``try`` there (not def or class bodies)."""
    found: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(node, field, []))
            for part in [*getattr(node, "handlers", []), *getattr(node, "cases", [])]:
                todo.extend(part.body)
    return found


def _bindings(block: Block) -> tuple[set[str], set[str], dict[str, str]]:
    """What a block binds at module level: (the functions and classes it defines,
    the other names it assigns, {name: the import that binds it, alone})."""
    defined: set[str] = set()
    assigned: set[str] = set()
    imported: dict[str, str] = {}
    for node in _top_level(ast.parse(block.code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[(alias.asname or alias.name).split(".")[0]] = ast.unparse(
                    ast.Import([alias]))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported[alias.asname or alias.name] = ast.unparse(
                    ast.ImportFrom(node.module, [alias], node.level))
        elif not isinstance(node, ast.AugAssign):     # `n += 1` binds nothing new
            assigned |= _stored_names(node)
    return defined, assigned, imported


def _stored_names(node: ast.stmt) -> set[str]:
    """The names a statement assigns in its own scope (a comprehension's or a
    lambda's are theirs; nested statements are walked by ``_top_level``)."""
    names: set[str] = set()
    todo: list[ast.AST] = [child for child in ast.iter_child_nodes(node)
                           if not isinstance(child, ast.stmt)]
    while todo:
        sub = todo.pop()
        if isinstance(sub, (ast.stmt, ast.ListComp, ast.SetComp, ast.DictComp,
                            ast.GeneratorExp, ast.Lambda)):
            continue
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        todo.extend(ast.iter_child_nodes(sub))
    return names


def _page_modules(blocks: list[Block], stem: str) -> list[tuple[str, str]]:
    """A page's script blocks as modules ``(name, source)``.

    A step that binds again a name an earlier step bound (a tutorial's
    ``async def main()`` in each step, ``import actors`` at the top of each
    block, a variable that now holds something else) starts a new module, since
    a checker takes a second definition in one module for a mistake, and a
    variable for one type.  That module starts, on line 1, by binding what the
    earlier steps left in the runner's shared namespace, but what it binds again
    itself: their imports, and ``from <previous module> import x as x`` for the
    rest.
    """
    modules: list[tuple[str, list[Block], str]] = []
    origin: dict[str, str | None] = {}     # name -> its import, or None: defined by a step
    in_module: set[str] = set()            # the names bound in the current module
    for block in blocks:
        defined, assigned, imported = _bindings(block)
        rebound = defined | assigned | set(imported)
        if not modules or rebound & in_module:
            carried = {n: how for n, how in origin.items() if n not in rebound}
            line = [how for how in carried.values() if how is not None]
            kept = sorted(n for n, how in carried.items() if how is None)
            if kept:
                line.append(f"from {modules[-1][0]} import "
                            + ", ".join(f"{n} as {n}" for n in kept))
            head = "; ".join(line) + ("  # pyright: ignore[reportUnusedImport]" if line else "")
            modules.append((stem if not modules else f"{stem}_{block.line}", [], head))
            in_module = set(carried)
        modules[-1][1].append(block)
        origin.update(dict.fromkeys(defined | assigned))
        origin.update(imported)
        in_module |= defined | assigned | set(imported)
    return [(name, _at_its_lines(mod_blocks, head)) for name, mod_blocks, head in modules]


def write_typecheck_sources(blocks: list[Block], out: Path) -> dict[Path, str]:
    """Write the blocks that run (not skipped) as Python files under ``out``, for a
    type checker: each page's script blocks, in order, as a module (or a few,
    ``_page_modules``); each test-file block as a module of its own.  Returns each
    written file with the page it came from (``docs/guides/x.md``); a file's line N
    is its page's line N."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    scripts: dict[Path, list[Block]] = {}
    for block in blocks:
        if block.lang != "python" or block.skip is not None:
            continue
        stem = re.sub(r"\W", "_", block.rel)
        if block.module_file is not None:
            # Its own name: the page's scripts import it (one directory, so
            # two pages may not both define a module of one name).
            target = out / block.module_file
            assert target not in written, f"{block.id}: {block.module_file} is defined twice"
            target.write_text(_at_its_lines([block]), encoding="utf-8")
            written[target] = block.rel
            continue
        if block.test_file is None:
            scripts.setdefault(block.path, []).append(block)
            continue
        # Unique module names: two pages may both show a test_counter.py.
        target = out / f"{stem}_{block.line}_{block.test_file}"
        target.write_text(_at_its_lines([block]), encoding="utf-8")
        written[target] = block.rel
    for page_blocks in scripts.values():
        rel = page_blocks[0].rel
        for name, source in _page_modules(page_blocks, re.sub(r"\W", "_", rel)):
            target = out / f"{name}.py"
            target.write_text(source, encoding="utf-8")
            written[target] = rel
    return written


# -- running a page's blocks -----------------------------------------------------------

def run_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    results: list[dict[str, Any]] = []
    failed = False
    for block in blocks:
        if failed:
            results.append({"output": "", "error": None, "not_run": True})
            continue
        out = io.StringIO()
        error = None
        try:
            source = "\n" * (block["line"] - 1) + block["code"]
            code = compile(source, block["path"], "exec", dont_inherit=True)
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except BaseException:                      # a block may end in SystemExit too
            error = traceback.format_exc()
            failed = True
        results.append({"output": out.getvalue(), "error": error, "not_run": False})
    return results


def main() -> None:
    blocks_path, results_path = sys.argv[1], sys.argv[2]
    with open(blocks_path, encoding="utf-8") as f:
        blocks = json.load(f)
    results = run_blocks(blocks)
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
