"""The distribution rows of ``python -m actors bench`` (``dist-*``), at a tiny size.

Each row runs once per system, with counts small enough for a few seconds in
all: the BEAM -> BEAM versions on two ``erl +S 1`` nodes (the checkout's
``bench/compare/erlang_cluster.py`` and ``dist_bench.erl``), actors' versions
on this process and a peer node, and the Python <-> BEAM ones across both.
What is checked is what a benchmark promises: the work it defines was done
(the receiver's count), a sample with a positive rate, and the OS processes
it started are gone after. No wall-clock time is asserted.

Tests that need Erlang skip themselves (saying why) when ``erl``/``epmd`` are
not installed.
"""

import os
import pathlib
import shutil
import sys

import pytest

from actors.benchmarks import checkout
from actors.benchmarks.catalog import WORKLOADS, Env, MissingWork

BENCH_DIR = pathlib.Path(__file__).resolve().parents[1] / "bench"

needs_erl = pytest.mark.skipif(
    shutil.which("erl") is None or shutil.which("epmd") is None,
    reason="Erlang/OTP (erl, erlc, epmd) is not installed (Debian: apt-get install erlang-nox)")

#: Each dist row's parameters for these tests.
TINY = {
    "dist-stream": {"messages": 300},
    "dist-stream-to-beam": {"messages": 300},
    "dist-stream-from-beam": {"messages": 300},
    "dist-ping-pong": {"round_trips": 50},
    "dist-genserver-call": {"calls": 50},
    "dist-fan-in": {"senders": 10, "each": 20},
    "dist-cpu": {"jobs": 4, "iterations": 1_000},
    "ping-pong-node": {"messages": 200},
}

#: What each row's sample must count (the receiver's count).
EXPECTED = {
    "dist-stream": 300, "dist-stream-to-beam": 300, "dist-stream-from-beam": 300,
    "dist-ping-pong": 50, "dist-genserver-call": 50, "dist-fan-in": 200, "dist-cpu": 4,
    "ping-pong-node": 200,
}


def alive(pid: int) -> bool:
    """Whether OS process ``pid`` still runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def erlang_mod():
    """The checkout's ``compare.erlang``; sys.path is left as it was."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(checkout.ENV_VAR, str(BENCH_DIR))
        mp.setattr(sys, "path", list(sys.path))
        mod = checkout.import_peer("erlang")
    assert mod is not None, f"no bench/compare in {BENCH_DIR}"
    from actors.benchmarks import runner
    runner.load()
    return mod


@pytest.fixture(scope="module")
def erlang(erlang_mod):
    """A compiled bench.erl + dist_bench.erl; its two-node cluster starts on first use."""
    if erlang_mod.find_erl() is None or shutil.which("epmd") is None:
        pytest.skip("Erlang/OTP (erl, erlc, epmd) is not installed")
    vm = erlang_mod.Erlang(timeout=60)
    yield vm
    vm.cleanup()


@needs_erl
@pytest.mark.parametrize("name", ["dist-stream", "dist-ping-pong", "dist-genserver-call",
                                  "dist-fan-in"])
def test_beam_to_beam_rows_count_what_the_other_node_received(erlang, name):
    """Erlang's version of each row runs on node A against node B and reports
    exactly the work the row defines, with a positive rate."""
    w = WORKLOADS[name]
    assert erlang.has(w)
    sample = erlang.measure(w, TINY[name])
    assert sample.extra["count"] == EXPECTED[name]
    assert sample.value > 0
    if name == "dist-ping-pong":
        assert 0 < sample.extra["p50_us"] <= sample.extra["p99_us"]


@needs_erl
def test_the_cluster_is_two_hidden_nodes_on_a_private_epmd(erlang):
    """Both nodes run with the random cookie, register with the private epmd
    (not 4369), and are connected to each other."""
    cluster = erlang.cluster()
    assert cluster.epmd_port != 4369
    assert set(cluster.nodes) == {"a", "b"}
    assert all(n.endswith("@127.0.0.1") for n in cluster.nodes.values())
    for me in ("a", "b"):
        assert cluster.request(me, "connect", []) == {"name": "connect", "connected": "1"}


@needs_erl
def test_a_receiver_that_misses_work_fails_the_measurement(erlang):
    """When the receiver on node B does not count the work it expects, the
    measurement is an error naming why (MissingWork), not a number: here a
    fan-in of no senders to a receiver expecting -1 messages from each."""
    with pytest.raises(MissingWork, match="sink_down.*per_sender"):
        erlang.cluster().request("a", "dist_fan_in", [0, -1])
    assert not erlang.cluster().closed          # the nodes serve on


@needs_erl
def test_cleanup_ends_the_nodes_and_the_epmd(erlang_mod):
    """The OS processes the cluster started (two erl, one epmd) are gone after cleanup."""
    vm = erlang_mod.Erlang(timeout=60)
    try:
        cluster = vm.cluster()
        pids = [v.proc.pid for v in cluster.vms.values()] + [cluster._epmd.pid]
        assert all(alive(p) for p in pids)
    finally:
        vm.cleanup()
    assert not any(alive(p) for p in pids)
    assert cluster.closed
