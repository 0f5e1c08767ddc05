# Processes, names and refs of other nodes, and the distribution layer's hooks.
#
# The core knows nothing of sockets or the term format.  actors.dist makes
# the runtime a node with set_node(name, creation, handler); from then on,
# when a local operation names a process of another node (send, link,
# monitor, an exit signal, a call) the core calls the handler, and when a
# signal arrives from another node the handler calls the remote_* functions
# below.  Not a node (no handler): every link or monitor to another node
# fails at once with "noconnection", and sends to it are dropped.
#
# A process of another node is a proxy Pid (`remote` set, state S_DEAD),
# interned so that a pid decoded twice is the same object.  The links and
# monitors that cross nodes live in the same fields as local ones (links,
# extra.monitors, extra.monitored_by), so a local exit reaches remote
# processes through the code that reaches local ones, and a lost connection
# is the proxy "exiting" with reason "noconnection" (remote_gone).  A name
# registered on another node has a proxy too, for monitors and calls by
# name; users never see it: a Down about it names the (name, node) tuple.
#
# The handler's hooks (actors.dist.node implements them):
#   send(proxy, msg)                  a message; may raise TypeError (cannot encode)
#   call(caller, proxy, ref, request) monitor proxy with ref, then send it the call
#   link(local, proxy) / unlink(local, proxy)
#   monitor(local, proxy, ref) / demonitor(local, proxy, ref)
#   exit(sender, proxy, reason, from_link)   sender: a local Pid or None
#   down(local, proxy, ref, reason)   a local process monitored by proxy exited

import weakref

cdef str _node_name = "nonode@nohost"
cdef object _creation = 0
cdef object _dist = None
cdef dict _node_indexes = {}        # node name -> the N printed in <N.id.serial>

# Interning tables: key -> weakref to the Pid/Ref, swept of dead entries when
# a table has doubled since its last sweep (amortised O(1), no callbacks).
# The proxies last made are also kept alive by a small ring, so that a peer
# streaming from one process does not make and drop a proxy per message.
cdef class _Interned:
    cdef dict table
    cdef Py_ssize_t swept_size

    def __cinit__(self):
        self.table = {}
        self.swept_size = 64

    cdef object get(self, object key):
        cdef PyObject* w = PyDict_GetItemWithError(self.table, key)
        if w == NULL:
            return None
        obj = (<object>w)()
        return obj

    cdef int put(self, object key, object obj) except -1:
        self.table[key] = weakref.ref(obj)
        if len(self.table) >= 2 * self.swept_size:
            dead = [k for k, w in self.table.items() if w() is None]
            for k in dead:
                del self.table[k]
            self.swept_size = max(64, len(self.table))
        return 0


cdef _Interned _remote_pids = _Interned()      # (node, id, serial, creation)
cdef _Interned _remote_names = _Interned()     # (node, name)
cdef _Interned _remote_refs = _Interned()      # (node, creation, ids)
cdef _Interned _exported_pids = _Interned()    # number -> local Pid
cdef _Interned _exported_refs = _Interned()    # number -> local Ref
cdef list _recent = [None] * 256
cdef unsigned int _recent_next = 0


cdef inline void _keep_recent(object obj) noexcept:
    global _recent_next
    _recent[_recent_next & 255] = obj
    _recent_next += 1


def set_node(name, creation=0, handler=None):
    """Make the runtime the node ``name`` (its ``creation`` and the
    distribution layer's ``handler``), or, with ``name=None``, not a node."""
    global _node_name, _creation, _dist
    if name is None:
        _node_name, _creation, _dist = "nonode@nohost", 0, None
        return
    if type(name) is not str or "@" not in name:
        raise TypeError(f"set_node(name): name must be a str like 'py@localhost', got {name!r}")
    if type(creation) is not int or not 0 <= creation < 2 ** 32:
        raise TypeError(f"set_node(creation): creation must be an int in [0, 2**32), got {creation!r}")
    if handler is None:
        raise TypeError("set_node(handler): a node needs the distribution layer's handler")
    _node_name, _creation, _dist = name, creation, handler


def node_name():
    """The runtime's node name: ``"nonode@nohost"`` when it is not a node."""
    return _node_name


