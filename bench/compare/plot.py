"""``--plot out.png``: one bar chart per workload of the comparison, log scale (matplotlib)."""

from __future__ import annotations

import math
from typing import Dict, Optional

from actors.benchmarks.catalog import LATENCY, RATE, Row

from .peers import COMPARE_SYSTEMS


def plot(rows: Dict[str, Row], path: str) -> Optional[str]:
    """One bar chart per workload (log scale) into ``path``; returns an error
    message instead when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"--plot: matplotlib is not installed ({e}); pip install matplotlib"
    rows = [r for r in rows.values() if any(r.median(s) for s in r.results)]
    if not rows:
        return "--plot: no results to draw"
    cols = min(3, len(rows))
    nrows = math.ceil(len(rows) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.5 * cols, 3.8 * nrows), squeeze=False)
    colours = {s: plt.cm.tab10(i) for i, s in enumerate(COMPARE_SYSTEMS)}
    for ax, row in zip(axes.flat, rows):
        systems = [s for s in COMPARE_SYSTEMS if row.median(s)]
        values = [row.median(s) for s in systems]
        ax.bar(range(len(systems)), values, color=[colours[s] for s in systems])
        ax.set_yscale("log")
        ax.set_xticks(range(len(systems)))
        ax.set_xticklabels(systems, rotation=35, ha="right", fontsize=8)
        better = "higher" if row.workload.kind == RATE else "lower"
        ax.set_title(f"{row.workload.name} ({better} is better)", fontsize=10)
        unit = "p99 ms" if row.workload.kind == LATENCY else row.workload.unit
        ax.set_ylabel(unit, fontsize=8)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
