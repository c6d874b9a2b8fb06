"""Seed a demo workspace with modules, linked bytes and three users (one per role)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from bytes_app import services
from bytes_app.models import Role, Workspace

WORKSPACE = "Acme Engineering"
USERS = [("alice", Role.OWNER), ("bob", Role.EDITOR), ("carol", Role.VIEWER)]

# module path -> [(title, tags, content)]
CONTENT: dict[str, list[tuple[str, list[str], str]]] = {
    "onboarding": [
        (
            "Welcome",
            ["start-here"],
            "# Welcome to kb\n\nShort notes, organized like code. Start with [[first-week]], then read\n"
            "[[ops/deploy/how-to-deploy]] before your first release.\n",
        ),
        (
            "First week",
            ["start-here"],
            "- Get access to the repositories\n- Pair on a deploy ([[ops/deploy/how-to-deploy]])\n"
            "- Read the decisions in [[architecture/decisions/use-postgresql]]\n",
        ),
    ],
    "ops": [],
    "ops/deploy": [
        (
            "How to deploy",
            ["howto", "deploy"],
            "1. Merge to `main`.\n2. Wait for CI to go green.\n3. Run `make release`.\n\n"
            "If anything goes wrong, see [[rollback]].\n",
        ),
        ("Rollback", ["howto", "deploy"], "Run `make rollback VERSION=<previous tag>`, then tell #ops.\n"),
    ],
    "ops/incidents": [
        (
            "Incident checklist",
            ["howto", "incident"],
            "1. Open a channel.\n2. Name an incident lead.\n3. Write a timeline as you go.\n"
            "4. Afterwards: a [[postmortem-template]].\n",
        ),
        ("Postmortem template", ["template"], "## What happened\n\n## Why\n\n## What we change\n"),
    ],
    "architecture": [],
    "architecture/decisions": [
        (
            "Use PostgreSQL",
            ["decision"],
            "**Status:** accepted\n\nWe use PostgreSQL for everything relational. SQLite stays for\n"
            "local development and small teams. See also [[ops/deploy/how-to-deploy]].\n",
        ),
    ],
}


class Command(BaseCommand):
    help = "Create the demo workspace and demo users (once; run again to just print the logins)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        with transaction.atomic():
            users = {}
            for username, _role in USERS:
                user, created = User.objects.get_or_create(username=username)
                if created:
                    user.set_password(self.password(username))
                    user.save()
                users[username] = user
            if not Workspace.objects.filter(name=WORKSPACE).exists():
                self.seed(users)
        self.stdout.write(self.style.SUCCESS(f"Demo workspace {WORKSPACE!r}. Sign in as:"))
        for username, role in USERS:
            self.stdout.write(f"  {username:6} password {self.password(username):18} ({role})")

    @staticmethod
    def password(username: str) -> str:
        return f"kb-demo-{username}"

    def seed(self, users: dict[str, Any]) -> None:
        owner = users["alice"]
        workspace = services.workspace_create(user=owner, name=WORKSPACE)
        for username, role in USERS[1:]:
            services.membership_set(workspace=workspace, username=username, role=role)
        modules: dict[str, Any] = {}
        for path, byte_specs in CONTENT.items():
            parent_path, _, name = path.rpartition("/")
            modules[path] = services.module_create(
                workspace=workspace, name=name.capitalize(), parent=modules.get(parent_path)
            )
            for title, tags, content in byte_specs:
                services.byte_create(
                    module=modules[path], user=owner, title=title, content=content, tags=tags
                )
