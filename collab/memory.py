"""Giving memory back to the system once rooms have unloaded, and telling where it is.

A room's document lives in memory the CRDT library allocates with the C allocator. glibc keeps
freed blocks for reuse instead of returning them, so a process that held a thousand rooms for
a while keeps their memory after they have gone (measured: `python -m bench.load`, cycles).
`malloc_trim` hands the free pages back; it costs a walk over the heap, so it runs on the
periodic chores after unloads, not per unload. `report()` splits the process's memory into
what the C heap holds in use and free, what SQLite holds (its page caches) and Python's count
of live blocks, so that "memory did not come back" can be told apart from a leak; `census()`
counts the live objects of the libraries that hold documents and connections, to say which.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from collections import Counter
from collections.abc import Callable


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")
    ]  # fmt: skip


def _load_trim() -> Callable[[int], int] | None:
    libc = _libc()
    return getattr(libc, "malloc_trim", None)  # not glibc (musl, macOS): nothing to do


def _load_mallinfo() -> Callable[[], _MallInfo2] | None:
    function = getattr(_libc(), "mallinfo2", None)  # glibc 2.33 and later
    if function is not None:
        function.restype = _MallInfo2
    return function


def _load_sqlite() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:  # SQLite linked statically into Python: not visible here
        return None


_sqlite = _load_sqlite()


def _load_sqlite_used() -> Callable[[], int] | None:
    function = getattr(_sqlite, "sqlite3_memory_used", None)
    if function is not None:
        function.restype = ctypes.c_int64
    return function


# sqlite3_status64's SQLITE_STATUS_PAGECACHE_OVERFLOW: the page caches' memory from the heap
# (all of it, as no SQLITE_CONFIG_PAGECACHE buffer is set). The rest of sqlite3_memory_used is
# prepared statements, schemas and per-connection overhead.
_PAGECACHE_OVERFLOW = 2


def _load_sqlite_page_cache() -> Callable[[], int] | None:
    status = getattr(_sqlite, "sqlite3_status64", None)
    if status is None:
        return None
    counter = ctypes.POINTER(ctypes.c_int64)
    status.argtypes = [ctypes.c_int, counter, counter, ctypes.c_int]

    def page_cache() -> int:
        current, highest = ctypes.c_int64(), ctypes.c_int64()
        status(_PAGECACHE_OVERFLOW, ctypes.byref(current), ctypes.byref(highest), 0)
        return current.value

    return page_cache


_trim = _load_trim()
_mallinfo = _load_mallinfo()
_sqlite_used = _load_sqlite_used()
_sqlite_page_cache = _load_sqlite_page_cache()


def give_back() -> None:
    if _trim is not None:
        _trim(0)


def rss_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 where it is not available)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def report() -> dict[str, int | None]:
    """Where this process's memory is (None: not measurable on this platform)."""
    info = _mallinfo() if _mallinfo is not None else None
    return {
        "rss_bytes": rss_bytes(),
        # The C heap (Python's own arenas are mmapped blocks of it too), in use and kept free.
        "heap_in_use_bytes": (info.uordblks + info.hblkhd) if info else None,
        "heap_free_bytes": info.fordblks if info else None,
        "sqlite_bytes": _sqlite_used() if _sqlite_used is not None else None,
        "sqlite_page_cache_bytes": _sqlite_page_cache() if _sqlite_page_cache is not None else None,
        "python_blocks": sys.getallocatedblocks(),
    }


# Whose objects the census counts: kb's rooms and peers, pycrdt's documents and shared types,
# the channel layer's and the database drivers' connections.
CENSUS_PREFIXES = ("collab.", "bytes_app.", "pycrdt", "channels", "psycopg", "django.db.backends")


def census() -> dict[str, int]:
    """Objects still referenced, by type, for CENSUS_PREFIXES' modules (garbage in reference
    cycles is collected first). A walk over every object: for an operator, not for a poll."""
    gc.collect()
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        module = getattr(kind, "__module__", None)
        if isinstance(module, str) and module.startswith(CENSUS_PREFIXES):
            counts[f"{module}.{kind.__qualname__}"] += 1
    return dict(counts.most_common())


def census_change(*censuses: dict[str, int]) -> dict[str, list[int]]:
    """The types whose count differs between censuses taken one after another, with each count."""
    kinds = sorted({kind for census in censuses for kind in census})
    counts = {kind: [census.get(kind, 0) for census in censuses] for kind in kinds}
    return {kind: values for kind, values in counts.items() if len(set(values)) > 1}
