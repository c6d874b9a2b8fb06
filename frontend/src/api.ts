// REST client: same-origin fetch with the session cookie, CSRF header on writes, JSON errors.
import type {
  Byte,
  ByteRef,
  ChatPage,
  Comment,
  EventPage,
  InboxItem,
  Link,
  Member,
  Module,
  ModuleNode,
  Page,
  Revision,
  SearchResult,
  Thread,
  ThreadList,
  User,
  Workspace,
} from './types'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly data: unknown,
    message: string,
  ) {
    super(message)
  }
}

/** Listeners told when the session is gone (401/403 on a call that needs one). */
const signedOutListeners = new Set<() => void>()
export const onSignedOut = (listener: () => void): (() => void) => {
  signedOutListeners.add(listener)
  return () => signedOutListeners.delete(listener)
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  return match ? decodeURIComponent(match[1]) : ''
}

/** A readable sentence from DRF's error shapes: {detail}, {field: [msgs]}, [msgs]. */
export function errorMessage(data: unknown, status: number): string {
  if (data && typeof data === 'object') {
    const record = data as Record<string, unknown>
    if (typeof record.detail === 'string') return record.detail
    const parts: string[] = []
    for (const [field, value] of Object.entries(record)) {
      const text = Array.isArray(value) ? value.join(' ') : String(value)
      // "slug: A byte with slug 'x' already exists" says the field twice: keep the sentence.
      const named = field === 'non_field_errors' || text.toLowerCase().includes(field.replace(/_/g, ' '))
      parts.push(named ? text : `${field}: ${text}`)
    }
    if (parts.length) return parts.join(' ')
  }
  if (status === 0) return 'The server cannot be reached.'
  return `The server answered ${status}.`
}

interface Options {
  body?: unknown
  headers?: Record<string, string>
  /** Do not announce a sign-out on 401/403 (the sign-in calls themselves). */
  quiet?: boolean
}

async function request<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  // Offline, a request can only fail (and the browser would log it): say so right away.
  if (navigator.onLine === false) throw new ApiError(0, null, 'You are offline.')
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
  } catch {
    throw new ApiError(0, null, 'The server cannot be reached.')
  }
  if (response.status === 204) return undefined as T
  const data: unknown = await response.json().catch(() => null)
  if (!response.ok) {
    if (response.status === 401 && !options.quiet) signedOutListeners.forEach((listener) => listener())
    throw new ApiError(response.status, data, errorMessage(data, response.status))
  }
  return data as T
}

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

export const api = {
  session: () => request<{ user: User | null }>('GET', '/api/auth/session/', { quiet: true }),
  signIn: (username: string, password: string) =>
    request<{ user: User }>('POST', '/api/auth/session/', { body: { username, password }, quiet: true }),
  signOut: () => request<void>('DELETE', '/api/auth/session/', { quiet: true }),

  workspaces: () => request<Page<Workspace>>('GET', '/api/workspaces/?page_size=200').then((page) => page.results),
  tree: (workspace: number) => request<ModuleNode[]>('GET', `/api/workspaces/${workspace}/tree/`),

  module: (id: number) => request<Module>('GET', `/api/modules/${id}/`),
  createModule: (body: { workspace: number; name: string; parent?: number | null }) =>
    request<Module>('POST', '/api/modules/', { body }),
  updateModule: (id: number, body: { name?: string; parent?: number | null; position?: number }) =>
    request<Module>('PATCH', `/api/modules/${id}/`, { body }),
  deleteModule: (id: number) => request<void>('DELETE', `/api/modules/${id}/`),

  byte: (id: number) => request<Byte>('GET', `/api/bytes/${id}/`),
  createByte: (body: { module: number; title: string; content?: string }) =>
    request<Byte>('POST', '/api/bytes/', { body }),
  updateByte: (id: number, body: { title?: string; tags?: string[] }) =>
    request<Byte>('PATCH', `/api/bytes/${id}/`, { body }),
  deleteByte: (id: number) => request<void>('DELETE', `/api/bytes/${id}/`),
  recent: (workspace: number) =>
    request<Page<Byte>>('GET', `/api/bytes/${query({ workspace, ordering: '-updated_at', page_size: 12 })}`),
  search: (q: string, workspace: number) =>
    request<Page<SearchResult>>('GET', `/api/bytes/${query({ q, workspace, page_size: 20 })}`),

  links: (id: number) => request<Link[]>('GET', `/api/bytes/${id}/links/`),
  backlinks: (id: number) => request<ByteRef[]>('GET', `/api/bytes/${id}/backlinks/`),
  revisions: (id: number) => request<Page<Revision>>('GET', `/api/bytes/${id}/revisions/?page_size=100`),
  restore: (id: number, revision: number) => request<Byte>('POST', `/api/bytes/${id}/revisions/${revision}/restore/`),

  members: (workspace: number) =>
    request<Page<Member> | Member[]>('GET', `/api/workspaces/${workspace}/members/?page_size=500`).then((data) =>
      Array.isArray(data) ? data : data.results,
    ),
  updateWorkspace: (id: number, body: { viewers_can_comment?: boolean }) =>
    request<Workspace>('PATCH', `/api/workspaces/${id}/`, { body }),

  // Discussions. Sends carry a client-chosen client_id: a retry with the same one never duplicates.
  threads: (byte: number) => request<ThreadList>('GET', `/api/bytes/${byte}/threads/`),
  createThread: (byte: number, body: { body: string; client_id: string; anchor?: { start: string; end: string; quote: string } }) =>
    request<Thread>('POST', `/api/bytes/${byte}/threads/`, { body }),
  reply: (thread: number, body: { body: string; client_id: string }) =>
    request<Comment>('POST', `/api/threads/${thread}/comments/`, { body }),
  editComment: (id: number, body: string) => request<Comment>('PATCH', `/api/comments/${id}/`, { body: { body } }),
  resolveThread: (id: number) => request<Thread>('POST', `/api/threads/${id}/resolve/`),
  reopenThread: (id: number) => request<Thread>('POST', `/api/threads/${id}/reopen/`),
  byteEvents: (byte: number, since: number) =>
    request<EventPage>('GET', `/api/bytes/${byte}/discussion/events/${query({ since })}`),

  chat: (module: number, before?: number) => request<ChatPage>('GET', `/api/modules/${module}/chat/${query({ before })}`),
  sendChat: (module: number, body: { body: string; client_id: string }) =>
    request<Comment>('POST', `/api/modules/${module}/chat/`, { body }),
  chatEvents: (module: number, since: number) =>
    request<EventPage>('GET', `/api/modules/${module}/chat/events/${query({ since })}`),

  inbox: (options: { unread?: boolean; page?: number } = {}) =>
    request<Page<InboxItem>>('GET', `/api/inbox/${query({ unread: options.unread ? 1 : undefined, page: options.page })}`),
  inboxUnread: () => request<{ unread: number }>('GET', '/api/inbox/unread/'),
  markRead: (id: number) => request<InboxItem>('POST', `/api/inbox/${id}/read/`),
  markAllRead: () => request<{ unread: number }>('POST', '/api/inbox/read-all/'),
}
