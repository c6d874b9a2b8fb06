"""The worker's tasks (django-tasks, database backend): `deliver` drains one endpoint."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult, get_date_max

from .delivery import deliver_endpoint

QUEUE = "webhooks"


@task(queue_name=QUEUE)
def deliver(endpoint_id: int) -> None:
    retry_at = deliver_endpoint(endpoint_id)
    if retry_at is not None:
        wake(endpoint_id, at=retry_at)


def wake(endpoint_id: int, *, at: datetime | None = None) -> None:
    """Queue a `deliver` for the endpoint (at `at`) unless one that runs by then is queued already:
    it has not started, so it will see everything committed before now."""
    deadline = at if at is not None and at > timezone.now() else None
    queued = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=deliver.module_path,
        args_kwargs={"args": [endpoint_id], "kwargs": {}},
    ).filter(Q(run_after=get_date_max()) | Q(run_after__lte=deadline or timezone.now()))
    if queued.exists():
        return
    (deliver.using(run_after=deadline) if deadline else deliver).enqueue(endpoint_id)
