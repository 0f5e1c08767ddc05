# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True, embedsignature=True, embedsignature.format=clinic, binding=False
"""The compiled core of actors: processes, mailboxes, patterns, timers, signals.

Scheduling policy
-----------------
One ``Scheduler`` per interpreter drives every process on one asyncio loop.
A process is a coroutine plus a ``Pid`` (its control block).  Runnable
processes sit in an intrusive FIFO run queue.  The scheduler runs as a
``loop.call_soon`` callback, armed only when the queue goes from empty to
non-empty; each tick resumes processes (``PyIter_Send``, no StopIteration on
the hot path) until the queue is empty, ``TICK_STEPS`` steps have run or
``TICK_SECONDS`` have passed (the clock is read every ``SAMPLE_STEPS`` steps
while steps are short, every step once one is slow), then
gives the loop back so I/O, timers and other tasks are served (trio's
``unrolled_run``, uvloop's idle handlers, curio's kernel loop do the same).
Each resume runs inside the process's own ``contextvars.Context``.

A resumed coroutine either finishes, raises, or yields.  It yields our trap
token (it parked in ``receive``/``sleep``/``call``, or asked to be requeued),
an asyncio future (we wait for it as ``asyncio.Task.__step`` does), or
``None`` (a bare checkpoint, e.g. ``asyncio.sleep(0)``).  Anything else is
thrown back into the process as a ``RuntimeError`` that explains.

Operations that never block return without suspending: ``send`` is a plain
call, and a ``receive`` whose match is already queued returns at once (curio
keeps sending into a task until a trap really suspends).  Fairness comes from
a reduction budget: a step that has used ``REDUCTIONS`` reductions (sends,
received messages, resumes) makes its next such receive yield first.

Mailboxes and selective receive
-------------------------------
A mailbox is a singly linked list of C nodes (``MsgNode``, from a freelist)
with a *save pointer*: the last node the current receive has scanned.  A
receive scans from the save pointer, so nothing is checked twice.  A parked
receiver keeps its patterns; ``send`` matches a new message against them and,
on a match, hands the message straight to the receiver (it never touches the
mailbox) and wakes it; on no match it appends the message and moves the
receiver's save pointer past it.  A parked receiver is woken only by a match.

Receive markers (BEAM, OTP 24): ``make_ref()``/``monitor()`` inside a process
record the mailbox tail.  A receive whose every pattern names that ref (the
ref itself, or a tuple with the ref as an item, e.g. ``(ref, ANY)`` or
``Down(ref, ANY, ANY)``) starts scanning after the marker: no message queued
before the ref existed can contain it.  A call made with 100,000 unrelated
messages queued costs what it costs with an empty mailbox.  Call refs are
*aliases*: once the call is over (reply, timeout or exit) a late reply sent
with ``reply()`` is dropped, never reaching the mailbox.

Timer wheel
-----------
``receive(timeout=)``, ``sleep``, ``send_after`` and every call's timeout use
a hierarchical timing wheel (Varghese & Lauck; ERTS ``time.c``, Linux
``kernel/time/timer.c``): 1 ms ticks, ``LEVELS`` levels of 64 slots, each
level with a ``uint64`` occupancy bitmap.  Level *k* holds timers due within
``64**(k+1)`` ticks; a level-*k* slot is cascaded into lower levels only when
its period begins, so cancelled timers never move.  Insert and cancel are
O(1) and allocate nothing for process timeouts (each ``Pid`` owns one node).
Deadlines are rounded up to the next tick: a timer never fires early.  One
``loop.call_later`` armed at the earliest event drives the wheel.  Time comes
from an injectable clock (``MockClock`` makes tests deterministic).

Signals
-------
Exit signals are applied when they are sent (they overtake messages): a
killing signal marks the target *exiting*, takes it off whatever it waits on
and makes it runnable; its next resume throws ``ProcessExit(reason)`` at its
``await`` (``"kill"`` closes the coroutine instead).  An exiting process
never waits again: each later await raises the signal anew, and after
``EXIT_RAISES`` raises it is closed as if killed, keeping the signal's
reason (every combination of the exit flags is tabled beside the ``Pid``
fields, in ``_process.pxi``).  When a process ends (``_terminate``), in
order: its name is released, its mailbox and timers are dropped, its links
get exit signals, its monitors get ``Down`` messages.

Layout: C declarations and the enums of the process state machine are in
``_core.pxd``; the code is split into the ``.pxi`` files included at the end.
"""

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from libc.stdint cimport int64_t, uint64_t, INT64_MAX
from libc.stdlib cimport malloc, free
from libc.math cimport isnan, ceil, floor, INFINITY

