# ---------------------------------------------------------------------------
# Traps: the only code that suspends a process.
#
# receive(), call(), sleep() and checkpoint() configure the calling process
# (its `trap`, `patterns`, `default`, `deadline`) and return the one shared
# awaitable _TRAP.  Awaiting it runs _trap_send through the type's C am_send
# slot: the SEND opcode gets a ready message back as a plain return value
# (return 0), or the trap parks the process and yields _TRAP up the coroutine
# chain to the scheduler (return 1).  The scheduler later resumes the
# coroutine with a value (a handed-off message, _TIMEOUT, _RESCAN, None) that
# arrives here as `arg`.  All state lives in the Pid, so the awaitable must be
# awaited at once, by the process that made it.
# ---------------------------------------------------------------------------


@cython.final
cdef class _Trap:
    """What ``receive``, ``sleep`` and ``call`` return: await it at once."""

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        cdef PyObject* res = NULL
        cdef int r
        try:
            r = _trap_send(<PyObject*>self, <PyObject*>value, &res)
        except BaseException:
            _trap_failed()
            raise
        out = <object>res
        _decref(res)
        if r == 0:
            raise StopIteration(out)
        return out

    def __repr__(self):
        return "<actors trap>"


cdef void _trap_failed() noexcept:
    """The trap raised: leave it, so the process can handle the error and go on."""
    if _current is not None:
        _current.scanning = 0
        if _current.trap != T_NONE:
            _trap_reset(_current)


cdef inline Pid _need_trappable(str what):
    """The current process, if it may enter a trap or change its mailbox now."""
    if _current is None or _current.scanning:
        _not_trappable(what)
    return _current


cdef void _not_trappable(str what) except *:
    _need_current(what)
    raise RuntimeError(f"{what} cannot be used inside a receive pattern (where(), __eq__): "
                       f"patterns must not touch the mailbox")


cdef _Trap _TRAP = _Trap.__new__(_Trap)
actors_install_trap(<PyTypeObject*>_Trap, _trap_send, _trap_failed)


cdef inline unsigned char _parked(unsigned char trap) noexcept:
    """The suspended form of a configured receive or call trap."""
    return T_CALL_PARKED if trap == T_CALL else T_RECEIVE_PARKED


cdef inline unsigned char _configured(unsigned char trap) noexcept:
    """The configured form of a parked receive or call trap (to scan again)."""
    return T_CALL if trap == T_CALL_PARKED else T_RECEIVE


cdef inline bint _awaits_message(unsigned char trap) noexcept:
    """Parked in a receive or a call: send() may hand it a message."""
    return trap == T_RECEIVE_PARKED or trap == T_CALL_PARKED


cdef inline bint _in_call(unsigned char trap) noexcept:
    """The process is in a call (configured or parked), not a plain receive."""
    return trap == T_CALL or trap == T_CALL_PARKED


cdef inline int _return(PyObject** presult, object value) noexcept:
    _incref(<PyObject*>value)
    presult[0] = <PyObject*>value
    return 0


cdef inline int _suspend(PyObject** presult) noexcept:
    _incref(<PyObject*>_TRAP)
    presult[0] = <PyObject*>_TRAP
    return 1


