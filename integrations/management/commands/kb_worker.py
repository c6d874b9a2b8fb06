"""`python manage.py kb_worker`: the background worker that sends webhooks.

It is django-tasks' database worker (on the `webhooks` queue) plus a sweep thread: every
KB_WEBHOOK_SWEEP_SECONDS it wakes endpoints whose deliveries are due but that no task holds
(a wakeup lost with a killed worker, a lease that expired), and prunes old rows.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection, connections
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from integrations.models import Delivery, Endpoint, Event
from integrations.tasks import QUEUE, wake

logger = logging.getLogger("integrations.worker")


def sweep() -> int:
    """Wake every endpoint with a due delivery and no live lease; prune old rows. Returns how many."""
    now = timezone.now()
    endpoint_ids = list(
        Endpoint.objects.filter(active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(deliveries__status=Delivery.Status.PENDING, deliveries__next_attempt_at__lte=now)
        .values_list("pk", flat=True)
        .distinct()
    )
    for endpoint_id in endpoint_ids:
        wake(endpoint_id)
    finished = [TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
    DBTaskResult.objects.filter(status__in=finished, finished_at__lt=now - timedelta(hours=1)).delete()
    old = now - timedelta(days=settings.KB_WEBHOOK_RETENTION_DAYS)
    Event.objects.filter(created_at__lt=old).exclude(deliveries__status=Delivery.Status.PENDING).delete()
    return len(endpoint_ids)


class Command(BaseCommand):
    help = "Send webhooks: run the delivery worker (stop it with Ctrl-C or SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll-ms",
            type=int,
            default=settings.KB_WEBHOOK_POLL_MS,
            help="how often an idle worker looks for queued tasks",
        )

    def handle(self, *args: Any, poll_ms: int, **options: Any) -> None:
        # The worker loop calls close_old_connections() around every task: with the request-style
        # CONN_MAX_AGE=0 that would reconnect for each one. Keep connections, checked before reuse.
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = None
            connections.settings[alias]["CONN_HEALTH_CHECKS"] = True
        stop = threading.Event()

        def sweeping() -> None:
            while True:
                try:
                    if woken := sweep():
                        logger.info("sweep woke %d endpoint(s)", woken)
                except Exception:  # the sweep must outlive a database hiccup
                    logger.exception("webhook sweep failed")
                finally:
                    close_old_connections()
                if stop.wait(settings.KB_WEBHOOK_SWEEP_SECONDS):
                    connection.close()
                    return

        threading.Thread(target=sweeping, name="webhook-sweep", daemon=True).start()
        worker = Worker(
            queue_names=[QUEUE],
            interval=poll_ms / 1000,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        logger.info("webhook worker started (poll %d ms)", poll_ms)
        try:
            worker.run()
        finally:
            stop.set()
