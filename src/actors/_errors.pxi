# Errors, exit reasons and the Down/Exit messages.

class ActorsError(Exception):
    """Base class of every error actors raises."""
    __module__ = "actors"


class NoProcess(ActorsError, LookupError):
    """The process (pid, registered name or ``via`` key) does not exist."""
    __module__ = "actors"


class Timeout(ActorsError, TimeoutError):
    """A receive, call or wait did not complete within its ``timeout``."""
    __module__ = "actors"


class CallExit(ActorsError):
    """The server exited before it replied to a call.

    Attributes:
        reason: the server's exit reason (``"calling_self"`` when a process
            called itself).
    """
    __module__ = "actors"

    def __init__(self, reason, message=None):
        super().__init__(message if message is not None else f"server exited: {reason!r}")
        self.reason = reason


class AlreadyRegistered(ActorsError):
    """A name or unique key is already taken.

    Attributes:
        pid: the process that holds it.
    """
    __module__ = "actors"

    def __init__(self, message, pid=None):
        super().__init__(message)
        self.pid = pid


class StartError(ActorsError):
    """A process, server or child failed to start.

    Attributes:
        reason: why (the exception raised by ``init``, a ``Stop`` reason, ...).
    """
    __module__ = "actors"

    def __init__(self, reason, message=None):
        super().__init__(message if message is not None else f"failed to start: {reason!r}")
        self.reason = reason


class ProcessExit(BaseException):
    """Raise ``ProcessExit(reason)`` to end the current process with ``reason``.

    An exit signal that kills a process is delivered as this exception, raised
    at the process's current ``await``, so ``finally`` blocks and context
    managers run.  Like ``SystemExit`` it derives from ``BaseException``, so
    ``except Exception`` does not swallow it.

    Attributes:
        reason: the exit reason (``"normal"``, ``"shutdown"``, ``"killed"``,
            an exception instance, or any value).
    """
    __module__ = "actors"

    def __init__(self, reason="normal"):
        super().__init__(reason)
        self.reason = reason


Down = namedtuple("Down", "ref pid reason", module="actors")
Down.__doc__ = """Sent to a monitoring process when the monitored process exits.

Fields: ``ref`` (from ``monitor``), ``pid`` (the monitored process, or the
name that was monitored), ``reason`` (its exit reason, ``"noproc"`` if it did
not exist).  A tuple: matches tuple patterns and ``match`` statements.
"""

Exit = namedtuple("Exit", "pid reason", module="actors")
Exit.__doc__ = """An exit signal received as a message by a process trapping exits.

Fields: ``pid`` (the sender, or the exiting linked process; ``None`` for the
runtime itself) and ``reason``.
"""

cdef object _Down = Down
cdef object _Exit = Exit
cdef object _tuple_new = tuple.__new__


cdef inline object _make_down(object ref, object pid, object reason):
    return _tuple_new(_Down, (ref, pid, reason))


cdef inline object _make_exit(object pid, object reason):
    return _tuple_new(_Exit, (pid, reason))


cdef bint _is_normal_exit(object reason):
    """normal, shutdown and ("shutdown", term): exits that are not crashes."""
    if type(reason) is str:
        return reason == "normal" or reason == "shutdown"
    return (type(reason) is tuple and len(<tuple>reason) == 2
            and type((<tuple>reason)[0]) is str and (<tuple>reason)[0] == "shutdown")


cdef inline bint _is_str(object reason, str value):
    return type(reason) is str and <str>reason == value
