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
import json
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlsplit

import actors
from actors import sys as actors_sys
from actors.lowlevel import call_in_process, current_scheduler, process_table

from . import backend, snapshot, tracing

if TYPE_CHECKING:
    from aiohttp import web
else:
    try:
        from aiohttp import web
    except ImportError:             # pragma: no cover - depends on the install
        web = None

__all__ = ["Observer", "is_loopback", "running", "start"]

_running: list[Observer] = []          # observers started and not yet stopped

_STATIC = Path(__file__).with_name("static")
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
                 sampler: snapshot.Sampler, task: asyncio.Task[None],
                 tracer: tracing.Tracer) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.sampler = sampler
        self.tracer = tracer
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
        await self.tracer.close()
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
    # The census yields to the event loop between slices: run it as an asyncio
    # task (from a process, its slices would run back to back within a tick).
    await asyncio.get_running_loop().create_task(sampler.census())
    gate = _Gate(token, host, allowed_hosts)
    tracer = tracing.Tracer()
    app = _make_app(gate, sampler, tracer)
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
    task = asyncio.get_running_loop().create_task(_sample_forever(sampler, tracer, interval))
    observer = Observer(host, real_port, token, runner, sampler, task, tracer)
    _running.append(observer)
    print(f"actors observer: open {observer.url}", file=sys.stderr, flush=True)
    return observer


def running() -> list[Observer]:
    """The observers started and not yet stopped (e.g. by ``actors.run(observe=...)``)."""
    return list(_running)


async def _sample_forever(sampler: snapshot.Sampler, tracer: tracing.Tracer,
                         interval: float) -> None:
    """Sample every ``interval`` seconds (with how late the loop woke us:
    its lag); take a census now and then, at most 1% of the loop's time."""
    loop = asyncio.get_running_loop()
    next_census = 0.0
    while current_scheduler() is not None:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        if current_scheduler() is None:
            return
        sampler.sample(loop_lag=loop.time() - due)
        if tracer.sessions:
            await tracer.expire()
        if loop.time() >= next_census:
            await sampler.census()
            next_census = loop.time() + max(5.0, 100 * sampler.census_seconds)


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


#: The page's own addresses: each serves the same page, which shows the view
#: its path names (so every view has a URL, and the back button works).
PAGES = ("/", "/system", "/processes", "/processes/{number}", "/tree", "/tracing", "/names",
         "/registries/{number}", "/nodes", "/nodes/{node}", "/nodes/{node}/processes",
         "/nodes/{node}/processes/{number}")
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # Scripts and styles only from the observer itself: nothing inline, no CDN.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_MAX_REASON = 200
_SYS_TIMEOUT = 2.0
_SPARKLINES = 100               # the first rows of a process table get their history


