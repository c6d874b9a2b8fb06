from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from collab import runtime as collab_runtime


@pytest.fixture(autouse=True)
async def _collab_runtime():
    """Each test's event loop gets a fresh collab runtime; shut it down (threads, DB) after."""
    yield
    current = collab_runtime._runtimes.get(asyncio.get_running_loop())
    if current is not None:
        await current.shutdown()


@pytest.fixture
def module_url(team, token_of):
    """`url(user)` for the Deploy module's room with that user's token."""
    tokens = {team[role].pk: token_of(team[role]) for role in ("owner", "editor", "viewer", "outsider")}

    def url(user, module=None, extra: str = "") -> str:
        module = module or team["deploy"]
        return f"/ws/modules/{module.pk}/?token={tokens[user.pk]}{extra}"

    return url


db_call = sync_to_async