cdef int _node_index(str node) except -1:
    i = _node_indexes.get(node)
    if i is None:
        i = len(_node_indexes) + 1
        _node_indexes[node] = i
    return i


cdef str _remote_repr(Pid p):
    r = p.remote
    if len(r) == 2:
        return repr((r[1], r[0]))
    return f"<{r[4]}.{r[1]}.{r[2]}>"


cdef Pid _dead_pid(uint64_t number):
    cdef Pid p = Pid.__new__(Pid)
    p.number = number
    p.state = S_DEAD
    return p


def remote_pid(node, id, serial, creation):
    """The Pid named by a pid of the wire: a proxy for a process of another
    node (the same object while any copy is alive), or a local process."""
    cdef Pid p
    if type(node) is not str or type(id) is not int or type(serial) is not int or type(creation) is not int:
        raise TypeError(f"remote_pid: expected (str, int, int, int), got {(node, id, serial, creation)!r}")
    if node == _node_name:
        number = id | (serial << 32)
        if creation == _creation:
            found = _exported_pids.get(number)
            if found is not None:
                return found
        return _dead_pid(number)        # never sent out, or of an earlier incarnation
    key = (node, id, serial, creation)
    found = _remote_pids.get(key)
    if found is not None:
        return found
    p = _dead_pid(id)
    p.remote = (node, id, serial, creation, _node_index(node))
    _remote_pids.put(key, p)
    _keep_recent(p)
    return p


cdef Pid _remote_name(str name, str node):
    cdef Pid p
    key = (node, name)
    found = _remote_names.get(key)
    if found is not None:
        return <Pid>found
    p = _dead_pid(0)
    p.remote = (node, name)
    _remote_names.put(key, p)
    _keep_recent(p)
    return p


def pid_to_wire(pid):
    """``(node, id, serial, creation)``: how ``pid`` travels to another node."""
    cdef Pid p = _check_pid(pid, "pid_to_wire(pid)")
    if p.remote is not None:
        if len(p.remote) == 2:
            raise TypeError(f"pid_to_wire: {p!r} names a process, it is not a pid")
        return p.remote[:4]
    if _exported_pids.get(p.number) is None:
        _exported_pids.put(p.number, p)
    return (_node_name, p.number & 0xFFFFFFFF, p.number >> 32, _creation)


def ref_to_wire(ref):
    """``(node, creation, ids)``: how ``ref`` travels to another node."""
    cdef Ref r
    if type(ref) is not Ref:
        raise TypeError(f"ref_to_wire(ref): ref must be a Ref, got {ref!r}")
    r = <Ref>ref
    if r.remote is not None:
        return r.remote
    n = r.number
    if _exported_refs.get(n) is None:
        _exported_refs.put(n, r)
    return (_node_name, _creation, (n & 0x3FFFF, (n >> 18) & 0xFFFFFFFF, n >> 50))


def remote_ref(node, creation, ids):
    """The Ref named by a reference of the wire (``ids``: its words, up to 5)."""
    cdef Ref r
    if type(node) is not str or type(creation) is not int or type(ids) is not tuple:
        raise TypeError(f"remote_ref: expected (str, int, tuple), got {(node, creation, ids)!r}")
    if node == _node_name and len(ids) == 3:
        n = ids[0] | (ids[1] << 18) | (ids[2] << 50)
        if creation == _creation:
            found = _exported_refs.get(n)
            if found is not None:
                return found
        r = Ref.__new__(Ref)
        r.number = n
        return r
    key = (node, creation, ids)
    found = _remote_refs.get(key)
    if found is not None:
        return found
    r = Ref.__new__(Ref)
    r.remote = key
    _remote_refs.put(key, r)
    return r


cdef tuple _check_name_at(object dest, str what):
    """``(name, node)`` from a ``(name, node)`` destination, checked."""
    if len(<tuple>dest) != 2 or not isinstance((<tuple>dest)[0], str) \
            or not isinstance((<tuple>dest)[1], str):
        raise TypeError(f"{what}: dest, a name on a node, must be a (name, node) tuple of "
                        f"two str, got {dest!r}")
    return (str((<tuple>dest)[0]), str((<tuple>dest)[1]))


