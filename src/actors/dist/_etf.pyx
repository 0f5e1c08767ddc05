# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True, embedsignature=True, embedsignature.format=clinic, binding=False
"""The External Term Format (``term_to_binary``/``binary_to_term``), compiled.

The public face is ``actors.dist.etf``, whose docstring teaches the mapping.
Encoding is one C switch on the exact type of each term, writing into a C
buffer on the stack and, once it outgrows it, straight into the bytes object
it returns; decoding is one C switch on the tag byte, with integers (the
common element) read inline and small ones taken from a cache instead of
allocated. Python code runs only for big integers past 64 bits, the hooks
(``default``, ``make_pid``, ``make_ref``), compressed terms (``zlib``), and
atoms not yet in the atom cache.

Hostile input: every length is checked against the bytes that remain before
anything is allocated (an element takes at least one byte, a map pair two), a
compressed term's claimed size is bounded by what deflate can reach from the
bytes given (and by ``max_inflated``), and nesting is bounded by Python's
recursion limit and by ``MAX_DEPTH``. Malformed input raises ``ValueError``.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_CheckExact, _PyBytes_Resize
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.list cimport PyList_New, PyList_SET_ITEM, PyList_GET_ITEM, PyList_GET_SIZE, PyList_Append
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.dict cimport PyDict_Next, PyDict_SetItem, PyDict_Size
from cpython.object cimport PyObject, PyTypeObject, Py_TYPE
from cpython.ref cimport Py_INCREF, Py_DECREF, Py_XDECREF
from cpython.long cimport PyLong_FromLong, PyLong_FromUnsignedLongLong, PyLong_FromLongLong
from libc.string cimport memcpy, memcmp
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.math cimport isfinite

import zlib as _zlib

cdef extern from "Python.h":
    int Py_EnterRecursiveCall(const char* where) except -1
    void Py_LeaveRecursiveCall()
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    object PyUnicode_DecodeLatin1(const char* s, Py_ssize_t size, const char* errors)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    bint PyUnicode_IS_ASCII(object s)
    void* PyUnicode_DATA(object s)
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    int PyFloat_Pack8(double x, char* p, int le) except -1
    double PyFloat_Unpack8(const char* p, int le) except? -1.0
    double PyFloat_AS_DOUBLE(object o)
    double PyFloat_AsDouble(object o) except? -1.0
    object PyFloat_FromDouble(double v)

# -- tags (erts/emulator/beam/external.h) -------------------------------------
DEF VERSION = 131
DEF NEW_FLOAT_EXT = 70
DEF BIT_BINARY_EXT = 77
DEF COMPRESSED = 80
DEF NEW_PID_EXT = 88
DEF NEW_PORT_EXT = 89
DEF NEWER_REFERENCE_EXT = 90
DEF SMALL_INTEGER_EXT = 97
DEF INTEGER_EXT = 98
DEF FLOAT_EXT = 99
DEF ATOM_EXT = 100
DEF REFERENCE_EXT = 101
DEF PORT_EXT = 102
DEF PID_EXT = 103
DEF SMALL_TUPLE_EXT = 104
DEF LARGE_TUPLE_EXT = 105
DEF NIL_EXT = 106
DEF STRING_EXT = 107
DEF LIST_EXT = 108
DEF BINARY_EXT = 109
DEF SMALL_BIG_EXT = 110
DEF LARGE_BIG_EXT = 111
DEF NEW_FUN_EXT = 112
DEF EXPORT_EXT = 113
DEF NEW_REFERENCE_EXT = 114
DEF SMALL_ATOM_EXT = 115
DEF MAP_EXT = 116
DEF ATOM_UTF8_EXT = 118
DEF SMALL_ATOM_UTF8_EXT = 119
DEF V4_PORT_EXT = 120

DEF STACK_BUF = 512
DEF ATOM_SLOTS = 4096        # the decoder's atom cache (a power of two)
DEF C_MAX_REF_WORDS = 5

MAX_ATOM_CHARS = 255
MAX_REF_WORDS = C_MAX_REF_WORDS
MAX_DEPTH = 20000
"""Nesting deeper than this raises RecursionError whatever Python's recursion
limit (the codec recurses in C: this keeps the C stack bounded)."""
DEFAULT_MAX_INFLATED = 256 * 1024 * 1024
"""The largest uncompressed size a compressed term may claim (bytes)."""

cdef Py_ssize_t C_MAX_DEPTH = MAX_DEPTH
cdef uint64_t U32_MAX = 0xFFFFFFFF


# -- the value types ----------------------------------------------------------

class Atom(str):
    """An Erlang atom: ``Atom("ok")`` is ``ok``.

    A ``str`` subclass that compares and hashes like its text, so the pattern
    ``"ok"`` matches the atom ``ok``; but a plain ``str`` always travels as a
    UTF-8 binary, never as an atom (BEAM atoms are never garbage-collected).
    At most 255 characters.
    """
    __slots__ = ()

    def __new__(cls, name: str = "") -> "Atom":
        if not isinstance(name, str):
            raise TypeError(f"Atom(name): name must be a str, not {type(name).__name__}")
        if len(name) > MAX_ATOM_CHARS:
            raise ValueError(f"Atom(name): an atom has at most 255 characters, not {len(name)}")
        return str.__new__(cls, name)

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"

    def __reduce__(self):
        return (Atom, (str(self),))


cdef object _atom_type = Atom


cdef inline object _node(object node, str what):
    if type(node) is _atom_type:
        return node
    if isinstance(node, str):
        return Atom(node)
    raise TypeError(f"{what}: node must be an Atom or a str, not {type(node).__name__}")


cdef inline object _uint(object v, int bits, str what):
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"{what} must be an int, not {type(v).__name__}")
    if v < 0 or v >> bits:
        raise ValueError(f"{what} must be in 0..2**{bits}-1, not {v}")
    return int(v)


cdef class ImproperList:
    """An Erlang improper list ``[a, b | Tail]``: ``ImproperList([a, b], tail)``.

    ``items`` (a tuple, at least one element) and ``tail`` (anything but a
    list). Iterating, ``len`` and indexing see the items. Immutable, equal to
    another ImproperList with equal items and tail, hashable when they are.
    The ``gen:call`` tag ``[alias | Ref]`` decodes to one and re-encodes the
    same.
    """
    cdef readonly tuple items
    cdef readonly object tail

    def __init__(self, items, tail):
        cdef tuple t = tuple(items)
        if not t:
            raise ValueError("ImproperList(items, tail): items must not be empty")
        if isinstance(tail, (list, ImproperList, FrozenList)):
            raise ValueError("ImproperList(items, tail): the tail must not be a list "
                             "(append the lists instead)")
        self.items = t
        self.tail = tail

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __eq__(self, other):
        if type(other) is not ImproperList:
            return NotImplemented
        return self.items == (<ImproperList>other).items and self.tail == (<ImproperList>other).tail

    def __hash__(self):
        return hash((ImproperList, self.items, self.tail))

    def __repr__(self):
        return f"ImproperList({list(self.items)!r}, {self.tail!r})"

    def __reduce__(self):
        return (ImproperList, (self.items, self.tail))


cdef inline ImproperList _improper(tuple items, object tail):
    cdef ImproperList r = ImproperList.__new__(ImproperList)
    r.items = items
    r.tail = tail
    return r


cdef class FrozenList:
    """A list used as a map key (a Python dict key must be hashable).

    Decoding a map whose key is (or holds) a list gives a ``FrozenList`` in
    its place; it encodes back as that list. Equal only to another FrozenList
    with the same items (never to a tuple: ``{1,2}`` and ``[1,2]`` are
    different keys). ``list(fl)`` gives the list.
    """
    cdef readonly tuple items

    def __init__(self, items=()):
        self.items = tuple(items)

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __eq__(self, other):
        if type(other) is not FrozenList:
            return NotImplemented
        return self.items == (<FrozenList>other).items

    def __hash__(self):
        return hash((FrozenList, self.items))

    def __repr__(self):
        return f"FrozenList({list(self.items)!r})"

    def __reduce__(self):
        return (FrozenList, (self.items,))


cdef class FrozenMap:
    """A map used as a map key: ``FrozenMap(pairs)``, hashable.

    Decoding a map whose key is (or holds) a map gives a ``FrozenMap`` in its
    place; it encodes back as that map. ``dict(fm)`` (or ``fm.items()``) gives
    the pairs; equal to another FrozenMap with the same pairs in any order.
    """
    cdef readonly tuple pairs

    def __init__(self, pairs=()):
        if isinstance(pairs, dict):
            pairs = pairs.items()
        self.pairs = tuple((k, v) for k, v in pairs)

    def items(self):
        return self.pairs

    def keys(self):
        return tuple(k for k, _ in self.pairs)

    def __getitem__(self, key):
        for k, v in self.pairs:
            if k == key:
                return v
        raise KeyError(key)

    def __len__(self):
        return len(self.pairs)

    def __iter__(self):
        return iter(self.keys())

    def __eq__(self, other):
        if type(other) is not FrozenMap:
            return NotImplemented
        return frozenset(self.pairs) == frozenset((<FrozenMap>other).pairs)

    def __hash__(self):
        return hash((FrozenMap, frozenset(self.pairs)))

    def __repr__(self):
        return f"FrozenMap({dict(self.pairs)!r})"

    def __reduce__(self):
        return (FrozenMap, (self.pairs,))


cdef class ExternalPid:
    """A pid as it travels: ``ExternalPid(node, id, serial, creation)``.

    The node layer maps these to and from local ``Pid`` objects (the codec's
    ``make_pid`` and ``default`` hooks); the codec itself keeps them as values.
    """
    cdef readonly object node
    cdef readonly object id
    cdef readonly object serial
    cdef readonly object creation

    def __init__(self, node, id, serial, creation):
        self.node = _node(node, "ExternalPid")
        self.id = _uint(id, 32, "ExternalPid id")
        self.serial = _uint(serial, 32, "ExternalPid serial")
        self.creation = _uint(creation, 32, "ExternalPid creation")

    def __eq__(self, other):
        if type(other) is not ExternalPid:
            return NotImplemented
        cdef ExternalPid o = other
        return (self.node == o.node and self.id == o.id and self.serial == o.serial
                and self.creation == o.creation)

    def __hash__(self):
        return hash((ExternalPid, self.node, self.id, self.serial, self.creation))

    def __repr__(self):
        return f"ExternalPid({self.node!r}, {self.id}, {self.serial}, {self.creation})"

    def __reduce__(self):
        return (ExternalPid, (str(self.node), self.id, self.serial, self.creation))


cdef class ExternalRef:
    """A reference as it travels: ``ExternalRef(node, creation, ids)``, 1 to 5
    32-bit id words (OTP 24+ sends up to 5)."""
    cdef readonly object node
    cdef readonly object creation
    cdef readonly tuple ids

    def __init__(self, node, creation, ids):
        self.node = _node(node, "ExternalRef")
        self.creation = _uint(creation, 32, "ExternalRef creation")
        cdef tuple t = tuple(_uint(i, 32, "ExternalRef id") for i in ids)
        if not 1 <= len(t) <= MAX_REF_WORDS:
            raise ValueError(f"ExternalRef: ids must hold 1 to {MAX_REF_WORDS} words, not {len(t)}")
        self.ids = t

    def __eq__(self, other):
        if type(other) is not ExternalRef:
            return NotImplemented
        cdef ExternalRef o = other
        return self.node == o.node and self.creation == o.creation and self.ids == o.ids

    def __hash__(self):
        return hash((ExternalRef, self.node, self.creation, self.ids))

    def __repr__(self):
        return f"ExternalRef({self.node!r}, {self.creation}, {self.ids!r})"

    def __reduce__(self):
        return (ExternalRef, (str(self.node), self.creation, self.ids))


cdef class ExternalPort:
    """A port from the BEAM, opaque: ``ExternalPort(node, id, creation)``; it
    can be sent back unchanged (a 64-bit id travels as ``V4_PORT_EXT``)."""
    cdef readonly object node
    cdef readonly object id
    cdef readonly object creation

    def __init__(self, node, id, creation):
        self.node = _node(node, "ExternalPort")
        self.id = _uint(id, 64, "ExternalPort id")
        self.creation = _uint(creation, 32, "ExternalPort creation")

    def __eq__(self, other):
        if type(other) is not ExternalPort:
            return NotImplemented
        cdef ExternalPort o = other
        return self.node == o.node and self.id == o.id and self.creation == o.creation

    def __hash__(self):
        return hash((ExternalPort, self.node, self.id, self.creation))

    def __repr__(self):
        return f"ExternalPort({self.node!r}, {self.id}, {self.creation})"

    def __reduce__(self):
        return (ExternalPort, (str(self.node), self.id, self.creation))


cdef class ErlFun:
    """A fun from the BEAM, opaque: its encoding (``NEW_FUN_EXT`` or
    ``EXPORT_EXT``, tag included) in ``data``, re-encoded byte for byte."""
    cdef readonly bytes data

    def __init__(self, data):
        cdef bytes b = bytes(data)
        if not b or b[0] not in (NEW_FUN_EXT, EXPORT_EXT):
            raise ValueError("ErlFun(data): data must be a NEW_FUN_EXT or EXPORT_EXT encoding")
        self.data = b

    def __eq__(self, other):
        if type(other) is not ErlFun:
            return NotImplemented
        return self.data == (<ErlFun>other).data

    def __hash__(self):
        return hash((ErlFun, self.data))

    def __repr__(self):
        return f"ErlFun(<{len(self.data)} bytes>)"

    def __reduce__(self):
        return (ErlFun, (self.data,))


cdef class BitString:
    """A bit string from the BEAM (a binary whose length is not a whole number
    of bytes): ``BitString(data, bits)``, ``bits`` (1 to 8) of the last byte
    are used."""
    cdef readonly bytes data
    cdef readonly int bits

    def __init__(self, data, int bits):
        cdef bytes b = bytes(data)
        if not b:
            raise ValueError("BitString(data, bits): data must not be empty")
        if not 1 <= bits <= 8:
            raise ValueError(f"BitString(data, bits): bits must be 1..8, not {bits}")
        self.data = b
        self.bits = bits

    def __eq__(self, other):
        if type(other) is not BitString:
            return NotImplemented
        return self.data == (<BitString>other).data and self.bits == (<BitString>other).bits

    def __hash__(self):
        return hash((BitString, self.data, self.bits))

    def __repr__(self):
        return f"BitString({self.data!r}, {self.bits})"

    def __reduce__(self):
        return (BitString, (self.data, self.bits))


# -- exit reasons, Down and Exit -------------------------------------------------

# The exit reasons that are atoms on the BEAM (a process that receives the exit
# signal <<"normal">> dies; one that receives normal does not).
cdef dict _REASON_ATOMS = {name: Atom(name) for name in
                           ("normal", "kill", "killed", "shutdown", "noproc", "noconnection")}
cdef dict _REASON_STRS = {name: name for name in _REASON_ATOMS}
cdef object _A_SHUTDOWN = _REASON_ATOMS["shutdown"]
cdef object _tuple_new = tuple.__new__
cdef object _down_type = None
cdef object _exit_type = None


def reason_to_term(reason):
    """The term an exit reason travels as (in ``Down``/``Exit`` messages and
    exit signals): ``"normal"``, ``"kill"``, ``"killed"``, ``"shutdown"``,
    ``"noproc"``, ``"noconnection"`` -> that atom; ``("shutdown", x)`` ->
    ``(Atom("shutdown"), x)``; an exception -> ``(Atom(ClassName),
    str(exc))`` (an atom and a binary); anything else unchanged."""
    return _reason_to_term(reason)


def term_to_reason(term):
    """The inverse of ``reason_to_term`` where there is one: the atoms
    ``normal``, ``kill``, ``killed``, ``shutdown``, ``noproc``,
    ``noconnection`` -> that ``str``; ``{shutdown, X}`` -> ``("shutdown",
    X)``; anything else unchanged (an exception's ``{ClassName, Message}``
    stays a tuple). Decoded ``Down``/``Exit`` messages carry reasons mapped
    so."""
    return _term_to_reason(term)


cdef object _reason_to_term(object reason):
    cdef type t = type(reason)
    cdef object name, text
    if t is str:
        return _REASON_ATOMS.get(reason, reason)
    if (t is tuple and PyTuple_GET_SIZE(reason) == 2
            and type(<object>PyTuple_GET_ITEM(reason, 0)) is str
            and <object>PyTuple_GET_ITEM(reason, 0) == "shutdown"):
        return (_A_SHUTDOWN, <object>PyTuple_GET_ITEM(reason, 1))
    if isinstance(reason, BaseException):
        name = t.__name__[:MAX_ATOM_CHARS]
        try:
            text = str(reason)
        except Exception:
            text = "<exception str() failed>"
        return (Atom(name), text)
    return reason


cdef object _term_to_reason(object term):
    if type(term) is _atom_type:
        return _REASON_STRS.get(term, term)
    if (type(term) is tuple and PyTuple_GET_SIZE(term) == 2
            and type(<object>PyTuple_GET_ITEM(term, 0)) is _atom_type
            and <object>PyTuple_GET_ITEM(term, 0) == "shutdown"):
        return ("shutdown", <object>PyTuple_GET_ITEM(term, 1))
    return term


def set_down_exit_types(down, exit):
    """Teach the codec the runtime's ``Down`` and ``Exit`` message types (tuple
    subclasses, ``Down(ref, pid, reason)`` and ``Exit(pid, reason)``), as
    ``actors.dist.etf`` does when it is imported. From then on a ``Down``
    encodes as ``{'DOWN', Ref, process, Pid, Reason}`` and an ``Exit`` as
    ``{'EXIT', Pid, Reason}`` (the reason through ``reason_to_term``), and
    those shapes decode to them (``Ref`` must be a reference; ``Pid`` of an
    EXIT a pid, or ``undefined`` for ``Exit(None, reason)``)."""
    global _down_type, _exit_type
    for name, cls in (("down", down), ("exit", exit)):
        if not (isinstance(cls, type) and issubclass(cls, tuple)):
            raise TypeError(f"set_down_exit_types({name}=...): must be a tuple subclass, not {cls!r}")
    _down_type = down
    _exit_type = exit


# -- the encoder ---------------------------------------------------------------

cdef struct Buf:
    unsigned char* data
    Py_ssize_t len
    Py_ssize_t cap
    Py_ssize_t depth
    PyObject* out       # past the stack: the bytes object being written, else NULL
    unsigned char stack[STACK_BUF]


cdef int _grow(Buf* b, Py_ssize_t need) except -1:
    """Room for ``need`` more bytes. Past the stack the buffer is the bytes
    object that ``_encode`` returns (resized, never copied at the end)."""
    cdef Py_ssize_t cap = b.cap * 2
    cdef object out
    if cap < b.len + need:
        cap = b.len + need
    if b.out == NULL:
        out = PyBytes_FromStringAndSize(NULL, cap)
        memcpy(PyBytes_AS_STRING(out), b.data, b.len)
        Py_INCREF(out)                  # b.out's own reference
        b.out = <PyObject*>out
    else:
        _PyBytes_Resize(&b.out, cap)
    b.data = <unsigned char*>PyBytes_AS_STRING(<object>b.out)
    b.cap = cap
    return 0


cdef inline int _reserve(Buf* b, Py_ssize_t need) except -1:
    if b.len + need > b.cap:
        return _grow(b, need)
    return 0


cdef inline void _u8(Buf* b, unsigned int v) noexcept:
    b.data[b.len] = <unsigned char>v
    b.len += 1


cdef inline void _u16(Buf* b, unsigned int v) noexcept:
    b.data[b.len] = <unsigned char>(v >> 8)
    b.data[b.len + 1] = <unsigned char>v
    b.len += 2


cdef inline void _u32(Buf* b, uint32_t v) noexcept:
    b.data[b.len] = <unsigned char>(v >> 24)
    b.data[b.len + 1] = <unsigned char>(v >> 16)
    b.data[b.len + 2] = <unsigned char>(v >> 8)
    b.data[b.len + 3] = <unsigned char>v
    b.len += 4


cdef inline void _raw(Buf* b, const void* p, Py_ssize_t n) noexcept:
    memcpy(b.data + b.len, p, n)
    b.len += n


cdef inline int _enter(Buf* b) except -1:
    b.depth += 1
    if b.depth > C_MAX_DEPTH:
        b.depth -= 1
        raise RecursionError(f"the term is nested more than {C_MAX_DEPTH} deep")
    if Py_EnterRecursiveCall(" while encoding an Erlang term"):
        b.depth -= 1
        return -1
    return 0


cdef inline void _leave(Buf* b) noexcept:
    b.depth -= 1
    Py_LeaveRecursiveCall()


cdef inline const char* _utf8(object s, Py_ssize_t* n) except NULL:
    """The UTF-8 text of ``s`` (ASCII text is its own UTF-8: no call)."""
    if PyUnicode_IS_ASCII(s):
        n[0] = PyUnicode_GET_LENGTH(s)
        return <const char*>PyUnicode_DATA(s)
    return PyUnicode_AsUTF8AndSize(s, n)


cdef int _enc_atom_text(Buf* b, object s) except -1:
    cdef Py_ssize_t n
    cdef const char* p
    if PyUnicode_GET_LENGTH(s) > 255:
        raise ValueError(f"an atom has at most 255 characters, not {PyUnicode_GET_LENGTH(s)}")
    p = _utf8(s, &n)
    _reserve(b, n + 3)
    if n < 256:
        _u8(b, SMALL_ATOM_UTF8_EXT)
        _u8(b, <unsigned int>n)
    else:
        _u8(b, ATOM_UTF8_EXT)
        _u16(b, <unsigned int>n)
    _raw(b, p, n)
    return 0


cdef inline int _enc_literal_atom(Buf* b, const char* text, Py_ssize_t n) except -1:
    _reserve(b, n + 2)
    _u8(b, SMALL_ATOM_UTF8_EXT)
    _u8(b, <unsigned int>n)
    _raw(b, text, n)
    return 0


cdef int _enc_binary(Buf* b, const char* p, Py_ssize_t n) except -1:
    if <uint64_t>n > U32_MAX:
        raise ValueError("a binary of 4 GiB or more cannot be encoded")
    _reserve(b, n + 5)
    _u8(b, BINARY_EXT)
    _u32(b, <uint32_t>n)
    _raw(b, p, n)
    return 0


cdef int _enc_str(Buf* b, object s) except -1:
    cdef Py_ssize_t n
    cdef const char* p = _utf8(s, &n)
    return _enc_binary(b, p, n)


cdef int _enc_big(Buf* b, object o) except -1:
    cdef object mag = -o if o < 0 else o
    cdef Py_ssize_t nbytes = (mag.bit_length() + 7) // 8
    cdef bytes digits = mag.to_bytes(nbytes, "little")
    if <uint64_t>nbytes > U32_MAX:
        raise ValueError("the integer is too big for the External Term Format")
    _reserve(b, nbytes + 6)
    if nbytes < 256:
        _u8(b, SMALL_BIG_EXT)
        _u8(b, <unsigned int>nbytes)
    else:
        _u8(b, LARGE_BIG_EXT)
        _u32(b, <uint32_t>nbytes)
    _u8(b, 1 if o < 0 else 0)
    _raw(b, PyBytes_AS_STRING(digits), nbytes)
    return 0


cdef int _enc_int(Buf* b, object o) except -1:
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(o, &overflow)
    cdef unsigned long long mag
    cdef int n = 0
    cdef unsigned char digits[8]
    if overflow:
        return _enc_big(b, o)
    _reserve(b, 11)
    if 0 <= v <= 255:
        _u8(b, SMALL_INTEGER_EXT)
        _u8(b, <unsigned int>v)
    elif -2147483648 <= v <= 2147483647:
        _u8(b, INTEGER_EXT)
        _u32(b, <uint32_t><int32_t>v)
    else:
        mag = (<unsigned long long>0 - <unsigned long long>v) if v < 0 else <unsigned long long>v
        while mag:
            digits[n] = <unsigned char>(mag & 0xFF)
            mag >>= 8
            n += 1
        _u8(b, SMALL_BIG_EXT)
        _u8(b, n)
        _u8(b, 1 if v < 0 else 0)
        _raw(b, digits, n)
    return 0


cdef int _enc_float(Buf* b, double v) except -1:
    if not isfinite(v):
        raise ValueError(f"Erlang floats are finite: {v!r} cannot be encoded")
    _reserve(b, 9)
    _u8(b, NEW_FLOAT_EXT)
    PyFloat_Pack8(v, <char*>(b.data + b.len), 0)
    b.len += 8
    return 0


cdef int _enc_tuple(Buf* b, tuple t, Codec c) except -1:
    cdef Py_ssize_t i, n = PyTuple_GET_SIZE(t)
    _reserve(b, 5)
    if n < 256:
        _u8(b, SMALL_TUPLE_EXT)
        _u8(b, <unsigned int>n)
    else:
        _u8(b, LARGE_TUPLE_EXT)
        _u32(b, <uint32_t>n)
    if n == 0:
        return 0
    _enter(b)
    try:
        for i in range(n):
            _enc_term(b, <object>PyTuple_GET_ITEM(t, i), c)
    finally:
        _leave(b)
    return 0


cdef int _enc_items(Buf* b, object seq, Py_ssize_t n, Codec c, bint proper) except -1:
    """A non-empty list (``seq`` a list or a tuple of items): STRING_EXT when
    every item is an int 0..255 and there are fewer than 65536 (as
    ``term_to_binary`` does), else LIST_EXT; ``proper``: end with NIL."""
    cdef Py_ssize_t i
    cdef object x
    cdef bint is_list = type(seq) is list
    cdef long long v
    cdef int overflow = 0
    if proper and n < 65536:
        for i in range(n):
            x = <object>(PyList_GET_ITEM(seq, i) if is_list else PyTuple_GET_ITEM(seq, i))
            if type(x) is not int:
                break
            if _small(x) < 0:
                break
        else:
            _reserve(b, n + 3)
            _u8(b, STRING_EXT)
            _u16(b, <unsigned int>n)
            for i in range(n):
                x = <object>(PyList_GET_ITEM(seq, i) if is_list else PyTuple_GET_ITEM(seq, i))
                _u8(b, <unsigned int>_small(x))
            return 0
    _reserve(b, 5)
    _u8(b, LIST_EXT)
    _u32(b, <uint32_t>n)
    _enter(b)
    try:
        for i in range(n):
            if is_list:
                if i >= PyList_GET_SIZE(seq):
                    raise RuntimeError("a list changed size while it was being encoded")
                x = <object>PyList_GET_ITEM(seq, i)
            else:
                x = <object>PyTuple_GET_ITEM(seq, i)
            if type(x) is int:          # the common element, without the dispatch
                v = PyLong_AsLongLongAndOverflow(x, &overflow)
                if not overflow and -2147483648 <= v <= 2147483647:
                    _reserve(b, 5)
                    if 0 <= v <= 255:
                        _u8(b, SMALL_INTEGER_EXT)
                        _u8(b, <unsigned int>v)
                    else:
                        _u8(b, INTEGER_EXT)
                        _u32(b, <uint32_t><int32_t>v)
                    continue
            _enc_term(b, x, c)
    finally:
        _leave(b)
    if is_list and PyList_GET_SIZE(seq) != n:
        raise RuntimeError("a list changed size while it was being encoded")
    if proper:
        _reserve(b, 1)
        _u8(b, NIL_EXT)
    return 0


cdef inline long _small(object x) noexcept:
    """``x`` (an exact int) as a byte 0..255, or -1."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(x, &overflow)
    if overflow or v < 0 or v > 255:
        return -1
    return <long>v


