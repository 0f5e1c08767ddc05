"""Drive real Erlang nodes from tests: a private ``epmd`` and ``erl`` processes.

A plain module (not a conftest): ``from erlnode import Epmd, ErlNode``
(``tests/distribution`` is put on ``sys.path`` by the test modules that use it).

* :class:`Epmd` runs ``epmd -port <free port>`` in the foreground, as a child
  process, so tests never touch the machine's own epmd (port 4369).
* :class:`ErlNode` runs ``erl -noshell`` with a small read-eval-print loop on
  its stdin: :meth:`ErlNode.eval` sends one Erlang expression and returns
  what it evaluated to, printed with ``~p`` (one line).  Bindings persist
  between calls, as in a shell.  Lines the node prints on its own (for
  example the ``nodeup``/``nodedown`` events of :meth:`ErlNode.monitor_nodes`)
  are kept and can be waited for with :meth:`ErlNode.expect`.
* Every wait has a timeout; ``stop()`` ends the OS process by its pid.
  Use them in fixtures whose finalizer calls ``stop()``.

The blocking methods have ``a``-prefixed coroutine twins (``aeval``,
``aexpect``) that wait in a worker thread, for tests running an event loop
that must keep serving (e.g. while erl connects to a Python node).
"""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

ERL = shutil.which("erl")
EPMD = shutil.which("epmd")

# The loop run by ``erl -noshell -eval``: read a line, parse it as
# expressions, evaluate, print "=> Result" (or "=> error Class Reason").
# ~tp keeps unicode; the line width 100000 keeps every result on one line.
_REPL = r"""
io:setopts([{encoding, unicode}]),
Loop = fun L(Bs) ->
    case io:get_line('') of
        eof -> erlang:halt(0);
        {error, _} -> erlang:halt(0);
        Line ->
            Bs2 = try
                {ok, Ts, _} = erl_scan:string(Line),
                {ok, Es} = erl_parse:parse_exprs(Ts),
                {value, V, B} = erl_eval:exprs(Es, Bs),
                io:format("=> ~0tp~n", [V]),
                B
            catch C:R ->
                io:format("=> error ~0tp ~0tp~n", [C, R]),
                Bs
            end,
            L(Bs2)
    end
end,
Loop(erl_eval:new_bindings()).
"""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_cookie() -> str:
    """A fresh random cookie (letters only, as a bare Erlang atom)."""
    return "c" + secrets.token_hex(12)


