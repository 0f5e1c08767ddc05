# The scheduler: run queue, resuming processes, driving the timer wheel.

cdef object _Future = asyncio.Future
cdef object _get_running_loop = asyncio.get_running_loop


@cython.final
cdef class Scheduler:
    """Runs processes on one asyncio event loop (low-level; see ``actors.Runtime``).

    Args:
        loop: the running asyncio loop to run on.
        clock: a zero-argument callable giving monotonic seconds (default
            ``time.monotonic``), or a ``MockClock``.
        tick_budget: at most this many process steps run per loop callback
            before the loop gets control back to serve I/O and timers.
        tick_seconds: ... and at most about this long (a step is never cut
            short: a tick ends after the step that crosses the budget).
        long_step: a process step that holds the loop longer than this many
            seconds is reported (a warning on logger ``actors`` naming the
            process and where it was, counted in ``long_steps``), as
            Erlang's ``system_monitor`` ``long_schedule``; None turns it off.
        asyncio_tasks: make each process asyncio's current task while it
            runs (so asyncio.timeout, TaskGroup, aiohttp work inside
            processes); False saves one dict write per step.
    """
    cdef readonly object loop
    cdef readonly object clock
    cdef MockClock mock
    cdef double t0
    cdef readonly bint active
    cdef int tick_budget
    cdef int64_t tick_ns                # the time budget of a tick
    cdef int64_t long_step_ns           # report steps longer than this (0: never)
    cdef bint slow_steps                # the last tick had a slow step: time each one

    # Run queue: a ring buffer rq[rq_first .. rq_first + rq_len) modulo rq_cap
    # (a power of two), holding one reference to each queued Pid.
    # tick_scheduled is true while a tick is queued on the loop or running.
    cdef PyObject** rq
    cdef Py_ssize_t rq_cap
    cdef Py_ssize_t rq_first
    cdef Py_ssize_t rq_len
    cdef bint tick_scheduled
    cdef object tick_cb

    # Live processes, in spawn order.
    cdef Pid procs_head
    cdef Pid procs_tail
    cdef Py_ssize_t nprocs
    cdef dict names                     # registered name -> Pid
    cdef dict exit_callbacks            # Pid -> [callback(pid, reason, result, exc, by_signal)]
    cdef list empty_waiters             # futures resolved when nprocs drops to 0

    # Timers.  `armed` is the tick the loop timer is set for (INT64_MAX: none).
    cdef _Wheel wheel
    cdef int64_t armed
    cdef object timer_handle
    cdef object timer_cb
    cdef bint autojump_scheduled

    # asyncio's {loop: current task} dict (None if this Python hides it): a
    # process is its loop's current "task" while it runs (see Pid.cancel).
    cdef dict current_tasks
    cdef Py_hash_t loop_hash

    # Statistics for introspection: process steps run, messages delivered,
    # nanoseconds spent running processes (in ticks).
    cdef readonly uint64_t steps
    cdef readonly uint64_t messages
    cdef int64_t busy_ns
    cdef readonly uint64_t long_steps   # steps longer than long_step, reported
    cdef readonly uint64_t crashes      # processes that ended by raising (crash reports)
    cdef readonly double longest_step   # seconds, the longest step seen

    def __init__(self, loop, clock=None, int tick_budget=TICK_STEPS, bint asyncio_tasks=True,
                 tick_seconds=TICK_SECONDS, long_step=LONG_STEP):
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        if tick_budget < 1:
            raise ValueError(f"tick_budget must be >= 1, got {tick_budget}")
        self.tick_ns = <int64_t>(_check_seconds(tick_seconds, "tick_seconds", False) * 1e9)
        if long_step is None:
            self.long_step_ns = 0
        else:
            self.long_step_ns = <int64_t>(_check_seconds(long_step, "long_step", False) * 1e9)
            if self.long_step_ns <= 0:
                raise ValueError(f"long_step must be > 0 seconds (or None), got {long_step!r}")
        self.loop = loop
        self.clock = clock
        if isinstance(clock, MockClock):
            self.mock = <MockClock>clock
        self.tick_budget = tick_budget
        self.names = {}
        self.exit_callbacks = {}
        self.empty_waiters = []
        self.wheel = _Wheel.__new__(_Wheel)
        self.rq_cap = RUN_QUEUE_CAPACITY
        self.rq = <PyObject**>malloc(self.rq_cap * sizeof(PyObject*))
        if self.rq == NULL:
            raise MemoryError()
        self.armed = INT64_MAX
        self.tick_cb = self._tick
        self.timer_cb = self._on_loop_timer
        ct = getattr(asyncio.tasks, "_current_tasks", None)
        self.current_tasks = ct if asyncio_tasks and type(ct) is dict else None
        self.loop_hash = hash(loop)

    def __dealloc__(self):
        self._clear_run_queue()
        free(self.rq)
        self.rq = NULL

    cdef void _clear_run_queue(self) noexcept:
        while self.rq_len > 0:
            _decref(self.rq[self.rq_first])
            self.rq_first = (self.rq_first + 1) & (self.rq_cap - 1)
            self.rq_len -= 1

    cdef int _grow_run_queue(self) except -1:
        cdef Py_ssize_t i, cap = self.rq_cap * 2
        cdef PyObject** rq = <PyObject**>malloc(cap * sizeof(PyObject*))
        if rq == NULL:
            raise MemoryError("actors: no memory to grow the run queue")
        for i in range(self.rq_len):
            rq[i] = self.rq[(self.rq_first + i) & (self.rq_cap - 1)]
        free(self.rq)
        self.rq = rq
        self.rq_cap = cap
        self.rq_first = 0
        return 0

    def activate(self):
        """Make this the scheduler that module-level functions use (from
        the thread that runs its loop)."""
        global _sched, _loop_thread
        if _sched is not None and _sched is not self:
            raise RuntimeError(
                "another actors runtime is already running in this interpreter "
                "(one runtime at a time)")
        _sched = self
        _loop_thread = PyThreadState_Get()
        self.active = True
        self.t0 = self.now()
        if self.mock is not None:
            self.mock.sched = self

    def close(self):
        """Stop: drop every remaining process and timer (no signals are sent)."""
        global _sched, _current, _loop_thread
        cdef Pid p
        while self.procs_head is not None:
            p = self.procs_head
            coro = p.coro
            p.exiting = 1
            _extra(p).exit_reason = "killed"
            _terminate(p, "killed", None, None, True)
            if coro is not None:
                try:
                    coro.close()
                except BaseException:
                    pass
        self._clear_run_queue()
        self.wheel.clear()
        _reports_at_close()
        if self.timer_handle is not None:
            self.timer_handle.cancel()
            self.timer_handle = None
        if self.mock is not None:
            self.mock.sched = None
        self.active = False
        if _sched is self:
            _sched = None
            _current = None
            _loop_thread = NULL

    # -- time --------------------------------------------------------------

    cpdef double now(self):
        """Seconds on this scheduler's clock."""
        if self.clock is None:
            return _mono_ns() * 1e-9
        return self.clock()

    cdef int64_t tick_after(self, double seconds) except? -1:
        """The first tick at or after ``seconds`` from now (never early)."""
        cdef double ticks = (self.now() + seconds - self.t0) * TICKS_PER_SECOND
        if ticks > FAR_TICKS:
            return NEVER_TICK
        return <int64_t>ceil(ticks - TICK_EPSILON)

    cdef int64_t now_tick(self) except? -1:
        return <int64_t>floor((self.now() - self.t0) * TICKS_PER_SECOND + TICK_EPSILON)

    cdef double seconds_until(self, int64_t tick) except? -1.0:
        cdef double left = self.t0 + tick / TICKS_PER_SECOND - self.now()
        return left if left > 0.0 else 0.0

    cdef int add_timer(self, TimerNode* t) except -1:
        self.wheel.insert(t)
        if self.mock is None:
            if self.wheel.next_event() < self.armed:
                self._arm_loop_timer()
        elif self.rq_len == 0 and not self.tick_scheduled:
            self._maybe_autojump()      # armed from outside any process, all of them blocked
        return 0

    cdef int _arm_loop_timer(self) except -1:
        cdef int64_t ev = self.wheel.next_event()
        if ev == INT64_MAX:
            return 0
        if self.timer_handle is not None:
            self.timer_handle.cancel()
        self.armed = ev
        self.timer_handle = self.loop.call_later(self.seconds_until(ev), self.timer_cb)
        return 0

    def call_later(self, seconds, fn):
        """Call ``fn()`` after ``seconds`` on this scheduler's clock (its timer wheel).

        Returns:
            A ``TimerRef``; ``cancel_timer`` cancels it.
        """
        cdef double secs = _check_seconds(seconds, "seconds", False)
        if not callable(fn):
            raise TypeError(f"call_later(seconds, fn): fn must be callable, got {fn!r}")
        return _arm_timer_ref(self, None, fn, secs)

    def _on_loop_timer(self):
        self.timer_handle = None
        self.armed = INT64_MAX
        self.run_timers()

    cpdef run_timers(self):
        """Fire every timer that is due now."""
        if not self.active:
            return
        self.wheel.advance(self.now_tick())
        if self.mock is None and self.wheel.count > 0:
            self._arm_loop_timer()

    def _autojump(self):
        """MockClock(autojump=True): every process is blocked, jump to the next timer."""
        cdef int64_t ev
        self.autojump_scheduled = False
        while (self.active and self.mock is not None and self.mock.autojump
               and self.rq_len == 0 and self.wheel.count > 0):
            ev = self.wheel.next_event()
            target = self.t0 + ev / TICKS_PER_SECOND
            if target > self.mock.t:
                self.mock.t = target
            self.wheel.advance(ev)

    cdef void _maybe_autojump(self) noexcept:
        if (self.mock is not None and self.mock.autojump and not self.autojump_scheduled
                and self.wheel.count > 0):
            self.autojump_scheduled = True
            try:
                self.loop.call_soon(self._autojump)
            except BaseException:
                self.autojump_scheduled = False

    # -- running processes -------------------------------------------------

    def _tick(self):
        # Time is read every `every` steps: every SAMPLE_STEPS while steps
        # are short (a clock read costs a sizeable part of a message), every
        # step once one is slow (then the read is noise, and a long step is
        # attributed exactly).  The steps since the last reading stay
        # referenced in `batch` so that a long one can be reported.
        cdef PyObject* p
        cdef PyObject* batch[SAMPLE_STEPS]
        cdef int n = 0                  # steps run, up to the last reading
        cdef int k = 0                  # steps since the last reading
        cdef int budget = self.tick_budget
        cdef int mode = 1 if self.slow_steps else SAMPLE_STEPS
        cdef int every = mode if mode < budget else budget     # steps until the next reading
        cdef int64_t started = _mono_ns()
        cdef int64_t last = started
        cdef int64_t now = started
        cdef bint slow = False
        while self.rq_len > 0:
            p = self.rq[self.rq_first]
            self.rq_first = (self.rq_first + 1) & (self.rq_cap - 1)
            self.rq_len -= 1
            if (<Pid>p).state == S_RUNNABLE:
                _step(<Pid>p)
            batch[k] = p
            k += 1
            if k == every:
                n += k
                now = _mono_ns()
                if self._end_batch(batch, k, now - last):
                    slow = True
                    mode = 1
                k = 0
                last = now
                if n >= budget or now - started >= self.tick_ns:
                    break
                every = mode if mode < budget - n else budget - n
        if k > 0:
            n += k
            now = _mono_ns()
            slow |= self._end_batch(batch, k, now - last)
        self.slow_steps = slow
        self.steps += n
        self.busy_ns += now - started
        if self.current_tasks is not None:
            self.current_tasks.pop(self.loop, None)
        if self.rq_len > 0 and self.active:
            self.loop.call_soon(self.tick_cb)
        else:
            self.tick_scheduled = False
            self._maybe_autojump()

    cdef bint _end_batch(self, PyObject** batch, int k, int64_t ns) noexcept:
        """``k`` steps took ``ns`` nanoseconds: report a long one, drop their
        references; True if they were slow (time every step from now on)."""
        cdef bint slow = ns > k * SLOW_STEP_NS
        if slow and ns > self.long_step_ns > 0:
            self._long_step(batch, k, ns)
        _release_batch(batch, k)
        return slow

    cdef void _long_step(self, PyObject** batch, int k, int64_t ns) noexcept:
        """Report ``k`` steps that held the loop for ``ns`` nanoseconds in all:
        one step, unless it came among short ones measured together."""
        cdef double secs = ns * 1e-9
        cdef int i
        cdef list who = []
        self.long_steps += 1
        if secs > self.longest_step:
            self.longest_step = secs
        try:
            if not _logger.isEnabledFor(logging.WARNING):
                return
            if not _report_allowed():       # a storm of long steps: counted, not all logged
                return
            for i in range(k):
                if <object>batch[i] not in who:
                    who.append(<object>batch[i])
            # The fields name the process when the step was one process's;
            # ``pids`` lists every candidate either way.
            fields = _log_fields(<Pid>who[0] if len(who) == 1 else None, "long_step")
            fields["duration"] = secs
            fields["pids"] = [repr(q) for q in who]
            if len(who) == 1:
                end = _step_end(<Pid>who[0])
                _emit(logging.WARNING, <Pid>who[0], "long_step",
                      "Long step: process %s held the event loop for %.0f ms%s. Every other "
                      "process and all asyncio I/O waited meanwhile. Offload blocking or "
                      "CPU-heavy work with `await actors.to_thread(fn)`.",
                      (_describe_step(<Pid>who[0]), secs * 1e3, f"; it then {end}" if end else ""),
                      None, fields)
            else:
                _emit(logging.WARNING, None, "long_step",
                      "Long step: the event loop was held for %.0f ms by a step of one of "
                      "these processes: %s. Offload blocking or CPU-heavy work with "
                      "`await actors.to_thread(fn)`.",
                      (secs * 1e3, "; ".join([_describe_candidate(<Pid>q) for q in who])), None, fields)
        except BaseException:
            actors_fetch_exception()

    # -- introspection hooks used by the Python layers ---------------------

    def on_exit(self, Pid pid, callback, *, bint report=True):
        """Call ``callback(pid, reason, result, exc, by_signal)`` when ``pid`` exits.

        ``result`` is the return value of a normal exit; ``exc`` the exception
        that ended it (a crash or a ProcessExit it raised), else None;
        ``by_signal`` is true when an exit signal killed it.  If the process
        is already dead, nothing is called and False is returned.

        ``report=False``: the caller takes the crash over (``actors.run``
        raises ``main``'s exception to its own caller), so the core writes no
        crash report for ``pid``: a crash is reported once.
        """
        if pid.state == S_DEAD:
            return False
        self.exit_callbacks.setdefault(pid, []).append(callback)
        if not report:
            _extra(pid).no_report = True
        return True

    def wait_empty(self):
        """A future resolved when no process is left."""
        fut = self.loop.create_future()
        if self.nprocs == 0:
            fut.set_result(None)
        else:
            self.empty_waiters.append(fut)
        return fut

    @property
    def busy_seconds(self):
        """Seconds spent running processes since the scheduler started."""
        return self.busy_ns * 1e-9

    @property
    def process_count(self):
        """How many processes are alive."""
        return self.nprocs

    @property
    def run_queue_length(self):
        """How many processes are waiting to run."""
        return self.rq_len

    def processes(self):
        """Every live process, in spawn order."""
        cdef list out = []
        cdef Pid p = self.procs_head
        while p is not None:
            out.append(p)
            p = p.pl_next
        return out


