"""Tests of the KV example (the Elixir "Mix and OTP" guide's checks)."""
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import actors
import kv
from actors import ANY, Down

#: ``run(main)``: ``actors.run`` on the loop of the test's parameter.
Run = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    loop: str = request.param
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    return lambda main: actors.run(main, loop=loop)


def test_a_bucket_stores_values_by_key(run: Run) -> None:
    async def main() -> None:
        bucket = await kv.Bucket.start_link()
        assert await kv.Bucket.get(bucket, "milk") is None
        await kv.Bucket.put(bucket, "milk", 3)
        assert await kv.Bucket.get(bucket, "milk") == 3
        assert await kv.Bucket.delete(bucket, "milk") == 3
        assert await kv.Bucket.get(bucket, "milk") is None

    run(main)


def test_buckets_are_temporary_workers() -> None:
    spec = kv.Bucket.child_spec()
    assert spec.restart == "temporary" and spec.type == "worker"


def test_the_registry_creates_and_finds_buckets(run: Run) -> None:
    async def main() -> None:
        await kv.start_link()
        assert await kv.Registry.lookup(kv.REGISTRY, "shopping") is None
        bucket = await kv.Registry.create(kv.REGISTRY, "shopping")
        assert await kv.Registry.lookup(kv.REGISTRY, "shopping") == bucket
        assert await kv.Registry.create(kv.REGISTRY, "shopping") == bucket   # idempotent
        await kv.Bucket.put(bucket, "milk", 1)
        assert await kv.Bucket.get(bucket, "milk") == 1

    run(main)


def test_the_registry_forgets_a_bucket_that_exits(run: Run) -> None:
    """The registry monitors its buckets (Elixir's guide: 'removes buckets on exit')."""
    async def main() -> None:
        await kv.start_link()
        bucket = await kv.Registry.create(kv.REGISTRY, "shopping")
        ref = actors.monitor(bucket)
        await actors.Agent.stop(bucket)
        await actors.receive(Down(ref, ANY, ANY))
        assert await kv.Registry.lookup(kv.REGISTRY, "shopping") is None

    run(main)


def test_a_crashed_bucket_is_removed_and_not_restarted(run: Run) -> None:
    async def main() -> None:
        await kv.start_link()
        bucket = await kv.Registry.create(kv.REGISTRY, "shopping")
        ref = actors.monitor(bucket)
        actors.exit(bucket, "kill")
        await actors.receive(Down(ref, ANY, ANY))
        assert await kv.Registry.lookup(kv.REGISTRY, "shopping") is None
        counts = await actors.DynamicSupervisor.count_children(kv.BUCKETS)
        assert counts["active"] == 0

    run(main)


def test_a_registry_crash_restarts_the_whole_tree(run: Run) -> None:
    """one_for_all: the registry's names are meaningless without its buckets, so
    a registry crash restarts both (and the old buckets are gone)."""
    async def main() -> None:
        await kv.start_link()
        bucket = await kv.Registry.create(kv.REGISTRY, "shopping")
        old_registry = actors.whereis(kv.REGISTRY)
        assert old_registry is not None
        ref = actors.monitor(bucket)
        actors.exit(old_registry, "boom")
        assert (await actors.receive(Down(ref, ANY, ANY))).reason == "shutdown"
        new_registry = None
        while new_registry in (None, old_registry):          # restarted by the supervisor
            new_registry = actors.whereis(kv.REGISTRY)
            await actors.sleep(0)
        assert await kv.Registry.lookup(kv.REGISTRY, "shopping") is None

    run(main)
