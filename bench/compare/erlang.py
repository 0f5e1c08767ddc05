"""Runs the Erlang/OTP versions of the workloads (``bench.erl``, next to this file).

Used by the headline table of ``python -m actors bench`` (its Erlang column)
and by ``--compare`` (``erlang`` and ``erlang-smp``). ``bench.erl`` is
compiled with ``erlc`` into a temporary directory, then one VM,
``erl +S 1 -noshell -pa DIR -eval 'bench:serve().'``, answers one
request per line ("name arg ..." -> "RESULT key=value ..."). Workloads
declared ``isolated`` (memory) get a fresh VM each time
(``-eval 'bench:oneshot([name, args...]).'``).

A workload's function may name its module (``"dist_bench:dist_stream"``;
``bench`` by default). The functions of ``dist_bench.erl`` (the
distribution rows) run on a pair of distributed nodes instead, started on
first use: see ``erlang_cluster``.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from actors.benchmarks.catalog import MEMORY, LATENCY, RATE, MissingWork, Sample, Workload

#: ``erl``'s flags by default: one scheduler, as actors runs on one thread.
ERL_FLAGS = ("+S", "1", "-noshell")

#: The Erlang versions of the workloads.
BENCH_ERL = Path(__file__).with_name("bench.erl")

#: The module of the distribution rows, run on two nodes (``erlang_cluster``).
CLUSTER_MODULE = "dist_bench"

#: Every module compiled (``bench`` first: the default module of a workload).
ERL_SOURCES = (BENCH_ERL, BENCH_ERL.with_name(f"{CLUSTER_MODULE}.erl"))


def split_function(erlang: str) -> Tuple[str, str]:
    """``"mod:fun"`` -> ``("mod", "fun")``; a bare ``"fun"`` is in ``bench``."""
    mod, _, fn = erlang.rpartition(":")
    return mod or "bench", fn


def find_erl() -> Optional[str]:
    """``erl``'s path if both ``erl`` and ``erlc`` are on PATH, else None."""
    erl, erlc = shutil.which("erl"), shutil.which("erlc")
    return erl if erl and erlc else None