cdef inline void _release_batch(PyObject** batch, int k) noexcept:
    cdef int i
    for i in range(k):
        _decref(batch[i])


cdef str _describe_step(Pid p):
    """``<0.5.0> (registered name: ..., initial call: ...)``."""
    name = p.extra.name if p.extra is not None else None
    return f"{p!r} (registered name: {name}, initial call: {_initial_call(p)})"


cdef str _step_end(Pid p):
    """How the step of ``p`` ended: ``"exited"``, ``"waited at fn (file:line)"``, or ""."""
    if p.state == S_DEAD:
        return "exited"
    fn = _current_function(p)
    return f"waited at {fn[0]} ({fn[1]}:{fn[2]})" if fn is not None else ""


cdef str _describe_candidate(Pid p):
    """``<0.5.0> (registered name: ..., initial call: ..., then waited at ...)``."""
    name = p.extra.name if p.extra is not None else None
    end = _step_end(p)
    return (f"{p!r} (registered name: {name}, initial call: {_initial_call(p)}"
            f"{', then ' + end if end else ''})")


cdef inline void _make_runnable(Pid p) noexcept:
    """Queue ``p`` to run (from waiting, or requeued while running)."""
    if p.state == S_RUNNABLE or p.state == S_DEAD:
        return
    if _sched.rq_len == _sched.rq_cap:
        try:
            _sched._grow_run_queue()
        except BaseException:
            _emit(logging.CRITICAL, p, "run_queue", "actors: cannot queue %r to run: out of memory",
                  (p,), None, _log_fields(p, "internal_error"))
            return
    p.state = S_RUNNABLE
    _incref(<PyObject*>p)
    _sched.rq[(_sched.rq_first + _sched.rq_len) & (_sched.rq_cap - 1)] = <PyObject*>p
    _sched.rq_len += 1
    if not _sched.tick_scheduled:
        _schedule_tick()


