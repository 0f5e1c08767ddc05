# The public functions of the core: processes, messages, signals, names, timers.

cdef object _inspect_iscoroutinefunction = None


cdef int _check_async_fn(object fn, str what) except -1:
    """TypeError unless ``fn`` is an async function (checked before anything starts)."""
    global _inspect_iscoroutinefunction
    cdef int kind = actors_coroutine_function_kind(fn)
    if kind == 1:
        return 0
    if kind == -1 and callable(fn):
        if _inspect_iscoroutinefunction is None:
            import inspect
            _inspect_iscoroutinefunction = inspect.iscoroutinefunction
        if _inspect_iscoroutinefunction(fn):
            return 0
        call = getattr(type(fn), "__call__", None)
        if call is not None and _inspect_iscoroutinefunction(call):
            return 0
    if not callable(fn):
        raise TypeError(f"{what}: fn must be an async function, got {fn!r} (not callable)")
    raise TypeError(
        f"{what}: fn must be an async function (defined with `async def`), got {fn!r}")


cdef Pid _spawn(object fn, tuple args, dict kwargs, str what, bint check=True):
    global _next_pid_number
    cdef Scheduler s = _need_sched()
    cdef Pid p
    if check:                           # (the core's own coroutine functions are not checked)
        _check_async_fn(fn, what)
    coro = fn(*args, **kwargs)
    if not PyCoro_CheckExact(coro) and not (hasattr(coro, "send") and hasattr(coro, "throw")):
        raise TypeError(f"{what}: {fn!r} returned {coro!r}, not a coroutine")
    p = Pid.__new__(Pid)
    p.number = _next_pid_number
    _next_pid_number += 1
    p.coro = coro
    p.ctx = PyContext_CopyCurrent()
    p.fn = fn
    p.deadline = NO_DEADLINE
    if s.procs_tail is None:
        s.procs_head = p
    else:
        s.procs_tail.pl_next = p
        p.pl_prev = s.procs_tail
    s.procs_tail = p
    s.nprocs += 1
    _make_runnable(p)
    return p


def spawn(fn, *args, **kwargs):
    """Start ``fn(*args, **kwargs)`` as a new process and return its pid at once.

    Args:
        fn: an async function; the process ends when it returns (reason
            ``"normal"``), raises (reason: the exception) or is killed.

    Returns:
        The new process's ``Pid``.

    Raises:
        TypeError: ``fn`` is not an async function (nothing is started).
        RuntimeError: no runtime is running.
    """
    return _spawn(fn, args, kwargs, "spawn")


def spawn_link(fn, *args, **kwargs):
    """Spawn ``fn(*args, **kwargs)`` linked to the caller, atomically.

    The link exists before the new process runs, so no exit can be missed.
    """
    cdef Pid me = _need_current("spawn_link")
    cdef Pid p = _spawn(fn, args, kwargs, "spawn_link")
    _link(me, p)
    return p


def spawn_monitor(fn, *args, **kwargs):
    """Spawn ``fn(*args, **kwargs)`` monitored by the caller, atomically.

    Returns:
        ``(pid, ref)``: a ``Down(ref, pid, reason)`` arrives when it exits.
    """
    cdef Pid me = _need_current("spawn_monitor")
    cdef Pid p = _spawn(fn, args, kwargs, "spawn_monitor")
    cdef Ref ref = _new_ref()
    _set_marker(me, ref)
    _add_monitor(me, p, ref)
    return p, ref


def self():
    """The pid of the calling process.

    Raises:
        RuntimeError: called outside a process.
    """
    return _need_current("self()")


cdef inline int _send_to_pid(Pid p, object msg) except -1:
    """Deliver ``msg`` to ``p`` (dropped if it is dead or exiting)."""
    cdef int t = p.trap
    cdef int r
    if p.state == S_DEAD or p.exiting:
        if p.remote is not None:
            return _remote_send(p, msg)
        return 0
    _sched.messages += 1
    if p.state == S_WAITING and _awaits_message(t):
        if t == T_CALL_PARKED:
            r = _match_call(<Ref>p.patterns, msg)
        elif len(<tuple>p.patterns) == 0:
            r = 1
        else:
            r = _match_guarded(<tuple>p.patterns, msg)
            if p.state != S_WAITING or p.trap != t:
                # The pattern code itself sent to p and woke it: just queue.
                return _mb_append(p, msg)
        if r == 1:                      # hand the message straight to the receiver
            if p.tnode != NULL and p.tnode.level >= 0:
                _sched.wheel.remove(p.tnode)
            p.wake = msg
            _make_runnable(p)
            return 0
        _mb_append(p, msg)
        if r == 0:
            p.mb_save = p.mb_tail       # checked already: the receiver skips it
        else:
            p.wake = _RESCAN
            _make_runnable(p)
        return 0
    return _mb_append(p, msg)


