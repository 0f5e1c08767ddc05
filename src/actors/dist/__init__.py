"""The Erlang distribution: an actors runtime as a node of an Erlang cluster.

Work in progress (issue 11); nothing here is part of the public API yet.
The pieces, bottom-up, each usable and tested on its own:

* ``actors.dist.etf``: the External Term Format (``term_to_binary`` /
  ``binary_to_term``), compiled (Cython).
* ``actors.dist.epmd``: the Erlang Port Mapper Daemon protocol: a client
  (``ALIVE2``, ``PORT_PLEASE2``, ``NAMES``) and a compatible server
  (``python -m actors epmd``) for machines without Erlang.
* ``actors.dist.flags`` and ``actors.dist.handshake``: the capability flags,
  the OTP 23+ handshake (``dial``, ``accept``, ``start_server``) and the
  framed, ticking ``Connection`` that carries packets after it.
* ``actors.dist.tls``: the TLS distribution (OTP's ``inet_tls``): server and
  client contexts, and the warning for plain listeners beyond loopback.
* ``actors.dist.cookie``: the cookie file (``~/.erlang.cookie``), read and
  created as ``erl`` does, and the check of a user's cookie.

* ``actors.dist.node``: ``DistNode``, a node on these: epmd registration,
  one connection per peer, the control-message reader, ``net_kernel``'s
  answer to ``net_adm:ping`` and ``ping`` itself, nodedown.

Remote pids, links and monitors in the core, and ``actors.Node``, come next.
"""
