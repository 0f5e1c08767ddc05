"""The observer: look inside a running actors system from a browser or a terminal.

Like Erlang's ``observer``, but served over HTTP from inside your program, so
it works on a remote machine with nothing else installed.  Start it from a
process (or from asyncio code while a runtime runs)::

    async def main():
        obs = await actors.observer.start()   # 127.0.0.1, a free port; prints obs.url
        ...
        await obs.stop()

Or let ``actors.run(main, observe=True)`` start it (``observe={"port": 8000}``
passes options); ``actors.observer.running()`` lists it.  Either way its URL,
token included, is printed on stderr, as Jupyter does::

    actors observer: open http://127.0.0.1:40123/?token=3q2Kx...

Open that URL in a browser.  The page polls the JSON API once a second and
has four tabs:

* **System**: process count, run queue length, process steps and messages
  per second, scheduler busy time (with a chart of the last minutes), memory (RSS) and uptime.
* **Processes**: the process table (pid, registered name, initial call,
  mailbox length, reductions, memory, status), sortable by any column and
  filterable by text; click a row for everything ``Process.info`` knows
  (links, monitors, mailbox, dictionary, where it is suspended) and a
  *Kill* button (``exit(pid, "kill")``).
* **Tree**: every supervision tree, from the supervisors nobody supervises
  down, with each child's id, type and pid (``restarting`` or ``not
  running`` when it is down), refreshed live so restarts show up.
* **Names**: locally registered names and the running ``Registry`` servers.

From a terminal, ``python -m actors top --url URL`` shows the busiest
processes, redrawn in place like ``etop``.

The JSON API (pids in URLs are the ``N`` of ``<0.N.0>``):

* ``GET /api/system``, ``GET /api/processes?sort=reductions&filter=text&limit=50``,
  ``GET /api/processes/N`` (the first ``MAILBOX_PREVIEW`` messages, and
  ``messages_more``: how many more are queued), ``GET /api/tree``,
  ``GET /api/names``;
* ``POST /api/processes/N/kill``.

Security.  The observer shows every mailbox and process dictionary, so it
answers only its user:

* **Every request needs the token**: pages, JSON API and actions alike, on
  loopback too (header ``Authorization: Bearer TOKEN`` or query parameter
  ``?token=TOKEN``).  A page opened with ``?token=`` gets it back as a
  cookie (HttpOnly, SameSite=Strict, one per port), so the page's own
  requests and a reload carry it.  ``start(token=None)`` makes a random
  one; ``Observer.url`` and ``Observer.token`` give it.
* **The Host header is checked**: only loopback names and addresses, the
  address listened on and ``allowed_hosts`` are answered (on ``0.0.0.0``,
  any IP address too), so a web page cannot reach the observer through a
  DNS name it controls (DNS rebinding).
* **Cross-origin requests are refused** (403): a request whose ``Origin``
  is not the observer's own.
* **Every request costs the loop a bounded time**: no request walks more
  than the first ``snapshot.MAILBOX_PREVIEW`` messages of a mailbox, and
  reprs are cut short as they are made.

It listens on loopback (``127.0.0.1``) unless told otherwise; listening on
any other address requires you to choose a token (``start`` refuses with
``ValueError`` otherwise).  Nothing the observer serves can run code: it
reads ``Process.info`` and supervisors' ``which_children``, and its only
action (``POST``) is to kill a process.  Traffic is plain HTTP: over a
network, put it behind TLS (an SSH tunnel is simplest).

Needs aiohttp (``pip install "actors-otp[observer]"``).
"""
from .server import Observer, is_loopback, running, start

__all__ = ["Observer", "is_loopback", "running", "start"]
