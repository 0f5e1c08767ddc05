"""Run one measurement in this fresh interpreter and print it as ``SAMPLE {json}``.

Used by the runner for workloads declared ``isolated`` (memory), for actors
and the asyncio baseline (the checkout's peers have ``compare.isolated``), so that
neither the runner's own heap nor another system's leftovers are counted::

    python -m actors.benchmarks.isolated WORKLOAD SYSTEM PARAMS_JSON ENV_JSON
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> None:
    name, system, params, env = argv
    from .catalog import WORKLOADS, Env
    from . import workloads  # noqa: F401  # pyright: ignore[reportUnusedImport]
    if system == "actors":
        from . import impl_actors  # noqa: F401  # pyright: ignore[reportUnusedImport]
    elif system == "asyncio":
        from . import impl_asyncio  # noqa: F401  # pyright: ignore[reportUnusedImport]
    else:
        raise SystemExit(f"isolated: unknown system {system!r}")
    fn = WORKLOADS[name].impls[system]
    sample = fn(json.loads(params), Env(**json.loads(env)))
    print("SAMPLE " + json.dumps({"value": sample.value, "extra": sample.extra}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
