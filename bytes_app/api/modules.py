"""Modules: nested folders of bytes."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..access import module_for_user, workspace_for_user
from ..models import Module, Role
from ..selectors import modules_visible_to
from .filters import ModuleFilter
from .refs import body_ref
from .serializers import ModuleCreateSerializer, ModuleSerializer, ModuleUpdateSerializer


class ModuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Modules of your workspaces. Editors create, rename, move (with their subtree) and delete."""

    serializer_class = ModuleSerializer
    filterset_class = ModuleFilter
    ordering_fields = ["name", "position", "created_at", "updated_at", "id"]
    ordering = ["workspace_id", "parent_id", "position", "id"]

    def get_queryset(self) -> QuerySet[Module]:
        return modules_visible_to(self.request.user)

    def get_object(self) -> Module:
        need = Role.VIEWER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.EDITOR
        return module_for_user(self.request.user, self.kwargs["pk"], need=need)

    @extend_schema(request=ModuleCreateSerializer, responses={201: ModuleSerializer})
    def create(self, request: Request) -> Response:
        serializer = ModuleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = body_ref(
            workspace_for_user, request.user, data["workspace"], field="workspace", need=Role.EDITOR
        )
        parent = None
        if data.get("parent") is not None:
            parent = body_ref(module_for_user, request.user, data["parent"], field="parent")
        module = services.module_create(
            workspace=workspace,
            name=data["name"],
            parent=parent,
            slug=data.get("slug"),
            description=data.get("description", ""),
            position=data.get("position"),
        )
        return Response(ModuleSerializer(module).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModuleUpdateSerializer, responses={200: ModuleSerializer})
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        module = self.get_object()
        serializer = ModuleUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():  # a rename and a move in one request land together or not at all
            module = self._change(request, module, data)
        return Response(ModuleSerializer(module).data)

    def _change(self, request: Request, module: Module, data: dict) -> Module:
        module = services.module_update(
            module=module, name=data.get("name"), slug=data.get("slug"), description=data.get("description")
        )
        if "parent" in data or "position" in data:
            parent = module.parent
            if "parent" in data:
                parent = (
                    body_ref(module_for_user, request.user, data["parent"], field="parent")
                    if data["parent"] is not None
                    else None
                )
            module = services.module_move(module=module, parent=parent, position=data.get("position"))
        return module

    @extend_schema(request=ModuleUpdateSerializer, responses={200: ModuleSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance: Module) -> None:
        services.module_delete(module=instance)
