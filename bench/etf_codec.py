"""The External Term Format codec (actors.dist.etf) against the BEAM's own
``term_to_binary`` / ``binary_to_term``, on the same four terms, in one run.

    PYTHONPATH=src python bench/etf_codec.py [--runs 7] [--scale 1.0]

The terms: a small tuple ``{seq, 12345, <<16 bytes>>}``, a map of 10 atom
keys to small ints, ``lists:seq(1, 1000)``, a 64 KiB binary (its bytes are
``I rem 251``, so neither it nor the 16 bytes are valid UTF-8: they decode to
``bytes``). Before timing, the script checks that our encoding of each term is
byte for byte the BEAM's (``term_to_binary(T, [{minor_version, 2}])``).

Ours: a Python loop calling ``encode``/``decode``. The BEAM's: a compiled
module (written to a temporary directory, compiled and loaded by one
``erl -noshell -eval`` one-liner) looping with ``timer:tc``. Each figure is the
median over ``--runs`` runs of ns per operation; the ratio is ours / BEAM's
(below 1: we are faster).
"""
from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from actors.dist.etf import Atom, decode, encode

BIN16 = bytes(range(200, 216))
BIN64K = bytes(i % 251 for i in range(1, 65537))

# name: (Python term, Erlang expression, iterations per run at --scale 1)
TERMS: dict[str, tuple[Any, str, int]] = {
    "small tuple": ((Atom("seq"), 12345, BIN16),
                    "{seq, 12345, list_to_binary(lists:seq(200, 215))}", 200_000),
    "10-key map": ({Atom(f"k{i}"): i for i in sorted(range(1, 11), key=lambda i: f"k{i}")},
                   "maps:from_list([{list_to_atom(\"k\" ++ integer_to_list(I)), I} || I <- lists:seq(1, 10)])",
                   100_000),
    "1,000-int list": (list(range(1, 1001)), "lists:seq(1, 1000)", 10_000),
    "64 KiB binary": (BIN64K, "<< <<(I rem 251)>> || I <- lists:seq(1, 65536) >>", 5_000),
}

ERLANG_MODULE = """
-module(etf_bench).
-export([main/1]).

enc(0, _, Acc) -> Acc;
enc(N, T, _) -> enc(N - 1, T, byte_size(term_to_binary(T))).

dec(0, _, Acc) -> Acc;
dec(N, B, _) -> dec(N - 1, B, binary_to_term(B)).

main([Runs | Cases]) ->
    lists:foreach(fun({Name, T, N}) ->
        B = term_to_binary(T, [{minor_version, 2}]),
        Times = fun(F) -> [element(1, timer:tc(F)) * 1000 / N || _ <- lists:seq(1, Runs)] end,
        E = Times(fun() -> enc(N, T, 0) end),
        D = Times(fun() -> dec(N, B, 0) end),
        io:format("~s|~s|~w|~w~n", [Name, base64:encode(B), E, D])
    end, Cases).
"""


def ours(term: Any, n: int, runs: int) -> tuple[float, float]:
    data = encode(term)
    enc_times, dec_times = [], []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            encode(term)
        t1 = time.perf_counter_ns()
        for _ in range(n):
            decode(data)
        t2 = time.perf_counter_ns()
        enc_times.append((t1 - t0) / n)
        dec_times.append((t2 - t1) / n)
    return statistics.median(enc_times), statistics.median(dec_times)


def beam(runs: int, scale: float) -> dict[str, tuple[bytes, float, float]]:
    erl = shutil.which("erl")
    if erl is None:
        sys.exit("erl (Erlang/OTP) is not installed: nothing to compare with")
    cases = ", ".join(f'{{"{name}", {src}, {max(1, int(n * scale))}}}' for name, (_, src, n) in TERMS.items())
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "etf_bench.erl"
        module.write_text(ERLANG_MODULE, encoding="utf-8")
        one_liner = (f'{{ok, M, Bin}} = compile:file("{module}", [binary]), '
                     f'code:load_binary(M, "{module}", Bin), M:main([{runs}, {cases}]), halt().')
        out = subprocess.run([erl, "-noshell", "-eval", one_liner], capture_output=True, text=True,
                             timeout=600, check=True)
    result = {}
    for line in out.stdout.strip().splitlines():
        name, b64, enc_list, dec_list = line.split("|")
        enc_ns = statistics.median(float(x) for x in enc_list.strip("[]").split(","))
        dec_ns = statistics.median(float(x) for x in dec_list.strip("[]").split(","))
        result[name] = (base64.b64decode(b64), enc_ns, dec_ns)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (the median is shown)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the iterations per run")
    args = parser.parse_args()
    theirs = beam(args.runs, args.scale)
    version = subprocess.run(["erl", "-noshell", "-eval",
                              'io:format("~s", [erlang:system_info(otp_release)]), halt().'],
                             capture_output=True, text=True, check=True).stdout
    print(f"External Term Format: actors.dist.etf (Python {sys.version.split()[0]}) vs the BEAM "
          f"(OTP {version}), median of {args.runs} runs, ns/op")
    print(f"{'term':<16}{'bytes':>7} | {'encode':>9}{'BEAM':>9}{'ratio':>7} | {'decode':>9}{'BEAM':>9}{'ratio':>7}")
    worst = 0.0
    for name, (term, _, n) in TERMS.items():
        data, beam_enc, beam_dec = theirs[name]
        if encode(term) != data:
            sys.exit(f"{name}: our encoding differs from term_to_binary's")
        enc, dec = ours(term, max(1, int(n * args.scale)), args.runs)
        worst = max(worst, enc / beam_enc, dec / beam_dec)
        print(f"{name:<16}{len(data):>7} | {enc:>9.0f}{beam_enc:>9.0f}{enc / beam_enc:>6.2f}x"
              f" | {dec:>9.0f}{beam_dec:>9.0f}{dec / beam_dec:>6.2f}x")
    print(f"worst ratio: {worst:.2f}x (target: 1.5x or less)")


if __name__ == "__main__":
    main()
