// Pieces shared by threads and the chat: a comment's text with its @mentions, the composer
// (with @name suggestions from the workspace's members), and "bob is typing…".
import { useEffect, useRef, useState } from 'preact/hooks'

import { api } from '../api'
import type { Typist } from '../conversation'
import { mentionAtCaret, splitMentions } from '../mentions'
import type { Member } from '../types'

export const MAX_BODY = 5000

/** A comment body as plain text (never HTML), mentions highlighted. */
export function CommentBody({ body, known }: { body: string; known?: string[] }) {
  return (
    <p class="comment-body" data-testid="comment-body">
      {splitMentions(body).map((piece, i) =>
        'mention' in piece && (!known || known.includes(piece.mention)) ? (
          <span key={i} class="mention" data-mention={piece.mention}>
            {piece.text}
          </span>
        ) : (
          piece.text
        ),
      )}
    </p>
  )
}

const memberLists = new Map<number, Promise<Member[]>>()

/** The workspace's members (for @suggestions), fetched once per page. */
export function useMembers(workspace: number): Member[] {
  const [members, setMembers] = useState<Member[]>([])
  useEffect(() => {
    let list = memberLists.get(workspace)
    if (!list) {
      list = api.members(workspace).catch(() => {
        memberLists.delete(workspace)
        return []
      })
      memberLists.set(workspace, list)
    }
    let stale = false
    void list.then((found) => !stale && setMembers(found))
    return () => {
      stale = true
    }
  }, [workspace])
  return members
}

interface ComposerProps {
  label: string
  placeholder: string
  submitLabel: string
  workspace: number
  /** Enter sends (chat); otherwise Ctrl/Cmd+Enter sends and Enter is a new line. */
  enterSends?: boolean
  initial?: string
  autoFocus?: boolean
  testId?: string
  /** Lines shown before the text grows (default: 1 when Enter sends, else 2). */
  rows?: number
  /** Send the text; call `giveBack` if the server refuses it, to put it back in the box. */
  onSubmit: (body: string, giveBack: (body: string) => void) => void | Promise<void>
  onTyping?: () => void
  onCancel?: () => void
}

export function Composer(props: ComposerProps) {
  const [value, setValue] = useState(props.initial ?? '')
  const [suggesting, setSuggesting] = useState<{ name: string; start: number } | null>(null)
  const [choice, setChoice] = useState(0)
  const box = useRef<HTMLTextAreaElement>(null)
  const members = useMembers(props.workspace)
  const alive = useRef(true)
  useEffect(
    () => () => {
      alive.current = false
    },
    [],
  )
  useEffect(() => {
    if (props.autoFocus) box.current?.focus()
  }, [])

  const matches = suggesting
    ? members.filter((member) => member.username.toLowerCase().startsWith(suggesting.name.toLowerCase())).slice(0, 6)
    : []

  const submit = async (): Promise<void> => {
    const body = value.trim()
    if (!body) return
    setValue('')
    setSuggesting(null)
    await props.onSubmit(body, (refused) => {
      if (alive.current) setValue((now) => (now.trim() ? now : refused))
    })
  }

  const insert = (member: Member): void => {
    const area = box.current
    if (!area || !suggesting) return
    const caret = area.selectionStart
    const next = `${value.slice(0, suggesting.start)}@${member.username} ${value.slice(caret)}`
    setValue(next)
    setSuggesting(null)
    const at = suggesting.start + member.username.length + 2
    requestAnimationFrame(() => area.setSelectionRange(at, at))
  }

  const onKeyDown = (event: KeyboardEvent): void => {
    if (matches.length) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault()
        setChoice((choice + (event.key === 'ArrowDown' ? 1 : -1) + matches.length) % matches.length)
        return
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault()
        insert(matches[Math.min(choice, matches.length - 1)])
        return
      }
      if (event.key === 'Escape') {
        event.stopPropagation()
        setSuggesting(null)
        return
      }
    }
    if (event.key === 'Escape' && props.onCancel) {
      event.stopPropagation()
      props.onCancel()
    } else if (event.key === 'Enter' && !event.shiftKey && (props.enterSends || event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      void submit()
    }
  }

  const over = value.length > MAX_BODY
  return (
    <form
      class="composer"
      data-testid={props.testId}
      onSubmit={(event) => {
        event.preventDefault()
        void submit()
      }}
    >
      <textarea
        ref={box}
        aria-label={props.label}
        placeholder={props.placeholder}
        rows={props.rows ?? (props.enterSends ? 1 : 2)}
        value={value}
        onInput={(event) => {
          const area = event.currentTarget
          setValue(area.value)
          setSuggesting(mentionAtCaret(area.value, area.selectionStart))
          setChoice(0)
          if (area.value.trim()) props.onTyping?.()
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => alive.current && setSuggesting(null), 150)}
      />
      {matches.length > 0 && (
        <ul class="mention-suggestions" role="listbox" aria-label="People to mention">
          {matches.map((member, i) => (
            <li
              key={member.username}
              role="option"
              aria-selected={i === choice}
              class={i === choice ? 'active' : ''}
              onMouseDown={(event) => {
                event.preventDefault()
                insert(member)
              }}
            >
              @{member.username}
            </li>
          ))}
        </ul>
      )}
      <div class="composer-actions">
        {over && (
          <span class="small form-error" role="alert">
            {value.length} / {MAX_BODY} characters
          </span>
        )}
        {props.onCancel && (
          <button type="button" class="small" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" class="primary small" disabled={!value.trim()}>
          {props.submitLabel}
        </button>
      </div>
    </form>
  )
}

/** "bob is typing…" for the people typing here. */
export function TypingLine({ typists }: { typists: Typist[] }) {
  if (!typists.length) return <p class="typing" aria-live="polite" data-testid="typing" />
  const names = typists.map((typist) => typist.user.username)
  const who = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  return (
    <p class="typing" aria-live="polite" data-testid="typing">
      {who} {names.length === 1 ? 'is' : 'are'} typing…
    </p>
  )
}

export function shortTime(iso: string): string {
  const date = new Date(iso)
  const today = new Date().toDateString() === date.toDateString()
  return today ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })
}