cdef object _name_at(object dest, str what):
    """The target of ``(name, node)``: a local pid (None if the name is
    free), or the proxy of the name on another node."""
    name, node = _check_name_at(dest, what)
    if node == _node_name:
        return _need_sched().names.get(name)
    return _remote_name(name, node)


cdef object _down_subject(Pid p):
    """What a Down names for a monitor of ``p``: the pid, or ``(name, node)``."""
    if p.remote is not None and len(p.remote) == 2:
        return (p.remote[1], p.remote[0])
    return p


# -- local operations that name a remote process -------------------------------

cdef int _remote_send(Pid p, object msg) except -1:
    if _dist is not None:
        _dist.send(p, msg)
    return 0


cdef object _send_to_name_at(tuple dest, object msg):
    """``send((name, node), msg)``: never fails for a free name, as on the BEAM."""
    t = _name_at(dest, "send")
    if t is not None:
        _send_to_pid(<Pid>t, msg)
    return msg


def _deliver_to_name_at(tuple dest, msg):
    if _sched is not None:
        _send_to_name_at(dest, msg)


cdef int _remote_link(Pid me, Pid p) except -1:
    if me.links is not None and p in me.links:
        return 0
    _link(me, p)
    if _dist is None:
        return _remote_lost_link(p, me, "noconnection")
    _dist.link(me, p)
    return 0


cdef int _remote_lost_link(Pid p, Pid local, object reason) except -1:
    """The link between ``local`` and the remote ``p`` broke with ``reason``."""
    if local.links is None or p not in local.links:
        return 0
    local.links.discard(p)
    if p.links is not None:
        p.links.discard(local)
    return _signal(local, p, reason, True)


cdef int _remote_unlink(Pid me, Pid p) except -1:
    if me.links is not None:
        me.links.discard(p)
    if p.links is not None:
        p.links.discard(me)
    if _dist is not None:
        _dist.unlink(me, p)
    return 0


cdef int _remote_monitor(Pid me, Pid p, Ref ref) except -1:
    _add_monitor(me, p, ref)
    if _dist is None:
        _fire_remote_monitor(p, ref, "noconnection")
    else:
        _dist.monitor(me, p, ref)
    return 0


cdef int _remote_call(Pid me, Pid p, Ref ref, object request) except -1:
    """Start a call to a remote server: its monitor lives on the proxy, as a
    local call's lives on its server (_drop_call_monitor ends both)."""
    if _dist is None:
        _mb_append(me, _make_down(ref, _down_subject(p), "noconnection"))
        return 0
    _dist.call(me, p, ref, request)     # may raise TypeError: nothing is sent then
    tx = _extra(p)
    if tx.monitored_by is None:
        tx.monitored_by = {}
    tx.monitored_by[ref] = me
    ref.call_target = p
    ref.alias = ALIAS_ACTIVE
    return 0


cdef bint _fire_remote_monitor(Pid p, Ref ref, object reason) except -1:
    """The monitor ``ref`` of the remote ``p`` fired: Down to its owner."""
    cdef Pid owner
    x = p.extra
    if x is None or x.monitored_by is None:
        return False
    o = x.monitored_by.pop(ref, None)
    if o is None:
        return False
    owner = <Pid>o
    if owner.extra is not None and owner.extra.monitors is not None:
        owner.extra.monitors.pop(ref, None)
    _send_to_pid(owner, _make_down(ref, _down_subject(p), reason))
    return True


cdef void _dist_notify(str hook, tuple args) noexcept:
    """Call a hook of the distribution layer from code that cannot fail (a
    process's exit, the end of a call): an error is logged."""
    if _dist is None:
        return
    try:
        getattr(_dist, hook)(*args)
    except BaseException:
        try:
            _emit(logging.ERROR, None, "internal_error",
                  "actors: the distribution layer failed in %s%r", (hook, args), True,
                  _log_fields(None, "internal_error"))
        except BaseException:
            pass


# -- signals from other nodes (called by the distribution layer) -------------

cdef Pid _check_remote(object pid, str what):
    cdef Pid p = _check_pid(pid, what)
    if p.remote is None or len(p.remote) != 5:
        raise TypeError(f"{what}: expected the pid of a process of another node, got {pid!r}")
    return p


