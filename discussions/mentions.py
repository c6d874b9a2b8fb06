"""`@username` in text: which usernames a text mentions, and which of them are members."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

from bytes_app.models import Membership

# Not after a word character, '@' or '.', so e-mail addresses and `a@b` do not count.
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]{1,150})")
MAX_MENTIONS = 20


def mentioned_usernames(text: str) -> list[str]:
    """Usernames mentioned in `text`, in order, without repeats (a trailing '.' ends a sentence)."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(text):
        name = match.group(1).rstrip(".")
        if name:
            seen.setdefault(name, None)
    return list(seen)


def members_named(workspace_id: int, usernames: list[str]) -> tuple[list, list[str]]:
    """(the members among `usernames`, the names that are not members of the workspace)."""
    if not usernames:
        return [], []
    user_ids = Membership.objects.filter(
        workspace_id=workspace_id, user__username__in=usernames, user__is_active=True
    ).values_list("user_id", flat=True)
    users = list(get_user_model().objects.filter(pk__in=user_ids))
    found = {user.username for user in users}
    return users, [name for name in usernames if name not in found]
