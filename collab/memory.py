"""Giving memory back to the system once rooms have unloaded.

A room's document lives in memory the CRDT library allocates with the C allocator. glibc keeps
freed blocks for reuse instead of returning them, so a process that held a thousand rooms for
a while keeps their memory after they have gone (measured: `python -m bench.load`, cycles).
`malloc_trim` hands the free pages back; it costs a walk over the heap, so it runs on the
periodic chores after unloads, not per unload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_trim = _load_trim()


def give_back() -> None:
    if _trim is not None:
        _trim(0)
