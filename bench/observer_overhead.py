"""What an open, refreshing observer page costs a busy system (issue 4's budget: 5%).

    python bench/observer_overhead.py [--messages N] [--rounds R]

Runs the ping-pong workload (two processes, N one-way messages, about 3 s
at the default N so that it spans several refreshes) with no
observer, then with an observer that a thread polls once a second exactly as
the page does (``/api/system``, the 500 busiest processes, ``/api/tree``),
alternating, and prints the medians and the loss.
"""
import argparse
import statistics
import threading
import time
import urllib.request

import actors
from actors import receive, send, spawn

PAGE_REQUESTS = ("/api/system", "/api/processes?sort=reductions&limit=500", "/api/tree")


async def _pong():
    while True:
        sender, n = await receive()
        send(sender, n)


async def _ping_pong(messages: int, observe: bool) -> float:
    dashboard = await actors.observer.start() if observe else None
    stop = threading.Event()
    poller = None
    if dashboard is not None:
        headers = {"Authorization": f"Bearer {dashboard.token}"}

        def poll():
            while not stop.is_set():
                for path in PAGE_REQUESTS:
                    req = urllib.request.Request(f"http://127.0.0.1:{dashboard.port}{path}",
                                                 headers=headers)
                    urllib.request.urlopen(req, timeout=10).read()
                stop.wait(1.0)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        await actors.sleep(1.5)                     # the page is open and has refreshed
    me, pong = actors.self(), spawn(_pong)
    t0 = time.perf_counter()
    for i in range(messages // 2):
        send(pong, (me, i))
        if await receive() != i:
            raise AssertionError("lost a message")
    elapsed = time.perf_counter() - t0
    stop.set()
    if poller is not None:
        await actors.to_thread(poller.join)
        await dashboard.stop()
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000_000)   # ~3 s: several refreshes
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain, observed = [], []
    for _ in range(args.rounds):
        plain.append(actors.run(_ping_pong, args.messages, False))
        observed.append(actors.run(_ping_pong, args.messages, True))
    a, b = statistics.median(plain), statistics.median(observed)
    print(f"ping-pong, {args.messages:,} messages, medians of {args.rounds}:")
    print(f"  no observer:                {a / 1e6:.2f}M msg/s")
    print(f"  observer page refreshing:   {b / 1e6:.2f}M msg/s")
    print(f"  loss: {100 * (1 - b / a):.1f}% (budget 5%)")


if __name__ == "__main__":
    main()
