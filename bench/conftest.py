"""Fixtures for the micro-benchmarks: a long-lived actors runtime and event loop.

Run with ``pytest bench --benchmark-enable`` (pyproject's addopts disable
benchmarks by default, and ``pytest`` alone only collects tests/; without
``--benchmark-enable`` each benchmark runs once, as a smoke test).

Each benchmark round runs a batch of ``OPS`` operations inside one process:
a long-lived driver process waits on an asyncio future (not on its mailbox,
which the batch may fill with messages of its own), runs ``await
body(state, OPS)`` and resolves another future with the result. Runtime
start-up is paid once per test and the hand-over is amortised over the
batch: time per operation = the reported time / ``OPS`` (also stored as
``extra_info["ops"]``).
"""

import asyncio

import pytest

import actors

OPS = 1000


class _Channel:
    """Hands batch sizes to a driver process and results back, via futures."""

    def __init__(self, loop):
        self.loop = loop
        self.request = loop.create_future()
        self.done = None


async def _driver(chan, body, setup):
    state = await setup() if setup is not None else None
    while True:
        n = await chan.request                  # an asyncio future, awaited in a process
        chan.request = chan.loop.create_future()
        try:
            result = await body(state, n)
        except BaseException as e:              # hand the failure to the test
            chan.done.set_exception(e)
            raise
        chan.done.set_result(result)


@pytest.fixture(scope="session")
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="session")
def runtime(loop):
    rt = actors.Runtime()
    loop.run_until_complete(rt.__aenter__())
    yield rt
    loop.run_until_complete(rt.__aexit__(None, None, None))


@pytest.fixture
def bench_actors(benchmark, loop, runtime):
    """``bench_actors(body, setup=None)``: benchmark ``await body(state, OPS)``
    run inside a process, where ``state = await setup()`` (once, in that
    process) or None."""

    def go(body, setup=None):
        chan = _Channel(loop)
        pid = runtime.spawn(_driver, chan, body, setup)

        def once():
            chan.done = loop.create_future()
            chan.request.set_result(OPS)
            return loop.run_until_complete(chan.done)

        benchmark.extra_info["ops"] = OPS
        try:
            return benchmark(once)
        finally:
            actors.exit(pid, "kill")

    return go


@pytest.fixture
def bench_asyncio(benchmark, loop):
    """``bench_asyncio(body)``: benchmark ``await body(OPS)`` on a plain event loop."""

    def go(body):
        benchmark.extra_info["ops"] = OPS
        return benchmark(lambda: loop.run_until_complete(body(OPS)))

    return go
