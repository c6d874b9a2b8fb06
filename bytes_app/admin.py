from django.contrib import admin

from .models import Byte, Link, Membership, Module, Revision, Tag, Workspace


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


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
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


@admin.register(Byte)
class ByteAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "module", "version", "updated_by", "updated_at"]
    list_filter = ["module__workspace"]
    search_fields = ["title", "slug", "content"]
    autocomplete_fields = ["module", "tags"]
    readonly_fields = ["version", "created_by", "updated_by", "created_at", "updated_at"]
    inlines = [RevisionInline]


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
