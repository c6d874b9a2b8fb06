"""Writes. Each service validates, changes rows in one transaction and tells the live documents.

Errors are Django `ValidationError`s keyed by field (the API turns them into 400s with
per-field messages) and `StaleVersion` (412). Services take keyword arguments only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from . import signals
from .links import parse_links
from .live import live_documents
from .models import Byte, Link, Membership, Module, Revision, Role, Tag, Workspace
from .selectors import module_subtree_ids
from .sql import ids_in

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TAG_RE = re.compile(r"^[\w][\w.+#-]*$", re.UNICODE)


class StaleVersion(Exception):
    """The caller edited an older version than the stored one (If-Match did not match)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"The byte is at version {current}; reload it and apply your change again.")
        self.current = current


# --- helpers ----------------------------------------------------------------------------------


def _slug(value: str | None, *, source: str, field: str, max_length: int) -> str:
    """An explicit slug, checked, or one derived from `source`."""
    if value is None:
        slug = slugify(source)[:max_length].strip("-_")
        if not slug:
            raise ValidationError({field: ["Needs at least one letter or digit to make a slug."]})
        return slug
    if not SLUG_RE.match(value) or len(value) > max_length:
        raise ValidationError(
            {"slug": [f"Use lower-case letters, digits, '-' and '_' (at most {max_length})."]}
        )
    return value


def _next_position(siblings: QuerySet) -> int:
    highest = siblings.aggregate(top=Max("position"))["top"]
    return 0 if highest is None else highest + 1


def _place(siblings: QuerySet, obj: Module | Byte, position: int | None) -> None:
    """Put `obj` at `position` among `siblings` (end if None) and renumber them 0..n."""
    others = list(siblings.exclude(pk=obj.pk).order_by("position", "id"))
    index = len(others) if position is None else max(0, min(position, len(others)))
    others.insert(index, obj)
    changed = []
    for number, item in enumerate(others):
        if item.position != number:
            item.position = number
            changed.append(item)
    type(obj).objects.bulk_update([item for item in changed if item.pk != obj.pk], ["position"])
    obj.position = index


def check_content(content: str) -> None:
    limit = settings.KB_BYTE_MAX_CHARS
    if len(content) > limit:
        raise ValidationError(
            {"content": [f"Bytes are short: at most {limit} characters (this has {len(content)})."]}
        )


def _set_links(byte: Byte) -> None:
    Link.objects.filter(source=byte).delete()
    Link.objects.bulk_create(
        Link(source=byte, target=link.target, label=link.label[:200], position=number)
        for number, link in enumerate(parse_links(byte.content))
    )


def _set_tags(byte: Byte, names: Iterable[str]) -> None:
    clean: list[str] = []
    for name in names:
        name = name.strip().lower()
        if not name or len(name) > 50 or not TAG_RE.match(name):
            raise ValidationError(
                {"tags": [f"{name!r} is not a tag: letters, digits and . + # - _ (at most 50)."]}
            )
        if name not in clean:
            clean.append(name)
    workspace_id = byte.module.workspace_id
    existing = {tag.name: tag for tag in Tag.objects.filter(workspace_id=workspace_id, name__in=clean)}
    missing = [Tag(workspace_id=workspace_id, name=name) for name in clean if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    byte.tags.set(Tag.objects.filter(workspace_id=workspace_id, name__in=clean))


def _record_revision(
    byte: Byte, *, author_id: int | None, kind: str, restored_from: Revision | None = None
) -> Revision:
    """Store the byte's title and content; edits by one author close together fold into one
    (never into a create or restore revision, which stay as they were)."""
    if kind == Revision.Kind.EDIT:
        last = byte.revisions.order_by("-id").first()
        window = timedelta(seconds=settings.KB_REVISION_COALESCE_SECONDS)
        if (
            last is not None
            and last.kind == Revision.Kind.EDIT
            and last.author_id == author_id
            and timezone.now() - last.created_at < window
        ):
            last.title, last.content, last.version = byte.title, byte.content, byte.version
            last.save(update_fields=["title", "content", "version", "updated_at"])
            return last
    return Revision.objects.create(
        byte=byte,
        kind=kind,
        version=byte.version,
        title=byte.title,
        content=byte.content,
        author_id=author_id,
        restored_from=restored_from,
    )


def _check_module_slug_free(workspace_id: int, parent_id: int | None, slug: str, exclude: int | None) -> None:
    clash = Module.objects.filter(workspace_id=workspace_id, parent_id=parent_id, slug=slug)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"slug": [f"A module with slug {slug!r} already exists there."]})


