"""Griffe extension for the API reference (loaded by mkdocs.yml, not shipped).

1. The compiled core ``actors._core`` is read from its stub ``_core.pyi``,
   which has the signatures but no docstrings: the docstrings are taken from
   the imported core (the same text ``help()`` shows).  mkdocs.yml turns
   griffe's own inspection of compiled modules off, so the reference is the
   same whether or not a built core sits in ``src``.
2. The package's docstrings are written for ``help()``, with two
   reStructuredText habits that Markdown does not know; they are translated
   when the site is built (the source is not changed):

   * a paragraph ending in ``::`` followed by an indented block is a literal
     block: it becomes a fenced code block (``python`` if it parses as
     Python, else ``text``);
   * doctests (``>>>`` lines and their output) become ``pycon`` code blocks;
   * a line that is only a ````code```` term, followed by lines indented
     further, is a definition list item: it becomes Markdown's ``term`` /
     ``:   definition`` (the ``def_list`` extension).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from typing import Any

import griffe

_TERM = re.compile(r"^(\s*)``[^`].*``\s*$")
_SIGNATURE_LINE = re.compile(r"^\w+\(.*\)(\s*->\s*.+)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_python(code: str) -> bool:
    try:
        compile(code, "<docstring>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True)
    except SyntaxError:
        return False
    return True


def rst_to_markdown(text: str) -> str:
    """Translate literal blocks and definition lists (see the module docstring)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = not fence
            out.append(line)
            i += 1
            continue
        if fence:
            out.append(line)
            i += 1
            continue
        if stripped.endswith("::") and not stripped.startswith(">>>"):
            base = _indent(line)
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and j > i + 1 and _indent(lines[j]) > base:
                end = j
                while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
                    end += 1
                while end > j and not lines[end - 1].strip():
                    end -= 1
                block = textwrap.dedent("\n".join(lines[j:end]))
                head = stripped[:-2].rstrip()
                if head:
                    out.append(" " * base + head + (":" if not head.endswith(":") else ""))
                    out.append("")
                lang = "python" if _is_python(block) else "text"
                pad = " " * base
                out.append(f"{pad}```{lang}")
                out.extend(pad + b if b else "" for b in block.split("\n"))
                out.append(f"{pad}```")
                i = end
                continue
        if stripped.startswith(">>> "):
            # A doctest: prompts, continuation lines and the output up to a blank line.
            base = _indent(line)
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            pad = " " * base
            out.append(f"{pad}```pycon")
            out.extend(pad + b[base:] if b.startswith(pad) else b for b in lines[i:j])
            out.append(f"{pad}```")
            i = j
            continue
        m = _TERM.match(line)
        if (m and i + 1 < len(lines) and lines[i + 1].strip()
                and _indent(lines[i + 1]) > _indent(line)):
            base = _indent(line)
            out.append(line)
            j = i + 1
            first = True
            while j < len(lines) and lines[j].strip() and _indent(lines[j]) > base:
                body = lines[j].strip()
                out.append(" " * base + (":   " if first else "    ") + body)
                first = False
                j += 1
            if j < len(lines) and lines[j].strip():
                out.append("")
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _documented(value: Any) -> bool:
    """Whether ``value``'s docstring is its own: a function, class or
    descriptor (a constant's ``__doc__`` is its type's)."""
    return (inspect.isroutine(value) or inspect.isclass(value)
            or inspect.isdatadescriptor(value) or inspect.ismethoddescriptor(value))


def _runtime_doc(obj: Any) -> str | None:
    doc = inspect.getdoc(obj)
    if not doc:
        return None
    first, _, rest = doc.partition("\n")
    if _SIGNATURE_LINE.match(first.strip()):     # Cython's embedded signature line
        doc = rest.lstrip("\n")
    return doc


class ActorsDocstrings(griffe.Extension):
    """Core docstrings from the compiled module; reST habits as Markdown."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "actors":
            return
        core = importlib.import_module("actors._core")
        self._parser = loader.docstring_parser           # the docstrings griffe made have these
        self._options = loader.docstring_options
        self._fill(pkg["_core"], core)
        self._translate(pkg, set())

    def _fill(self, obj: griffe.Object, runtime: Any) -> None:
        for name, member in obj.members.items():
            if member.is_alias or member.docstring is not None:
                continue
            value = getattr(runtime, name, None)
            if not _documented(value):
                continue
            if getattr(object, name, None) is not None and \
                    inspect.getdoc(getattr(object, name)) == inspect.getdoc(value):
                continue                      # object's own text ("Initialize self...")
            doc = _runtime_doc(value)
            if doc:
                member.docstring = griffe.Docstring(doc, parent=member, parser=self._parser,
                                                    parser_options=self._options)
            if member.is_class:
                self._fill(member, value)

    def _translate(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._translate(member, seen)