cdef void _schedule_tick() noexcept:
    _sched.tick_scheduled = True
    try:
        _sched.loop.call_soon(_sched.tick_cb)
    except BaseException:
        _sched.tick_scheduled = False


cdef void _step(Pid p) noexcept:
    """Resume ``p`` once.  The fast path: it parks in a trap again."""
    global _current, _budget
    cdef PyObject* res = NULL
    cdef PySendResult st
    if p.exiting or p.trap == T_THROW:
        _step_slow(p)
        return
    value = p.wake
    p.wake = None
    _current = p
    p.state = S_RUNNING
    p.reductions += 1
    _budget = REDUCTIONS
    _as_current_task(p)
    _context_enter(p.ctx)               # fails only if ctx is entered already: never
    st = PyIter_Send(<PyObject*>p.coro, <PyObject*>value, &res)
    _context_exit(p.ctx)
    _current = None
    if st == PYGEN_NEXT and res == <PyObject*>_TRAP and not p.killed:
        _decref(res)
        return
    _step_outcome(p, st, res)


cdef inline void _as_current_task(Pid p) noexcept:
    """Make ``p`` what asyncio.current_task() returns while it runs."""
    if _sched.current_tasks is not None:
        if _dict_setitem_hashed(_sched.current_tasks, _sched.loop, p, _sched.loop_hash) < 0:
            actors_fetch_exception()