def _make_app(gate: _Gate, sampler: snapshot.Sampler, tracer: tracing.Tracer) -> web.Application:
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
        except _Refused as exc:
            response = _error(request, exc.status, str(exc))
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if source == "query":       # the page keeps the token for its next requests
            response.set_cookie(gate.cookie, request.query["token"], path="/",
                                httponly=True, samesite="Strict")
        return response

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=_STATIC.joinpath("index.html").read_text(encoding="utf-8"),
                            content_type="text/html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kind = _STATIC_TYPES.get(Path(name).suffix)
        path = _STATIC / name
        if kind is None or "/" in name or name.startswith(".") or not path.is_file():
            raise _Refused(404, "no such file")
        return web.Response(body=path.read_bytes(), content_type=kind)

    async def system(request: web.Request) -> web.Response:
        return web.json_response(snapshot.system(sampler))

    async def processes(request: web.Request) -> web.Response:
        args = _table_args(request.query, 1000, _MAX_LIMIT)
        if small():
            table = snapshot.processes(**args)
        else:
            census = sampler.table
            since = process_table(mailbox_limit=snapshot.MAILBOX_PREVIEW, limit=1000,
                                  after=census.pids[-1] if census.pids else None)
            table = await snapshot.processes_in(census.extended(since), **args)
            table["as_of"] = census.at
        shown = table.pop("pids")[:_SPARKLINES]
        sampler.watch(shown)
        for pid, row in zip(shown, table["rows"]):           # sparklines: values only
            history = sampler.process_history(pid, last=30)
            row["history"] = {"reductions_per_second": [round(v) for v in history["reductions_per_second"]],
                              "queue": history["queue"], "memory": history["memory"]}
        return await _json_in_slices(table, "rows")

    def small() -> bool:
        """Few enough processes to read them all in one step (else: the census)."""
        sched = current_scheduler()
        return sched is None or sched.process_count <= snapshot.LIVE_LIMIT or sampler.table.at is None

    def kinds() -> dict[Any, str] | None:
        """The servers, from the last census for a large system (None: find them now)."""
        return None if small() else sampler.kinds

    async def target(request: web.Request, alive: bool = True) -> Any:
        """The process a URL names (``/api/processes/N/...``); 404 if it is not alive."""
        number = _pid_number(request)
        pid = snapshot.find_pid(number) if small() else await snapshot.find_pid_in(number, sampler.table)
        if alive and (pid is None or not actors.Process.alive(pid)):
            raise _Refused(404, "no such process")
        return pid

    async def one_process(request: web.Request) -> web.Response:
        pid = await target(request)
        data = snapshot.process(pid)
        if data is None:
            raise _Refused(404, "no such process")
        sampler.watch([pid])
        data["history"] = sampler.process_history(pid)
        return web.json_response(data)

    async def state(request: web.Request) -> web.Response:
        pid = await target(request)
        try:
            return web.json_response(await snapshot.server_state(pid, timeout=_SYS_TIMEOUT))
        except BaseException as exc:    # noqa: BLE001 - _sys_refusal re-raises what is not a refusal
            raise _sys_refusal(pid, exc) from None

    async def kill(request: web.Request) -> web.Response:
        pid = await target(request)
        reason = (await _body(request)).get("reason", "kill")
        if not isinstance(reason, str) or not reason or len(reason) > _MAX_REASON:
            raise _BadRequest(f"reason must be a non-empty string of at most {_MAX_REASON} "
                              "characters (kill, shutdown, normal, or your own)")
        actors.exit(pid, reason)
        return web.json_response({"killed": str(pid), "reason": reason})

    def sys_action(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def act(request: web.Request) -> web.Response:
            pid = await target(request)
            try:
                await snapshot.server_status(pid, timeout=_SYS_TIMEOUT)       # a live server?
                snapshot.check_mailbox(pid)
                await getattr(actors_sys, name)(pid, timeout=_SYS_TIMEOUT)
            except BaseException as exc:    # noqa: BLE001 - _sys_refusal re-raises what is not a refusal
                raise _sys_refusal(pid, exc) from None
            return web.json_response({"pid": str(pid),
                                      "status": "suspended" if name == "suspend" else "running"})
        return act

    async def trace_start(request: web.Request) -> web.Response:
        pid = await target(request)
        try:
            session = await tracer.start(pid, timeout=_SYS_TIMEOUT)
        except BaseException as exc:    # noqa: BLE001 - _sys_refusal re-raises what is not a refusal
            raise _sys_refusal(pid, exc) from None
        return web.json_response(session.summary())

    async def trace_stop(request: web.Request) -> web.Response:
        pid = await target(request, alive=False)
        session = await tracer.stop(pid) if pid is not None else None
        if session is None:
            raise _Refused(404, "this process is not traced")
        return web.json_response(session.summary())

    async def trace_events(request: web.Request) -> web.Response:
        pid = await target(request, alive=False)
        session = tracer.get(pid) if pid is not None else None
        if session is None:
            return web.json_response({"pid": request.match_info["number"], "active": False,
                                      "events": [], "next": 0, "stopped": None})
        events = session.since(_int_arg(request.query, "since", 0))
        return web.json_response(dict(session.summary(), events=events, next=session.seq))

    async def traces(request: web.Request) -> web.Response:
        return web.json_response([s.summary() for s in tracer.sessions.values()])

    async def tree(request: web.Request) -> web.Response:
        root: Any = request.query.get("root", snapshot.ALL_TREES)
        return web.json_response(await call_in_process(snapshot.tree, kinds=kinds(), root=root or None))

    async def names(request: web.Request) -> web.Response:
        return web.json_response(snapshot.names(kinds()))

    async def one_registry(request: web.Request) -> web.Response:
        pid = await target(request)
        limit = min(_int_arg(request.query, "limit", 200), _MAX_LIMIT)
        data = await snapshot.registry(pid, filter=request.query.get("filter") or None, limit=limit,
                                       kinds=kinds())
        if data is None:
            raise _Refused(404, f"{pid!r} is not a Registry")
        return web.json_response(data)

    async def nodes(request: web.Request) -> web.Response:
        return web.json_response(await snapshot.nodes())

    # Another actors node's processes, through its actors_observer (backend.py).
    async def on_node(request: web.Request, question: tuple[Any, ...]) -> Any:
        node = request.match_info["node"]
        if node not in actors.Node.list():
            raise _Refused(404, f"{node} is not a node connected to this one")
        try:
            return await call_in_process(backend.ask, node, question)
        except backend.NoAnswer as exc:
            raise _Refused(504, str(exc)) from None
        except RuntimeError as exc:
            raise _Refused(502, str(exc)) from None

    def node_json(node: str, data: Any) -> web.Response:
        if not isinstance(data, dict):
            raise _Refused(502, f"{node} answered something that is not a JSON object")
        return web.json_response(data, dumps=_dumps_anything)

    async def node_system(request: web.Request) -> web.Response:
        return node_json(request.match_info["node"], await on_node(request, ("system",)))

    async def node_processes(request: web.Request) -> web.Response:
        options = _table_args(request.query, 100, backend.MAX_ROWS)
        return node_json(request.match_info["node"], await on_node(request, ("processes", options)))

    async def node_process(request: web.Request) -> web.Response:
        data = await on_node(request, ("process", _pid_number(request)))
        if data is None:
            raise _Refused(404, "no such process")
        return node_json(request.match_info["node"], data)

    app = web.Application(middlewares=[guard])
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/system", system)
    app.router.add_get("/api/processes", processes)
    app.router.add_get(r"/api/processes/{number}", one_process)
    app.router.add_get(r"/api/processes/{number}/state", state)
    app.router.add_post(r"/api/processes/{number}/kill", kill)
    app.router.add_post(r"/api/processes/{number}/suspend", sys_action("suspend"))
    app.router.add_post(r"/api/processes/{number}/resume", sys_action("resume"))
    app.router.add_post(r"/api/processes/{number}/trace", trace_start)
    app.router.add_post(r"/api/processes/{number}/trace/stop", trace_stop)
    app.router.add_get(r"/api/processes/{number}/trace", trace_events)
    app.router.add_get("/api/traces", traces)
    app.router.add_get("/api/tree", tree)
    app.router.add_get("/api/names", names)
    app.router.add_get(r"/api/registries/{number}", one_registry)
    app.router.add_get("/api/nodes", nodes)
    app.router.add_get("/api/nodes/{node}/system", node_system)
    app.router.add_get("/api/nodes/{node}/processes", node_processes)
    app.router.add_get(r"/api/nodes/{node}/processes/{number}", node_process)
    return app


def _dumps_anything(data: Any) -> str:
    """JSON of what another node sent: whatever is not JSON becomes its str."""
    return json.dumps(data, default=str)


async def _json_in_slices(data: dict[str, Any], key: str) -> web.Response:
    """A JSON response whose list ``data[key]`` is encoded 100 items at a
    time, the loop free in between (a table of thousands of rows)."""
    items: list[Any] = data.pop(key)
    head = json.dumps(data)
    parts: list[str] = []
    for start in range(0, len(items), 100):
        if start:
            await asyncio.sleep(0)
        part = json.dumps(items[start:start + 100])
        parts.append(part[1:-1])
    body = f'{head[:-1]}{", " if data else ""}"{key}": [{", ".join(parts)}]}}'
    return web.Response(text=body, content_type="application/json")


def _sys_refusal(pid: Any, exc: BaseException) -> _Refused:
    """How a failed ``sys`` request is answered: 409 for a process that is not
    a server, 504 for one that does not answer, 404 for one that exited."""
    if isinstance(exc, LookupError):
        return _Refused(409, str(exc))
    if isinstance(exc, actors.Timeout):
        return _Refused(504, f"{pid!r} did not answer within {_SYS_TIMEOUT:g} s "
                        "(busy in a callback, or a long mailbox before the request)")
    if isinstance(exc, (actors.NoProcess, actors.CallExit)):
        return _Refused(404, f"{pid!r} exited")
    if isinstance(exc, Exception):
        return _Refused(500, f"{type(exc).__name__}: {snapshot.short(exc)}")
    raise exc


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object a POST carries (empty if none)."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise _BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return cast("dict[str, Any]", body)


class _Refused(Exception):
    """Answer with ``status`` and this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _BadRequest(Exception):
    pass


def _table_args(query: Any, default_limit: int, max_limit: int) -> dict[str, Any]:
    """A process table's query (``sort``, ``filter``, ``limit``, ``reverse``)
    as the keyword arguments of ``snapshot.processes``."""
    sort = query.get("sort", "pid")
    if sort not in snapshot.SORT_KEYS:
        raise _BadRequest(f"sort must be one of {', '.join(snapshot.SORT_KEYS)}")
    return {"sort": sort, "filter": query.get("filter") or None,
            "limit": min(_int_arg(query, "limit", default_limit), max_limit),
            "reverse": query.get("reverse") in ("1", "true", "yes")}


def _pid_number(request: web.Request) -> int:
    """The ``N`` of ``<0.N.0>`` a URL names (``.../processes/N``)."""
    try:
        return int(request.match_info["number"])
    except ValueError:
        raise _BadRequest("a pid is written as its middle number: /api/processes/42") from None


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
