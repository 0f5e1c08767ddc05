# The process control block (Pid) and references (Ref).

cdef struct MsgNode:
    MsgNode* next
    PyObject* msg               # owned reference


cdef struct TimerNode:
    TimerNode* prev
    TimerNode* next
    int64_t deadline            # the tick it fires at
    int level                   # wheel level; -1 when not armed
    int slot
    PyObject* owner             # a Pid (borrowed: a live Pid is always referenced)
                                # or a TimerRef (owned while armed)
    bint is_process             # owner is a Pid whose receive/sleep times out


@cython.final
cdef class _Extra:
    """Per-process state that most processes never use, allocated on first use."""
    cdef dict monitors          # ref -> monitored Pid, for monitors this process holds
    cdef dict monitored_by      # ref -> monitoring Pid
    cdef dict dictionary        # the process dictionary
    cdef object name            # registered name, or None
    cdef object exit_reason     # set when a killing exit signal is accepted
    cdef set timers             # armed send_after TimerRefs addressed to this pid
    cdef int cancelling         # asyncio-style cancel requests not yet uncancelled
    cdef object cancel_msg      # a cancel() to deliver at its next suspension, or None
    cdef bint cancel_pending
    cdef bint no_report         # its crash is raised to someone (actors.run): do not log it


cdef inline _Extra _extra(Pid p):
    if p.extra is None:
        p.extra = _Extra.__new__(_Extra)
    return p.extra


@cython.final
cdef class Pid:
    """A process identifier: the handle of one process.

    Made only by the runtime (``spawn`` and friends).  Hashable, equal only to
    itself, printed like ``<0.42.0>``.  A pid stays valid after its process
    exits: messages sent to it are dropped, and ``Process.alive`` says False.
    """
    # Identity.  coro/ctx/fn are None once the process is dead.
    cdef uint64_t number
    cdef object coro
    cdef object ctx
    cdef object fn

    # Scheduling.  state is S_*; the pid is in the scheduler's run queue iff
    # state == S_RUNNABLE.  `wake` is what the next resume sends
    # in (a handed-off message, _TIMEOUT, _RESCAN or None); while the process
    # waits on an asyncio future, `wake` holds that future.
    cdef unsigned char state
    cdef unsigned char trap             # T_*: the trap the process is in
    cdef unsigned char trap_exit
    # Exit state: how far the process is in dying of an exit signal.
    #   exiting  a killing exit signal was accepted (_accept_exit); its reason
    #            is extra.exit_reason.  An exiting process never waits again.
    #   killed   close the coroutine, never resume it.
    #   exit_raised  how many times ProcessExit was raised inside it.
    #   ignored_exit it caught GeneratorExit when closed (logged; _terminate
    #            drops the coroutine with CPython's second report muted).
    #
    #   exiting killed exit_raised  meaning -> what the scheduler does
    #   0       0      0            alive -> _step's fast path
    #   1       0      0            signal accepted, not yet delivered
    #                               -> _step_slow throws ProcessExit(reason)
    #                               (exit(self, reason) raises it at once)
    #   1       0      1..EXIT_RAISES-1  it caught ProcessExit and went on
    #                               -> each await raises it again (_exiting_await;
    #                               a foreign await: _exiting_yield requeues it)
    #   1       0      EXIT_RAISES  it would not die -> the next await or resume
    #                               sets killed (below), keeping the reason
    #   1       1      any          "kill", or would not die -> the coroutine is
    #                               closed (_deliver_exit, _close_killed), then
    #                               _finish(RESUME_CLOSED) ends it
    #   0       1      -            never: killed is set only with exiting
    #                               (_terminate sets killed on every exiting pid)
    # ignored_exit is set only with killed.  "kill" overrides an exit under
    # way (1 0 n -> 1 1 n); nothing else changes an accepted exit.
    cdef unsigned char exiting
    cdef unsigned char killed
    cdef unsigned char exit_raised
    cdef unsigned char ignored_exit
    cdef unsigned char marker_in_use    # the current receive started at mb_marker
    cdef unsigned char scanning         # its patterns are running: no mailbox changes
    cdef Pid pl_prev
    cdef Pid pl_next                    # the scheduler's list of live processes
    cdef object wake
    cdef int64_t reductions

    # Mailbox: mb_head..mb_tail, mb_len nodes.  mb_save is the last node the
    # current receive has scanned (NULL: none).  mb_marker is the tail when
    # marker_ref was made (NULL: the mailbox was empty then).
    cdef MsgNode* mb_head
    cdef MsgNode* mb_tail
    cdef MsgNode* mb_save
    cdef MsgNode* mb_marker
    cdef Py_ssize_t mb_len
    cdef Ref marker_ref

    # The current receive: its patterns (a tuple; for a call, the call's Ref),
    # its default (for a call, the timeout, for error messages) and deadline.
    cdef object patterns
    cdef object default
    cdef int64_t deadline
    cdef TimerNode* tnode               # owned; allocated on the first timed wait

    cdef set links
    cdef _Extra extra

    # A process of another node (see _remote.pxi): (node, id, serial,
    # creation, index) for a pid, (node, name) for a name there; None for a
    # local process.  A remote pid is a proxy: its state is S_DEAD, so code
    # that does not know about nodes treats it as an exited process, and the
    # operations that cross nodes check `remote` first.
    cdef tuple remote
    cdef object __weakref__

    def __init__(self):
        raise TypeError("Pids are made by the runtime: use actors.spawn()")

    def __repr__(self):
        if self.remote is not None:
            return _remote_repr(self)
        return f"<0.{self.number}.0>"

    @property
    def node(self):
        """The name of the node the process runs on (``Node.self()`` for a local one)."""
        if self.remote is not None:
            return self.remote[0]
        return _node_name

    @property
    def name_at(self):
        """For the handle of a name registered on another node (used by the
        distribution layer): ``(name, node)``; None for a pid."""
        if self.remote is not None and len(self.remote) == 2:
            return (self.remote[1], self.remote[0])
        return None

    def __reduce__(self):
        raise TypeError(f"{self!r}: a Pid is local to its runtime and cannot be pickled")

    def __dealloc__(self):
        _mb_clear(self)
        if self.tnode != NULL:
            free(self.tnode)
            self.tnode = NULL

    # -- asyncio's view of a process ------------------------------------------
    # Inside a process asyncio.current_task() returns its Pid, so that
    # asyncio.timeout(), TaskGroup and libraries built on them (aiohttp's
    # timeouts) work.  These methods are the part of the asyncio.Task
    # interface they use; cancel() raises CancelledError at the process's
    # current await, as Task.cancel() does.

    def cancel(self, msg=None):
        """Request that the process get ``CancelledError`` at its current await
        (asyncio ``Task.cancel``); False if it has exited."""
        return _cancel_process(self, msg)

    def uncancel(self):
        """Decrement the count of cancel requests; returns the new count (asyncio)."""
        cdef _Extra x = self.extra
        if x is None or x.cancelling <= 0:
            return 0
        x.cancelling -= 1
        return x.cancelling

    def cancelling(self):
        """How many cancel requests are pending (asyncio ``Task.cancelling``)."""
        return self.extra.cancelling if self.extra is not None else 0

    def done(self):
        """True once the process has exited."""
        return self.state == S_DEAD

    def cancelled(self):
        """Always False: a process ends with an exit reason, not as 'cancelled'."""
        return False

    def get_loop(self):
        """The event loop the process runs on."""
        return _sched.loop if _sched is not None else None

    def get_name(self):
        """The process's pid, printed (asyncio ``Task.get_name``)."""
        return repr(self)

    def get_coro(self):
        """The process's coroutine (None once it has exited)."""
        return self.coro

    def get_context(self):
        """The process's ``contextvars.Context``."""
        return self.ctx

    def _on_future_done(self, fut):
        """asyncio done-callback: resume the process that awaited ``fut``."""
        if self.state == S_WAITING and self.wake is fut:
            self.wake = None
            _make_runnable(self)


