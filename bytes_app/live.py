"""The small interface through which byte writes reach live (co-edited) documents.

bytes_app knows nothing of the collab layer; services call the object named by the
`KB_LIVE_DOCUMENTS` setting inside their database transaction. collab provides the real
implementation (the CRDT document of each module); `NoLiveDocuments` keeps plain storage.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import Byte, Module


class LiveDocuments(Protocol):
    def current_content(self, byte: Byte) -> str:
        """The byte's text as its live document holds it (which may be ahead of the row)."""

    def replace_content(self, byte: Byte, content: str) -> str:
        """Make the change from `byte.content` (the stored row) to `content` in the live text,
        by minimal edits that keep whatever was typed live meanwhile; returns the result."""

    def byte_added(self, byte: Byte) -> None:
        """A byte now lives in `byte.module` (created or moved in) with `byte.content`."""

    def byte_removed(self, byte: Byte, module: Module) -> None:
        """A byte left `module` (deleted or moved out)."""

    def index_changed(self, module: Module) -> None:
        """Titles, slugs or positions of the module's bytes changed."""


class NoLiveDocuments:
    """Storage without live documents: the row is the only copy."""

    def current_content(self, byte: Byte) -> str:
        return byte.content

    def replace_content(self, byte: Byte, content: str) -> str:
        return content

    def byte_added(self, byte: Byte) -> None:
        pass

    def byte_removed(self, byte: Byte, module: Module) -> None:
        pass

    def index_changed(self, module: Module) -> None:
        pass


@cache
def live_documents() -> LiveDocuments:
    return import_string(settings.KB_LIVE_DOCUMENTS)()
