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

import actors
from actors.benchmarks import checkout, impl_dist, runner
from actors.benchmarks.catalog import WORKLOADS, Env, MissingWork

runner.load()

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


def children() -> set:
    """The pids of this process's live child processes."""
    me = str(os.getpid())
    out = set()
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[1] == me and fields[0] != "Z":
                out.add(int(d.name))
    return out


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
def test_closing_the_cluster_ends_the_nodes_and_the_epmd(erlang):
    """The OS processes a cluster started (two erl, one epmd) are gone once it is closed."""
    from compare.erlang_cluster import ErlangCluster
    cluster = ErlangCluster(erlang.erl, erlang.dir, timeout=60)
    try:
        pids = [v.proc.pid for v in cluster.vms.values()] + [cluster._epmd.pid]
        assert all(alive(p) for p in pids)
    finally:
        cluster.close()
    assert not any(alive(p) for p in pids)
    assert cluster.closed


@pytest.mark.parametrize("name", ["dist-stream", "dist-ping-pong", "dist-genserver-call",
                                  "dist-fan-in", "dist-cpu", "ping-pong-node"])
def test_actors_rows_count_what_the_other_node_received(name):
    """actors' version of each row (node A here, node B a peer OS process)
    does exactly the work the row defines, and leaves no OS process behind
    (the peer, the epmd); the baseline column of a row that has one too."""
    before = children()
    for system, fn in WORKLOADS[name].impls.items():
        sample = fn(TINY[name], Env())
        assert sample.extra["count"] == EXPECTED[name], system
        assert sample.value > 0
    if name == "dist-ping-pong":
        assert 0 < sample.extra["p50_us"] <= sample.extra["p99_us"]
    assert children() <= before
    assert "ERL_EPMD_PORT" not in os.environ or os.environ["ERL_EPMD_PORT"] != str(sample)


@needs_erl
@pytest.mark.parametrize("name", ["dist-stream-to-beam", "dist-stream-from-beam"])
def test_python_and_beam_stream_to_each_other(erlang, name):
    """Python -> BEAM and BEAM -> Python: the receiver counts every message,
    in order, whichever side it is on."""
    sample = WORKLOADS[name].impls["actors"](TINY[name], Env(erlang=erlang))
    assert sample.extra["count"] == EXPECTED[name]
    assert sample.value > 0


def test_a_row_with_a_beam_end_needs_erlang():
    """Without Erlang, a Python <-> BEAM row cannot run: MissingWork says why."""
    with pytest.raises(MissingWork, match="needs Erlang"):
        WORKLOADS["dist-stream-to-beam"].impls["actors"](TINY["dist-stream-to-beam"], Env())


async def _out_of_order(d):
    async with d.peers(1) as (peer,):
        dest = await actors.Node.spawn(peer, impl_dist.sink)
        ref = actors.monitor(dest)
        actors.send(dest, (impl_dist.START, actors.self(), 3))
        actors.send(dest, (impl_dist.SEQ, 0, impl_dist.PAYLOAD))
        actors.send(dest, (impl_dist.SEQ, 2, impl_dist.PAYLOAD))
        await impl_dist._await_down_or(ref, "the sink")


def test_a_receiver_on_a_peer_that_sees_a_gap_fails_the_measurement():
    """A Python receiver on the other node that gets seq 2 after seq 0 exits,
    and the sender's measurement fails with MissingWork, not a number."""
    with impl_dist.distribution(Env()) as d:
        with pytest.raises(MissingWork, match="the sink exited"):
            d.run(_out_of_order)


def test_distribution_sets_the_epmd_port_only_while_it_runs(monkeypatch):
    """ERL_EPMD_PORT names the measurement's epmd inside, and is restored after."""
    monkeypatch.setenv("ERL_EPMD_PORT", "4369")
    with impl_dist.distribution(Env()) as d:
        assert os.environ["ERL_EPMD_PORT"] == str(d.epmd_port) != "4369"
    assert os.environ["ERL_EPMD_PORT"] == "4369"


def _row(out, name):
    return next(line for line in out.splitlines() if line.startswith(name + " "))


@needs_erl
def test_the_table_puts_the_beam_beside_actors_with_a_ratio(erlang, monkeypatch):
    """One round of the row measures both systems, two nodes each; the table
    shows actors' ratio to the BEAM, and the latency beside each rate."""
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)    # the runner's watchdog needs a file
    w = WORKLOADS["dist-ping-pong"]
    row = runner.run_workload(w, Env(quick=True, erlang=erlang), 1, erlang)
    assert set(row.results) == {"actors", "erlang"}
    assert row.ratio("erlang") > 0
    text = runner.render_table({w.name: row}, {"erlang": "OTP", "quick": True})
    line = _row(text, "dist-ping-pong")
    assert "ERROR" not in line
    assert line.count("us)") == 2                      # (p50/p99us) for actors and erlang
    assert f"{row.ratio('erlang'):.2f}x" in line
    assert ">= 1x BEAM" in line


def test_without_erlang_the_rows_with_a_beam_end_show_a_dash_and_say_why():
    """Without Erlang, a Python <-> BEAM row is not run: its cell is "-" and a
    note under the table names the row and why."""
    w = WORKLOADS["dist-stream-to-beam"]
    row = runner.run_workload(w, Env(quick=True), 1, None)
    assert row.results == {}
    text = runner.render_table({w.name: row}, {"erlang": "skipped (--no-erlang)", "quick": True})
    assert _row(text, "dist-stream-to-beam").split()[2] == "-"
    assert "-: not run, dist-stream-to-beam need(s) Erlang nodes (erlang: skipped " \
        "(--no-erlang))" in text