cdef int _match_guarded(tuple patterns, object msg) noexcept:
    """Match in the sender: 1, 0, or -1 if a pattern raised (the receiver rescans
    and sees the error itself)."""
    try:
        return _match_any(patterns, msg)
    except BaseException:
        return -1


cdef object _whereis(object dest, str arg="dest"):
    """The live pid behind a name or via (None if nobody holds it); ``arg``
    names the caller's argument in the TypeError for anything else."""
    return _lookup(_need_sched(), dest, arg)


cdef object _lookup(Scheduler s, object dest, str arg):
    """_whereis without the thread check (send from another thread uses it:
    reading the names dict is atomic under the GIL)."""
    if type(dest) is str:
        return s.names.get(dest)
    if type(dest) is via:
        return _resolve_via(<via>dest)
    if isinstance(dest, str):
        return s.names.get(str(dest))
    raise TypeError(f"{arg} must be a Pid, a registered name (str), a (name, node) tuple "
                    f"or via(registry, key), got {dest!r}")


cdef Pid _resolve(object dest, str what):
    """The pid behind ``dest`` (for ``(name, node)`` of another node: its
    proxy); NoProcess if a name or via is not held."""
    if type(dest) is Pid:
        return <Pid>dest
    if type(dest) is tuple:
        p = _name_at(dest, what)
    else:
        p = _whereis(dest)
    if p is None:
        raise NoProcess(f"{what}: no process is registered as {dest!r}")
    return <Pid>p


cdef object _send_impl(object dest, object msg):
    """``send(dest, msg)``: see its docstring in _core_helpers.h, where its fast
    C entry point lives."""
    global _budget
    if PyThreadState_Get() != _loop_thread:
        return _send_from_thread(dest, msg)
    if type(dest) is Pid:
        _send_to_pid(<Pid>dest, msg)
    elif type(dest) is tuple:
        _send_to_name_at(<tuple>dest, msg)
    else:
        _send_to_pid(_resolve(dest, "send"), msg)
    _budget -= 1
    if _current is not None:
        _current.reductions += 1
    return msg


send = actors_make_send(<void*>_send_impl, "actors")


cdef object _send_from_thread(object dest, object msg):
    """``send`` from a thread other than the runtime's: resolve a name here
    (NoProcess is raised to the sender, as on the loop thread) and post the
    delivery to the loop, which wakes it.  Messages from one thread arrive in
    the order sent."""
    cdef Scheduler s = _sched
    if s is None:
        raise RuntimeError(
            "send: no actors runtime is running: start one with actors.run(main) "
            "or `async with actors.Runtime():`")
    if type(dest) is tuple:
        _check_name_at(dest, "send")
        try:
            s.loop.call_soon_threadsafe(_deliver_to_name_at, dest, msg)
        except RuntimeError:
            pass
        return msg
    if type(dest) is not Pid:
        pid = _lookup(s, dest, "dest")
        if pid is None:
            raise NoProcess(f"send: no process is registered as {dest!r}")
        dest = pid
    try:
        s.loop.call_soon_threadsafe(_deliver_from_thread, dest, msg)
    except RuntimeError:                # the loop is closed: every pid is dead
        pass
    return msg


def _deliver_from_thread(Pid p, msg):
    if _sched is not None:
        _send_to_pid(p, msg)


cdef object _receive_impl(tuple patterns, object timeout, object default):
    """``receive(*patterns, timeout=None, default=...)``: see its docstring in
    _core_helpers.h, where its fast C entry point lives."""
    cdef Pid p = _need_trappable("receive()")
    p.deadline = NO_DEADLINE if timeout is None else _deadline(timeout, "timeout")
    p.patterns = patterns
    p.default = default
    p.trap = T_RECEIVE
    if p.marker_ref is not None and _patterns_need_ref(patterns, p.marker_ref):
        p.mb_save = p.mb_marker         # nothing before the marker can hold the ref
        p.marker_in_use = 1
    else:
        p.mb_save = NULL
    return _TRAP


