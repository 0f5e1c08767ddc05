"""Distribution capability flags (the 64-bit ``Flags`` of the handshake).

Every value is OTP's own: ``erts/emulator/beam/dist.h`` (``DFLAG_*``, the
emulator's table) and ``lib/kernel/include/dist.hrl`` (the same values for
``dist_util.erl``), checked against the OTP 25 ``dist.hrl`` installed with
Erlang (kernel 8.5) and the OTP 26 ``dist.h``.  Bits above 31 exist only in
the OTP 23+ handshake (``'N'`` messages carry 64 flag bits).
"""
from __future__ import annotations

PUBLISHED = 0x01                 # visible node: the peer sends it global traffic
ATOM_CACHE = 0x02                # (not used: the atom cache)
EXTENDED_REFERENCES = 0x04
DIST_MONITOR = 0x08              # MONITOR_P / DEMONITOR_P / MONITOR_P_EXIT
FUN_TAGS = 0x10
DIST_MONITOR_NAME = 0x20         # MONITOR_P by registered name (gen_server:call)
HIDDEN_ATOM_CACHE = 0x40
NEW_FUN_TAGS = 0x80
EXTENDED_PIDS_PORTS = 0x100
EXPORT_PTR_TAG = 0x200
BIT_BINARIES = 0x400
NEW_FLOATS = 0x800
UNICODE_IO = 0x1000
DIST_HDR_ATOM_CACHE = 0x2000     # the distribution header (optional)
SMALL_ATOM_TAGS = 0x4000
# 0x8000 is DFLAG_ETS_COMPRESSED, internal to the emulator, never on the wire
UTF8_ATOMS = 0x10000
MAP_TAG = 0x20000
BIG_CREATION = 0x40000
SEND_SENDER = 0x80000            # SEND_SENDER (22) instead of SEND (2)
BIG_SEQTRACE_LABELS = 0x100000
# 0x200000 is DFLAG_PENDING_CONNECT, internal to the emulator
EXIT_PAYLOAD = 0x400000          # PAYLOAD_EXIT/EXIT2/MONITOR_P_EXIT (24, 26, 28)
FRAGMENTS = 0x800000
HANDSHAKE_23 = 0x1000000         # the 'N' handshake messages (OTP 23+)
UNLINK_ID = 0x2000000            # UNLINK_ID / UNLINK_ID_ACK (35, 36)
MANDATORY_25_DIGEST = 0x4000000  # shorthand for all of MANDATORY_25 (OTP 25+)
MULTISEND = 0x8000000            # OTP 26+ dist.h; in OTP 25 still a reserved bit
SPAWN = 1 << 32                  # SPAWN_REQUEST / SPAWN_REPLY (29..32)
NAME_ME = 2 << 32                # dynamic node names (not used here)
V4_NC = 4 << 32                  # NEW_PID/NEW_PORT/NEWER_REFERENCE with 32-bit creation
ALIAS = 8 << 32                  # ALIAS_SEND (33, 34)

#: ``MANDATORY_DFLAGS_25`` of dist.hrl (= ``DFLAG_DIST_MANDATORY_25`` of
#: dist.h): OTP 25 refuses a node without any of them.
MANDATORY_25 = (EXTENDED_REFERENCES | FUN_TAGS | EXTENDED_PIDS_PORTS | NEW_FUN_TAGS
                | EXPORT_PTR_TAG | BIT_BINARIES | NEW_FLOATS | UTF8_ATOMS | MAP_TAG
                | BIG_CREATION | HANDSHAKE_23)

#: ``DFLAG_DIST_MANDATORY_26`` of dist.h: OTP 26+ also refuses a node without these.
MANDATORY_26 = V4_NC | UNLINK_ID

#: What this runtime advertises: everything OTP 26+ requires, the
#: ``MANDATORY_25_DIGEST`` shorthand (mandatory from OTP 27), and the
#: capabilities of a node doing send, link/unlink, monitor (also by name),
#: spawn and alias.  No atom cache, distribution header or fragments.  Hidden:
#: add ``PUBLISHED`` for a visible node.
DEFAULT_FLAGS = (MANDATORY_25 | MANDATORY_26 | MANDATORY_25_DIGEST
                 | DIST_MONITOR | DIST_MONITOR_NAME | SMALL_ATOM_TAGS
                 | SEND_SENDER | EXIT_PAYLOAD | SPAWN | ALIAS)

#: What a peer must offer (after expanding ``MANDATORY_25_DIGEST``): OTP's
#: own mandatory set (``DFLAG_DIST_MANDATORY`` of OTP 26+ dist.h).
REQUIRED_FLAGS = MANDATORY_25 | MANDATORY_26

_NAMES = {value: name for name, value in globals().items()
          if name.isupper() and isinstance(value, int) and value & (value - 1) == 0}


def expand(flags: int) -> int:
    """The flags with ``MANDATORY_25_DIGEST`` replaced by what it stands for
    (as ``dist_util:expand_mandatory_25_flag/1`` does)."""
    if flags & MANDATORY_25_DIGEST:
        flags |= MANDATORY_25
    return flags


def missing(flags: int, required: int = REQUIRED_FLAGS) -> list[str]:
    """The names of the ``required`` flags that ``flags`` (expanded) lacks."""
    absent = required & ~expand(flags)
    return [name_of(1 << bit) for bit in range(64) if absent >> bit & 1]


def name_of(flag: int) -> str:
    """The OTP name of one flag bit (``UNKNOWN<hex>`` for others, as ``dflag2str``)."""
    return _NAMES.get(flag, f"UNKNOWN<{flag:X}>")


def names(flags: int) -> list[str]:
    """The OTP names of the bits set in ``flags``, lowest bit first."""
    return [name_of(1 << bit) for bit in range(64) if flags >> bit & 1]
