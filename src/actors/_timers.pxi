# The hierarchical timer wheel, timer references and the mock clock.
#
# Ticks are milliseconds since the scheduler started (t0).  A timer for tick d
# inserted when the wheel's next unprocessed tick is `cur` goes to level k,
# the smallest with d - cur < 64**(k+1), slot (d >> 6k) & 63.  Since cur only
# grows, a level-k slot holds timers of one period v = d >> 6k, v in
# [ceil(cur / 64**k), that + 63]: the slot's next due period is found with a
# rotate and a count-trailing-zeros on the level's occupancy bitmap.  When a
# level-k period begins (tick v << 6k) its slot is cascaded: its timers are
# inserted again, now into lower levels.  Level-0 slots fire.

cdef enum:
    WHEEL_BITS = 6
    WHEEL_SLOTS = 64
    WHEEL_LEVELS = 6                    # 64**6 ms is about 2.2 years

cdef int64_t _WHEEL_SPAN = (<int64_t>1) << (WHEEL_BITS * WHEEL_LEVELS)

# A timeout longer than this (about 31 million years) is "never": it is not
# put on the wheel (its tick would not fit in an int64 of milliseconds).
cdef double MAX_TIMEOUT = 1e15

cdef enum:
    FOREVER = -2                        # TimerNode.level of a timer that never fires


@cython.final
cdef class _Wheel:
    # slots[level * 64 + slot]: doubly linked lists of armed TimerNodes;
    # bit s of occupied[level] is set iff that slot's list is non-empty.
    cdef TimerNode* slots[WHEEL_LEVELS * WHEEL_SLOTS]
    cdef uint64_t occupied[WHEEL_LEVELS]
    cdef int64_t cur                    # the next tick not yet processed
    cdef Py_ssize_t count               # armed timers

    cdef void insert(self, TimerNode* t) noexcept:
        cdef int64_t d = t.deadline
        cdef int64_t delta
        cdef int level = 0
        cdef int slot, idx
        if d < self.cur:
            d = self.cur
        delta = d - self.cur
        while level < WHEEL_LEVELS - 1 and delta >= ((<int64_t>1) << (WHEEL_BITS * (level + 1))):
            level += 1
        if delta >= _WHEEL_SPAN:        # beyond the top level: park at its far end
            d = self.cur + _WHEEL_SPAN - 1
        slot = <int>((d >> (WHEEL_BITS * level)) & (WHEEL_SLOTS - 1))
        idx = level * WHEEL_SLOTS + slot
        t.level = level
        t.slot = slot
        t.prev = NULL
        t.next = self.slots[idx]
        if t.next != NULL:
            t.next.prev = t
        self.slots[idx] = t
        self.occupied[level] |= (<uint64_t>1) << slot
        self.count += 1

    cdef void remove(self, TimerNode* t) noexcept:
        cdef int idx = t.level * WHEEL_SLOTS + t.slot
        if t.prev != NULL:
            t.prev.next = t.next
        else:
            self.slots[idx] = t.next
        if t.next != NULL:
            t.next.prev = t.prev
        if self.slots[idx] == NULL:
            self.occupied[t.level] &= ~((<uint64_t>1) << t.slot)
        t.level = -1
        t.prev = t.next = NULL
        self.count -= 1

    cdef int64_t next_event(self) noexcept:
        """The first tick at which a timer fires or a slot cascades (INT64_MAX: none)."""
        cdef int64_t best = INT64_MAX
        cdef int64_t c, t
        cdef int k, shift
        cdef uint64_t occ
        for k in range(WHEEL_LEVELS):
            occ = self.occupied[k]
            if occ == 0:
                continue
            shift = WHEEL_BITS * k
            c = (self.cur + ((<int64_t>1) << shift) - 1) >> shift
            t = (c + actors_ctz64(actors_rotr64(occ, <int>(c & (WHEEL_SLOTS - 1))))) << shift
            if t < best:
                best = t
        return best

    cdef TimerNode* detach(self, int level, int slot) noexcept:
        """Empty one slot and return its list (the nodes are marked unarmed)."""
        cdef int idx = level * WHEEL_SLOTS + slot
        cdef TimerNode* head = self.slots[idx]
        cdef TimerNode* n = head
        self.slots[idx] = NULL
        self.occupied[level] &= ~((<uint64_t>1) << slot)
        while n != NULL:
            n.level = -1
            self.count -= 1
            n = n.next
        return head

    cdef int advance(self, int64_t target) except -1:
        """Process every tick up to ``target``: cascade slots, fire due timers."""
        cdef int64_t ne
        cdef int k, slot
        cdef TimerNode* n
        cdef TimerNode* nxt
        while True:
            ne = self.next_event()
            if ne > target:
                break
            self.cur = ne
            for k in range(WHEEL_LEVELS - 1, 0, -1):
                if ne & (((<int64_t>1) << (WHEEL_BITS * k)) - 1) == 0:
                    slot = <int>((ne >> (WHEEL_BITS * k)) & (WHEEL_SLOTS - 1))
                    if self.occupied[k] & ((<uint64_t>1) << slot):
                        n = self.detach(k, slot)
                        while n != NULL:
                            nxt = n.next
                            self.insert(n)
                            n = nxt
            slot = <int>(ne & (WHEEL_SLOTS - 1))
            self.cur = ne + 1           # a timer armed while these fire is due next tick
            if self.occupied[0] & ((<uint64_t>1) << slot):
                n = self.detach(0, slot)
                while n != NULL:
                    nxt = n.next         # firing may free n
                    n.prev = n.next = NULL
                    _fire_timer(n)
                    n = nxt
        if self.cur <= target:
            self.cur = target + 1
        return 0

    cdef void clear(self) noexcept:
        """Disarm every timer (at shutdown); TimerRefs release their self-reference."""
        cdef int k, s
        cdef TimerNode* n
        cdef TimerNode* nxt
        for k in range(WHEEL_LEVELS):
            for s in range(WHEEL_SLOTS):
                if self.slots[k * WHEEL_SLOTS + s] != NULL:
                    n = self.detach(k, s)
                    while n != NULL:
                        nxt = n.next
                        n.prev = n.next = NULL
                        if not n.is_process:
                            _decref(n.owner)
                        n = nxt


