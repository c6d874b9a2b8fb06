"""The worker as its own process: ordered delivery, nothing sent for a rolled-back change, and a
worker killed mid-delivery loses no event (it is sent again, with the same id)."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from bytes_app import services as kb
from integrations import services, signing
from integrations.models import Delivery
from tests import servers

from .worker import WorkerProcess

WORKER_ENV = {
    "KB_WEBHOOK_TIMEOUT_MS": "2000",
    "KB_WEBHOOK_SWEEP_SECONDS": "1",
    "KB_WEBHOOK_BACKOFF_BASE_MS": "100",
    "KB_WEBHOOK_BACKOFF_MAX_SECONDS": "1",
    "KB_WEBHOOK_COALESCE_MS": "0",
}


def wait_until(condition, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_nothing_and_order_holds(team, receiver, webhook_settings):
    endpoint = services.endpoint_create(workspace=team["workspace"], user=team["owner"], url=receiver.url)
    receiver.hold.set()  # the first request hangs until the worker is dead
    workers = [WorkerProcess(servers.test_database_url(), **WORKER_ENV).start()]
    try:
        titles = [f"Step {number}" for number in range(6)]
        kb.byte_create(module=team["deploy"], user=team["owner"], title=titles[0])
        received = receiver.wait_for(lambda got: len(got) >= 1)
        first_id = received[0].event["id"]
        with pytest.raises(RuntimeError), transaction.atomic():
            kb.byte_create(module=team["deploy"], user=team["owner"], title="Rolled back")
            raise RuntimeError("rolled back")
        for title in titles[1:]:
            kb.byte_create(module=team["deploy"], user=team["owner"], title=title)

        workers[0].kill()  # mid-delivery: the receiver has the request, the worker never saw a reply
        receiver.hold.clear()
        receiver.released.set()
        workers = [WorkerProcess(servers.test_database_url(), **WORKER_ENV).start() for _ in range(2)]
        received = receiver.wait_for(lambda got: len(got) >= 7, timeout=45)
        wait_until(
            lambda: not Delivery.objects.exclude(status="succeeded").exists(), what="all deliveries recorded"
        )
    finally:
        for worker in workers:
            worker.kill()
    again = received[1:]
    assert again[0].event["id"] == first_id  # the interrupted event, resent with the same id
    assert [item.event["data"]["byte"]["title"] for item in again] == titles  # in order, once each
    assert [item.event["sequence"] for item in again] == sorted(item.event["sequence"] for item in again)
    assert all(signing.verify(endpoint.secret, item.body, item.headers["KB-Signature"]) for item in received)
    assert Delivery.objects.count() == 6
