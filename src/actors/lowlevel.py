"""Low-level pieces of the core, for libraries built on actors.

The OTP layers (``GenServer``, ``Supervisor``...) use only these and the
names exported from ``actors``.
"""
from ._core import Scheduler as Scheduler
from ._core import call as call
from ._core import checkpoint as checkpoint
from ._core import current_scheduler as current_scheduler
from ._core import is_alive as is_alive
from ._core import pdict_delete as pdict_delete
from ._core import pdict_get as pdict_get
from ._core import pdict_put as pdict_put
from ._core import process_flag as process_flag
from ._core import process_info as process_info
from ._core import process_list as process_list
from ._core import process_table as process_table
from ._core import reply as reply
from ._core import report_allowed as report_allowed
from ._core import set_crash_report_limit as set_crash_report_limit
from ._core import set_via_handler as set_via_handler
from ._core import via_register as via_register
from ._core import via_unregister as via_unregister
from ._core import Where as Where

__all__ = [
    "Scheduler", "call", "checkpoint", "current_scheduler", "is_alive",
    "pdict_delete", "pdict_get", "pdict_put", "process_flag", "process_info",
    "process_list", "process_table", "reply", "report_allowed", "set_crash_report_limit",
    "set_via_handler", "via_register", "via_unregister", "Where",
]
