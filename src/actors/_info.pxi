# Introspection and the process dictionary (Process.* is built on these).

_INFO_KEYS = (
    "status", "message_queue_len", "messages", "links", "monitors", "monitored_by",
    "trap_exit", "dictionary", "registered_name", "initial_call", "current_function",
    "reductions", "memory",
)



cdef str _initial_call(Pid p):
    """"module.qualname" of what the process runs: the function it was spawned
    with, or what a library put under "$initial_call" in its process
    dictionary (as OTP's proc_lib does: GenServers name their class; a task
    names the function it runs for its caller)."""
    if p.extra is not None and p.extra.dictionary is not None:
        named = p.extra.dictionary.get("$initial_call")
        if type(named) is str:
            return named
        if named is not None:
            return _call_name(named)
    if p.fn is None:
        return "?"
    return _call_name(p.fn)


cdef str _call_name(object fn):
    """"module.qualname" of a function (or class)."""
    fn = getattr(fn, "__func__", fn)
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{module}.{qualname}"


cdef object _current_function(Pid p):
    """(qualname, filename, lineno) of the innermost frame of the process's code."""
    obj = p.coro
    found = None
    while obj is not None:
        frame = getattr(obj, "cr_frame", None)
        if frame is None:
            frame = getattr(obj, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        if not code.co_filename.startswith(_ASYNCIO_DIR):
            found = (code.co_qualname, code.co_filename, frame.f_lineno)
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        obj = nxt
    return found


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)


cdef bint _has_handoff(Pid p):
    """A message handed to ``p`` by send that ``p`` has not run to take yet."""
    return (p.state == S_RUNNABLE and _awaits_message(p.trap)
            and p.wake is not _TIMEOUT and p.wake is not _RESCAN)


cdef list _messages(Pid p, Py_ssize_t limit):
    """The mailbox in order, with a handed-off message where it arrived; only
    the first ``limit`` messages when ``limit >= 0``."""
    cdef list out = []
    cdef MsgNode* n = p.mb_head
    cdef bint pending = _has_handoff(p)
    if pending and p.mb_save == NULL:
        out.append(p.wake)
    while n != NULL and (limit < 0 or len(out) < limit):
        out.append(<object>n.msg)
        if pending and n == p.mb_save:
            out.append(p.wake)
        n = n.next
    if limit >= 0 and len(out) > limit:
        del out[limit:]
    return out


cdef str _status(Pid p):
    if p.exiting:
        return "exiting"
    if p.state == S_RUNNING:
        return "running"
    if p.state == S_RUNNABLE:
        return "runnable"
    return "waiting"


_getsizeof = sys.getsizeof
cdef Py_ssize_t _PID_BYTES = 0         # fixed sizes, measured on first use
cdef Py_ssize_t _CTX_BYTES = 0
cdef Py_ssize_t _EXTRA_BYTES = 0


cdef Py_ssize_t _memory(Pid p, Py_ssize_t limit):
    """Bytes a process holds, estimated: its control block, coroutine, context,
    side tables and mailbox (with the messages' shallow sizes).  With
    ``limit >= 0`` only the first ``limit`` messages are measured and the
    rest are counted at their average size."""
    global _PID_BYTES, _CTX_BYTES, _EXTRA_BYTES
    if _PID_BYTES == 0:
        _PID_BYTES = _getsizeof(p)
        _EXTRA_BYTES = _getsizeof(_Extra.__new__(_Extra))
    cdef Py_ssize_t n = _PID_BYTES + p.mb_len * sizeof(MsgNode)
    if p.coro is not None:
        n += _getsizeof(p.coro)
    if p.ctx is not None:
        if _CTX_BYTES == 0:
            _CTX_BYTES = _getsizeof(p.ctx)
        n += _CTX_BYTES
    if p.links is not None:
        n += _getsizeof(p.links)
    if p.extra is not None:
        n += _EXTRA_BYTES
        if p.extra.dictionary is not None:
            n += _getsizeof(p.extra.dictionary)
    cdef MsgNode* m = p.mb_head
    cdef Py_ssize_t seen = 0, sizes = 0
    while m != NULL and (limit < 0 or seen < limit):
        sizes += _getsizeof(<object>m.msg)
        seen += 1
        m = m.next
    if m != NULL and seen > 0:            # stopped at the limit: extrapolate
        sizes += <Py_ssize_t>(<double>sizes / seen * (p.mb_len - seen))
    return n + sizes


