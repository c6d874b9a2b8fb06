// One module's live document: the y-websocket connection to its room, offline copy on this
// device (IndexedDB), presence, and a truthful "saved" from the server's acknowledgements.
import * as decoding from 'lib0/decoding'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import { AckTracker, isWriteFrame } from './acks'

/** The module document's `index` map: "<byte id>" -> this. */
export interface IndexEntry {
  title: string
  slug: string
  position: number
}

export interface ByteEntry extends IndexEntry {
  id: number
}

/** Someone else in the module, as the server stamped them. */
export interface Peer {
  clientId: number
  userId: number
  name: string
  color: string
  byte: number | null
}

export type Connection = 'connecting' | 'saving' | 'saved' | 'reconnecting' | 'offline' | 'closed'

export interface RoomStatus {
  connection: Connection
  /** Local changes the server has not confirmed storing yet. */
  unsaved: number
  /** The first sync with the server has completed at least once (the index is trustworthy). */
  loaded: boolean
  /** Why the server ended the connection for good (44xx close codes). */
  closedReason: string | null
}

interface AwarenessState {
  user?: { id?: number; name?: string; color?: string }
  byte?: number | null
}

const MESSAGE_AUTH = 2
const MESSAGE_SAVED = 4 // kb extension: varUint(n) = first n writes of this connection stored

const CLOSE_REASONS: Record<number, string> = {
  4400: 'The server refused a message from this page. Reload to continue.',
  4403: 'You no longer have access to this module.',
  4404: 'This module was deleted.',
  4413: 'An edit was too large for the server. Undo it and reload.',
  4429: 'Too many edits too fast: the server closed the connection. Reload to continue.',
}

export const textName = (byteId: number): string => `byte:${byteId}`

export class ModuleRoom {
  readonly doc = new Y.Doc()
  readonly index: Y.Map<IndexEntry> = this.doc.getMap<IndexEntry>('index')
  readonly provider: WebsocketProvider
  /** The server's notice for read-only members, e.g. "read-only: viewers cannot edit". */
  readOnlyNotice: string | null = null
  private readonly persistence: IndexeddbPersistence | null
  private readonly acks = new AckTracker()
  private readonly listeners = new Set<() => void>()
  private status: RoomStatus = { connection: 'connecting', unsaved: 0, loaded: false, closedReason: null }
  private everConnected = false
  private offline = typeof navigator !== 'undefined' && navigator.onLine === false

  constructor(
    readonly moduleId: number,
    options: { storageName: string | null },
  ) {
    // Registered before the provider's own handler, so a change is counted before it is sent.
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      if (origin !== this.provider) {
        this.acks.localChange()
        this.refresh()
      }
    })
    this.persistence = options.storageName ? new IndexeddbPersistence(options.storageName, this.doc) : null

    const room = this
    // Counts the sync-step-2/update frames of each connection, which the server's acks refer to.
    class CountingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        room.acks.connectionOpened()
      }
      override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
        if (isWriteFrame(data)) room.acks.frameSent()
        super.send(data)
      }
    }

    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/modules`
    this.provider = new WebsocketProvider(base, String(moduleId), this.doc, {
      connect: !this.offline,
      params: { ack: '1' },
      WebSocketPolyfill: CountingWebSocket,
    })
    this.provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
      this.acks.acknowledged(decoding.readVarUint(decoder))
      this.refresh()
    }
    this.provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      // Shown in the UI instead of y-websocket's console warning.
      decoding.readVarUint(decoder) // sub-type: 0 = permission denied
      this.readOnlyNotice = decoding.readVarString(decoder)
      this.refresh()
    }
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.everConnected = true
      this.refresh()
    })
    this.provider.on('sync', () => this.refresh())
    this.provider.on('closed', ({ code, reason }) => {
      this.status = { ...this.status, closedReason: CLOSE_REASONS[code] ?? (reason || `Closed (${code}).`) }
      this.refresh()
    })
    this.provider.awareness.setLocalStateField('byte', null)
    window.addEventListener('online', this.onOnline)
    window.addEventListener('offline', this.onOffline)
  }

  // Browsers tell us about lost connectivity sooner than a socket does; also keeps a socket
  // that the OS has not torn down yet from pretending to be live.
  private readonly onOffline = (): void => {
    this.offline = true
    this.provider.disconnect()
    this.refresh()
  }

  private readonly onOnline = (): void => {
    this.offline = false
    if (this.status.closedReason === null) this.provider.connect()
    this.refresh()
  }

  text(byteId: number): Y.Text {
    return this.doc.getText(textName(byteId))
  }

  /** The module's bytes in their order. */
  bytes(): ByteEntry[] {
    const entries: ByteEntry[] = []
    this.index.forEach((entry, key) => {
      if (/^\d+$/.test(key) && entry && typeof entry === 'object') entries.push({ ...entry, id: Number(key) })
    })
    return entries.sort((a, b) => a.position - b.position || a.id - b.id)
  }

  /** Everyone else connected to this module. */
  peers(): Peer[] {
    const peers: Peer[] = []
    this.provider.awareness.getStates().forEach((state: AwarenessState, clientId: number) => {
      if (clientId === this.doc.clientID || !state.user || typeof state.user.id !== 'number') return
      peers.push({
        clientId,
        userId: state.user.id,
        name: state.user.name ?? 'someone',
        color: state.user.color ?? '#888',
        byte: typeof state.byte === 'number' ? state.byte : null,
      })
    })
    return peers
  }

  /** Tell the others which byte this tab has open. */
  setOpenByte(byteId: number | null): void {
    this.provider.awareness.setLocalStateField('byte', byteId)
  }

  getStatus(): RoomStatus {
    return this.status
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private refresh(): void {
    const next = this.compute()
    const current = this.status
    if (
      next.connection !== current.connection ||
      next.unsaved !== current.unsaved ||
      next.loaded !== current.loaded ||
      next.closedReason !== current.closedReason
    ) {
      this.status = next
      this.listeners.forEach((listener) => listener())
    }
  }

  private compute(): RoomStatus {
    const { provider } = this
    const unsaved = this.acks.unsaved
    const loaded = this.status.loaded || provider.synced
    let connection: Connection
    if (this.status.closedReason !== null) connection = 'closed'
    else if (this.offline) connection = 'offline'
    else if (provider.wsconnected && provider.synced) connection = unsaved > 0 ? 'saving' : 'saved'
    else connection = this.everConnected ? 'reconnecting' : 'connecting'
    return { connection, unsaved, loaded, closedReason: this.status.closedReason }
  }

  destroy(): void {
    window.removeEventListener('online', this.onOnline)
    window.removeEventListener('offline', this.onOffline)
    this.listeners.clear()
    this.provider.destroy()
    void this.persistence?.destroy()
    this.doc.destroy()
  }
}

/** IndexedDB name for a module's offline copy: per user, and per module *instance* (a database
 * reset reuses ids, and merging an unrelated document's history would double its text). */
export const storageName = (userId: number, moduleId: number, createdAt: string): string =>
  `kb:u${userId}:m${moduleId}:${createdAt}`