cdef int _trap_send(PyObject* self, PyObject* arg, PyObject** presult) except -1:
    cdef Pid p = _current
    cdef int t
    if p is None:
        raise RuntimeError(
            "an actors awaitable (receive, sleep, call) was awaited outside the "
            "process that made it: await it directly, inside that process")
    t = p.trap
    if t == T_RECEIVE_PARKED:
        if arg != <PyObject*>_TIMEOUT and arg != <PyObject*>_RESCAN:
            # The common case: send() handed this message over (and disarmed
            # the timer).  Leave the trap inline: this runs once per message.
            p.trap = T_NONE
            p.patterns = None
            p.default = None
            p.mb_save = NULL
            p.marker_in_use = 0
            p.reductions += 1
            _incref(arg)
            presult[0] = arg
            return 0
    if _awaits_message(t):
        value = <object>arg
        if value is _TIMEOUT:
            return _receive_timed_out(p, presult)
        if value is _RESCAN:
            p.trap = _configured(t)
            if p.deadline >= 0 and _sched.now_tick() >= p.deadline:
                return _receive_timed_out(p, presult)
            return _scan(p, presult)
        p.reductions += 1
        return _received(p, value, presult)
    if p.exiting:
        return _exiting_await(p, presult)
    if p.extra is not None and p.extra.cancel_pending:
        _raise_pending_cancel(p)        # asyncio cancel() made while it ran: at this await
    if t == T_RECEIVE or t == T_CALL:
        return _scan(p, presult)
    if t == T_SLEEP:
        if p.deadline == POLL:
            p.trap = T_YIELD
            return _trap_send(self, arg, presult)
        p.trap = T_SLEEP_PARKED
        p.state = S_WAITING
        if p.deadline != NO_DEADLINE:   # sleep(inf): park until killed
            _arm_process_timer(p)
        return _suspend(presult)
    if t == T_YIELD:
        p.trap = T_YIELD_PARKED
        _make_runnable(p)
        return _suspend(presult)
    if t == T_SLEEP_PARKED or t == T_YIELD_PARKED:
        p.trap = T_NONE
        return _return(presult, None)
    raise RuntimeError("this actors awaitable was already awaited: call receive()/sleep() again")


cdef int _exiting_await(Pid p, PyObject** presult) except -1:
    """``p`` awaits while it is exiting: it accepted an exit signal while it
    ran, or it caught the ProcessExit and awaits again (cleanup in a finally
    block, or a loop that swallows the signal).  On the BEAM user code cannot
    catch an exit signal: the await raises it again, and a process that has
    caught it EXIT_RAISES times is closed as if killed (with the signal's
    reason), so links and monitors always fire."""
    _trap_reset(p)
    if not _raise_exit_again(p):
        return _suspend(presult)        # the scheduler closes the coroutine
    raise ProcessExit(p.extra.exit_reason)


cdef inline bint _raise_exit_again(Pid p) noexcept:
    """Whether an exiting ``p`` gets its exit signal raised (once more), or is
    to be closed: after "kill", or once it has caught the signal EXIT_RAISES
    times (it is then marked killed, its exit reason unchanged)."""
    if not p.killed and p.exit_raised >= EXIT_RAISES:
        p.killed = 1
    if p.killed:
        return False
    p.exit_raised += 1
    return True


cdef int _raise_pending_cancel(Pid p) except -1:
    msg = p.extra.cancel_msg
    p.extra.cancel_pending = False
    p.extra.cancel_msg = None
    if p.trap != T_NONE:
        _trap_reset(p)
    raise _CancelledError(msg) if msg is not None else _CancelledError()


cdef int _scan(Pid p, PyObject** presult) except -1:
    """Look for a match from the save pointer on; take it, or park.

    One pass checks the messages queued when it starts: a pattern that sends
    to its own receiver cannot make it scan forever.  What arrived during the
    pass is checked by another pass, after the others have run (the receive
    timeout is honoured between passes)."""
    global _budget
    cdef MsgNode* prev = p.mb_save
    cdef MsgNode* last = p.mb_tail
    cdef MsgNode* node
    cdef int r
    cdef bint is_call = p.trap == T_CALL
    node = p.mb_head if prev == NULL else prev.next
    p.scanning = 1                      # pattern code may not change the mailbox
    while node != NULL:                 # (a pattern that raises: see _trap_failed)
        if is_call:
            r = _match_call(<Ref>p.patterns, <object>node.msg)
        else:
            r = _match_any(<tuple>p.patterns, <object>node.msg)
        if r:
            p.scanning = 0
            if _budget <= 0:            # out of reductions: let the others run first
                p.mb_save = prev
                _make_runnable(p)
                return _suspend(presult)
            _budget -= 1
            p.reductions += 1
            msg = _mb_take(p, prev, node)
            return _received(p, msg, presult)
        prev = node
        if node == last:
            break
        node = node.next
    p.scanning = 0
    p.mb_save = prev
    if p.deadline == POLL:
        if _budget <= 0:                # a polling loop is preempted too
            _make_runnable(p)
            return _suspend(presult)
        _budget -= 1
        return _receive_timed_out(p, presult)
    p.trap = _parked(p.trap)
    if p.mb_tail != prev:               # the patterns sent to p: scan those in another pass
        p.wake = _RESCAN
        _make_runnable(p)
        return _suspend(presult)
    p.state = S_WAITING
    if p.deadline >= 0 and (p.tnode == NULL or p.tnode.level < 0):
        _arm_process_timer(p)
    return _suspend(presult)


