"""Writes to discussions. Each service checks, changes rows and stores the change as the
conversation's next event in one transaction; delivery happens only after the commit
(persistence first). Errors are Django `ValidationError`s by field and `PermissionDenied`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from bytes_app.models import Byte, Module, Role
from bytes_app.sql import ids_in

from . import live
from .anchors import Anchor
from .mentions import MAX_MENTIONS, members_named, mentioned_usernames
from .models import ByteMention, Comment, Conversation, Event, InboxItem, Thread

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser as User

T = TypeVar("T")
MAX_BODY = 5000
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXCERPT = 280


# --- checks -----------------------------------------------------------------------------------


def may_comment(role: Role, viewers_can_comment: bool) -> bool:
    return role.allows(Role.EDITOR) or viewers_can_comment


def require_comment_right(role: Role, viewers_can_comment: bool) -> None:
    if not may_comment(role, viewers_can_comment):
        raise PermissionDenied("Viewers cannot comment in this workspace (an owner can allow it).")


def _body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationError({"body": ["Write something first: the message is empty."]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [f"At most {MAX_BODY} characters; this one has {len(body)}."]})
    return body


def _client_id(client_id: str | None) -> str:
    if client_id is None:
        return uuid.uuid4().hex  # no retry protection asked for
    if not CLIENT_ID.match(client_id):
        raise ValidationError({"client_id": ["Use 1 to 64 letters, digits, '-' or '_'."]})
    return client_id


def _mentions(workspace_id: int, body: str) -> list[User]:
    names = mentioned_usernames(body)
    if len(names) > MAX_MENTIONS:
        raise ValidationError({"body": [f"At most {MAX_MENTIONS} people can be mentioned at once."]})
    users, strangers = members_named(workspace_id, names)
    if strangers:
        listed = ", ".join(f"@{name}" for name in strangers)
        raise ValidationError({"body": [f"Not members of this workspace: {listed}."]})
    return users


def _excerpt(body: str) -> str:
    return body if len(body) <= EXCERPT else body[: EXCERPT - 1] + "…"


# --- conversations and events -----------------------------------------------------------------


def byte_conversation(byte: Byte) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        byte=byte, defaults={"workspace_id": byte.module.workspace_id}
    )
    return conversation


def module_conversation(module: Module) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        module=module, defaults={"workspace_id": module.workspace_id}
    )
    return conversation


def _record(
    conversation: Conversation,
    kind: str,
    *,
    actor: User,
    thread: Thread | None = None,
    comment: Comment | None = None,
) -> Event:
    """Store the conversation's next event. The UPDATE takes the row's write lock first, so
    concurrent senders get consecutive numbers in commit order (PostgreSQL row lock; SQLite
    runs write transactions one at a time)."""
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=F("last_seq") + 1)
    seq = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).get()
    conversation.last_seq = seq
    event = Event.objects.create(
        conversation=conversation, seq=seq, kind=kind, thread=thread, comment=comment, actor=actor
    )
    transaction.on_commit(lambda: live.event_stored(event.pk))
    return event


def comments_shown() -> QuerySet[Comment]:
    """Comments with what their JSON shows (author, conversation, mentions) fetched up front."""
    return Comment.objects.select_related("author", "conversation").prefetch_related("mentions")


def events_since(conversation: Conversation, since: int, limit: int = 500) -> list[Event]:
    comments = comments_shown()
    return list(
        conversation.events.filter(seq__gt=since)
        .select_related("thread__byte", "thread__created_by", "thread__resolved_by")
        .select_related("comment__author", "comment__conversation")
        .prefetch_related(Prefetch("thread__comments", queryset=comments), "comment__mentions")
        .order_by("seq")[:limit]
    )


# --- inbox ------------------------------------------------------------------------------------


def _notify(
    users: list[User],
    reason: str,
    *,
    actor_id: int | None,
    workspace_id: int,
    module_id: int,
    excerpt: str,
    byte_id: int | None = None,
    thread: Thread | None = None,
    comment: Comment | None = None,
) -> None:
    items = InboxItem.objects.bulk_create(
        InboxItem(
            user=user,
            reason=reason,
            actor_id=actor_id,
            workspace_id=workspace_id,
            module_id=module_id,
            byte_id=byte_id,
            thread=thread,
            comment=comment,
            excerpt=_excerpt(excerpt),
        )
        for user in users
        if user.pk != actor_id
    )
    ids = [item.pk for item in items]
    if ids:
        transaction.on_commit(lambda: live.inbox_stored(ids))


def _notify_comment(
    comment: Comment,
    actor: User,
    *,
    mentioned: list[User],
    byte: Byte | None,
    module_id: int,
    workspace_id: int,
) -> None:
    where = {
        "actor_id": actor.pk,
        "workspace_id": workspace_id,
        "module_id": module_id,
        "byte_id": byte.pk if byte else None,
        "thread": comment.thread,
        "comment": comment,
    }
    _notify(mentioned, InboxItem.Reason.MENTION, excerpt=comment.body, **where)
    if comment.thread is None:
        return
    told = {user.pk for user in mentioned} | {actor.pk}
    # Replies go to whoever started or joined the thread.
    participants = {comment.thread.created_by_id} | set(
        comment.thread.comments.exclude(pk=comment.pk).values_list("author_id", flat=True)
    )
    repliers = list(
        get_user_model().objects.filter(
            pk__in=participants - told - {None}, memberships__workspace_id=workspace_id, is_active=True
        )
    )
    _notify(repliers, InboxItem.Reason.REPLY, excerpt=comment.body, **where)


def inbox_of(user: User) -> QuerySet[InboxItem]:
    """The user's items from the workspaces they are still a member of."""
    return InboxItem.objects.filter(user_id=user.pk, workspace__memberships__user_id=user.pk)


