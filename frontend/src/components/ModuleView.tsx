// A module: its live room (bytes, presence, connection state), the list of its bytes, and
// the open byte.
import { useEffect, useState } from 'preact/hooks'
import type * as Y from 'yjs'

import { api, ApiError } from '../api'
import type { ByteEntry, ModuleRoom, Peer } from '../collab'
import { isTyping, useRoomBytes, usePeers, useRoomStatus, useShortcut } from '../hooks'
import { acquireRoom, releaseRoom } from '../rooms'
import { byteUrl, moduleUrl, navigate } from '../router'
import { ancestorIds, findModule } from '../tree'
import type { Module, ModuleNode, User } from '../types'
import { BytePage } from './BytePage'
import { Chat } from './Chat'
import { ConnectionBadge } from './ConnectionBadge'
import { PromptDialog } from './Dialog'
import { ByteReaders, PresenceBar } from './Presence'

interface ModuleViewProps {
  user: User
  workspace: number
  moduleId: number
  byteId: number | null
  writable: boolean
  /** May write comments and chat (editors and owners; viewers when the workspace allows). */
  canComment: boolean
  tree: ModuleNode[]
  onBytes: (bytes: ByteEntry[]) => void
}

export function ModuleView(props: ModuleViewProps) {
  const [module, setModule] = useState<Module | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [room, setRoom] = useState<ModuleRoom | null>(null)
  const [creating, setCreating] = useState(false)

  useEffect(() => {
    setModule(null)
    setError(null)
    let stale = false
    let acquired: ModuleRoom | null = null
    api.module(props.moduleId).then(
      (found) => {
        if (stale) return
        setModule(found)
        acquired = acquireRoom(found.id, { userId: props.user.id, createdAt: found.created_at, writable: props.writable })
        setRoom(acquired)
      },
      (caught: Error) => !stale && setError(caught instanceof ApiError && caught.status === 404 ? 'No such module (or you are not a member of its workspace).' : caught.message),
    )
    return () => {
      stale = true
      if (acquired) releaseRoom(acquired)
      setRoom(null)
    }
  }, [props.moduleId, props.user.id, props.writable])

  const status = useRoomStatus(room)
  const bytes = useRoomBytes(room)
  const peers = usePeers(room)
  useEffect(() => props.onBytes(bytes), [bytes])

  useShortcut((event) => {
    if (event.key === 'n' && !isTyping(event) && !event.metaKey && !event.ctrlKey && !event.altKey && props.writable && room) {
      event.preventDefault()
      setCreating(true)
    }
  })

  if (error) {
    return (
      <div class="empty-state">
        <h1>Module not found</h1>
        <p class="muted">{error}</p>
      </div>
    )
  }
  if (!module || !room || !status) return <p class="muted pad">Loading…</p>

  // From the tree (refetched after every change), so renames and moves show at once.
  const node = findModule(props.tree, module.id)
  const parents = node ? ancestorIds(props.tree, module.id).map((id) => findModule(props.tree, id)!) : []

  return (
    <div class="module-view">
      <header class="module-header">
        <nav class="crumbs" aria-label="Breadcrumb">
          {parents.map((parent) => (
            <span class="crumb-parent" key={parent.id}>
              <a href={moduleUrl(props.workspace, parent.id)}>{parent.name}</a> /{' '}
            </span>
          ))}
          <a href={moduleUrl(props.workspace, module.id)} aria-current={props.byteId === null ? 'page' : undefined}>
            <strong>{node?.name ?? module.name}</strong>
          </a>
        </nav>
        <div class="module-header-right">
          <PresenceBar peers={peers} bytes={bytes} />
          <ConnectionBadge status={status} writable={props.writable} />
          {props.writable && (
            <button type="button" class="primary small" onClick={() => setCreating(true)} title="New byte (n)">
              New byte
            </button>
          )}
        </div>
      </header>
      {status.closedReason && (
        <p class="notice notice-error" role="alert">
          {status.closedReason}
        </p>
      )}
      {props.byteId !== null ? (
        <BytePage
          key={props.byteId}
          room={room}
          status={status}
          workspace={props.workspace}
          moduleId={module.id}
          byteId={props.byteId}
          bytes={bytes}
          peers={peers}
          writable={props.writable}
          me={props.user}
          canComment={props.canComment}
        />
      ) : (
        <div class="module-body">
          <ModuleOverview module={module} node={node} room={room} bytes={bytes} peers={peers} workspace={props.workspace} loaded={status.loaded} writable={props.writable} />
          <Chat moduleId={module.id} moduleName={node?.name ?? module.name} me={props.user} workspace={props.workspace} canComment={props.canComment} />
        </div>
      )}
      {creating && (
        <PromptDialog
          title={`New byte in ${module.name}`}
          label="Title"
          submitLabel="Create"
          onClose={() => setCreating(false)}
          onSubmit={async (title) => {
            const byte = await api.createByte({ module: module.id, title })
            navigate(byteUrl(props.workspace, module.id, byte.id))
          }}
        />
      )}
    </div>
  )
}

/** First words of a byte's live text, for the list. */
function excerpt(text: Y.Text): string {
  const plain = text
    .toString()
    .slice(0, 400)
    .replace(/^[ \t]{0,3}(?:#{1,6}|>+)[ \t]*/gm, '') // heading and quote marks, not a # or > in the text
    .replace(/[*`[\]]/g, '') // emphasis, code and link marks (underscores stay: snake_case names)
    .replace(/\s+/g, ' ')
    .trim()
  return plain.length > 140 ? `${plain.slice(0, 140)}…` : plain
}

function ModuleOverview(props: {
  module: Module
  node: ModuleNode | null
  room: ModuleRoom
  bytes: ByteEntry[]
  peers: Peer[]
  workspace: number
  loaded: boolean
  writable: boolean
}) {
  // Excerpts follow the live texts; re-render at most a few times a second.
  const [, setTick] = useState(0)
  useEffect(() => {
    let timer = 0
    const update = (): void => {
      if (!timer) timer = window.setTimeout(() => ((timer = 0), setTick((n) => n + 1)), 300)
    }
    props.room.doc.on('update', update)
    return () => {
      props.room.doc.off('update', update)
      clearTimeout(timer)
    }
  }, [props.room])

  return (
    <section class="module-overview" aria-label={`Module ${props.module.name}`}>
      <h1>{props.node?.name ?? props.module.name}</h1>
      {props.module.description && <p class="muted">{props.module.description}</p>}
      {props.node && props.node.children.length > 0 && (
        <div class="submodules">
          {props.node.children.map((child) => (
            <a class="chip" key={child.id} href={moduleUrl(props.workspace, child.id)}>
              {child.name}
            </a>
          ))}
        </div>
      )}
      {!props.loaded && props.bytes.length === 0 ? (
        <p class="muted">Loading…</p>
      ) : props.bytes.length === 0 ? (
        <p class="muted">
          No bytes here yet.{props.writable && <> Press <kbd>n</kbd> or “New byte” to write the first one.</>}
        </p>
      ) : (
        <ul class="byte-list" aria-label="Bytes">
          {props.bytes.map((byte) => (
            <li key={byte.id}>
              <a class="byte-card" href={byteUrl(props.workspace, props.module.id, byte.id)} data-byte={byte.id}>
                <span class="byte-card-title">{byte.title}</span>
                <ByteReaders peers={props.peers} byteId={byte.id} />
                <span class="byte-card-excerpt">{excerpt(props.room.text(byte.id)) || <em>Empty</em>}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