def erl_version() -> Optional[str]:
    """E.g. ``"OTP 25, erts 13.1.5"``, or None without ``erl``."""
    erl = find_erl()
    if not erl:
        return None
    try:
        out = subprocess.run(
            [erl, "-noshell", "-eval",
             'io:format("OTP ~s, erts ~s", [erlang:system_info(otp_release), '
             'erlang:system_info(version)]), halt().'],
            capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class ErlangError(RuntimeError):
    """``erl`` or ``erlc`` failed, or the VM did not answer."""


class Erlang:
    """A compiled bench.erl plus a long-running VM to run workloads in.

    Args:
        timeout: seconds a measurement may take before the VM is killed.
        flags: ``erl``'s flags (default :data:`ERL_FLAGS`).
    """

    def __init__(self, timeout: float = 600.0, flags: Sequence[str] = ERL_FLAGS):
        self.erl = find_erl()
        if not self.erl:
            raise ErlangError("erl/erlc not on PATH")
        self.timeout = timeout
        self.flags = list(flags)
        self.dir = tempfile.mkdtemp(prefix="actors-bench-erl-")
        out = subprocess.run(["erlc", "-o", self.dir, *map(str, ERL_SOURCES)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise ErlangError(f"erlc failed:\n{out.stdout}{out.stderr}")
        self.exports = self._exports()
        self.proc: Optional[subprocess.Popen] = None
        self._cluster = None

    def _exports(self) -> set:
        """``"mod:fun/arity"`` for every export of the compiled modules."""
        mods = ", ".join(p.stem for p in ERL_SOURCES)
        out = subprocess.run(
            [self.erl, "-noshell", "-pa", self.dir, "-eval",
             f'[io:format("~s:~s/~b~n", [M, F, A]) || M <- [{mods}], '
             '{F, A} <- M:module_info(exports)], halt().'],
            capture_output=True, text=True, timeout=60)
        return {line.strip() for line in out.stdout.splitlines() if line.strip()}

    def version(self) -> Optional[str]:
        """The OTP and erts versions of ``erl``."""
        return erl_version()

    def has(self, w: Workload) -> bool:
        """Whether ``w``'s module exports its function, with ``w``'s arity."""
        if not w.erlang:
            return False
        mod, fn = split_function(w.erlang)
        return f"{mod}:{fn}/{len(w.full)}" in self.exports

    def cluster(self):
        """The two distributed nodes of the distribution rows (started on
        first use, ended by :meth:`cleanup`): an ``ErlangCluster``."""
        if self._cluster is None or self._cluster.closed:
            from .erlang_cluster import ErlangCluster
            self._cluster = ErlangCluster(self.erl, self.dir, flags=self.flags,
                                          timeout=self.timeout)
        return self._cluster

    # -- the long-running VM ------------------------------------------------

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [self.erl, *self.flags, "-pa", self.dir, "-eval", "bench:serve()."],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1)
        return self.proc

    def request(self, fn: str, args: List[int]) -> Dict[str, str]:
        proc = self._start()
        line = " ".join([fn, *map(str, args)])
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        if not wait_readable(proc, self.timeout):
            self.close()
            raise ErlangError(f"erl: no answer to {line!r} in {self.timeout:g} s (VM killed)")
        answer = proc.stdout.readline()
        if not answer:
            err = proc.stderr.read() if proc.poll() is not None else ""
            self.close()
            raise ErlangError(f"erl exited while running {line!r}: {err.strip()}")
        return parse(answer, line)

    def oneshot(self, fn: str, args: List[int]) -> Dict[str, str]:
        term = "[" + ", ".join([fn, *map(str, args)]) + "]"
        out = subprocess.run(
            [self.erl, *self.flags, "-pa", self.dir, "-eval", f"bench:oneshot({term})."],
            capture_output=True, text=True, timeout=self.timeout)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("RESULT", "ERROR"))]
        if not lines:
            raise ErlangError(f"erl: no result for {term}: {out.stdout}{out.stderr}")
        return parse(lines[-1], term)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                proc.kill()
                proc.wait()

    def cleanup(self) -> None:
        self.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- one measurement ----------------------------------------------------

    def measure(self, w: Workload, params: Dict[str, int]) -> Sample:
        """Run ``w`` with ``params`` (a fresh VM if ``w`` is isolated) and return its sample."""
        args = [params[k] for k in w.full]          # declaration order
        mod, fn = split_function(w.erlang or "")
        if mod == CLUSTER_MODULE:
            res = self.cluster().request("a", fn, args)
        else:
            res = (self.oneshot if w.isolated else self.request)(fn, args)
        if w.kind == RATE:
            count = int(res["count"])
            elapsed = int(res["elapsed_us"]) / 1e6
            extra = {"count": count, "elapsed_s": elapsed}
            for k in ("p50", "p99"):                # per-operation latency, if measured
                if f"{k}_ns" in res:
                    extra[f"{k}_us"] = int(res[f"{k}_ns"]) / 1e3
            return Sample(count / elapsed, extra)
        if w.kind == LATENCY:
            extra = {
                "count": int(res["count"]),
                "early": int(res["early"]),
                "p50_ms": int(res["p50_us"]) / 1e3,
                "p99_ms": int(res["p99_us"]) / 1e3,
                "max_ms": int(res["max_us"]) / 1e3,
                "arm_overran_ms": int(res.get("arm_overran_us", 0)) / 1e3,
            }
            return Sample(extra["p99_ms"], extra)
        if w.kind == MEMORY:
            extra = {k: int(v) for k, v in res.items() if k != "name"}
            return Sample(float(res["bytes_per_process"]), extra)
        raise ValueError(f"unknown workload kind {w.kind!r}")


def wait_readable(proc: subprocess.Popen, timeout: float) -> bool:
    """Whether ``proc``'s stdout has something to read within ``timeout`` seconds."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        return bool(sel.select(timeout))
    finally:
        sel.close()


def parse(answer: str, request: str) -> Dict[str, str]:
    answer = answer.strip()
    if answer.startswith("ERROR"):
        raise MissingWork(f"erlang {request}: {answer[6:]}")
    if not answer.startswith("RESULT "):
        raise ErlangError(f"erlang {request}: unexpected output {answer!r}")
    out = {}
    for tok in answer[7:].split():
        k, _, v = tok.partition("=")
        out[k] = v
    return out