receive = actors_make_receive(<void*>_receive_impl, _NO_DEFAULT, "actors")


cdef int64_t _deadline(object timeout, str name) except? -3:
    cdef double secs
    if timeout is None:
        return NO_DEADLINE
    secs = _check_seconds(timeout, name, True)
    if secs == 0.0:
        return POLL
    if secs > MAX_TIMEOUT:              # beyond any clock's reach: forever
        return NO_DEADLINE
    return _sched.tick_after(secs)


def call(server, request, timeout=5.0):
    """Send ``request`` to ``server`` and wait for its reply (one round trip).

    The request/reply fast path under ``GenServer.call``: monitors the server,
    sends it ``("$gen_call", (caller, ref), request)`` and waits, with the
    receive-marker optimisation, for ``(ref, reply)`` or the server's exit.
    The server answers with ``reply(from_, value)``.

    Called outside any process (plain asyncio code with a running
    ``actors.Runtime``), it makes the call from a short-lived process.

    Args:
        server: a ``Pid``, registered name or ``via``.
        request: any value.
        timeout: seconds (``None`` waits forever).  Default 5.0.

    Returns:
        The reply.

    Raises:
        NoProcess: the server does not exist.
        CallExit: the server exited before replying (``.reason``), or the
            caller called itself (reason ``"calling_self"``).
        Timeout: no reply in time; a late reply is dropped, never delivered.
    """
    cdef Pid me
    cdef Pid target
    cdef Ref ref
    cdef int64_t deadline
    if _current is None:                # plain asyncio code: call from a short-lived process
        _need_sched()
        return call_in_process(call, server, request, timeout)
    me = _need_trappable("call()")
    target = _resolve(server, "call")
    deadline = _deadline(timeout, "timeout")
    if target is me:
        raise CallExit("calling_self", f"call: process {me!r} called itself")
    ref = _new_ref()
    _set_marker(me, ref)
    if target.remote is not None:
        _remote_call(me, target, ref, request)
    elif target.state == S_DEAD or target.exiting:
        _mb_append(me, _make_down(ref, target, "noproc"))
    else:
        tx = _extra(target)
        if tx.monitored_by is None:
            tx.monitored_by = {}
        tx.monitored_by[ref] = me
        ref.call_target = target
        ref.alias = ALIAS_ACTIVE
        _send_to_pid(target, ("$gen_call", (me, ref), request))
    me.deadline = deadline
    me.patterns = ref
    me.default = timeout
    me.trap = T_CALL
    me.mb_save = me.mb_marker
    me.marker_in_use = 1
    return _TRAP


def reply(from_, value):
    """Answer a call: send ``value`` to the caller identified by ``from_``.

    Dropped if the caller already gave up (its call timed out).  Can be called
    by any process, at any later time (see ``GenServer`` and ``NOREPLY``).

    Args:
        from_: the ``(pid, ref)`` that came with the request.
        value: the reply.
    """
    cdef Ref ref
    if type(from_) is not tuple or len(<tuple>from_) != 2 or type((<tuple>from_)[0]) is not Pid:
        raise TypeError(f"reply(from_, value): from_ must be the (pid, ref) of a call, got {from_!r}")
    tag = (<tuple>from_)[1]
    if type(tag) is Ref and (<Ref>tag).alias == ALIAS_DEAD:
        return
    if PyThreadState_Get() != _loop_thread:        # a reply is a send: thread-safe
        _send_from_thread((<tuple>from_)[0], (tag, value))
        return
    _send_to_pid(<Pid>(<tuple>from_)[0], (tag, value))


def flush():
    """Remove and return every message in the caller's mailbox, in order."""
    cdef Pid p = _need_trappable("flush()")
    out = _mb_list(p)
    _mb_clear(p)
    p.marker_ref = None
    return out


