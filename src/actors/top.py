"""``python -m actors top``: the busiest processes of a running system, like ``etop``.

It reads the JSON API of a running observer (``actors.observer.start()``)
with nothing but the standard library, and redraws a table in place every
``--interval`` seconds: the system counters on top, then the processes with
the most reductions (process steps)::

    python -m actors top --url http://127.0.0.1:8123/?token=...

``--once`` prints one frame and exits (for scripts).  Ctrl-C quits.  The
``token`` in the URL (the one the observer printed when it started) is sent
along as ``Authorization: Bearer``: the observer answers nothing without it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["add_arguments", "fetch", "main", "render"]

CLEAR = "\x1b[H\x1b[2J"
SORTS = ("reductions", "memory", "message_queue_len")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command line of ``python -m actors top``."""
    parser.add_argument("--url", required=True,
                        help="the observer's URL with its ?token=, as it printed it")
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between refreshes (default 1)")
    parser.add_argument("--limit", type=int, default=20, help="processes shown (default 20)")
    parser.add_argument("--sort", choices=SORTS, default="reductions",
                        help="the column to rank by (default reductions)")


def _split(url: str) -> tuple[str, str | None]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url: expected http://host:port/, got {url!r}")
    token = urllib.parse.parse_qs(parts.query).get("token", [None])[0]
    return f"{parts.scheme}://{parts.netloc}", token


def fetch(url: str, limit: int = 20, sort: str = "reductions",
          timeout: float = 5.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(system, processes)`` as the observer at ``url`` reports them."""
    base, token = _split(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(path: str) -> dict[str, Any]:
        req = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data: dict[str, Any] = json.load(resp)
            return data

    query = urllib.parse.urlencode({"sort": sort, "limit": limit})
    return get("/api/system"), get(f"/api/processes?{query}")


def _bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def _cut(text: object, width: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= width else s[:width - 1] + "~"


def render(system: dict[str, Any], table: dict[str, Any], width: int = 100) -> str:
    """One frame of text: the counters, then one line per process."""
    up = system.get("uptime")
    lines = [
        (f"processes: {system['process_count']}  run queue: {system['run_queue_length']}  "
        f"messages/s: {system['messages_per_second']:.0f}  steps/s: {system['steps_per_second']:.0f}  "
        f"memory: {_bytes(system.get('memory_rss'))}  uptime: {'-' if up is None else f'{up:.0f}s'}"),
        "",
        f"{'PID':<12} {'NAME OR INITIAL CALL':<40} {'REDUCTIONS':>11} {'MSGQ':>6} {'MEMORY':>8}  STATUS",
    ]
    for row in table["rows"]:
        who = row["registered_name"] or row["initial_call"]
        lines.append(f"{row['pid']:<12} {_cut(who, 40):<40} {row['reductions']:>11} "
                     f"{row['message_queue_len']:>6} {_bytes(row['memory']):>8}  {row['status']}")
    return "\n".join(_cut(line, width) if i > 1 else line for i, line in enumerate(lines)) + "\n"


def main(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Run ``top`` until Ctrl-C (or one frame with ``--once``); 1 on errors."""
    if args.interval <= 0:
        print("top: --interval must be > 0", file=sys.stderr)
        return 2
    if args.limit < 0:
        print("top: --limit must be >= 0", file=sys.stderr)
        return 2
    try:
        _split(args.url)
    except ValueError as exc:
        print(f"top: {exc}", file=sys.stderr)
        return 2
    try:
        while True:
            try:
                system, table = fetch(args.url, args.limit, args.sort)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                print(f"top: cannot read {args.url}: {exc}", file=sys.stderr)
                return 1
            frame = render(system, table)
            sys.stdout.write(frame if args.once else CLEAR + frame)
            sys.stdout.flush()
            if args.once:
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
