"""The TLS distribution (issue 11, docs/api.md section 8 "Security").

Rules tested, from OTP's ``inet_tls_dist`` and against real ``erl`` nodes
started with ``-proto_dist inet_tls -ssl_dist_optfile``: the handshake and
all traffic run inside TLS (a listener on the wire sees no node name and no
payload); Python dials a TLS erl node and exchanges messages, erl dials a
Python TLS listener, TLS Python nodes and erl ping each other; a certificate
that the cluster's CA did not sign is refused both ways, and so is a client
without a certificate and a server whose certificate names another host; a
plain-TCP end and a TLS end fail to connect quickly and say why; a silent
peer cannot hold a TLS listener; listening beyond loopback without TLS logs
a warning.
"""
from __future__ import annotations

import ast
import asyncio
import itertools
import logging
import ssl
import sys
import time
from pathlib import Path

import pytest
import trustme  # (the test extra's) a CA and certificates, made in memory

from actors.dist import tls
from actors.dist.epmd import Registration, port_please, register
from actors.dist.etf import Atom, ExternalPid, encode
from actors.dist.handshake import HandshakeError, dial, start_server
from actors.dist.node import DistNode, parse_packet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from erlnode import Epmd, ErlNode, random_cookie

COOKIE = "monster"
HOST = "localhost"               # the certificates name it; erl nodes use -sname
_names = itertools.count()


# -- certificates -----------------------------------------------------------------------

class Certs:
    """A node certificate (for ``localhost``) signed by ``ca`` and the CA
    file it trusts (``ca``'s own unless ``trust`` says otherwise), as files
    and as Python contexts, and an erl ``-ssl_dist_optfile`` that uses them."""

    def __init__(self, directory: Path, ca: trustme.CA, *, name: str,
                 trust: Path | None = None) -> None:
        directory.mkdir()
        leaf = ca.issue_cert(HOST)
        self.ca = trust or directory / "ca.pem"
        self.cert = directory / "cert.pem"
        self.key = directory / "key.pem"
        if trust is None:
            ca.cert_pem.write_to_path(str(self.ca))
        leaf.cert_chain_pems[0].write_to_path(str(self.cert))
        leaf.private_key_pem.write_to_path(str(self.key))
        self.server, self.client = tls.contexts(self.cert, self.key, cafile=self.ca)
        self.optfile = directory / f"{name}.conf"
        common = (f"{{certfile, {erl_string(self.cert)}}}, {{keyfile, {erl_string(self.key)}}}, "
                  f"{{cacertfile, {erl_string(self.ca)}}}, {{verify, verify_peer}}")
        self.optfile.write_text(f"[{{server, [{common}, {{fail_if_no_peer_cert, true}}]}},\n"
                                f" {{client, [{common}]}}].\n")


def erl_string(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    """The cluster's CA and the certificate all its nodes use."""
    return Certs(tmp_path_factory.mktemp("tls") / "good", trustme.CA(), name="good")


@pytest.fixture(scope="module")
def rogue(tmp_path_factory, certs) -> Certs:
    """An impostor: a certificate for the same host that another CA signed;
    it trusts the cluster's CA (whose certificate is no secret), so what is
    tested is the other side refusing it."""
    return Certs(tmp_path_factory.mktemp("tls") / "rogue", trustme.CA(), name="rogue",
                 trust=certs.ca)


# -- Python listeners and a wire tap ---------------------------------------------------------

class Server:
    """A Python listener (handshake level) recording what it accepted and refused."""

    def __init__(self, name: str | None = None, **options) -> None:
        self.name = name or f"srv{next(_names)}@{HOST}"
        self.options = options
        self.connections: asyncio.Queue = asyncio.Queue()
        self.errors: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self) -> Server:  # noqa: PYI034
        self.server = await start_server(self.name, 42, COOKIE, self.connections.put_nowait,
                                         on_error=self.errors.put_nowait, host="127.0.0.1",
                                         **self.options)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        while not self.connections.empty():
            self.connections.get_nowait().close()

    async def error(self) -> BaseException:
        return await asyncio.wait_for(self.errors.get(), 10)

    async def connection(self):
        return await asyncio.wait_for(self.connections.get(), 10)


