"""REST writes into live documents: collab's implementation of bytes_app.live.LiveDocuments.

Each call runs inside the REST request's database transaction. Under the module's DocState
row lock it loads the stored document, makes the change as the server (minimal text edits,
never a rebuild from text), appends the resulting update to the log, and after the commit
hands that update to the rooms (this process's and, through the hub, the others'), which
apply it like any peer's update. A rolled-back request leaves no update behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import transaction
from pycrdt import Doc, Map, Text, merge_updates

from . import bridge, store
from .models import DocState, DocUpdate
from .textdiff import apply_edits, rebase, text_edits

if TYPE_CHECKING:
    from bytes_app.models import Byte, Module


@contextmanager
def server_edit(module_id: int) -> Iterator[Doc]:
    """Edit the module's stored document as the server; must run inside a transaction."""
    store.ensure(module_id)
    DocState.objects.select_for_update().filter(pk=module_id).values_list("pk", flat=True).get()
    doc, _ = store.read(module_id, client_id=store.SERVER_CLIENT_ID)
    changes: list[bytes] = []
    subscription = doc.observe(lambda event: changes.append(event.update))
    with doc.transaction():
        yield doc
    doc.unobserve(subscription)
    if changes:
        update = changes[0] if len(changes) == 1 else merge_updates(*changes)
        DocUpdate.objects.create(module_id=module_id, data=update)
        transaction.on_commit(lambda: bridge.server_update(module_id, update))


def _text(doc: Doc, byte_id: int) -> Text:
    return doc.get(store.text_name(byte_id), type=Text)


def _replace(text: Text, content: str) -> str:
    old = str(text)
    apply_edits(text, old, text_edits(old, content))
    return str(text)


def _same_entry(current: object, wanted: dict) -> bool:
    if not isinstance(current, dict):
        return False
    return (
        current.get("title") == wanted["title"]
        and current.get("slug") == wanted["slug"]
        and current.get("position") == float(wanted["position"])
    )


class StoredDocuments:
    def current_content(self, byte: Byte) -> str:
        doc, _ = store.read(byte.module_id)
        return str(_text(doc, byte.pk))

    def replace_content(self, byte: Byte, content: str) -> str:
        # byte.content is the stored row: what the writer read. Rebase their change onto the
        # live text, so that whatever was typed since survives.
        with server_edit(byte.module_id) as doc:
            text = _text(doc, byte.pk)
            current = str(text)
            apply_edits(text, current, rebase(byte.content, content, current))
            return str(text)

    def byte_added(self, byte: Byte) -> None:
        if store.ensure(byte.module_id):
            return  # the document was just created from the stored bytes, this one included
        with server_edit(byte.module_id) as doc:
            doc.get(store.INDEX, type=Map)[str(byte.pk)] = store.index_entry(byte)
            _replace(_text(doc, byte.pk), byte.content)

    def byte_removed(self, byte: Byte, module: Module) -> None:
        with server_edit(module.pk) as doc:
            index = doc.get(store.INDEX, type=Map)
            if str(byte.pk) in index:
                del index[str(byte.pk)]
            text = _text(doc, byte.pk)
            if len(text):
                del text[0 : len(text)]

    def index_changed(self, module: Module) -> None:
        with server_edit(module.pk) as doc:
            index = doc.get(store.INDEX, type=Map)
            for byte in module.bytes.all():
                entry = store.index_entry(byte)
                if not _same_entry(index.get(str(byte.pk)), entry):
                    index[str(byte.pk)] = entry
