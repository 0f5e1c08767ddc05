"""Functions other nodes spawn on a Python node in the tests (``allow_spawn``)."""
from __future__ import annotations

from typing import Any

import actors


async def tell(to: Any, message: Any) -> None:
    """Send ``message`` to ``to``, then end normally."""
    actors.send(to, message)


async def echo_forever() -> None:
    """Answer ``(from, m)`` with ``m``, until told ``stop``."""
    while True:
        msg = await actors.receive()
        if msg == "stop":
            return
        actors.send(msg[0], msg[1])


async def crash(reason: str) -> None:
    """Exit at once with ``reason``."""
    raise actors.ProcessExit(reason)