def remote_link(pid, local):
    """A process of another node links to ``local``: False if ``local`` is not
    alive (the caller answers with an exit signal ``noproc``)."""
    cdef Pid r = _check_remote(pid, "remote_link(pid)")
    cdef Pid l = _check_pid(local, "remote_link(local)")
    if l.state == S_DEAD or l.exiting:
        return False
    _link(l, r)
    return True


def remote_unlink(pid, local):
    """A process of another node removed its link to ``local``."""
    cdef Pid r = _check_remote(pid, "remote_unlink(pid)")
    cdef Pid l = _check_pid(local, "remote_unlink(local)")
    if l.links is not None:
        l.links.discard(r)
    if r.links is not None:
        r.links.discard(l)


def remote_exit(pid, local, reason, link):
    """An exit signal from a process of another node to ``local``: through
    their link (``link=True``: ignored if they are not linked any more) or
    sent with ``exit/2``."""
    cdef Pid r = _check_remote(pid, "remote_exit(pid)")
    cdef Pid l = _check_pid(local, "remote_exit(local)")
    _need_sched()
    if link:
        _remote_lost_link(r, l, reason)
    else:
        _signal(l, r, reason, False)


def remote_monitor(pid, target, ref):
    """A process of another node monitors ``target`` (a local Pid or
    registered name) with ``ref``: returns the monitored Pid, or None if there
    is no such process (the caller answers with a Down ``noproc``)."""
    cdef Pid r = _check_remote(pid, "remote_monitor(pid)")
    cdef Pid t
    s = _need_sched()
    found = target if type(target) is Pid else s.names.get(target)
    if found is None:
        return None
    t = <Pid>found
    if t.state == S_DEAD or t.exiting or t.remote is not None:
        return None
    _add_monitor(r, t, <Ref?>ref)
    return t


def remote_monitored(pid, local, ref):
    """``local`` monitors the process ``pid`` of another node with ``ref``, a
    monitor that node has made already (a spawn request's ``monitor``
    option): record it, as ``monitor`` would, without asking.  False if
    ``local`` is not alive."""
    cdef Pid r = _check_remote(pid, "remote_monitored(pid)")
    cdef Pid l = _check_pid(local, "remote_monitored(local)")
    if l.state == S_DEAD or l.exiting:
        return False
    _add_monitor(l, r, <Ref?>ref)
    return True


def remote_demonitor(pid, ref):
    """A process of another node removed its monitor ``ref``."""
    cdef Pid r = _check_remote(pid, "remote_demonitor(pid)")
    _remove_monitor(r, <Ref?>ref)


def remote_down(pid, ref, reason):
    """The monitor ``ref`` that a local process holds on the remote ``pid``
    (a pid or a name proxy) fired: its owner gets ``Down``.  False if no such
    monitor is active."""
    cdef Pid r = _check_pid(pid, "remote_down(pid)")
    _need_sched()
    return _fire_remote_monitor(r, <Ref?>ref, reason)


def remote_gone(pid, reason="noconnection"):
    """The connection to the node of the remote ``pid`` (or name proxy) was
    lost: every link to it delivers ``reason``, every monitor of it fires
    ``Down(ref, pid, reason)``, and its monitors of local processes end."""
    cdef Pid r = _check_pid(pid, "remote_gone(pid)")
    _need_sched()
    if r.remote is None:
        raise TypeError(f"remote_gone(pid): {pid!r} is a local process")
    # the proxy exits, as far as this node can tell: what a local exit does
    _signal_links(r, reason)
    if r.extra is not None:
        _notify_monitors(r, r.extra, reason)


def remote_peers(pid):
    """The local processes linked to, monitoring, or monitored by the remote
    ``pid`` (what a lost connection to its node affects)."""
    cdef Pid r = _check_pid(pid, "remote_peers(pid)")
    out = set(r.links) if r.links is not None else set()
    x = r.extra
    if x is not None:
        if x.monitors is not None:
            out.update(x.monitors.values())
        if x.monitored_by is not None:
            out.update(x.monitored_by.values())
    return out
