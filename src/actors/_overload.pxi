# Overload protection for crash reports: a burst limit, as OTP logger's.
#
# Formatting a crash report (a traceback) and writing it costs ~50 times what
# the crash itself costs, so a crash storm logged in full drowns the system:
# the loop spends its time writing stderr and timers wake up a second late.
# Like OTP logger's burst_limit_enable / burst_limit_max_count /
# burst_limit_window_time (defaults: on, 500, 1000 ms), at most ``max_count``
# reports are emitted per ``window`` seconds.  Beyond that a report is
# dropped by one counter check, before anything is formatted, and once the
# window is over a single warning says how many were dropped ("N crash
# reports dropped in the last 1 s").  The core's crash reports (_log_exit)
# and the OTP layers' error reports (through ``lowlevel.report_allowed()``)
# share the limit.
#
# Invariants: reports allowed in the current window = ``_rl_count`` (never
# more than ``_rl_max``); reports dropped in it and not yet summarised =
# ``_rl_dropped``.  The window opens at the first report after the previous
# one ended (fixed windows, as OTP).  While ``_rl_dropped > 0`` a timer on
# the scheduler's clock (``_rl_timer_sched`` is the scheduler it was armed on)
# logs the summary when the window ends, so it is written even if no report
# follows; a report arriving after the window ended writes it first.  Time is
# the scheduler's clock (``MockClock`` in tests), the monotonic clock outside
# a runtime; a clock that went back opens a new window.  A runtime that stops
# summarises its pending drops and leaves a fresh window to the next one.

cdef Py_ssize_t _rl_max = 500           # reports per window; -1: no limit
cdef double _rl_window = 1.0            # seconds
cdef double _rl_start = -INFINITY       # when the current window opened
cdef Py_ssize_t _rl_count = 0
cdef Py_ssize_t _rl_dropped = 0
cdef object _rl_timer_sched = None


cdef inline double _rl_now():
    return _sched.now() if _sched is not None else _mono_ns() * 1e-9


cdef bint _report_allowed() noexcept:
    """Count one report: True if it may be emitted, False if it is dropped."""
    global _rl_start, _rl_count, _rl_dropped
    if _rl_max < 0:
        return True
    cdef double now
    try:
        now = _rl_now()
    except BaseException:               # a broken clock must not lose a report
        return True
    if now - _rl_start >= _rl_window or now < _rl_start:
        if _rl_dropped:
            _rl_summarise()
        _rl_start = now
        _rl_count = 0
    if _rl_count < _rl_max:
        _rl_count += 1
        return True
    _rl_dropped += 1
    if _rl_dropped == 1 and _sched is not None and _rl_timer_sched is not _sched:
        _rl_arm(now)
    return False


cdef void _rl_summarise() noexcept:
    """Log how many reports the window that just ended dropped (once)."""
    global _rl_dropped
    cdef Py_ssize_t n = _rl_dropped
    _rl_dropped = 0
    try:
        fields = _log_fields(None, "reports_dropped")
        fields["dropped"] = n
        fields["max_count"] = _rl_max
        fields["window"] = _rl_window
        _emit(logging.WARNING, None, "set_crash_report_limit",
              "actors: %d crash reports dropped in the last %g s (more than %d per "
              "%g s; actors.lowlevel.set_crash_report_limit() changes the limit)",
              (n, _rl_window, _rl_max, _rl_window), None, fields)
    except BaseException:
        pass


cdef void _rl_arm(double now) noexcept:
    global _rl_timer_sched
    try:
        _sched.call_later(max(0.0, _rl_start + _rl_window - now), _rl_window_over)
        _rl_timer_sched = _sched
    except BaseException:
        pass


def _rl_window_over():
    """Timer: the window with drops is over, or not yet (the clock went back)."""
    global _rl_timer_sched
    _rl_timer_sched = None
    if not _rl_dropped:
        return
    now = _rl_now()
    if now - _rl_start >= _rl_window or now < _rl_start:
        _rl_summarise()
    else:
        _rl_arm(now)


cdef void _reports_at_close() noexcept:
    """The runtime stops: summarise pending drops now (their timer is gone)
    and let the next runtime start with a fresh window."""
    global _rl_start, _rl_count, _rl_timer_sched
    if _rl_dropped:
        _rl_summarise()
    _rl_start = -INFINITY
    _rl_count = 0
    _rl_timer_sched = None


def report_allowed():
    """Count one error report against the crash-report limit.

    Libraries built on actors call it before logging a report that a storm
    could repeat (the supervisors and GenServer do): ``if
    lowlevel.report_allowed(): logger.error(...)``.  The core's own crash
    reports use the same limit.

    Returns:
        True if the report may be logged; False if the limit of this window is
        reached (the report is counted as dropped, and a summary of the drops
        is logged when the window ends).
    """
    return _report_allowed()


def set_crash_report_limit(max_count=500, window=1.0):
    """Set the burst limit on crash and error reports (OTP logger's
    ``burst_limit_max_count`` and ``burst_limit_window_time``).

    At most ``max_count`` reports are logged per ``window`` seconds; the rest
    are dropped before they are formatted, and one warning per window says
    how many.  It also starts a fresh window.  The defaults are OTP's.

    Args:
        max_count: reports allowed per window, an int >= 1; None for no limit
            (OTP's ``burst_limit_enable = false``).
        window: the window's length in seconds, > 0.

    Returns:
        The previous ``(max_count, window)``.

    Raises:
        TypeError, ValueError: a bad ``max_count`` or ``window``.
    """
    global _rl_max, _rl_window, _rl_start, _rl_count, _rl_dropped
    if max_count is not None:
        if type(max_count) is bool or not isinstance(max_count, int):
            raise TypeError(f"set_crash_report_limit(max_count=...): must be an int >= 1 or None, "
                            f"got {max_count!r}")
        if max_count < 1:
            raise ValueError(f"set_crash_report_limit(max_count=...): must be an int >= 1 or None, "
                             f"got {max_count!r}")
    window = _check_seconds(window, "set_crash_report_limit(window=...)", False)
    if not window > 0 or window == INFINITY:
        raise ValueError(f"set_crash_report_limit(window=...): must be a number of seconds > 0, "
                         f"got {window!r}")
    old = (None if _rl_max < 0 else _rl_max, _rl_window)
    if _rl_dropped:
        _rl_summarise()
    _rl_max = -1 if max_count is None else max_count
    _rl_window = window
    _rl_start = -INFINITY
    _rl_count = 0
    return old
