"""Tests of the synchronous-app example: request handlers on many threads share
one counter process through ``Runtime.start_thread``."""
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

import actors
import sync_app
from actors.runtime import ThreadRuntime


@pytest.fixture(params=["asyncio", "uvloop"])
def rt(request: pytest.FixtureRequest) -> Iterator[ThreadRuntime]:
    loop: str = request.param
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    with actors.Runtime.start_thread(loop=loop) as rt:
        yield rt


def test_handlers_on_many_threads_count_every_hit(rt: ThreadRuntime) -> None:
    """The counter is one process: concurrent handlers never lose a hit."""
    sync_app.start_services(rt)
    with ThreadPoolExecutor(max_workers=8) as server:
        responses = list(server.map(partial(sync_app.handle_request, rt), ["/"] * 400))
    assert all(status == 200 for status, _ in responses)
    assert sorted(int(text.split()[1]) for _, text in responses) == list(range(1, 401))


def test_a_crash_is_an_error_response_and_the_counter_comes_back(rt: ThreadRuntime) -> None:
    sup = sync_app.start_services(rt)
    assert sync_app.handle_request(rt, "/") == (200, "/: 1 hits")
    assert sync_app.handle_request(rt, "/crash")[0] == 500
    assert rt.submit(actors.Supervisor.count_children, sup).result(timeout=10)["active"] == 1
    assert sync_app.handle_request(rt, "/") == (200, "/: 1 hits")     # a fresh counter


def test_without_the_service_a_handler_answers_503(rt: ThreadRuntime) -> None:
    assert sync_app.handle_request(rt, "/")[0] == 503


def test_the_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    sync_app.main()
    assert capsys.readouterr().out.splitlines() == [
        "300 requests served",
        "(200, '/about: 101 hits')",
        "(500, 'the counter crashed; its supervisor restarts it')",
        "counter running again: True",
        "(200, '/about: 1 hits')",
    ]
