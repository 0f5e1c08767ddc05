"""The Distribution guide's mixed cluster works as the guide shows it.

``docs/guides/distribution.md`` has Python modules (``# counter_node.py``
blocks), ``iex`` and ``erl`` shell sessions, and the output they give.  The
docs test runs the guide's Python blocks; here its shell sessions run too,
against real Elixir and Erlang nodes, taken from the page as they are
written:

* ``python counter_node.py`` serves the counter; the first ``iex`` session
  calls it from Elixir, the ``erl`` session from Erlang (the count goes on),
  and the session's last line, a message to the Python node, ends it;
* the second ``iex`` session defines and starts an Elixir GenServer, which
  ``python call_elixir.py`` calls, printing what the guide shows.

Each session's results are compared with the lines the guide shows after
each prompt (``...`` matches anything, as in the docs' output blocks).
Everything runs on loopback with a private epmd (``ERL_EPMD_PORT``); every OS
process is ended by its pid.  Skipped, saying why, only where Erlang or
Elixir is not installed (``.ci/run`` installs both).
"""
from __future__ import annotations

import doctest
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import actors
from docs_runner import Block, parse_blocks
from erlnode import ERL, Epmd

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guides" / "distribution.md"
ELIXIR = shutil.which("elixir")
# The Python processes import the actors this process imported.
ACTORS_PATH = str(Path(actors.__file__).resolve().parents[1])
TIMEOUT = 60.0


def blocks() -> list[Block]:
    return parse_blocks(GUIDE)


def session(lang: str, index: int) -> list[tuple[str, str]]:
    """The ``index``-th ``lang`` block (``iex`` or ``erl``) as ``(expression,
    the output shown after it)`` pairs: a prompt line starts an expression
    (``...>`` continues one in iex), the lines up to the next prompt are its
    output."""
    code = [b for b in blocks() if b.lang == lang][index].code
    prompt = re.compile(r"^iex> " if lang == "iex" else r"^\d+> ")
    pairs: list[tuple[list[str], list[str]]] = []
    for line in code.splitlines():
        if prompt.match(line):
            pairs.append(([prompt.sub("", line)], []))
        elif lang == "iex" and line.startswith("...> "):
            pairs[-1][0].append(line[len("...> "):])
        elif line.strip():
            pairs[-1][1].append(line)
    return [("\n".join(expr), "\n".join(out) + "\n") for expr, out in pairs]


def command_line(tool: str) -> list[str]:
    """The options the guide starts ``iex`` / ``erl`` with (name and cookie)."""
    m = re.search(rf"`{tool} (-{{1,2}}name \S+@\S+ -{{1,2}}\w*cookie \S+)`",
                  GUIDE.read_text(encoding="utf-8"))
    assert m, f"the guide shows no `{tool} ...` command line"
    return m.group(1).split()


def save_modules(where: Path) -> None:
    """Save the guide's modules (``# name.py`` blocks) as the guide says to."""
    for block in blocks():
        if block.lang == "python" and block.module_file is not None:
            (where / block.module_file).write_text(block.code, encoding="utf-8")


def expected_output(module: str) -> str:
    """The output block the guide shows after the module ``module``."""
    block = next(b for b in blocks() if b.lang == "python" and b.module_file == module)
    assert block.expected is not None, f"the guide shows no output for {module}"
    return block.expected


def check(expected: str, got: str, what: str) -> None:
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert checker.check_output(expected, got, flags), (
        f"{what}: the guide shows\n{expected}but it gave\n{got}")


