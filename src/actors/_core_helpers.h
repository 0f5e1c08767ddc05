/* Small C helpers for actors/_core.pyx: the few things Cython cannot spell.
 *
 * - The receive awaitable gets a C `am_send` slot, so CPython's SEND opcode
 *   receives a message as a plain return value (no StopIteration raised and
 *   caught per message).  The slot calls back into a Cython function that
 *   returns 0 (return *presult), 1 (yield *presult) or -1 (error set).
 * - Fetching the current exception as one normalized instance with its
 *   traceback attached (PyErr_GetRaisedException only exists from 3.12).
 * - Telling a coroutine function from a plain one without importing inspect.
 * - The platform-specific bits, each with a portable fallback: the monotonic
 *   clock, aligned slab allocation, trimming the C heap, counting trailing
 *   zero bits (GCC/Clang builtins, MSVC intrinsics, POSIX or Windows calls).
 */
#ifndef ACTORS_CORE_HELPERS_H
#define ACTORS_CORE_HELPERS_H

#include <Python.h>

typedef int (*actors_trap_impl_t)(PyObject *, PyObject *, PyObject **);
typedef void (*actors_trap_failed_t)(void);

static actors_trap_impl_t actors_trap_impl = NULL;
static actors_trap_failed_t actors_trap_failed = NULL;

static PySendResult actors_trap_am_send(PyObject *self, PyObject *arg, PyObject **presult)
{
    int r = actors_trap_impl(self, arg, presult);
    if (r < 0) {
        *presult = NULL;
        actors_trap_failed();   /* leave the trap: the error is raised at the await */
        return PYGEN_ERROR;
    }
    return r == 0 ? PYGEN_RETURN : PYGEN_NEXT;
}

static int actors_install_trap(PyTypeObject *tp, actors_trap_impl_t impl, actors_trap_failed_t failed)
{
    if (tp->tp_as_async == NULL) {
        PyErr_SetString(PyExc_SystemError, "actors: the trap type has no tp_as_async");
        return -1;
    }
    actors_trap_impl = impl;
    actors_trap_failed = failed;
    tp->tp_as_async->am_send = actors_trap_am_send;
    return 0;
}

/* receive(*patterns, timeout=None, default=<none>) as a METH_FASTCALL
 * builtin: Cython gives a function with *args the slow tuple-based call
 * protocol, and receive is called once per message. */
typedef PyObject *(*actors_receive_impl_t)(PyObject *patterns, PyObject *timeout, PyObject *dflt);

static actors_receive_impl_t actors_receive_impl = NULL;
static PyObject *actors_no_default = NULL;

static PyObject *actors_receive_fastcall(PyObject *self, PyObject *const *args,
                                         Py_ssize_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *timeout = Py_None, *dflt = actors_no_default, *patterns, *res;
    if (kwnames != NULL) {
        Py_ssize_t i, nk = PyTuple_GET_SIZE(kwnames);
        for (i = 0; i < nk; i++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, i);
            if (PyUnicode_CompareWithASCIIString(key, "timeout") == 0) {
                timeout = args[nargs + i];
            } else if (PyUnicode_CompareWithASCIIString(key, "default") == 0) {
                dflt = args[nargs + i];
            } else {
                PyErr_Format(PyExc_TypeError,
                             "receive() got an unexpected keyword argument '%U'", key);
                return NULL;
            }
        }
    }
    patterns = PyTuple_New(nargs);   /* the empty tuple is a shared singleton */
    if (patterns == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(patterns, i, args[i]);
    }
    res = actors_receive_impl(patterns, timeout, dflt);
    Py_DECREF(patterns);
    return res;
}

static PyMethodDef actors_receive_def = {
    "receive", (PyCFunction)(void (*)(void))actors_receive_fastcall,
    METH_FASTCALL | METH_KEYWORDS,
    "receive(*patterns, timeout=None, default=<none>)\n\n"
    "Wait for the first message, in mailbox order, that matches any pattern.\n\n"
    "Must be awaited at once: ``msg = await receive(...)``.  Messages that do not\n"
    "match stay in the mailbox, in order.\n\n"
    "Args:\n"
    "    *patterns: ``ANY``, a class, a tuple or dict of patterns, ``where(fn)``,\n"
    "        or a value compared by equality.  No pattern: any message.\n"
    "    timeout: seconds to wait (``0`` polls; ``None`` waits forever).\n"
    "    default: returned on timeout instead of raising ``Timeout``.\n\n"
    "Returns:\n"
    "    The matching message, removed from the mailbox.\n\n"
    "Raises:\n"
    "    Timeout: nothing matched in time and no ``default`` was given.\n"
    "    ValueError: ``timeout`` is negative or NaN.\n"
    "    RuntimeError: called outside a process.\n"
};

/* send(dest, msg) as a METH_FASTCALL builtin: Cython's generic keyword
 * parsing costs a quarter of a message's overhead. */
typedef PyObject *(*actors_send_impl_t)(PyObject *dest, PyObject *msg);

static actors_send_impl_t actors_send_impl = NULL;

