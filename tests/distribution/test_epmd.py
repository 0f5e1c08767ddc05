"""EPMD (actors.dist.epmd): our client against Erlang's ``epmd``, Erlang's
``erl`` against our server, and our server against hostile clients.

The rules under test are epmd's (ERTS "Distribution Protocol", EPMD section,
and ``erts/epmd/src/epmd_srv.c``): a name is registered while its ALIVE2
connection stays open; each registration of a name gets a new, non-zero
creation; ``NAMES`` answers the epmd port then ``name N at port P\\n`` lines,
newest first; a request that epmd does not understand gets no answer.

Everything listens on, and connects to, the loopback interface only.  The
tests that need Erlang's ``epmd`` or ``erl`` skip themselves (saying why)
where those are not installed.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import actors

from actors.dist import epmd
from actors.dist.epmd import (
    AlreadyRegistered,
    EpmdError,
    EpmdServer,
    EpmdUnavailable,
    NodeInfo,
    ensure_epmd,
    names,
    port_please,
    register,
)

# The CLI runs in a subprocess on the same actors this process imported (the
# checkout's src/ in a development tree, site-packages where it is installed).
SRC = str(Path(actors.__file__).resolve().parents[1])
EPMD = shutil.which("epmd")
ERL = shutil.which("erl")
needs_epmd = pytest.mark.skipif(EPMD is None, reason="Erlang's epmd is not installed "
                                                     "(Debian: apt-get install erlang-nox)")
needs_erl = pytest.mark.skipif(ERL is None, reason="Erlang's erl is not installed "
                                                   "(Debian: apt-get install erlang-nox)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_names(port: int) -> bool:
    """One NAMES_REQ, synchronously: does an epmd answer on ``port``?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"\x00\x01n")
            return len(s.recv(4)) == 4
    except OSError:
        return False