cdef enum:
    ALIAS_NONE = 0      # a plain reference
    ALIAS_ACTIVE = 1    # the tag of a call in progress: replies are delivered
    ALIAS_DEAD = 2      # the call is over: replies are dropped


@cython.final
@cython.freelist(256)
cdef class Ref:
    """A unique reference (``make_ref()``, ``monitor()``): equal only to itself."""
    cdef uint64_t number
    cdef unsigned char alias
    # For the ref of a call in progress: the server it monitors.  A call's
    # monitor is kept only on the server's side (monitored_by), not in the
    # caller's `monitors`: one dict insert and pop fewer per call.
    cdef Pid call_target
    # A reference made by another node: (node, creation, ids); None if local.
    cdef tuple remote
    cdef object __weakref__

    def __init__(self):
        raise TypeError("Refs are made by actors.make_ref() or actors.monitor()")

    def __repr__(self):
        if self.remote is not None:
            return f"#Ref<{_node_index(self.remote[0])}.{'.'.join(map(str, reversed(self.remote[2])))}>"
        return f"#Ref<0.{self.number}>"

    @property
    def node(self):
        """The name of the node that made the reference."""
        if self.remote is not None:
            return self.remote[0]
        return _node_name

    def __reduce__(self):
        raise TypeError(f"{self!r}: a Ref is local to its runtime and cannot be pickled")


cdef inline Ref _new_ref():
    global _next_ref_number
    cdef Ref r = Ref.__new__(Ref)
    r.number = _next_ref_number
    _next_ref_number += 1
    return r


cdef inline void _set_marker(Pid p, Ref ref) noexcept:
    """Remember where the mailbox ended when ``ref`` was made (receive marker)."""
    p.marker_ref = ref
    p.mb_marker = p.mb_tail