@cython.final
@cython.freelist(64)
cdef class TimerRef:
    """A pending ``send_after`` (or ``Scheduler.call_later``): pass it to ``cancel_timer``."""
    cdef TimerNode node                 # node.owner is self; armed iff node.level >= 0;
                                        # FOREVER: pending but never due
    cdef object dest                    # a Pid, name or via; None for a callback timer
    cdef object msg                     # the message; for a callback timer, the callable
    cdef double due                     # when it is due, in seconds on the scheduler's
                                        # clock, as asked (the wheel rounds up to a tick)

    def __init__(self):
        raise TypeError("TimerRefs are made by actors.send_after()")

    def __repr__(self):
        state = "armed" if self.node.level >= 0 or self.node.level == FOREVER else "done"
        return f"<TimerRef {state} to {self.dest!r}>"


cdef TimerRef _arm_timer_ref(Scheduler s, object dest, object msg, double secs):
    """Arm a TimerRef: deliver ``msg`` to ``dest`` (or call ``msg()`` if dest is None).

    A timer to a pid is also kept in that pid's ``timers``, so that it is
    cancelled (and its message released) when the pid exits.
    """
    cdef TimerRef t = TimerRef.__new__(TimerRef)
    cdef _Extra x
    t.dest = dest
    t.msg = msg
    t.node.owner = <PyObject*>t
    t.node.is_process = False
    if type(dest) is Pid:
        x = _extra(<Pid>dest)
        if x.timers is None:
            x.timers = set()
        x.timers.add(t)
    t.due = s.now() + secs
    if secs > MAX_TIMEOUT:
        t.node.level = FOREVER
        return t
    t.node.level = -1
    t.node.deadline = s.tick_after(secs)
    _incref(<PyObject*>t)               # the wheel's reference, dropped when it fires
    s.add_timer(&t.node)
    return t


cdef void _untrack_timer(TimerRef t) noexcept:
    cdef Pid p
    if type(t.dest) is Pid:
        p = <Pid>t.dest
        if p.extra is not None and p.extra.timers is not None:
            p.extra.timers.discard(t)


