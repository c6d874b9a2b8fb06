// One byte: live title, tags, the shared editor beside its rendered preview, links,
// backlinks and history.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'

import { api, ApiError } from '../api'
import type { ByteEntry, ModuleRoom, Peer, RoomStatus } from '../collab'
import { ByteDiscussion } from '../conversation'
import type { EditorHandle } from '../editor'
import { isTyping, useShortcut } from '../hooks'
import { normalizeTarget } from '../links'
import { byteUrl, moduleUrl, navigate } from '../router'
import { reportError, toast } from '../toast'
import type { Byte, ByteRef, Link, User } from '../types'
import { ConfirmDialog } from './Dialog'
import { Discussion, useConversation } from './Discussion'
import { Editor } from './Editor'
import { History, timeAgo } from './History'
import { LinksPanel } from './LinksPanel'
import { Menu } from './Menu'
import { ByteReaders } from './Presence'
import { Preview } from './Preview'
import { TagEditor } from './TagEditor'
import { TitleField } from './TitleField'

type Mode = 'write' | 'split' | 'read'
const MODE_KEY = 'kb:mode'

interface BytePageProps {
  room: ModuleRoom
  status: RoomStatus
  workspace: number
  moduleId: number
  byteId: number
  bytes: ByteEntry[]
  peers: Peer[]
  writable: boolean
  me: User
  canComment: boolean
}

type Side = 'history' | 'discussion' | null
const DISCUSSION_KEY = 'kb:discussion'

