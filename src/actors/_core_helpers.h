/* Small C helpers for actors/_core.pyx: the few things Cython cannot spell.
 *
 * - The receive awaitable gets a C `am_send` slot, so CPython's SEND opcode
 *   receives a message as a plain return value (no StopIteration raised and
 *   caught per message).  The slot calls back into a Cython function that
 *   returns 0 (return *presult), 1 (yield *presult) or -1 (error set).
 * - Fetching the current exception as one normalized instance with its
 *   traceback attached (PyErr_GetRaisedException only exists from 3.12).
 * - Telling a coroutine function from a plain one without importing inspect.
 */
#ifndef ACTORS_CORE_HELPERS_H
#define ACTORS_CORE_HELPERS_H

#include <Python.h>

typedef int (*actors_trap_impl_t)(PyObject *, PyObject *, PyObject **);

static actors_trap_impl_t actors_trap_impl = NULL;

static PySendResult actors_trap_am_send(PyObject *self, PyObject *arg, PyObject **presult)
{
    int r = actors_trap_impl(self, arg, presult);
    if (r < 0) {
        *presult = NULL;
        return PYGEN_ERROR;
    }
    return r == 0 ? PYGEN_RETURN : PYGEN_NEXT;
}

static int actors_install_trap(PyTypeObject *tp, actors_trap_impl_t impl)
{
    if (tp->tp_as_async == NULL) {
        PyErr_SetString(PyExc_SystemError, "actors: the trap type has no tp_as_async");
        return -1;
    }
    actors_trap_impl = impl;
    tp->tp_as_async->am_send = actors_trap_am_send;
    return 0;
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

static inline int actors_ctz64(unsigned long long x)
{
    return __builtin_ctzll(x);
}

static inline unsigned long long actors_rotr64(unsigned long long x, int r)
{
    r &= 63;
    return r ? ((x >> r) | (x << (64 - r))) : x;
}

#endif
