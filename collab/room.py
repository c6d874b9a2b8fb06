"""A room: one module's live document in this process, with the sockets editing it.

The room owns the pycrdt `Doc`, the awareness states (who is here, their cursors) and its
peers. Its message handling is synchronous and never waits on I/O: updates are applied,
fanned out to the other local peers, queued for the other processes (hub) and for the
database (committer); the writer is acknowledged when the committer has stored them.

Updates that arrive in one turn of the event loop are applied together (`settle`): checking
that the document still reads back the same costs an encode and a decode of the whole
document, paid once for all of them instead of once per keystroke.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from pycrdt import Doc, Map, MapEvent, Subscription, Text, TransactionEvent, get_state, merge_updates

from bytes_app.services import LiveText

from . import protocol, updates
from .peer import CloseCode, Peer
from .protocol import AwarenessEntry, ProtocolError
from .store import INDEX, text_name

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)
_NOT_CRDT_ERRORS = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit)
REMOTE_ITEMS_READ_LIMIT = 64 * 1024  # bytes: see remote()
REMOTE_PRESENCE_TIMEOUT = 35.0  # clients renew every 15 s and expire others after 30 s


@dataclass(slots=True)
class Presence:
    clock: int
    state: str  # JSON text as broadcast (identity stamped by the server)
    peer: Peer | None  # None: a client of another process
    seen: float


def _crdt_failure(error: BaseException) -> bool:
    """pycrdt signals a Rust panic with PanicException, which is not an Exception subclass."""
    return not isinstance(error, _NOT_CRDT_ERRORS)


class Room:
    def __init__(self, runtime: Runtime, module_id: int, doc: Doc, stored_contents: dict[int, str]) -> None:
        self.rt = runtime
        self.module_id = module_id
        self.peers: set[Peer] = set()
        self.presence: dict[int, Presence] = {}
        self.closing = False
        self.healing = False
        self.hello_at = 0.0  # when this room last asked the other processes for their state
        self.unload_handle: asyncio.TimerHandle | None = None
        self.last_activity = time.monotonic()
        config = runtime.config
        self._max_chars: int = config.KB_BYTE_MAX_CHARS
        self._max_awareness: int = config.KB_AWARENESS_MAX_BYTES
        self._broadcast_after_commit: bool = config.KB_BROADCAST_AFTER_COMMIT
        self._captured: list[bytes] = []
        self._author: int | None = None
        self._dirty: dict[int, int | None] = {}
        self._materialized: dict[int, str] = {}
        self._touched_now: set[int] = set()  # texts changed by the update being applied
        self._touches = 0  # text changes ever seen: tells whether an update changed any text
        self._index_touched = False  # ... and whether it changed the index
        self._text_watch: dict[int, Subscription] = {}
        # Texts outside the index (a deleted byte's, or any other "byte:" root a client made):
        # nobody reads them live, but the write guard must know when an update changes one.
        self._stray_watch: dict[str, Subscription] = {}
        self._stray_touched = False
        self._doc_watch: tuple[Subscription, Subscription] | None = None  # (doc, index)
        self._index_keys: list[str] = []
        self._encoded: bytes | None = None  # the document's encoding, until it next changes
        self._queued: list[tuple[Peer, bytes, bool]] = []  # writes of this turn: (peer, update, resync)
        self._settle_handle: asyncio.Handle | None = None
        self.written_together = 0  # writes that went in with others of their turn, for tests and stats
        self._attach(doc)
        self._longest = 0
        self._growth = 0
        for byte_id in self._text_watch:
            text = self.text(byte_id)
            self._longest = max(self._longest, len(text))
            if stored_contents.get(byte_id) == text:
                self._materialized[byte_id] = text
            else:  # a change that was never stored (e.g. a crash before materializing)
                self._dirty[byte_id] = None
        for name in self._stray_watch:  # the size limit holds for every text (see _check_size)
            self._longest = max(self._longest, len(str(self.doc.get(name, type=Text))))
        if self._dirty:
            self.rt.materializer.mark(self)

    # --- document ---------------------------------------------------------------------------

    def _attach(self, doc: Doc) -> None:
        """Make `doc` the room's document and watch it (changes, the index, each byte's text)."""
        self.dispose()
        self.doc = doc
        self._encoded = None
        self.index = doc.get(INDEX, type=Map)
        self._doc_watch = (self.doc.observe(self._on_transaction), self.index.observe(self._on_index))
        for key in list(self.index.keys()):
            if key.isdigit():
                self._watch(int(key))
        self._watch_strays(doc.keys())

    def dispose(self) -> None:
        """Stop watching the document (the room unloaded, or replaced it). pycrdt keeps each
        callback, and the document it observes, from native code, out of the garbage
        collector's sight: a document left observed is never freed, nor is this room (found
        by `python -m bench.load`: every room ever loaded stayed in memory)."""
        for subscription in (*self._text_watch.values(), *self._stray_watch.values()):
            subscription.drop()
        self._text_watch, self._stray_watch = {}, {}
        if self._doc_watch is not None:
            self.doc.unobserve(self._doc_watch[0])
            self.index.unobserve(self._doc_watch[1])
            self._doc_watch = None

    def text(self, byte_id: int) -> str:
        return str(self.doc.get(text_name(byte_id), type=Text))

    def encoded(self) -> bytes:
        """The whole document as one update. Kept until the document changes: the write guard
        encodes the document after each update anyway, and the next write needs it before."""
        if self._encoded is None:
            self._encoded = self.doc.get_update()
        return self._encoded

    def _on_transaction(self, event: TransactionEvent) -> None:
        if event.update != protocol.EMPTY_UPDATE:  # a transaction that changed nothing
            self._captured.append(event.update)

    def _watch(self, byte_id: int) -> None:
        if byte_id not in self._text_watch:
            if stray := self._stray_watch.pop(text_name(byte_id), None):
                stray.drop()
            text = self.doc.get(text_name(byte_id), type=Text)
            # Observed on pycrdt's native text: its `observe` would open a read transaction and
            # convert the event's delta to Python for every change, which nothing here reads.
            self._text_watch[byte_id] = text.integrated.observe(lambda _event: self._touched(byte_id))

    def _watch_strays(self, roots: Iterable[str]) -> None:
        """Watch the "byte:" roots among `roots` that are not watched yet (see _stray_watch).
        Called before an update that names them is applied, so that its changes are seen."""
        for name in roots:
            if name.startswith("byte:") and name not in self._stray_watch:
                key = name[5:]
                if not (key.isdigit() and int(key) in self._text_watch and text_name(int(key)) == name):
                    text = self.doc.get(name, type=Text)
                    self._stray_watch[name] = text.integrated.observe(self._on_stray)

    def _on_stray(self, _event: Any) -> None:
        self._stray_touched = True

    def _on_index(self, event: MapEvent) -> None:
        # Runs inside the transaction: only note the keys; texts are watched after it (_apply).
        self._index_keys.extend(event.keys)

    def _touched(self, byte_id: int) -> None:
        self._dirty[byte_id] = self._author
        self._touched_now.add(byte_id)
        self._touches += 1
        self.rt.materializer.mark(self)

    def _apply(self, update: bytes, author: int | None) -> list[bytes]:
        """Apply an update; returns what it changed (empty when it was all known already)."""
        self._author = author
        self._encoded = None  # (also when nothing integrates: pending structs change it too)
        try:
            self.doc.apply_update(update)
        except BaseException as error:
            self._captured.clear()
            if _crdt_failure(error):
                raise ProtocolError(f"the CRDT library refused the update: {type(error).__name__}") from None
            raise
        finally:
            self._author = None
        keys, self._index_keys = self._index_keys, []
        self._index_touched = bool(keys)
        for key in keys:
            if key.isdigit():
                self._watch(int(key))
                self._dirty.setdefault(int(key), author)
                self.rt.materializer.mark(self)
        captured, self._captured = self._captured, []
        self._growth += sum(len(change) for change in captured)
        return captured

    def _fan_out(self, updates: list[bytes], exclude: Peer | None) -> None:
        for update in updates:
            message = protocol.sync_update(update)
            for peer in self.peers:
                if peer is not exclude:
                    peer.push(message)

    # --- peers ------------------------------------------------------------------------------

    def join(self, peer: Peer) -> None:
        self.settle()
        if self.unload_handle is not None:
            self.unload_handle.cancel()
            self.unload_handle = None
        self.peers.add(peer)
        peer.push(protocol.sync_step1(self.doc.get_state()))
        if self.presence:
            peer.push(self._presence_message(list(self.presence)))

    def leave(self, peer: Peer) -> None:
        self.peers.discard(peer)
        gone = [client for client, record in self.presence.items() if record.peer is peer]
        if gone:
            entries = [AwarenessEntry(client, self.presence.pop(client).clock, "null") for client in gone]
            self._broadcast_presence(entries, exclude=None, publish=True)
        if not self.peers:
            self.rt.rooms.idle(self)

    def receive(self, peer: Peer, frame: bytes) -> None:
        """Handle one frame from a local peer. Bad input closes that peer only."""
        self.last_activity = time.monotonic()
        try:
            message = protocol.decode(frame)
            if isinstance(message, protocol.Sync) and message.kind is not protocol.SyncType.STEP1:
                self._queue_write(peer, message.payload, resync=message.kind is protocol.SyncType.STEP2)
                return
            self.settle()  # what came before this message first
            if isinstance(message, protocol.Sync):
                self._answer_step1(peer, message.payload)
            elif isinstance(message, protocol.Awareness):
                self._awareness(peer, message.payload)
            elif isinstance(message, protocol.QueryAwareness):
                if self.presence:
                    peer.push(self._presence_message(list(self.presence)))
            else:
                raise ProtocolError("auth messages are sent by the server only")
        except (ProtocolError, _TooLarge) as error:
            _refuse(peer, error)

    def _queue_write(self, peer: Peer, update: bytes, *, resync: bool) -> None:
        self._queued.append((peer, update, resync))
        if self._settle_handle is None:
            self._settle_handle = asyncio.get_running_loop().call_soon(self.settle)

    def settle(self) -> None:
        """Apply the writes queued in this turn of the event loop, in the order they came."""
        if self._settle_handle is not None:
            self._settle_handle.cancel()
            self._settle_handle = None
        writes, self._queued = self._queued, []
        if not writes or (len(writes) > 1 and self._write_together(writes)):
            return
        refused: set[Peer] = set()
        for peer, update, resync in writes:
            if peer in refused:
                continue  # as its later frames would have been, had they come in later turns
            try:
                self._write(peer, update, resync=resync)
            except (ProtocolError, _TooLarge) as error:
                _refuse(peer, error)
                refused.add(peer)

    def _answer_step1(self, peer: Peer, state_vector: bytes) -> None:
        if state_vector == protocol.EMPTY_STATE_VECTOR:  # a new client: the whole document
            peer.push(protocol.sync_step2(self.encoded()))
            return
        try:
            update = self.doc.get_update(state_vector)
        except BaseException as error:
            if _crdt_failure(error):
                raise ProtocolError("invalid state vector") from None
            raise
        peer.push(protocol.sync_step2(update))

    def _write(self, peer: Peer, update: bytes, *, resync: bool = False) -> None:
        peer.writes_received += 1
        seq = peer.writes_received
        if not peer.can_write:
            # Not stored: no acknowledgement may cover it, should the peer become an editor
            # again and write on (found by review; Rooms._revalidate then asks it to sync).
            peer.hold_acks(seq)
            if not peer.told_read_only:
                peer.told_read_only = True
                peer.push(protocol.permission_denied("read-only: viewers cannot edit this module"))
            return
        if resync:
            peer.resynced(seq)
        if update == protocol.EMPTY_UPDATE:
            self.rt.committer.submit(self.module_id, None, peer, seq)
            return
        longest = self._check_size(update)
        inserted, deleted, roots = updates.parse(update)
        updates.check(inserted)
        if why := self._cannot_take(peer, inserted, deleted):
            self._ask_again(peer, seq, why)
            return
        before = self.encoded()  # to undo a refused update, or drop what stays pending
        self._watch_strays(roots)
        # Deletions are checked too: one that splits a surrogate pair leaves half of it, which
        # encodes as nothing (found by `./dev fuzz`: the next honest editor was refused for it).
        changes, complete = self._apply_guarded(update, peer.user_id, inserted, before)
        self._measured(longest)
        if not complete:
            self._refuse_pending(peer, seq, changes, before)
        else:
            self._store_and_relay(peer, seq, update, changes)

    def _store_and_relay(self, peer: Peer, seq: int, update: bytes, changes: list[bytes]) -> None:
        if self._broadcast_after_commit:
            self.rt.committer.submit(
                self.module_id, update, peer, seq, then=lambda: self._broadcast(changes, peer)
            )
        else:
            self.rt.committer.submit(self.module_id, update, peer, seq)
            self._broadcast(changes, peer)

    def _write_together(self, writes: list[tuple[Peer, bytes, bool]]) -> bool:
        """Apply several ordinary writes, check the document once, then store and relay each
        as `_write` would. Anything else (a viewer, a resync, an empty or refused update, one
        that stays pending, a document that no longer reads back the same) puts the document
        back as it was and returns False: each write then takes the one-by-one path, which
        finds the culprit and refuses it alone."""
        if any(
            resync or not peer.can_write or update == protocol.EMPTY_UPDATE for peer, update, resync in writes
        ):
            return False
        before, size = self.encoded(), (self._longest, self._growth)
        self._touched_now.clear()
        self._stray_touched = False
        changed = every_root = False
        applied = []
        try:
            for peer, update, _ in writes:
                longest = self._check_size(update)
                inserted, deleted, roots = updates.parse(update)
                updates.check(inserted)
                if self._cannot_take(peer, inserted, deleted):
                    raise _OneByOne
                self._watch_strays(roots)
                touches = self._touches
                changes, complete = self._apply_checked(update, peer.user_id, inserted)
                if not complete:
                    raise _OneByOne
                self._measured(longest)
                if changes:
                    changed = True
                    # As _apply_guarded: every root when the index changed or no text did.
                    every_root |= self._index_touched or self._touches == touches
                applied.append((peer, update, changes))
        except (ProtocolError, _TooLarge, _OneByOne):
            self._restore(before)
            self._longest, self._growth = size
            return False
        if changed and not self._reads_back(every_root or self._stray_touched):
            self._restore(before)
            self._longest, self._growth = size
            return False
        self.written_together += len(applied)
        if self._broadcast_after_commit:
            for peer, update, changes in applied:
                peer.writes_received += 1
                self._store_and_relay(peer, peer.writes_received, update, changes)
            return True
        for peer, update, _ in applied:
            peer.writes_received += 1
            self.rt.committer.submit(self.module_id, update, peer, peer.writes_received)
        self._relay_together([(peer, changes) for peer, _, changes in applied])
        return True

    def _relay_together(self, batch: list[tuple[Peer, list[bytes]]]) -> None:
        """One message with every change of the batch for each peer that sent none of them (in
        a busy room, most), each other change on its own for those that did; to the other
        processes, one merged update per author."""
        if not any(changes for _, changes in batch):
            return
        everything = [change for _, changes in batch for change in changes]
        merged = everything[0] if len(everything) == 1 else merge_updates(*everything)
        message = protocol.sync_update(merged)
        senders = {peer for peer, _ in batch}
        encoded = [(sender, [protocol.sync_update(each) for each in changes]) for sender, changes in batch]
        for peer in self.peers:
            if peer not in senders:
                peer.push(message)
                continue
            for sender, messages in encoded:
                if sender is not peer:
                    for each in messages:
                        peer.push(each)
        by_author: dict[int | None, list[bytes]] = {}
        for sender, changes in batch:
            by_author.setdefault(sender.user_id, []).extend(changes)
        for author, changes in by_author.items():
            if changes:
                update = changes[0] if len(changes) == 1 else merge_updates(*changes)
                self.rt.hub.publish_room(self.module_id, "update", update, author)

    def _broadcast(self, changes: list[bytes], sender: Peer) -> None:
        """To this process's other peers, and to the other processes."""
        self._fan_out(changes, exclude=sender)
        for change in changes:
            self.rt.hub.publish_room(self.module_id, "update", change, sender.user_id)

    def _apply_checked(
        self, update: bytes, author: int | None, inserted: list[updates.Item] | None = None
    ) -> tuple[list[bytes], bool]:
        """Apply; also tell whether every struct of the update was integrated.

        Structs whose dependencies are missing stay "pending" inside the CRDT library. Yrs
        later integrates them into a state that no longer round-trips when they were crafted
        (found by tests/fuzz), so the room never keeps any: see _refuse_pending.
        """
        try:
            claimed = protocol.decode_state_vector(get_state(update))
        except BaseException as error:
            if _crdt_failure(error):
                raise ProtocolError("the CRDT library cannot read the update") from None
            raise
        # get_state() counts a client's structs only from clock 0: an update whose items start
        # later (they depend on ones the room lacks) claims nothing there, so the items' own
        # ranges are checked too (found by tests/fuzz/test_live_corpus.py).
        for item in inserted or ():
            claimed[item.client] = max(claimed.get(item.client, 0), item.clock + item.length)
        changes = self._apply(update, author)
        held = protocol.decode_state_vector(self.doc.get_state())
        complete = all(held.get(client, 0) >= clock for client, clock in claimed.items())
        return changes, complete

    def _apply_guarded(
        self, update: bytes, author: int | None, inserted: list[updates.Item], before: bytes
    ) -> tuple[list[bytes], bool]:
        """Apply an update, and make sure the document still reads the same from its own
        encoding. An item whose origins contradict the document (the right one not
        right of the left one, older items skipped between them, another text) is placed
        differently by every replica, Yjs included: such an update is undone and refused before
        anyone else sees it. Costs an encode/decode of the document; only the roots the update
        changed are compared (all of them when it changed the index, a text outside it, or no
        text). An update Yrs refuses halfway is undone too."""
        self._touched_now.clear()
        self._stray_touched = False
        try:
            changes, complete = self._apply_checked(update, author, inserted)
        except ProtocolError:
            # Yrs can raise halfway through an update, having integrated its first items: kept,
            # they were in the room but stored and sent nowhere, and the next honest edit built
            # on them was lost on reload (found by review).
            self._restore(before)
            raise
        if changes and not self._reads_back(self._index_touched or self._stray_touched):
            self._restore(before)
            raise ProtocolError("the update leaves a document that does not read back the same")
        return changes, complete

    def _reads_back(self, every_root: bool) -> bool:
        """Whether the document decoded from its own encoding reads the same: its state vector,
        and the texts changed since `_touched_now` was cleared, or every root (and always when no
        text was). The state vector catches what the texts do not show: a client that sends its
        own clock again with other content can make Yrs keep half of a surrogate pair, which
        encodes as nothing (found by `./dev fuzz`), and every replica then waits for ever on a
        clock the room says it has."""
        after = self.doc.get_update()
        reread: Doc = Doc()
        reread.apply_update(after)
        held = protocol.decode_state_vector(self.doc.get_state())
        if protocol.decode_state_vector(reread.get_state()) != held:
            return False
        names = [text_name(byte_id) for byte_id in self._touched_now]
        if not names or every_root:
            same = _module_contents(reread) == _module_contents(self.doc)
        else:
            same = all(str(reread.get(n, type=Text)) == str(self.doc.get(n, type=Text)) for n in names)
        if same:
            self._encoded = after  # (a write that left structs pending rebuilds the document)
        return same

    def _restore(self, state: bytes) -> None:
        restored: Doc = Doc()
        restored.apply_update(state)
        self._attach(restored)

    def _refuse_pending(self, peer: Peer, seq: int, changes: list[bytes], before: bytes) -> None:
        """Keep what integrated (stored as such), drop what is pending by rebuilding the document
        from its state before the update plus what integrated (its own encoding would carry the
        pending structs along, and Yrs integrates them there: found by tests/fuzz), and ask the
        peer to sync again: a well-behaved client's sync step 2 then brings what the room lacks.

        What integrated is sent to everyone, even when the sender is closed below (found by
        tests/fuzz/test_room_fuzz.py with more examples); with KB_BROADCAST_AFTER_COMMIT once
        stored, as every write is then (other processes do not store what they relay)."""
        if self._broadcast_after_commit and changes:
            for change in changes[:-1]:
                self.rt.committer.submit(self.module_id, change)
            self.rt.committer.submit(self.module_id, changes[-1], then=lambda: self._broadcast(changes, peer))
        else:
            self._broadcast(changes, peer)
            for change in changes:
                self.rt.committer.submit(self.module_id, change)
        rebuilt: Doc = Doc()
        rebuilt.apply_update(before)
        for change in changes:
            rebuilt.apply_update(change)
        self._attach(rebuilt)
        self._ask_again(peer, seq, "updates keep depending on content the server does not have")

    def _ask_again(self, peer: Peer, seq: int, why: str) -> None:
        """Hold the peer's acknowledgements from write `seq` on and ask it to sync again; a
        client that keeps sending what the room cannot take is closed, `why`."""
        peer.strikes += 1
        if peer.strikes > 3:
            raise ProtocolError(why)
        peer.hold_acks(seq)
        peer.push(protocol.sync_step1(self.doc.get_state()))

    def _cannot_take(self, peer: Peer, inserted: list[updates.Item], deleted: dict[int, int]) -> str:
        """Why the room will not apply this update now ("" when it will): its sender is asked to
        sync again, and closed if it keeps on (see _ask_again). Not refused outright: a client's
        sync step 2 honestly carries content the room lost in a crash; once the owner has sent
        it again, the next sync carries none of it. Found by `./dev fuzz` (both, with the state
        vector check of _reads_back closing the honest editor instead):

        - Deleting clocks the room does not have: Yrs keeps the deletion pending and applies it
          to whatever later arrives there, so another socket could delete an editor's next
          keystroke before it is typed, or half of its next emoji.
        - Adding clocks to a client id that another person's socket announced (awareness) and
          still holds: two contents for one client id split the replicas for good (each keeps
          the first it got), and lock the owner out, whose next edits build on the other one."""
        held: dict[int, int] | None = None  # the room's state vector, read only when needed
        for item in inserted:
            record = self.presence.get(item.client)
            if record is not None and _owner(record) not in (peer.user_id, None):
                held = held or protocol.decode_state_vector(self.doc.get_state())
                if item.clock + item.length > held.get(item.client, 0):
                    return "updates keep adding to another person's client id"
        if deleted:
            held = held or protocol.decode_state_vector(self.doc.get_state())
            ends: dict[int, int] = {}  # what the update itself inserts may be deleted too
            for item in inserted:
                ends[item.client] = max(ends.get(item.client, 0), item.clock + item.length)
            for client, end in deleted.items():
                if end > max(held.get(client, 0), ends.get(client, 0)):
                    return "updates keep deleting content the server does not have"
        return ""

    def _check_size(self, update: bytes) -> int | None:
        """Refuse an update that would make a byte longer than KB_BYTE_MAX_CHARS.

        An update cannot add more characters than it has bytes, so the exact check (on a
        scratch copy) only runs when the room's longest text could come near the limit. Returns
        the longest text with the update applied when it measured it, for `_measured` once the
        update is in (not before: a refused update would leave the bound too low, found by
        review: each refusal let a byte grow by the refused update's size).
        """
        if self._longest + self._growth + len(update) <= self._max_chars:
            return None
        scratch: Doc = Doc()
        scratch.apply_update(self.encoded())
        try:
            scratch.apply_update(update)
        except BaseException as error:
            if _crdt_failure(error):
                raise ProtocolError("the CRDT library refused the update") from None
            raise
        longest = 0
        for name in scratch:
            if name.startswith("byte:"):
                longest = max(longest, len(str(scratch.get(name, type=Text))))
        if longest > self._max_chars:
            raise _TooLarge(f"a byte would exceed {self._max_chars} characters")
        return longest

    def _measured(self, longest: int | None) -> None:
        """An update `_check_size` measured is in: its measure is exact from here on."""
        if longest is not None:
            self._longest, self._growth = longest, 0

    # --- awareness --------------------------------------------------------------------------

    def _awareness(self, peer: Peer, payload: bytes) -> None:
        accepted = []
        for entry in protocol.decode_awareness(payload):
            if len(entry.state) > self._max_awareness:
                raise _TooLarge(f"awareness state over {self._max_awareness} bytes")
            record = self.presence.get(entry.client_id)
            if record is not None and record.peer is not peer:
                continue  # another socket's (or another process's) client: not yours to change
            if record is None and entry.client_id not in peer.client_ids and len(peer.client_ids) >= 8:
                continue
            if record is not None and not (
                entry.clock > record.clock or (entry.clock == record.clock and entry.state == "null")
            ):
                continue  # stale or repeated: relaying it again would only echo around the room
            state = self._stamp(peer, entry.state)
            if state == "null":
                self.presence.pop(entry.client_id, None)
                peer.client_ids.discard(entry.client_id)
            else:
                self.presence[entry.client_id] = Presence(entry.clock, state, peer, time.monotonic())
                peer.client_ids.add(entry.client_id)
            accepted.append(AwarenessEntry(entry.client_id, entry.clock, state))
        if accepted:
            self._broadcast_presence(accepted, exclude=peer, publish=True)

    @staticmethod
    def _stamp(peer: Peer, state: str) -> str:
        """The server says who a cursor belongs to: the client cannot claim another name."""
        if state == "null":
            return state
        try:
            value = orjson.loads(state)
        except orjson.JSONDecodeError:
            raise ProtocolError("awareness state is not JSON") from None
        if value is None:
            return "null"
        if not isinstance(value, dict):
            raise ProtocolError("awareness state must be a JSON object or null")
        value["user"] = {
            "id": peer.user_id,
            "name": peer.username,
            "color": peer.color,
            "colorLight": peer.color + "33",
        }
        return orjson.dumps(value).decode()

    def _presence_message(self, clients: list[int]) -> bytes:
        entries = [AwarenessEntry(c, self.presence[c].clock, self.presence[c].state) for c in clients]
        return protocol.awareness_message(protocol.encode_awareness(entries))

    def _broadcast_presence(self, entries: list[AwarenessEntry], exclude: Peer | None, publish: bool) -> None:
        payload = protocol.encode_awareness(entries)
        message = protocol.awareness_message(payload)
        for peer in self.peers:
            if peer is not exclude:
                peer.push(message)
        if publish:
            self.rt.hub.publish_room(self.module_id, "awareness", payload)

    # --- other processes and the server itself -----------------------------------------------

    def remote(self, kind: str, data: bytes, user: int | None) -> None:
        """An event from another process (or a REST write): apply and fan out locally only."""
        self.last_activity = time.monotonic()
        self.settle()
        if kind == "update":
            try:
                # (a whole document, from a heal or a load's hello, starts at clock 0: the
                # update's own state vector covers it, and reading every item would be slow)
                inserted = updates.items(data) if len(data) <= REMOTE_ITEMS_READ_LIMIT else None
                changes, complete = self._apply_checked(data, user, inserted)
            except ProtocolError:
                logger.exception("module %s: an update from another process did not apply", self.module_id)
                return
            self._fan_out(changes, exclude=None)
            if not complete:
                # It builds on an update this process never got: a lost broadcast, which its
                # sender may not have stored yet. Until healed, nothing more of that client's
                # reaches this room's peers (found by reading the code after the bench's rare
                # missing deliveries; a heal used to come only from a sequence gap, once).
                self.rt.spawn(self.rt.rooms.heal(self))
            if not self._broadcast_after_commit:
                # The sender broadcast it ahead of its commit and may die before that: store what
                # was new here too, ahead of whatever this room acknowledges next, so that no
                # acknowledged edit rests on one stored nowhere (found by tests/chaos/test_kill.py).
                for change in changes:
                    self.rt.committer.submit(self.module_id, change)
        elif kind == "awareness":
            self._remote_awareness(data)
        elif kind == "deleted":
            self.close_all(CloseCode.MODULE_GONE, "this module was deleted")

    def _remote_awareness(self, payload: bytes) -> None:
        accepted = []
        now = time.monotonic()
        for entry in protocol.decode_awareness(payload):
            record = self.presence.get(entry.client_id)
            if record is not None and record.peer is not None:
                continue
            if record is not None and not (
                entry.clock > record.clock or (entry.clock == record.clock and entry.state == "null")
            ):
                continue
            if entry.state == "null":
                self.presence.pop(entry.client_id, None)
            else:
                self.presence[entry.client_id] = Presence(entry.clock, entry.state, None, now)
            accepted.append(entry)
        if accepted:
            self._broadcast_presence(accepted, exclude=None, publish=False)

    def expire_remote_presence(self, now: float) -> None:
        """Drop states of other processes' clients that stopped renewing (their process died)."""
        stale = [
            client
            for client, record in self.presence.items()
            if record.peer is None and now - record.seen > REMOTE_PRESENCE_TIMEOUT
        ]
        if stale:
            entries = [AwarenessEntry(client, self.presence.pop(client).clock, "null") for client in stale]
            self._broadcast_presence(entries, exclude=None, publish=False)

    def heal(self, state: bytes) -> None:
        """Apply the stored document; whatever this room had missed reaches its peers."""
        self.remote("update", state, None)

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self.peers):
            peer.close(code, reason)

    # --- materialization: the REST-visible `content` follows the live text -------------------

    def take_writes(self) -> list[LiveText]:
        """The texts changed since the last store, for the materializer."""
        dirty, self._dirty = self._dirty, {}
        writes = []
        for byte_id, author in dirty.items():
            if str(byte_id) not in self.index:
                continue  # removed from the module
            text = self.text(byte_id)
            if self._materialized.get(byte_id) != text:
                writes.append(LiveText(byte_id, text, author))
        return writes

    def stored(self, writes: list[LiveText]) -> None:
        for write in writes:
            self._materialized[write.byte_id] = write.content
            self._longest = max(self._longest, len(write.content))

    def not_stored(self, writes: list[LiveText]) -> None:
        for write in writes:
            self._dirty.setdefault(write.byte_id, write.user_id)
        self.rt.materializer.mark(self)

    async def materialize(self) -> None:
        """Store the changed texts now (before unloading, at shutdown)."""
        await self.rt.materializer.store({self})


