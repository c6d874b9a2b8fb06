// The inbox: mentions of you and replies to your threads, newest first. Opening an item goes to
// its byte (or module) and marks it read; the badge in the sidebar counts the unread ones.
import { useEffect, useState } from 'preact/hooks'

import { api } from '../api'
import { onInboxItem, refreshUnread, setUnread, useUnread } from '../inbox'
import { byteUrl, moduleUrl, navigate } from '../router'
import { reportError } from '../toast'
import type { InboxItem } from '../types'
import { shortTime } from './CommentText'

export const INBOX_URL = '/inbox'

export function InboxButton({ testId = 'inbox-button' }: { testId?: string }) {
  const unread = useUnread()
  const label = unread ? `Inbox, ${unread} unread` : 'Inbox'
  return (
    <a class="inbox-button" href={INBOX_URL} aria-label={label} title={label} data-testid={testId}>
      <span aria-hidden="true">✉</span>
      {unread > 0 && (
        <span class="badge" data-testid="inbox-badge" aria-hidden="true">
          {unread > 99 ? '99+' : unread}
        </span>
      )}
    </a>
  )
}

export const itemUrl = (item: InboxItem): string =>
  item.byte
    ? byteUrl(item.workspace, item.module.id, item.byte.id) + (item.thread ? `#thread-${item.thread}` : '')
    : moduleUrl(item.workspace, item.module.id)

function describe(item: InboxItem): string {
  const who = item.actor?.username ?? 'Someone'
  const where = item.byte ? `“${item.byte.title}”` : `the ${item.module.name} chat`
  return item.reason === 'mention' ? `${who} mentioned you in ${where}` : `${who} replied to your thread on ${where}`
}

export function InboxPage() {
  const [items, setItems] = useState<InboxItem[]>([])
  const [next, setNext] = useState<number | null>(null)
  const [page, setPage] = useState(1)
  const [unreadOnly, setUnreadOnly] = useState(false)
  const [state, setState] = useState<'loading' | 'ready' | 'error'>('loading')
  const unread = useUnread()

  useEffect(() => {
    let stale = false
    setState('loading')
    api.inbox({ unread: unreadOnly, page }).then(
      (answer) => {
        if (stale) return
        setItems((now) => (page === 1 ? answer.results : [...now, ...answer.results.filter((item) => !now.some((held) => held.id === item.id))]))
        setNext(answer.next ? page + 1 : null)
        setState('ready')
      },
      (error) => {
        if (stale) return
        reportError(error)
        setState('error')
      },
    )
    return () => {
      stale = true
    }
  }, [unreadOnly, page])

  // New items arrive live, on top.
  useEffect(() => onInboxItem((item) => setItems((now) => (now.some((held) => held.id === item.id) ? now : [item, ...now]))), [])

  const open = async (item: InboxItem): Promise<void> => {
    if (!item.read) {
      setItems((now) => now.map((held) => (held.id === item.id ? { ...held, read: true } : held)))
      api.markRead(item.id).then(refreshUnread, reportError)
    }
    navigate(itemUrl(item))
  }

  const readAll = async (): Promise<void> => {
    try {
      setUnread((await api.markAllRead()).unread)
      setItems((now) => (unreadOnly ? [] : now.map((item) => ({ ...item, read: true }))))
    } catch (error) {
      reportError(error)
    }
  }

  return (
    <section class="inbox-page" aria-label="Inbox" data-testid="inbox-page">
      <header class="inbox-header">
        <h1>Inbox</h1>
        <span class="muted">{unread ? `${unread} unread` : 'All read'}</span>
        <label class="small inbox-filter">
          <input
            type="checkbox"
            checked={unreadOnly}
            onChange={(event) => {
              setUnreadOnly(event.currentTarget.checked)
              setPage(1)
            }}
          />{' '}
          Unread only
        </label>
        <button type="button" class="small" disabled={!unread} onClick={() => void readAll()}>
          Mark all read
        </button>
      </header>
      {state === 'loading' && !items.length && <p class="muted">Loading…</p>}
      {state !== 'loading' && !items.length && <p class="muted">{unreadOnly ? 'Nothing unread.' : 'Nothing here yet: mentions of you and replies to your threads arrive here.'}</p>}
      <ul class="inbox-items">
        {items.map((item) => (
          <li key={item.id}>
            <a
              class={`inbox-item${item.read ? '' : ' unread'}`}
              href={itemUrl(item)}
              data-testid="inbox-item"
              data-read={item.read ? 'true' : 'false'}
              onClick={(event) => {
                if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
                event.preventDefault()
                event.stopPropagation()
                void open(item)
              }}
            >
              {!item.read && <span class="unread-dot" aria-label="Unread" role="img" />}
              <span class="inbox-item-text">
                <span class="inbox-item-title">{describe(item)}</span>
                {item.excerpt && <span class="inbox-item-excerpt">{item.excerpt}</span>}
              </span>
              <time class="small muted" dateTime={item.created_at}>
                {shortTime(item.created_at)}
              </time>
            </a>
          </li>
        ))}
      </ul>
      {next !== null && (
        <button type="button" class="small" disabled={state === 'loading'} onClick={() => setPage(next)}>
          Load more
        </button>
      )}
    </section>
  )
}