class Epmd:
    """A private ``epmd`` on a free loopback port (``epmd.port``)."""

    def __init__(self) -> None:
        if EPMD is None:
            raise RuntimeError("epmd is not installed (apt-get install erlang-nox)")
        self.port = free_port()
        self.proc = subprocess.Popen([EPMD, "-port", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     env={**os.environ, "ERL_EPMD_ADDRESS": "127.0.0.1"})
        deadline = time.monotonic() + 10
        while True:                      # ready once it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"epmd did not start on port {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        """End the epmd process (by its pid) and reap it."""
        _kill(self.proc)


class ErlNode:
    """An ``erl`` node under test control.

    Args:
        name: the node's name: ``"x@127.0.0.1"`` (started with ``-name``), or
            ``"x@localhost"`` (a host without a dot: started with ``-sname``).
        cookie: its cookie; ``None`` starts it without ``-setcookie`` (it
            reads the cookie file of its ``$HOME``).
        epmd: the private :class:`Epmd` it registers with.
        hidden: start it with ``-hidden`` (the default).
        ticktime: ``-kernel net_ticktime`` (seconds), if given.
        tls: an ``-ssl_dist_optfile`` (its ``server`` and ``client`` ssl
            options): the node speaks the TLS distribution (``-proto_dist
            inet_tls``).
        env: more environment variables (``HOME``, say).
        args: more command-line arguments for ``erl``.

    The distribution listens on loopback only (``inet_dist_use_interface``).
    """

    def __init__(self, name: str, *, cookie: str | None, epmd: Epmd, hidden: bool = True,
                 ticktime: int | None = None, tls: str | os.PathLike[str] | None = None,
                 env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        if ERL is None:
            raise RuntimeError("erl is not installed (apt-get install erlang-nox)")
        self.name = name
        self.cookie = cookie
        host = name.partition("@")[2]
        argv = [ERL, "-noshell", "-name" if "." in host else "-sname", name,
                "-kernel", "inet_dist_use_interface", "{127,0,0,1}"]
        if cookie is not None:
            argv += ["-setcookie", cookie]
        if hidden:
            argv.append("-hidden")
        if ticktime is not None:
            argv += ["-kernel", "net_ticktime", str(ticktime)]
        if tls is not None:
            argv += ["-proto_dist", "inet_tls", "-ssl_dist_optfile", os.fspath(tls)]
        argv += list(args)
        argv += ["-eval", _REPL]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                     env={**os.environ, **(env or {}),
                                          "ERL_EPMD_PORT": str(epmd.port)})
        self.pid = self.proc.pid
        self.lines: list[str] = []       # everything it printed, one line each
        self._answered = 0               # lines before this hold no unread eval answer
        self._cursor = 0                 # where expect() goes on from
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.eval("ok", timeout=20)  # the REPL runs: the node is up
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.lines.append("<eof>")
            self._cond.notify_all()

    def _wait_line(self, matches, start: int, timeout: float, what: str) -> int:
        deadline = time.monotonic() + timeout
        with self._cond:
            i = start
            while True:
                while i < len(self.lines):
                    if matches(self.lines[i]):
                        return i
                    if self.lines[i] == "<eof>":
                        raise RuntimeError(f"erl {self.name} exited while waiting for {what}; "
                                           f"output:\n" + "\n".join(self.lines[-30:]))
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"erl {self.name}: no {what} within {timeout} s; "
                                       f"output:\n" + "\n".join(self.lines[-30:]))
                self._cond.wait(left)

    def eval(self, expr: str, timeout: float = 10.0) -> str:
        """Evaluate ``expr`` (Erlang expressions, one line, no final dot) on the
        node; return the result as ``~p`` prints it.  An exception comes back
        as the text ``"error Class Reason"``."""
        if "\n" in expr:
            raise ValueError("expr must be one line")
        assert self.proc.stdin is not None
        self.proc.stdin.write(expr + ".\n")
        self.proc.stdin.flush()
        # evals answer in order: the first "=> " line after the last answer
        i = self._wait_line(lambda line: line.startswith("=> "), self._answered, timeout,
                            f"result of {expr!r}")
        self._answered = i + 1
        return self.lines[i][3:]

    def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait for a line (printed after the previous ``expect`` match)
        matching the regular expression ``pattern``; return the match."""
        regex = re.compile(pattern)
        i = self._wait_line(lambda line: regex.search(line) is not None, self._cursor,
                            timeout, f"line matching {pattern!r}")
        self._cursor = i + 1
        match = regex.search(self.lines[i])
        assert match is not None
        return match

    def printed(self, pattern: str) -> bool:
        """Whether any line printed so far matches ``pattern``."""
        regex = re.compile(pattern)
        with self._cond:
            return any(regex.search(line) for line in self.lines)

    def monitor_nodes(self) -> None:
        """Make the node print ``event nodeup Node`` / ``event nodedown Node
        Reason`` lines (``net_kernel:monitor_nodes(true, [nodedown_reason,
        {node_type, all}])``), from a process of its own."""
        result = self.eval(
            "Self = self(), spawn(fun() -> net_kernel:monitor_nodes(true, [nodedown_reason, "
            "{node_type, all}]), Self ! monitoring, (fun W() -> receive "
            "{nodeup, N, _} -> io:format(\"event nodeup ~p~n\", [N]); "
            "{nodedown, N, I} -> io:format(\"event nodedown ~p ~p~n\", "
            "[N, proplists:get_value(nodedown_reason, I)]) end, W() end)() end), "
            "receive monitoring -> ok after 5000 -> timeout end")
        if result != "ok":
            raise RuntimeError(f"monitor_nodes failed: {result}")

    async def aeval(self, expr: str, timeout: float = 10.0) -> str:
        """:meth:`eval`, waiting in a worker thread (the event loop runs on)."""
        return await asyncio.to_thread(self.eval, expr, timeout)

    async def aexpect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """:meth:`expect`, waiting in a worker thread (the event loop runs on)."""
        return await asyncio.to_thread(self.expect, pattern, timeout)

    def suspend(self) -> None:
        """Freeze the OS process (SIGSTOP): a node that hangs.  Returns once
        the kernel reports it stopped (a signal is delivered asynchronously)."""
        os.kill(self.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                return
            if state in ("T", "t"):
                return
            time.sleep(0.001)

    def resume(self) -> None:
        """Undo :meth:`suspend` (SIGCONT)."""
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """End the OS process abruptly (SIGKILL), as a crash would."""
        _kill(self.proc)

    def stop(self) -> None:
        """End the OS process (by its pid) and reap it; idempotent."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)     # a suspended node cannot die of TERM
            except ProcessLookupError:
                pass
        _kill(self.proc)
        self._reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()                  # SIGKILL to proc.pid, the process we started
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
