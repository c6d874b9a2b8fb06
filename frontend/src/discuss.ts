// The live channel of discussions: one WebSocket (/ws/discuss/) per signed-in page, carrying
// the events of the conversations this page has open, typing notices, inbox items and who is
// online. It reconnects with exponential backoff and then resubscribes every open
// conversation from the last sequence number it holds, so nothing is missed.
import type { DiscussionEvent, InboxItem, Person } from './types'

/** A conversation on the wire: `{byte: id}` (its threads) or `{module: id}` (its chat). */
export type Target = { byte: number } | { module: number }

export const conversationKey = (target: Target): string =>
  'byte' in target ? `byte:${target.byte}` : `module:${target.module}`

/** What a conversation store hears from the channel. */
export interface Subscriber {
  target: Target
  /** The last sequence number it holds: the server resends everything after it. */
  lastSeq(): number
  event(event: DiscussionEvent): void
  subscribed(lastSeq: number): void
  heardTyping(user: Person, thread: number | null): void
  refused(message: string): void
}

type ServerMessage =
  | ({ type: 'event'; conversation: string } & DiscussionEvent)
  | { type: 'subscribed' | 'seq'; conversation: string; last_seq: number }
  | { type: 'typing'; conversation: string; thread?: number | null; user: Person }
  | { type: 'inbox'; item: InboxItem; unread: number }
  | { type: 'presence'; workspace: number; user: Person; connection: string; state: 'online' | 'offline' }
  | { type: 'error'; message: string; conversation?: string }

export type ChannelState = 'connecting' | 'open' | 'offline'

/** Presence is announced every 25 s: a connection not heard of for this long is gone. */
const PRESENCE_TTL_MS = 60_000
const TYPING_EVERY_MS = 2_000

class Presence {
  // workspace -> connection id -> who and when last heard
  private readonly seen = new Map<number, Map<string, { user: Person; at: number }>>()

  heard(workspace: number, user: Person, connection: string, state: 'online' | 'offline'): void {
    let connections = this.seen.get(workspace)
    if (!connections) this.seen.set(workspace, (connections = new Map()))
    if (state === 'offline') connections.delete(connection)
    else connections.set(connection, { user, at: Date.now() })
  }

  online(workspace: number): Person[] {
    const now = Date.now()
    const people = new Map<number, Person>()
    this.seen.get(workspace)?.forEach(({ user, at }, connection, all) => {
      if (now - at > PRESENCE_TTL_MS) all.delete(connection)
      else people.set(user.id, user)
    })
    return [...people.values()].sort((a, b) => a.username.localeCompare(b.username))
  }

  clear(): void {
    this.seen.clear()
  }
}

export class DiscussChannel {
  private socket: WebSocket | null = null
  private running = false
  private attempts = 0
  private retryTimer = 0
  private opened = false
  private readonly subscribers = new Map<string, Subscriber>()
  private readonly lastTyping = new Map<string, number>()
  private readonly listeners = new Set<() => void>()
  private readonly reconnectListeners = new Set<() => void>()
  private readonly inboxListeners = new Set<(item: InboxItem, unread: number) => void>()
  readonly presence = new Presence()
  state: ChannelState = 'connecting'

  start(): void {
    if (this.running) return
    this.running = true
    window.addEventListener('online', this.onOnline)
    window.addEventListener('offline', this.onOffline)
    this.connect()
  }

  stop(): void {
    this.running = false
    window.removeEventListener('online', this.onOnline)
    window.removeEventListener('offline', this.onOffline)
    clearTimeout(this.retryTimer)
    this.socket?.close(1000)
    this.socket = null
    this.opened = false
    this.presence.clear()
    this.setState('connecting')
  }

  /** Hear a conversation's events; returns the unsubscribe. */
  subscribe(subscriber: Subscriber): () => void {
    const key = conversationKey(subscriber.target)
    this.subscribers.set(key, subscriber)
    this.sendSubscribe(subscriber)
    return () => {
      if (this.subscribers.get(key) !== subscriber) return
      this.subscribers.delete(key)
      this.send({ type: 'unsubscribe', ...subscriber.target })
    }
  }