@pytest.fixture
def real_epmd():
    """Erlang's epmd on a free loopback port, as a child process (not -daemon),
    ended by its pid.  Yields the port."""
    if EPMD is None:
        pytest.skip("Erlang's epmd is not installed (Debian: apt-get install erlang-nox)")
    port = free_port()
    proc = subprocess.Popen([EPMD, "-port", str(port), "-address", "127.0.0.1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not answers_names(port):              # readiness probe, bounded
            assert proc.poll() is None, f"epmd exited with status {proc.returncode}"
            assert time.monotonic() < deadline, "epmd did not answer within 10 s"
            time.sleep(0.01)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def read_to_close(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    """Everything the peer sends until it closes (a reset counts as a close:
    a server closing on unread input resets the connection)."""
    data = b""
    async with asyncio.timeout(timeout):
        try:
            while more := await reader.read(4096):
                data += more
        except ConnectionResetError:
            pass
    return data


async def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes to the epmd on ``port``; everything it answers before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await read_to_close(reader)
    finally:
        writer.close()


def alive2(name: bytes, *, high: int = 6, nlen: int | None = None, rest: bytes = b"\0\0") -> bytes:
    """An ALIVE2_REQ packet (port 1, normal node), its name length possibly a lie."""
    body = (struct.pack(">BHBBHHH", 120, 1, 77, 0, high, min(6, high),
                        len(name) if nlen is None else nlen) + name + rest)
    return struct.pack(">H", len(body)) + body


async def wait_gone(name: str, port: int, timeout: float = 10.0) -> None:
    """Poll port_please until ``name`` is unregistered (epmd notices a close
    asynchronously): a readiness probe, bounded in time."""
    async with asyncio.timeout(timeout):
        while await port_please(name, epmd_port=port) is not None:
            await asyncio.sleep(0.01)


# -- the client against Erlang's epmd -------------------------------------------------------

@needs_epmd
def test_register_then_port_please_and_names_with_erlangs_epmd(real_epmd, aio_run):
    """A registered name is found, with what was registered; a closed one is gone."""
    async def main():
        async with await register("alpha", 5001, epmd_port=real_epmd) as a, \
                await register("beta@somehost", 5002, hidden=False, extra=b"xy",
                               epmd_port=real_epmd) as b:
            assert (a.name, a.port, b.name) == ("alpha", 5001, "beta")
            assert 0 < a.creation < 2 ** 32 and not a.closed
            assert await port_please("alpha", epmd_port=real_epmd) == NodeInfo(
                "alpha", 5001, epmd.NODE_TYPE_HIDDEN, 0, 6, 6, b"")
            info = await port_please("beta@127.0.0.1", epmd_port=real_epmd)
            assert info == NodeInfo("beta", 5002, epmd.NODE_TYPE_NORMAL, 0, 6, 6, b"xy")
            assert not info.hidden
            assert await names(epmd_port=real_epmd) == {"alpha": 5001, "beta": 5002}
            assert await port_please("nobody", epmd_port=real_epmd) is None
        assert a.closed
        await wait_gone("alpha", real_epmd)
        await wait_gone("beta", real_epmd)
        assert await names(epmd_port=real_epmd) == {}
    aio_run(main)


@needs_epmd
def test_a_taken_name_is_refused_by_erlangs_epmd(real_epmd, aio_run):
    async def main():
        async with await register("taken", 5001, epmd_port=real_epmd):
            with pytest.raises(AlreadyRegistered, match="'taken'.*result 1") as info:
                await register("taken", 5002, epmd_port=real_epmd)
            assert info.value.result == 1
            assert (await port_please("taken", epmd_port=real_epmd)).port == 5001
    aio_run(main)


@needs_epmd
def test_erlangs_epmd_gives_a_new_creation_to_each_registration(real_epmd, aio_run):
    async def main():
        creations = []
        for _ in range(3):
            reg = await register("again", 5001, epmd_port=real_epmd)
            creations.append(reg.creation)
            await reg.close()
            await wait_gone("again", real_epmd)
        assert len(set(creations)) == 3 and all(0 < c < 2 ** 32 for c in creations)
    aio_run(main)


@needs_epmd
def test_erlangs_epmd_reads_the_port_from_ERL_EPMD_PORT(real_epmd, aio_run, monkeypatch):
    monkeypatch.setenv("ERL_EPMD_PORT", str(real_epmd))
    assert epmd.default_epmd_port() == real_epmd

    async def main():
        async with await register("envy", 5003):
            assert (await port_please("envy")).port == 5003
    aio_run(main)


# -- our server is the same epmd -------------------------------------------------------------

@needs_epmd
def test_names_answers_the_same_bytes_as_erlangs_epmd(real_epmd, aio_run):
    """Same registrations, same order: NAMES is byte-identical but for the port header."""
    async def main():
        async with EpmdServer(port=0) as ours:
            regs = []
            for port in (real_epmd, ours.port):
                for name, node_port in [("n1", 7001), ("zeta", 65535), ("n\u00e9", 1)]:
                    regs.append(await register(name, node_port, epmd_port=port))
            theirs_raw = await raw_request(real_epmd, b"\x00\x01n")
            ours_raw = await raw_request(ours.port, b"\x00\x01n")
            assert theirs_raw[:4] == struct.pack(">I", real_epmd)
            assert ours_raw[:4] == struct.pack(">I", ours.port)
            assert ours_raw[4:] == theirs_raw[4:]
            assert ours_raw[4:].startswith("name n\u00e9 at port 1\n".encode())
            for reg in regs:
                await reg.close()
    aio_run(main)


@needs_epmd
def test_port2_and_refusals_answer_the_same_bytes_as_erlangs_epmd(real_epmd, aio_run):
    async def main():
        async with EpmdServer(port=0) as ours:
            regs = [await register("p", 7001, hidden=False, extra=b"\x00\x01", epmd_port=port)
                    for port in (real_epmd, ours.port)]
            for request in [b"\x00\x02zp", b"\x00\x03zp\x00", b"\x00\x02zq"]:
                assert (await raw_request(ours.port, request)
                        == await raw_request(real_epmd, request)), request
            for request in [b"\x00\x01z", b"\x00\x04zp\x00p", b"\x00\x01?", b"\x00\x00",
                            b"\x00\x03z\xff\xfe"]:               # no answer, closed
                assert await raw_request(real_epmd, request) == b"", request
                assert await raw_request(ours.port, request) == b"", request
            for reg in regs:
                await reg.close()
    aio_run(main)


def test_our_server_registers_finds_and_releases(aio_run):
    async def main():
        async with EpmdServer(port=0) as server:
            reg = await register("solo@localhost", 6001, hidden=False, epmd_port=server.port)
            assert server.nodes["solo"].port == 6001
            assert await port_please("solo", epmd_port=server.port) == NodeInfo(
                "solo", 6001, epmd.NODE_TYPE_NORMAL, 0, 6, 6, b"")
            with pytest.raises(AlreadyRegistered):
                await register("solo", 6002, epmd_port=server.port)
            assert await names(epmd_port=server.port) == {"solo": 6001}
            await reg.close()
            await server.wait_for("solo", registered=False)
            assert await port_please("solo", epmd_port=server.port) is None
            assert await names(epmd_port=server.port) == {}
    aio_run(main)


def test_our_server_gives_a_new_nonzero_creation_to_each_registration(aio_run):
    async def main():
        async with EpmdServer(port=0) as server:
            creations = []
            for _ in range(5):
                async with await register("again", 6001, epmd_port=server.port) as reg:
                    creations.append(reg.creation)
                await server.wait_for("again", registered=False)
            other = await register("other", 6002, epmd_port=server.port)
            assert len(set(creations)) == 5
            assert all(4 <= c < 2 ** 32 for c in creations + [other.creation])
            await other.close()
    aio_run(main)


def test_a_node_before_otp_23_gets_the_old_16_bit_answer(aio_run):
    """ALIVE2_REQ with highest version 5 is answered by ALIVE2_RESP, creation 1..3."""
    async def main():
        async with EpmdServer(port=0) as server:
            body = struct.pack(">BHBBHHH", 120, 6001, 77, 0, 5, 5, 3) + b"old" + b"\x00\x00"
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(struct.pack(">H", len(body)) + body)
            tag, result, creation = struct.unpack(">BBH", await reader.readexactly(4))
            assert (tag, result) == (121, 0) and 1 <= creation <= 3
            assert (await port_please("old", epmd_port=server.port)).highest_version == 5
            writer.close()
            await server.wait_for("old", registered=False)
    aio_run(main)


def test_the_client_takes_the_old_16_bit_answer(aio_run):
    """An epmd from before OTP 23 answers ALIVE2_RESP (121) with a 16-bit creation."""
    async def main():
        got = asyncio.get_running_loop().create_future()

        async def old_epmd(reader, writer):
            (length,) = struct.unpack(">H", await reader.readexactly(2))
            got.set_result(await reader.readexactly(length))
            writer.write(b"\x79\x00\x00\x02")
            await reader.read()
            writer.close()

        server = await asyncio.start_server(old_epmd, "127.0.0.1", 0)
        async with server:
            reg = await register("vintage", 6001, epmd_port=server.sockets[0].getsockname()[1])
            assert reg.creation == 2
            assert (await got)[:11] == struct.pack(">BHBBHHH", 120, 6001, 72, 0, 6, 6, 7)
            await reg.close()
    aio_run(main)


# -- Erlang's erl and our server ----------------------------------------------------------------

@needs_erl
def test_an_erlang_node_registers_with_our_server_and_is_released_when_it_dies(aio_run):
    """erl -sname a, told (ERL_EPMD_PORT) to use our server: port_please finds it;
    when the node dies (killed by pid), the server drops its name."""
    async def main():
        async with EpmdServer(port=0) as server:
            name = f"a{secrets.token_hex(4)}"
            env = dict(os.environ, ERL_EPMD_PORT=str(server.port))
            erl = await asyncio.create_subprocess_exec(
                ERL, "-sname", name, "-setcookie", secrets.token_hex(16), "-noshell",
                "-noinput", "-start_epmd", "false", env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            try:
                await server.wait_for(name, timeout=60)
                info = await port_please(name, epmd_port=server.port)
                assert info.name == name and info.node_type == epmd.NODE_TYPE_NORMAL
                assert (info.protocol, info.highest_version) == (0, 6)
                assert info.lowest_version in (5, 6)          # OTP 25 still says 5
                assert 0 < info.port < 65536
                # the node does listen there: the distribution port is real
                _, writer = await asyncio.open_connection("127.0.0.1", info.port)
                writer.close()
            finally:
                erl.kill()
                await erl.wait()
            await server.wait_for(name, registered=False)
            assert await port_please(name, epmd_port=server.port) is None
    aio_run(main)


@needs_erl
def test_erlang_reads_our_names_answer(aio_run):
    """erl_epmd:names() (Erlang's own NAMES parser) lists what is registered with us."""
    async def main():
        async with EpmdServer(port=0) as server:
            async with await register("py", 6001, epmd_port=server.port), \
                    await register("snake", 6002, epmd_port=server.port):
                erl = await asyncio.create_subprocess_exec(
                    ERL, "-noshell", "-start_epmd", "false", "-eval",
                    '{ok, Names} = erl_epmd:names(), io:format("~p~n", [lists:sort(Names)]), '
                    'halt().', env=dict(os.environ, ERL_EPMD_PORT=str(server.port)),
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE)
                async with asyncio.timeout(60):
                    out, _ = await erl.communicate()
                assert out.split() == [b'[{"py",6001},{"snake",6002}]']
    aio_run(main)


# -- our server against hostile clients ----------------------------------------------------------

def test_our_server_survives_hostile_input(aio_run):
    """Garbage, truncated packets, 64 KiB length claims, lies inside ALIVE2, slow
    and idle clients: each is closed (no answer), and the server keeps serving."""
    async def main():
        async with EpmdServer(port=0, request_timeout=0.3, max_connections=20) as server:
            keep = await register("keeper", 6001, epmd_port=server.port)
            hostile = [
                b"\xff\xff" + b"x" * 100,                     # a 64 KiB length claim
                b"\x00\x00",                                  # an empty request
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",         # garbage
                b"\x00\x10z",                                 # truncated, then closed
                b"\x00\x05x\x00",                             # truncated ALIVE2
                alive2(b"ab", nlen=500),                      # name longer than the packet
                alive2(b"ab", rest=b"\xff\xff\0\0"),          # extra longer than the packet
                alive2(b"a\0b"),                              # NUL in the name
                alive2(b""),                                  # no name
                b"\x00\x01d", b"\x00\x01k", b"\x00\x02sa",    # DUMP, KILL, STOP: ignored
                bytes(range(256)) * 4,
            ]
            for data in hostile:
                assert await raw_request(server.port, data) == b"", data
            # a name that is no UTF-8 is refused, with an answer (as epmd does)
            assert await raw_request(server.port, alive2(b"\xff\xfe")) == b"\x76\x01\0\0\0\x63"
            # slow: half a header, then nothing; the server gives up (request_timeout)
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\x00")
            assert await read_to_close(reader) == b""
            writer.close()
            # many idle connections: past max_connections, new ones are closed at once,
            # and the idle ones time out
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(30)]
            for reader, _ in idle:
                assert await read_to_close(reader) == b""
            for _, writer in idle:
                writer.close()
            assert await names(epmd_port=server.port) == {"keeper": 6001}
            assert (await port_please("keeper", epmd_port=server.port)).port == 6001
            assert sorted(server.nodes) == ["keeper"]
            async with await register("newcomer", 6002, epmd_port=server.port):
                assert await names(epmd_port=server.port) == {"keeper": 6001, "newcomer": 6002}
            await keep.close()
    aio_run(main)


def test_anything_sent_on_an_alive2_connection_ends_the_registration(aio_run):
    """As in epmd: the ALIVE2 connection carries nothing more; data closes it."""
    async def main():
        async with EpmdServer(port=0) as server:
            body = struct.pack(">BHBBHHH", 120, 6001, 77, 0, 6, 6, 1) + b"q" + b"\x00\x00"
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(struct.pack(">H", len(body)) + body)
            assert (await reader.readexactly(6))[:2] == b"\x76\x00"
            await server.wait_for("q")
            writer.write(b"\x00\x01n")
            await server.wait_for("q", registered=False)
            assert await read_to_close(reader) == b""
            writer.close()
    aio_run(main)


def test_closing_the_server_ends_its_connections(aio_run):
    async def main():
        server = await EpmdServer(port=0).start()
        reg = await register("r", 6001, epmd_port=server.port)
        await server.close()
        await reg.wait_closed()
        assert reg.closed
        with pytest.raises(EpmdUnavailable, match="cannot reach epmd"):
            await names(epmd_port=server.port)
    aio_run(main)


# -- ensure_epmd ------------------------------------------------------------------------------------

def test_ensure_epmd_uses_a_running_epmd_and_never_stops_it(aio_run):
    async def main():
        async with EpmdServer(port=0) as server:
            handle = await ensure_epmd(server.port)
            assert (handle.kind, handle.port, handle.pid) == ("running", server.port, None)
            await handle.stop()
            assert await names(epmd_port=server.port) == {}
    aio_run(main)


def test_ensure_epmd_builtin_starts_and_stops_an_in_process_server(aio_run):
    async def main():
        port = free_port()
        async with await ensure_epmd(port, builtin=True) as handle:
            assert (handle.kind, handle.port) == ("builtin", port)
            async with await register("b", 6001, epmd_port=port):
                assert await names(epmd_port=port) == {"b": 6001}
        with pytest.raises(EpmdUnavailable):
            await names(epmd_port=port)
    aio_run(main)


@needs_epmd
def test_ensure_epmd_starts_erlangs_epmd_as_a_child_and_stops_it_by_pid(aio_run):
    async def main():
        port = free_port()
        handle = await ensure_epmd(port)
        try:
            assert (handle.kind, handle.port) == ("erlang", port) and handle.pid
            assert await names(epmd_port=port) == {}
        finally:
            await handle.stop()
        assert handle.process.returncode is not None
        with pytest.raises(EpmdUnavailable):
            await names(epmd_port=port)
    aio_run(main)


def test_ensure_epmd_says_when_the_port_is_taken_by_something_else(aio_run):
    """A port held by a listener that is no epmd: a clear EpmdError, whichever
    epmd (Erlang's, or the built-in one) it tried to start."""
    async def main():
        async def mute(reader, writer):
            await reader.read()
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            for builtin in (True, False):
                with pytest.raises(EpmdError, match=f"port {port}|127.0.0.1:{port}"):
                    await ensure_epmd(port, builtin=builtin, timeout=2)
    aio_run(main)


# -- python -m actors epmd ---------------------------------------------------------------------------

@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_cli_serves_until_interrupted(aio_run, stop_signal):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "actors", "epmd", "--port", "0",
            env=dict(os.environ, PYTHONPATH=SRC), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(30):
                line = (await proc.stdout.readline()).decode()
            assert line.startswith("epmd listening on 127.0.0.1:"), line
            port = int(line.rsplit(":", 1)[1])
            async with await register("cli", 6001, epmd_port=port):
                assert await names(epmd_port=port) == {"cli": 6001}
            proc.send_signal(stop_signal)
            async with asyncio.timeout(30):
                out, err = await proc.communicate()
            assert proc.returncode == 0, err
            assert out.decode().strip() == "epmd stopped"
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    aio_run(main)


def test_the_cli_says_when_the_port_is_taken():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        done = subprocess.run([sys.executable, "-m", "actors", "epmd", "--port",
                               str(s.getsockname()[1])], env=dict(os.environ, PYTHONPATH=SRC),
                              capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert "cannot listen on 127.0.0.1" in done.stdout


# -- arguments and failures -------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: register(1, 5000), TypeError, "node name must be a str"),
    (lambda: register("", 5000), ValueError, "node name must not be empty"),
    (lambda: register("a@", 5000), ValueError, "empty host part"),
    (lambda: register("a\0b", 5000), ValueError, "NUL"),
    (lambda: register("x" * 256, 5000), ValueError, "at most 255"),
    (lambda: register("a", "5000"), TypeError, "port must be an int"),
    (lambda: register("a", True), TypeError, "port must be an int"),
    (lambda: register("a", 0), ValueError, r"port must be a TCP port number \(1-65535\)"),
    (lambda: register("a", 70000), ValueError, "port must be"),
    (lambda: register("a", 5000, hidden=1), TypeError, "hidden must be a bool"),
    (lambda: register("a", 5000, host=""), ValueError, "host must not be empty"),
    (lambda: register("a", 5000, epmd_port=-1), ValueError, "epmd_port must be"),
    (lambda: register("a", 5000, extra="x"), TypeError, "extra must be bytes"),
    (lambda: register("a", 5000, extra=b"x" * 2000), ValueError, "extra is 2000 bytes"),
    (lambda: register("a", 5000, timeout=0), ValueError, "timeout must be > 0"),
    (lambda: register("a", 5000, timeout="1"), TypeError, "timeout must be a number"),
    (lambda: port_please(None), TypeError, "node name must be a str"),
    (lambda: port_please("a", host=4), TypeError, "host must be a str"),
    (lambda: port_please("a", epmd_port=1.5), TypeError, "epmd_port must be an int"),
    (lambda: names(host=None), TypeError, "host must be a str"),
    (lambda: names(timeout=-1), ValueError, "timeout must be > 0"),
    (lambda: ensure_epmd(0), ValueError, "epmd_port must be"),
    (lambda: ensure_epmd(4369, builtin="yes"), TypeError, "builtin must be a bool"),
    (lambda: ensure_epmd(4369, address=None), TypeError, "address must be a str"),
])
def test_bad_arguments_are_named(aio_run, call, error, match):
    async def main():
        with pytest.raises(error, match=match):
            await call()
    aio_run(main)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"host": 1}, TypeError, "host must be a str"),
    ({"port": 65536}, ValueError, r"port must be a TCP port number \(0-65535\)"),
    ({"request_timeout": 0}, ValueError, "timeout must be > 0"),
    ({"max_connections": 0}, ValueError, "max_connections must be >= 1"),
    ({"max_connections": 1.0}, TypeError, "max_connections must be an int"),
])
def test_bad_server_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        EpmdServer(**kwargs)