cdef void _step_outcome(Pid p, PySendResult st, PyObject* res) noexcept:
    """What a fast-path resume ended with, when it was not a trap: a foreign
    yield, a return, an exception, or a kill accepted while it ran."""
    try:
        if st == PYGEN_NEXT:
            value = <object>res
            _decref(res)
            _after_resume(p, RESUME_YIELDED, value)
        elif st == PYGEN_RETURN:
            value = <object>res
            _decref(res)
            _after_resume(p, RESUME_RETURNED, value)
        else:
            _after_resume(p, RESUME_RAISED, actors_fetch_exception())
    except BaseException:
        _internal_error(p)


cdef int _after_resume(Pid p, int how, object value) except -1:
    """``p`` yielded ``value``, returned it, raised it, or was closed after a
    kill (``how``, a RESUME_*): wait for what it yielded, or end it."""
    if how == RESUME_YIELDED:
        if value is not _TRAP:
            _on_foreign_yield(p, value)
        if p.killed and p.state != S_DEAD:
            _close_killed(p)
        return 0
    if p.trap != T_NONE:
        _trap_reset(p)
    return _finish(p, how, value)


cdef void _step_slow(Pid p) noexcept:
    """Resume ``p`` off the fast path: with the exit signal it accepted (thrown,
    or a close for "kill"), or by raising an exception queued by _queue_throw."""
    global _current, _budget
    cdef int how
    _current = p
    p.state = S_RUNNING
    _budget = REDUCTIONS
    _as_current_task(p)
    try:
        _context_enter(p.ctx)
        try:
            if p.exiting:
                how, value = _deliver_exit(p)
            else:
                exc = p.wake
                p.wake = None
                p.trap = T_NONE
                how, value = _throw(p, exc)
        finally:
            _context_exit(p.ctx)
            _current = None
        _after_resume(p, how, value)
    except BaseException:
        _internal_error(p)