cdef int _enc_map(Buf* b, dict d, Codec c) except -1:
    cdef Py_ssize_t pos = 0, n = PyDict_Size(d), seen = 0
    cdef PyObject* k
    cdef PyObject* v
    _reserve(b, 5)
    _u8(b, MAP_EXT)
    _u32(b, <uint32_t>n)
    if n == 0:
        return 0
    _enter(b)
    try:
        while PyDict_Next(d, &pos, &k, &v):
            key = <object>k
            value = <object>v
            _enc_term(b, key, c)
            _enc_term(b, value, c)
            seen += 1
    finally:
        _leave(b)
    if seen != n or PyDict_Size(d) != n:
        raise RuntimeError("a dict changed size while it was being encoded")
    return 0


cdef int _enc_node_atom(Buf* b, object node) except -1:
    return _enc_atom_text(b, node)


cdef int _enc_term(Buf* b, object o, Codec c) except -1:
    cdef PyTypeObject* t = Py_TYPE(o)      # borrowed: compared, never kept
    cdef Py_ssize_t n
    cdef const char* p
    if t == <PyTypeObject*>tuple:
        return _enc_tuple(b, <tuple>o, c)
    if t == <PyTypeObject*>int:
        return _enc_int(b, o)
    if t == <PyTypeObject*>str:
        return _enc_str(b, o)
    if t == <PyTypeObject*>_atom_type:
        return _enc_atom_text(b, o)
    if t == <PyTypeObject*>list:
        n = PyList_GET_SIZE(o)
        if n == 0:
            _reserve(b, 1)
            _u8(b, NIL_EXT)
            return 0
        return _enc_items(b, o, n, c, True)
    if t == <PyTypeObject*>dict:
        return _enc_map(b, <dict>o, c)
    if t == <PyTypeObject*>bytes:
        return _enc_binary(b, PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o))
    if t == <PyTypeObject*>float:
        return _enc_float(b, PyFloat_AS_DOUBLE(o))
    if o is True:
        return _enc_literal_atom(b, "true", 4)
    if o is False:
        return _enc_literal_atom(b, "false", 5)
    if o is None:
        return _enc_literal_atom(b, "undefined", 9)
    if t == <PyTypeObject*>ImproperList:
        return _enc_improper(b, <ImproperList>o, c)
    if t == <PyTypeObject*>ExternalPid:
        return _enc_pid(b, <ExternalPid>o)
    if t == <PyTypeObject*>ExternalRef:
        return _enc_ref(b, <ExternalRef>o)
    if t == <PyTypeObject*>ExternalPort:
        return _enc_port(b, <ExternalPort>o)
    if t == <PyTypeObject*>ErlFun:
        n = PyBytes_GET_SIZE((<ErlFun>o).data)
        _reserve(b, n)
        _raw(b, PyBytes_AS_STRING((<ErlFun>o).data), n)
        return 0
    if t == <PyTypeObject*>BitString:
        return _enc_bits(b, <BitString>o)
    if t == <PyTypeObject*>FrozenList:
        n = PyTuple_GET_SIZE((<FrozenList>o).items)
        if n == 0:
            _reserve(b, 1)
            _u8(b, NIL_EXT)
            return 0
        return _enc_items(b, (<FrozenList>o).items, n, c, True)
    if t == <PyTypeObject*>FrozenMap:
        return _enc_map(b, dict((<FrozenMap>o).pairs), c)
    return _enc_other(b, o, c)