cdef Py_ssize_t _mailbox_limit(object limit, str what) except -2:
    """``mailbox_limit`` as a C count: -1 for None (walk whole mailboxes)."""
    if limit is None:
        return -1
    if type(limit) is bool or not isinstance(limit, int):
        raise TypeError(f"{what}: mailbox_limit must be an int >= 0 or None, got {limit!r}")
    if limit < 0:
        raise ValueError(f"{what}: mailbox_limit must be an int >= 0 or None, got {limit!r}")
    return limit


def process_table(*, mailbox_limit=None, pids=None, after=None, limit=None):
    """One row per live process, in spawn order: ``(pid, registered_name,
    initial_call, message_queue_len, reductions, memory, status)``.

    What ``Process.info`` gives for those keys, for every process at once and
    much faster (an observer's process table of 100,000 processes).
    ``mailbox_limit=N`` bounds the work per process: ``memory`` measures the
    first N messages of each mailbox and counts the rest at their average size.

    A large table can be built a slice at a time, the loop free in between:
    ``pids=[...]`` gives the rows of those processes only (the live local
    ones, in the order given); ``after=pid`` starts with the first process
    spawned after ``pid`` (dead or alive) and ``limit=N`` stops after N rows.
    """
    cdef Py_ssize_t walk = _mailbox_limit(mailbox_limit, "process_table()")
    cdef Py_ssize_t most = -1
    cdef list out = []
    cdef dict calls = {}
    cdef Pid p, a
    if limit is not None:
        if type(limit) is bool or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"process_table(limit=...): must be an int >= 0 or None, got {limit!r}")
        most = limit
    if _sched is None:
        return out
    if pids is not None:
        for obj in pids:
            p = _check_pid(obj, "process_table(pids=...)")
            if p.state != S_DEAD and p.remote is None:
                out.append(_table_row(p, walk, calls))
        return out
    p = _sched.procs_head
    if after is not None:
        a = _check_pid(after, "process_table(after=...)")
        if a.state != S_DEAD and a.remote is None:
            p = a.pl_next                       # still listed: continue from it
        else:
            while p is not None and p.number <= a.number:
                p = p.pl_next
    while p is not None and (most < 0 or len(out) < most):
        out.append(_table_row(p, walk, calls))
        p = p.pl_next
    return out


cdef tuple _table_row(Pid p, Py_ssize_t walk, dict calls):
    cdef _Extra x = p.extra
    call = None
    if x is not None and x.dictionary is not None:
        call = x.dictionary.get("$initial_call")
    if type(call) is not str:
        fn = call if call is not None else p.fn
        call = calls.get(fn)
        if call is None:
            call = calls[fn] = _initial_call(p)
    return (p, x.name if x is not None else None, call, p.mb_len + _has_handoff(p),
            int(p.reductions), int(_memory(p, walk)), _status(p))


def process_info(pid, key=None, *, mailbox_limit=None):
    """A dict describing a live process (None if it is dead); see ``Process.info``.

    ``mailbox_limit=N`` walks at most N messages of the mailbox: ``messages``
    is then the first N, and ``memory`` counts the rest at their average size;
    and ``links``, ``monitors`` and ``monitored_by`` list at most N each (a
    supervisor of 100,000 children is not sorted whole).
    """
    cdef Pid p = _check_pid(pid, "Process.info(pid)")
    if key is not None and key not in _INFO_KEYS:
        raise ValueError(f"Process.info(pid, key): unknown key {key!r}; known keys: {', '.join(_INFO_KEYS)}")
    cdef Py_ssize_t walk = _mailbox_limit(mailbox_limit, "Process.info()")
    if p.state == S_DEAD:
        return None
    if key is not None:
        return _info_value(p, key, walk)
    return {k: _info_value(p, k, walk) for k in _INFO_KEYS}