def test_a_bad_ERL_EPMD_PORT_is_named(monkeypatch):
    monkeypatch.setenv("ERL_EPMD_PORT", "epmd")
    with pytest.raises(ValueError, match="ERL_EPMD_PORT must be a TCP port number"):
        epmd.default_epmd_port()
    monkeypatch.delenv("ERL_EPMD_PORT")
    assert epmd.default_epmd_port() == 4369


def test_node_names_are_parsed():
    assert epmd.parse_node_name("a@b.example") == ("a", "b.example")
    assert epmd.parse_node_name("a") == ("a", None)
    assert epmd.parse_node_name("a@b@c") == ("a", "b@c")


def test_no_epmd_is_a_clear_error(aio_run):
    async def main():
        port = free_port()
        for call in (port_please("a", epmd_port=port), names(epmd_port=port),
                     register("a", 5000, epmd_port=port)):
            with pytest.raises(EpmdUnavailable, match=f"cannot reach epmd at 127.0.0.1:{port}"):
                await call
    aio_run(main)


def test_a_silent_epmd_times_out(aio_run):
    """A peer that accepts and never answers: EpmdUnavailable after ``timeout``."""
    async def main():
        async def mute(reader, writer):
            await reader.read()
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(EpmdUnavailable, match="did not answer ALIVE2_REQ within 0.2 s"):
                await register("a", 5000, epmd_port=port, timeout=0.2)
            with pytest.raises(EpmdUnavailable, match="did not answer NAMES_REQ"):
                await names(epmd_port=port, timeout=0.2)
    aio_run(main)


def test_a_peer_that_is_no_epmd_is_a_clear_error(aio_run):
    async def main():
        async def liar(reader, writer):
            (length,) = struct.unpack(">H", await reader.readexactly(2))
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(liar, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(EpmdError, match="answered ALIVE2_REQ with tag 72"):
                await register("a", 5000, epmd_port=port)
            with pytest.raises(EpmdError, match="not a PORT2_RESP"):
                await port_please("a", epmd_port=port)
    aio_run(main)
