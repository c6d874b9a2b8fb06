from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.utils import timezone

from integrations import services
from integrations.delivery import deliver_endpoint, head
from integrations.models import Endpoint

from .receiver import Receiver


@pytest.fixture
def webhook_settings(settings):
    """Loopback receivers allowed, quick retries, no coalescing hold (tests that need it set it)."""
    settings.KB_WEBHOOK_ALLOW_PRIVATE = True
    settings.KB_WEBHOOK_BACKOFF_BASE_MS = 40
    settings.KB_WEBHOOK_BACKOFF_MAX_SECONDS = 1
    settings.KB_WEBHOOK_TIMEOUT_MS = 2000
    settings.KB_WEBHOOK_COALESCE_MS = 0
    return settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def endpoint(team, receiver, webhook_settings) -> Endpoint:
    return services.endpoint_create(workspace=team["workspace"], user=team["owner"], url=receiver.url)


@pytest.fixture
def drain() -> Callable[..., None]:
    """Run the worker's delivery loop in this process until the endpoint has nothing pending
    (retries included), as the worker would."""

    def run(endpoint: Endpoint, *, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while head(endpoint.pk) is not None:
            endpoint.refresh_from_db()
            if not endpoint.active:
                return
            assert time.monotonic() < deadline, "deliveries still pending"
            retry_at = deliver_endpoint(endpoint.pk)
            if retry_at is not None:  # the retry's time, not a guess
                time.sleep(max(0.0, (retry_at - timezone.now()).total_seconds()))

    return run
