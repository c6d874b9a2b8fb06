"""Discussions: comment threads on bytes, a chat per module, and each user's inbox.

Every change to a discussion is stored first as an `Event` with the next sequence number of
its `Conversation` (one per byte, one per module chat), in the same transaction as the change;
only then is it delivered. Clients order and de-duplicate by that number and ask for what they
missed with "since N", so a lost broadcast is healed by the next catch-up, never lost.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from bytes_app.models import Byte, Module, Workspace


class Conversation(models.Model):
    """The ordered log of one byte's threads or of one module's chat."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    byte = models.OneToOneField(Byte, null=True, on_delete=models.CASCADE, related_name="conversation")
    module = models.OneToOneField(Module, null=True, on_delete=models.CASCADE, related_name="chat")
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(byte__isnull=True, module__isnull=False)
                | Q(byte__isnull=False, module__isnull=True),
                name="conversation_byte_xor_module",
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        return f"byte:{self.byte_id}" if self.byte_id else f"module:{self.module_id}"


class Thread(models.Model):
    """Comments about a byte, optionally anchored to a passage of its text.

    The anchor is a pair of Yjs relative positions (encoded as the Yjs clients encode them), so
    it follows the passage through every edit; `quote` is the passage's text when anchored.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="threads")
    byte = models.ForeignKey(Byte, on_delete=models.CASCADE, related_name="threads")
    anchor_start = models.BinaryField(null=True, max_length=64)
    anchor_end = models.BinaryField(null=True, max_length=64)
    quote = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"thread {self.pk} on byte {self.byte_id}"


class Comment(models.Model):
    """A comment in a thread, or (thread empty) a message of a module's chat."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="comments")
    thread = models.ForeignKey(Thread, null=True, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=5000)
    # Chosen by the client: a retried send finds the comment it already made.
    client_id = models.CharField(max_length=64)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["author", "client_id"], name="comment_unique_client_id")
        ]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Event(models.Model):
    """One stored change of a conversation, numbered in the order the server stored it."""

    class Kind(models.TextChoices):
        THREAD_CREATED = "thread.created"
        COMMENT_CREATED = "comment.created"
        COMMENT_EDITED = "comment.edited"
        THREAD_RESOLVED = "thread.resolved"
        THREAD_REOPENED = "thread.reopened"
        CHAT_CREATED = "chat.created"
        CHAT_EDITED = "chat.edited"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    thread = models.ForeignKey(Thread, null=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["conversation", "seq"], name="event_unique_seq")]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.kind}"


class InboxItem(models.Model):
    """Something for one user to read: a mention of them, or a reply in their thread."""

    class Reason(models.TextChoices):
        MENTION = "mention"
        REPLY = "reply"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+")
    byte = models.ForeignKey(Byte, null=True, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, null=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, on_delete=models.CASCADE, related_name="+")
    excerpt = models.CharField(max_length=300)
    read_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="inbox_user_unread")]

    def __str__(self) -> str:
        return f"{self.reason} for {self.user_id}"


class ByteMention(models.Model):
    """Who a byte's content mentions and has been told about, so that saving the byte again
    does not notify them again."""

    byte = models.ForeignKey(Byte, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["byte", "user"], name="byte_mention_unique")]

    def __str__(self) -> str:
        return f"byte {self.byte_id} mentions {self.user_id}"
