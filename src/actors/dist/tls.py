"""TLS for the distribution, as OTP's ``-proto_dist inet_tls`` speaks it.

Design notes
------------
OTP's TLS distribution (``inet_tls_dist``) is the ordinary distribution
over a TLS connection: a node still registers its port with epmd (epmd is
unchanged, in clear), the dialler opens TCP to that port and starts TLS at
once, and the whole handshake of :mod:`actors.dist.handshake` and every
packet after it travel inside TLS.  The cookie challenge still runs, so a
peer needs both a certificate the other side trusts and the cookie.

A TLS connection has a server end and a client end, and an ``erl`` node
configures them separately: its ``-ssl_dist_optfile`` holds a ``server``
option list (for connections it accepts) and a ``client`` one (for the
connections it dials).  Python's ``ssl`` module says the same with two
contexts: ``ssl.PROTOCOL_TLS_SERVER`` ones only accept, as
``ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)`` makes, and
``ssl.PROTOCOL_TLS_CLIENT`` ones only dial, as
``ssl.create_default_context()`` makes.  So where a node needs both, ``ssl=``
is a ``(server_context, client_context)`` pair; :func:`contexts` builds the
usual pair (both ends present a certificate and check the other's against
the cluster's CA, as OTP's documented set-up with ``verify_peer`` and
``fail_if_no_peer_cert``).  A single context is accepted where it can do
both (the generic, deprecated ``ssl.PROTOCOL_TLS``).

Certificates name hosts: a node ``name@host`` presents one for ``host``, and
each dialler checks it (Python's client contexts by default, ``erl`` with
``verify_peer``).  ``erl`` checks the host of a node name as a DNS name, even
when it is an IP address, so prefer host names (``py@localhost``,
``py@node1.example``) to addresses in the node names of a TLS cluster.  The
TLS version is OTP's choice too: its TLS distribution offers only TLS 1.2
unless its options say ``{versions, ...}``; Python's contexts accept 1.2.

A node that listens beyond loopback without TLS sends its traffic in clear,
and anyone who learns the cookie can run code on it:
:func:`warn_if_unencrypted` says so in the log.

This module imports nothing from ``actors``.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import ssl as ssl_module
from collections.abc import Sequence
from ssl import SSLContext
from typing import cast

__all__ = ["SSLOption", "check_context", "contexts", "is_loopback", "split",
           "warn_if_unencrypted"]

_logger = logging.getLogger("actors.dist")

#: What a node's ``ssl=`` accepts: ``None`` (plain TCP), one context usable
#: both ways, or a ``(server_context, client_context)`` pair.
SSLOption = SSLContext | tuple[SSLContext, SSLContext] | None

_StrPath = str | os.PathLike[str]


def contexts(certfile: _StrPath, keyfile: _StrPath | None = None, *, cafile: _StrPath,
             password: str | bytes | None = None,
             check_hostname: bool = True) -> tuple[SSLContext, SSLContext]:
    """The ``(server_context, client_context)`` pair of a TLS node.

    Both present the node's certificate and accept only peers whose
    certificate the cluster's CA signed (mutual authentication: OTP's
    ``verify_peer`` on both sides and ``fail_if_no_peer_cert``).  Only
    ``cafile`` is trusted, not the system's CAs.

    Args:
        certfile: the node's certificate (PEM, with its chain).
        keyfile: its private key, if not in ``certfile``.
        cafile: the CA certificate(s) (PEM) that sign the cluster's nodes.
        password: the key's password, if it is encrypted.
        check_hostname: when dialling, the peer's certificate must name the
            host part of its node name (``name@host``).

    Returns:
        ``(server_context, client_context)``, for ``ssl=``.

    Raises:
        OSError: a file cannot be read.
        ssl.SSLError: a file is not a valid certificate or key.
    """
    if not isinstance(check_hostname, bool):
        raise TypeError(f"check_hostname must be a bool, not {type(check_hostname).__name__}")
    server = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH, cafile=cafile)
    server.verify_mode = ssl_module.CERT_REQUIRED
    server.load_cert_chain(certfile, keyfile, password)
    client = ssl_module.create_default_context(ssl_module.Purpose.SERVER_AUTH, cafile=cafile)
    client.check_hostname = check_hostname
    client.load_cert_chain(certfile, keyfile, password)
    return server, client


def check_context(context: object, *, server_side: bool, what: str = "ssl") -> SSLContext:
    """``context``, checked to be an ``ssl.SSLContext`` usable for that side.

    Raises:
        TypeError: not an ``ssl.SSLContext``.
        ValueError: a client-only context where a server one is needed, or
            the other way round.
    """
    if not isinstance(context, SSLContext):
        raise TypeError(f"{what} must be an ssl.SSLContext, not {type(context).__name__}")
    if server_side and context.protocol == ssl_module.PROTOCOL_TLS_CLIENT:
        raise ValueError(
            f"{what}: a client context (ssl.PROTOCOL_TLS_CLIENT, as "
            f"ssl.create_default_context() makes) cannot accept connections; use a server "
            f"context (ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))")
    if not server_side and context.protocol == ssl_module.PROTOCOL_TLS_SERVER:
        raise ValueError(
            f"{what}: a server context (ssl.PROTOCOL_TLS_SERVER, as "
            f"ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) makes) cannot dial; use a "
            f"client context (ssl.create_default_context(cafile=...))")
    return context


def split(ssl: object, what: str = "ssl") -> tuple[SSLContext | None, SSLContext | None]:
    """A node's ``ssl=`` option as ``(server_context, client_context)``.

    ``None`` gives ``(None, None)`` (plain TCP both ways); a pair is checked
    side by side; a single context must be usable both ways.  A node never
    uses TLS one way only: that would dial in clear what it accepts in TLS.

    Raises:
        TypeError: not ``None``, an ``ssl.SSLContext`` or a pair of them.
        ValueError: a context that cannot serve its side.
    """
    kind = type(ssl).__name__
    if ssl is None:
        return None, None
    if isinstance(ssl, SSLContext):
        if ssl.protocol in (ssl_module.PROTOCOL_TLS_SERVER, ssl_module.PROTOCOL_TLS_CLIENT):
            side = "server" if ssl.protocol == ssl_module.PROTOCOL_TLS_SERVER else "client"
            raise ValueError(
                f"{what}: a node both accepts and dials, and this {side}-only context does "
                f"one of the two; pass a (server_context, client_context) pair, e.g. "
                f"actors.dist.tls.contexts(certfile, keyfile, cafile=...)")
        return ssl, ssl
    pair = cast("tuple[object, ...]", ssl) if isinstance(ssl, tuple) else ()
    if len(pair) == 2:
        return (check_context(pair[0], server_side=True, what=f"{what}[0]"),
                check_context(pair[1], server_side=False, what=f"{what}[1]"))
    raise TypeError(f"{what} must be an ssl.SSLContext, a (server_context, client_context) "
                    f"pair or None, not {kind}")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address: ``localhost``, ``127.0.0.0/8``,
    ``::1`` (or an IPv4-mapped ``::ffff:127.x.y.z``).  ``None`` and ``""``
    (every interface) are not."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False                     # a host name: it may be any interface
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def warn_if_unencrypted(listen_host: str | Sequence[str] | None, ssl: object) -> bool:
    """Log a warning (logger ``actors.dist``) when a node listens beyond
    loopback without TLS; return whether it warned.

    Args:
        listen_host: where the node listens, as for ``asyncio.start_server``
            (a host, a list of hosts, or ``None``/``""`` for every interface).
        ssl: the node's ``ssl=`` option; anything but ``None`` means TLS.
    """
    if ssl is not None:
        return False
    hosts = [listen_host] if listen_host is None or isinstance(listen_host, str) \
        else list(listen_host)
    exposed = [host for host in hosts if not is_loopback(host)]
    if not exposed:
        return False
    where = ", ".join("every interface" if not host else host for host in exposed)
    _logger.warning(
        "dist: listening on %s without TLS: the distribution link is unencrypted; anyone on "
        "the network can read it, and whoever learns the cookie can run code on this node. "
        "Pass ssl= (OTP's inet_tls) or listen on loopback only", where)
    return True
