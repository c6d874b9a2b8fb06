// A byte's discussion: its comment threads beside the text. A thread may point at a passage
// (the editor's selection when it was started); the passage is found again in the live text
// as people edit it, highlighted in the editor, and shown as "detached" once it is deleted.
import { useEffect, useMemo, useState } from 'preact/hooks'
import type * as Y from 'yjs'

import { makeAnchor, place, type Placement } from '../anchors'
import { api } from '../api'
import type { ByteDiscussion } from '../conversation'
import { showPassages, type EditorHandle } from '../editor'
import type { Pending } from '../outbox'
import { reportError, toast } from '../toast'
import { nameOf, type Comment, type Person, type Thread } from '../types'
import { CommentBody, Composer, shortTime, TypingLine } from './CommentText'

/** Re-render whenever a conversation changes. */
export function useConversation(conversation: { listen(listener: () => void): () => void } | null): void {
  const [, setTick] = useState(0)
  useEffect(() => conversation?.listen(() => setTick((n) => n + 1)), [conversation])
}

/** Where each anchored thread is in the live text, recomputed as the text changes. */
function usePlacements(threads: Thread[], text: Y.Text): Map<number, Placement> {
  const [version, setVersion] = useState(0)
  useEffect(() => {
    let timer = 0
    const changed = (): void => {
      if (!timer) timer = window.setTimeout(() => ((timer = 0), setVersion((n) => n + 1)), 100)
    }
    text.observe(changed)
    return () => {
      clearTimeout(timer)
      text.unobserve(changed)
    }
  }, [text])
  return useMemo(() => {
    const placements = new Map<number, Placement>()
    for (const thread of threads) if (thread.anchor) placements.set(thread.id, place(thread.anchor, text))
    return placements
  }, [threads, text, version])
}

interface DiscussionProps {
  discussion: ByteDiscussion
  text: Y.Text
  me: Person
  workspace: number
  canComment: boolean
  editor: EditorHandle | null
  onClose: () => void
}

