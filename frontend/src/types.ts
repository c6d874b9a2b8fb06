// Shapes of kb's REST API (see /api/schema/). Only the fields the wiki reads.

export type Role = 'viewer' | 'editor' | 'owner'

export interface User {
  id: number
  username: string
  first_name: string
  last_name: string
}

export interface Workspace {
  id: number
  name: string
  role: Role
  /** Viewers may comment and chat (owners switch it); editors and owners always may. */
  viewers_can_comment?: boolean
}

export interface Member {
  username: string
  user_id: number
  role: Role
}

export interface ModuleNode {
  id: number
  name: string
  slug: string
  path: string
  description: string
  position: number
  parent: number | null
  children: ModuleNode[]
}

export interface Module {
  id: number
  workspace: number
  parent: number | null
  name: string
  slug: string
  path: string
  description: string
  position: number
  created_at: string
}

export interface Byte {
  id: number
  workspace: number
  module: number
  title: string
  slug: string
  path: string
  content: string
  tags: string[]
  version: number
  created_by: string | null
  updated_by: string | null
  created_at: string
  updated_at: string
}

export interface SearchResult extends Byte {
  rank: number
}

export interface ByteRef {
  id: number
  module: number
  title: string
  slug: string
  path: string
}

export interface Link {
  target: string
  label: string
  broken: boolean
  byte: ByteRef | null
}

export interface Revision {
  id: number
  byte: number
  kind: 'create' | 'edit' | 'restore'
  version: number
  title: string
  content: string
  author: string | null
  restored_from: number | null
  created_at: string
  updated_at: string
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

export const canWrite = (role: Role | undefined): boolean => role === 'editor' || role === 'owner'

export const canComment = (workspace: Workspace | null): boolean =>
  !!workspace && (canWrite(workspace.role) || (workspace.role === 'viewer' && workspace.viewers_can_comment === true))

// --- discussions: comment threads on bytes, module chat, the inbox ---

/** A person as the discussion API shows them. */
export interface Person {
  id: number
  username: string
}

/** The name to show for someone who may have left (deleted account). */
export const nameOf = (person: Person | null | undefined): string => person?.username ?? 'someone'

export interface Comment {
  id: number
  /** The thread it answers, or null for a module chat message. */
  thread: number | null
  module: number | null
  /** null once the author's account is gone. */
  author: Person | null
  body: string
  client_id: string
  created_at: string
  edited_at: string | null
  mentions: Person[]
}

/** Where a thread points in its byte's text: base64 Yjs relative positions, and the passage then. */
export interface Anchor {
  start: string
  end: string
  quote: string
  detached: boolean
}

export interface Thread {
  id: number
  byte: number
  anchor: Anchor | null
  resolved: boolean
  resolved_by: Person | null
  resolved_at: string | null
  created_by: Person | null
  created_at: string
  comments: Comment[]
}

export type EventKind =
  | 'thread.created'
  | 'comment.created'
  | 'comment.edited'
  | 'thread.resolved'
  | 'thread.reopened'
  | 'chat.created'
  | 'chat.edited'

/** One stored change of a conversation, numbered by the server in the order it stored them. */
export interface DiscussionEvent {
  seq: number
  kind: EventKind
  at: string
  thread?: Thread
  comment?: Comment
}

export interface ThreadList {
  conversation: string
  last_seq: number
  results: Thread[]
}

export interface ChatPage {
  conversation: string
  last_seq: number
  results: Comment[]
}

export interface EventPage {
  conversation: string
  last_seq: number
  events: DiscussionEvent[]
}

export interface InboxItem {
  id: number
  reason: 'mention' | 'reply'
  read: boolean
  created_at: string
  actor: Person | null
  workspace: number
  module: { id: number; name: string }
  byte: { id: number; title: string } | null
  thread: number | null
  comment: { id: number; body: string } | null
  excerpt: string
}
