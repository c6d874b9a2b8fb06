// A module's chat: a live conversation beside its bytes.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'

import { api } from '../api'
import { ModuleChat } from '../conversation'
import { reportError, toast } from '../toast'
import { nameOf, type Comment, type Person } from '../types'
import { CommentBody, Composer, shortTime, TypingLine } from './CommentText'
import { PendingComment, useConversation } from './Discussion'

export function Chat(props: { moduleId: number; moduleName: string; me: Person; workspace: number; canComment: boolean }) {
  const [chat, setChat] = useState<ModuleChat | null>(null)
  useEffect(() => {
    const opened = new ModuleChat(props.moduleId, props.me)
    void opened.open()
    setChat(opened)
    return () => opened.close()
  }, [props.moduleId, props.me.id])
  useConversation(chat)

  // Stay at the bottom as messages arrive, unless the reader scrolled up.
  const list = useRef<HTMLOListElement>(null)
  const atBottom = useRef(true)
  const count = (chat?.messages.length ?? 0) + (chat?.pending().length ?? 0)
  useLayoutEffect(() => {
    const element = list.current
    if (element && atBottom.current) element.scrollTop = element.scrollHeight
  }, [count])

  if (!chat) return null
  const pending = chat.pending()
  return (
    <aside class="chat" aria-label={`Chat of ${props.moduleName}`} data-testid="chat-panel">
      <header class="panel-header">
        <h2>Chat</h2>
      </header>
      {chat.error && (
        <p class="form-error" role="alert">
          {chat.error}
        </p>
      )}
      <ol
        class="chat-messages"
        ref={list}
        aria-label="Messages"
        aria-live="polite"
        onScroll={(event) => {
          const element = event.currentTarget
          atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40
        }}
      >
        {chat.more && (
          <li class="chat-earlier">
            <button type="button" class="link-button small" onClick={() => chat.loadEarlier().catch(reportError)}>
              Earlier messages
            </button>
          </li>
        )}
        {!chat.loaded && !chat.error && <li class="muted small">Loading…</li>}
        {chat.loaded && !chat.messages.length && !pending.length && <li class="muted small">No messages yet. Say hello to the people working on {props.moduleName}.</li>}
        {chat.messages.map((message) => (
          <li key={message.id}>
            <ChatMessage message={message} me={props.me} workspace={props.workspace} canEdit={props.canComment} onSaved={(saved) => chat.put(saved)} />
          </li>
        ))}
        {pending.map((item) => (
          <li key={item.clientId}>
            <PendingComment item={item} me={props.me} />
          </li>
        ))}
      </ol>
      <TypingLine typists={chat.typists} />
      {props.canComment ? (
        <Composer
          label="Message"
          placeholder={`Message ${props.moduleName}… (Enter sends)`}
          submitLabel="Send"
          workspace={props.workspace}
          enterSends
          testId="chat-composer"
          onTyping={() => chat.sendTyping()}
          onSubmit={(body, giveBack) => {
            atBottom.current = true
            chat.send(body, giveBack)
          }}
        />
      ) : (
        <p class="muted small">Viewers cannot write in this workspace's chats.</p>
      )}
    </aside>
  )
}

function ChatMessage(props: { message: Comment; me: Person; workspace: number; canEdit: boolean; onSaved: (message: Comment) => void }) {
  const { message } = props
  const [editing, setEditing] = useState(false)
  const mine = message.author?.id === props.me.id
  return (
    <article class={`comment chat-message${mine ? ' mine' : ''}`} data-testid="chat-message" data-comment-id={String(message.id)}>
      <header class="comment-meta">
        <strong class="comment-author">{nameOf(message.author)}</strong>
        <time dateTime={message.created_at} title={new Date(message.created_at).toLocaleString()}>
          {shortTime(message.created_at)}
        </time>
        {message.edited_at && <span class="muted small">(edited)</span>}
        {mine && props.canEdit && !editing && (
          <button type="button" class="link-button small" onClick={() => setEditing(true)} aria-label="Edit your message">
            Edit
          </button>
        )}
      </header>
      {editing ? (
        <Composer
          label="Edit your message"
          placeholder="Message…"
          submitLabel="Save"
          workspace={props.workspace}
          initial={message.body}
          autoFocus
          onCancel={() => setEditing(false)}
          onSubmit={async (body, giveBack) => {
            try {
              props.onSaved(await api.editComment(message.id, body))
              setEditing(false)
              toast('Message saved.')
            } catch (error) {
              reportError(error)
              giveBack(body)
            }
          }}
        />
      ) : (
        <CommentBody body={message.body} known={message.mentions.map((person) => person.username)} />
      )}
    </article>
  )
}
