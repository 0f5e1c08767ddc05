# Exit signals, links, monitors, and the end of a process.


cdef int _accept_exit(Pid p, object reason, bint untrappable) except -1:
    """``p`` will exit with ``reason`` at its current await (a signal killed it).

    A "kill" also overrides an exit already under way (a process whose
    cleanup awaits forever can still be killed).
    """
    if p.state == S_DEAD or p.killed or (p.exiting and not untrappable):
        return 0
    p.exiting = 1
    p.killed = untrappable
    _extra(p).exit_reason = reason
    if p.state == S_WAITING:
        _abandon_wait(p)
        _make_runnable(p)
    elif p.state == S_RUNNABLE:
        _restore_handoff(p)
    return 0


cdef int _restore_handoff(Pid p) except -1:
    """A message handed to ``p`` but not yet received goes back to its mailbox,
    where it arrived (right after the save pointer), so an exit that ``p``
    catches loses nothing."""
    if _awaits_message(p.trap) and \
            p.wake is not _TIMEOUT and p.wake is not _RESCAN:
        _mb_insert_after(p, p.mb_save, p.wake)
        p.wake = None
    return 0


cdef void _abandon_wait(Pid p) noexcept:
    """Take ``p`` off its trap, timer or future (it is about to be resumed differently)."""
    if p.tnode != NULL and p.tnode.level >= 0:
        _sched.wheel.remove(p.tnode)
    if p.trap != T_NONE:
        _trap_reset(p)
    fut = p.wake
    p.wake = None
    if fut is not None and p.state == S_WAITING:
        # An asyncio future it was awaiting: cancel it, as Task.cancel() does.
        try:
            fut.remove_done_callback(p._on_future_done)
            fut.cancel()
        except BaseException:
            _emit(logging.ERROR, p, "internal_error", "actors: cancelling the future awaited by %r failed",
                  (p,), True, _log_fields(p, "internal_error"))


cdef int _signal(Pid target, object sender, object reason, bint from_link) except -1:
    """Deliver an exit signal from ``sender`` (a Pid or None) to ``target``.

    The BEAM's rules: "kill" sent with exit() cannot be trapped and the target
    exits "killed"; a trapping target gets an Exit message; "normal" is ignored
    unless the target signals itself; any other reason kills the target with
    that reason (a "kill" arriving through a link is an ordinary reason).
    """
    if target.state == S_DEAD:
        if target.remote is not None:
            _dist_notify("exit", (sender, target, reason, from_link))
        return 0
    if target.exiting:
        if not from_link and _is_str(reason, "kill"):
            _accept_exit(target, "killed", True)
        return 0
    if not from_link and _is_str(reason, "kill"):
        _accept_exit(target, "killed", True)
    elif target.trap_exit:
        _send_to_pid(target, _make_exit(sender, reason))
    elif _is_str(reason, "normal"):
        if target is sender and not from_link:
            _accept_exit(target, reason, False)
    else:
        _accept_exit(target, reason, False)
    return 0


cdef int _link(Pid a, Pid b) except -1:
    if a.links is None:
        a.links = set()
    if b.links is None:
        b.links = set()
    a.links.add(b)
    b.links.add(a)
    return 0


cdef int _add_monitor(Pid owner, Pid target, Ref ref) except -1:
    cdef _Extra ox = _extra(owner)
    cdef _Extra tx = _extra(target)
    if ox.monitors is None:
        ox.monitors = {}
    if tx.monitored_by is None:
        tx.monitored_by = {}
    ox.monitors[ref] = target
    tx.monitored_by[ref] = owner
    return 0


cdef object _remove_monitor(Pid owner, Ref ref):
    """Drop the monitor ``ref`` held by ``owner``: the Pid it monitored, or
    None if it was not active."""
    cdef Pid target
    if owner.extra is None or owner.extra.monitors is None:
        return None
    t = owner.extra.monitors.pop(ref, None)
    if t is None:
        return None
    target = <Pid>t
    if target.extra is not None and target.extra.monitored_by is not None:
        target.extra.monitored_by.pop(ref, None)
    return target


cdef int _finish(Pid p, int how, object value) except -1:
    """The coroutine of ``p`` ended: work out its exit reason and terminate it.

    how: RESUME_RETURNED (``value`` is its result), RESUME_RAISED (``value``
    is the exception) or RESUME_CLOSED (closed after a kill).
    """
    cdef object reason
    cdef object exc = None
    cdef object result = None
    cdef bint by_signal = p.exiting
    if by_signal:
        reason = p.extra.exit_reason
    elif how == RESUME_RETURNED:
        reason = "normal"
        result = value
    elif isinstance(value, ProcessExit):
        reason = (<object>value).reason
        exc = value
        if not _is_normal_exit(reason):
            _count_crash()
            _log_exit(p, reason, value)
    else:
        reason = value
        exc = value
        _count_crash()
        _log_exit(p, reason, value)
    _terminate(p, reason, result, exc, by_signal)
    return 0


cdef inline void _count_crash() noexcept:
    if _sched is not None:
        _sched.crashes += 1


cdef void _log_exit(Pid p, object reason, object exc):
    """The crash report of ``p`` (ERROR on "actors.core"), unless its crash is
    raised to a caller (``Scheduler.on_exit(..., report=False)``)."""
    if p.extra is not None and p.extra.no_report:
        return
    try:
        if not _logger.isEnabledFor(logging.ERROR):
            return                      # (before the burst limit counts it)
        if not _report_allowed():       # a crash storm: counted, dropped (_overload.pxi)
            return
        fields = _log_fields(p, "crash")
        fields["reason"] = _log_value(reason)
        _emit(logging.ERROR, p, "crash",
              "Process %r (registered name: %s, initial call: %s) exited with reason: %r",
              (p, fields["registered_name"], fields["initial_call"], reason),
              (type(exc), exc, exc.__traceback__) if isinstance(exc, BaseException) else None,
              fields)
    except BaseException:
        pass