def _check_byte_slug_free(module_id: int, slug: str, exclude: int | None) -> None:
    clash = Byte.objects.filter(module_id=module_id, slug=slug)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"slug": [f"A byte with slug {slug!r} already exists in this module."]})


# --- workspaces and members -------------------------------------------------------------------


@transaction.atomic
def workspace_create(*, user: User, name: str) -> Workspace:
    workspace = Workspace.objects.create(name=name, created_by=user)
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return workspace


@transaction.atomic
def workspace_update(
    *, workspace: Workspace, name: str, viewers_can_comment: bool | None = None
) -> Workspace:
    workspace.name = name
    if viewers_can_comment is not None:
        workspace.viewers_can_comment = viewers_can_comment
    workspace.save(update_fields=["name", "viewers_can_comment"])
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace) -> None:
    workspace.delete()


def _owners_left_without(workspace: Workspace, membership: Membership) -> bool:
    return (
        not Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(pk=membership.pk).exists()
    )


@transaction.atomic
def membership_set(*, workspace: Workspace, username: str, role: str) -> Membership:
    """Add `username` to the workspace with `role`, or change their role."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": [f"No user is called {username!r}."]})
    membership = Membership.objects.select_for_update().filter(workspace=workspace, user=user).first()
    if membership is None:
        return Membership.objects.create(workspace=workspace, user=user, role=role)
    if membership.role == Role.OWNER and role != Role.OWNER and _owners_left_without(workspace, membership):
        raise ValidationError({"role": ["A workspace needs an owner: make someone else owner first."]})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.OWNER and _owners_left_without(membership.workspace, membership):
        raise ValidationError({"username": ["A workspace needs an owner: make someone else owner first."]})
    membership.delete()


# --- modules ----------------------------------------------------------------------------------


def _check_parent(workspace_id: int, parent: Module | None, moving: Module | None = None) -> None:
    if parent is None:
        return
    if parent.workspace_id != workspace_id:
        raise ValidationError({"parent": ["The parent must be a module of the same workspace."]})
    if moving is not None and parent.pk in module_subtree_ids(moving):
        raise ValidationError({"parent": ["A module cannot move into itself or its own submodules."]})


@transaction.atomic
def module_create(
    *,
    workspace: Workspace,
    name: str,
    parent: Module | None = None,
    slug: str | None = None,
    description: str = "",
    position: int | None = None,
) -> Module:
    _check_parent(workspace.pk, parent)
    slug = _slug(slug, source=name, field="name", max_length=120)
    _check_module_slug_free(workspace.pk, parent.pk if parent else None, slug, exclude=None)
    siblings = Module.objects.filter(workspace=workspace, parent=parent)
    module = Module(
        workspace=workspace,
        parent=parent,
        name=name,
        slug=slug,
        description=description,
        position=_next_position(siblings),
    )
    module.save()
    if position is not None:
        _place(siblings, module, position)
        module.save(update_fields=["position"])
    signals.module_created.send(sender=Module, module=module)
    return module


@transaction.atomic
def module_update(
    *,
    module: Module,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
) -> Module:
    """Rename or describe a module. The slug (and so every path below it) changes only when asked."""
    old_name, old_slug = module.name, module.slug
    if name is not None:
        module.name = name
    if description is not None:
        module.description = description
    if slug is not None and slug != module.slug:
        module.slug = _slug(slug, source=module.name, field="name", max_length=120)
        _check_module_slug_free(module.workspace_id, module.parent_id, module.slug, exclude=module.pk)
    module.save()
    if (old_name, old_slug) != (module.name, module.slug):
        signals.module_renamed.send(sender=Module, module=module, old_name=old_name, old_slug=old_slug)
    return module


@transaction.atomic
def module_move(*, module: Module, parent: Module | None, position: int | None = None) -> Module:
    """Move a module (and so its whole subtree) under `parent` (None: the root) at `position`."""
    _check_parent(module.workspace_id, parent, moving=module)
    from_parent = module.parent
    new_parent_id = parent.pk if parent else None
    if new_parent_id != module.parent_id:
        _check_module_slug_free(module.workspace_id, new_parent_id, module.slug, exclude=module.pk)
        module.parent = parent
    siblings = Module.objects.filter(workspace_id=module.workspace_id, parent_id=new_parent_id)
    _place(siblings, module, position)
    module.save()
    signals.module_moved.send(sender=Module, module=module, from_parent=from_parent)
    return module


@transaction.atomic
def module_delete(*, module: Module) -> None:
    """Delete a module with its submodules and their bytes."""
    signals.module_deleted.send(sender=Module, module=module)
    module.delete()


# --- bytes ------------------------------------------------------------------------------------


@transaction.atomic
def byte_create(
    *,
    module: Module,
    user: User,
    title: str,
    content: str = "",
    slug: str | None = None,
    tags: Iterable[str] = (),
    position: int | None = None,
) -> Byte:
    check_content(content)
    slug = _slug(slug, source=title, field="title", max_length=200)
    _check_byte_slug_free(module.pk, slug, exclude=None)
    siblings = Byte.objects.filter(module=module)
    byte = Byte.objects.create(
        module=module,
        title=title,
        slug=slug,
        content=content,
        position=_next_position(siblings),
        created_by=user,
        updated_by=user,
    )
    if position is not None:
        _place(siblings, byte, position)
        byte.save(update_fields=["position"])
    _set_tags(byte, tags)
    _set_links(byte)
    _record_revision(byte, author_id=user.pk, kind=Revision.Kind.CREATE)
    live_documents().byte_added(byte)
    signals.byte_created.send(sender=Byte, byte=byte, user=user)
    return byte


@transaction.atomic
def byte_update(
    *,
    byte: Byte,
    user: User | None,
    title: str | None = None,
    slug: str | None = None,
    content: str | None = None,
    tags: Iterable[str] | None = None,
    expected_version: int | None = None,
    revision_kind: str = Revision.Kind.EDIT,
    restored_from: Revision | None = None,
) -> Byte:
    """Change a byte's fields; `content` reaches its live document as a minimal edit."""
    byte = Byte.objects.select_for_update().select_related("module").get(pk=byte.pk)
    if expected_version is not None and expected_version != byte.version:
        raise StaleVersion(byte.version)
    live = live_documents()
    changed_text = changed_index = changed = False
    if content is not None:
        check_content(content)
        merged = live.replace_content(byte, content)
        if merged != byte.content:
            byte.content = merged
            changed_text = True
    if title is not None and title != byte.title:
        byte.title = title
        changed_text = changed_index = True
    if slug is not None and slug != byte.slug:
        byte.slug = _slug(slug, source=byte.title, field="title", max_length=200)
        _check_byte_slug_free(byte.module_id, byte.slug, exclude=byte.pk)
        changed_index = True
    if tags is not None:
        before = set(byte.tags.values_list("name", flat=True))
        _set_tags(byte, tags)
        changed = before != set(byte.tags.values_list("name", flat=True))
    if not (changed or changed_text or changed_index or revision_kind == Revision.Kind.RESTORE):
        return byte
    byte.version += 1
    byte.updated_by = user
    byte.save()
    if content is not None:
        _set_links(byte)
    if changed_text or revision_kind == Revision.Kind.RESTORE:
        _record_revision(
            byte, author_id=user.pk if user else None, kind=revision_kind, restored_from=restored_from
        )
    if changed_index:
        live.index_changed(byte.module)
    if revision_kind == Revision.Kind.RESTORE:
        signals.revision_restored.send(sender=Byte, byte=byte, revision=restored_from, user=user)
    else:
        signals.byte_updated.send(sender=Byte, byte=byte, user=user)
    return byte