class Lines:
    """A child process's output, line by line, waited for with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, pattern: str) -> list[str]:
        """The lines up to one matching ``pattern`` (excluded)."""
        got: list[str] = []
        while True:
            try:
                line = self._queue.get(timeout=TIMEOUT)
            except queue.Empty:
                raise TimeoutError(f"no line matching {pattern!r}; output:\n"
                                   + "\n".join(self.seen)) from None
            if line is None:
                raise RuntimeError(f"exited (status {self.proc.wait()}) before a line matching "
                                   f"{pattern!r}; output:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if re.search(pattern, line):
                return got
            got.append(line)


def start(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], Lines]:
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            encoding="utf-8")
    return proc, Lines(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    """End a child process by its pid and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def elixir_script(pairs: list[tuple[str, str]], then: str = "") -> str:
    """An Elixir script that evaluates the session's expressions in order, one
    binding, printing each value as iex does after a marker line."""
    parts = [f'IO.puts("=== {i}")\nvalue = (\n{expr}\n)\nIO.puts(inspect(value, pretty: true))\n'
             for i, (expr, _) in enumerate(pairs)]
    return "".join(parts) + 'IO.puts("=== end")\n' + then


def results(lines: list[str], count: int) -> list[str]:
    """Split what a session script printed at its ``=== i`` markers."""
    text = "\n".join(lines) + "\n"
    chunks = re.split(r"^=== \d+\n", text, flags=re.M)
    assert len(chunks) == count + 1, f"{count} results expected, got:\n{text}"
    return chunks[1:]


@pytest.fixture
def env(epmd: Epmd, tmp_path: Path) -> dict[str, str]:
    if ELIXIR is None:
        pytest.skip("Elixir is not installed (apt-get install elixir): the guide's iex "
                    "sessions cannot run")
    assert ERL is not None
    save_modules(tmp_path)
    pythonpath = [str(tmp_path), ACTORS_PATH, os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, ERL_EPMD_PORT=str(epmd.port),
                PYTHONPATH=os.pathsep.join(filter(None, pythonpath)))


LOOPBACK = ["-kernel", "inet_dist_use_interface", "{127,0,0,1}"]


def test_elixir_and_erlang_call_the_python_counter(env: dict[str, str], tmp_path: Path) -> None:
    node, node_out = start([sys.executable, "counter_node.py"], tmp_path, env)
    try:
        node_out.until(r"^serving on py@127\.0\.0\.1$")

        iex = session("iex", 0)
        (tmp_path / "iex.exs").write_text(elixir_script(iex), encoding="utf-8")
        done = subprocess.run([ELIXIR or "elixir", *command_line("iex"), "--erl", " ".join(LOOPBACK),
                               "iex.exs"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stdout + done.stderr
        printed = done.stdout.split("=== end\n")[0].splitlines()
        for (expr, expected), got in zip(iex, results(printed, len(iex))):
            check(expected, got, f"iex> {expr}")

        erl = session("erl", 0)
        evals = ", ".join(f'io:format("=== {i}~n"), io:format("~p~n", [begin {expr.rstrip(".")} end])'
                          for i, (expr, _) in enumerate(erl))
        done = subprocess.run([ERL or "erl", "-noshell", *command_line("erl"), *LOOPBACK,
                               "-eval", evals + ", halt()."], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stdout + done.stderr
        for (expr, expected), got in zip(erl, results(done.stdout.splitlines(), len(erl))):
            check(expected, got, f"erl> {expr}")

        # the session's last line told counter_node.py to stop
        assert node.wait(timeout=TIMEOUT) == 0, "\n".join(node_out.seen)
    finally:
        stop(node)


def test_python_calls_the_elixir_genserver(env: dict[str, str], tmp_path: Path) -> None:
    iex = session("iex", 1)
    (tmp_path / "greeter.exs").write_text(
        elixir_script(iex, then="Process.sleep(:infinity)\n"), encoding="utf-8")
    elixir, elixir_out = start([ELIXIR or "elixir", *command_line("iex"), "--erl", " ".join(LOOPBACK),
                                "greeter.exs"], tmp_path, env)
    try:
        printed = elixir_out.until(r"^=== end$")
        for (expr, expected), got in zip(iex, results(printed, len(iex))):
            check(expected, got, f"iex> {expr}")

        done = subprocess.run([sys.executable, "call_elixir.py"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stdout + done.stderr
        check(expected_output("call_elixir.py"), done.stdout, "python call_elixir.py")
    finally:
        stop(elixir)
