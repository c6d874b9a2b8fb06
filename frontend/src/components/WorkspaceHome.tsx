// A workspace's landing page: what changed lately (and, for owners, whether viewers may comment).
import { useEffect, useState } from 'preact/hooks'

import { api } from '../api'
import { useAsync } from '../hooks'
import { byteUrl } from '../router'
import { reportError } from '../toast'
import type { Workspace } from '../types'
import { timeAgo } from './History'

function ViewersMayComment({ workspace, onChanged }: { workspace: Workspace; onChanged: () => void }) {
  const [busy, setBusy] = useState(false)
  // Shown as asked at once; the workspace list catches up once the server has it.
  const [checked, setChecked] = useState(workspace.viewers_can_comment === true)
  useEffect(() => setChecked(workspace.viewers_can_comment === true), [workspace.viewers_can_comment])
  return (
    <label class="setting">
      <input
        type="checkbox"
        checked={checked}
        disabled={busy}
        onChange={async (event) => {
          const wanted = event.currentTarget.checked
          setChecked(wanted)
          setBusy(true)
          try {
            await api.updateWorkspace(workspace.id, { viewers_can_comment: wanted })
            onChanged()
          } catch (error) {
            setChecked(!wanted)
            reportError(error)
          } finally {
            setBusy(false)
          }
        }}
      />{' '}
      Viewers may comment on bytes and write in module chats
    </label>
  )
}

export function WorkspaceHome({ workspace, onChanged }: { workspace: Workspace; onChanged: () => void }) {
  const [recent] = useAsync(() => api.recent(workspace.id).then((page) => page.results), [workspace.id])
  return (
    <section class="workspace-home" aria-label={workspace.name}>
      <h1>{workspace.name}</h1>
      <p class="muted">
        You are {/^[aeiou]/.test(workspace.role) ? 'an' : 'a'} {workspace.role} here. Pick a module on the left, or press <kbd>/</kbd> to search.
      </p>
      {workspace.role === 'owner' && workspace.viewers_can_comment !== undefined && (
        <ViewersMayComment workspace={workspace} onChanged={onChanged} />
      )}
      <h2>Recently updated</h2>
      {recent.state === 'loading' && <p class="muted">Loading…</p>}
      {recent.state === 'error' && <p class="form-error">{recent.error.message}</p>}
      {recent.state === 'ready' &&
        (recent.value.length === 0 ? (
          <p class="muted">Nothing yet: create a module, then a byte.</p>
        ) : (
          <ul class="byte-list">
            {recent.value.map((byte) => (
              <li key={byte.id}>
                <a class="byte-card" href={byteUrl(workspace.id, byte.module, byte.id)}>
                  <span class="byte-card-title">{byte.title}</span>
                  <span class="result-path">{byte.path}</span>
                  <span class="byte-card-excerpt muted small">
                    updated {timeAgo(byte.updated_at)}
                    {byte.updated_by ? ` by ${byte.updated_by}` : ''}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        ))}
    </section>
  )
}