cdef int _enc_improper(Buf* b, ImproperList o, Codec c) except -1:
    _enc_items(b, o.items, PyTuple_GET_SIZE(o.items), c, False)
    _enter(b)
    try:
        _enc_term(b, o.tail, c)
    finally:
        _leave(b)
    return 0


cdef int _enc_pid(Buf* b, ExternalPid o) except -1:
    _reserve(b, 1)
    _u8(b, NEW_PID_EXT)
    _enc_node_atom(b, o.node)
    _reserve(b, 12)
    _u32(b, <uint32_t>o.id)
    _u32(b, <uint32_t>o.serial)
    _u32(b, <uint32_t>o.creation)
    return 0


cdef int _enc_ref(Buf* b, ExternalRef o) except -1:
    cdef Py_ssize_t i, n = PyTuple_GET_SIZE(o.ids)
    _reserve(b, 3)
    _u8(b, NEWER_REFERENCE_EXT)
    _u16(b, <unsigned int>n)
    _enc_node_atom(b, o.node)
    _reserve(b, 4 + 4 * n)
    _u32(b, <uint32_t>o.creation)
    for i in range(n):
        _u32(b, <uint32_t><object>PyTuple_GET_ITEM(o.ids, i))
    return 0


cdef int _enc_port(Buf* b, ExternalPort o) except -1:
    cdef uint64_t pid = <uint64_t>o.id
    _reserve(b, 1)
    if pid > U32_MAX:
        _u8(b, V4_PORT_EXT)
        _enc_node_atom(b, o.node)
        _reserve(b, 12)
        _u32(b, <uint32_t>(pid >> 32))
        _u32(b, <uint32_t>pid)
    else:
        _u8(b, NEW_PORT_EXT)
        _enc_node_atom(b, o.node)
        _reserve(b, 8)
        _u32(b, <uint32_t>pid)
    _u32(b, <uint32_t>o.creation)
    return 0