cdef object _info_value(Pid p, str key, Py_ssize_t walk):
    """One value of Process.info (computed alone: a process table asks for
    a few keys of every process); ``walk`` bounds the mailbox walks (-1: all)."""
    cdef _Extra x = p.extra
    if key == "status":
        return _status(p)
    if key == "message_queue_len":
        return p.mb_len + _has_handoff(p)
    if key == "reductions":
        return int(p.reductions)
    if key == "registered_name":
        return x.name if x is not None else None
    if key == "initial_call":
        return _initial_call(p)
    if key == "memory":
        return int(_memory(p, walk))
    if key == "messages":
        return _messages(p, walk)
    if key == "links":
        if not p.links:
            return []
        if walk >= 0 and len(p.links) > walk:     # bounded: some of them, in order
            return sorted(itertools.islice(p.links, walk), key=_pid_number)
        return sorted(p.links, key=_pid_number)
    if key == "monitors":
        if x is None or not x.monitors:
            return []
        return list(itertools.islice(x.monitors.items(), walk)) if walk >= 0 else list(x.monitors.items())
    if key == "monitored_by":
        if x is None or not x.monitored_by:
            return []
        if walk >= 0:
            return list(itertools.islice(x.monitored_by.values(), walk))
        return list(x.monitored_by.values())
    if key == "trap_exit":
        return bool(p.trap_exit)
    if key == "dictionary":
        return dict(x.dictionary) if x is not None and x.dictionary else {}
    if key == "current_function":
        return _current_function(p)
    raise ValueError(f"Process.info(pid, key): unknown key {key!r}")


def _pid_number(Pid p):
    return p.number


def process_list():
    """Every live process, in spawn order."""
    if _sched is None:
        return []
    return _sched.processes()


def is_alive(pid):
    """True if ``pid`` is alive (not exited and not exiting)."""
    cdef Pid p = _check_pid(pid, "Process.alive(pid)")
    return p.state != S_DEAD and not p.exiting


def current_scheduler():
    """The running ``Scheduler``, or None."""
    return _sched


cdef dict _pdict(str what, bint create):
    cdef Pid me = _need_current(what)
    cdef _Extra x
    if create:
        x = _extra(me)
        if x.dictionary is None:
            x.dictionary = {}
        return x.dictionary
    if me.extra is None or me.extra.dictionary is None:
        return None
    return me.extra.dictionary


def pdict_put(key, value):
    """Process dictionary: set ``key``; returns the old value (or None)."""
    d = _pdict("Process.put()", True)
    old = d.get(key)
    d[key] = value
    return old


_PDICT_ALL = object()


def pdict_get(key=_PDICT_ALL, default=None):
    """Process dictionary: the value of ``key`` (or ``default``); no key: a copy of all."""
    d = _pdict("Process.get()", False)
    if key is _PDICT_ALL:
        return dict(d) if d else {}
    if d is None:
        return default
    return d.get(key, default)


def pdict_delete(key):
    """Process dictionary: remove ``key``; returns its old value (or None)."""
    d = _pdict("Process.delete()", False)
    if d is None:
        return None
    return d.pop(key, None)


# -- structured log fields ---------------------------------------------------
# Every record the runtime logs carries the same ``extra`` fields (documented
# in docs/guides/logging.md), so that a JSON formatter gets them as keys and a
# format string can name them: ``event``, then ``pid``, ``registered_name``
# and ``initial_call`` of the process the record is about, then the event's
# own fields.  Values are JSON-ready: str, int, float, bool, None or lists of
# them (a Pid or any other object is written as its repr, a class or function
# as "module.qualname").  None of the names is a LogRecord attribute.

cdef frozenset _RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


cdef object _log_value(object x):
    t = type(x)
    if x is None or t is str or t is int or t is float or t is bool:
        return x
    if t is list:
        return [_log_value(v) for v in <list>x]
    if hasattr(x, "__qualname__"):      # a class or a function (instances have none)
        return _call_name(x)
    try:
        return repr(x)
    except BaseException:
        return f"<unprintable {t.__name__}>"


cdef dict _log_fields(Pid p, str event):
    if p is None:
        return {"event": event, "pid": None, "registered_name": None, "initial_call": None}
    return {"event": event, "pid": repr(p),
            "registered_name": p.extra.name if p.extra is not None else None,
            "initial_call": _initial_call(p)}