  /** Ask again from the subscriber's last sequence number (after a gap the server will fill). */
  resubscribe(subscriber: Subscriber): void {
    if (this.subscribers.get(conversationKey(subscriber.target)) === subscriber) this.sendSubscribe(subscriber)
  }

  /** Tell the others this user is typing (at most every 2 s per conversation and thread). */
  typing(target: Target, thread: number | null = null): void {
    const key = `${conversationKey(target)}:${thread ?? ''}`
    const now = Date.now()
    if (now - (this.lastTyping.get(key) ?? 0) < TYPING_EVERY_MS) return
    this.lastTyping.set(key, now)
    this.send('byte' in target ? { type: 'typing', byte: target.byte, thread } : { type: 'typing', module: target.module })
  }

  /** Re-render on state and presence changes. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called after every reconnection (not the first connection). */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener)
    return () => this.reconnectListeners.delete(listener)
  }

  onInbox(listener: (item: InboxItem, unread: number) => void): () => void {
    this.inboxListeners.add(listener)
    return () => this.inboxListeners.delete(listener)
  }

  private readonly onOnline = (): void => {
    if (!this.running) return
    clearTimeout(this.retryTimer)
    this.attempts = 0
    if (!this.socket) this.connect()
  }

  private readonly onOffline = (): void => {
    // The OS may keep a dead socket open for a while: drop it now and wait for "online".
    clearTimeout(this.retryTimer)
    const socket = this.socket
    this.socket = null
    socket?.close()
    this.setState('offline')
  }

  private connect(): void {
    if (!this.running || this.socket) return
    if (navigator.onLine === false) {
      this.setState('offline')
      return
    }
    this.setState('connecting')
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/discuss/`)
    this.socket = socket
    socket.onopen = () => {
      if (this.socket !== socket) return
      this.attempts = 0
      const again = this.opened
      this.opened = true
      this.setState('open')
      this.subscribers.forEach((subscriber) => this.sendSubscribe(subscriber))
      if (again) this.reconnectListeners.forEach((listener) => listener())
    }
    socket.onmessage = (message) => {
      if (this.socket !== socket || typeof message.data !== 'string') return
      let data: ServerMessage
      try {
        data = JSON.parse(message.data) as ServerMessage
      } catch {
        return
      }
      this.receive(data)
    }
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      if (!this.running) return
      this.setState(navigator.onLine === false ? 'offline' : 'connecting')
      // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so a restarted server is not stampeded.
      const delay = Math.min(30_000, 500 * 2 ** this.attempts) * (0.75 + Math.random() / 2)
      this.attempts += 1
      this.retryTimer = window.setTimeout(() => this.connect(), delay)
    }
  }

  private receive(data: ServerMessage): void {
    switch (data.type) {
      case 'event': {
        const { type: _type, conversation, ...event } = data
        this.subscribers.get(conversation)?.event(event)
        break
      }
      case 'subscribed':
      case 'seq': // the periodic "latest is N": a broadcast lost on the way shows as a gap
        this.subscribers.get(data.conversation)?.subscribed(data.last_seq)
        break
      case 'typing':
        this.subscribers.get(data.conversation)?.heardTyping(data.user, data.thread ?? null)
        break
      case 'inbox':
        this.inboxListeners.forEach((listener) => listener(data.item, data.unread))
        break
      case 'presence':
        this.presence.heard(data.workspace, data.user, data.connection, data.state)
        this.listeners.forEach((listener) => listener())
        break
      case 'error':
        if (data.conversation) this.subscribers.get(data.conversation)?.refused(data.message)
        break
    }
  }

  private sendSubscribe(subscriber: Subscriber): void {
    this.send({ type: 'subscribe', ...subscriber.target, since: subscriber.lastSeq() })
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  private setState(state: ChannelState): void {
    if (state === this.state) return
    this.state = state
    this.listeners.forEach((listener) => listener())
  }
}

/** The page's one channel (started by the signed-in shell). */
export const channel = new DiscussChannel()