cdef tuple _throw(Pid p, object exc):
    """Raise ``exc`` in ``p``'s coroutine: (RESUME_YIELDED, yielded),
    (RESUME_RETURNED, returned) or (RESUME_RAISED, raised)."""
    try:
        return RESUME_YIELDED, p.coro.throw(exc)
    except StopIteration as e:
        return RESUME_RETURNED, e.value
    except BaseException as e:
        return RESUME_RAISED, e


cdef void _internal_error(Pid p) noexcept:
    """A bug in actors itself while handling ``p``: log it and end ``p``, never the scheduler."""
    global _current
    _current = None
    exc = actors_fetch_exception()
    try:
        _emit(logging.CRITICAL, p, "internal_error", "actors: internal error while running %r", (p,),
              (type(exc), exc, getattr(exc, "__traceback__", None)), _log_fields(p, "internal_error"))
        if p.state != S_DEAD:
            _terminate(p, exc, None, exc, False)
    except BaseException:
        pass


cdef tuple _deliver_exit(Pid p):
    """Throw the accepted exit signal into ``p``, or close it: for "kill", and
    for a process that has caught the signal EXIT_RAISES times already."""
    p.wake = None
    if p.trap != T_NONE:
        _trap_reset(p)
    if _raise_exit_again(p):
        return _throw(p, ProcessExit(p.extra.exit_reason))
    _close_coro(p)                      # (we are inside p's context already)
    return RESUME_CLOSED, None