static PyObject *actors_send_fastcall(PyObject *self, PyObject *const *args,
                                      Py_ssize_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *slots[2] = {NULL, NULL};
    static const char *names[2] = {"dest", "msg"};
    if (kwnames == NULL && nargs == 2) {
        return actors_send_impl(args[0], args[1]);
    }
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "send() takes 2 positional arguments but %zd were given", nargs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        slots[i] = args[i];
    }
    if (kwnames != NULL) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, i);
            int j;
            for (j = 0; j < 2; j++) {
                if (PyUnicode_CompareWithASCIIString(key, names[j]) == 0) {
                    break;
                }
            }
            if (j == 2 || slots[j] != NULL) {
                PyErr_Format(PyExc_TypeError, "send() got an unexpected or repeated keyword argument '%U'", key);
                return NULL;
            }
            slots[j] = args[nargs + i];
        }
    }
    if (slots[0] == NULL || slots[1] == NULL) {
        PyErr_SetString(PyExc_TypeError, "send() missing required argument 'dest' or 'msg'");
        return NULL;
    }
    return actors_send_impl(slots[0], slots[1]);
}

static PyMethodDef actors_send_def = {
    "send", (PyCFunction)(void (*)(void))actors_send_fastcall,
    METH_FASTCALL | METH_KEYWORDS,
    "send(dest, msg)\n\n"
    "Put ``msg`` at the end of ``dest``'s mailbox and return ``msg``.\n\n"
    "Messages from one process to another arrive in the order sent.  Sending\n"
    "to a dead pid does nothing.\n\n"
    "Args:\n"
    "    dest: a ``Pid``, a registered name (``str``) or ``via(registry, key)``.\n"
    "    msg: any object (it is not copied: send immutable data).\n\n"
    "Raises:\n"
    "    NoProcess: ``dest`` is a name or via key that nobody holds.\n"
    "    TypeError: ``dest`` is none of the above.\n"
};

static PyObject *actors_make_send(void *impl, PyObject *module_name)
{
    actors_send_impl = (actors_send_impl_t)impl;
    return PyCFunction_NewEx(&actors_send_def, NULL, module_name);
}

static PyObject *actors_make_receive(void *impl, PyObject *no_default, PyObject *module_name)
{
    actors_receive_impl = (actors_receive_impl_t)impl;
    Py_INCREF(no_default);
    actors_no_default = no_default;
    return PyCFunction_NewEx(&actors_receive_def, NULL, module_name);
}

/* The raised exception as a new reference (None if there is none), cleared. */
static PyObject *actors_fetch_exception(void)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (t == NULL) {
        Py_RETURN_NONE;
    }
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb != NULL && v != NULL) {
        PyException_SetTraceback(v, tb);
    }
    Py_XDECREF(t);
    Py_XDECREF(tb);
    if (v == NULL) {
        Py_RETURN_NONE;
    }
    return v;
}

/* 1: an `async def` function (or a method of one); 0: a plain Python function;
 * -1: something else (a partial, a callable object...): ask inspect. */
static int actors_coroutine_function_kind(PyObject *fn)
{
    if (PyMethod_Check(fn)) {
        fn = PyMethod_GET_FUNCTION(fn);
    }
    if (PyFunction_Check(fn)) {
        PyCodeObject *co = (PyCodeObject *)PyFunction_GET_CODE(fn);
        return (co->co_flags & CO_COROUTINE) ? 1 : 0;
    }
    return -1;
}

static inline int actors_is_interned(PyObject *s)
{
    return PyUnicode_CHECK_INTERNED(s) != 0;
}

/* Py_EnterRecursiveCall returns nonzero (not always -1) when it raised
 * RecursionError: give Cython one error value. */
static inline int actors_enter_recursion(const char *where)
{
    return Py_EnterRecursiveCall(where) ? -1 : 0;
}

/* Give the C heap's free memory back to the OS where the allocator can
 * (glibc's malloc_trim); a no-op elsewhere. */
#if defined(__GLIBC__)
#include <malloc.h>
static inline void actors_trim_heap(void) { malloc_trim(0); }
#else
static inline void actors_trim_heap(void) { }
#endif

/* Nanoseconds on a monotonic clock: POSIX clock_gettime, or on Windows
 * CPython's own monotonic clock (QueryPerformanceCounter). */
#if defined(_WIN32)
static inline int64_t actors_monotonic_ns(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    (void)PyTime_MonotonicRaw(&t);      /* cannot fail on Windows */
    return (int64_t)t;
#else
    return (int64_t)_PyTime_GetMonotonicClock();
#endif
}
#else
#include <time.h>
static inline int64_t actors_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#endif

/* Memory aligned to `align` (a power of two), freed with actors_aligned_free;
 * NULL when out of memory. */
#if defined(_WIN32)
#include <malloc.h>
static inline void *actors_aligned_alloc(size_t align, size_t size)
{
    return _aligned_malloc(size, align);
}
static inline void actors_aligned_free(void *p) { _aligned_free(p); }
#else
#include <stdlib.h>
static inline void *actors_aligned_alloc(size_t align, size_t size)
{
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
static inline void actors_aligned_free(void *p) { free(p); }
#endif

/* The number of trailing zero bits of a nonzero x. */
#if defined(_MSC_VER)
#include <intrin.h>
static inline int actors_ctz64(unsigned long long x)
{
    unsigned long i;
    _BitScanForward64(&i, x);
    return (int)i;
}
#else
static inline int actors_ctz64(unsigned long long x)
{
    return __builtin_ctzll(x);
}
#endif

static inline unsigned long long actors_rotr64(unsigned long long x, int r)
{
    r &= 63;
    return r ? ((x >> r) | (x << (64 - r))) : x;
}

#endif
