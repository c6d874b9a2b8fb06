"""`kill -USR1 <pid>`: write where this server process is to its log (stderr): every thread's
stack, then every asyncio task of the server's loop with the line it waits on. For a process
that stalls, or does not exit after SIGTERM (tests/servers.py asks for it then).

`kill -USR2 <pid>`, in a process started with PYTHONTRACEMALLOC=N: write a tracemalloc
snapshot of its Python allocations to a file and its path to the log (`bench/idle_memory.py`
compares two of them)."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import itertools
import os
import signal
import sys
import tempfile
import threading
import tracemalloc
from pathlib import Path


async def install() -> None:
    """Lifespan start-up hook: it runs on the server's loop, in the main thread."""
    if not hasattr(signal, "SIGUSR1") or threading.current_thread() is not threading.main_thread():
        return  # (Windows; or a server that runs its loop off the main thread: no handler there)
    loop = asyncio.get_running_loop()
    # A Python-level handler runs in the main thread between two bytecodes, so it answers even
    # when the loop is stuck in Python code, and it holds the interpreter lock while it reads the
    # other threads' frames. faulthandler.register() dumped them from C on whichever thread the
    # kernel picked, while they ran: CI saw the process die halfway through a stack.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: dump(loop))
    if tracemalloc.is_tracing():
        signal.signal(signal.SIGUSR2, lambda _signum, _frame: snapshot())


def snapshot_path(pid: int, number: int) -> Path:
    return Path(tempfile.gettempdir()) / f"kb-tracemalloc-{pid}-{number}.pickle"


_snapshots = itertools.count(1)


def snapshot() -> Path:
    """Dump the allocations traced so far; written whole before the path is logged."""
    path = snapshot_path(os.getpid(), next(_snapshots))
    partial = path.with_suffix(".partial")
    tracemalloc.take_snapshot().dump(str(partial))
    partial.rename(path)
    os.write(sys.stderr.fileno(), f"SIGUSR2: tracemalloc snapshot in {path}\n".encode())
    return path


def dump(loop: asyncio.AbstractEventLoop) -> None:
    fd = sys.stderr.fileno()
    os.write(fd, b"SIGUSR1: the threads, most recent call first\n")
    faulthandler.dump_traceback(fd, all_threads=True)
    # Straight to the file descriptor: the handler may interrupt a write to sys.stderr or a
    # logging handler, and those are not reentrant.
    os.write(fd, _tasks(loop).encode(errors="replace"))
    os.write(fd, b"SIGUSR1: end of dump\n")


def _tasks(loop: asyncio.AbstractEventLoop) -> str:
    tasks = asyncio.all_tasks(loop)
    out = io.StringIO()
    out.write(f"SIGUSR1: {len(tasks)} asyncio tasks\n")
    for task in tasks:
        out.write(f"\n{task!r}\n")
        task.print_stack(limit=6, file=out)
    return out.getvalue()
