"""The observer: look inside a running actors system from a browser or a terminal.

Like Erlang's ``observer``, but served over HTTP from inside your program, so
it works on a remote machine with nothing else installed.  Start it from a
process (or from asyncio code while a runtime runs)::

    async def main():
        obs = await actors.observer.start()          # 127.0.0.1, a free port
        print("observer at", obs.url)
        ...
        await obs.stop()

Or let ``actors.run(main, observe=True)`` start it (``observe={"port": 8000}``
passes options): its URL is logged on the ``actors`` logger and
``actors.observer.running()`` lists it.  Open ``obs.url`` in a browser.  The page polls the JSON API once a second
and has four tabs:

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
  ``GET /api/processes/N``, ``GET /api/tree``, ``GET /api/names``;
* ``POST /api/processes/N/kill``.

Security.  The observer listens on loopback (``127.0.0.1``) unless told
otherwise, and then only programs on this machine can reach it.  Every
request that changes something is a ``POST`` and must carry the token
(header ``Authorization: Bearer TOKEN``, or a ``token`` query or form
field), even on loopback, so another web page open in your browser cannot
kill your processes.  Listening on any other address requires you to choose
a token (``start`` refuses with ``ValueError`` otherwise), and then every
request, reads included, must carry it.  Without a token argument a random
one is made; ``Observer.url`` includes it.  Nothing the observer serves can
run code: it reads ``Process.info`` and supervisors' ``which_children``,
and its only action is to kill a process.  Traffic is plain HTTP: over a
network, put it behind TLS (an SSH tunnel is simplest).

Needs aiohttp (``pip install "actors[observer]"``).
"""
from .server import Observer, is_loopback, running, start

__all__ = ["Observer", "is_loopback", "running", "start"]
