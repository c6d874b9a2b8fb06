"""A workspace as a zip of markdown files: download an export, upload an import (with dry run)."""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bytes_app.access import workspace_for_user
from bytes_app.models import Role

from ..markdown.archive import ImportRefused, read_zip
from ..markdown.export import export_files, zip_bytes
from ..markdown.importer import import_files


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A zip as exported (modules as folders, bytes as .md files).")
    dry_run = serializers.BooleanField(default=False, help_text="Report what would change; change nothing.")
    delete = serializers.BooleanField(default=False, help_text="Delete bytes and modules the zip lacks.")


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    modules_created = serializers.ListField(child=serializers.CharField())
    modules_updated = serializers.ListField(child=serializers.CharField())
    modules_moved = serializers.ListField(child=serializers.CharField())
    modules_deleted = serializers.ListField(child=serializers.CharField())
    bytes_created = serializers.ListField(child=serializers.CharField())
    bytes_updated = serializers.ListField(child=serializers.CharField())
    bytes_moved = serializers.ListField(child=serializers.CharField())
    bytes_deleted = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.IntegerField(help_text="Modules and bytes already as the zip says.")


class ImportErrorSerializer(serializers.Serializer):
    errors = serializers.ListField(child=serializers.CharField(), help_text="One line per problem.")


class ExportView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="The workspace as a zip of markdown files (members)",
    )
    def get(self, request: Request, workspace_pk: int) -> HttpResponse:
        workspace = workspace_for_user(request.user, workspace_pk)
        response = HttpResponse(zip_bytes(export_files(workspace)), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="kb-workspace-{workspace.pk}.zip"'
        return response


class ImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(ImportErrorSerializer, description="Nothing was imported."),
        },
        summary="Make the workspace match a zip of markdown files, all or nothing (editors)",
    )
    def post(self, request: Request, workspace_pk: int) -> Response:
        workspace = workspace_for_user(request.user, workspace_pk, need=Role.EDITOR)
        serializer = ImportRequestSerializer(data=request.data)
        if not serializer.is_valid():  # the same shape as every other refusal of this operation
            problems = [
                f"{field}: {message}" for field, messages in serializer.errors.items() for message in messages
            ]
            return Response({"errors": problems}, status=status.HTTP_400_BAD_REQUEST)
        upload = serializer.validated_data["file"]
        try:
            if upload.size > settings.KB_IMPORT_MAX_ZIP_BYTES:
                raise ImportRefused([f"The zip is larger than {settings.KB_IMPORT_MAX_ZIP_BYTES} bytes."])
            report = import_files(
                workspace=workspace,
                user=request.user,
                files=read_zip(upload.read()),
                dry_run=serializer.validated_data["dry_run"],
                delete=serializer.validated_data["delete"],
            )
        except ImportRefused as refused:
            return Response({"errors": refused.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportReportSerializer(asdict(report)).data)
