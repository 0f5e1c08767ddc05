"""Two distributed Erlang nodes on loopback: the BEAM side of the distribution rows.

:class:`ErlangCluster` starts a private ``epmd`` (``epmd -port P`` on a free
loopback port, a child process: the machine's own epmd on 4369 is never
touched) and two nodes, ``a`` and ``b``::

    erl +S 1 -noshell -name actorsbench_a_<tag>@127.0.0.1 -setcookie <random> -hidden
        -kernel inet_dist_use_interface '{127,0,0,1}' -pa DIR
        -dist_bench_peer actorsbench_b_<tag>@127.0.0.1 -eval 'dist_bench:serve().'

with ``ERL_EPMD_PORT=P`` (``b`` likewise, its peer ``a``). Each answers one
request per line on stdin (``bench:serve/1``: ``"name arg ..."`` ->
``"RESULT key=value ..."``). The BEAM -> BEAM rows are asked of ``a``, which
does the work with ``b``; the rows with a Python end ask ``b`` to register a
sink or a source, and the Python node (same epmd: :attr:`epmd_port`, same
:attr:`cookie`) talks to it. :meth:`close` ends the three OS processes, by
their pids.

Used through ``Erlang.cluster()`` (``erlang.py``), which starts it on first
use with the flags of its VM (``+S 1`` for the ``erlang`` system).
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import socket
import subprocess
import threading
import time
from typing import Dict, List, Optional, Sequence

from .erlang import ERL_FLAGS, ErlangError, parse

#: How long a node may take to come up and connect to the other.
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Vm:
    """One ``erl`` OS process answering requests on stdin; a thread reads its stdout."""

    def __init__(self, argv: List[str], env: Dict[str, str]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1, env=env)
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.noise: List[str] = []          # lines that were no answer (logger reports...)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)                # end of output: the VM exited

    def ask(self, line: str, timeout: float) -> str:
        """Send ``line``, return the answer (the next ``RESULT``/``ERROR`` line)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise ErlangError(f"erl exited before {line!r}: {e}; output: "
                              + " | ".join(self.noise[-10:])) from None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                got = self.lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise ErlangError(f"erl: no answer to {line!r} in {timeout:g} s") from None
            if got is None:
                self.lines.put(None)
                raise ErlangError(f"erl exited while running {line!r}; output: "
                                  + " | ".join(self.noise[-10:]))
            if got.startswith(("RESULT ", "ERROR ")):
                return got
            self.noise.append(got)

    def stop(self) -> None:
        """End the OS process (by its pid) and reap it."""
        _end(self.proc)
        self._reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()                    # the process we started, by its pid
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class ErlangCluster:
    """A private epmd and two distributed ``erl`` nodes, ``a`` and ``b``.

    Args:
        erl: the ``erl`` executable.
        code_dir: where ``bench.beam`` and ``dist_bench.beam`` are.
        flags: ``erl``'s flags (default :data:`~compare.erlang.ERL_FLAGS`: ``+S 1``).
        timeout: seconds a request may take before the nodes are ended.

    Raises:
        ErlangError: ``epmd`` is missing, or a node did not come up.
    """

    def __init__(self, erl: str, code_dir: str, *, flags: Sequence[str] = ERL_FLAGS,
                 timeout: float = 600.0):
        epmd = shutil.which("epmd")
        if epmd is None:
            raise ErlangError("epmd not on PATH")
        self.timeout = timeout
        #: A fresh random cookie, shared by both nodes (and the Python nodes that join).
        self.cookie = "c" + secrets.token_hex(16)
        tag = secrets.token_hex(4)
        #: ``{"a": "actorsbench_a_<tag>@127.0.0.1", "b": ...}``
        self.nodes = {k: f"actorsbench_{k}_{tag}@127.0.0.1" for k in ("a", "b")}
        #: The port of the private epmd (``ERL_EPMD_PORT`` for a Python node that joins).
        self.epmd_port = free_port()
        self.flags = list(flags)
        self.vms: Dict[str, _Vm] = {}
        self._epmd = subprocess.Popen(
            [epmd, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._wait_epmd()
            env = {**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)}
            for me, other in (("a", "b"), ("b", "a")):
                self.vms[me] = _Vm(
                    [erl, *self.flags, "-name", self.nodes[me], "-setcookie", self.cookie,
                     "-hidden", "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
                     "-pa", code_dir, "-dist_bench_peer", self.nodes[other],
                     "-eval", "dist_bench:serve()."], env)
            for me in ("a", "b"):              # both up (registered with epmd) ...
                self.request(me, "ready", [], timeout=START_TIMEOUT_S)
            for me in ("a", "b"):              # ... and connected to each other
                self.request(me, "connect", [], timeout=START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    def _wait_epmd(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.epmd_port), timeout=1).close()
                return
            except OSError:
                if self._epmd.poll() is not None or time.monotonic() > deadline:
                    raise ErlangError(f"epmd did not start on port {self.epmd_port}") from None
                time.sleep(0.02)

    def request(self, node: str, fn: str, args: Sequence[int],
                timeout: Optional[float] = None) -> Dict[str, str]:
        """Run ``dist_bench:fn(args...)`` on node ``node`` (``"a"`` or ``"b"``);
        its ``RESULT`` as a dict. An ``ERROR`` raises ``MissingWork``; no
        answer in time ends the nodes and raises :class:`ErlangError`."""
        line = " ".join([fn, *map(str, args)])
        if self.closed:
            raise ErlangError(f"the Erlang nodes were ended; cannot run {line!r}")
        try:
            answer = self.vms[node].ask(line, self.timeout if timeout is None else timeout)
        except ErlangError:
            self.close()
            raise
        return parse(answer, f"{self.nodes[node]}: {line}")

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ended the nodes (after a failed request too)."""
        return not self.vms

    def close(self) -> None:
        """End both nodes and the epmd (by their pids); idempotent."""
        for vm in self.vms.values():
            vm.stop()
        self.vms.clear()
        _end(self._epmd)
