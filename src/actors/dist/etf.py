"""The External Term Format: ``term_to_binary`` / ``binary_to_term`` for Python.

``encode(term) -> bytes`` and ``decode(data) -> term`` speak the BEAM's
binary term format (the version byte 131 first); ``decode_from(data, offset)
-> (term, end)`` reads one term out of a longer buffer. The codec is compiled
(``actors.dist._etf``): a C switch on the type of each term or the tag of each
encoded term.

The mapping (Python -> Erlang -> Python):

* ``int`` of any size <-> integer; ``float`` <-> float (finite only: NaN and
  the infinities raise ValueError);
* ``True``/``False``/``None`` <-> the atoms ``true``/``false``/``undefined``;
* ``Atom("ok")`` <-> the atom ``ok``. ``Atom`` is a ``str`` subclass, so
  ``"ok" == Atom("ok")``; a plain ``str`` never becomes an atom (BEAM atoms are
  never garbage-collected). At most 255 characters. ``Atom("true")``,
  ``Atom("false")`` and ``Atom("undefined")`` come back as True/False/None;
* ``str`` -> a UTF-8 binary; ``bytes`` -> a binary. A binary decodes to ``str``
  when it is valid UTF-8, else to ``bytes``;
* ``tuple`` <-> tuple; ``list`` <-> proper list (an Erlang string is a list of
  ints, and a list of ints 0..255 travels as ``STRING_EXT``, as the BEAM does);
  ``ImproperList(items, tail)`` <-> ``[I1, I2 | Tail]`` (the ``gen:call`` tag
  ``[alias | Ref]`` round-trips exactly);
* ``dict`` <-> map (pairs in the dict's order). A map key that is, or holds, a
  list or a map decodes to ``FrozenList`` / ``FrozenMap`` (hashable; they encode
  back as the list / map). Keys that Erlang tells apart but Python does not (an
  atom and the binary of its text, ``1`` and ``1.0``, ``true`` and ``1``) make
  decoding that map raise ValueError;
* pids <-> ``ExternalPid``, references <-> ``ExternalRef`` (1 to 5 id words),
  unless a ``Codec``'s hooks map them (``make_pid``/``make_ref`` on decode,
  ``default`` on encode): the node layer maps them to the runtime's
  ``Pid``/``Ref``;
* ``actors.Down(ref, pid, reason)`` <-> ``{'DOWN', Ref, process, Pid, Reason}``
  and ``actors.Exit(pid, reason)`` <-> ``{'EXIT', Pid, Reason}``: decoding
  gives a Down when ``Ref`` is a reference, an Exit when ``Pid`` is a pid (or
  ``undefined``: ``Exit(None, reason)``); other tuples of those shapes stay
  tuples. Their reasons go through ``reason_to_term`` on the way out and
  ``term_to_reason`` on the way in: ``"normal"``, ``"kill"``, ``"killed"``,
  ``"shutdown"``, ``"noproc"``, ``"noconnection"`` and ``("shutdown", x)``
  travel as atoms (the BEAM kills a process on the exit reason
  ``<<"normal">>``, not on ``normal``), an exception as ``{ClassName,
  Message}`` (an atom and a binary);
* from the BEAM, kept opaque and sent back unchanged: funs (``ErlFun``),
  ports (``ExternalPort``), bit strings (``BitString(data, bits)``).

Anything else raises TypeError naming its type (nothing is pickled), unless a
``Codec(default=...)`` maps it. Subclasses of ``int``, ``float``, ``str``,
``bytes``, ``tuple``, ``list`` and ``dict`` (a NamedTuple, an IntEnum) travel as
their base type, after ``default`` has had a chance to map them.

Decoding accepts what the BEAM sends: the old ``ATOM_EXT``/``SMALL_ATOM_EXT``
(Latin-1), ``FLOAT_EXT``, ``PID_EXT``, ``NEW_REFERENCE_EXT``/``REFERENCE_EXT``,
``PORT_EXT``/``NEW_PORT_EXT``/``V4_PORT_EXT``, and compressed terms
(``term_to_binary(T, [compressed])``). Malformed, truncated or hostile input
raises ValueError: lengths are checked against the bytes that remain before
anything is allocated, and a compressed term's claimed size is bounded. Terms
nested deeper than Python's recursion limit (or ``MAX_DEPTH``) raise
RecursionError, encoding and decoding.
"""
from __future__ import annotations

from actors.dist import _etf
from actors.dist._etf import (
    DEFAULT_MAX_INFLATED,
    MAX_ATOM_CHARS,
    MAX_DEPTH,
    MAX_REF_WORDS,
    Atom,
    BitString,
    Codec,
    ErlFun,
    ExternalPid,
    ExternalPort,
    ExternalRef,
    FrozenList,
    FrozenMap,
    ImproperList,
    decode,
    decode_from,
    encode,
    reason_to_term,
    term_to_reason,
)
from actors.lowlevel import Down, Exit

# The compiled codec imports nothing from actors: it learns the runtime's
# message types here, once.
_etf.set_down_exit_types(Down, Exit)

__all__ = [
    "DEFAULT_MAX_INFLATED", "MAX_ATOM_CHARS", "MAX_DEPTH", "MAX_REF_WORDS",
    "Atom", "BitString", "Codec", "ErlFun", "ExternalPid", "ExternalPort", "ExternalRef",
    "FrozenList", "FrozenMap", "ImproperList", "decode", "decode_from", "encode",
    "reason_to_term", "term_to_reason",
]
