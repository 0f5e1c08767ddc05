"""The observer's web server: an aiohttp app on the runtime's own event loop.

``await start()`` serves the page and the JSON API from inside the running
program and prints its URL (token included) on stderr; ``await
observer.stop()`` closes it.  See ``actors.observer`` for what each page
shows and the security rules.

Every request goes through one gate (``guard``), in this order: the
``Host`` header must name this machine's loopback or the address listened
on (so a DNS-rebinding page cannot reach us under its own name); an
``Origin`` header, if any, must be this server's own origin (no cross-origin
reads or POSTs); and the token must come with it (``Authorization: Bearer``,
the ``token`` query parameter, or the cookie set when the page was opened
with ``?token=``).
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlsplit

import actors
from actors.lowlevel import call_in_process, current_scheduler

from . import snapshot

if TYPE_CHECKING:
    from aiohttp import web
else:
    try:
        from aiohttp import web
    except ImportError:             # pragma: no cover - depends on the install
        web = None

__all__ = ["Observer", "is_loopback", "running", "start"]

_running: list[Observer] = []          # observers started and not yet stopped

_PAGE = Path(__file__).with_name("static") / "index.html"
_MAX_LIMIT = 100_000


def is_loopback(host: str) -> bool:
    """True if ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Observer:
    """A running observer server (made by ``start``).

    Attributes:
        host: the address it listens on.
        port: the TCP port (the real one when started with ``port=0``).
        token: the secret every request must carry.
        url: the page's address, token included (open it in a browser;
            ``start`` prints it on stderr).
        sampler: the ``snapshot.Sampler`` behind the rates and charts.
    """

    def __init__(self, host: str, port: int, token: str, runner: Any,
                 sampler: snapshot.Sampler, task: asyncio.Task[None]) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.sampler = sampler
        self._runner = runner
        self._task = task
        shown = f"[{host}]" if ":" in host else host
        self.url: str = f"http://{shown}:{port}/?token={quote(token)}"

    def __repr__(self) -> str:
        return f"<Observer {self.host}:{self.port}>"

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        if self in _running:
            _running.remove(self)
        self._task.cancel()
        await runner.cleanup()


