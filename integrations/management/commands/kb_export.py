"""`python manage.py kb_export WORKSPACE DIR`: write a workspace as a folder of markdown files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bytes_app.models import Workspace
from integrations.markdown.export import export_files, write_folder


def workspace_named(value: str) -> Workspace:
    """A workspace by id or by its exact name."""
    found = (
        Workspace.objects.filter(pk=int(value)) if value.isdigit() else Workspace.objects.filter(name=value)
    )
    matches = list(found[:2])
    if len(matches) != 1:
        raise CommandError(
            f"No workspace {value!r}."
            if not matches
            else f"Several workspaces are called {value!r}; use the id."
        )
    return matches[0]


class Command(BaseCommand):
    help = "Export a workspace (id or name) into DIR: modules as folders, bytes as .md files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace")
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, workspace: str, directory: Path, **options: Any) -> None:
        files = export_files(workspace_named(workspace))
        write_folder(files, directory)
        self.stdout.write(f"Wrote {len(files)} files to {directory}")