class _TooLarge(Exception):
    pass


class _OneByOne(Exception):
    """A write of a batch needs the one-by-one path."""


def _owner(record: Presence) -> int | None:
    """The user whose socket announced this client id: a local peer's, or the one its own
    server stamped into the state (see Room._stamp)."""
    if record.peer is not None:
        return record.peer.user_id
    try:
        user = orjson.loads(record.state).get("user")
        return int(user["id"]) if isinstance(user, dict) else None
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None


def _refuse(peer: Peer, error: ProtocolError | _TooLarge) -> None:
    code = CloseCode.TOO_LARGE if isinstance(error, _TooLarge) else CloseCode.BAD_MESSAGE
    peer.close(code, str(error)[:120])


def _module_contents(doc: Doc) -> dict[str, Any]:
    """The roots a module's document is made of, as plain values: the index and every byte's
    text, in the index or not. Asked for by name and type: a document decoded from an update
    knows no root's type until asked (a restored room's document was decoded)."""
    contents: dict[str, Any] = {}
    for name in [name for name in doc if name.startswith("byte:")]:
        # An empty text is no text: a root the room watches before an update fills it (see
        # _watch_strays) exists, empty, in the room's document and in no encoding.
        if text := str(doc.get(name, type=Text)):
            contents[name] = text
    contents[INDEX] = doc.get(INDEX, type=Map).to_py()
    return contents