def mark_read(user: User, item_ids: list[int] | None = None) -> int:
    """Mark the user's items read (all of them when `item_ids` is None); the unread count after."""
    unread = inbox_of(user).filter(read_at__isnull=True)
    (unread if item_ids is None else unread.filter(pk__in=item_ids)).update(read_at=timezone.now())
    return unread.count()


def unread_count(user: User) -> int:
    return inbox_of(user).filter(read_at__isnull=True).count()


# --- threads and comments ---------------------------------------------------------------------


def _retried(user: User, client_id: str) -> Comment | None:
    return Comment.objects.filter(author=user, client_id=client_id).select_related("thread").first()


class _RacedRetry(Exception):
    """The same send (user and client_id) was being stored by another request at once."""


def _idempotent(service: Callable[..., T]) -> Callable[..., T]:
    """Run a send in its own transaction; if a concurrent twin stored the same client_id first,
    run it again: it then finds the twin's result (a retry answers 200, never a 400)."""
    atomic = transaction.atomic(service)

    @wraps(service)
    def run(**kwargs: Any) -> T:
        try:
            return atomic(**kwargs)
        except _RacedRetry:
            return atomic(**kwargs)

    return run


def _same_client_id_elsewhere() -> ValidationError:
    return ValidationError({"client_id": ["This client_id was already used for another message."]})


@_idempotent
def thread_create(
    *, byte: Byte, user: User, body: str, client_id: str | None = None, anchor: Anchor | None = None
) -> tuple[Thread, bool]:
    """A new thread with its first comment; (thread, created). A retry (same client_id) returns
    the thread it made the first time."""
    client_id = _client_id(client_id)
    if (earlier := _retried(user, client_id)) is not None:
        thread = earlier.thread
        if thread is None or thread.byte_id != byte.pk or thread.comments.order_by("pk").first() != earlier:
            raise _same_client_id_elsewhere()
        return thread, False
    body = _body(body)
    mentioned = _mentions(byte.module.workspace_id, body)
    conversation = byte_conversation(byte)
    thread = Thread.objects.create(
        conversation=conversation,
        byte=byte,
        created_by=user,
        anchor_start=anchor.start if anchor else None,
        anchor_end=anchor.end if anchor else None,
        quote=anchor.quote if anchor else "",
    )
    comment = _comment(conversation, thread, user, body, client_id, mentioned)
    _record(conversation, Event.Kind.THREAD_CREATED, actor=user, thread=thread, comment=comment)
    _notify_comment(
        comment,
        user,
        mentioned=mentioned,
        byte=byte,
        module_id=byte.module_id,
        workspace_id=byte.module.workspace_id,
    )
    return thread, True


def _comment(
    conversation: Conversation,
    thread: Thread | None,
    user: User,
    body: str,
    client_id: str,
    mentioned: list[User],
) -> Comment:
    try:
        with transaction.atomic():
            comment = Comment.objects.create(
                conversation=conversation, thread=thread, author=user, body=body, client_id=client_id
            )
    except IntegrityError:  # the same send, twice at once: the other one made it
        raise _RacedRetry from None
    comment.mentions.set(mentioned)
    return comment


