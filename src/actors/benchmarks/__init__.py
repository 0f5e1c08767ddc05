"""actors' own benchmarks: ``python -m actors bench`` (``--help`` for the options).

What ships in the package is what the headline table needs: actors' own
workloads against a hand-written asyncio baseline. The pieces:

* ``catalog``       -- workloads, targets, samples; ``workload()`` and ``impl()``;
* ``workloads``     -- the rows: one ``workload(...)`` declaration each;
* ``impl_actors``   -- actors' version of each workload;
* ``impl_asyncio``  -- the asyncio baseline (Task + Queue per process, a future per call);
* ``impl_dist``     -- actors' version of the distribution rows (this node and an ``actors.peer``);
* ``runner``        -- interleaved rounds, medians, the table and ``--json``;
* ``isolated``      -- one measurement in a fresh interpreter (memory);
* ``cli``           -- the options, and ``--compare`` handed to the checkout;
* ``checkout``      -- finding the repository's ``bench/compare``.

The peers live in the repository, not in the wheel: ``bench/compare`` holds
the Erlang/OTP versions (``bench.erl``, driven by ``erlang.py``), pykka's,
gevent's and thespian's, and ``--compare`` with its plot. Run from a
checkout, the table gains the Erlang and pykka columns.

Adding a row (say GenServer.call) is one ``workload(...)`` declaration in
``workloads.py`` plus one function per system: ``@impl(name, "actors")`` in
``impl_actors.py``, ``@impl(name, "asyncio")`` in ``impl_asyncio.py``
(optionally ``@impl(name, "pykka")`` in ``bench/compare/impl_pykka.py``) and
an exported function in ``bench/compare/bench.erl`` (taking the parameters
in declaration order); a system without one shows "n/a".

The distribution rows (``dist-*``) run on two nodes: actors' as this
process and a peer node (``actors.peer``; ``impl_dist``), Erlang's as two ``erl +S 1``
nodes (``bench/compare/dist_bench.erl``, driven by ``erlang_cluster.py``).
"""

from .catalog import (LATENCY, MEMORY, RATE, WORKLOADS, Env, MissingWork, Sample, expect,
                      impl, rate, workload)
from .cli import add_arguments, main

__all__ = ["LATENCY", "MEMORY", "RATE", "WORKLOADS", "Env", "MissingWork", "Sample", "expect",
           "impl", "rate", "workload", "add_arguments", "main"]
