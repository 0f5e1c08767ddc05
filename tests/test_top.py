"""``python -m actors top``: an etop-like view of a running observer, stdlib only."""
from __future__ import annotations

import argparse
import asyncio
import socket
import sys

import pytest

from actors import top

SYSTEM = {"process_count": 3, "run_queue_length": 1, "messages_per_second": 12.0,
          "steps_per_second": 40.0, "memory_rss": 50 * 2**20, "uptime": 61.0}
TABLE = {"total": 3, "matched": 3, "rows": [
    {"pid": "<0.2.0>", "registered_name": "busy", "initial_call": "m.f", "message_queue_len": 4,
     "reductions": 900, "memory": 2048, "status": "runnable"},
    {"pid": "<0.3.0>", "registered_name": None, "initial_call": "m." + "x" * 80,
     "message_queue_len": 0, "reductions": 5, "memory": 100, "status": "waiting"}]}


def args(**kw):
    parser = argparse.ArgumentParser()
    top.add_arguments(parser)
    argv = []
    for k, v in kw.items():
        argv += [f"--{k}"] if v is True else [f"--{k}", str(v)]
    return parser.parse_args(argv)


def test_render_shows_counters_and_one_line_per_process():
    """A frame has the system counters, then each process by name (or
    initial call when it has none), long names cut to fit."""
    frame = top.render(SYSTEM, TABLE)
    assert "processes: 3" in frame and "messages/s: 12" in frame and "50.0M" in frame
    lines = frame.splitlines()
    assert "busy" in lines[3] and "900" in lines[3] and "runnable" in lines[3]
    assert "~" in lines[4] and len(lines[4]) <= 100


def test_unreachable_observer_exits_with_an_error(capsys):
    """A URL nobody answers gives exit status 1 and says why, instead of a traceback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]           # closed again: nobody listens there
    assert top.main(args(url=f"http://127.0.0.1:{port}/", once=True)) == 1
    assert "cannot read" in capsys.readouterr().err


def test_bad_arguments_are_refused(capsys):
    """A URL that is not http(s), or a non-positive interval, exit with status 2."""
    assert top.main(args(url="ftp://x/", once=True)) == 2
    assert "--url" in capsys.readouterr().err
    assert top.main(args(url="http://127.0.0.1:1/", interval=0)) == 2
    assert "--interval" in capsys.readouterr().err


def test_top_once_against_a_live_observer(run):
    """``python -m actors top --url URL --once`` run as a subprocess while the
    system keeps running prints the process count and the busiest
    processes, registered names included."""
    pytest.importorskip("aiohttp")
    import actors
    from actors import observer

    class Busy(actors.GenServer):
        def handle_call(self, request, from_):
            return request

    async def main():
        pid = await Busy.start_link(name="busy_server")
        for i in range(20):                       # make it the busiest process
            await actors.GenServer.call(pid, i)
        obs = await observer.start()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "actors", "top", "--url", obs.url, "--once", "--limit", "5",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
            assert proc.returncode == 0, err.decode()
            text = out.decode()
            assert f"processes: {len(actors.Process.list())}" in text
            assert "busy_server" in text
            assert "\x1b[" not in text            # --once: no screen control codes
        finally:
            await obs.stop()

    run(main)
