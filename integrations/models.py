"""Webhooks: endpoints registered by workspace owners, the event outbox, and deliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from bytes_app.models import Workspace

EVENT_TYPES = (
    "byte.created",
    "byte.updated",
    "byte.deleted",
    "byte.moved",
    "module.created",
    "module.renamed",
    "module.moved",
    "module.deleted",
    "revision.restored",
)


class Endpoint(models.Model):
    """A URL that receives a workspace's events, signed with its own secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Needed in clear to sign; shown to the owner once, at creation.
    secret = models.CharField(max_length=100)
    # Event types sent; empty means all.
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Consecutive failed attempts; at KB_WEBHOOK_DISABLE_AFTER the endpoint is disabled.
    failure_streak = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # A worker holds the endpoint while it delivers, so one endpoint's events go out in order.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["workspace_id", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Event(models.Model):
    """The outbox: one row per change, written in the change's transaction. `id` is the sequence."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    # The byte or module the event is about (coalescing looks it up).
    subject_id = models.PositiveBigIntegerField(null=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["type", "subject_id", "-id"], name="event_subject")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"


class Delivery(models.Model):
    """One event on its way to one endpoint; retried until it succeeds or runs out of attempts."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "status", "event"], name="delivery_queue")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint_id} ({self.status})"


class ExternalKey(models.Model):
    """The stable `id` a byte or module carries in markdown exports. A folder imported into another
    workspace keeps its ids (mapped to the new rows), so exporting it again gives the same files."""

    class Kind(models.TextChoices):
        BYTE = "byte"
        MODULE = "module"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    key = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "key"], name="external_key_unique_key"),
            models.UniqueConstraint(fields=["kind", "object_id"], name="external_key_unique_object"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} = {self.key}"
