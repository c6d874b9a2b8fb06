// Sends not yet answered by the server: new threads, replies and chat messages. Each has the
// client_id it was first sent with, so a retry after a lost connection (the same client_id)
// can never store it twice. Kept in memory for the page's life, across navigation: a send
// that failed for want of a network is tried again with backoff, at once when the browser is
// back online, and when the live channel reconnects.
import { ApiError } from './api'
import { channel } from './discuss'
import { reportError } from './toast'
import type { Comment, Thread } from './types'

export type Send =
  | { kind: 'thread'; byte: number; anchor?: { start: string; end: string; quote: string } }
  | { kind: 'reply'; byte: number; thread: number }
  | { kind: 'chat'; module: number }

export interface Pending {
  clientId: string
  /** The conversation it belongs to: "byte:ID" or "module:ID". */
  conversation: string
  send: Send
  body: string
  /** 'sending' while a request is out, 'waiting' between retries. */
  state: 'sending' | 'waiting'
  attempts: number
}

type Post = (body: string, clientId: string) => Promise<Thread | Comment>

const pending = new Map<string, { item: Pending; post: Post; timer: number; onDone: OnDone }>()
const listeners = new Set<() => void>()

/** Told the server's answer (to apply it), or the refusal (to give the text back). */
export interface OnDone {
  stored(result: Thread | Comment): void
  refused(body: string, message: string): void
}

const conversationOf = (send: Send): string => ('module' in send ? `module:${send.module}` : `byte:${send.byte}`)

function changed(): void {
  listeners.forEach((listener) => listener())
}

/** A failure worth retrying: no answer at all, or the server being briefly unwell. */
const retryable = (error: unknown): boolean =>
  !(error instanceof ApiError) || error.status === 0 || error.status === 429 || error.status >= 500

async function attempt(clientId: string): Promise<void> {
  const entry = pending.get(clientId)
  if (!entry || entry.item.state === 'sending') return
  clearTimeout(entry.timer)
  entry.item = { ...entry.item, state: 'sending', attempts: entry.item.attempts + 1 }
  changed()
  try {
    const result = await entry.post(entry.item.body, clientId)
    pending.delete(clientId)
    changed()
    entry.onDone.stored(result)
  } catch (error) {
    if (!pending.has(clientId)) return // the event already confirmed it
    if (!retryable(error)) {
      pending.delete(clientId)
      changed()
      reportError(error)
      entry.onDone.refused(entry.item.body, error instanceof Error ? error.message : String(error))
      return
    }
    entry.item = { ...entry.item, state: 'waiting' }
    // 1 s, 2 s, 4 s … 30 s; offline, the "online" event sends it instead.
    if (navigator.onLine !== false) {
      const delay = Math.min(30_000, 1000 * 2 ** (entry.item.attempts - 1))
      entry.timer = window.setTimeout(() => void attempt(clientId), delay)
    }
    changed()
  }
}

function retryAll(): void {
  pending.forEach((entry, clientId) => {
    if (entry.item.state === 'waiting') void attempt(clientId)
  })
}

window.addEventListener('online', retryAll)
channel.onReconnect(retryAll)

export function newClientId(): string {
  return crypto.randomUUID()
}

/** Queue a send and try it now. */
export function enqueue(send: Send, body: string, post: Post, onDone: OnDone): Pending {
  const clientId = newClientId()
  const item: Pending = { clientId, conversation: conversationOf(send), send, body, state: 'waiting', attempts: 0 }
  pending.set(clientId, { item, post, timer: 0, onDone })
  void attempt(clientId)
  return item
}

/** The stored object arrived over the live channel: the send is done (its POST may still answer). */
export function confirmed(clientId: string): void {
  const entry = pending.get(clientId)
  if (!entry) return
  clearTimeout(entry.timer)
  pending.delete(clientId)
  changed()
}

export function pendingFor(conversation: string): Pending[] {
  return [...pending.values()].map((entry) => entry.item).filter((item) => item.conversation === conversation)
}

export function subscribeOutbox(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Sends not answered yet, everywhere (sign-out drops them). */
export function clearOutbox(): void {
  pending.forEach((entry) => clearTimeout(entry.timer))
  pending.clear()
  changed()
}
