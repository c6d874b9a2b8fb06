"""The collab layer's database threads (collab.runtime.run_db)."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest
from django.db import DatabaseError, connection, transaction

from bytes_app.models import Revision
from collab import runtime as collab_runtime

pytestmark = pytest.mark.django_db(transaction=True)


class Held:
    """Stands for what a failed call's frames hold: a batch of updates, the rows it wrote."""


def fail_in_a_transaction(held: Held) -> None:
    with transaction.atomic():
        Revision(byte_id=None, version=1, title="t").save()  # NOT NULL: IntegrityError in save()


def thread_state(barrier: threading.Barrier) -> tuple[object, bool]:
    # Every thread of the runtime's pool runs one of these: the one that ran the failed call
    # has then let go of that call's work item (which holds the error until the thread takes
    # its next one: with only "some" next calls, the garbage check below raced with it).
    barrier.wait(timeout=10)
    return connection.rollback_exc, connection.in_atomic_block


async def test_a_failed_call_leaves_nothing_of_itself_on_the_thread():
    """Django keeps the last error of an atomic block on the thread's connection (rollback_exc)
    for the thread's life, and with it every frame of the call and their locals: after an outage,
    a batch of updates the committer could not store (found by the soak's object census)."""
    rt = collab_runtime.runtime()
    held = Held()
    address = id(held)
    try:
        await rt.run_db(fail_in_a_transaction, held)
    except DatabaseError:
        pass  # (not pytest.raises: it keeps the exception, and the frames with it)
    else:
        raise AssertionError("the call should have failed")
    del held
    threads = collab_runtime.DB_THREADS
    barrier = threading.Barrier(threads)
    states = await asyncio.gather(*(rt.run_db(thread_state, barrier) for _ in range(threads)))
    for rollback_exc, in_atomic_block in states:
        assert rollback_exc is None and not in_atomic_block
    gc.collect()
    alive = [o for o in gc.get_objects() if id(o) == address and isinstance(o, Held)]
    assert not alive
