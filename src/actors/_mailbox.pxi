# Mailboxes: singly linked lists of C nodes, recycled through a freelist.

# Nodes come from slabs of SLAB_BYTES, aligned to their size (a node's slab
# is its address with the low bits cleared), and are recycled through one
# freelist: in steady state no message costs a malloc or a free.  A drained
# flood would leave its peak memory on that freelist, so once the freelist
# holds more than `_compact_at` nodes it is compacted: slabs whose every node
# is free are given back (and the C heap trimmed).  The threshold doubles
# with what survives a compaction, so the work stays O(1) per message.
cdef struct Slab:
    Slab* next                  # every slab, in one list
    Py_ssize_t nfree            # scratch count while compacting

cdef enum:
    SLAB_BYTES = 65536
    FREE_NODES = 1 << 17        # never compact a freelist smaller than this (2 MB)

cdef Py_ssize_t NODES_PER_SLAB = (SLAB_BYTES - sizeof(Slab)) // sizeof(MsgNode)

cdef MsgNode* _free_nodes = NULL
cdef Py_ssize_t _n_free_nodes = 0
cdef Py_ssize_t _compact_at = FREE_NODES
cdef Slab* _slabs = NULL


cdef inline Slab* _slab_of(MsgNode* n) noexcept:
    return <Slab*>(<size_t>n & ~(<size_t>SLAB_BYTES - 1))


cdef MsgNode* _node_slab() noexcept:
    """Carve a new slab into the freelist; NULL if out of memory."""
    global _free_nodes, _n_free_nodes, _slabs
    cdef void* mem = NULL
    cdef Slab* slab
    cdef MsgNode* nodes
    cdef Py_ssize_t i
    mem = actors_aligned_alloc(SLAB_BYTES, SLAB_BYTES)
    if mem == NULL:
        return NULL
    slab = <Slab*>mem
    slab.next = _slabs
    _slabs = slab
    nodes = <MsgNode*>(<char*>mem + sizeof(Slab))
    for i in range(NODES_PER_SLAB - 1):
        nodes[i].next = &nodes[i + 1]
    nodes[NODES_PER_SLAB - 1].next = _free_nodes
    _free_nodes = nodes
    _n_free_nodes += NODES_PER_SLAB
    return nodes


cdef inline MsgNode* _node_new() noexcept:
    global _free_nodes, _n_free_nodes
    cdef MsgNode* n = _free_nodes
    if n == NULL:
        n = _node_slab()
        if n == NULL:
            return NULL
    _free_nodes = n.next
    _n_free_nodes -= 1
    return n


cdef inline void _node_free(MsgNode* n) noexcept:
    global _free_nodes, _n_free_nodes
    n.next = _free_nodes
    _free_nodes = n
    _n_free_nodes += 1
    if _n_free_nodes > _compact_at:
        _compact_free_nodes()


cdef void _compact_free_nodes() noexcept:
    """Give back the slabs whose every node is on the freelist."""
    global _free_nodes, _n_free_nodes, _compact_at, _slabs
    cdef Slab* slab = _slabs
    cdef Slab** link
    cdef MsgNode* n
    cdef MsgNode* prev = NULL
    cdef MsgNode* nxt
    cdef Py_ssize_t freed = 0
    while slab != NULL:
        slab.nfree = 0
        slab = slab.next
    n = _free_nodes
    while n != NULL:
        _slab_of(n).nfree += 1
        n = n.next
    n = _free_nodes
    while n != NULL:                    # unlink the nodes of empty slabs
        nxt = n.next
        if _slab_of(n).nfree == NODES_PER_SLAB:
            if prev == NULL:
                _free_nodes = nxt
            else:
                prev.next = nxt
            _n_free_nodes -= 1
        else:
            prev = n
        n = nxt
    link = &_slabs
    while link[0] != NULL:
        slab = link[0]
        if slab.nfree == NODES_PER_SLAB:
            link[0] = slab.next
            actors_aligned_free(slab)
            freed += 1
        else:
            link = &slab.next
    if freed:
        actors_trim_heap()
    _compact_at = max(<Py_ssize_t>FREE_NODES, 2 * _n_free_nodes)


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