cdef int _enc_bits(Buf* b, BitString o) except -1:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(o.data)
    _reserve(b, n + 6)
    _u8(b, BIT_BINARY_EXT)
    _u32(b, <uint32_t>n)
    _u8(b, <unsigned int>o.bits)
    _raw(b, PyBytes_AS_STRING(o.data), n)
    return 0


cdef int _enc_other(Buf* b, object o, Codec c) except -1:
    """Anything but the exact types: ``Down`` and ``Exit`` (once registered),
    then the ``default`` hook, then subclasses of the built-in types as their
    base type."""
    cdef object r
    cdef type t = type(o)
    if t is _down_type or t is _exit_type:
        return _enc_down_exit(b, <tuple>o, c, t is _down_type)
    if c is not None and c.default is not None:
        _enter(b)
        try:
            r = c.default(o)
            if r is not NotImplemented:
                return _enc_term(b, r, c)
        finally:
            _leave(b)
    if isinstance(o, _atom_type):
        return _enc_atom_text(b, o)
    if isinstance(o, int):         # bool is final and exact: never here
        return _enc_int(b, o)
    if isinstance(o, float):
        return _enc_float(b, PyFloat_AsDouble(o))
    if isinstance(o, str):
        return _enc_str(b, o)
    if isinstance(o, (bytes, bytearray, memoryview)):
        data = bytes(o)
        return _enc_binary(b, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    if isinstance(o, tuple):
        return _enc_tuple(b, tuple(o), c)
    if isinstance(o, list):
        return _enc_term(b, list(o), c)
    if isinstance(o, dict):
        return _enc_map(b, dict(o), c)
    raise TypeError(f"cannot encode a {type(o).__qualname__} as an Erlang term "
                    f"(value: {_short_repr(o)})")


cdef int _enc_down_exit(Buf* b, tuple o, Codec c, bint down) except -1:
    """``Down(ref, pid, reason)`` as ``{'DOWN', Ref, process, Pid, Reason}``,
    ``Exit(pid, reason)`` as ``{'EXIT', Pid, Reason}``."""
    cdef Py_ssize_t n = PyTuple_GET_SIZE(o)
    if n != (3 if down else 2):
        raise ValueError(f"a {type(o).__name__} has {3 if down else 2} fields, not {n}")
    _reserve(b, 2)
    _u8(b, SMALL_TUPLE_EXT)
    _u8(b, 5 if down else 3)
    _enter(b)
    try:
        if down:
            _enc_literal_atom(b, "DOWN", 4)
            _enc_term(b, <object>PyTuple_GET_ITEM(o, 0), c)
            _enc_literal_atom(b, "process", 7)
        else:
            _enc_literal_atom(b, "EXIT", 4)
        _enc_term(b, <object>PyTuple_GET_ITEM(o, n - 2), c)
        _enc_term(b, _reason_to_term(<object>PyTuple_GET_ITEM(o, n - 1)), c)
    finally:
        _leave(b)
    return 0


cdef str _short_repr(object o):
    try:
        r = repr(o)
    except Exception:
        return "<unrepresentable>"
    return r if len(r) <= 80 else r[:77] + "..."


cdef bytes _encode(object term, Codec c, int compressed):
    cdef Buf b
    cdef object out
    b.data = b.stack
    b.cap = STACK_BUF
    b.len = 1
    b.depth = 0
    b.out = NULL
    b.data[0] = VERSION
    try:
        _enc_term(&b, term, c)
        if compressed:
            return _compress(b.data, b.len, compressed)
        if b.out == NULL:
            return PyBytes_FromStringAndSize(<char*>b.data, b.len)
        _PyBytes_Resize(&b.out, b.len)
        out = <object>b.out
        Py_DECREF(out)                     # hand over the reference b.out held
        b.out = NULL
        return out
    finally:
        Py_XDECREF(b.out)


cdef bytes _compress(const unsigned char* data, Py_ssize_t n, int level):
    """``term_to_binary(T, [{compressed, Level}])``: the compressed form only
    when it is smaller."""
    cdef bytes body = PyBytes_FromStringAndSize(<const char*>data + 1, n - 1)
    cdef bytes z = _zlib.compress(body, level)
    if 6 + PyBytes_GET_SIZE(z) >= n or <uint64_t>(n - 1) > U32_MAX:
        return PyBytes_FromStringAndSize(<const char*>data, n)
    return bytes((VERSION, COMPRESSED)) + (n - 1).to_bytes(4, "big") + z


# -- the decoder ---------------------------------------------------------------

cdef struct Dec:
    const unsigned char* p
    Py_ssize_t n
    Py_ssize_t i
    Py_ssize_t depth


cdef object _truncated(Dec* d):
    raise ValueError(f"truncated External Term Format data (at byte {d.i} of {d.n})")


cdef inline int _need(Dec* d, Py_ssize_t k) except -1:
    if k > d.n - d.i:
        _truncated(d)
    return 0


cdef inline unsigned int _r8(Dec* d) noexcept:
    cdef unsigned int v = d.p[d.i]
    d.i += 1
    return v


cdef inline unsigned int _r16(Dec* d) noexcept:
    cdef unsigned int v = (<unsigned int>d.p[d.i] << 8) | d.p[d.i + 1]
    d.i += 2
    return v


cdef inline uint32_t _r32(Dec* d) noexcept:
    cdef uint32_t v = ((<uint32_t>d.p[d.i] << 24) | (<uint32_t>d.p[d.i + 1] << 16)
                       | (<uint32_t>d.p[d.i + 2] << 8) | d.p[d.i + 3])
    d.i += 4
    return v


cdef inline int _denter(Dec* d) except -1:
    d.depth += 1
    if d.depth > C_MAX_DEPTH:
        d.depth -= 1
        raise RecursionError(f"the term is nested more than {C_MAX_DEPTH} deep")
    if Py_EnterRecursiveCall(" while decoding an Erlang term"):
        d.depth -= 1
        return -1
    return 0


cdef inline void _dleave(Dec* d) noexcept:
    d.depth -= 1
    Py_LeaveRecursiveCall()


cdef bint _utf8_valid(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Strict UTF-8 (as Python decodes it: no overlongs, no surrogates, nothing
    past U+10FFFF)."""
    cdef Py_ssize_t i = 0
    cdef uint64_t w
    cdef unsigned char c, c1
    while i < n:
        if i + 8 <= n:
            memcpy(&w, s + i, 8)
            if (w & <uint64_t>0x8080808080808080) == 0:
                i += 8
                continue
        c = s[i]
        if c < 0x80:
            i += 1
        elif c < 0xC2:
            return False
        elif c < 0xE0:
            if i + 1 >= n or (s[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
        elif c < 0xF0:
            if i + 2 >= n:
                return False
            c1 = s[i + 1]
            if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80:
                return False
            if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 >= 0xA0):
                return False
            i += 3
        elif c < 0xF5:
            if i + 3 >= n:
                return False
            c1 = s[i + 1]
            if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80 or (s[i + 3] & 0xC0) != 0x80:
                return False
            if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 >= 0x90):
                return False
            i += 4
        else:
            return False
    return True


# The int cache: the ints from INT_CACHE_MIN to INT_CACHE_MAX, each made on
# first use and kept, so that the ints most terms carry (counters, indexes,
# lengths, small codes) decode without allocating.
DEF INT_CACHE_MIN = -256
DEF INT_CACHE_MAX = 4095
cdef PyObject* _int_cache[INT_CACHE_MAX - INT_CACHE_MIN + 1]


cdef object _int_fill(long v):
    cdef object x = PyLong_FromLong(v)
    Py_INCREF(x)
    _int_cache[v - INT_CACHE_MIN] = <PyObject*>x
    return x


cdef inline object _int(long v):
    cdef PyObject* p
    if INT_CACHE_MIN <= v <= INT_CACHE_MAX:
        p = _int_cache[v - INT_CACHE_MIN]
        if p != NULL:
            return <object>p
        return _int_fill(v)
    return PyLong_FromLong(v)


cdef inline object _dec_elem(Dec* d, Codec c, bint key):
    """One term, an integer without the call to ``_dec_term`` (the common
    element of lists, tuples and map values)."""
    cdef Py_ssize_t i = d.i
    cdef unsigned int tag
    if i < d.n:
        tag = d.p[i]
        if tag == SMALL_INTEGER_EXT:
            if d.n - i >= 2:
                d.i = i + 2
                return _int(d.p[i + 1])
        elif tag == INTEGER_EXT:
            if d.n - i >= 5:
                d.i = i + 5
                return _int(<int32_t>((<uint32_t>d.p[i + 1] << 24) | (<uint32_t>d.p[i + 2] << 16)
                                      | (<uint32_t>d.p[i + 3] << 8) | d.p[i + 4]))
    return _dec_term(d, c, key)


# The atom cache: a direct-mapped table from an atom's UTF-8 bytes (FNV-1a) to
# its Atom, so that a known atom decodes without allocating.
cdef list _atom_slots = [None] * ATOM_SLOTS


cdef object _make_atom(const unsigned char* s, Py_ssize_t n, bint latin1, bint special):
    cdef uint32_t h = 2166136261u
    cdef Py_ssize_t i, m
    cdef bint ascii = True
    cdef PyObject* cand
    cdef const char* cp
    cdef object text, atom
    if special:
        if n == 4 and memcmp(s, b"true", 4) == 0:
            return True
        if n == 5 and memcmp(s, b"false", 5) == 0:
            return False
        if n == 9 and memcmp(s, b"undefined", 9) == 0:
            return None
    for i in range(n):
        h = (h ^ s[i]) * 16777619u
        if s[i] >= 0x80:
            ascii = False
    if latin1 and not ascii:
        text = PyUnicode_DecodeLatin1(<const char*>s, n, NULL)
        return Atom(text)
    cand = PyList_GET_ITEM(_atom_slots, h & (ATOM_SLOTS - 1))
    if <object>cand is not None:
        cp = _utf8(<object>cand, &m)
        if m == n and memcmp(cp, s, n) == 0:
            return <object>cand
    if not ascii and not _utf8_valid(s, n):
        raise ValueError("an atom is not valid UTF-8")
    text = PyUnicode_DecodeUTF8(<const char*>s, n, NULL)
    if PyUnicode_GET_LENGTH(text) > 255:
        raise ValueError(f"an atom has at most 255 characters, not {PyUnicode_GET_LENGTH(text)}")
    atom = str.__new__(Atom, text)
    _atom_slots[h & (ATOM_SLOTS - 1)] = atom
    return atom


cdef object _dec_atom_body(Dec* d, unsigned int tag, bint special):
    cdef Py_ssize_t n
    if tag == SMALL_ATOM_UTF8_EXT or tag == SMALL_ATOM_EXT:
        _need(d, 1)
        n = _r8(d)
    else:
        _need(d, 2)
        n = _r16(d)
    _need(d, n)
    d.i += n
    return _make_atom(d.p + d.i - n, n, tag == ATOM_EXT or tag == SMALL_ATOM_EXT, special)


cdef object _dec_node(Dec* d):
    cdef unsigned int tag
    _need(d, 1)
    tag = _r8(d)
    if tag not in (ATOM_UTF8_EXT, SMALL_ATOM_UTF8_EXT, ATOM_EXT, SMALL_ATOM_EXT):
        raise ValueError(f"a node name must be an atom, not tag {tag} (at byte {d.i - 1})")
    return _dec_atom_body(d, tag, False)


cdef object _dec_binary(Dec* d, Py_ssize_t n):
    cdef const unsigned char* s = d.p + d.i
    d.i += n
    if _utf8_valid(s, n):
        return PyUnicode_DecodeUTF8(<const char*>s, n, NULL)
    return PyBytes_FromStringAndSize(<const char*>s, n)


cdef object _dec_big(Dec* d, Py_ssize_t n):
    cdef unsigned int sign
    cdef unsigned long long mag = 0
    cdef Py_ssize_t k
    cdef object v
    _need(d, n + 1)
    sign = _r8(d)
    if sign > 1:
        raise ValueError(f"a big integer's sign byte is {sign} (at byte {d.i - 1})")
    if n <= 8:
        for k in range(n - 1, -1, -1):
            mag = (mag << 8) | d.p[d.i + k]
        v = PyLong_FromUnsignedLongLong(mag)
    else:
        v = int.from_bytes(PyBytes_FromStringAndSize(<const char*>(d.p + d.i), n), "little")
    d.i += n
    return -v if sign else v


cdef object _finish_list(list items, bint key):
    return FrozenList(items) if key else items


cdef object _dec_list(Dec* d, Codec c, bint key):
    """After a LIST_EXT tag. Segments chained through the tail (LIST_EXT or
    STRING_EXT tails) are joined in a loop, not by recursion."""
    cdef Py_ssize_t n = 0, k, start
    cdef unsigned int tag
    cdef list items
    cdef object x, tail
    _need(d, 4)
    n = _r32(d)
    if n > d.n - d.i:
        _truncated(d)
    items = PyList_New(n)
    _denter(d)
    try:
        for k in range(n):
            x = _dec_elem(d, c, key)
            Py_INCREF(x)
            PyList_SET_ITEM(items, k, x)
        while True:
            _need(d, 1)
            tag = d.p[d.i]
            if tag == NIL_EXT:
                d.i += 1
                return _finish_list(items, key)
            if tag == LIST_EXT:
                d.i += 1
                _need(d, 4)
                n = _r32(d)
                if n > d.n - d.i:
                    _truncated(d)
                for k in range(n):
                    items.append(_dec_elem(d, c, key))
            elif tag == STRING_EXT:
                d.i += 1
                _need(d, 2)
                n = _r16(d)
                _need(d, n)
                for k in range(n):
                    items.append(_int(d.p[d.i + k]))
                d.i += n
                return _finish_list(items, key)     # a string is a proper list
            else:
                tail = _dec_term(d, c, key)
                if not items:
                    return tail
                return _improper(tuple(items), tail)
    finally:
        _dleave(d)


cdef object _dec_map(Dec* d, Codec c, bint key):
    cdef Py_ssize_t n, k
    cdef dict out
    cdef list pairs
    cdef object kk, vv
    _need(d, 4)
    n = _r32(d)
    if n > (d.n - d.i) // 2:
        _truncated(d)
    _denter(d)
    try:
        if key:
            pairs = []
            for k in range(n):
                kk = _dec_term(d, c, True)
                vv = _dec_term(d, c, True)
                pairs.append((kk, vv))
            return FrozenMap(pairs)
        out = {}
        for k in range(n):
            kk = _dec_term(d, c, True)
            vv = _dec_elem(d, c, False)
            PyDict_SetItem(out, kk, vv)
            if PyDict_Size(out) != k + 1:
                raise ValueError(f"a map has two keys that are equal in Python ({kk!r}): "
                                 "an atom and the binary of its text, 1 and 1.0, or true and 1")
        return out
    finally:
        _dleave(d)


cdef object _dec_tuple(Dec* d, Codec c, bint key, Py_ssize_t n):
    cdef Py_ssize_t k
    cdef tuple t
    cdef object x
    cdef unsigned int tag1 = 0      # the tag of the second element
    if n > d.n - d.i:
        _truncated(d)
    t = PyTuple_New(n)
    if n == 0:
        return t
    _denter(d)
    try:
        for k in range(n):
            if k == 1:
                tag1 = d.p[d.i] if d.i < d.n else 0
            x = _dec_elem(d, c, key)
            Py_INCREF(x)
            PyTuple_SET_ITEM(t, k, x)
    finally:
        _dleave(d)
    if _down_type is not None:
        if n == 5 and (tag1 == NEWER_REFERENCE_EXT or tag1 == NEW_REFERENCE_EXT
                       or tag1 == REFERENCE_EXT):
            return _as_down(t)
        if n == 3 and (tag1 == NEW_PID_EXT or tag1 == PID_EXT
                       or <object>PyTuple_GET_ITEM(t, 1) is None):
            return _as_exit(t)
    return t


cdef object _as_down(tuple t):
    """``{'DOWN', Ref, process, Pid, Reason}`` (Ref a reference) as a Down."""
    cdef object head = <object>PyTuple_GET_ITEM(t, 0)
    cdef object kind = <object>PyTuple_GET_ITEM(t, 2)
    if (type(head) is _atom_type and head == "DOWN"
            and type(kind) is _atom_type and kind == "process"):
        return _tuple_new(_down_type, (<object>PyTuple_GET_ITEM(t, 1), <object>PyTuple_GET_ITEM(t, 3),
                                       _term_to_reason(<object>PyTuple_GET_ITEM(t, 4))))
    return t


cdef object _as_exit(tuple t):
    """``{'EXIT', Pid, Reason}`` (Pid a pid or undefined) as an Exit."""
    cdef object head = <object>PyTuple_GET_ITEM(t, 0)
    if type(head) is _atom_type and head == "EXIT":
        return _tuple_new(_exit_type, (<object>PyTuple_GET_ITEM(t, 1),
                                       _term_to_reason(<object>PyTuple_GET_ITEM(t, 2))))
    return t


cdef object _dec_pid(Dec* d, Codec c, bint new):
    cdef ExternalPid p = ExternalPid.__new__(ExternalPid)
    p.node = _dec_node(d)
    _need(d, 12 if new else 9)
    p.id = _r32(d)
    p.serial = _r32(d)
    p.creation = _r32(d) if new else _r8(d)
    if c is not None and c.make_pid is not None:
        return c.make_pid(p)
    return p


cdef object _dec_ref(Dec* d, Codec c, unsigned int tag):
    cdef ExternalRef r = ExternalRef.__new__(ExternalRef)
    cdef Py_ssize_t n = 1, k
    cdef tuple ids
    if tag != REFERENCE_EXT:
        _need(d, 2)
        n = _r16(d)
        if n < 1 or n > C_MAX_REF_WORDS:
            raise ValueError(f"a reference has 1 to {C_MAX_REF_WORDS} id words, not {n}")
    r.node = _dec_node(d)
    if tag == REFERENCE_EXT:
        _need(d, 5)
        ids = (_r32(d),)
        r.creation = _r8(d)
    else:
        _need(d, (4 if tag == NEWER_REFERENCE_EXT else 1) + 4 * n)
        r.creation = _r32(d) if tag == NEWER_REFERENCE_EXT else _r8(d)
        ids = PyTuple_New(n)
        for k in range(n):
            x = PyLong_FromUnsignedLongLong(_r32(d))
            Py_INCREF(x)
            PyTuple_SET_ITEM(ids, k, x)
    r.ids = ids
    if c is not None and c.make_ref is not None:
        return c.make_ref(r)
    return r


cdef object _dec_port(Dec* d, unsigned int tag):
    cdef ExternalPort p = ExternalPort.__new__(ExternalPort)
    cdef uint64_t hi
    p.node = _dec_node(d)
    if tag == V4_PORT_EXT:
        _need(d, 12)
        hi = _r32(d)
        p.id = PyLong_FromUnsignedLongLong((hi << 32) | _r32(d))
        p.creation = _r32(d)
    elif tag == NEW_PORT_EXT:
        _need(d, 8)
        p.id = _r32(d)
        p.creation = _r32(d)
    else:
        _need(d, 5)
        p.id = _r32(d)
        p.creation = _r8(d)
    return p


cdef object _dec_fun(Dec* d, Codec c, unsigned int tag):
    cdef Py_ssize_t start = d.i - 1
    cdef Py_ssize_t size
    cdef ErlFun f = ErlFun.__new__(ErlFun)
    cdef object m, fn, arity
    if tag == NEW_FUN_EXT:
        _need(d, 4)
        size = _r32(d)
        # Size counts itself; the smallest NEW_FUN_EXT body is far larger than 4.
        if size < 4 + 1 + 16 + 4 + 4:
            raise ValueError(f"a NEW_FUN_EXT of size {size} (at byte {start})")
        _need(d, size - 4)
        d.i += size - 4
    else:
        m = _dec_node(d)
        fn = _dec_node(d)
        _need(d, 2)
        if _r8(d) != SMALL_INTEGER_EXT:
            raise ValueError(f"an EXPORT_EXT's arity is not a small integer (at byte {d.i - 1})")
        d.i += 1
    f.data = PyBytes_FromStringAndSize(<const char*>(d.p + start), d.i - start)
    return f


cdef object _dec_term(Dec* d, Codec c, bint key):
    cdef unsigned int tag
    cdef Py_ssize_t n
    cdef int32_t iv
    cdef Py_ssize_t k
    cdef BitString bs
    if d.i >= d.n:
        _truncated(d)
    tag = d.p[d.i]
    d.i += 1
    if tag == SMALL_INTEGER_EXT:
        _need(d, 1)
        return _int(_r8(d))
    if tag == INTEGER_EXT:
        _need(d, 4)
        iv = <int32_t>_r32(d)
        return _int(iv)
    if tag == SMALL_ATOM_UTF8_EXT or tag == ATOM_UTF8_EXT or tag == ATOM_EXT or tag == SMALL_ATOM_EXT:
        return _dec_atom_body(d, tag, True)
    if tag == BINARY_EXT:
        _need(d, 4)
        n = _r32(d)
        _need(d, n)
        return _dec_binary(d, n)
    if tag == SMALL_TUPLE_EXT:
        _need(d, 1)
        return _dec_tuple(d, c, key, _r8(d))
    if tag == LARGE_TUPLE_EXT:
        _need(d, 4)
        return _dec_tuple(d, c, key, _r32(d))
    if tag == NIL_EXT:
        return FrozenList() if key else []
    if tag == LIST_EXT:
        return _dec_list(d, c, key)
    if tag == STRING_EXT:
        _need(d, 2)
        n = _r16(d)
        _need(d, n)
        items = PyList_New(n)
        for k in range(n):
            x = _int(d.p[d.i + k])
            Py_INCREF(x)
            PyList_SET_ITEM(items, k, x)
        d.i += n
        return _finish_list(items, key)
    if tag == MAP_EXT:
        return _dec_map(d, c, key)
    if tag == NEW_FLOAT_EXT:
        _need(d, 8)
        d.i += 8
        return PyFloat_FromDouble(PyFloat_Unpack8(<const char*>(d.p + d.i - 8), 0))
    if tag == SMALL_BIG_EXT:
        _need(d, 1)
        return _dec_big(d, _r8(d))
    if tag == LARGE_BIG_EXT:
        _need(d, 4)
        return _dec_big(d, _r32(d))
    if tag == NEW_PID_EXT or tag == PID_EXT:
        return _dec_pid(d, c, tag == NEW_PID_EXT)
    if tag == NEWER_REFERENCE_EXT or tag == NEW_REFERENCE_EXT or tag == REFERENCE_EXT:
        return _dec_ref(d, c, tag)
    if tag == V4_PORT_EXT or tag == NEW_PORT_EXT or tag == PORT_EXT:
        return _dec_port(d, tag)
    if tag == NEW_FUN_EXT or tag == EXPORT_EXT:
        return _dec_fun(d, c, tag)
    if tag == BIT_BINARY_EXT:
        _need(d, 5)
        n = _r32(d)
        bs = BitString.__new__(BitString)
        bs.bits = _r8(d)
        if n == 0 or not 1 <= bs.bits <= 8:
            raise ValueError(f"a bit string of {n} bytes with {bs.bits} bits in its last byte")
        _need(d, n)
        bs.data = PyBytes_FromStringAndSize(<const char*>(d.p + d.i), n)
        d.i += n
        return bs
    if tag == FLOAT_EXT:
        _need(d, 31)
        text = PyBytes_FromStringAndSize(<const char*>(d.p + d.i), 31).split(b"\0", 1)[0]
        d.i += 31
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"a FLOAT_EXT that is not a float: {text!r}") from None
    raise ValueError(f"unknown or unsupported External Term Format tag {tag} (at byte {d.i - 1})")


cdef object _decode(object data, Py_ssize_t offset, Codec c, bint whole, Py_ssize_t* end):
    """The term at ``data[offset]``; ``end`` receives the offset after it."""
    cdef Py_buffer view
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")
    if PyBytes_CheckExact(data):        # immutable: no buffer to hold
        return _decode_buf(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data),
                           offset, c, whole, end)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return _decode_buf(<const unsigned char*>view.buf, view.len, offset, c, whole, end)
    finally:
        PyBuffer_Release(&view)


cdef object _decode_buf(const unsigned char* p, Py_ssize_t n, Py_ssize_t offset, Codec c,
                        bint whole, Py_ssize_t* end):
    cdef Dec d
    cdef object term
    d.p = p
    d.n = n
    d.i = offset
    d.depth = 0
    if d.i >= d.n:
        raise ValueError("no External Term Format data (empty input)" if d.n == 0
                         else f"offset {offset} is past the end of the data ({d.n} bytes)")
    if d.p[d.i] != VERSION:
        raise ValueError(f"External Term Format data starts with 131, not {d.p[d.i]}")
    d.i += 1
    if d.i < d.n and d.p[d.i] == COMPRESSED:
        return _decode_compressed(&d, c, whole, end)
    term = _dec_term(&d, c, False)
    if whole and d.i != d.n:
        raise ValueError(f"{d.n - d.i} bytes after the term")
    end[0] = d.i
    return term


cdef object _decode_compressed(Dec* d, Codec c, bint whole, Py_ssize_t* end):
    cdef Py_ssize_t size, limit, clen
    cdef Dec inner
    cdef bytes out
    d.i += 1
    _need(d, 4)
    size = _r32(d)
    clen = d.n - d.i
    # deflate expands at most 1032:1 (zlib's technical notes)
    limit = min(c.max_inflated if c is not None else DEFAULT_MAX_INFLATED, clen * 1032 + 64)
    if size > limit:
        raise ValueError(f"a compressed term claims {size} bytes, more than the "
                         f"{limit} allowed for {clen} compressed bytes")
    z = _zlib.decompressobj()
    try:
        out = z.decompress(PyBytes_FromStringAndSize(<const char*>(d.p + d.i), clen), size)
    except _zlib.error as e:
        raise ValueError(f"a compressed term is not valid zlib data: {e}") from None
    if len(out) != size or not z.eof:
        raise ValueError(f"a compressed term does not inflate to the {size} bytes it claims")
    inner.p = <const unsigned char*>PyBytes_AS_STRING(out)
    inner.n = size
    inner.i = 0
    inner.depth = 0
    term = _dec_term(&inner, c, False)
    if inner.i != inner.n:
        raise ValueError(f"{inner.n - inner.i} bytes after the compressed term")
    cdef Py_ssize_t stop = d.n - len(z.unused_data)
    if whole and stop != d.n:
        raise ValueError(f"{d.n - stop} bytes after the term")
    end[0] = stop
    return term


# -- the codec -----------------------------------------------------------------

cdef class Codec:
    """An External Term Format codec with its hooks.

    ``make_pid(ExternalPid)`` / ``make_ref(ExternalRef)``: what a decoded pid
    or reference becomes (default: the ExternalPid/ExternalRef itself).
    ``default(obj)``: called when encoding an object whose type is not one of
    the exact types the codec knows (``Down`` and ``Exit`` are known;
    subclasses included, before they are encoded as their base type: a
    NamedTuple reaches it); it returns the term
    to encode instead, or ``NotImplemented`` to let the codec go on (a
    subclass of int/float/str/bytes/tuple/list/dict as its base type, anything
    else a TypeError). ``max_inflated``: the largest size a compressed term
    may claim.
    """
    cdef readonly object make_pid
    cdef readonly object make_ref
    cdef readonly object default
    cdef readonly Py_ssize_t max_inflated

    def __init__(self, *, make_pid=None, make_ref=None, default=None,
                 Py_ssize_t max_inflated=DEFAULT_MAX_INFLATED):
        for name, hook in (("make_pid", make_pid), ("make_ref", make_ref), ("default", default)):
            if hook is not None and not callable(hook):
                raise TypeError(f"Codec({name}=...): must be callable or None, not {type(hook).__name__}")
        if max_inflated < 0:
            raise ValueError(f"Codec(max_inflated=...): must be >= 0, not {max_inflated}")
        self.make_pid = make_pid
        self.make_ref = make_ref
        self.default = default
        self.max_inflated = max_inflated

    def encode(self, term, *, int compressed=0):
        """``term_to_binary(term)``: bytes starting with the version byte 131.
        ``compressed`` (0 to 9): a zlib level, used only when smaller."""
        return _encode(term, self, _level(compressed))

    def decode(self, data):
        """``binary_to_term(data)``: the whole of ``data`` (bytes-like) is one
        term. Malformed input raises ValueError."""
        cdef Py_ssize_t end
        return _decode(data, 0, self, True, &end)

    def decode_from(self, data, Py_ssize_t offset=0):
        """The term starting at ``data[offset]`` (its 131 byte) and the offset
        just after it: ``(term, end)``, for framed streams."""
        cdef Py_ssize_t end
        term = _decode(data, offset, self, False, &end)
        return (term, end)

    def __repr__(self):
        return (f"Codec(make_pid={self.make_pid!r}, make_ref={self.make_ref!r}, "
                f"default={self.default!r}, max_inflated={self.max_inflated})")


cdef int _level(int compressed) except -1:
    if not 0 <= compressed <= 9:
        raise ValueError(f"compressed must be 0 (off) to 9, not {compressed}")
    return compressed


cdef Codec _plain = Codec()


def encode(term, *, int compressed=0):
    """``term_to_binary(term)``: bytes starting with the version byte 131."""
    return _encode(term, _plain, _level(compressed))


def decode(data):
    """``binary_to_term(data)``: the term that is the whole of ``data``."""
    cdef Py_ssize_t end
    return _decode(data, 0, _plain, True, &end)


def decode_from(data, Py_ssize_t offset=0):
    """``(term, end)``: the term starting at ``data[offset]`` and the offset
    just after it."""
    cdef Py_ssize_t end
    term = _decode(data, offset, _plain, False, &end)
    return (term, end)