cdef void _disarm_timer_ref(TimerRef t) noexcept:
    """Take an armed TimerRef off the wheel (it will not fire)."""
    if t.node.level >= 0:
        _sched.wheel.remove(&t.node)
        _untrack_timer(t)
        _decref(<PyObject*>t)
    elif t.node.level == FOREVER:
        t.node.level = -1
        _untrack_timer(t)


cdef int _fire_timer(TimerNode* n) except -1:
    """A timer came due: wake its process, or deliver its send_after message."""
    cdef Pid p
    cdef TimerRef tref
    if n.is_process:
        p = <Pid>n.owner
        if p.state == S_WAITING:
            if _awaits_message(p.trap):
                p.wake = _TIMEOUT
                _make_runnable(p)
            elif p.trap == T_SLEEP_PARKED:
                p.wake = None
                _make_runnable(p)
        return 0
    tref = <TimerRef>n.owner            # the wheel's reference, released below
    _untrack_timer(tref)
    try:
        dest = tref.dest
        if dest is None:
            tref.msg()
        elif type(dest) is Pid:
            _send_to_pid(<Pid>dest, tref.msg)
        else:
            target = _whereis(dest)     # a name is looked up when the timer fires
            if target is not None:
                _send_to_pid(<Pid>target, tref.msg)
    except BaseException:               # never abort the wheel half-way through a slot
        _emit(logging.ERROR, None, "timer", "actors: timer %r failed", (tref,), True,
              _log_fields(None, "timer_failed"))
    finally:
        _decref(n.owner)
    return 0


cdef inline int64_t _mono_ns() noexcept:
    return actors_monotonic_ns()


@cython.final
cdef class MockClock:
    """A virtual clock for tests: time moves only when told to.

    Pass it to ``actors.run(main, clock=MockClock())`` or
    ``actors.Runtime(clock=...)``.  ``receive(timeout=)``, ``sleep``,
    ``send_after`` and call timeouts then run on virtual time, so tests of
    timeouts are instant and deterministic (trio's ``MockClock``).

    Args:
        start: the initial virtual time, in seconds.
        autojump: when true, whenever every process is blocked and a timer is
            pending, time jumps straight to the next deadline.

    Example:
        >>> async def main():
        ...     return await actors.receive(timeout=60, default="nothing came")
        >>> actors.run(main, clock=actors.MockClock(autojump=True))   # takes no time
        'nothing came'
    """
    cdef double t
    cdef public bint autojump
    cdef Scheduler sched

    def __init__(self, start=0.0, autojump=False):
        start = _check_seconds(start, "start", False)
        if start > MAX_TIMEOUT:
            raise ValueError(f"MockClock(start): start={start!r} is past {MAX_TIMEOUT:g} s, "
                             f"beyond the range of the timer wheel")
        self.t = start
        self.autojump = autojump

    def __call__(self):
        """The current virtual time in seconds."""
        return self.t

    def advance(self, seconds):
        """Move time forward by ``seconds`` and fire every timer now due.

        Args:
            seconds: how far to move, >= 0.

        Raises:
            ValueError: the clock would pass MAX_TIMEOUT (1e15 s, some 30
                million years): beyond it timers could not be ordered.
        """
        seconds = _check_seconds(seconds, "seconds", False)
        if self.t + seconds > MAX_TIMEOUT:
            raise ValueError(
                f"MockClock.advance(seconds): seconds={seconds!r} would move the clock past "
                f"{MAX_TIMEOUT:g} s, beyond the range of the timer wheel")
        self.t += seconds
        if self.sched is not None and self.sched.active:
            self.sched.run_timers()

    def __repr__(self):
        return f"MockClock(time={self.t!r}, autojump={self.autojump!r})"


import numbers
cdef object _Real = numbers.Real


cdef double _check_seconds(object value, str name, bint allow_none) except? -1.0:
    """Validate a duration: a real number >= 0 (inf allowed); None if allowed (-> inf)."""
    cdef double v
    if value is None:
        if allow_none:
            return INFINITY
        raise TypeError(f"{name} must be a number of seconds, got None")
    if type(value) is float:            # the common cases, without the ABC check
        v = <double>value
    elif type(value) is int:
        v = float(value)
    elif isinstance(value, bool) or not isinstance(value, _Real):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    else:
        v = float(value)
    if isnan(v):
        raise ValueError(f"{name} must be a number of seconds, got NaN")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v
