// The shell: session, workspaces, sidebar (switcher, search, module tree) and the page.
import { useEffect, useState } from 'preact/hooks'

import { api, onSignedOut } from '../api'
import type { ByteEntry } from '../collab'
import { channel } from '../discuss'
import { isTyping, useAsync, useShortcut } from '../hooks'
import { followInbox } from '../inbox'
import { clearOutbox } from '../outbox'
import { closeAllRooms, unsavedEverywhere } from '../rooms'
import { interceptLinkClick, navigate, useRoute, workspaceUrl } from '../router'
import { reportError } from '../toast'
import { canComment, canWrite, type User, type Workspace } from '../types'
import { ConfirmDialog } from './Dialog'
import { Help } from './Help'
import { InboxButton, InboxPage } from './Inbox'
import { Login } from './Login'
import { ModuleView } from './ModuleView'
import { OnlineUsers } from './Online'
import { Search } from './Search'
import { Toaster } from './Toaster'
import { Tree } from './Tree'
import { WorkspaceHome } from './WorkspaceHome'

const LAST_WORKSPACE = 'kb:workspace'

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined)
  useEffect(() => {
    api.session().then(
      (session) => setUser(session.user),
      () => setUser(null),
    )
    return onSignedOut(() => {
      closeAllRooms()
      setUser(null)
    })
  }, [])
  if (user === undefined) return <div class="splash" aria-busy="true">kb</div>
  if (user === null) return <Login onSignedIn={setUser} />
  return <Wiki user={user} onSignedOut={() => setUser(null)} />
}

