"""A Python node in its own OS process, for the tests of OTP across nodes.

``python remote_node.py NAME COOKIE EPMD_PORT`` starts the node ``NAME``
(registered with the epmd on ``EPMD_PORT``, spawns allowed for
``spawn_targets`` only) running a ``TaskSupervisor`` registered as
``"tasks"``, an ``Agent`` as ``"agent"`` (state ``{}``) and a
``spawn_targets.Store`` server as ``"server"``; prints ``ready``; and stops
when its stdin closes.  (``conftest.start_python_node`` runs it.)
"""
from __future__ import annotations

import sys

import actors
import spawn_targets
from actors import Agent, TaskSupervisor


async def main(name: str, cookie: str, epmd_port: int) -> None:
    await actors.Node.start(name, cookie=cookie, epmd_port=epmd_port, allow_spawn=["spawn_targets"])
    try:
        await TaskSupervisor.start_link(name="tasks")
        await Agent.start_link(spawn_targets.empty, name="agent")
        await spawn_targets.Store.start_link(name="server")
        print("ready", flush=True)
        await actors.to_thread(sys.stdin.read)         # until the test closes stdin
    finally:
        await actors.Node.stop()


if __name__ == "__main__":
    actors.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
