# C declarations of actors._core (laid out like uvloop's .pxd files): the C
# API the core calls, its helpers in _core_helpers.h, and the enums of the
# process state machine.  The code and the design essay are in _core.pyx.

from cpython.object cimport PyObject, PyTypeObject
from libc.stdint cimport int64_t, uint64_t


# -- CPython ----------------------------------------------------------------
cdef extern from "Python.h":
    ctypedef enum PySendResult:
        PYGEN_RETURN
        PYGEN_ERROR
        PYGEN_NEXT
    PySendResult PyIter_Send(PyObject* iter, PyObject* arg, PyObject** presult)
    object PyContext_CopyCurrent()
    bint PyTuple_Check(object)
    bint PyDict_Check(object)
    bint PyType_Check(object)
    bint PyCoro_CheckExact(object)
    PyObject* PyDict_GetItemWithError(object, object) except? NULL
    int PyObject_IsInstance(object, object) except -1
    int PyObject_RichCompareBool(object, object, int) except -1
    int Py_EQ
    void* PyThreadState_Get()
    void Py_LeaveRecursiveCall()

    # Reference counting on borrowed PyObject* (the mailbox, the run queue).
    void _incref "Py_INCREF"(PyObject*)
    void _decref "Py_DECREF"(PyObject*)

    # Entering a process's context on the hot path: fails only if the context
    # is entered already, which never happens, so no error check.
    int _context_enter "PyContext_Enter"(object ctx) noexcept
    int _context_exit "PyContext_Exit"(object ctx) noexcept

    # asyncio's current-task dict is written on every step with the loop's
    # hash computed once (Scheduler.loop_hash).
    int _dict_setitem_hashed "_PyDict_SetItem_KnownHash"(object d, object k, object v,
                                                        Py_hash_t h) noexcept


# -- _core_helpers.h --------------------------------------------------------
cdef extern from "_core_helpers.h":
    ctypedef int (*actors_trap_impl_t)(PyObject*, PyObject*, PyObject**) except -1
    ctypedef void (*actors_trap_failed_t)() noexcept
    int actors_install_trap(PyTypeObject* tp, actors_trap_impl_t impl,
                            actors_trap_failed_t failed) except -1
    object actors_make_receive(void* impl, object no_default, object module_name)
    object actors_make_send(void* impl, object module_name)
    object actors_fetch_exception()
    int actors_coroutine_function_kind(object fn)
    bint actors_is_interned(object s)
    int actors_ctz64(uint64_t x) nogil
    uint64_t actors_rotr64(uint64_t x, int r) nogil
    int actors_enter_recursion(const char* where) except -1
    void actors_trim_heap() nogil
    int64_t actors_monotonic_ns() nogil
    void* actors_aligned_alloc(size_t align, size_t size) nogil
    void actors_aligned_free(void* p) nogil


# -- The process state machine ------------------------------------------------

# Process states.  A process is in the run queue iff it is S_RUNNABLE.
cdef enum:
    S_RUNNABLE = 1      # queued to run
    S_RUNNING = 2       # being resumed right now (it is _current)
    S_WAITING = 3       # parked in a trap or awaiting a future
    S_DEAD = 4          # finished; its fields are cleared

# Which trap a process is in.  X and X_PARKED: configured / suspended in it.
# Only a receive or a call parks and is later configured again (a rescan):
# _parked() and _configured() in _traps.pxi move between the two forms.
cdef enum:
    T_NONE = 0
    T_RECEIVE = 1
    T_RECEIVE_PARKED = 2
    T_CALL = 3
    T_CALL_PARKED = 4
    T_SLEEP = 5
    T_SLEEP_PARKED = 6
    T_YIELD = 7
    T_YIELD_PARKED = 8
    T_THROW = 9             # queued to have the exception in `wake` thrown in

# How a resume of a coroutine ended (_after_resume, _finish).
cdef enum:
    RESUME_RETURNED = 0     # it returned a value: a normal exit
    RESUME_YIELDED = 1      # it yielded (our trap, a future, a bare checkpoint)
    RESUME_RAISED = 2       # it raised an exception
    RESUME_CLOSED = 3       # it was closed (a "kill", or a process that would not die)

# Special deadlines (ticks are >= 0).
cdef enum:
    NO_DEADLINE = -1    # wait forever
    POLL = -2           # timeout=0: look once, arm nothing
