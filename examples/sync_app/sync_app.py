"""Actors from plain synchronous code: a hit counter behind a fake web app.

A threaded web server (Flask's, Django's, gunicorn's threads) runs each
request handler on one of its worker threads, as ordinary blocking code.
Here the handlers share a counter service: a GenServer under a supervisor,
running on an actors runtime that has a thread of its own
(``actors.Runtime.start_thread``).  A handler calls it with
``rt.call_sync``, which blocks the handler's thread, never the runtime.

    main thread            worker threads (the "web server")
        │                     handle_request ── rt.call_sync ──┐
        │                                                       ▼
        └── Runtime.start_thread ──► actors-runtime thread: Supervisor ── Counter

The counter is one process, so the hits never race, however many threads
ask at once.  ``/crash`` makes it crash: the request gets an error, the
supervisor restarts the counter, and the next requests are served again
(by a fresh counter: what a crashed process held is gone).

Run it: ``python examples/sync_app/sync_app.py``.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import actors
from actors import CallExit, GenServer, Supervisor
from actors.runtime import ThreadRuntime

COUNTER = "counter"


class Counter(GenServer):
    """Counts hits per page: ``("hit", page)`` adds one and returns the
    count, ``("get", page)`` returns it; ``("crash", page)`` raises."""

    def init(self) -> None:
        self.hits: dict[str, int] = {}

    def handle_call(self, request: Any, from_: Any) -> int:
        op, page = request
        if op == "hit":
            self.hits[page] = self.hits.get(page, 0) + 1
        elif op == "crash":
            raise RuntimeError(f"the counter crashed on {page}")
        return self.hits.get(page, 0)


def start_services(rt: ThreadRuntime) -> actors.Pid:
    """Start the app's supervision tree (once, at start-up); returns the supervisor.

    ``Supervisor.start``, not ``start_link``: the process that ``submit``
    runs it in ends at once, and a supervisor linked to it would stop too.
    """
    sup = rt.submit(Supervisor.start, [Counter.child_spec(name=COUNTER)],
                    strategy="one_for_one").result(timeout=10)
    assert sup is not None
    return sup


def handle_request(rt: ThreadRuntime, path: str) -> tuple[int, str]:
    """A request handler, as a Flask view would be: plain blocking code."""
    op = "crash" if path == "/crash" else "hit"
    try:
        hits = rt.call_sync(COUNTER, (op, path), timeout=2.0)
    except CallExit:
        return 500, "the counter crashed; its supervisor restarts it"
    except (actors.NoProcess, actors.Timeout):
        return 503, "the counter is not available, try again"
    return 200, f"{path}: {hits} hits"


def main() -> None:
    with actors.Runtime.start_thread() as rt:          # stopped at the end of the block
        sup = start_services(rt)

        # The "web server": 8 worker threads serving 300 requests.
        requests = ["/", "/about", "/"] * 100
        with ThreadPoolExecutor(max_workers=8) as server:
            responses = list(server.map(partial(handle_request, rt), requests))
        print(sum(status == 200 for status, _ in responses), "requests served")
        print(handle_request(rt, "/about"))             # 100 earlier hits, and this one

        print(handle_request(rt, "/crash"))
        # The supervisor answers after it has handled the crash (its messages
        # are taken in order): by then the counter runs again.
        counts = rt.submit(Supervisor.count_children, sup).result(timeout=10)
        print("counter running again:", counts["active"] == 1)
        print(handle_request(rt, "/about"))             # a fresh counter


if __name__ == "__main__":
    main()
