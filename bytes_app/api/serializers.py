"""Shapes of the REST API. Validation of shape only: the services decide and write."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Byte, Membership, Module, Revision, Role, Workspace
from ..selectors import module_paths


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of quietly turning them into text."""

    default_error_messages = {"not_a_string": "Expected a string, got {kind}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", kind=type(data).__name__)
        return super().to_internal_value(data)


class PathsMixin:
    """Module paths looked up once per workspace per response, not once per row."""

    context: dict[str, Any]

    def module_path(self, module_id: int, workspace_id: int) -> str:
        cache = self.context.setdefault("module_paths", {})
        if workspace_id not in cache:
            cache[workspace_id] = module_paths(workspace_id)
        return cache[workspace_id].get(module_id, "")


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


# --- auth -------------------------------------------------------------------------------------


class CredentialsSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=256, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class SessionSerializer(serializers.Serializer):
    user = MeSerializer(allow_null=True)


# --- workspaces -------------------------------------------------------------------------------


class WorkspaceSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "role", "viewers_can_comment", "created_at"]
        read_only_fields = ["id", "role", "created_at"]


class MemberSerializer(serializers.ModelSerializer):
    username = StrictCharField(source="user.username", max_length=150)
    user_id = serializers.IntegerField(source="user.id", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "user_id", "role", "created_at"]
        read_only_fields = ["user_id", "created_at"]


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    path = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    children = serializers.ListField(child=serializers.DictField())


# --- modules ----------------------------------------------------------------------------------


class ModuleSerializer(PathsMixin, serializers.ModelSerializer):
    path = serializers.SerializerMethodField()

    class Meta:
        model = Module
        fields = [
            "id",
            "workspace",
            "parent",
            "name",
            "slug",
            "path",
            "description",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_path(self, module: Module) -> str:
        return self.module_path(module.pk, module.workspace_id)


class ModuleCreateSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1)
    name = StrictCharField(max_length=120)
    parent = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    slug = StrictCharField(max_length=120, required=False)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False)


class ModuleUpdateSerializer(serializers.Serializer):
    """Rename/describe; and, when `parent` or `position` is given, a move."""

    name = StrictCharField(max_length=120, required=False)
    slug = StrictCharField(max_length=120, required=False)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    parent = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, required=False)


# --- bytes ------------------------------------------------------------------------------------


def _content_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(
        allow_blank=True, trim_whitespace=False, max_length=settings.KB_BYTE_MAX_CHARS, **kwargs
    )


class ByteSerializer(PathsMixin, serializers.ModelSerializer):
    path = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    workspace = serializers.IntegerField(source="module.workspace_id", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Byte
        fields = [
            "id",
            "workspace",
            "module",
            "title",
            "slug",
            "path",
            "content",
            "tags",
            "position",
            "version",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_path(self, byte: Byte) -> str:
        return f"{self.module_path(byte.module_id, byte.module.workspace_id)}/{byte.slug}"

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, byte: Byte) -> list[str]:
        return [tag.name for tag in byte.tags.all()]


class SearchResultSerializer(ByteSerializer):
    # Only search results (`?q=`) carry a rank, and the list documents this serializer for both:
    # optional in the schema (a read-only field would be required; found by schemathesis).
    rank = serializers.FloatField(required=False, help_text="Relevance, with `?q=` only.")

    class Meta(ByteSerializer.Meta):
        fields = [*ByteSerializer.Meta.fields, "rank"]
        read_only_fields = fields


class ByteCreateSerializer(serializers.Serializer):
    module = serializers.IntegerField(min_value=1)
    title = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=200, required=False)
    content = _content_field(required=False, default="")
    tags = serializers.ListField(
        child=StrictCharField(max_length=50), max_length=50, required=False, default=list
    )
    position = serializers.IntegerField(min_value=0, required=False)


class ByteUpdateSerializer(serializers.Serializer):
    """PATCH changes the fields given; PUT needs title and content. `module`/`position` move it."""

    title = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=200, required=False)
    content = _content_field()
    tags = serializers.ListField(child=StrictCharField(max_length=50), max_length=50, required=False)
    module = serializers.IntegerField(min_value=1, required=False)
    position = serializers.IntegerField(min_value=0, required=False)


class ByteRefSerializer(PathsMixin, serializers.ModelSerializer):
    path = serializers.SerializerMethodField()

    class Meta:
        model = Byte
        fields = ["id", "module", "title", "slug", "path"]
        read_only_fields = fields

    def get_path(self, byte: Byte) -> str:
        return f"{self.module_path(byte.module_id, byte.module.workspace_id)}/{byte.slug}"


class LinkSerializer(serializers.Serializer):
    target = serializers.CharField()
    label = serializers.CharField()
    broken = serializers.BooleanField()
    byte = ByteRefSerializer(allow_null=True)


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Revision
        fields = [
            "id",
            "byte",
            "kind",
            "version",
            "title",
            "content",
            "author",
            "restored_from",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DiffSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    revision_version = serializers.IntegerField()
    current_version = serializers.IntegerField()
    title_changed = serializers.BooleanField()
    diff = serializers.CharField(help_text="Unified diff from the revision to the current content.")


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    workspace = serializers.IntegerField(source="workspace_id")
    bytes = serializers.IntegerField(source="byte_count")
