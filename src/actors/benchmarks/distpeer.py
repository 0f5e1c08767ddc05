"""Node B of the distribution rows: an actors node in an OS process of its own.

::

    python -m actors.benchmarks.distpeer NAME COOKIE LOOP

starts a runtime on the event loop ``LOOP`` (``asyncio`` or ``uvloop``) that is
the node ``NAME`` (its epmd: ``ERL_EPMD_PORT``), accepting spawns of
``actors.benchmarks.impl_dist``'s functions only; prints ``READY`` once it is
up, and runs until its stdin is closed (so it also ends with its parent).
"""

from __future__ import annotations

import sys

import actors

#: The only module whose functions the peer lets other nodes spawn.
SPAWNABLE = "actors.benchmarks.impl_dist"


async def serve(name: str, cookie: str) -> None:
    """Be the node ``name`` until stdin closes."""
    await actors.Node.start(name, cookie, allow_spawn=[SPAWNABLE])
    print("READY", flush=True)
    await actors.to_thread(sys.stdin.read)


def main(argv: list[str]) -> None:
    name, cookie, loop = argv
    actors.run(serve, name, cookie, loop=loop, long_step=None)     # its jobs may be CPU-bound


if __name__ == "__main__":
    main(sys.argv[1:])