export function BytePage(props: BytePageProps) {
  const { room, byteId } = props
  const entry = props.bytes.find((byte) => byte.id === byteId) ?? null
  const text = useMemo(() => room.text(byteId), [room, byteId])
  const [meta, setMeta] = useState<Byte | null>(null)
  // Answers about the byte can arrive out of order (a refresh sent before a tag edit may land
  // after it). A read is as new as when it was sent, a write as when it was answered (the
  // server has committed it by then): show an answer only if nothing newer is showing.
  const metaClock = useRef(0)
  const metaShown = useRef(0)
  const showMeta = (asOf: number, byte: Byte): void => {
    if (asOf <= metaShown.current) return
    metaShown.current = asOf
    setMeta(byte)
  }
  const readMeta = async (): Promise<Byte> => {
    const asOf = ++metaClock.current
    const byte = await api.byte(byteId)
    showMeta(asOf, byte)
    return byte
  }
  const writeMeta = async (changes: { title?: string; tags?: string[] }): Promise<void> => {
    const byte = await api.updateByte(byteId, changes)
    showMeta(++metaClock.current, byte)
  }
  const [notFound, setNotFound] = useState(false)
  const [links, setLinks] = useState<Link[] | null>(null)
  const [backlinks, setBacklinks] = useState<ByteRef[] | null>(null)
  const [mode, setMode] = useState<Mode>(() => (localStorage.getItem(MODE_KEY) as Mode | null) ?? 'split')
  // One side panel at a time: the history or the discussion (remembered; a link to a thread opens it).
  const [side, setSide] = useState<Side>(() =>
    /^#thread-\d+$/.test(location.hash) || localStorage.getItem(DISCUSSION_KEY) === 'open' ? 'discussion' : null,
  )
  const historyOpen = side === 'history'
  const setHistoryOpen = (open: boolean | ((open: boolean) => boolean)): void =>
    setSide((now) => ((typeof open === 'function' ? open(now === 'history') : open) ? 'history' : now === 'history' ? null : now))
  const toggleDiscussion = (): void => {
    const next = side === 'discussion' ? null : 'discussion'
    localStorage.setItem(DISCUSSION_KEY, next ? 'open' : 'closed')
    setSide(next)
  }
  const [confirmDelete, setConfirmDelete] = useState(false)
  const editor = useRef<EditorHandle | null>(null)
  // The editor as state too, so the discussion can draw its passages in a new one (mode switch).
  const [editorHandle, setEditorHandle] = useState<EditorHandle | null>(null)
  const [discussion, setDiscussion] = useState<ByteDiscussion | null>(null)
  useEffect(() => {
    const opened = new ByteDiscussion(byteId, props.me)
    void opened.open()
    setDiscussion(opened)
    return () => opened.close()
  }, [byteId, props.me.id])
  useConversation(discussion)
  const seen = useRef<number | null>(null)
  if (entry) seen.current = byteId
  const deleted = props.status.loaded && !entry && seen.current === byteId

  useEffect(() => {
    room.setOpenByte(byteId)
    return () => room.setOpenByte(null)
  }, [room, byteId])

  // REST details the live index does not carry (tags, authors); also finds moved bytes.
  useEffect(() => {
    setMeta(null)
    metaShown.current = metaClock.current
    setNotFound(false)
    readMeta().then(
      (byte) => {
        if (byte.module !== props.moduleId) navigate(byteUrl(props.workspace, byte.module, byte.id), { replace: true })
      },
      (error) => (error instanceof ApiError && error.status === 404 ? setNotFound(true) : reportError(error)),
    )
  }, [byteId])

  // Links resolve from what the server has stored, which follows the live text within a
  // second: look them up again shortly after the text settles.
  useEffect(() => {
    setLinks(null)
    let timer = 0
    let stale = false
    let loadedOnce = false // the first byte fetch is the effect above
    const load = (): void => {
      api.links(byteId).then((result) => !stale && setLinks(result), () => undefined)
      // "updated by ... ago" too, once the stored row has caught up with the live text.
      if (loadedOnce && !stale) readMeta().catch(() => undefined)
      loadedOnce = true
    }
    load()
    const changed = (): void => {
      clearTimeout(timer)
      timer = window.setTimeout(load, 1200)
    }
    text.observe(changed)
    window.addEventListener('online', changed)
    return () => {
      stale = true
      clearTimeout(timer)
      text.unobserve(changed)
      window.removeEventListener('online', changed)
    }
  }, [byteId, text])

  useEffect(() => {
    setBacklinks(null)
    let stale = false
    const load = (): void => {
      api.backlinks(byteId).then((result) => !stale && setBacklinks(result), () => undefined)
    }
    load()
    window.addEventListener('focus', load)
    return () => {
      stale = true
      window.removeEventListener('focus', load)
    }
  }, [byteId])

  const linkMap = useMemo(() => new Map((links ?? []).map((link) => [normalizeTarget(link.target), link])), [links])

  const chooseMode = (next: Mode): void => {
    setMode(next)
    localStorage.setItem(MODE_KEY, next)
  }

  useShortcut((event) => {
    if (isTyping(event) || event.metaKey || event.ctrlKey || event.altKey) return
    if (event.key === 'e' && mode !== 'read') {
      event.preventDefault()
      editor.current?.view.focus()
    } else if (event.key === 'h') {
      event.preventDefault()
      setHistoryOpen((open) => !open)
    }
  })

  if (notFound || deleted) {
    return (
      <div class="empty-state">
        <h1>{deleted ? 'This byte was deleted' : 'No such byte'}</h1>
        <p class="muted">{deleted ? 'Someone deleted it while you had it open.' : 'It may have been deleted, or you may not have access.'}</p>
        <a href={moduleUrl(props.workspace, props.moduleId)}>Back to the module</a>
      </div>
    )
  }

  const title = entry?.title ?? meta?.title ?? ''
  const ready = props.status.loaded || (entry !== null) || (meta !== null && meta.module === props.moduleId)
  const path = meta?.path ?? ''

  const saveTitle = async (value: string): Promise<void> => {
    try {
      await writeMeta({ title: value })
    } catch (error) {
      reportError(error)
      throw error
    }
  }
  const saveTags = async (tags: string[]): Promise<void> => {
    try {
      await writeMeta({ tags })
    } catch (error) {
      reportError(error)
    }
  }

  return (
    <article class={`byte${side ? ' with-side' : ''}`} aria-label={title || 'Byte'}>
      <header class="byte-header">
        <div class="byte-heading">
          <TitleField title={title} editable={props.writable} onSave={saveTitle} onDone={() => editor.current?.view.focus()} />
          <ByteReaders peers={props.peers} byteId={byteId} />
        </div>
        <div class="byte-meta">
          {path && <code class="byte-path" title="Link to this byte with [[path]]">{path}</code>}
          {meta && <TagEditor tags={meta.tags} editable={props.writable} onChange={saveTags} />}
          {meta?.updated_by && (
            <span class="muted small">
              updated by {meta.updated_by} {timeAgo(meta.updated_at)}
            </span>
          )}
        </div>
        <div class="byte-toolbar">
          <div class="segmented" role="group" aria-label="Layout">
            {(['write', 'split', 'read'] as Mode[]).map((value) => (
              <button key={value} type="button" aria-pressed={mode === value} onClick={() => chooseMode(value)}>
                {value === 'write' ? 'Editor' : value === 'split' ? 'Split' : 'Preview'}
              </button>
            ))}
          </div>
          <button type="button" aria-pressed={historyOpen} onClick={() => setHistoryOpen(!historyOpen)} title="History (h)">
            History
          </button>
          <button
            type="button"
            aria-pressed={side === 'discussion'}
            onClick={toggleDiscussion}
            data-testid="discussion-toggle"
            aria-label={`Discussion, ${discussion?.openCount() ?? 0} open threads`}
            title="Comments on this byte"
          >
            Discussion{' '}
            <span class="count" data-testid="open-threads">
              {discussion?.openCount() ?? 0}
            </span>
          </button>
          <Menu
            label="More actions for this byte"
            items={[
              {
                label: 'Copy [[link]]',
                onSelect: () => {
                  void navigator.clipboard?.writeText(`[[${path}]]`).then(() => toast(`Copied [[${path}]]`), () => toast(`[[${path}]]`))
                },
              },
              ...(props.writable ? [{ label: 'Delete byte…', danger: true, onSelect: () => setConfirmDelete(true) }] : []),
            ]}
          />
        </div>
      </header>
      {!props.writable && (
        <p class="notice" role="note">
          Read-only: you are a viewer in this workspace. You still see every change live.
        </p>
      )}
      <div class={`panes panes-${mode}`}>
        {mode !== 'read' && (
          <section class="pane pane-editor" aria-label="Editor">
            {ready ? <Editor
                room={room}
                text={text}
                readOnly={!props.writable}
                onReady={(handle) => {
                  editor.current = handle
                  setEditorHandle(handle)
                }}
              /> : <p class="muted pad">Loading…</p>}
          </section>
        )}
        {mode !== 'write' && (
          <section class="pane pane-preview" aria-label="Preview">
            <Preview text={text} workspace={props.workspace} module={props.moduleId} bytes={props.bytes} links={linkMap} />
            <LinksPanel workspace={props.workspace} backlinks={backlinks} links={links} />
          </section>
        )}
        {historyOpen && <History byteId={byteId} text={text} title={title} canRestore={props.writable} onClose={() => setHistoryOpen(false)} />}
        {side === 'discussion' && discussion && (
          <Discussion
            discussion={discussion}
            text={text}
            me={props.me}
            workspace={props.workspace}
            canComment={props.canComment}
            editor={editorHandle}
            onClose={toggleDiscussion}
          />
        )}
      </div>
      {confirmDelete && (
        <ConfirmDialog
          title={`Delete “${title}”?`}
          message="The byte and its history are deleted for everyone. Links to it will show as broken."
          confirmLabel="Delete byte"
          danger
          onClose={() => setConfirmDelete(false)}
          onConfirm={async () => {
            await api.deleteByte(byteId)
            toast(`Deleted “${title}”.`)
            navigate(moduleUrl(props.workspace, props.moduleId))
          }}
        />
      )}
    </article>
  )
}
