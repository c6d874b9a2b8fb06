"""Webhook endpoints belong to a workspace's owners: one access function, as in bytes_app.access."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from bytes_app.access import workspace_for_user
from bytes_app.models import Role

from .models import Endpoint


def endpoint_for_owner(user: Any, endpoint_id: Any) -> Endpoint:
    """The endpoint if `user` owns its workspace; 404 for non-members, 403 for other roles."""
    try:
        pk = int(endpoint_id)
    except (TypeError, ValueError):
        raise Http404 from None
    endpoint = Endpoint.objects.select_related("workspace").filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    workspace_for_user(user, endpoint.workspace_id, need=Role.OWNER)
    return endpoint
