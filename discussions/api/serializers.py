"""Shapes of discussions in the REST API and on the live channel (the same JSON on both)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from pycrdt import Text
from rest_framework import serializers

from bytes_app.api.serializers import StrictCharField, UserRefSerializer
from collab import store

from .. import anchors
from ..models import Comment, Event, InboxItem, Thread


class CommentSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(allow_null=True)
    module = serializers.SerializerMethodField()
    mentions = UserRefSerializer(many=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "thread",
            "module",
            "author",
            "body",
            "client_id",
            "created_at",
            "edited_at",
            "mentions",
        ]

    def get_module(self, comment: Comment) -> int | None:
        """The module of a chat message; null for a comment in a thread."""
        return None if comment.thread_id else comment.conversation.module_id


class AnchorSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="base64 of a Yjs relative position (Y.encodeRelativePosition)")
    end = serializers.CharField(help_text="base64 of a Yjs relative position, assoc -1")
    quote = serializers.CharField(allow_blank=True, max_length=anchors.MAX_QUOTE)
    detached = serializers.BooleanField(read_only=True, help_text="the passage's text is gone")


class ThreadSerializer(serializers.ModelSerializer):
    anchor = serializers.SerializerMethodField()
    resolved = serializers.SerializerMethodField()
    resolved_by = UserRefSerializer(allow_null=True)
    created_by = UserRefSerializer(allow_null=True)
    comments = CommentSerializer(many=True)

    class Meta:
        model = Thread
        fields = [
            "id",
            "byte",
            "anchor",
            "resolved",
            "resolved_by",
            "resolved_at",
            "created_by",
            "created_at",
            "comments",
        ]

    @extend_schema_field(AnchorSerializer(allow_null=True))
    def get_anchor(self, thread: Thread) -> dict[str, Any] | None:
        if thread.anchor_start is None or thread.anchor_end is None:
            return None
        texts = self.context.setdefault("texts", {})
        if thread.byte_id not in texts:  # one load of the module's document per byte and answer
            doc, _ = store.read(thread.byte.module_id)
            texts[thread.byte_id] = doc.get(store.text_name(thread.byte_id), type=Text)
        return {
            "start": anchors.encode(thread.anchor_start),
            "end": anchors.encode(thread.anchor_end),
            "quote": thread.quote,
            "detached": anchors.detached(texts[thread.byte_id], thread.anchor_start, thread.anchor_end),
        }

    def get_resolved(self, thread: Thread) -> bool:
        return thread.resolved_at is not None


class EventSerializer(serializers.ModelSerializer):
    thread = serializers.SerializerMethodField()
    comment = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["seq", "kind", "at", "thread", "comment"]

    @extend_schema_field(ThreadSerializer(allow_null=True))
    def get_thread(self, event: Event) -> dict[str, Any] | None:
        """The thread as it is now, comments included (for thread.* and comment.* events)."""
        return ThreadSerializer(event.thread, context=self.context).data if event.thread_id else None

    @extend_schema_field(CommentSerializer(allow_null=True))
    def get_comment(self, event: Event) -> dict[str, Any] | None:
        """The chat message as it is now (chat.* events); the comment concerned (others)."""
        return CommentSerializer(event.comment, context=self.context).data if event.comment_id else None


class EventPageSerializer(serializers.Serializer):
    conversation = serializers.CharField(help_text='"byte:<id>" or "module:<id>"')
    last_seq = serializers.IntegerField()
    events = EventSerializer(many=True)


class ThreadListSerializer(serializers.Serializer):
    conversation = serializers.CharField()
    last_seq = serializers.IntegerField()
    results = ThreadSerializer(many=True)


class ChatPageSerializer(serializers.Serializer):
    conversation = serializers.CharField()
    last_seq = serializers.IntegerField()
    results = CommentSerializer(many=True)


class NewMessageSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=20000)
    client_id = StrictCharField(
        required=False,
        max_length=64,
        help_text="chosen by the client; a retry with the same id never duplicates",
    )


class NewThreadSerializer(NewMessageSerializer):
    anchor = serializers.JSONField(required=False, allow_null=True, help_text="{start, end, quote}")


class EditSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=20000)


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(required=False)
    title = serializers.CharField(required=False)


class InboxItemSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(allow_null=True)
    read = serializers.SerializerMethodField()
    module = serializers.SerializerMethodField()
    byte = serializers.SerializerMethodField()
    comment = serializers.SerializerMethodField()

    class Meta:
        model = InboxItem
        fields = [
            "id",
            "reason",
            "read",
            "created_at",
            "actor",
            "workspace",
            "module",
            "byte",
            "thread",
            "comment",
            "excerpt",
        ]

    def get_read(self, item: InboxItem) -> bool:
        return item.read_at is not None

    @extend_schema_field(RefSerializer)
    def get_module(self, item: InboxItem) -> dict[str, Any]:
        return {"id": item.module_id, "name": item.module.name}

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_byte(self, item: InboxItem) -> dict[str, Any] | None:
        return {"id": item.byte_id, "title": item.byte.title} if item.byte_id else None

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_comment(self, item: InboxItem) -> dict[str, Any] | None:
        return {"id": item.comment_id, "body": item.comment.body} if item.comment_id else None


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="the items to mark read; all of them when left out",
    )
