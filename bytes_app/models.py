"""kb's domain: workspaces (teams) hold nested modules, modules hold bytes (short markdown docs)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        """True if this role can do what `needed` can (owner > editor > viewer)."""
        return self.rank >= needed.rank


_ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


class Workspace(models.Model):
    name = models.CharField(max_length=100)
    # Editors and owners may always comment on bytes; viewers when the owners allow it.
    viewers_can_comment = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]
        ordering = ["workspace_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.workspace}"


class Module(models.Model):
    """A folder of bytes; modules nest like packages. The slug is unique among siblings."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="modules")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, allow_unicode=False)
    description = models.TextField(blank=True, max_length=2000)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "parent", "slug"],
                condition=Q(parent__isnull=False),
                name="module_unique_slug_in_parent",
            ),
            models.UniqueConstraint(
                fields=["workspace", "slug"],
                condition=Q(parent__isnull=True),
                name="module_unique_slug_at_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Byte(models.Model):
    """A short markdown document. `version` grows on every change to it."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="bytes")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    content = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="bytes")
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["module_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["module", "slug"], name="byte_unique_slug_in_module")]
        indexes = [models.Index(fields=["updated_at"], name="byte_updated_at")]

    def __str__(self) -> str:
        return self.title


class Link(models.Model):
    """A `[[target]]` written in a byte's content, as written (normalized), resolved on read.

    Storing the text rather than a foreign key means renames and moves never leave stale rows:
    a link points wherever its path points now, and shows as broken when that is nowhere.
    """

    source = models.ForeignKey(Byte, on_delete=models.CASCADE, related_name="outgoing_links")
    target = models.CharField(max_length=500)
    label = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["source_id", "position"]
        indexes = [models.Index(fields=["target"], name="link_target")]

    def __str__(self) -> str:
        return f"[[{self.target}]]"


class Revision(models.Model):
    """A byte's title and content at a point in its history; close edits fold into one row."""

    class Kind(models.TextChoices):
        CREATE = "create"
        EDIT = "edit"
        RESTORE = "restore"

    byte = models.ForeignKey(Byte, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EDIT)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    content = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.byte_id} v{self.version}"