@transaction.atomic
def byte_move(*, byte: Byte, user: User | None, module: Module, position: int | None = None) -> Byte:
    """Move a byte to `module` (same workspace) at `position`; its live text moves with it."""
    byte = Byte.objects.select_for_update().select_related("module").get(pk=byte.pk)
    if module.workspace_id != byte.module.workspace_id:
        raise ValidationError({"module": ["A byte can only move within its workspace."]})
    live = live_documents()
    if module.pk == byte.module_id:
        _place(Byte.objects.filter(module=module), byte, position)
        byte.save(update_fields=["position"])
        live.index_changed(module)
        signals.byte_moved.send(sender=Byte, byte=byte, from_module=module, user=user)
        return byte
    _check_byte_slug_free(module.pk, byte.slug, exclude=byte.pk)
    old_module = byte.module
    byte.content = live.current_content(byte)
    live.byte_removed(byte, old_module)
    byte.module = module
    _place(Byte.objects.filter(module=module), byte, position)
    byte.version += 1
    byte.updated_by = user
    byte.save()
    live.byte_added(byte)
    signals.byte_moved.send(sender=Byte, byte=byte, from_module=old_module, user=user)
    return byte


@transaction.atomic
def byte_delete(*, byte: Byte) -> None:
    signals.byte_deleted.send(sender=Byte, byte=byte, user=None)
    live_documents().byte_removed(byte, byte.module)
    byte.delete()


