"""The admin writes through the same services as the API, so live documents, links and
revisions stay right whichever door an edit comes through."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import Byte, Link, Membership, Module, Revision, Tag, Workspace
from .selectors import module_subtree_ids


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["workspace", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["workspace__name", "user__username"]
    autocomplete_fields = ["user", "workspace"]


class ModuleForm(forms.ModelForm):
    class Meta:
        model = Module
        fields = ["workspace", "parent", "name", "slug", "description", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        parent, workspace = data.get("parent"), data.get("workspace")
        if parent is not None and workspace is not None:
            if parent.workspace_id != workspace.pk:
                raise ValidationError({"parent": "The parent must be a module of the same workspace."})
            if self.instance.pk and parent.pk in module_subtree_ids(self.instance):
                raise ValidationError({"parent": "A module cannot move into itself or its own submodules."})
        return data


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    form = ModuleForm
    list_display = ["name", "slug", "workspace", "parent", "position"]
    list_filter = ["workspace"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["workspace", "parent"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace"]
    search_fields = ["name"]


class RevisionInline(admin.TabularInline):
    model = Revision
    extra = 0
    fields = ["kind", "version", "title", "author", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class ByteForm(forms.ModelForm):
    class Meta:
        model = Byte
        fields = ["module", "title", "slug", "content", "tags"]

    def clean_content(self) -> str:
        content = self.cleaned_data["content"]
        try:
            services.check_content(content)
        except ValidationError as error:
            raise ValidationError(error.message_dict["content"]) from None
        return content


@admin.register(Byte)
class ByteAdmin(admin.ModelAdmin):
    form = ByteForm
    list_display = ["title", "slug", "module", "version", "updated_by", "updated_at"]
    list_filter = ["module__workspace"]
    search_fields = ["title", "slug", "content"]
    autocomplete_fields = ["module", "tags"]
    readonly_fields = ["version", "created_by", "updated_by", "created_at", "updated_at"]
    inlines = [RevisionInline]

    def get_readonly_fields(self, request: Any, obj: Byte | None = None) -> list[str]:
        # Moving a byte goes through the API (it moves its live document too).
        return [*self.readonly_fields, "module"] if obj else self.readonly_fields

    def save_model(self, request: Any, obj: Byte, form: Any, change: bool) -> None:
        if change:
            saved = services.byte_update(
                byte=obj, user=request.user, title=obj.title, slug=obj.slug, content=obj.content
            )
        else:
            saved = services.byte_create(
                module=obj.module, user=request.user, title=obj.title, slug=obj.slug, content=obj.content
            )
        obj.pk, obj.version, obj.position = saved.pk, saved.version, saved.position

    def delete_model(self, request: Any, obj: Byte) -> None:
        services.byte_delete(byte=obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for byte in queryset:
            services.byte_delete(byte=byte)


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["byte", "kind", "version", "author", "created_at"]
    list_filter = ["kind"]
    search_fields = ["byte__title"]
    readonly_fields = ["byte", "kind", "version", "author", "restored_from", "created_at", "updated_at"]


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ["source", "target", "label"]
    search_fields = ["target", "source__title"]