import asyncio
import itertools
import logging
import os
import sys
from collections import namedtuple

# Every record the core writes (crash reports, long steps...) goes to
# "actors.core", with the structured fields of _info.pxi's log_fields.
_logger = logging.getLogger("actors.core")

# The enums of the process state machine (S_*, T_*, RESUME_*, deadlines)
# and every C declaration are in _core.pxd.

cdef int REDUCTIONS = 2000      # reductions a process may use per resume
# A scheduler tick gives the loop back after TICK_STEPS process steps or
# TICK_SECONDS of running them, whichever comes first, so that timers and I/O
# stay prompt under any load.  Steps longer than LONG_STEP are reported.
TICK_STEPS = 4096
TICK_SECONDS = 0.002
LONG_STEP = 0.1
cdef enum:
    SAMPLE_STEPS = 32           # read the clock every 32 steps while they are short
    SLOW_STEP_NS = 20000        # ... and every step once one takes longer than 20 us
# The run queue's initial capacity (a power of two; it doubles when full).
cdef enum:
    RUN_QUEUE_CAPACITY = 1024
# The timer wheel counts 1 ms ticks from the scheduler's start (t0).
cdef double TICKS_PER_SECOND = 1000.0
# Float noise, in ticks: a deadline that is a whole tick up to rounding error
# is that tick, not the next (tick_after), and a clock reading that short of a
# tick boundary has reached it (now_tick).
cdef double TICK_EPSILON = 1e-6
# A deadline further than FAR_TICKS away never fires: it becomes NEVER_TICK,
# far enough below INT64_MAX that tick arithmetic cannot overflow.
cdef double FAR_TICKS = 4.0e18
cdef int64_t NEVER_TICK = INT64_MAX // 4
# How many times ProcessExit is raised inside a process that keeps catching it
# before the process is closed as if killed (its exit reason is kept).
cdef int EXIT_RAISES = 3
cdef int _budget = 0            # reductions left to the process being resumed

# The running scheduler and the process it is resuming.  Everything in this
# module runs on the scheduler's loop thread.
cdef Scheduler _sched = None
cdef Pid _current = None
# The thread state of the thread that runs _sched's loop (NULL: none).  Only
# send() may be called from another thread (it posts to the loop); anything
# else that touches the scheduler raises there.
cdef void* _loop_thread = NULL
cdef uint64_t _next_pid_number = 1
cdef uint64_t _next_ref_number = 1

cdef object _NO_DEFAULT = object()  # receive(default=) not given
cdef object _TIMEOUT = object()     # resume value: the receive timed out
cdef object _RESCAN = object()      # resume value: rescan (a pattern raised in send)


cdef inline Scheduler _need_sched():
    if _sched is None:
        raise RuntimeError(
            "no actors runtime is running: start one with actors.run(main) "
            "or `async with actors.Runtime():`")
    if PyThreadState_Get() != _loop_thread:
        _wrong_thread()
    return _sched


cdef inline Pid _need_current(str what):
    if _current is None:
        raise RuntimeError(
            f"{what} must be called inside an actors process (an async function "
            f"started with actors.spawn or actors.run)")
    if PyThreadState_Get() != _loop_thread:
        _wrong_thread()
    return _current


cdef void _wrong_thread() except *:
    raise RuntimeError(
        "this actors function was called from a thread other than the one running "
        "the actors runtime: only send() is thread-safe (from another thread, use "
        "actors.send, or loop.call_soon_threadsafe to run code on the runtime's loop)")


include "_errors.pxi"
include "_overload.pxi"
include "_patterns.pxi"
include "_process.pxi"
include "_mailbox.pxi"
include "_timers.pxi"
include "_signals.pxi"
include "_traps.pxi"
include "_scheduler.pxi"
include "_api.pxi"
include "_remote.pxi"
include "_info.pxi"
