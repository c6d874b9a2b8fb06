"""Every protected object is fetched through one of these functions (REST views and the
collab consumer alike), so permission logic exists once.

Not a member, or no such object: `Http404` either way, so ids of other teams' objects leak
nothing. A member whose role is too low: `PermissionDenied`. Both are Django exceptions, which
DRF turns into 404 and 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404

from .models import Byte, Membership, Module, Role, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

M = TypeVar("M", bound=Model)


def role_of(user: AnyUser, workspace_id: int) -> Role | None:
    if not user.is_authenticated:
        return None
    role = (
        Membership.objects.filter(workspace_id=workspace_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def _get_for_user(queryset: QuerySet[M], membership_path: str, user: AnyUser, pk: Any, need: Role) -> M:
    if not user.is_authenticated:
        raise Http404
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    obj = (
        queryset.filter(pk=pk, **{f"{membership_path}__user_id": user.pk})
        .annotate(role=F(f"{membership_path}__role"))
        .first()
    )
    if obj is None:
        raise Http404
    role = Role(obj.role)  # type: ignore[attr-defined]
    if not role.allows(need):
        raise PermissionDenied(f"This needs the {need} role; you are a {role} here.")
    obj.role = role  # type: ignore[attr-defined]
    return obj


def workspace_for_user(user: AnyUser, workspace_id: Any, *, need: Role = Role.VIEWER) -> Workspace:
    return _get_for_user(Workspace.objects.all(), "memberships", user, workspace_id, need)


def module_for_user(user: AnyUser, module_id: Any, *, need: Role = Role.VIEWER) -> Module:
    return _get_for_user(
        Module.objects.select_related("workspace"),
        "workspace__memberships",
        user,
        module_id,
        need,
    )


def byte_for_user(
    user: AnyUser, byte_id: Any, *, need: Role = Role.VIEWER, queryset: QuerySet[Byte] | None = None
) -> Byte:
    """`queryset`: what else to fetch with the byte (its module and workspace always are)."""
    return _get_for_user(
        (queryset if queryset is not None else Byte.objects.all()).select_related("module__workspace"),
        "module__workspace__memberships",
        user,
        byte_id,
        need,
    )
