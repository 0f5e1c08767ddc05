"""The observer: look inside a running actors system from a browser or a terminal.

Like Erlang's ``observer`` and Phoenix LiveDashboard, but served over HTTP
from inside your program, so it works on a remote machine with nothing else
installed.  Start it from a process (or from asyncio code while a runtime
runs)::

    async def main():
        obs = await actors.observer.start()   # 127.0.0.1, a free port; prints obs.url
        ...
        await obs.stop()

Or let ``actors.run(main, observe=True)`` start it (``observe={"port": 8000}``
passes options); ``actors.observer.running()`` lists it.  Either way its URL,
token included, is printed on stderr, as Jupyter does::

    actors observer: open http://127.0.0.1:40123/?token=3q2Kx...

Open that URL in a browser.  The page refreshes itself (every second by
default; 2, 5, 15 s or paused) and every view has an address, so the back
button works and any view can be bookmarked or shared (the token stays in a
cookie, not in the address):

* ``/system``: counters (processes, run queue, messages and reductions per
  second, scheduler utilisation, event-loop lag, long steps, crashes and
  restarts per second, memory), versions (actors, Python, the event loop,
  the OS), memory by kind, and charts of the last five minutes.
* ``/processes?filter=...&sort=...&limit=...``: the process table (pid, name,
  initial call, current function in the user's code, message queue,
  reductions, memory, status, with sparklines of the last half minute),
  sortable and filterable.
* ``/processes/42``: one process: where it waits (the user's frames; the
  library's folded away), its state if it is a GenServer (through
  ``sys.get_status``, so a class's ``format_status`` hides what it must),
  its mailbox (the first 100 messages), links and monitors as links, its
  dictionary (the library's ``$`` keys hidden), charts of its reductions,
  queue and memory; and actions: *Kill* with a reason, *Suspend*/*Resume*
  (``sys.suspend``), *Trace* (``sys.trace``: every message in and out,
  live, until *Stop trace*).
* ``/tree?root=name``: each supervision tree drawn as a graph, as Erlang's
  observer draws applications: supervisors with their strategies, children
  with their ids, restart types and restart counts; the last restart's
  reason and time; a restarted child flashes.
* ``/tracing``: the traces running now.
* ``/names`` and ``/registries/42``: registered names, every ``Registry``
  and its keys, owners and values.
* ``/nodes``: the connected nodes (``actors.Node``), with a ping's round
  trip and each link's traffic (``actors.Node.info``: bytes per second each
  way, messages in and out, kind, TCP or TLS, address).
* ``/nodes/NAME/processes`` and ``/nodes/NAME/processes/42``: another
  actors node's summary, process table and process pages, read only, asked
  of its ``actors_observer`` (``actors.observer.backend``; every actors node
  answers it, an Erlang node does not).

The page works in a narrow window and follows the system's dark mode.  From
a terminal, ``python -m actors top --url URL`` shows the busiest processes,
redrawn in place like ``etop``.

The JSON API (pids in URLs are the ``N`` of ``<0.N.0>``):

* ``GET /api/system``, ``GET /api/processes?sort=reductions&filter=text&limit=50``,
  ``GET /api/processes/N`` (the first ``MAILBOX_PREVIEW`` messages, and
  ``messages_more``: how many more are queued), ``GET /api/processes/N/state``,
  ``GET /api/processes/N/trace?since=SEQ``, ``GET /api/traces``,
  ``GET /api/tree?root=NAME``, ``GET /api/names``, ``GET /api/registries/N``,
  ``GET /api/nodes``, ``GET /api/nodes/NAME/system``,
  ``GET /api/nodes/NAME/processes?...``, ``GET /api/nodes/NAME/processes/N``
  (404: NAME is not connected; 504: it has no ``actors_observer``);
* ``POST /api/processes/N/kill`` (a JSON body ``{"reason": "shutdown"}``;
  ``"kill"`` without one), ``POST /api/processes/N/suspend``, ``.../resume``,
  ``.../trace``, ``.../trace/stop``.

Security.  The observer shows every mailbox, state and process dictionary,
so it answers only its user:

* **Every request needs the token**: pages, scripts, JSON API and actions
  alike, on loopback too (header ``Authorization: Bearer TOKEN`` or query
  parameter ``?token=TOKEN``).  A page opened with ``?token=`` gets it back
  as a cookie (HttpOnly, SameSite=Strict, one per port), so the page's own
  requests and a reload carry it.  ``start(token=None)`` makes a random
  one; ``Observer.url`` and ``Observer.token`` give it.
* **The Host header is checked**: only loopback names and addresses, the
  address listened on and ``allowed_hosts`` are answered (on ``0.0.0.0``,
  any IP address too), so a web page cannot reach the observer through a
  DNS name it controls (DNS rebinding).
* **Cross-origin requests are refused** (403): a request whose ``Origin``
  is not the observer's own.  Actions are POST only.
* **Nothing from a process is rendered as HTML**: the page builds every
  element from text, and its policy allows only its own script and style
  sheet (no inline script, nothing from another site).
* **Every request costs the loop a bounded time**: no request walks more
  than the first ``snapshot.MAILBOX_PREVIEW`` messages of a mailbox, reprs
  are cut short as they are made, a large system (beyond
  ``snapshot.LIVE_LIMIT`` processes) is read a slice at a time, and no
  system request is sent to a server with more than
  ``snapshot.SYS_MAILBOX_LIMIT`` messages queued.

It listens on loopback (``127.0.0.1``) unless told otherwise; listening on
any other address requires you to choose a token (``start`` refuses with
``ValueError`` otherwise).  Nothing the observer serves can run code.
Traffic is plain HTTP: over a network, put it behind TLS (an SSH tunnel is
simplest).

Needs aiohttp (``pip install "actors-otp[observer]"``).
"""
from .server import Observer, is_loopback, running, start

__all__ = ["Observer", "is_loopback", "running", "start"]