class Tap:
    """A TCP relay to ``port`` that records every byte it passes on."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.seen = bytearray()
        self.tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> Tap:  # noqa: PYI034
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _relay(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src, dst) -> None:
            try:
                while data := await src.read(65536):
                    self.seen += data
                    dst.write(data)
            finally:
                dst.close()

        self.tasks += [asyncio.ensure_future(pipe(reader, up_writer)),
                       asyncio.ensure_future(pipe(up_reader, writer))]


async def python_dial(port: int, remote: str, *, host: str = HOST, **options):
    options.setdefault("timeout", 5)
    return await dial(f"cli{next(_names)}@{HOST}", 7, remote, host, port, COOKIE, **options)


# -- Python to Python --------------------------------------------------------------------

def test_handshake_and_traffic_run_inside_tls(aio_run, certs):
    """A tap on the wire sees neither the node names of the handshake nor
    the packets after it; both ends still get every packet."""
    async def main():
        async with Server(ssl=certs.server) as server, Tap(server.port) as tap:
            client = await python_dial(tap.port, server.name, ssl=certs.client)
            accepted = await server.connection()
            assert (client.peer_name, accepted.peer_name) == (server.name, client.local_name)
            client.send(b"p-secret-payload-1")
            accepted.send(b"p-secret-payload-2")
            assert await asyncio.wait_for(accepted.recv(), 5) == b"p-secret-payload-1"
            assert await asyncio.wait_for(client.recv(), 5) == b"p-secret-payload-2"
            assert len(tap.seen) > 0
            for clear in (b"secret-payload", server.name.encode(), client.local_name.encode()):
                assert clear not in tap.seen
            client.close()
            assert await asyncio.wait_for(accepted.wait_closed(), 5) == "connection_closed"

    aio_run(main)


def test_without_tls_a_tap_sees_everything(aio_run):
    """The same tap on a plain connection: what TLS hides is on the wire."""
    async def main():
        async with Server() as server, Tap(server.port) as tap:
            client = await python_dial(tap.port, server.name, host="127.0.0.1")
            accepted = await server.connection()
            client.send(b"p-secret-payload-1")
            assert await asyncio.wait_for(accepted.recv(), 5) == b"p-secret-payload-1"
            assert server.name.encode() in tap.seen and b"secret-payload" in tap.seen
            client.close()

    aio_run(main)


def test_a_certificate_from_another_ca_is_refused_both_ways(aio_run, certs, rogue):
    """The listener drops a refused TLS handshake before accept: its
    on_error hears nothing, and no connection is made."""
    async def main():
        # a client whose certificate the cluster's CA did not sign
        async with Server(ssl=certs.server) as server:
            with pytest.raises(HandshakeError) as caught:
                await python_dial(server.port, server.name, ssl=rogue.client)
            # (TLS 1.3: the client's handshake ends before the server checks
            # its certificate; the refusal comes as an alert or a hang-up)
            assert caught.value.reason in ("tls", "closed")
            assert server.connections.empty() and server.errors.empty()
        # a server whose certificate the cluster's CA did not sign
        async with Server(ssl=rogue.server) as server:
            with pytest.raises(HandshakeError, match="certificate verify failed") as caught:
                await python_dial(server.port, server.name, ssl=certs.client)
            assert caught.value.reason == "tls"
            assert server.connections.empty()

    aio_run(main)


def test_a_client_without_a_certificate_is_refused(aio_run, certs):
    async def main():
        anonymous = ssl.create_default_context(cafile=certs.ca)      # trusts, presents nothing
        async with Server(ssl=certs.server) as server:
            with pytest.raises(HandshakeError) as caught:
                await python_dial(server.port, server.name, ssl=anonymous)
            assert caught.value.reason in ("tls", "closed")
            assert server.connections.empty() and server.errors.empty()

    aio_run(main)


def test_the_server_certificate_must_name_the_host_dialled(aio_run, certs):
    """The certificate names ``localhost``; dialling ``127.0.0.1`` with a
    context that checks host names is refused."""
    async def main():
        async with Server(ssl=certs.server) as server:
            with pytest.raises(HandshakeError, match="127.0.0.1") as caught:
                await python_dial(server.port, server.name, host="127.0.0.1", ssl=certs.client)
            assert caught.value.reason == "tls"

    aio_run(main)


def test_plain_and_tls_ends_fail_fast_and_say_why(aio_run, certs):
    """Neither waits for the handshake timeout (10 s here)."""
    async def main():
        async with Server(ssl=certs.server) as server:                # a plain dial to TLS
            started = time.monotonic()
            with pytest.raises(HandshakeError) as caught:
                await python_dial(server.port, server.name, timeout=10)
            assert caught.value.reason == "closed"
            assert time.monotonic() - started < 5
        async with Server() as server:                                # a TLS dial to plain
            started = time.monotonic()
            with pytest.raises(HandshakeError) as caught:
                await python_dial(server.port, server.name, ssl=certs.client, timeout=10)
            assert caught.value.reason == "tls"
            error = await server.error()
            assert error.reason == "tls" and "pass ssl=" in str(error)
            assert time.monotonic() - started < 5

    aio_run(main)


def test_a_silent_peer_cannot_hold_a_tls_listener(aio_run, certs):
    """The TLS handshake has the handshake timeout, both ways."""
    async def main():
        async with Server(ssl=certs.server, timeout=0.5) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert await asyncio.wait_for(reader.read(), 5) == b""     # it hung up
            writer.close()
        accepted: list[asyncio.StreamWriter] = []             # a listener that says nothing
        mute = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
        try:
            port = mute.sockets[0].getsockname()[1]
            with pytest.raises(HandshakeError) as caught:
                await python_dial(port, "mute@localhost", ssl=certs.client, timeout=0.5)
            assert caught.value.reason == "timeout"
        finally:
            mute.close()
            for writer in accepted:
                writer.close()

    aio_run(main)


# -- arguments ------------------------------------------------------------------------------

def test_each_end_needs_a_context_for_its_side(aio_run, certs):
    async def main():
        with pytest.raises(ValueError, match="ssl: a server context .* cannot dial"):
            await dial("a@localhost", 1, "b@localhost", HOST, 1, COOKIE, ssl=certs.server)
        with pytest.raises(ValueError, match="ssl: a client context .* cannot accept"):
            await start_server("a@localhost", 1, COOKIE, print, ssl=certs.client)
        with pytest.raises(TypeError, match="ssl must be an ssl.SSLContext, not str"):
            await dial("a@localhost", 1, "b@localhost", HOST, 1, COOKIE, ssl="yes")
        with pytest.raises(TypeError, match="ssl must be an ssl.SSLContext, not bool"):
            await start_server("a@localhost", 1, COOKIE, print, ssl=True)

    aio_run(main)


def test_a_node_takes_a_server_and_client_pair(certs):
    assert tls.split(None) == (None, None)
    assert tls.split((certs.server, certs.client)) == (certs.server, certs.client)
    with pytest.raises(ValueError, match=r"ssl: a node both accepts and dials.*server-only"):
        tls.split(certs.server)
    with pytest.raises(ValueError, match=r"client-only.*\(server_context, client_context\)"):
        tls.split(certs.client)
    with pytest.raises(ValueError, match=r"ssl\[0\]: a client context"):
        tls.split((certs.client, certs.client))
    with pytest.raises(ValueError, match=r"ssl\[1\]: a server context"):
        tls.split((certs.server, certs.server))
    with pytest.raises(TypeError, match=r"ssl\[1\] must be an ssl.SSLContext, not NoneType"):
        tls.split((certs.server, None))
    with pytest.raises(TypeError, match="ssl must be an ssl.SSLContext, a .* pair or None"):
        tls.split([certs.server, certs.client])
    with pytest.raises(TypeError, match="check_hostname must be a bool"):
        tls.contexts(certs.cert, certs.key, cafile=certs.ca, check_hostname="no")
    with pytest.raises(FileNotFoundError):
        tls.contexts(certs.cert.with_name("missing.pem"), cafile=certs.ca)


def test_contexts_make_mutual_authentication_with_the_cluster_ca_only(certs):
    server, client = certs.server, certs.client
    assert (server.protocol, client.protocol) == (ssl.PROTOCOL_TLS_SERVER,
                                                  ssl.PROTOCOL_TLS_CLIENT)
    assert server.verify_mode == client.verify_mode == ssl.CERT_REQUIRED
    assert client.check_hostname
    assert len(server.get_ca_certs()) == len(client.get_ca_certs()) == 1   # no system CAs


def test_a_node_refuses_a_bad_ssl_option_before_starting(aio_run, certs):
    async def main():
        with pytest.raises(ValueError, match="ssl: a node both accepts and dials"):
            await DistNode.start(f"py@{HOST}", COOKIE, epmd_port=1, ssl=certs.server)

    aio_run(main)


# -- the warning for plain listeners beyond loopback ----------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST",
                                  "localhost.", "::ffff:127.0.0.1", ["127.0.0.1", "::1"]])
def test_a_loopback_listener_is_not_warned_about(caplog, host):
    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        assert tls.warn_if_unencrypted(host, None) is False
    assert caplog.records == []


@pytest.mark.parametrize(("host", "named"), [
    ("0.0.0.0", "0.0.0.0"), ("::", "::"), ("192.168.1.10", "192.168.1.10"),
    ("example.com", "example.com"), (None, "every interface"), ("", "every interface"),
    (["127.0.0.1", "10.0.0.1"], "10.0.0.1"),
])
def test_a_plain_listener_beyond_loopback_is_warned_about(caplog, host, named):
    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        assert tls.warn_if_unencrypted(host, None) is True
    [record] = caplog.records
    assert (record.name, record.levelno) == ("actors.dist", logging.WARNING)
    assert named in record.getMessage() and "unencrypted" in record.getMessage()
    assert "127.0.0.1," not in record.getMessage()          # only the exposed hosts


def test_a_tls_listener_is_not_warned_about(caplog, certs):
    with caplog.at_level(logging.WARNING, logger="actors.dist"):
        assert tls.warn_if_unencrypted("0.0.0.0", (certs.server, certs.client)) is False
    assert caplog.records == []


# -- with real erl nodes --------------------------------------------------------------------

@pytest.fixture
def erl(epmd):
    """``erl(optfile=None, cookie=COOKIE)`` starts a hidden erl node,
    ``-sname x@localhost``, speaking TLS with ``optfile``; all are stopped
    (by pid) when the test ends."""
    nodes: list[ErlNode] = []

    def start(optfile: Path | None = None, cookie: str = COOKIE) -> ErlNode:
        node = ErlNode(f"e{next(_names)}x{epmd.port}@{HOST}", cookie=cookie, epmd=epmd,
                       tls=optfile)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


async def erl_port(epmd: Epmd, node: ErlNode) -> int:
    info = await port_please(node.name.split("@")[0], "127.0.0.1", epmd.port)
    assert info is not None, f"epmd does not know {node.name}"
    return info.port


async def registered(epmd: Epmd, server: Server) -> Registration:
    return await register(server.name.split("@")[0], server.port, hidden=True,
                          host="127.0.0.1", epmd_port=epmd.port)


async def hidden_nodes(node: ErlNode) -> list[str]:
    """erl's ``nodes(hidden)``, as names."""
    return ast.literal_eval(await node.aeval("[atom_to_list(N) || N <- nodes(hidden)]"))


