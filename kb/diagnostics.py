"""`kill -USR1 <pid>`: write where this server process is to its log (stderr): every thread's
stack, then every asyncio task of the server's loop with the line it waits on. For a process
that stalls, or does not exit after SIGTERM (tests/servers.py asks for it then)."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import logging
import signal
import sys

logger = logging.getLogger(__name__)


async def install() -> None:
    """Lifespan start-up hook, so that the tasks dumped are those of the server's own loop."""
    if not hasattr(signal, "SIGUSR1"):
        return
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks, loop)
    # The threads from C, at once, even when the loop is blocked; then the handler above.
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True, chain=True)


def _dump_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    out = io.StringIO()
    for task in tasks:
        out.write(f"\n{task!r}\n")
        task.print_stack(limit=6, file=out)
    logger.warning("SIGUSR1: %d asyncio tasks%s", len(tasks), out.getvalue())
