# Patterns for selective receive, matched in C.
#
# A pattern is data: ANY; a class (isinstance); a tuple (same length, item by
# item; a tuple *subclass* pattern such as Down(ref, ANY, ANY) also requires
# the message to be an instance of that subclass); a dict (every key present,
# each value matching); where(predicate); anything else by equality.


@cython.final
cdef class _Any:
    """The wildcard pattern: matches any message or item."""

    def __repr__(self):
        return "ANY"

    def __reduce__(self):
        return "ANY"


ANY = _Any()
cdef object _ANY = ANY


@cython.final
cdef class Where:
    """A pattern that matches when ``predicate(message)`` is truthy.

    Made by ``where(predicate)``.  The predicate should be a pure function: it
    may run when a message is sent to a process that is waiting for it.
    """
    cdef readonly object predicate

    def __init__(self, predicate):
        if not callable(predicate):
            raise TypeError(f"where(predicate): predicate must be callable, got {predicate!r}")
        self.predicate = predicate

    def __repr__(self):
        return f"where({self.predicate!r})"


def where(predicate):
    """A receive pattern that matches messages for which ``predicate(msg)`` is true.

    Args:
        predicate: a one-argument callable; it should have no side effects.

    Returns:
        A pattern for ``receive`` (usable inside tuple and dict patterns too).

    Example:
        >>> n = await receive(where(lambda m: isinstance(m, int) and m > 10))
    """
    return Where(predicate)


@cython.final
cdef class via:
    """A name held in a registry: ``via(registry, key)``.

    Usable wherever a process is named: ``send``, ``monitor``, ``whereis``,
    server references and ``name=`` options.  ``registry`` is either an
    ``actors.Registry`` name/pid, or any object with ``whereis_name(key)``
    (and, to register, ``register_name(key, pid)`` / ``unregister_name(key)``),
    as Elixir's ``{:via, module, name}``.
    """
    cdef readonly object registry
    cdef readonly object key

    def __init__(self, registry, key):
        self.registry = registry
        self.key = key

    def __repr__(self):
        return f"via({self.registry!r}, {self.key!r})"

    def __eq__(self, other):
        if type(other) is not via:
            return NotImplemented
        return self.registry == (<via>other).registry and self.key == (<via>other).key

    def __hash__(self):
        return hash((via, self.registry, self.key))


cdef object _via_lookup = None      # set by actors.registry: (registry, key) -> Pid | None


def set_via_lookup(fn):
    """Install the resolver for ``via(registry, key)`` names (used by Registry).

    Args:
        fn: ``fn(registry, key) -> Pid | None``, called for registries that do
            not implement ``whereis_name`` themselves.
    """
    global _via_lookup
    if fn is not None and not callable(fn):
        raise TypeError(f"set_via_lookup(fn): fn must be callable or None, got {fn!r}")
    _via_lookup = fn


cdef object _resolve_via(via v):
    """The pid holding ``v``, or None."""
    reg = v.registry
    finder = getattr(reg, "whereis_name", None)
    if finder is not None:
        pid = finder(v.key)
    elif _via_lookup is not None:
        pid = _via_lookup(reg, v.key)
    else:
        raise TypeError(f"{v!r}: {reg!r} is not a registry (import actors.registry, "
                        f"or give an object with whereis_name)")
    if pid is not None and type(pid) is not Pid:
        raise TypeError(f"{v!r}: whereis_name returned {pid!r}, not a Pid or None")
    return pid


cdef int _match(object pat, object msg) except -1:
    cdef Py_ssize_t i, n
    cdef object tp
    if pat is msg or pat is _ANY:
        return 1
    tp = type(pat)
    if tp is str:
        if type(msg) is str:
            # Two distinct interned strings are never equal: tag checks on
            # non-matching messages cost a pointer comparison.
            if actors_is_interned(pat) and actors_is_interned(msg):
                return 0
            return (<str>pat) == (<str>msg)
        if not isinstance(msg, str):
            return 0
        return PyObject_RichCompareBool(pat, msg, Py_EQ)
    if PyTuple_Check(pat):
        if not PyTuple_Check(msg):
            return 0
        n = len(<tuple>pat)
        if len(<tuple>msg) != n:
            return 0
        if tp is not tuple and not PyObject_IsInstance(msg, tp):
            return 0
        for i in range(n):
            if not _match((<tuple>pat)[i], (<tuple>msg)[i]):
                return 0
        return 1
    if tp is Pid or tp is Ref:
        return 0                        # identity was checked above
    if PyType_Check(pat):
        if type(msg) is pat:
            return 1
        return PyObject_IsInstance(msg, pat)
    if tp is Where:
        return 1 if (<Where>pat).predicate(msg) else 0
    if PyDict_Check(pat):
        if not PyDict_Check(msg):
            return 0
        for k, v in (<dict>pat).items():
            item = PyDict_GetItemWithError(msg, k)
            if item == NULL:
                return 0
            if not _match(v, <object>item):
                return 0
        return 1
    return PyObject_RichCompareBool(pat, msg, Py_EQ)


cdef inline int _match_any(tuple pats, object msg) except -1:
    cdef Py_ssize_t i, n = len(pats)
    if n == 0:
        return 1
    for i in range(n):
        if _match(pats[i], msg):
            return 1
    return 0


cdef inline int _match_call(Ref ref, object msg) noexcept:
    """A call's reply ``(ref, value)`` or its server's ``Down(ref, ...)``."""
    cdef object tp = type(msg)
    if tp is tuple:
        return len(<tuple>msg) == 2 and (<tuple>msg)[0] is ref
    if tp is _Down:
        return (<tuple>msg)[0] is ref
    return 0


cdef bint _patterns_need_ref(tuple pats, Ref ref):
    """True if every pattern can only match a message that contains ``ref``."""
    cdef Py_ssize_t i, n = len(pats)
    if n == 0:
        return False
    for i in range(n):
        pat = pats[i]
        if pat is ref:
            continue
        if not PyTuple_Check(pat) or not _tuple_has(<tuple>pat, ref):
            return False
    return True


cdef inline bint _tuple_has(tuple t, object item):
    for x in t:
        if x is item:
            return True
    return False