async def echo(node: ErlNode, conn, text: str) -> None:
    """Send ``{Me, text}`` over ``conn`` to erl's registered ``echo`` process
    (a REG_SEND) and check that ``{echo, text}`` comes back to ``Me``."""
    assert await node.aeval("register(echo, spawn(fun L() -> receive {F, M} -> "
                            "F ! {echo, M}, L() end end))") == "true"
    me = ExternalPid(conn.local_name, 1, 0, 7)
    conn.send(b"p" + encode((6, me, Atom(""), Atom("echo"))) + encode((me, text)))
    control, message = parse_packet(await asyncio.wait_for(conn.recv(), 10))
    assert control[0] in (2, 22) and control[-1] == me           # SEND / SEND_SENDER to us
    assert message == (Atom("echo"), text)


def test_we_dial_a_tls_erl_and_exchange_messages(aio_run, epmd, erl, certs):
    async def main():
        node = erl(certs.optfile)
        conn = await python_dial(await erl_port(epmd, node), node.name, ssl=certs.client)
        assert conn.peer_name == node.name
        assert await hidden_nodes(node) == [conn.local_name]
        await echo(node, conn, "hello over TLS")
        conn.close()
        assert await asyncio.wait_for(conn.wait_closed(), 10) == "closed"
        # erl sees the close on its own schedule: ask it to wait for it
        assert await node.aeval("(fun W(0) -> nodes(hidden); W(N) -> case nodes(hidden) of "
                                "[] -> []; _ -> receive after 20 -> W(N - 1) end end end)(250)") == "[]"

    aio_run(main)


