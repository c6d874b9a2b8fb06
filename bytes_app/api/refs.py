"""Objects named in a request body go through the same access functions as URL ids; one that
is missing or hidden becomes a 400 on its field (same message either way: nothing leaks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import Http404
from rest_framework.exceptions import ValidationError

from ..models import Role

T = TypeVar("T")


def body_ref(fetch: Callable[..., T], user: Any, pk: Any, *, field: str, need: Role = Role.VIEWER) -> T:
    try:
        return fetch(user, pk, need=need)
    except Http404:
        raise ValidationError({field: [f"No {field} with id {pk} that you can see."]}) from None
