"""REST for discussions: threads on bytes, module chat, catch-up by sequence number, inbox.

Thin: each view finds the object through bytes_app.access (so the byte's permissions apply),
validates the shape, and calls a service.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bytes_app.access import byte_for_user, module_for_user
from bytes_app.api.pagination import Pagination

from .. import anchors, services
from ..models import Comment, Conversation, InboxItem, Thread
from .serializers import (
    ChatPageSerializer,
    CommentSerializer,
    EditSerializer,
    EventPageSerializer,
    EventSerializer,
    InboxItemSerializer,
    NewMessageSerializer,
    NewThreadSerializer,
    ReadSerializer,
    ThreadListSerializer,
    ThreadSerializer,
    UnreadSerializer,
)

ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only, and within a 64-bit column
EVENTS_PER_ANSWER = 500
CHAT_PAGE = 50
SINCE = OpenApiParameter("since", int, description="the last sequence number you hold (0: from the start)")


def _threads(queryset: QuerySet[Thread]) -> QuerySet[Thread]:
    comments = services.comments_shown()
    return queryset.select_related("byte", "created_by", "resolved_by").prefetch_related(
        Prefetch("comments", queryset=comments)
    )


def _since(request: Request) -> int:
    raw = request.query_params.get("since", "0")
    if not ID.fullmatch(raw):
        raise ValidationError(
            {"since": ["Expected a whole number >= 0 (the last sequence number you hold)."]}
        )
    return int(raw)


def _events(conversation: Conversation | None, key: str, since: int) -> Response:
    if conversation is None:
        return Response({"conversation": key, "last_seq": 0, "events": []})
    events = services.events_since(conversation, since, EVENTS_PER_ANSWER)
    data = EventSerializer(events, many=True).data
    return Response({"conversation": key, "last_seq": conversation.last_seq, "events": data})


def _created(serializer_class: type, obj: Any, created: bool) -> Response:
    return Response(
        serializer_class(obj).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


def thread_for_user(user: Any, pk: Any, *, write: bool = False) -> Thread:
    try:
        byte_id = Thread.objects.filter(pk=int(pk)).values_list("byte_id", flat=True).first()
    except (TypeError, ValueError):
        byte_id = None
    if byte_id is None:
        raise Http404
    byte = byte_for_user(user, byte_id)
    if write:
        services.require_comment_right(byte.role, byte.module.workspace.viewers_can_comment)  # type: ignore[attr-defined]
    return _threads(Thread.objects.filter(pk=pk)).select_related("conversation").get()


class ByteThreadsView(APIView):
    @extend_schema(responses=ThreadListSerializer, summary="The byte's discussion threads, oldest first")
    def get(self, request: Request, pk: int) -> Response:
        byte = byte_for_user(request.user, pk)
        conversation = Conversation.objects.filter(byte=byte).first()
        threads = _threads(Thread.objects.filter(byte=byte)) if conversation else []
        return Response(
            {
                "conversation": f"byte:{byte.pk}",
                "last_seq": conversation.last_seq if conversation else 0,
                "results": ThreadSerializer(threads, many=True).data,
            }
        )

    @extend_schema(
        request=NewThreadSerializer,
        responses={201: ThreadSerializer, 200: ThreadSerializer},
        summary="Start a thread (anchored to a passage when `anchor` is given)",
    )
    def post(self, request: Request, pk: int) -> Response:
        byte = byte_for_user(request.user, pk)
        services.require_comment_right(byte.role, byte.module.workspace.viewers_can_comment)  # type: ignore[attr-defined]
        data = NewThreadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread, created = services.thread_create(
            byte=byte,
            user=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data.get("client_id"),
            anchor=anchors.parse(data.validated_data.get("anchor")),
        )
        return _created(ThreadSerializer, _threads(Thread.objects.filter(pk=thread.pk)).get(), created)


class ByteEventsView(APIView):
    @extend_schema(
        parameters=[SINCE],
        responses=EventPageSerializer,
        summary="What changed in the byte's discussion after sequence number `since`",
    )
    def get(self, request: Request, pk: int) -> Response:
        byte = byte_for_user(request.user, pk)
        return _events(Conversation.objects.filter(byte=byte).first(), f"byte:{byte.pk}", _since(request))


class ThreadCommentsView(APIView):
    @extend_schema(
        request=NewMessageSerializer,
        responses={201: CommentSerializer, 200: CommentSerializer},
        summary="Reply in a thread",
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = thread_for_user(request.user, pk, write=True)
        data = NewMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment, created = services.comment_create(
            thread=thread,
            user=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data.get("client_id"),
        )
        return _created(CommentSerializer, comment, created)


class ThreadStateView(APIView):
    resolved = True

    @extend_schema(request=None, responses=ThreadSerializer)
    def post(self, request: Request, pk: int) -> Response:
        thread = thread_for_user(request.user, pk, write=True)
        services.thread_resolve(thread=thread, user=request.user, resolved=self.resolved)
        return Response(ThreadSerializer(_threads(Thread.objects.filter(pk=thread.pk)).get()).data)


class CommentView(APIView):
    def _comment(self, request: Request, pk: int, *, write: bool) -> tuple[Comment, int, int]:
        comment = Comment.objects.select_related("conversation", "thread").filter(pk=pk).first()
        if comment is None:
            raise Http404
        conversation = comment.conversation
        if conversation.byte_id:
            place = byte_for_user(request.user, conversation.byte_id)
            module_id, workspace = place.module_id, place.module.workspace
        else:
            place = module_for_user(request.user, conversation.module_id)
            module_id, workspace = place.pk, place.workspace
        if write:
            services.require_comment_right(place.role, workspace.viewers_can_comment)  # type: ignore[attr-defined]
        return comment, module_id, workspace.pk

    @extend_schema(responses=CommentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        comment, _, _ = self._comment(request, pk, write=False)
        return Response(CommentSerializer(comment).data)

    @extend_schema(request=EditSerializer, responses=CommentSerializer, summary="Edit your own comment")
    def patch(self, request: Request, pk: int) -> Response:
        comment, module_id, workspace_id = self._comment(request, pk, write=True)
        data = EditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_edit(
            comment=comment,
            user=request.user,
            body=data.validated_data["body"],
            workspace_id=workspace_id,
            module_id=module_id,
        )
        return Response(CommentSerializer(comment).data)


class ModuleChatView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="only messages older than this message id")],
        responses=ChatPageSerializer,
        summary=f"The module chat's latest {CHAT_PAGE} messages, oldest first",
    )
    def get(self, request: Request, pk: int) -> Response:
        module = module_for_user(request.user, pk)
        before = request.query_params.get("before")
        if before is not None and not ID.fullmatch(before):
            raise ValidationError({"before": ["Expected a message id."]})
        conversation = Conversation.objects.filter(module=module).first()
        messages: list[Comment] = []
        if conversation is not None:
            queryset = services.comments_shown().filter(conversation=conversation)
            if before is not None:
                queryset = queryset.filter(pk__lt=int(before))
            messages = list(queryset.order_by("-id")[:CHAT_PAGE])[::-1]
        return Response(
            {
                "conversation": f"module:{module.pk}",
                "last_seq": conversation.last_seq if conversation else 0,
                "results": CommentSerializer(messages, many=True).data,
            }
        )

    @extend_schema(
        request=NewMessageSerializer,
        responses={201: CommentSerializer, 200: CommentSerializer},
        summary="Say something in the module chat",
    )
    def post(self, request: Request, pk: int) -> Response:
        module = module_for_user(request.user, pk)
        services.require_comment_right(module.role, module.workspace.viewers_can_comment)  # type: ignore[attr-defined]
        data = NewMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment, created = services.chat_post(
            module=module,
            user=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data.get("client_id"),
        )
        return _created(CommentSerializer, comment, created)


class ModuleChatEventsView(APIView):
    @extend_schema(
        parameters=[SINCE],
        responses=EventPageSerializer,
        summary="What changed in the module chat after sequence number `since`",
    )
    def get(self, request: Request, pk: int) -> Response:
        module = module_for_user(request.user, pk)
        return _events(
            Conversation.objects.filter(module=module).first(), f"module:{module.pk}", _since(request)
        )


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your mentions and the replies in your threads, newest first."""

    serializer_class = InboxItemSerializer
    pagination_class = Pagination
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[InboxItem]:
        items = services.inbox_of(self.request.user).select_related("actor", "module", "byte", "comment")
        if self.request.query_params.get("unread") in ("1", "true"):
            items = items.filter(read_at__isnull=True)
        return items

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="only unread items")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=UnreadSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def unread(self, request: Request) -> Response:
        return Response({"unread": services.unread_count(request.user)})

    @extend_schema(request=None, responses=InboxItemSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: int) -> Response:
        item = self.get_object()
        services.mark_read(request.user, [item.pk])
        item.refresh_from_db()
        return Response(InboxItemSerializer(item).data)

    @extend_schema(
        request=ReadSerializer,
        responses=UnreadSerializer,
        summary="Mark the given items read (all of them when `ids` is left out)",
    )
    @action(detail=False, methods=["post"], url_path="read-all", pagination_class=None)
    def read_all(self, request: Request) -> Response:
        data = ReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"unread": services.mark_read(request.user, data.validated_data.get("ids"))})
