"""Webhook endpoints and their deliveries (workspace owners only)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bytes_app.access import workspace_for_user
from bytes_app.api.refs import body_ref
from bytes_app.models import Role

from .. import services
from ..access import endpoint_for_owner
from ..models import Delivery, Endpoint
from .serializers import (
    DeliverySerializer,
    EndpointCreatedSerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
)


class EndpointFilter(django_filters.FilterSet):
    class Meta:
        model = Endpoint
        fields = ["workspace", "active"]


class EndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """URLs that receive your workspaces' events, signed. Owners only."""

    serializer_class = EndpointSerializer
    filterset_class = EndpointFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["workspace_id", "id"]

    def get_queryset(self) -> QuerySet[Endpoint]:
        return Endpoint.objects.filter(
            workspace__memberships__user_id=self.request.user.pk, workspace__memberships__role=Role.OWNER
        )

    def get_object(self) -> Endpoint:
        return endpoint_for_owner(self.request.user, self.kwargs["pk"])

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointCreatedSerializer})
    def create(self, request: Request) -> Response:
        """Register an endpoint. The response holds its signing `secret`, shown this once."""
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = body_ref(
            workspace_for_user, request.user, data["workspace"], field="workspace", need=Role.OWNER
        )
        endpoint = services.endpoint_create(
            workspace=workspace,
            user=request.user,
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
            active=data["active"],
        )
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change an endpoint; `active: true` re-enables one that was disabled after failures."""
        endpoint = self.get_object()
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, **serializer.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={200: EndpointCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret", filter_backends=[])
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """Replace the signing secret; the response shows the new one, this once."""
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return Response(EndpointCreatedSerializer(endpoint).data)

    def perform_destroy(self, instance: Endpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def deliveries(self, request: Request, pk: str) -> Response:
        """Deliveries to this endpoint, newest first: status, attempts, response code, latency."""
        endpoint = self.get_object()
        queryset = Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_pk>\d+)/resend",
        filter_backends=[],
    )
    def resend(self, request: Request, pk: str, delivery_pk: str) -> Response:
        """Send a delivery's event again, with the same event id (a new delivery is queued)."""
        endpoint = self.get_object()
        delivery = get_object_or_404(Delivery, pk=delivery_pk, endpoint=endpoint)
        again = services.delivery_resend(delivery=delivery)
        again = Delivery.objects.select_related("event").get(pk=again.pk)
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
