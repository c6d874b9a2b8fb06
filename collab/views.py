"""Operators' view of this server process: what the collab layer holds right now."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import memory
from .runtime import Runtime, existing_runtime


async def _stats(runtime: Runtime) -> dict[str, int]:
    return runtime.stats()


class CollabStatusView(APIView):
    """Staff only: rooms, sockets and channel-layer groups held by the process that answers
    (with several processes, ask each one on its own address). `?objects=1` adds a count of
    live objects by type (kb's, pycrdt's, the connections'): a walk over the whole heap."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[OpenApiParameter("objects", bool, description="also count live objects by type")],
        responses={
            200: inline_serializer(
                "CollabStatus",
                {
                    "pid": serializers.IntegerField(),
                    "rss_bytes": serializers.IntegerField(),
                    "collab": serializers.DictField(child=serializers.IntegerField(), allow_null=True),
                    "memory": serializers.DictField(child=serializers.IntegerField(allow_null=True)),
                    "objects": serializers.DictField(child=serializers.IntegerField(), required=False),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        try:
            objects = serializers.BooleanField().run_validation(request.query_params.get("objects", False))
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"objects": error.detail}) from None
        runtime = existing_runtime()
        collab: dict[str, Any] | None = None
        if runtime is not None:
            # Read on the runtime's own loop: its dictionaries change only there.
            collab = asyncio.run_coroutine_threadsafe(_stats(runtime), runtime.loop).result(timeout=5)
        report = memory.report()
        body = {"pid": os.getpid(), "rss_bytes": report["rss_bytes"], "collab": collab, "memory": report}
        if objects:
            body["objects"] = memory.census()
        return Response(body)