def log_fields(pid, event, /, **fields):
    """The ``extra`` of a log record about process ``pid``: the runtime's
    structured fields, which a JSON formatter picks up.

    ``logger.error("...", extra=log_fields(pid, "my_event", reason=exc))``
    gives the record ``event``, ``pid`` (the Pid as ``"<0.12.0>"``),
    ``registered_name`` and ``initial_call`` (``"module.function"``), plus
    each keyword, written JSON-ready (a str, number, bool or None as is, a
    class or function as ``"module.qualname"``, anything else as its repr).

    Args:
        pid: the process the record is about (alive or not), or None.
        event: what happened, a short str such as ``"crash"``.
        **fields: more fields; none may be a ``LogRecord`` attribute
            (``name``, ``msg``, ``process``...).

    Returns:
        A new dict.

    Raises:
        TypeError: ``pid`` is not a Pid or None, or ``event`` not a str.
        ValueError: a field would overwrite a ``LogRecord`` attribute.
    """
    if pid is not None and type(pid) is not Pid:
        raise TypeError(f"log_fields(pid, event): pid must be a Pid or None, got {pid!r}")
    if type(event) is not str:
        raise TypeError(f"log_fields(pid, event): event must be a str, got {event!r}")
    cdef dict out = _log_fields(pid, event)
    for key, value in fields.items():
        if key in _RECORD_ATTRS or key in out:
            raise ValueError(f"log_fields(): field {key!r} is taken (a LogRecord attribute or "
                             f"one of the runtime's fields); choose another name")
        out[key] = _log_value(value)
    return out


# -- where a record points -----------------------------------------------------
# The core logs from C: a record has no Python frame of its own, and logging's
# findCaller would name whatever asyncio frame runs the loop.  So the core
# makes its records here (``_emit``), each located where a reader should look:
# - a record with a traceback (a crash report): the frame that raised it, the
#   innermost one outside the actors package (a crash in ``GenServer.call``
#   names the user's line that called it), or the innermost frame if every
#   frame is inside;
# - otherwise, a record about a process: where the process waits now (the
#   innermost frame of its code outside asyncio and actors, else the innermost
#   frame), or else the function it was spawned with;
# - otherwise: the core itself (its module file, line 0, ``what`` as funcName).

cdef inline bint _in_actors(object frame):
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == "actors" or name.startswith("actors."))


cdef object _raised_at(object tb):
    """(pathname, lineno, funcName) of the frame a traceback was raised in."""
    found = None
    innermost = None
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        innermost = (code.co_filename, tb.tb_lineno, code.co_name)
        if not _in_actors(frame):
            found = innermost
        tb = tb.tb_next
    return found if found is not None else innermost


cdef object _process_at(Pid p):
    """(pathname, lineno, funcName) of where process ``p`` waits, or of the
    function it was spawned with; None if neither is known."""
    obj = p.coro
    found = None
    innermost = None
    while obj is not None:
        frame = getattr(obj, "cr_frame", None)
        if frame is None:
            frame = getattr(obj, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        if not code.co_filename.startswith(_ASYNCIO_DIR):
            innermost = (code.co_filename, frame.f_lineno, code.co_name)
            if not _in_actors(frame):
                found = innermost
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        obj = nxt
    if found is None:
        found = innermost
    if found is None:
        fn = getattr(p.fn, "__func__", p.fn)
        code = getattr(fn, "__code__", None)
        if code is not None:
            found = (code.co_filename, code.co_firstlineno, code.co_name)
    return found


_CORE_FILE = globals().get("__file__") or "actors/_core"


cdef int _emit(int level, Pid p, str what, str msg, tuple args, object exc_info,
               dict extra) except -1:
    """Log ``msg % args`` on "actors.core" at ``level`` (``exc_info`` True:
    the exception being handled), located as above."""
    if not _logger.isEnabledFor(level):
        return 0
    if exc_info is True:
        exc_info = sys.exc_info()
    where = None
    if exc_info is not None and exc_info[2] is not None:
        where = _raised_at(exc_info[2])
    if where is None and p is not None:
        where = _process_at(p)
    if where is None:
        where = (_CORE_FILE, 0, what)
    _logger.handle(_logger.makeRecord(_logger.name, level, where[0], where[1], msg, args,
                                      exc_info, where[2], extra))
    return 0
