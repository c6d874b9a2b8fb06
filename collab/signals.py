"""Access changes close or downgrade open sockets on every process (within a second or two)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from bytes_app.models import Membership, Module

from . import bridge


def _after_commit(user_id: int) -> None:
    transaction.on_commit(lambda: bridge.access_changed(user_id))


@receiver(post_save, sender=Membership, dispatch_uid="collab.membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="collab.membership_deleted")
def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    if not kwargs.get("created"):
        _after_commit(instance.user_id)


@receiver(post_delete, sender=Token, dispatch_uid="collab.token_deleted")
def token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    _after_commit(instance.user_id)


@receiver(post_save, sender=get_user_model(), dispatch_uid="collab.user_saved")
def user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:  # deactivated, or a new password (which ends the other sessions)
        _after_commit(instance.pk)


@receiver(user_logged_out, dispatch_uid="collab.logged_out")
def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        # Logout flushes the session right after this signal; re-check once it has.
        transaction.on_commit(lambda: bridge.access_changed(user.pk))


@receiver(post_delete, sender=Module, dispatch_uid="collab.module_deleted")
def module_deleted(sender: Any, instance: Module, **kwargs: Any) -> None:
    module_id = instance.pk
    transaction.on_commit(lambda: bridge.module_deleted(module_id))