export function Discussion(props: DiscussionProps) {
  const { discussion } = props
  useConversation(discussion)
  const [draft, setDraft] = useState<{ anchor?: { start: string; end: string; quote: string }; body?: string } | null>(null)
  const [active, setActive] = useState<number | null>(null)
  const threads = discussion.threads
  const placements = usePlacements(threads, props.text)

  // The passages of open threads, drawn in the editor.
  useEffect(() => {
    const view = props.editor?.view
    if (!view) return
    const list = threads.flatMap((thread) => {
      const placed = placements.get(thread.id)
      return !thread.resolved && placed?.state === 'placed' ? [{ from: placed.from, to: placed.to, thread: thread.id, active: thread.id === active }] : []
    })
    showPassages(view, list)
  }, [placements, active, props.editor])
  useEffect(
    () => () => {
      // Closing the panel takes the highlights away (unless the editor itself is gone).
      if (props.editor?.view.dom.isConnected) showPassages(props.editor.view, [])
    },
    [props.editor],
  )

  // Opened from the inbox (#thread-ID): show that thread.
  useEffect(() => {
    const match = /^#thread-(\d+)$/.exec(location.hash)
    if (!match || !threads.length) return
    const id = Number(match[1])
    setActive(id)
    document.getElementById(`thread-${id}`)?.scrollIntoView({ block: 'nearest' })
  }, [threads.length > 0])

  const startComment = (): void => {
    const view = props.editor?.view
    const selection = view?.state.selection.main
    if (view && selection && !selection.empty) {
      setDraft({ anchor: makeAnchor(props.text, selection.from, selection.to) })
    } else setDraft({})
  }

  const showPassage = (thread: Thread): void => {
    setActive(thread.id)
    const placed = placements.get(thread.id)
    const view = props.editor?.view
    if (view && placed?.state === 'placed' && placed.to <= view.state.doc.length) {
      view.dispatch({ selection: { anchor: placed.from, head: placed.to }, scrollIntoView: true })
    }
  }

  const open = threads.filter((thread) => !thread.resolved)
  const resolved = threads.filter((thread) => thread.resolved)
  const pending = discussion.pending()
  const newThreads = pending.filter((item) => item.send.kind === 'thread')
  const typingHere = discussion.typists.filter((typist) => typist.thread === null)

  return (
    <aside class="discussion" aria-label="Discussion" data-testid="discussion-panel">
      <header class="panel-header">
        <h2>Discussion</h2>
        <div class="panel-actions">
          {props.canComment && (
            <button
              type="button"
              class="small"
              // Keep the editor's selection: the button must not take the focus on mousedown.
              onMouseDown={(event) => event.preventDefault()}
              onClick={startComment}
              title="Comment on the selected text (or on the whole byte)"
              data-testid="comment-button"
            >
              Comment
            </button>
          )}
          <button type="button" class="icon-button" aria-label="Close discussion" onClick={props.onClose}>
            ×
          </button>
        </div>
      </header>
      {discussion.error && (
        <p class="form-error" role="alert">
          {discussion.error}
        </p>
      )}
      {draft && (
        <section class="thread thread-draft" aria-label="New thread">
          {draft.anchor ? <blockquote class="thread-quote">{draft.anchor.quote}</blockquote> : <p class="muted small">On the whole byte</p>}
          <Composer
            label="New comment"
            placeholder="Write a comment… @name mentions someone"
            submitLabel="Comment"
            workspace={props.workspace}
            autoFocus
            initial={draft.body}
            testId="new-thread-composer"
            onTyping={() => discussion.sendTyping(null)}
            onCancel={() => setDraft(null)}
            onSubmit={(body) => {
              // Refused (a 400 says why, in a toast): the draft comes back with its text.
              discussion.startThread(body, draft.anchor, (refused) => setDraft((now) => now ?? { ...draft, body: refused }))
              setDraft(null)
            }}
          />
        </section>
      )}
      {!discussion.loaded && !discussion.error && <p class="muted">Loading…</p>}
      {discussion.loaded && !threads.length && !newThreads.length && !draft && (
        <p class="muted small">No comments yet.{props.canComment && ' Select some text and press “Comment” to discuss it.'}</p>
      )}
      <ol class="threads" aria-label="Open threads">
        {open.map((thread) => (
          <li key={thread.id}>
            <ThreadView {...props} thread={thread} placement={placements.get(thread.id)} active={active === thread.id} pending={pending} onShow={() => showPassage(thread)} />
          </li>
        ))}
        {newThreads.map((item) => (
          <li key={item.clientId}>
            <section class="thread pending" data-testid="pending-thread">
              {item.send.kind === 'thread' && item.send.anchor && <blockquote class="thread-quote">{item.send.anchor.quote}</blockquote>}
              <PendingComment item={item} me={props.me} />
            </section>
          </li>
        ))}
      </ol>
      <TypingLine typists={typingHere} />
      {resolved.length > 0 && (
        <details class="resolved-threads">
          <summary>Resolved ({resolved.length})</summary>
          <ol class="threads" aria-label="Resolved threads">
            {resolved.map((thread) => (
              <li key={thread.id}>
                <ThreadView {...props} thread={thread} placement={placements.get(thread.id)} active={active === thread.id} pending={pending} onShow={() => showPassage(thread)} />
              </li>
            ))}
          </ol>
        </details>
      )}
    </aside>
  )
}

function Quote({ thread, placement, onShow }: { thread: Thread; placement: Placement | undefined; onShow: () => void }) {
  if (!thread.anchor) return null
  if (placement?.state === 'detached') {
    return (
      <p class="thread-quote detached" data-testid="thread-quote" data-state="detached" title="The passage this thread was about has been deleted.">
        <span class="detached-badge">detached</span> <s>{thread.anchor.quote}</s>
      </p>
    )
  }
  const quote = placement?.state === 'placed' ? placement.quote : thread.anchor.quote
  return (
    <blockquote class="thread-quote" data-testid="thread-quote" data-state={placement?.state ?? 'unknown'}>
      <button type="button" class="link-button quote-button" onClick={onShow} title="Show the passage in the editor">
        {quote}
      </button>
    </blockquote>
  )
}