@_idempotent
def comment_create(
    *, thread: Thread, user: User, body: str, client_id: str | None = None
) -> tuple[Comment, bool]:
    """A reply in a thread; (comment, created). A retry returns the comment made the first time."""
    client_id = _client_id(client_id)
    if (earlier := _retried(user, client_id)) is not None:
        if earlier.thread_id != thread.pk:
            raise _same_client_id_elsewhere()
        return earlier, False
    body = _body(body)
    byte = thread.byte
    mentioned = _mentions(byte.module.workspace_id, body)
    comment = _comment(thread.conversation, thread, user, body, client_id, mentioned)
    _record(thread.conversation, Event.Kind.COMMENT_CREATED, actor=user, thread=thread, comment=comment)
    _notify_comment(
        comment,
        user,
        mentioned=mentioned,
        byte=byte,
        module_id=byte.module_id,
        workspace_id=byte.module.workspace_id,
    )
    return comment, True


@_idempotent
def chat_post(*, module: Module, user: User, body: str, client_id: str | None = None) -> tuple[Comment, bool]:
    """A message in the module's chat; (message, created)."""
    client_id = _client_id(client_id)
    if (earlier := _retried(user, client_id)) is not None:
        if earlier.thread_id is not None or earlier.conversation.module_id != module.pk:
            raise _same_client_id_elsewhere()
        return earlier, False
    body = _body(body)
    mentioned = _mentions(module.workspace_id, body)
    conversation = module_conversation(module)
    comment = _comment(conversation, None, user, body, client_id, mentioned)
    _record(conversation, Event.Kind.CHAT_CREATED, actor=user, comment=comment)
    _notify_comment(
        comment, user, mentioned=mentioned, byte=None, module_id=module.pk, workspace_id=module.workspace_id
    )
    return comment, True


@transaction.atomic
def comment_edit(*, comment: Comment, user: User, body: str, workspace_id: int, module_id: int) -> Comment:
    """Change your own comment or chat message; newly mentioned people are told."""
    if comment.author_id != user.pk:
        raise PermissionDenied("Only its author can edit a comment.")
    body = _body(body)
    if body == comment.body:
        return comment
    mentioned = _mentions(workspace_id, body)
    before = set(comment.mentions.values_list("pk", flat=True))
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    comment.mentions.set(mentioned)
    kind = Event.Kind.COMMENT_EDITED if comment.thread_id else Event.Kind.CHAT_EDITED
    _record(comment.conversation, kind, actor=user, thread=comment.thread, comment=comment)
    _notify(
        [u for u in mentioned if u.pk not in before],
        InboxItem.Reason.MENTION,
        actor_id=user.pk,
        workspace_id=workspace_id,
        module_id=module_id,
        excerpt=body,
        byte_id=comment.thread.byte_id if comment.thread else None,
        thread=comment.thread,
        comment=comment,
    )
    return comment


@transaction.atomic
def thread_resolve(*, thread: Thread, user: User, resolved: bool) -> Thread:
    """Resolve or reopen; doing it twice changes nothing and records nothing."""
    # Conditional, so that two at once change it (and record an event) once.
    changed = Thread.objects.filter(pk=thread.pk, resolved_at__isnull=resolved).update(
        resolved_at=timezone.now() if resolved else None, resolved_by=user if resolved else None
    )
    thread.refresh_from_db(fields=["resolved_at", "resolved_by"])
    if not changed:
        return thread
    kind = Event.Kind.THREAD_RESOLVED if resolved else Event.Kind.THREAD_REOPENED
    _record(thread.conversation, kind, actor=user, thread=thread)
    return thread


# --- mentions in byte content -----------------------------------------------------------------


def byte_content_saved(byte: Byte, actor_id: int | None) -> None:
    """Tell members newly mentioned in the byte's content (once per byte and person); someone
    removed from the content and mentioned again later is told again."""
    users, _ = members_named(byte.module.workspace_id, mentioned_usernames(byte.content)[:MAX_MENTIONS])
    now = {u.pk for u in users}
    told = set(ByteMention.objects.filter(byte=byte).values_list("user_id", flat=True))
    ByteMention.objects.filter(byte=byte, user_id__in=told - now).delete()
    new = [u for u in users if u.pk not in told]
    if not new:
        return
    ByteMention.objects.bulk_create([ByteMention(byte=byte, user=u) for u in new], ignore_conflicts=True)
    line = next((ln for ln in byte.content.splitlines() if "@" in ln), byte.title)
    _notify(
        new,
        InboxItem.Reason.MENTION,
        actor_id=actor_id,
        workspace_id=byte.module.workspace_id,
        module_id=byte.module_id,
        byte_id=byte.pk,
        excerpt=line.strip() or byte.title,
    )


def has_byte_mentions(byte: Byte) -> bool:
    return ByteMention.objects.filter(byte=byte).exists()


def bytes_with_mentions(bytes: list[Byte]) -> set[int]:
    """The ids of those bytes that have mentions on record."""
    mentioned = ByteMention.objects.filter(byte_id__in=ids_in(byte.pk for byte in bytes))
    return set(mentioned.values_list("byte_id", flat=True).distinct())
