// The byte's title: live from the module's index, edited in place, saved on Enter or blur.
import { useRef, useState } from 'preact/hooks'

export function TitleField(props: { title: string; editable: boolean; onSave: (title: string) => Promise<void>; onDone: () => void }) {
  const [draft, setDraft] = useState<string | null>(null)
  const saving = useRef(false) // Enter saves and moves focus away, whose blur must not save again
  const commit = async (): Promise<void> => {
    const value = draft?.trim()
    if (saving.current) return
    if (value && value !== props.title) {
      saving.current = true
      try {
        await props.onSave(value)
      } catch {
        // the error is reported by onSave; fall back to the live title
      } finally {
        saving.current = false
      }
    }
    setDraft(null)
  }
  if (!props.editable) return <h1 class="byte-title">{props.title}</h1>
  return (
    <h1 class="byte-title">
      <input
        class="title-input"
        aria-label="Title"
        maxLength={200}
        value={draft ?? props.title}
        onFocus={() => setDraft(props.title)}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onBlur={() => void commit()}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault()
            void commit().then(props.onDone)
          } else if (e.key === 'Escape') {
            setDraft(null)
            props.onDone()
          }
        }}
      />
    </h1>
  )
}