def receive_nowait(*patterns, default=_NO_DEFAULT):
    """Take the first queued message that matches one of ``patterns``, without
    waiting: ``await receive(*patterns, timeout=0, default=...)`` as a plain
    call (Erlang's ``receive ... after 0``).

    With no pattern any message matches.  Returns ``default`` when nothing
    queued matches, or raises ``Timeout`` if no default was given.  The other
    messages stay queued, in order.
    """
    cdef Pid p = _need_trappable("receive_nowait()")
    cdef MsgNode* prev = NULL
    cdef MsgNode* node = p.mb_head
    cdef MsgNode* last = p.mb_tail
    p.scanning = 1                      # pattern code may not change the mailbox
    try:
        while node != NULL:
            if len(patterns) == 0 or _match_any(patterns, <object>node.msg):
                p.scanning = 0
                p.reductions += 1
                return _mb_take(p, prev, node)
            if node == last:
                break
            prev = node
            node = node.next
    finally:
        p.scanning = 0
    if default is _NO_DEFAULT:
        raise Timeout("receive_nowait: no queued message matches")
    return default


def matches(pattern, message):
    """True if ``message`` matches ``pattern`` by the rules of ``receive``
    (literals by ``==``, ``ANY``, classes, tuples and lists element-wise, dicts
    by their pattern's keys, ``where(...)``)."""
    return _match(pattern, message) == 1


def make_ref():
    """A new unique reference: hashable, equal only to itself.

    Inside a process it also marks the mailbox, so that a receive waiting for
    a message that contains this ref skips everything queued before it.
    """
    cdef Ref ref = _new_ref()
    if _current is not None:
        _set_marker(_current, ref)
    return ref


def checkpoint():
    """Let other processes run, then continue: ``await checkpoint()``."""
    cdef Pid p = _need_trappable("checkpoint()")
    p.trap = T_YIELD
    return _TRAP


def sleep(seconds):
    """Suspend the calling process for ``seconds``: ``await sleep(0.5)``.

    Only this process waits; others keep running.  Outside a process this is
    ``asyncio.sleep``.

    Raises:
        ValueError: ``seconds`` is negative or NaN.
    """
    cdef Pid p
    cdef double secs = _check_seconds(seconds, "seconds", False)
    if _current is None:
        return asyncio.sleep(secs)
    p = _need_trappable("sleep()")
    if secs == INFINITY or secs > MAX_TIMEOUT:
        p.deadline = NO_DEADLINE
    elif secs == 0.0:
        p.deadline = POLL
    else:
        p.deadline = _sched.tick_after(secs)
    p.trap = T_SLEEP
    return _TRAP


def to_thread(fn, /, *args, **kwargs):
    """Run blocking ``fn(*args, **kwargs)`` on a worker thread: ``await to_thread(fn)``.

    Only the calling process waits; the scheduler keeps running the others.
    """
    if not callable(fn):
        raise TypeError(f"to_thread(fn): fn must be callable, got {fn!r}")
    return asyncio.to_thread(fn, *args, **kwargs)


# -- links, monitors, signals ------------------------------------------------

cdef inline Pid _check_pid(object pid, str what):
    if type(pid) is not Pid:
        raise TypeError(f"{what}: pid must be a Pid, got {pid!r}")
    return <Pid>pid


def link(pid):
    """Link the caller and ``pid``: if either exits abnormally, the other gets an exit signal.

    Links are bidirectional and idempotent.

    Raises:
        NoProcess: ``pid`` is not alive and the caller does not trap exits
            (a trapping caller gets ``Exit(pid, "noproc")`` instead).
        TypeError: ``pid`` is not a Pid.
    """
    cdef Pid me = _need_current("link()")
    cdef Pid p = _check_pid(pid, "link(pid)")
    if p is me:
        return None
    if p.remote is not None:
        _remote_link(me, p)
        return None
    if p.state == S_DEAD or p.exiting:
        if me.trap_exit:
            _send_to_pid(me, _make_exit(p, "noproc"))
            return None
        raise NoProcess(f"link: process {p!r} is not alive")
    _link(me, p)
    return None


def unlink(pid):
    """Remove the link between the caller and ``pid`` (if any)."""
    cdef Pid me = _need_current("unlink()")
    cdef Pid p = _check_pid(pid, "unlink(pid)")
    if p.remote is not None:
        _remote_unlink(me, p)
        return None
    if me.links is not None:
        me.links.discard(p)
    if p.links is not None:
        p.links.discard(me)
    return None


