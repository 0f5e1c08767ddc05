"""Peers: more Python nodes, each its own OS process (OTP's ``peer``).

One runtime is one node and runs on one core.  ``start_link`` starts a new
Python OS process running an actors node that joins this one (same cookie,
same epmd, same interface, same event loop), and accepts spawns from it:
``actors.Node.spawn(node, fn, *args)`` then runs ``fn`` there, on another
core.  The pid it returns is a local process, linked to the caller, that
owns the OS process:

* when that pid exits (the caller died through the link, ``stop(pid)``,
  the runtime shut down), the OS process is stopped: asked first (its
  stdin is closed), killed by its pid if it has not exited in
  ``STOP_TIMEOUT`` seconds;
* when the OS process ends on its own, the pid exits: ``"normal"`` for
  status 0, else ``("exit_status", status)`` (negative: killed by that
  signal);
* a peer never outlives its parent: it exits when the connection to its
  parent node is lost (it monitors that node) or its stdin reaches EOF (the
  parent's OS process is gone).

The peer imports the same ``actors`` as its parent and sees its
``sys.path``, so the functions the parent spawns there (``spawn_targets``
modules of a checkout included) can be imported.  What the peer writes on
stderr is copied to the parent's.

Example:
    >>> async def main():
    ...     await actors.Node.start("doc@127.0.0.1", cookie="secret")
    ...     pid, node = await actors.peer.start_link()
    ...     ...                        # await actors.Node.spawn(node, fn, ...)
    ...     await actors.peer.stop(pid)
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from . import lowlevel
from .dist.epmd import parse_node_name
from .gen_server import start_and_ack
from .lowlevel import ANY, Down, Exit, Pid, ProcessExit, StartError
from .node import Node, NodeDown, start_options

__all__ = ["START_TIMEOUT", "STOP_TIMEOUT", "start", "start_link", "stop"]

#: Seconds ``start_link`` waits for the peer to be up, by default.
START_TIMEOUT = 30.0
#: Seconds a stopping peer is given to exit before it is killed.
STOP_TIMEOUT = 5.0
#: Lines of the peer's stderr quoted by a ``StartError``.
STDERR_TAIL = 20

_STOP = "$peer_stop"
_PARENT_GONE = "$peer_parent_gone"
_UP = "$peer_up"
_PEER_MAIN = "import sys, actors.peer; sys.exit(actors.peer.main())"
_counter = itertools.count(1)
# The directory `actors` is imported from: first on the peer's PYTHONPATH.
_ACTORS_ROOT = str(Path(__file__).resolve().parent.parent)


async def start_link(name: str | None = None, *, allow_spawn: bool | list[str] | None = True,
                     env: Mapping[str, str] | None = None,
                     timeout: float = START_TIMEOUT) -> tuple[Pid, str]:
    """Start a peer node in a new OS process, owned by a process linked to the caller.

    Args:
        name: the peer's node name: ``"name@host"``, or ``"name"`` for this
            node's host; None picks a unique ``peerN-<os pid>@host``.
        allow_spawn: what the peer lets other nodes spawn (``Node.start``'s
            ``allow_spawn``): any function by default (``True``), the
            functions of a list of modules, or none (``None``).
        env: environment variables for the peer, over this process's.
        timeout: seconds to wait until the peer is up and connected.

    Returns:
        ``(pid, node)``: the owner process (``stop(pid)`` stops the peer) and
        the peer's node name.

    Raises:
        RuntimeError: not called inside a process, this runtime is not a
            node (``actors.Node.start``), or a TLS one (not supported yet).
        TypeError, ValueError: a bad argument (named).
        actors.StartError: the peer did not start: ``.reason`` is
            ``("exit_status", status)`` or ``"timeout"``, the message quotes
            the end of its stderr.
    """
    return await _start(name, allow_spawn, env, timeout, link=True, what="peer.start_link")


async def start(name: str | None = None, *, allow_spawn: bool | list[str] | None = True,
                env: Mapping[str, str] | None = None,
                timeout: float = START_TIMEOUT) -> tuple[Pid, str]:
    """``start_link`` without the link: the peer runs until ``stop(pid)``, its
    owner is killed, or the runtime ends."""
    return await _start(name, allow_spawn, env, timeout, link=False, what="peer.start")


async def stop(pid: Pid) -> None:
    """Stop the peer that ``pid`` (from ``start_link``) owns and wait until
    its OS process has ended.  A peer that has stopped already is fine."""
    if type(pid) is not Pid:
        raise TypeError(f"peer.stop(pid): pid must be the Pid start_link returned, got {pid!r}")
    ref = lowlevel.monitor(pid)
    lowlevel.send(pid, (_STOP, ref))
    await lowlevel.receive(Down(ref, pid, ANY))


# -- the parent's side ------------------------------------------------------------------

async def _start(name: Any, allow_spawn: Any, env: Any, timeout: Any, *, link: bool,
                 what: str) -> tuple[Pid, str]:
    if not lowlevel.in_process():
        raise RuntimeError(f"{what}() must be called inside a process")
    if not Node.alive():
        raise RuntimeError(f"{what}: this runtime is not a node: start one first with "
                           f"`await actors.Node.start(name)`")
    options = start_options()
    if options["ssl"] is not None:
        raise RuntimeError(f"{what}: this node uses TLS distribution (Node.start(ssl=...)); "
                           f"peers of a TLS node are not supported yet")
    host = options["name"].partition("@")[2]
    node = _peer_name(name, host, what)
    allowed = _check_allow_spawn(allow_spawn, what)
    environ = _environment(env, what)
    lowlevel.check_seconds(timeout, f"{what}(timeout)", allow_none=False)
    cookie = options["cookie"]
    config: dict[str, Any] = {
        "name": node, "parent": options["name"],
        "cookie": (cookie.encode("latin-1") if isinstance(cookie, str) else cookie).hex(),
        "listen": options["listen"], "epmd_port": options["epmd_port"],
        "ticktime": options["ticktime"], "hidden": options["hidden"],
        "allow_spawn": allowed, "loop": _loop_name(), "path": list(sys.path),
    }
    pid = await start_and_ack(_control, (config, environ, float(timeout), what),
                              link=link, timeout=None, what=what)
    assert pid is not None
    return pid, node


def _peer_name(name: Any, host: str, what: str) -> str:
    if name is None:
        return f"peer{next(_counter)}-{os.getpid()}@{host}"
    if not isinstance(name, str):
        raise TypeError(f"{what}(name=...): must be a str like 'name' or 'name@host', got {name!r}")
    try:
        alive, at_host = parse_node_name(name)
    except ValueError as exc:
        raise ValueError(f"{what}(name=...): {exc}") from None
    if at_host is not None and "@" in at_host:
        raise ValueError(f"{what}(name=...): must be 'name' or 'name@host', got {name!r}")
    if not all(c.isalnum() or c in "_-." for c in alive):
        raise ValueError(f"{what}(name=...): the part before '@' may have letters, digits, "
                         f"'_', '-' and '.', got {name!r}")
    return f"{alive}@{at_host or host}"


def _loop_name() -> str:
    sched = lowlevel.current_scheduler()
    module = type(sched.loop).__module__ if sched is not None else ""
    return "uvloop" if module.startswith("uvloop") else "asyncio"


def _check_allow_spawn(value: Any, what: str) -> bool | list[str] | None:
    if value is None or isinstance(value, bool):
        return value or None
    if isinstance(value, (list, tuple)):
        modules: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        if all(isinstance(m, str) for m in modules):
            return modules
    raise TypeError(f"{what}(allow_spawn=...): must be True, None or a list of module "
                    f"names, got {value!r}")


def _environment(env: Any, what: str) -> dict[str, str]:
    """The peer's environment: ours, ``env`` over it, this ``actors`` first
    on ``PYTHONPATH``."""
    environ = dict(os.environ)
    if env is not None:
        bad = TypeError(f"{what}(env=...): must be a mapping of str to str, got {env!r}")
        if not isinstance(env, Mapping):
            raise bad
        items: list[tuple[Any, Any]] = list(env.items())  # pyright: ignore[reportUnknownArgumentType]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in items):
            raise bad
        environ.update(items)
    path = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = _ACTORS_ROOT + (os.pathsep + path if path else "")
    return environ


async def _control(ack: Any, parent: Pid | None, config: dict[str, Any],
                   environ: dict[str, str], timeout: float, what: str) -> None:
    """The owner of one peer OS process: starts it, waits until it is up,
    then stops it when asked, when its parent exits, or exits when it does."""
    lowlevel.process_flag("trap_exit", True)
    me = lowlevel.self()
    node = config["name"]
    config["owner"] = lowlevel.pid_to_wire(me)
    try:
        proc = subprocess.Popen([sys.executable, "-c", _PEER_MAIN], env=environ,
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        _fail(ack, parent, StartError(exc, f"{what}: cannot run {sys.executable}: {exc}"))
        return
    tag = lowlevel.make_ref()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
    assert proc.stdin is not None and proc.stderr is not None
    copier = threading.Thread(target=_copy_stderr, args=(proc.stderr, tail), daemon=True,
                              name=f"actors.peer {node} stderr")
    copier.start()
    threading.Thread(target=_wait_exit, args=(proc, me, tag), daemon=True,
                     name=f"actors.peer {node} wait").start()
    try:
        try:
            proc.stdin.write(json.dumps(config).encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            pass                        # it exited already: the exit message says so
        patterns: list[Any] = [(_UP, node), (tag, "exited", ANY)]
        if parent is not None:
            patterns.append(Exit(parent, ANY))
        msg = await lowlevel.receive(*patterns, timeout=timeout, default=None)
        if type(msg) is Exit:           # the caller died while we waited
            raise ProcessExit(msg.reason)
        if msg is None or msg[1] == "exited":
            if msg is None:
                proc.kill()
                await lowlevel.receive((tag, "exited", ANY), timeout=STOP_TIMEOUT, default=None)
                reason: Any = "timeout"
                why = f"was not up within {timeout} s"
            else:
                reason = ("exit_status", msg[2])
                why = f"exited with status {msg[2]}"
            await lowlevel.to_thread(copier.join, 1.0)
            stderr = "\n".join(tail) or "(nothing)"
            _fail(ack, parent, StartError(reason, f"{what}: the peer {node} {why}; "
                                                  f"its stderr ended with:\n{stderr}"))
            return
        ack(("ok", me))
        await _serve(proc, tag, parent)
    finally:
        if proc.poll() is None:
            proc.kill()                 # killed ourselves, or crashed: no orphans
        with contextlib.suppress(OSError):
            proc.stdin.close()


async def _serve(proc: subprocess.Popen[bytes], tag: Any, parent: Pid | None) -> None:
    while True:
        msg: Any = await lowlevel.receive()
        if lowlevel.matches((tag, "exited", ANY), msg):
            raise ProcessExit("normal" if msg[2] == 0 else ("exit_status", msg[2]))
        if isinstance(msg, Exit) and (msg.pid == parent or msg.reason != "normal"):
            await _stop_process(proc, tag)
            raise ProcessExit(msg.reason)
        if lowlevel.matches((_STOP, ANY), msg):
            await _stop_process(proc, tag)
            return


async def _stop_process(proc: subprocess.Popen[bytes], tag: Any) -> None:
    """Close its stdin (it stops its node and exits), kill it if it lingers."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.close()
    if await lowlevel.receive((tag, "exited", ANY), timeout=STOP_TIMEOUT, default=None) is None:
        proc.kill()
        await lowlevel.receive((tag, "exited", ANY), timeout=STOP_TIMEOUT, default=None)