class LiveText(NamedTuple):
    """A byte's text as a live document holds it, for `bytes_sync_from_live`."""

    byte_id: int
    content: str
    user_id: int | None  # who typed last (None: not known)
    expected_version: int | None = None  # store only if the byte is still at this version


@transaction.atomic
def bytes_sync_from_live(texts: Iterable[LiveText]) -> list[Byte]:
    """Store the texts live documents hold (collab's materializer calls this once per tick for
    every byte that changed, in one transaction); returns the bytes whose content changed.

    A byte gone since, or already holding that text, is left alone; so is one no longer at its
    `expected_version` (a newer stored text is not replaced by one read earlier). The rows are
    read, locked (in id order: two processes storing the same bytes must not deadlock), written
    and given their revisions a few queries for the whole batch, not per byte: with many rooms
    busy, per-byte queries were most of the materializer's cost (bench, steady editing).
    """
    wanted = {text.byte_id: text for text in texts}
    rows = (
        Byte.objects.select_for_update(of=("self",))
        .select_related("module")
        .filter(pk__in=ids_in(wanted))
        .order_by("pk")
    )
    now = timezone.now()
    changed: list[Byte] = []
    relinked: list[Byte] = []
    for byte in rows:
        text = wanted[byte.pk]
        if byte.content == text.content:
            continue
        if text.expected_version is not None and byte.version != text.expected_version:
            continue
        if parse_links(text.content) != parse_links(byte.content):  # most keystrokes keep them
            relinked.append(byte)
        byte.content = text.content
        byte.version += 1
        byte.updated_by_id = text.user_id
        byte.updated_at = now  # (bulk_update does not apply auto_now)
        changed.append(byte)
    if not changed:
        return []
    _update_rows(changed, ["content", "version", "updated_by", "updated_at"])
    for byte in relinked:
        _set_links(byte)
    _record_edit_revisions(changed, now)
    signals.bytes_synced.send(sender=Byte, bytes=changed)
    return changed


def _update_rows(objects: list[Byte] | list[Revision], names: list[str]) -> None:
    """Write those fields of those rows: one prepared UPDATE run per row. Django's bulk_update
    builds a CASE expression per field and row, most of the materializer's cost (bench, steady)."""
    if not objects:
        return
    meta = objects[0]._meta
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    table, key = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    sql = f"UPDATE {table} SET {columns} WHERE {key} = %s"
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _insert_rows(objects: list[Revision]) -> None:
    """Add these rows: one prepared INSERT run per row, the same SQL text for any count (Django's
    bulk_create writes one INSERT of all the rows, a new text per count: bytes_app/sql.py)."""
    if not objects:
        return
    meta = objects[0]._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table, values = connection.ops.quote_name(meta.db_table), ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _record_edit_revisions(changed: list[Byte], now: datetime) -> None:
    """`_record_revision(kind=EDIT)` for many bytes: fold into each one's last revision when
    that is an edit by the same author within the window, else add one."""
    last_ids = (
        Revision.objects.filter(byte_id__in=ids_in(byte.pk for byte in changed))
        .order_by()
        .values("byte_id")
        .annotate(last=Max("id"))
    )
    latest = Revision.objects.filter(id__in=ids_in(row["last"] for row in last_ids))
    last = {rev.byte_id: rev for rev in latest}
    window = timedelta(seconds=settings.KB_REVISION_COALESCE_SECONDS)
    folded, added = [], []
    for byte in changed:
        rev = last.get(byte.pk)
        if (
            rev is not None
            and rev.kind == Revision.Kind.EDIT
            and rev.author_id == byte.updated_by_id
            and now - rev.created_at < window
        ):
            rev.title, rev.content, rev.version, rev.updated_at = byte.title, byte.content, byte.version, now
            folded.append(rev)
        else:
            added.append(
                Revision(
                    byte=byte,
                    kind=Revision.Kind.EDIT,
                    version=byte.version,
                    title=byte.title,
                    content=byte.content,
                    author_id=byte.updated_by_id,
                )
            )
    _update_rows(folded, ["title", "content", "version", "updated_at"])
    _insert_rows(added)


def revision_restore(
    *, byte: Byte, revision: Revision, user: User, expected_version: int | None = None
) -> Byte:
    """Bring back a revision's title and content; the restore is itself a new revision."""
    return byte_update(
        byte=byte,
        user=user,
        title=revision.title,
        content=revision.content,
        expected_version=expected_version,
        revision_kind=Revision.Kind.RESTORE,
        restored_from=revision,
    )
