"""Run the Python code blocks of one Markdown page, in order, in one namespace.

``tests/test_docs.py`` runs this script in a fresh interpreter for each page:
``python docs_runner.py BLOCKS.json RESULTS.json``.  ``BLOCKS.json`` is a list
of ``{"path": ..., "line": ..., "code": ...}``; the blocks share one
namespace, as the steps of a tutorial do, whose ``__name__`` is
``"__main__"`` (so ``if __name__ == "__main__": actors.run(main)`` runs).
Each block's standard output is captured.  ``RESULTS.json`` gets, per block,
``{"output": ..., "error": traceback or None}``; after a block fails the
rest are not run (they are reported with ``"not_run": true``).

Tracebacks point at the Markdown file and line: each block is compiled
with the page's path as its file name, shifted to the line where it starts.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from typing import Any


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