def monitor(dest):
    """Monitor ``dest``: when it exits the caller receives ``Down(ref, pid, reason)``.

    Monitoring a dead or unknown process delivers ``Down(ref, dest, "noproc")``
    at once; it never raises for that.  Each monitor fires at most once.

    Args:
        dest: a ``Pid``, registered name or ``via``.

    Returns:
        The monitor's ``Ref`` (for ``demonitor``).
    """
    cdef Pid me = _need_current("monitor()")
    cdef Ref ref = _new_ref()
    cdef Pid target
    _set_marker(me, ref)
    if type(dest) is Pid:
        t = dest
    elif type(dest) is tuple:
        t = _name_at(dest, "monitor")
    else:
        t = _whereis(dest)
    if t is not None and (<Pid>t).remote is not None:
        _remote_monitor(me, <Pid>t, ref)
        return ref
    if t is None or (<Pid>t).state == S_DEAD or (<Pid>t).exiting:
        _send_to_pid(me, _make_down(ref, dest if t is None else t, "noproc"))
        return ref
    target = <Pid>t
    _add_monitor(me, target, ref)
    return ref


def demonitor(ref, flush=False):
    """Stop the monitor ``ref``.

    Args:
        ref: a ref returned by ``monitor`` or ``spawn_monitor``.
        flush: also remove a ``Down`` for ``ref`` already in the mailbox.

    Returns:
        True if an active monitor was removed, else False.
    """
    cdef Pid me = _need_current("demonitor()")
    if type(ref) is not Ref:
        raise TypeError(f"demonitor(ref): ref must be a Ref, got {ref!r}")
    if type(flush) is not bool:
        raise TypeError(f"demonitor(ref, flush): flush must be a bool, got {flush!r}")
    target = _remove_monitor(me, <Ref>ref)
    if target is not None and (<Pid>target).remote is not None and _dist is not None:
        _dist.demonitor(me, target, ref)
    if flush:
        if me.scanning:
            raise RuntimeError("demonitor(ref, flush=True) cannot be used inside a receive pattern")
        _mb_remove_down(me, <Ref>ref)
    return target is not None


def exit(pid, reason):
    """Send an exit signal with ``reason`` to ``pid``.

    ``"kill"`` cannot be trapped (the target exits ``"killed"``); ``"normal"``
    is ignored by a target that does not trap exits, unless it is the caller;
    a trapping target receives ``Exit(caller, reason)``; any other reason
    kills a non-trapping target with that reason.
    """
    cdef Pid p = _check_pid(pid, "exit(pid, reason)")
    cdef Pid me = _current
    _need_sched()
    _signal(p, me, reason, False)
    if p is me and me.exiting and not me.exit_raised:
        me.exit_raised = 1
        raise ProcessExit(me.extra.exit_reason)
    return None


def process_flag(flag, value):
    """Set a flag of the calling process; returns the old value (see ``Process.flag``)."""
    cdef Pid me = _need_current("Process.flag()")
    if flag == "trap_exit":
        if not isinstance(value, bool):
            raise TypeError(f"Process.flag('trap_exit', value): value must be a bool, got {value!r}")
        old = bool(me.trap_exit)
        me.trap_exit = value
        return old
    raise ValueError(f"Process.flag(flag, value): unknown flag {flag!r} (known: 'trap_exit')")


# -- names -------------------------------------------------------------------

def register(name, pid=None):
    """Register ``pid`` (default: the caller) under ``name``.

    A name is released when its process exits.

    Raises:
        TypeError: ``name`` is not a str, or ``pid`` not a Pid.
        AlreadyRegistered: another process holds ``name`` (``.pid``).
        ValueError: ``pid`` is dead or already has another name.
    """
    cdef Scheduler s = _need_sched()
    cdef Pid p
    if type(name) is not str:
        raise TypeError(f"register(name, pid): name must be a str, got {name!r}")
    p = _need_current("register() without a pid") if pid is None else _check_pid(pid, "register(name, pid)")
    holder = s.names.get(name)
    if holder is not None:
        raise AlreadyRegistered(f"register: name {name!r} is already registered to {holder!r}", holder)
    if p.state == S_DEAD or p.exiting:
        raise ValueError(f"register(name, pid): pid {p!r} is not alive")
    x = _extra(p)
    if x.name is not None:
        raise ValueError(f"register(name, pid): pid {p!r} is already registered as {x.name!r}")
    x.name = name
    s.names[name] = p
    return None