cdef void _drop_undead_coro(Pid p) noexcept:
    """Drop the coroutine of a process that ignored GeneratorExit (already
    reported): CPython's finalizer closes it once more and would print
    "coroutine ignored GeneratorExit" a second time."""
    hook = sys.unraisablehook
    sys.unraisablehook = _ignore_unraisable
    try:
        p.coro = None
    finally:
        sys.unraisablehook = hook


def _ignore_unraisable(unraisable):
    pass


cdef int _terminate(Pid p, object reason, object result, object exc, bint by_signal) except -1:
    """Release everything ``p`` holds and tell its links and monitors, in that order.

    The name is released before links and monitors hear of the exit, so a
    supervisor can restart ``p`` under the same name at once.
    """
    cdef Scheduler s = _sched
    cdef _Extra x = p.extra
    p.state = S_DEAD
    p.trap = T_NONE
    _unlist(s, p)
    _release_name_mailbox_timer(s, p)
    _signal_links(p, reason)
    if x is not None:
        _notify_monitors(p, x, reason)
        x.dictionary = None
        _cancel_send_after_timers(x)
    _drop_coroutine(p)
    p.ctx = None
    _run_exit_callbacks(s, p, reason, result, exc, by_signal)
    _wake_empty_waiters(s)
    return 0


cdef inline void _unlist(Scheduler s, Pid p) noexcept:
    """Take ``p`` out of the scheduler's list of live processes."""
    if p.pl_prev is None:
        s.procs_head = p.pl_next
    else:
        p.pl_prev.pl_next = p.pl_next
    if p.pl_next is None:
        s.procs_tail = p.pl_prev
    else:
        p.pl_next.pl_prev = p.pl_prev
    p.pl_prev = p.pl_next = None
    s.nprocs -= 1


cdef int _release_name_mailbox_timer(Scheduler s, Pid p) except -1:
    """Free ``p``'s registered name, disarm its timer, drop its mailbox and receive state."""
    if p.extra is not None and p.extra.name is not None:
        s.names.pop(p.extra.name, None)
    if p.tnode != NULL and p.tnode.level >= 0:
        s.wheel.remove(p.tnode)
    _mb_clear(p)
    p.marker_ref = None
    p.patterns = p.default = p.wake = None
    return 0


cdef int _signal_links(Pid p, object reason) except -1:
    """Unlink ``p`` from every linked process and send each an exit signal."""
    cdef Pid q
    links = p.links
    p.links = None
    if links is not None:
        for other in links:
            q = <Pid>other
            if q.links is not None:
                q.links.discard(p)
            _signal(q, p, reason, True)
    return 0


cdef int _notify_monitors(Pid p, _Extra x, object reason) except -1:
    """Drop the monitors ``p`` holds; send ``Down`` to every process monitoring it."""
    cdef Pid q
    if x.monitors is not None:
        for ref, target in x.monitors.items():
            q = <Pid>target
            if q.extra is not None and q.extra.monitored_by is not None:
                q.extra.monitored_by.pop(ref, None)
            if q.remote is not None:
                _dist_notify("demonitor", (p, q, ref))
    if x.monitored_by is not None:
        for ref, owner in x.monitored_by.items():
            q = <Pid>owner
            if q.extra is not None and q.extra.monitors is not None:
                q.extra.monitors.pop(ref, None)
            if q.remote is not None:
                _dist_notify("down", (p, q, ref, reason))
            else:
                _send_to_pid(q, _make_down(ref, _down_subject(p), reason))
    x.monitors = x.monitored_by = None
    return 0


cdef int _cancel_send_after_timers(_Extra x) except -1:
    """Cancel the send_after timers addressed to the dead process."""
    if x.timers is not None:
        timers = list(x.timers)
        x.timers = None
        for tref in timers:
            _disarm_timer_ref(<TimerRef>tref)
    return 0


cdef void _drop_coroutine(Pid p) noexcept:
    """Drop the coroutine as ``p``: a killed coroutine that swallows
    GeneratorExit is closed once more by CPython here, and its receive() must
    suspend (so CPython stops it) rather than raise "not in a process" in a loop."""
    global _current
    cdef Pid running = _current
    _current = p
    if p.exiting:
        p.killed = 1
    if p.ignored_exit:
        _drop_undead_coro(p)
    else:
        p.coro = None
    _current = running


cdef int _run_exit_callbacks(Scheduler s, Pid p, object reason, object result,
                             object exc, bint by_signal) except -1:
    """Call the ``Scheduler.on_exit`` callbacks registered for ``p`` (errors are logged)."""
    if s.exit_callbacks is not None:
        callbacks = s.exit_callbacks.pop(p, None)
        if callbacks is not None:
            for cb in callbacks:
                try:
                    cb(p, reason, result, exc, by_signal)
                except BaseException:
                    _emit(logging.ERROR, p, "exit_callback", "actors: exit callback for %r failed",
                          (p,), True, _log_fields(p, "internal_error"))
    return 0


cdef int _wake_empty_waiters(Scheduler s) except -1:
    """The last process exited: resolve the ``Scheduler.wait_empty`` futures."""
    if s.nprocs == 0 and s.empty_waiters:
        waiters = s.empty_waiters
        s.empty_waiters = []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
    return 0
