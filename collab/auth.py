"""Who may open a module's room: handshake checks, and checking again when access changes.

An integration authenticates with `?token=<key>`; a browser with its session cookie, and then
the Origin header must name one of ALLOWED_HOSTS (a page on another site must not ride the
cookie: cross-site WebSocket hijacking). Every refusal looks the same to the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404
from django.http.request import validate_host
from django.utils.module_loading import import_string
from rest_framework.authtoken.models import Token

from bytes_app.access import module_for_user, role_of
from bytes_app.models import Role

from .peer import Credentials


@dataclass(frozen=True)
class Admission:
    user_id: int
    username: str
    role: Role
    workspace_id: int
    credentials: Credentials


def can_write(role: Role) -> bool:
    return role.allows(Role.EDITOR)


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def query(scope: dict[str, Any]) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the Origin header is http(s) on one of ALLOWED_HOSTS. Missing or `null`: False."""
    origin = _headers(scope).get(b"origin")
    if not origin:
        return False
    try:
        parts = urlsplit(origin.decode("latin-1"))
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return validate_host(parts.hostname, settings.ALLOWED_HOSTS)


class _SessionRequest:
    """The little of a request that django.contrib.auth.get_user needs."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session


def _session_user(scope: dict[str, Any]) -> tuple[Any, str] | None:
    cookie_header = _headers(scope).get(b"cookie")
    if not cookie_header:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(cookie_header.decode("latin-1"))
    except Exception:
        return None
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None or not morsel.value:
        return None
    store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    session = store_class(session_key=morsel.value)
    user = get_user(_SessionRequest(session))  # checks the session hash, so a changed password logs out
    if not user.is_authenticated:
        return None
    return user, morsel.value


def authenticate(scope: dict[str, Any]) -> tuple[Any, Credentials] | None:
    """The user of a WebSocket handshake and how they proved it, or None."""
    token_key = query(scope).get("token")
    if token_key:
        token = Token.objects.select_related("user").filter(key=token_key[:64]).first()
        if token is None or not token.user.is_active:
            return None
        user, credentials = token.user, Credentials("token", token.key)
    else:
        if not origin_allowed(scope):
            return None
        found = _session_user(scope)
        if found is None:
            return None
        user, session_key = found
        credentials = Credentials("session", session_key)
    return user, credentials


def admit(scope: dict[str, Any], module_id: int) -> Admission | None:
    """The user and role for this handshake, or None (not signed in, no such module, not a member)."""
    found = authenticate(scope)
    if found is None:
        return None
    user, credentials = found
    try:
        module = module_for_user(user, module_id)
    except Http404:
        return None
    return Admission(user.pk, user.username, module.role, module.workspace_id, credentials)  # type: ignore[attr-defined]


def still_signed_in(user_id: int, credentials: Credentials | None) -> bool:
    """False once the token is deleted, the session ended, or the user deactivated."""
    if credentials is not None and credentials.kind == "token":
        if not Token.objects.filter(key=credentials.key, user_id=user_id, user__is_active=True).exists():
            return False
    elif credentials is not None and credentials.kind == "session":
        store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
        user = get_user(_SessionRequest(store_class(session_key=credentials.key)))
        if not user.is_authenticated or user.pk != user_id:
            return False
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


def recheck(user_id: int, credentials: Credentials | None, workspace_id: int) -> Role | None:
    """The user's role now, or None if the credential is gone or they are no longer a member."""
    if not still_signed_in(user_id, credentials):
        return None
    from django.contrib.auth import get_user_model

    return role_of(get_user_model()(pk=user_id), workspace_id)