def unregister(name):
    """Remove the registered name ``name``.

    Raises:
        ValueError: nobody holds ``name``.
    """
    cdef Scheduler s = _need_sched()
    if type(name) is not str:
        raise TypeError(f"unregister(name): name must be a str, got {name!r}")
    p = s.names.pop(name, None)
    if p is None:
        raise ValueError(f"unregister(name): name {name!r} is not registered")
    (<Pid>p).extra.name = None
    return None


def whereis(name):
    """The pid registered as ``name`` (a str or ``via``), or None (also while
    its process is exiting: it is no longer alive)."""
    p = _whereis(name, "whereis(name): name")
    if p is not None and (<Pid>p).exiting:
        return None
    return p


def registered():
    """Every registered name."""
    return list(_need_sched().names)


# -- timers ------------------------------------------------------------------

def send_after(dest, msg, seconds):
    """Send ``msg`` to ``dest`` after ``seconds``; returns a ``TimerRef``.

    A name is looked up when the timer fires (nothing happens if nobody holds
    it then).  A timer to a pid that has exited is cancelled.

    Raises:
        ValueError: ``seconds`` is negative or NaN.
        TypeError: ``dest`` is not a Pid, name or via.
    """
    cdef Scheduler s = _need_sched()
    cdef double secs = _check_seconds(seconds, "seconds", False)
    cdef TimerRef t
    if type(dest) is not Pid and not isinstance(dest, (str, via)):
        raise TypeError(f"send_after(dest, ...): dest must be a Pid, a name or via, got {dest!r}")
    if type(dest) is Pid and (<Pid>dest).state == S_DEAD:
        t = TimerRef.__new__(TimerRef)      # to a dead pid: cancelled from the start
        t.node.level = -1
        t.dest = dest
        return t
    return _arm_timer_ref(s, dest, msg, secs)


def cancel_timer(tref):
    """Cancel a ``send_after``.

    Returns:
        The seconds that were left, or None if it already fired or was cancelled
        (or its destination pid has exited).
    """
    cdef TimerRef t
    if type(tref) is not TimerRef:
        raise TypeError(f"cancel_timer(tref): tref must be a TimerRef, got {tref!r}")
    t = <TimerRef>tref
    if _sched is None:
        return None
    _need_sched()                       # (on the runtime's thread)
    if t.node.level == FOREVER:
        t.node.level = -1
        _untrack_timer(t)
        return max(t.due - _sched.now(), 0.0)
    if t.node.level < 0:
        return None
    _disarm_timer_ref(t)
    return max(t.due - _sched.now(), 0.0)     # never more than was asked


def check_seconds(value, what, allow_none=True):
    """Check a duration argument before anything starts: a real number of
    seconds >= 0 (``inf`` included), or None when ``allow_none``.

    Raises:
        TypeError: not a number (bools are refused); the message names ``what``.
        ValueError: negative or NaN.
    """
    _check_seconds(value, what, allow_none)


def in_process():
    """True when called inside a process, False from plain asyncio code (or
    from another thread)."""
    return _current is not None and PyThreadState_Get() == _loop_thread


def check_async_fn(fn, what):
    """Raise TypeError (naming ``what``) unless ``fn`` can be spawned: an async
    function, or a callable whose ``__call__`` is one.  Needs no runtime."""
    _check_async_fn(fn, what)


async def call_in_process(fn, *args, **kwargs):
    """From plain asyncio code: await ``fn(*args, **kwargs)`` inside a short-lived
    process of the running runtime, and return its result (or raise its error).

    The process is killed if the awaiting asyncio task is cancelled.  Raises
    RuntimeError when no runtime is running.
    """
    if _sched is None:
        raise RuntimeError("no actors runtime is running: use `async with actors.Runtime():`")
    fut = _sched.loop.create_future()

    async def proxy():
        try:
            result = await fn(*args, **kwargs)
        except GeneratorExit:          # the proxy was killed
            if not fut.done():
                fut.set_exception(ProcessExit("killed"))
            raise
        except BaseException as exc:  # handed to the awaiting asyncio code
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)

    pid = _spawn(proxy, (), {}, "call_in_process", False)
    try:
        return await fut
    finally:
        if is_alive(pid):
            exit(pid, "kill")
