"""Durable CRDT state of each module's document: a compacted snapshot plus an append-only log."""

from __future__ import annotations

from django.db import models

from bytes_app.models import Module


class DocState(models.Model):
    """One row per module whose document exists: the compacted state, as one Yjs update (v1).

    The row is also the per-module lock for server-side edits and compaction.
    """

    module = models.OneToOneField(Module, primary_key=True, on_delete=models.CASCADE, related_name="+")
    snapshot = models.BinaryField()
    compactions = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"document of module {self.module_id}"


class DocUpdate(models.Model):
    """An update appended since the last compaction, exactly as a client (or the server) sent it."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+", db_index=False)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["module", "id"], name="docupdate_module_id")]

    def __str__(self) -> str:
        return f"update {self.pk} of module {self.module_id}"
