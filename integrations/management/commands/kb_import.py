"""`python manage.py kb_import DIR --workspace W`: make a workspace match a folder of markdown."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bytes_app.models import Membership, Role
from integrations.markdown.archive import ImportRefused, read_folder
from integrations.markdown.importer import import_files

from .kb_export import workspace_named


class Command(BaseCommand):
    help = "Import DIR (as written by kb_export) into a workspace, in one transaction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--workspace", required=True, help="id or exact name")
        parser.add_argument("--user", help="author of the changes (default: the workspace's first owner)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
        parser.add_argument("--delete", action="store_true", help="delete bytes and modules the folder lacks")

    def handle(self, *args: Any, directory: Path, workspace: str, user: str | None, **options: Any) -> None:
        target = workspace_named(workspace)
        if user:
            author = get_user_model().objects.filter(username=user).first()
            if author is None:
                raise CommandError(f"No user is called {user!r}.")
        else:
            owner = Membership.objects.filter(workspace=target, role=Role.OWNER).order_by("id").first()
            if owner is None:
                raise CommandError("The workspace has no owner; pass --user.")
            author = owner.user
        try:
            files = read_folder(directory)
            report = import_files(
                workspace=target,
                user=author,
                files=files,
                dry_run=options["dry_run"],
                delete=options["delete"],
            )
        except ImportRefused as refused:
            raise CommandError("Nothing was imported:\n  " + "\n  ".join(refused.errors)) from None
        self.stdout.write(json.dumps(asdict(report), indent=2))