cdef void _close_coro(Pid p) noexcept:
    """Close ``p``'s coroutine, as ``p`` (its traps must see it as current, so
    that code which catches GeneratorExit and awaits again is stopped by
    CPython's "coroutine ignored GeneratorExit", not looped in a RuntimeError)."""
    global _current
    if p.coro is None:
        return
    _current = p
    p.killed = 1
    try:
        p.coro.close()
    except RuntimeError:                # "coroutine ignored GeneratorExit"?
        if getattr(p.coro, "cr_frame", None) is None:
            return                      # no: a finally block raised; it is closed
        p.ignored_exit = 1
        if _logger.isEnabledFor(logging.WARNING) and _report_allowed():
            reason = p.extra.exit_reason if p.extra is not None else "killed"
            fields = _log_fields(p, "exit_ignored")
            fields["reason"] = _log_value(reason)
            _emit(logging.WARNING, p, "exit_ignored",
                  "Process %r (initial call: %s) caught its exit signal and awaited again; "
                  "closed as killed with reason %r. Do not catch BaseException around an "
                  "await in a process: catch Exception.",
                  (p, fields["initial_call"], reason), None, fields)
    except BaseException:
        pass


cdef void _close_killed(Pid p) noexcept:
    """``p`` was killed while it ran: close it now, whatever it awaits."""
    global _current
    try:
        _abandon_wait(p)
        _current = p
        _context_enter(p.ctx)
        _close_coro(p)
        _context_exit(p.ctx)
        _current = None
        _finish(p, RESUME_CLOSED, None)
    except BaseException:
        _emit(logging.ERROR, p, "internal_error", "actors: closing killed process %r failed", (p,),
              True, _log_fields(p, "internal_error"))


