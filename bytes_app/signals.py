"""Domain events, sent by `services` inside the transaction of the change they describe.

Receivers run in that transaction, so whatever they write (integrations' webhook outbox)
commits or rolls back with the change itself. Receivers must not do I/O beyond the database:
anything observable from outside belongs after commit (`transaction.on_commit`).
Every signal is sent with keyword arguments only; `user` is None when no person is known.
"""

from __future__ import annotations

from django.dispatch import Signal

# byte: the saved Byte; user
byte_created = Signal()
# byte; user. Title, slug, content or tags changed through the API.
byte_updated = Signal()
# bytes: the Bytes whose content live documents changed (one batch of the materializer;
# each one's `updated_by_id` typed last). Sent instead of byte_updated for live edits.
bytes_synced = Signal()
# byte: the Byte just before its row is deleted; user
byte_deleted = Signal()
# byte (in its new place); from_module: where it was; user
byte_moved = Signal()
# byte; revision: the Revision brought back; user
revision_restored = Signal()
# module: the saved Module
module_created = Signal()
# module; old_name, old_slug
module_renamed = Signal()
# module (in its new place); from_parent: the old parent Module or None
module_moved = Signal()
# module: the Module just before it (and its subtree) is deleted
module_deleted = Signal()