def test_erl_dials_a_python_tls_listener(aio_run, epmd, erl, certs):
    async def main():
        async with Server(ssl=certs.server) as server:
            registration = await registered(epmd, server)
            node = erl(certs.optfile)
            assert await node.aeval(f"net_kernel:connect_node('{server.name}')") == "true"
            conn = await server.connection()
            assert conn.peer_name == node.name
            assert await hidden_nodes(node) == [server.name]
            await echo(node, conn, "and back")
            await registration.close()
            assert await node.aeval(f"erlang:disconnect_node('{server.name}')") == "true"
            assert await asyncio.wait_for(conn.wait_closed(), 10) == "connection_closed"

    aio_run(main)


def test_plain_tcp_and_a_tls_erl_fail_fast_both_ways(aio_run, epmd, erl, certs):
    async def main():
        tls_node, plain_node = erl(certs.optfile), erl()
        started = time.monotonic()
        with pytest.raises(HandshakeError, match="speaks TLS") as caught:      # we are plain
            await python_dial(await erl_port(epmd, tls_node), tls_node.name, timeout=10)
        assert caught.value.reason == "tls"
        assert time.monotonic() - started < 5                  # not the 10 s timeout
        # erl is plain: it reads our ClientHello as the 2-byte length 0x1603 and
        # waits for that many bytes until its net_setuptime (7 s); our
        # handshake timeout ends it first
        started = time.monotonic()
        with pytest.raises(HandshakeError) as caught:
            await python_dial(await erl_port(epmd, plain_node), plain_node.name,
                              ssl=certs.client, timeout=2)
        assert caught.value.reason == "timeout"
        assert time.monotonic() - started < 4
        async with Server(ssl=certs.server) as server:                         # erl dials us
            registration = await registered(epmd, server)
            started = time.monotonic()
            assert await plain_node.aeval(f"net_kernel:connect_node('{server.name}')") == \
                "false"
            assert time.monotonic() - started < 5
            assert server.connections.empty()
            await registration.close()

    aio_run(main)


