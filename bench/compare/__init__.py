"""actors beside its peers: ``python -m actors bench --compare``, and the peers' code.

This package lives in the repository's ``bench/``, not in the wheel;
``python -m actors bench`` finds it there (``actors.benchmarks.checkout``:
run from the repository's root, or set ``ACTORS_BENCH_DIR`` to this
directory's parent) and imports it as ``compare``. It imports
``actors.benchmarks`` (the workloads, the catalog, the runner's helpers),
never the other way round. The modules:

* ``runner``        -- ``--compare``: ``Comparison``, its table and ``main``;
* ``peers``         -- which systems there are, installed or not, their versions;
* ``isolated``      -- one peer's measurement in a fresh interpreter;
* ``plot``          -- ``--plot``: a bar chart per workload;
* ``erlang``, ``bench.erl`` -- the Erlang/OTP versions (also the headline
  table's Erlang column);
* ``erlang_cluster``, ``dist_bench.erl`` -- the distribution rows' Erlang
  side: two distributed ``erl`` nodes with a private epmd;
* ``impl_pykka``    -- pykka's versions (also the headline table's pykka column);
* ``impl_gevent``, ``impl_thespian`` -- gevent's and thespian's versions.

The peers are optional: ``pip install "actors-otp[compare]"`` (pykka, gevent,
thespian, uvloop, matplotlib); Erlang needs ``erl`` and ``erlc`` on PATH.
"""