def _fail(ack: Any, parent: Pid | None, error: StartError) -> None:
    if parent is not None:
        lowlevel.unlink(parent)
    ack(("error", error))


def _copy_stderr(stream: IO[bytes], tail: collections.deque[str]) -> None:
    """(thread) Copy the peer's stderr to ours, keeping its last lines."""
    with stream, contextlib.suppress(Exception):
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            tail.append(line.rstrip("\n"))
            with contextlib.suppress(Exception):    # a closed or replaced sys.stderr
                sys.stderr.write(line)
                sys.stderr.flush()


def _wait_exit(proc: subprocess.Popen[bytes], owner: Pid, tag: Any) -> None:
    """(thread) Reap the peer; tell its owner ``(tag, "exited", status)``."""
    status = proc.wait()
    with contextlib.suppress(RuntimeError):     # the runtime has ended
        lowlevel.send(owner, (tag, "exited", status))


# -- the peer's side ---------------------------------------------------------------------

def main() -> int:
    """Run a peer (in the OS process ``start_link`` starts, which writes its
    settings as one JSON line on its stdin)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is for the parent, which stops us
    line = _read_line(sys.stdin.fileno())
    if not line:
        print("actors.peer: no settings on stdin (this is started by actors.peer.start_link)",
              file=sys.stderr)
        return 2
    config = json.loads(line)
    sys.path.extend(p for p in config["path"] if p not in sys.path)
    from .runtime import run
    return run(_peer, config, loop=config["loop"])


async def _peer(config: dict[str, Any]) -> int:
    me = lowlevel.self()
    threading.Thread(target=_watch_stdin, args=(me,), daemon=True,
                     name="actors.peer stdin").start()
    parent = config["parent"]
    try:
        await Node.start(config["name"], bytes.fromhex(config["cookie"]),
                         listen=config["listen"], epmd_port=config["epmd_port"],
                         ticktime=config["ticktime"], hidden=config["hidden"],
                         allow_spawn=config["allow_spawn"])
    except Exception as exc:
        print(f"actors.peer {config['name']}: cannot start the node: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        Node.monitor(parent)
        lowlevel.send(lowlevel.remote_pid(*config["owner"]), (_UP, config["name"]))
        if await lowlevel.receive(NodeDown(parent), _PARENT_GONE) != _PARENT_GONE:
            print(f"actors.peer {config['name']}: lost the connection to its parent "
                  f"{parent}; exiting", file=sys.stderr, flush=True)
    finally:
        await Node.stop()
    return 0


def _read_line(fd: int) -> bytes:
    """One line from ``fd``, read unbuffered: nothing after it is consumed."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data


def _watch_stdin(main: Pid) -> None:
    """(thread) Tell ``main`` when stdin reaches EOF: the parent closed it, or is gone.
    (It reads the file descriptor: a daemon thread blocked in ``sys.stdin``'s
    buffer would abort the interpreter's exit.)"""
    with contextlib.suppress(OSError):
        while os.read(sys.stdin.fileno(), 4096):
            pass
    with contextlib.suppress(RuntimeError):
        lowlevel.send(main, _PARENT_GONE)

