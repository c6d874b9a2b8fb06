// The signed-in user's unread inbox count, live: fetched at start and after every reconnection,
// and set by each `inbox` message of the live channel (which also carries the new item).
import { useEffect, useState } from 'preact/hooks'

import { api } from './api'
import { channel } from './discuss'
import type { InboxItem } from './types'

let unread = 0
const listeners = new Set<() => void>()
const itemListeners = new Set<(item: InboxItem) => void>()

function set(count: number): void {
  if (count === unread) return
  unread = count
  listeners.forEach((listener) => listener())
}

/** Ask the server for the count again. */
export function refreshUnread(): void {
  api.inboxUnread().then(
    (answer) => set(answer.unread),
    () => undefined, // offline: the reconnection asks again
  )
}

export function setUnread(count: number): void {
  set(count)
}

/** Start following the count (the signed-in shell calls it; returns the stop). */
export function followInbox(): () => void {
  refreshUnread()
  const stops = [
    channel.onReconnect(refreshUnread),
    channel.onInbox((item, count) => {
      set(count)
      itemListeners.forEach((listener) => listener(item))
    }),
  ]
  return () => {
    stops.forEach((stop) => stop())
    unread = 0
  }
}

/** New items as they arrive (the inbox page puts them on top). */
export function onInboxItem(listener: (item: InboxItem) => void): () => void {
  itemListeners.add(listener)
  return () => itemListeners.delete(listener)
}

export function useUnread(): number {
  const [count, setCount] = useState(unread)
  useEffect(() => {
    const update = (): void => setCount(unread)
    update()
    listeners.add(update)
    return () => listeners.delete(update)
  }, [])
  return count
}