function ThreadView(props: DiscussionProps & { thread: Thread; placement: Placement | undefined; active: boolean; pending: Pending[]; onShow: () => void }) {
  const { thread, discussion } = props
  const [busy, setBusy] = useState(false)
  const replies = props.pending.filter((item) => item.send.kind === 'reply' && item.send.thread === thread.id)
  const typing = discussion.typists.filter((typist) => typist.thread === thread.id)

  const toggleResolved = async (): Promise<void> => {
    setBusy(true)
    try {
      discussion.putThread(await (thread.resolved ? api.reopenThread(thread.id) : api.resolveThread(thread.id)))
    } catch (error) {
      reportError(error)
    } finally {
      setBusy(false)
    }
  }

  const body = (
    <>
      <Quote thread={thread} placement={props.placement} onShow={props.onShow} />
      <ol class="comments">
        {thread.comments.map((comment) => (
          <li key={comment.id}>
            <CommentView comment={comment} me={props.me} workspace={props.workspace} canEdit={props.canComment} onSaved={(saved) => discussion.putComment(saved)} />
          </li>
        ))}
        {replies.map((item) => (
          <li key={item.clientId}>
            <PendingComment item={item} me={props.me} />
          </li>
        ))}
      </ol>
      <TypingLine typists={typing} />
      {props.canComment && (
        <div class="thread-actions">
          {!thread.resolved && (
            <Composer
              label={`Reply to ${nameOf(thread.created_by)}`}
              placeholder="Reply…"
              rows={1}
              submitLabel="Reply"
              workspace={props.workspace}
              testId="reply-composer"
              onTyping={() => discussion.sendTyping(thread.id)}
              onSubmit={(text, giveBack) => discussion.reply(thread.id, text, giveBack)}
            />
          )}
          <button type="button" class="small" disabled={busy} onClick={() => void toggleResolved()}>
            {thread.resolved ? 'Reopen' : 'Resolve'}
          </button>
        </div>
      )}
    </>
  )

  const attributes = {
    id: `thread-${thread.id}`,
    'data-testid': 'thread',
    'data-thread-id': String(thread.id),
    'data-resolved': thread.resolved ? 'true' : 'false',
  }
  if (thread.resolved) {
    const first = thread.comments[0]
    return (
      <details class={`thread resolved${props.active ? ' active' : ''}`} {...attributes}>
        <summary>
          <span class="muted small">
            Resolved{thread.resolved_by ? ` by ${thread.resolved_by.username}` : ''}
            {first ? `: ${nameOf(first.author)}: ` : ''}
          </span>
          {first && <span class="small">{first.body.slice(0, 80)}</span>}
        </summary>
        {body}
      </details>
    )
  }
  return (
    <section class={`thread${props.active ? ' active' : ''}`} aria-label={`Thread by ${nameOf(thread.created_by)}`} {...attributes}>
      {body}
    </section>
  )
}

function CommentView(props: { comment: Comment; me: Person; workspace: number; canEdit: boolean; onSaved: (comment: Comment) => void }) {
  const { comment } = props
  const [editing, setEditing] = useState(false)
  const mine = comment.author?.id === props.me.id
  return (
    <article class="comment" data-testid="comment" data-comment-id={String(comment.id)} aria-label={`Comment by ${nameOf(comment.author)}`}>
      <header class="comment-meta">
        <strong class="comment-author">{nameOf(comment.author)}</strong>
        <time dateTime={comment.created_at} title={new Date(comment.created_at).toLocaleString()}>
          {shortTime(comment.created_at)}
        </time>
        {comment.edited_at && <span class="muted small" title={new Date(comment.edited_at).toLocaleString()}>(edited)</span>}
        {mine && props.canEdit && !editing && (
          <button type="button" class="link-button small" onClick={(event) => (event.stopPropagation(), setEditing(true))} aria-label="Edit your comment">
            Edit
          </button>
        )}
      </header>
      {editing ? (
        <Composer
          label="Edit your comment"
          placeholder="Comment…"
          submitLabel="Save"
          workspace={props.workspace}
          initial={comment.body}
          autoFocus
          onCancel={() => setEditing(false)}
          onSubmit={async (body, giveBack) => {
            try {
              props.onSaved(await api.editComment(comment.id, body))
              setEditing(false)
              toast('Comment saved.')
            } catch (error) {
              reportError(error)
              giveBack(body)
            }
          }}
        />
      ) : (
        <CommentBody body={comment.body} known={comment.mentions.map((person) => person.username)} />
      )}
    </article>
  )
}

export function PendingComment({ item, me }: { item: Pending; me: Person }) {
  return (
    <article class="comment pending" data-testid="pending" aria-busy="true">
      <header class="comment-meta">
        <strong class="comment-author">{me.username}</strong>
        <span class="muted small">{item.state === 'sending' ? 'sending…' : navigator.onLine === false ? 'offline, will send when back…' : 'sending… (retrying)'}</span>
      </header>
      <CommentBody body={item.body} />
    </article>
  )
}