def test_a_certificate_not_signed_by_the_ca_is_refused_with_erl(aio_run, epmd, erl, certs,
                                                                rogue):
    async def main():
        good = erl(certs.optfile)
        with pytest.raises(HandshakeError) as caught:               # our rogue cert, erl's CA
            await python_dial(await erl_port(epmd, good), good.name, ssl=rogue.client)
        assert caught.value.reason in ("tls", "closed")
        assert await hidden_nodes(good) == []
        bad = erl(rogue.optfile)
        with pytest.raises(HandshakeError, match="certificate verify failed"):  # erl's rogue cert
            await python_dial(await erl_port(epmd, bad), bad.name, ssl=certs.client)
        async with Server(ssl=certs.server) as server:              # erl's rogue cert dials us
            registration = await registered(epmd, server)
            assert await bad.aeval(f"net_kernel:connect_node('{server.name}')") == "false"
            assert server.connections.empty()
            await registration.close()

    aio_run(main)


def test_tls_nodes_ping_each_other(aio_run, epmd, erl, certs):
    """A DistNode with ``ssl=(server, client)``: erl's net_adm:ping answers
    pong, and so does the Python node's ping of erl; a wrong cookie still
    gets pang inside TLS."""
    async def main():
        cookie = random_cookie()
        node = erl(certs.optfile, cookie=cookie)
        py = await DistNode.start(f"py{next(_names)}@{HOST}", cookie, epmd_port=epmd.port,
                                  ssl=(certs.server, certs.client))
        try:
            assert await node.aeval(f"net_adm:ping('{py.name}')") == "pong"
            assert py.nodes() == [node.name]
            assert await py.ping(node.name) == "pong"
            other = erl(certs.optfile, cookie=random_cookie())
            assert await other.aeval(f"net_adm:ping('{py.name}')") == "pang"
            assert await py.ping(other.name) == "pang"
            assert py.nodes() == [node.name]
        finally:
            conn = py.connection(node.name)
            await py.stop()
            if conn is not None:                 # its TLS close_notify exchange too
                await asyncio.wait_for(conn.wait_closed(), 10)

    aio_run(main)


@pytest.mark.actors
async def test_a_node_started_with_ssl_talks_tls_to_erl(epmd, erl, certs):
    """actors.Node.start(ssl=...): processes on a TLS Python node and a TLS
    erl node message each other, and each side pings the other."""
    import actors

    node = erl(certs.optfile)
    me = f"py{next(_names)}@{HOST}"
    await actors.Node.start(me, cookie=COOKIE, epmd_port=epmd.port, ssl=(certs.server, certs.client))
    try:
        assert await actors.Node.ping(node.name) == "pong"
        assert await node.aeval(f"net_adm:ping('{me}')") == "pong"
        await node.aeval("register(echo, spawn(fun L() -> receive {F, M} -> F ! {echoed, M}, "
                         "L() end end))")
        actors.send(("echo", node.name), (actors.self(), "over tls"))
        assert await actors.receive(timeout=10) == ("echoed", "over tls")
    finally:
        await actors.Node.stop()