def _check_args(host: Any, port: Any, token: Any, interval: Any, allowed_hosts: Any) -> None:
    if not isinstance(host, str) or not host:
        raise TypeError(f"observer.start(host=...): must be a non-empty str, got {host!r}")
    if not isinstance(allowed_hosts, (list, tuple, set, frozenset)) or not all(
            isinstance(h, str) and h for h in cast("Iterable[object]", allowed_hosts)):
        raise TypeError("observer.start(allowed_hosts=...): must be a list of non-empty str, "
                        f"got {allowed_hosts!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"observer.start(port=...): must be an int in 0..65535, got {port!r}")
    if token is not None and (not isinstance(token, str) or not token):
        raise TypeError(f"observer.start(token=...): must be a non-empty str or None, got {token!r}")
    if token is None and not is_loopback(host):
        raise ValueError(
            f"observer.start(token=...): a token is required to listen on {host!r}, "
            "which is not a loopback address (anyone who can reach it could kill processes)")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise ValueError(f"observer.start(interval=...): must be a number of seconds > 0, got {interval!r}")


async def start(host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                *, interval: float = 1.0, allowed_hosts: tuple[str, ...] | list[str] = ()) -> Observer:
    """Serve the observer page and its JSON API on the running event loop.

    Call it inside a process or from asyncio code while a runtime runs.  It
    prints ``actors observer: open URL`` on stderr, the token in the URL (as
    Jupyter does): open that URL in a browser.  Every request must carry the
    token; the page keeps it in a cookie (HttpOnly, SameSite=Strict).

    Args:
        host: the address to listen on; loopback (the default) unless you
            give a ``token``.
        port: the TCP port; 0 picks a free one (see ``Observer.port``).
        token: the secret every request must carry; None makes a random one
            (see ``Observer.url``).
        interval: seconds between samples of the rate counters.
        allowed_hosts: more names the ``Host`` header may give, e.g. this
            machine's DNS name when listening on ``0.0.0.0``.  Loopback names
            and addresses and ``host`` itself are always accepted (and, on a
            wildcard ``host``, any IP address); any other ``Host`` is refused.

    Returns:
        The running ``Observer``; ``await observer.stop()`` to close it.

    Raises:
        ValueError: a non-loopback ``host`` without ``token``; bad ``port``
            or ``interval``.  TypeError: bad ``host``, ``token`` or
            ``allowed_hosts``.
        RuntimeError: no runtime is running, or aiohttp is not installed.
    """
    _check_args(host, port, token, interval, allowed_hosts)
    if web is None:
        raise RuntimeError('the observer needs aiohttp: pip install "actors-otp[observer]"')
    if current_scheduler() is None:
        raise RuntimeError("observer.start(): no actors runtime is running")
    token = token or secrets.token_urlsafe(18)
    sampler = snapshot.Sampler()
    sampler.sample()
    gate = _Gate(token, host, allowed_hosts)
    app = _make_app(gate, sampler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    real_port = runner.addresses[0][1]
    gate.cookie = f"actors-observer-{real_port}"     # cookies are shared across ports
    task = asyncio.get_running_loop().create_task(_sample_forever(sampler, interval))
    observer = Observer(host, real_port, token, runner, sampler, task)
    _running.append(observer)
    print(f"actors observer: open {observer.url}", file=sys.stderr, flush=True)
    return observer


def running() -> list[Observer]:
    """The observers started and not yet stopped (e.g. by ``actors.run(observe=...)``)."""
    return list(_running)


async def _sample_forever(sampler: snapshot.Sampler, interval: float) -> None:
    while current_scheduler() is not None:
        await asyncio.sleep(interval)
        if current_scheduler() is None:
            return
        sampler.sample()


# -- the app -----------------------------------------------------------------------


_WILDCARDS = {"0.0.0.0", "::", ""}


def _host_name(value: str) -> str | None:
    """The lower-case host name of a ``Host`` header or a URL's netloc (no
    port, no brackets), or None if it is malformed."""
    try:
        parts = urlsplit("//" + value)
        parts.port                              # noqa: B018 - validates the port
    except ValueError:
        return None
    return parts.hostname or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class _Gate:
    """Who may talk to one observer: the Host names, the token, the cookie."""

    def __init__(self, token: str, host: str, allowed_hosts: Iterable[str]) -> None:
        self.token = token.encode()
        bound = host.strip("[]").lower()
        self.wildcard = bound in _WILDCARDS
        self.hosts = {"localhost", bound} | {h.strip("[]").lower() for h in allowed_hosts}
        if self.wildcard:
            self.hosts.add(socket.gethostname().lower())
        self.cookie = "actors-observer"

    def host_ok(self, header: str) -> bool:
        name = _host_name(header)
        if name is None:
            return False
        if name in self.hosts or is_loopback(name):
            return True
        return self.wildcard and _is_ip(name)   # DNS rebinding needs a name, not an IP

    def matches(self, given: Any) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self.token)

    def token_from(self, request: web.Request) -> str | None:
        """Where the request's valid token came from: "header", "query",
        "cookie", or None."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and self.matches(header[len("Bearer "):].strip()):
            return "header"
        if self.matches(request.query.get("token")):
            return "query"
        if self.matches(request.cookies.get(self.cookie)):
            return "cookie"
        return None


def _make_app(gate: _Gate, sampler: snapshot.Sampler) -> web.Application:
    @web.middleware
    async def guard(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not gate.host_ok(request.headers.get("Host", "")):
            return _error(request, 403, "this observer answers only to its own address "
                          "(the Host header names another server)")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            return _error(request, 403, "cross-origin requests are refused")
        source = gate.token_from(request)
        if source is None:
            return _error(request, 401, "a valid token is required: open the URL "
                          "the observer printed when it started (it ends with ?token=...)")
        if current_scheduler() is None:
            return _error(request, 503, "the actors runtime has stopped")
        try:
            response = await handler(request)
        except _BadRequest as exc:
            response = _error(request, 400, str(exc))
        if source == "query":       # the page keeps the token for its next requests
            response.set_cookie(gate.cookie, request.query["token"], path="/",
                                httponly=True, samesite="Strict")
        return response

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=_PAGE.read_text(encoding="utf-8"), content_type="text/html",
                            headers={"Cache-Control": "no-store",
                                     "Content-Security-Policy": "default-src 'self'; "
                                     "script-src 'unsafe-inline'; style-src 'unsafe-inline'",
                                     "X-Frame-Options": "DENY"})

    async def system(request: web.Request) -> web.Response:
        return web.json_response(snapshot.system(sampler))

    async def processes(request: web.Request) -> web.Response:
        q = request.query
        sort = q.get("sort", "pid")
        if sort not in snapshot.SORT_KEYS:
            raise _BadRequest(f"sort must be one of {', '.join(snapshot.SORT_KEYS)}")
        limit = _int_arg(q, "limit", 1000)
        reverse = q.get("reverse") in ("1", "true", "yes")
        return web.json_response(snapshot.processes(
            sort=sort, filter=q.get("filter") or None, limit=min(limit, _MAX_LIMIT),
            reverse=reverse))

    def target(request: web.Request) -> Any:
        try:
            number = int(request.match_info["number"])
        except ValueError:
            raise _BadRequest("a pid is written as its middle number: /api/processes/42") from None
        return snapshot.find_pid(number)

    async def one_process(request: web.Request) -> web.Response:
        pid = target(request)
        data = snapshot.process(pid) if pid is not None else None
        if data is None:
            return _error(request, 404, "no such process")
        return web.json_response(data)

    async def kill(request: web.Request) -> web.Response:
        pid = target(request)
        if pid is None or not actors.Process.alive(pid):
            return _error(request, 404, "no such process")
        actors.exit(pid, "kill")
        return web.json_response({"killed": str(pid)})

    async def tree(request: web.Request) -> web.Response:
        return web.json_response(await call_in_process(snapshot.tree))

    async def names(request: web.Request) -> web.Response:
        return web.json_response(snapshot.names())

    app = web.Application(middlewares=[guard])
    app.router.add_get("/", page)
    app.router.add_get("/api/system", system)
    app.router.add_get("/api/processes", processes)
    app.router.add_get(r"/api/processes/{number}", one_process)
    app.router.add_post(r"/api/processes/{number}/kill", kill)
    app.router.add_get("/api/tree", tree)
    app.router.add_get("/api/names", names)
    return app


class _BadRequest(Exception):
    pass


def _int_arg(query: Any, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer >= 0, got {raw!r}") from None
    if value < 0:
        raise _BadRequest(f"{name} must be an integer >= 0, got {raw!r}")
    return value


def _error(request: web.Request, status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status, headers=headers)
    return web.Response(text=f"{status}: {message}\n", status=status, headers=headers)
