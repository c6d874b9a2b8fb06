"""Shared fixtures: users in every role, a workspace with modules and bytes, API clients."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bytes_app import services
from bytes_app.models import Role

IN_CI = os.environ.get("CI") == "true"


def require_service(name: str, reason: str) -> None:
    """A missing service skips locally with the reason, and fails in CI."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture(autouse=True)
def _fast_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min", "login": "10000/min"},
    }


@pytest.fixture
def make_user(db):
    def make(username: str, password: str = "pw-for-tests-1") -> object:
        return get_user_model().objects.create_user(username=username, password=password)

    return make


@pytest.fixture
def team(make_user):
    """A workspace with an owner, an editor and a viewer, and an outsider who belongs elsewhere."""
    owner, editor, viewer, outsider = (make_user(n) for n in ("olive", "eddie", "vera", "oscar"))
    workspace = services.workspace_create(user=owner, name="Platform")
    services.membership_set(workspace=workspace, username="eddie", role=Role.EDITOR)
    services.membership_set(workspace=workspace, username="vera", role=Role.VIEWER)
    elsewhere = services.workspace_create(user=outsider, name="Elsewhere")
    ops = services.module_create(workspace=workspace, name="Ops")
    deploy = services.module_create(workspace=workspace, name="Deploy", parent=ops)
    byte = services.byte_create(
        module=deploy,
        user=owner,
        title="Rollback",
        content="Run `kb rollback`. See [[checklist]].",
        tags=["howto"],
    )
    checklist = services.byte_create(module=deploy, user=owner, title="Checklist", content="1. breathe")
    secret_module = services.module_create(workspace=elsewhere, name="Secret")
    secret = services.byte_create(module=secret_module, user=outsider, title="Hidden", content="nope")
    return {
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "outsider": outsider,
        "workspace": workspace,
        "elsewhere": elsewhere,
        "ops": ops,
        "deploy": deploy,
        "byte": byte,
        "checklist": checklist,
        "secret_module": secret_module,
        "secret": secret,
    }


@pytest.fixture
def client_for():
    def make(user: object | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def token_of(db):
    def key(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    return key


@pytest.fixture(scope="session", autouse=True)
def _close_connections_of_async_tests(django_db_setup, django_db_blocker):
    """Async tests reach the ORM through asgiref's worker thread; close its connection before
    the test database is dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
