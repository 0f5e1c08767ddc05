"""Tests of the synchronous-app example: request handlers on many threads share
one counter process through ``Runtime.start_thread``."""
from concurrent.futures import ThreadPoolExecutor

import pytest

import actors
import sync_app


@pytest.fixture(params=["asyncio", "uvloop"])
def rt(request):
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    with actors.Runtime.start_thread(loop=request.param) as rt:
        yield rt


def test_handlers_on_many_threads_count_every_hit(rt):
    """The counter is one process: concurrent handlers never lose a hit."""
    sync_app.start_services(rt)
    with ThreadPoolExecutor(max_workers=8) as server:
        responses = list(server.map(lambda path: sync_app.handle_request(rt, path), ["/"] * 400))
    assert all(status == 200 for status, _ in responses)
    assert sorted(int(text.split()[1]) for _, text in responses) == list(range(1, 401))


def test_a_crash_is_an_error_response_and_the_counter_comes_back(rt):
    sup = sync_app.start_services(rt)
    assert sync_app.handle_request(rt, "/") == (200, "/: 1 hits")
    assert sync_app.handle_request(rt, "/crash")[0] == 500
    assert rt.submit(actors.Supervisor.count_children, sup).result(timeout=10)["active"] == 1
    assert sync_app.handle_request(rt, "/") == (200, "/: 1 hits")     # a fresh counter


def test_without_the_service_a_handler_answers_503(rt):
    assert sync_app.handle_request(rt, "/")[0] == 503


def test_the_script_runs(capsys):
    sync_app.main()
    assert capsys.readouterr().out.splitlines() == [
        "300 requests served",
        "(200, '/about: 101 hits')",
        "(500, 'the counter crashed; its supervisor restarts it')",
        "counter running again: True",
        "(200, '/about: 1 hits')",
    ]
