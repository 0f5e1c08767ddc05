"""The key-value store of Elixir's "Mix and OTP" guide, with actors.

Buckets are Agents holding a dict; a registry GenServer maps bucket names to
bucket pids and monitors the buckets, so a bucket that crashes disappears
from the registry; buckets run under a DynamicSupervisor (they are
``temporary``: a crashed bucket is not restarted, the registry forgets it);
the registry and the bucket supervisor run under a ``one_for_all``
Supervisor, because the registry's names mean nothing without the buckets.

    KV.Supervisor (one_for_all)
    ├── KV.BucketSupervisor (DynamicSupervisor) ── buckets (Agents, temporary)
    └── KV.Registry (GenServer, monitors every bucket)

Run it: ``python examples/kv/kv.py``.  With ``--observe`` it keeps running
with the observer dashboard (``pip install "actors-otp[observer]"``): open the
URL it prints, look at the tree, kill the registry from the Processes tab
and watch the supervisor restart the tree (``one_for_all``); kill a bucket
and watch the registry forget it (buckets are ``temporary``).
"""
from __future__ import annotations

from typing import Any

import actors
from actors import Agent, ChildSpec, DynamicSupervisor, GenServer, Supervisor
from actors.lowlevel import ServerRef       # a Pid, a registered name or a via

REGISTRY = "kv.registry"
BUCKETS = "kv.bucket_supervisor"


class Bucket:
    """A bucket: an Agent holding a dict (``KV.Bucket``)."""

    @staticmethod
    async def start_link() -> actors.Pid:
        return await Agent.start_link(dict)

    @staticmethod
    def child_spec() -> ChildSpec:
        # Buckets are temporary: when one dies the registry drops it; nothing restarts it.
        return ChildSpec(id=Bucket, start=(Bucket.start_link, ()), restart="temporary")

    @staticmethod
    async def get(bucket: ServerRef, key: str) -> Any:
        """The value stored under ``key`` (or None)."""
        return await Agent.get(bucket, lambda d: d.get(key))

    @staticmethod
    async def put(bucket: ServerRef, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        await Agent.update(bucket, lambda d: {**d, key: value})

    @staticmethod
    async def delete(bucket: ServerRef, key: str) -> Any:
        """Remove ``key``; returns the value it had (or None)."""
        def pop(d: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            d = dict(d)
            return d.pop(key, None), d
        return await Agent.get_and_update(bucket, pop)


class Registry(GenServer):
    """Maps bucket names to bucket pids, and forgets a bucket when it exits (``KV.Registry``)."""

    # -- client API --
    @staticmethod
    async def lookup(server: ServerRef, name: str) -> actors.Pid | None:
        """The pid of the bucket called ``name``, or None."""
        bucket: actors.Pid | None = await GenServer.call(server, ("lookup", name))
        return bucket

    @staticmethod
    async def create(server: ServerRef, name: str) -> actors.Pid:
        """The bucket called ``name``, created if needed."""
        bucket: actors.Pid = await GenServer.call(server, ("create", name))
        return bucket

    # -- callbacks --
    def init(self) -> None:
        self.names: dict[str, actors.Pid] = {}     # name -> bucket pid
        self.refs: dict[actors.Ref, str] = {}      # monitor ref -> name

    async def handle_call(self, request: Any, from_: Any) -> Any:
        match request:
            case ("lookup", name):
                return self.names.get(name)
            case ("create", name):
                if name not in self.names:
                    bucket = await DynamicSupervisor.start_child(BUCKETS, Bucket.child_spec())
                    assert bucket is not None         # an Agent's start never ignores
                    self.refs[actors.monitor(bucket)] = name
                    self.names[name] = bucket
                return self.names[name]
            case _:
                return None

    def handle_info(self, msg: Any) -> None:
        match msg:
            case actors.Down(ref=ref) if ref in self.refs:
                del self.names[self.refs.pop(ref)]
            case _:
                pass


async def start_link() -> actors.Pid:
    """Start the whole application (``KV.Supervisor``)."""
    children = [
        ChildSpec(id="buckets", start=(DynamicSupervisor.start_link, (), {"name": BUCKETS}),
                  type="supervisor"),
        Registry.child_spec(name=REGISTRY),
    ]
    sup = await Supervisor.start_link(children, strategy="one_for_all")
    assert sup is not None                  # None only if a module-based init ignores
    return sup


async def main() -> None:
    sup = await start_link()
    shopping = await Registry.create(REGISTRY, "shopping")
    await Bucket.put(shopping, "milk", 3)
    print("milk:", await Bucket.get(shopping, "milk"))
    print("children:", await Supervisor.which_children(sup))
    ref = actors.monitor(shopping)
    actors.exit(shopping, "kill")                 # a bucket crashes...
    await actors.receive(actors.Down(ref, actors.ANY, actors.ANY))
    print("after the crash:", await Registry.lookup(REGISTRY, "shopping"))   # ...and is forgotten
    await Supervisor.stop(sup)


async def serve() -> None:
    """Start the app with a few buckets and run until interrupted (for ``--observe``)."""
    await start_link()
    for name in ("shopping", "books", "music"):
        bucket = await Registry.create(REGISTRY, name)
        await Bucket.put(bucket, "created", True)
    [dashboard] = actors.observer.running()
    print("observer at", dashboard.url, "(Ctrl-C to stop)", flush=True)
    await actors.receive()          # forever


if __name__ == "__main__":
    import sys

    if "--observe" in sys.argv[1:]:
        try:
            actors.run(serve, observe={"port": 8000})
        except KeyboardInterrupt:
            pass
    else:
        actors.run(main)
