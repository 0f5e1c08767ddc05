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
        >>> async def main():
        ...     for msg in (3, "ten", 42):
        ...         actors.send(actors.self(), msg)
        ...     return await actors.receive(actors.where(lambda m: isinstance(m, int) and m > 10))
        >>> actors.run(main)
        42
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


cdef object _via_handler = None     # installed by actors.registry


def set_via_handler(handler):
    """Install the handler of ``via(registry, key)`` names (``actors.registry`` does).

    Args:
        handler: an object with ``whereis_name(registry, key) -> Pid | None``,
            ``register_name(registry, key, pid)`` (raising ``AlreadyRegistered``
            when the key is taken) and ``unregister_name(registry, key)``; it
            serves registries that do not implement Elixir's via protocol
            (``whereis_name(key)``, ``register_name(key, pid)``,
            ``unregister_name(key)``) themselves.  None removes it.
    """
    global _via_handler
    if handler is not None:
        for method in ("whereis_name", "register_name", "unregister_name"):
            if not callable(getattr(handler, method, None)):
                raise TypeError(f"set_via_handler(handler): handler has no {method}() method")
    _via_handler = handler


cdef object _via_method(via v, str method):
    """(function, leading args) that performs ``method`` for ``v``."""
    reg = v.registry
    own = getattr(reg, method, None)
    if own is not None:
        return own, ()
    if _via_handler is not None:
        return getattr(_via_handler, method), (reg,)
    raise TypeError(f"{v!r}: {reg!r} is not a registry (give an actors.Registry name, "
                    f"or an object with {method}())")


cdef object _resolve_via(via v):
    """The pid holding ``v``, or None."""
    fn, lead = _via_method(v, "whereis_name")
    pid = fn(*lead, v.key)
    if pid is not None and type(pid) is not Pid:
        raise TypeError(f"{v!r}: whereis_name returned {pid!r}, not a Pid or None")
    if pid is not None and ((<Pid>pid).state == S_DEAD or (<Pid>pid).exiting):
        return None
    return pid


def via_register(name, pid):
    """Register ``pid`` under ``name``, a ``via(registry, key)``.

    Raises:
        AlreadyRegistered: the key is taken (``.pid`` is the holder).
    """
    if type(name) is not via:
        raise TypeError(f"via_register(name, pid): name must be a via, got {name!r}")
    _check_pid(pid, "via_register(name, pid)")
    fn, lead = _via_method(<via>name, "register_name")
    return fn(*lead, (<via>name).key, pid)


def via_unregister(name):
    """Remove the registration of ``name``, a ``via(registry, key)``."""
    if type(name) is not via:
        raise TypeError(f"via_unregister(name): name must be a via, got {name!r}")
    fn, lead = _via_method(<via>name, "unregister_name")
    return fn(*lead, (<via>name).key)


cdef int _match(object pat, object msg) except -1:
    cdef Py_ssize_t i, n
    cdef object tp
    if pat is _ANY:
        return 1
    if pat is msg:                      # a class matches its instances, not itself
        return 1 if not PyType_Check(pat) else PyObject_IsInstance(msg, pat)
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
        # Nested patterns recurse in C: a pattern nested deeper than Python's
        # recursion limit raises RecursionError instead of overflowing the stack.
        actors_enter_recursion(" while matching a receive pattern")
        try:
            for i in range(n):
                if not _match((<tuple>pat)[i], (<tuple>msg)[i]):
                    return 0
            return 1
        finally:
            Py_LeaveRecursiveCall()
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
        actors_enter_recursion(" while matching a receive pattern")
        try:
            for k, v in (<dict>pat).items():
                item = PyDict_GetItemWithError(msg, k)
                if item == NULL:
                    return 0
                if not _match(v, <object>item):
                    return 0
            return 1
        finally:
            Py_LeaveRecursiveCall()
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
