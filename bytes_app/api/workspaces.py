"""Workspaces (teams), their members and their module tree."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..access import workspace_for_user
from ..models import Membership, Role, Workspace
from ..selectors import module_tree, workspaces_for
from .serializers import MemberRoleSerializer, MemberSerializer, TreeNodeSerializer, WorkspaceSerializer


class WorkspaceViewSet(viewsets.ModelViewSet):
    """Workspaces you belong to. Creating one makes you its owner; owners rename and delete."""

    serializer_class = WorkspaceSerializer
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Workspace]:
        return workspaces_for(self.request.user)

    def get_object(self) -> Workspace:
        need = Role.VIEWER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.OWNER
        return workspace_for_user(self.request.user, self.kwargs["pk"], need=need)

    def perform_create(self, serializer: WorkspaceSerializer) -> None:
        workspace = services.workspace_create(user=self.request.user, name=serializer.validated_data["name"])
        workspace.role = Role.OWNER  # type: ignore[attr-defined]
        serializer.instance = workspace

    def perform_update(self, serializer: WorkspaceSerializer) -> None:
        # A PATCH may leave the name out (found by schemathesis: `PATCH {}` answered 500).
        data = serializer.validated_data
        services.workspace_update(
            workspace=serializer.instance,
            name=data.get("name", serializer.instance.name),
            viewers_can_comment=data.get("viewers_can_comment", serializer.instance.viewers_can_comment),
        )

    def perform_destroy(self, instance: Workspace) -> None:
        services.workspace_delete(workspace=instance)

    @extend_schema(responses={200: TreeNodeSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def tree(self, request: Request, pk: str) -> Response:
        """The workspace's modules, nested, siblings in position order."""
        return Response(module_tree(self.get_object()))


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A workspace's members. Members see the list; owners add, change and remove members."""

    serializer_class = MemberSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    filter_backends: list = []

    def workspace(self) -> Workspace:
        reading = self.request.method in ("GET", "HEAD", "OPTIONS")
        leaving = (
            self.request.method == "DELETE" and self.kwargs.get("username") == self.request.user.username
        )
        need = Role.VIEWER if reading or leaving else Role.OWNER
        return workspace_for_user(self.request.user, self.kwargs["workspace_pk"], need=need)

    def get_queryset(self) -> QuerySet[Membership]:
        return (
            Membership.objects.filter(workspace=self.workspace())
            .select_related("user")
            .order_by("user__username")
        )

    def get_object(self) -> Membership:
        return get_object_or_404(self.get_queryset(), user__username=self.kwargs["username"])

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return MemberRoleSerializer if self.action in ("update", "partial_update") else MemberSerializer

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer})
    def create(self, request: Request, workspace_pk: str) -> Response:
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            workspace=self.workspace(),
            username=serializer.validated_data["user"]["username"],
            role=serializer.validated_data["role"],
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer})
    def update(self, request: Request, workspace_pk: str, username: str, partial: bool = False) -> Response:
        membership = self.get_object()
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            workspace=membership.workspace, username=username, role=serializer.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    def perform_destroy(self, instance: Membership) -> None:
        services.membership_remove(membership=instance)
