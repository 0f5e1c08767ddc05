"""Smoke test of ``python -m actors bench --compare`` (benchmarks/compare.py).

Runs the comparison in-process, in quick mode, on one tiny workload, with
the Python systems that are installed (no Erlang VM, to stay fast): every
system that ran must report a median, and every peer a ratio against actors.
"""

import pytest

from actors.benchmarks import compare


def quiet(_line):
    pass


def test_compare_returns_rows_with_ratios_for_installed_peers():
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


def test_compare_rejects_unknown_names_and_systems():
    """Bad arguments raise ValueError naming the argument, before anything runs."""
    with pytest.raises(ValueError, match="names"):
        compare.Comparison(["no-such-row"], ["actors"], log=quiet)
    with pytest.raises(ValueError, match="systems"):
        compare.Comparison(["ping-pong"], ["node.js"], log=quiet)
    with pytest.raises(ValueError, match="rounds"):
        compare.Comparison(["ping-pong"], ["actors"], rounds=0, log=quiet)