cdef int _received(Pid p, object msg, PyObject** presult) except -1:
    """The receive got ``msg``: return it (for a call, its reply or its error)."""
    cdef Ref ref
    if not _in_call(p.trap):
        _trap_reset(p)
        return _return(presult, msg)
    ref = <Ref>p.patterns
    _end_call(p, ref)
    if type(msg) is tuple:
        return _return(presult, (<tuple>msg)[1])
    reason = (<tuple>msg)[2]
    if _is_str(reason, "noproc"):
        raise NoProcess(f"call: no process {(<tuple>msg)[1]!r}")
    raise CallExit(reason, f"call: server {(<tuple>msg)[1]!r} exited with reason {reason!r}")


cdef int _receive_timed_out(Pid p, PyObject** presult) except -1:
    cdef Ref ref
    if _in_call(p.trap):
        ref = <Ref>p.patterns
        timeout = p.default
        _end_call(p, ref)
        raise Timeout(f"call timed out after {timeout} s (the late reply will be dropped)")
    default = p.default
    _trap_reset(p)
    if default is _NO_DEFAULT:
        raise Timeout("receive timed out: no matching message arrived in time")
    return _return(presult, default)


cdef void _end_call(Pid p, Ref ref) noexcept:
    """A call is over: kill its alias, drop its monitor (and a queued Down)."""
    cdef bint active
    ref.alias = ALIAS_DEAD
    active = _drop_call_monitor(ref)
    _trap_reset(p)
    if not active:                      # the server exited: its Down may be queued
        try:
            _mb_remove_down(p, ref)     # scans from the marker, not the whole mailbox
        except BaseException:
            pass


cdef bint _drop_call_monitor(Ref ref) noexcept:
    """Remove a call's monitor from its server; True if it was still active."""
    cdef Pid t = ref.call_target
    if t is None:
        return False
    ref.call_target = None
    if t.extra is None or t.extra.monitored_by is None:
        return False
    try:
        owner = t.extra.monitored_by.pop(ref, None)
    except BaseException:
        return False
    if owner is not None and t.remote is not None:
        _dist_notify("demonitor", (owner, t, ref))
    return owner is not None


cdef void _trap_reset(Pid p) noexcept:
    """Leave the current trap: forget patterns and scan state, disarm the timer
    (and a call's monitor, if the call ends any other way: a kill, a crash)."""
    if _in_call(p.trap) and type(p.patterns) is Ref:
        _drop_call_monitor(<Ref>p.patterns)
    p.marker_in_use = 0                 # (the marker stays until the next ref: a later
    p.trap = T_NONE                     # demonitor flush or receive on it can use it)
    p.patterns = None
    p.default = None
    p.mb_save = NULL
    if p.tnode != NULL and p.tnode.level >= 0:
        _sched.wheel.remove(p.tnode)


cdef int _arm_process_timer(Pid p) except -1:
    cdef TimerNode* t = p.tnode
    if t == NULL:
        t = <TimerNode*>malloc(sizeof(TimerNode))
        if t == NULL:
            raise MemoryError()
        t.prev = t.next = NULL
        t.level = -1
        t.owner = <PyObject*>p
        t.is_process = True
        p.tnode = t
    t.deadline = p.deadline
    _sched.add_timer(t)
    return 0
