"""Benchmarks of ``actors`` against a hand-written asyncio baseline and Erlang/OTP.

Run them with ``python -m actors bench`` (``--help`` for the options). The
pieces:

* ``catalog``       -- workloads, targets, samples; ``workload()`` and ``impl()``;
* ``workloads``     -- the rows: one ``workload(...)`` declaration each;
* ``impl_actors``   -- actors' version of each workload;
* ``impl_asyncio``  -- the asyncio baseline (Task + Queue per process, a future per call);
* ``impl_pykka``    -- pykka's versions, where a row has one (optional: ``pip install pykka``);
* ``bench.erl``     -- the Erlang/OTP versions, driven by ``impl_erlang``;
* ``runner``        -- interleaved rounds, medians, the table and ``--json``;
* ``isolated``      -- one measurement in a fresh interpreter (memory);
* ``compare``, ``impl_gevent``, ``impl_thespian`` -- ``--compare``: actors against
  every installed peer (``pip install "actors[compare]"``), ``--plot``.

Adding a row (say GenServer.call) is one ``workload(...)`` declaration in
``workloads.py`` plus one function per system: ``@impl(name, "actors")`` in
``impl_actors.py``, ``@impl(name, "asyncio")`` in ``impl_asyncio.py``
(optionally ``@impl(name, "pykka")`` in ``impl_pykka.py``) and an exported
function in ``bench.erl`` (taking the parameters in declaration order); a
system without one shows "n/a".
"""

from .catalog import (LATENCY, MEMORY, RATE, WORKLOADS, Env, MissingWork, Sample, expect,
                       impl, rate, workload)

__all__ = ["LATENCY", "MEMORY", "RATE", "WORKLOADS", "Env", "MissingWork", "Sample", "expect",
           "impl", "rate", "workload", "add_arguments", "main"]


def add_arguments(parser):
    from .runner import add_arguments as _add
    _add(parser)


def main(args, argv=None):
    from .runner import main as _main
    return _main(args, argv)