cdef int _on_foreign_yield(Pid p, object value) except -1:
    """The coroutine yielded something other than our trap: an asyncio future, a
    bare checkpoint, or something we cannot wait for."""
    blocking = getattr(value, "_asyncio_future_blocking", None) if value is not None else None
    if p.exiting:
        return _exiting_yield(p, value, blocking)
    if value is None:                   # bare yield: asyncio.sleep(0)
        _make_runnable(p)
        return 0
    if blocking is not None:
        if not blocking:
            return _queue_throw(p, RuntimeError(
                f"yield was used instead of yield from in process {p!r} with {value!r}"))
        value._asyncio_future_blocking = False
        try:
            loop = value.get_loop()
        except AttributeError:
            loop = _sched.loop
        if loop is not _sched.loop:
            return _queue_throw(p, RuntimeError(
                f"process {p!r} awaited a future {value!r} attached to a different loop"))
        p.state = S_WAITING
        p.wake = value
        value.add_done_callback(p._on_future_done)
        if p.extra is not None and p.extra.cancel_pending:
            _cancel_process(p, p.extra.cancel_msg, True)
        return 0
    return _queue_throw(p, RuntimeError(
        f"process {p!r} awaited something actors cannot wait for: it yielded {value!r}. "
        f"Inside a process, await actors' own awaitables (receive, sleep, calls) or "
        f"asyncio awaitables; are you using a library written for another framework "
        f"(trio, curio, twisted)?"))


cdef int _exiting_yield(Pid p, object value, object blocking) except -1:
    """An exiting process awaited something else than an actors trap (an
    asyncio future, a bare yield): it may not wait.  Cancel the future and
    queue the exit signal again (see _exiting_await); _after_resume closes a
    killed one."""
    if blocking:
        value._asyncio_future_blocking = False
        try:
            value.cancel()
        except BaseException:
            _emit(logging.ERROR, p, "internal_error",
                  "actors: cancelling the future awaited by exiting %r failed", (p,),
                  True, _log_fields(p, "internal_error"))
    if not p.killed:
        _make_runnable(p)
    return 0


cdef object _CancelledError = asyncio.CancelledError


cdef object _cancel_process(Pid p, object msg, bint pending=False):
    """asyncio-style cancel: CancelledError at ``p``'s current await.

    A waiting process is taken off what it waits on and gets the error on its
    next step; one that is running gets it at its next suspension.
    """
    cdef _Extra x
    if p.state == S_DEAD or p.exiting:
        return False
    x = _extra(p)
    if not pending:
        x.cancelling += 1
    if p.state == S_RUNNING:
        x.cancel_pending = True
        x.cancel_msg = msg
        return True
    x.cancel_pending = False
    x.cancel_msg = None
    if p.state == S_WAITING:
        _abandon_wait(p)
    elif p.state == S_RUNNABLE:
        _restore_handoff(p)
        if p.trap != T_NONE:
            _trap_reset(p)
    p.trap = T_THROW
    p.wake = _CancelledError(msg) if msg is not None else _CancelledError()
    if p.state != S_RUNNABLE:
        _make_runnable(p)
    return True


cdef int _queue_throw(Pid p, object exc) except -1:
    """Raise ``exc`` inside ``p`` at its current await, on its next step (queued,
    so a process that retries in a loop cannot recurse through the scheduler)."""
    p.trap = T_THROW
    p.wake = exc
    _make_runnable(p)
    return 0
