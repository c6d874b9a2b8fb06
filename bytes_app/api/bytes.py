"""Bytes: search, read, write (with ETag / If-Match), links, backlinks and revisions."""

from __future__ import annotations

import difflib
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..access import byte_for_user, module_for_user
from ..models import Byte, Revision, Role
from ..search import search_bytes, search_terms
from ..selectors import backlinks, bytes_visible_to, outgoing_links
from .errors import PreconditionFailed
from .filters import ByteFilter
from .refs import body_ref
from .serializers import (
    ByteCreateSerializer,
    ByteRefSerializer,
    ByteSerializer,
    ByteUpdateSerializer,
    DiffSerializer,
    LinkSerializer,
    RevisionSerializer,
    SearchResultSerializer,
)

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The byte\'s ETag (`"<version>"`) as you read it; 412 if it has changed since.',
)
SEARCH = OpenApiParameter(
    "q", OpenApiTypes.STR, description="Full-text search over title and content, best match first."
)


def expected_version(request: Request) -> int | None:
    """The version named by If-Match (None when absent or `*`)."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(f'If-Match {header!r} is not an ETag of this API (it looks like "3").')
    return int(tag)


def with_etag(response: Response, byte: Byte) -> Response:
    response["ETag"] = f'"{byte.version}"'
    return response


@extend_schema_view(
    list=extend_schema(parameters=[SEARCH], responses={200: SearchResultSerializer(many=True)})
)
class ByteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bytes of your workspaces. Viewers read; editors create, edit, move and delete."""

    serializer_class = ByteSerializer
    filterset_class = ByteFilter
    ordering_fields = ["title", "position", "created_at", "updated_at", "id"]

    @property
    def ordering(self) -> list[str]:
        if search_terms(self.search_query()):
            return ["-rank", "-updated_at"]
        return ["module_id", "position", "id"]

    def search_query(self) -> str:
        return self.request.query_params.get("q", "").strip()

    def get_queryset(self) -> QuerySet[Byte]:
        queryset = (
            bytes_visible_to(self.request.user)
            .select_related("module", "created_by", "updated_by")
            .prefetch_related("tags")
        )
        if query := self.search_query():
            if len(query) > 200:
                raise ValidationError({"q": ["A search is at most 200 characters."]})
            queryset = search_bytes(queryset, query)
        return queryset

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return SearchResultSerializer if self.action == "list" and self.search_query() else ByteSerializer

    def get_object(self) -> Byte:
        need = Role.VIEWER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.EDITOR
        # The authors ByteSerializer names, in the same query (one query less for each).
        with_relations = Byte.objects.select_related("created_by", "updated_by")
        return byte_for_user(self.request.user, self.kwargs["pk"], need=need, queryset=with_relations)

    @extend_schema(responses={200: ByteSerializer, 304: None})
    def retrieve(self, request: Request, pk: str) -> Response:
        byte = self.get_object()
        if request.headers.get("If-None-Match", "").strip().removeprefix("W/") == f'"{byte.version}"':
            return with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), byte)
        return with_etag(Response(ByteSerializer(byte).data), byte)

    @extend_schema(request=ByteCreateSerializer, responses={201: ByteSerializer})
    def create(self, request: Request) -> Response:
        serializer = ByteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        module = body_ref(module_for_user, request.user, data["module"], field="module", need=Role.EDITOR)
        byte = services.byte_create(
            module=module,
            user=request.user,
            title=data["title"],
            content=data["content"],
            slug=data.get("slug"),
            tags=data["tags"],
            position=data.get("position"),
        )
        return with_etag(Response(ByteSerializer(byte).data, status=status.HTTP_201_CREATED), byte)

    @extend_schema(request=ByteUpdateSerializer, responses={200: ByteSerializer}, parameters=[IF_MATCH])
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        byte = self.get_object()
        serializer = ByteUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():  # an edit and a move in one request land together or not at all
            byte = self._change(request, byte, serializer.validated_data)
        byte = bytes_visible_to(request.user).select_related("module").get(pk=byte.pk)
        return with_etag(Response(ByteSerializer(byte).data), byte)

    def _change(self, request: Request, byte: Byte, data: dict[str, Any]) -> Byte:
        byte = services.byte_update(
            byte=byte,
            user=request.user,
            title=data.get("title"),
            slug=data.get("slug"),
            content=data.get("content"),
            tags=data.get("tags"),
            expected_version=expected_version(request),
        )
        if "module" in data or "position" in data:
            target = byte.module
            if "module" in data:
                target = body_ref(
                    module_for_user, request.user, data["module"], field="module", need=Role.EDITOR
                )
            byte = services.byte_move(
                byte=byte, user=request.user, module=target, position=data.get("position")
            )
        return byte

    @extend_schema(request=ByteUpdateSerializer, responses={200: ByteSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        byte = self.get_object()
        version = expected_version(request)
        if version is not None and version != byte.version:
            raise services.StaleVersion(byte.version)
        services.byte_delete(byte=byte)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: LinkSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def links(self, request: Request, pk: str) -> Response:
        """The byte's `[[links]]`, each resolved to a byte or marked broken."""
        links = outgoing_links(self.get_object())
        return Response(LinkSerializer(links, many=True).data)

    @extend_schema(responses={200: ByteRefSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def backlinks(self, request: Request, pk: str) -> Response:
        """Bytes that link to this one."""
        return Response(ByteRefSerializer(backlinks(self.get_object()), many=True).data)

    @extend_schema(responses={200: RevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def revisions(self, request: Request, pk: str) -> Response:
        """The byte's history, newest first."""
        page = self.paginate_queryset(self.get_object().revisions.select_related("author").order_by("-id"))
        return self.get_paginated_response(RevisionSerializer(page, many=True).data)

    def _revision(self, byte: Byte, revision_id: str) -> Revision:
        return get_object_or_404(Revision.objects.select_related("author"), pk=revision_id, byte=byte)

    @extend_schema(responses={200: RevisionSerializer})
    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<revision_id>\d+)", filter_backends=[])
    def revision(self, request: Request, pk: str, revision_id: str) -> Response:
        return Response(RevisionSerializer(self._revision(self.get_object(), revision_id)).data)

    @extend_schema(responses={200: DiffSerializer})
    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<revision_id>\d+)/diff", filter_backends=[])
    def diff(self, request: Request, pk: str, revision_id: str) -> Response:
        """A unified diff from the revision's content to the byte's current content."""
        byte = self.get_object()
        revision = self._revision(byte, revision_id)
        diff = unified_diff(revision.content, byte.content, f"v{revision.version}", f"v{byte.version}")
        return Response(
            {
                "revision": revision.pk,
                "revision_version": revision.version,
                "current_version": byte.version,
                "title_changed": revision.title != byte.title,
                "diff": diff,
            }
        )

    @extend_schema(request=None, responses={200: ByteSerializer}, parameters=[IF_MATCH])
    @action(
        detail=True, methods=["post"], url_path=r"revisions/(?P<revision_id>\d+)/restore", filter_backends=[]
    )
    def restore(self, request: Request, pk: str, revision_id: str) -> Response:
        """Bring back the revision's title and content, as a new revision."""
        byte = byte_for_user(request.user, pk, need=Role.EDITOR)
        revision = self._revision(byte, revision_id)
        byte = services.revision_restore(
            byte=byte, revision=revision, user=request.user, expected_version=expected_version(request)
        )
        byte = bytes_visible_to(request.user).select_related("module").get(pk=byte.pk)
        return with_etag(Response(ByteSerializer(byte).data), byte)


def unified_diff(old: str, new: str, fromfile: str, tofile: str) -> str:
    """A unified diff as `git diff` writes it: a last line without a newline is marked so,
    instead of running into the line after it."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=fromfile, tofile=tofile
    )
    marker = "\n\\ No newline at end of file\n"
    return "".join(line if line.endswith("\n") else line + marker for line in lines)
