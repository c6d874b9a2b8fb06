// A byte's revisions, a diff of any of them against the live text, and restore (which
// reaches every open editor through the live document).
import { useEffect, useMemo, useState } from 'preact/hooks'
import type * as Y from 'yjs'

import { api } from '../api'
import { diffLines, hunks } from '../diff'
import { useAsync, useLiveText } from '../hooks'
import { reportError, toast } from '../toast'
import type { Revision } from '../types'
import { Dialog } from './Dialog'

const KIND_LABEL: Record<Revision['kind'], string> = { create: 'created', edit: 'edited', restore: 'restored' }

export function timeAgo(iso: string): string {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000)
  if (seconds < 45) return 'just now'
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`
  return new Date(iso).toLocaleDateString()
}

function DiffView({ revision, current, currentTitle }: { revision: Revision; current: string; currentTitle: string }) {
  const lines = useMemo(() => hunks(diffLines(revision.content, current)), [revision, current])
  const titleChanged = revision.title !== currentTitle
  return (
    <>
      {titleChanged && (
        <p class="small">
          Title then: <strong>{revision.title}</strong>
        </p>
      )}
      {lines.length === 0 ? (
        <p class="muted">Same text as now.</p>
      ) : (
        <pre class="diff" aria-label={`Changes from v${revision.version} to the current text`}>
          {lines.map((line, i) => (
            <div key={i} class={`diff-${line.kind}`}>
              {line.kind === 'add' ? '+ ' : line.kind === 'del' ? '- ' : line.kind === 'gap' ? '' : '  '}
              {line.text || ' '}
            </div>
          ))}
        </pre>
      )}
    </>
  )
}

export function History(props: { byteId: number; text: Y.Text; title: string; canRestore: boolean; onClose: () => void }) {
  const [revisions, reload] = useAsync(() => api.revisions(props.byteId).then((page) => page.results), [props.byteId])
  const [selected, setSelected] = useState<Revision | null>(null)
  const [confirming, setConfirming] = useState(false)
  const current = useLiveText(props.text)

  // New revisions appear as edits are stored (coalesced per author): refresh now and then.
  useEffect(() => {
    let timer = 0
    const changed = (): void => {
      clearTimeout(timer)
      timer = window.setTimeout(reload, 2000)
    }
    props.text.observe(changed)
    return () => {
      clearTimeout(timer)
      props.text.unobserve(changed)
    }
  }, [props.text])

  const restore = async (revision: Revision): Promise<void> => {
    try {
      await api.restore(props.byteId, revision.id)
      toast(`Restored version ${revision.version}.`)
      setSelected(null)
      reload()
    } catch (error) {
      reportError(error)
    }
  }

  return (
    <aside class="history" aria-label="History">
      <header class="panel-header">
        <h2>History</h2>
        <button type="button" class="icon-button" aria-label="Close history" onClick={props.onClose}>
          ×
        </button>
      </header>
      {revisions.state === 'loading' && <p class="muted">Loading…</p>}
      {revisions.state === 'error' && <p class="form-error">{revisions.error.message}</p>}
      {revisions.state === 'ready' && (
        <ol class="revisions">
          {revisions.value.map((revision, i) => (
            <li key={revision.id}>
              <button
                type="button"
                class={`revision${selected?.id === revision.id ? ' selected' : ''}`}
                aria-pressed={selected?.id === revision.id}
                onClick={() => setSelected(selected?.id === revision.id ? null : revision)}
              >
                <span class="revision-version">v{revision.version}</span>
                <span>
                  {KIND_LABEL[revision.kind]} by {revision.author ?? 'someone'}
                  {i === 0 && <span class="tag-current"> current</span>}
                </span>
                <time dateTime={revision.created_at} title={new Date(revision.updated_at).toLocaleString()}>
                  {timeAgo(revision.updated_at)}
                </time>
              </button>
            </li>
          ))}
        </ol>
      )}
      {selected && (
        <section class="revision-detail" aria-label={`Version ${selected.version}`}>
          <h3>
            v{selected.version}: “{selected.title}”
          </h3>
          <DiffView revision={selected} current={current} currentTitle={props.title} />
          {props.canRestore && (selected.content !== current || selected.title !== props.title) && (
            <button type="button" class="primary" onClick={() => setConfirming(true)}>
              Restore v{selected.version}
            </button>
          )}
        </section>
      )}
      {confirming && selected && (
        <Dialog title={`Restore version ${selected.version}?`} onClose={() => setConfirming(false)}>
          <p>The byte's title and text go back to version {selected.version} for everyone. The current text stays in the history.</p>
          <div class="dialog-actions">
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button
              type="button"
              class="primary"
              autoFocus
              onClick={() => {
                setConfirming(false)
                void restore(selected)
              }}
            >
              Restore
            </button>
          </div>
        </Dialog>
      )}
    </aside>
  )
}
