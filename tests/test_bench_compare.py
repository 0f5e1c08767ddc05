"""Smoke test of ``python -m actors bench --compare`` (the checkout's bench/compare).

Runs the comparison in-process, in quick mode, on one tiny workload, with
the Python systems that are installed (no Erlang VM, to stay fast): every
system that ran must report a median, and every peer a ratio against actors.
The ``compare`` package is imported the way ``python -m actors bench
--compare`` does it (``actors.benchmarks.checkout``), from this checkout.
"""

import pathlib
import sys

import pytest

from actors.benchmarks import checkout

BENCH_DIR = pathlib.Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def compare():
    """The checkout's ``compare.runner``; sys.path is left as it was."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(checkout.ENV_VAR, str(BENCH_DIR))
        mp.setattr(sys, "path", list(sys.path))
        mod = checkout.import_peer("runner")
    assert mod is not None, f"no bench/compare in {BENCH_DIR}"
    return mod


def quiet(_line):
    pass


def test_compare_returns_rows_with_ratios_for_installed_peers(compare):
    """Each installed peer runs the same work as actors and gets a ratio
    against actors; a peer that is not installed is skipped, named with why."""
    systems = ("actors", "asyncio", "asyncio+uvloop", "gevent")
    cmp = compare.Comparison(["ping-pong"], systems, rounds=1, quick=True,
                             params={"ping-pong": {"messages": 2_000}}, log=quiet)
    rows = cmp.run()
    row = rows["ping-pong"]
    assert row.params["messages"] == 2_000
    ran = [s for s in systems if s not in cmp.skipped]
    assert set(row.results) == set(ran)
    for s in ran:
        assert not row.results[s].errors, row.results[s].errors
        assert row.median(s) > 0
    for s in ran:
        if s != "actors":
            assert row.ratio(s) > 0
            assert compare.ratio_text(row, s).endswith("x")
    for s, why in cmp.skipped.items():
        assert "pip install" in why
    text = compare.render_table(rows, cmp, {"quick": True})
    assert "ping-pong" in text and "actors vs it" in text


def test_compare_rejects_unknown_names_and_systems(compare):
    """Bad arguments raise ValueError naming the argument, before anything runs."""
    with pytest.raises(ValueError, match="names"):
        compare.Comparison(["no-such-row"], ["actors"], log=quiet)
    with pytest.raises(ValueError, match="systems"):
        compare.Comparison(["ping-pong"], ["node.js"], log=quiet)
    with pytest.raises(ValueError, match="rounds"):
        compare.Comparison(["ping-pong"], ["actors"], rounds=0, log=quiet)
