# Mailboxes: singly linked lists of C nodes, recycled through a freelist.

cdef extern from "Python.h":
    void _incref "Py_INCREF"(PyObject*)
    void _decref "Py_DECREF"(PyObject*)

# Nodes come from slabs of NODES_PER_SLAB and are recycled through one
# freelist, never returned to the OS: a burst of a million queued messages
# costs 16 MB that later messages reuse, and no malloc/free per message.
cdef enum:
    NODES_PER_SLAB = 1024

cdef MsgNode* _free_nodes = NULL


cdef MsgNode* _node_slab() noexcept:
    """Carve a new slab into the freelist; NULL if out of memory."""
    global _free_nodes
    cdef MsgNode* slab = <MsgNode*>malloc(NODES_PER_SLAB * sizeof(MsgNode))
    cdef int i
    if slab == NULL:
        return NULL
    for i in range(NODES_PER_SLAB - 1):
        slab[i].next = &slab[i + 1]
    slab[NODES_PER_SLAB - 1].next = _free_nodes
    _free_nodes = slab
    return slab


cdef inline MsgNode* _node_new() noexcept:
    global _free_nodes
    cdef MsgNode* n = _free_nodes
    if n == NULL:
        n = _node_slab()
        if n == NULL:
            return NULL
    _free_nodes = n.next
    return n


cdef inline void _node_free(MsgNode* n) noexcept:
    global _free_nodes
    n.next = _free_nodes
    _free_nodes = n


cdef inline int _mb_append(Pid p, object msg) except -1:
    cdef MsgNode* n = _node_new()
    if n == NULL:
        raise MemoryError("actors: no memory for a mailbox node")
    _incref(<PyObject*>msg)
    n.msg = <PyObject*>msg
    n.next = NULL
    if p.mb_tail == NULL:
        p.mb_head = n
    else:
        p.mb_tail.next = n
    p.mb_tail = n
    p.mb_len += 1
    return 0


cdef int _mb_insert_after(Pid p, MsgNode* prev, object msg) except -1:
    """Insert ``msg`` after ``prev`` (NULL: at the head)."""
    cdef MsgNode* n = _node_new()
    if n == NULL:
        raise MemoryError("actors: no memory for a mailbox node")
    _incref(<PyObject*>msg)
    n.msg = <PyObject*>msg
    if prev == NULL:
        n.next = p.mb_head
        p.mb_head = n
    else:
        n.next = prev.next
        prev.next = n
    if p.mb_tail == prev:
        p.mb_tail = n
    p.mb_len += 1
    return 0


cdef inline object _mb_take(Pid p, MsgNode* prev, MsgNode* node):
    """Unlink ``node`` (``prev`` is the node before it, or NULL) and return its message."""
    if prev == NULL:
        p.mb_head = node.next
    else:
        prev.next = node.next
    if p.mb_tail == node:
        p.mb_tail = prev
    if p.mb_marker == node:
        p.mb_marker = prev
    if p.mb_save == node:
        p.mb_save = prev
    p.mb_len -= 1
    msg = <object>node.msg
    _decref(node.msg)
    _node_free(node)
    return msg


cdef void _mb_clear(Pid p) noexcept:
    cdef MsgNode* n = p.mb_head
    cdef MsgNode* nxt
    p.mb_head = p.mb_tail = p.mb_save = p.mb_marker = NULL
    p.mb_len = 0
    while n != NULL:
        nxt = n.next
        _decref(n.msg)
        _node_free(n)
        n = nxt


cdef list _mb_list(Pid p):
    cdef list out = []
    cdef MsgNode* n = p.mb_head
    while n != NULL:
        out.append(<object>n.msg)
        n = n.next
    return out


cdef bint _mb_remove_down(Pid p, Ref ref):
    """Remove the first queued ``Down`` for ``ref`` (demonitor's flush)."""
    cdef MsgNode* prev
    cdef MsgNode* n
    if p.marker_ref is ref:             # a Down for ref can only follow the marker
        prev = p.mb_marker
        n = p.mb_head if prev == NULL else prev.next
    else:
        prev = NULL
        n = p.mb_head
    while n != NULL:
        msg = <object>n.msg
        if type(msg) is _Down and (<tuple>msg)[0] is ref:
            _mb_take(p, prev, n)
            return True
        prev = n
        n = n.next
    return False
