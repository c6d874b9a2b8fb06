// A byte's tags as removable chips, plus a field to add one (Enter or comma).
import { useState } from 'preact/hooks'

export function TagEditor(props: { tags: string[]; editable: boolean; onChange: (tags: string[]) => Promise<void> }) {
  const [draft, setDraft] = useState('')
  const add = async (): Promise<void> => {
    const names = draft
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name && !props.tags.includes(name))
    setDraft('')
    if (names.length) await props.onChange([...props.tags, ...names])
  }
  return (
    <div class="tags" aria-label="Tags">
      {props.tags.map((tag) => (
        <span class="tag" key={tag}>
          #{tag}
          {props.editable && (
            <button type="button" class="tag-remove" aria-label={`Remove tag ${tag}`} onClick={() => props.onChange(props.tags.filter((t) => t !== tag))}>
              ×
            </button>
          )}
        </span>
      ))}
      {props.editable && (
        <input
          class="tag-input"
          aria-label="Add a tag"
          placeholder={props.tags.length ? 'add tag' : 'add a tag'}
          value={draft}
          maxLength={50}
          onInput={(e) => {
            const value = e.currentTarget.value
            if (value.endsWith(',')) {
              setDraft(value)
              void add()
            } else setDraft(value)
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault()
              void add()
            } else if (e.key === 'Backspace' && !draft && props.tags.length) {
              void props.onChange(props.tags.slice(0, -1))
            }
          }}
          onBlur={() => draft.trim() && void add()}
        />
      )}
    </div>
  )
}