function Wiki({ user, onSignedOut }: { user: User; onSignedOut: () => void }) {
  const route = useRoute()
  const [workspaces, reloadWorkspaces] = useAsync(api.workspaces, [user.id])

  // The discussions' live channel and the inbox count, for as long as this user is signed in.
  useEffect(() => {
    channel.start()
    const stopInbox = followInbox()
    return () => {
      stopInbox()
      channel.stop()
      clearOutbox()
    }
  }, [user.id])
  const [sidebarOpen, setSidebarOpen] = useState(false)
  const [helpOpen, setHelpOpen] = useState(false)
  const [confirmSignOut, setConfirmSignOut] = useState(false)
  const [moduleBytes, setModuleBytes] = useState<ByteEntry[]>([])

  const list: Workspace[] = workspaces.state === 'ready' ? workspaces.value : []
  // The inbox spans workspaces: the sidebar keeps showing the one used last.
  const workspaceId =
    route.name === 'workspace' || route.name === 'module'
      ? route.workspace
      : route.name === 'inbox'
        ? (list.find((item) => item.id === Number(localStorage.getItem(LAST_WORKSPACE))) ?? list[0])?.id ?? null
        : null
  const workspace = list.find((item) => item.id === workspaceId) ?? null

  // "/" opens the workspace used last (or the first one).
  useEffect(() => {
    if (route.name !== 'home' || !list.length) return
    const remembered = Number(localStorage.getItem(LAST_WORKSPACE))
    const target = list.find((item) => item.id === remembered) ?? list[0]
    navigate(workspaceUrl(target.id), { replace: true })
  }, [route.name, list])

  useEffect(() => {
    if (workspace) localStorage.setItem(LAST_WORKSPACE, String(workspace.id))
  }, [workspace?.id])

  // The tree is not live: fetch it again when the window regains focus.
  const [tree, reloadTree] = useAsync(() => (workspaceId ? api.tree(workspaceId) : Promise.resolve([])), [workspaceId])
  useEffect(() => {
    window.addEventListener('focus', reloadTree)
    return () => window.removeEventListener('focus', reloadTree)
  }, [workspaceId])

  useEffect(() => setSidebarOpen(false), [route])

  useShortcut((event) => {
    if (isTyping(event)) return
    if (event.key === '?') {
      event.preventDefault()
      setHelpOpen(true)
    } else if (event.key === 'Escape' && sidebarOpen) {
      setSidebarOpen(false)
    }
  })

  const signOut = async (): Promise<void> => {
    try {
      await api.signOut()
    } catch (error) {
      reportError(error)
      return
    }
    closeAllRooms()
    onSignedOut()
    navigate('/', { replace: true })
  }

  const writable = canWrite(workspace?.role)
  let page
  if (workspaces.state === 'loading') page = <p class="muted pad">Loading…</p>
  else if (workspaces.state === 'error') page = <p class="form-error pad">{workspaces.error.message}</p>
  else if (!list.length) page = <div class="empty-state"><h1>No workspace yet</h1><p class="muted">Ask a teammate to add you to theirs.</p></div>
  else if (route.name === 'notFound' || (workspaceId !== null && !workspace)) page = <div class="empty-state"><h1>Not found</h1><a href="/">Go to your workspace</a></div>
  else if (route.name === 'module' && workspace)
    page = (
      <ModuleView
        key={route.module}
        user={user}
        workspace={workspace.id}
        moduleId={route.module}
        byteId={route.byte}
        writable={writable}
        canComment={canComment(workspace)}
        tree={tree.state === 'ready' ? tree.value : []}
        onBytes={setModuleBytes}
      />
    )
  else if (route.name === 'inbox') page = <InboxPage />
  else if (workspace) page = <WorkspaceHome workspace={workspace} onChanged={reloadWorkspaces} />

  return (
    <div class={`layout${sidebarOpen ? ' sidebar-open' : ''}`} onClick={interceptLinkClick}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <aside class="sidebar" id="sidebar" aria-label="Workspace navigation">
        <div class="sidebar-top">
          <a class="brand" href="/" aria-label="kb home">
            kb
          </a>
          {list.length > 0 && (
            <select
              class="workspace-switcher"
              aria-label="Workspace"
              value={workspace ? String(workspace.id) : ''}
              onChange={(event) => navigate(workspaceUrl(Number(event.currentTarget.value)))}
            >
              {!workspace && <option value="">Choose a workspace</option>}
              {list.map((item) => (
                <option key={item.id} value={String(item.id)}>
                  {item.name}
                </option>
              ))}
            </select>
          )}
          <InboxButton />
        </div>
        {workspace && <Search workspace={workspace.id} />}
        {workspace && tree.state === 'ready' && (
          <Tree
            workspace={workspace.id}
            tree={tree.value}
            canEdit={writable}
            currentModule={route.name === 'module' ? route.module : null}
            currentByte={route.name === 'module' ? route.byte : null}
            bytes={route.name === 'module' ? moduleBytes : []}
            onChanged={reloadTree}
          />
        )}
        {workspace && <OnlineUsers workspace={workspace.id} me={user} />}
        <div class="sidebar-bottom">
          <span class="whoami" title={workspace ? `${workspace.role} of ${workspace.name}` : undefined}>
            <span class="avatar avatar-small avatar-me" aria-hidden="true">
              {user.username.slice(0, 1).toUpperCase()}
            </span>
            {user.username}
            {workspace && <span class="role-badge">{workspace.role}</span>}
          </span>
          <button type="button" class="icon-button" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={() => setHelpOpen(true)}>
            ?
          </button>
          <button type="button" class="link-button" onClick={() => (unsavedEverywhere() > 0 ? setConfirmSignOut(true) : void signOut())}>
            Sign out
          </button>
        </div>
      </aside>
      <div class="scrim" onClick={() => setSidebarOpen(false)} aria-hidden="true" />
      <main class="main" id="main" tabIndex={-1}>
        <div class="mobile-bar">
          <button
            type="button"
            class="icon-button"
            aria-label="Open navigation"
            aria-controls="sidebar"
            aria-expanded={sidebarOpen}
            onClick={() => setSidebarOpen(true)}
          >
            ☰
          </button>
          <span class="brand">kb</span>
          <span class="mobile-title">{workspace?.name}</span>
          <InboxButton testId="inbox-button-mobile" />
        </div>
        {page}
      </main>
      <Toaster />
      {helpOpen && <Help onClose={() => setHelpOpen(false)} />}
      {confirmSignOut && (
        <ConfirmDialog
          title="Sign out with unsaved edits?"
          message="Some of your edits have not reached the server yet. They stay on this device and are sent the next time you open their module here."
          confirmLabel="Sign out anyway"
          danger
          onClose={() => setConfirmSignOut(false)}
          onConfirm={signOut}
        />
      )}
    </div>
  )
}
