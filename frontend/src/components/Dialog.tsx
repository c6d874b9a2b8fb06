// Modal dialogs on the native <dialog> element: focus moves in, Escape closes, focus returns.
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    const opener = document.activeElement as HTMLElement | null
    dialog?.showModal()
    return () => {
      dialog?.close()
      opener?.focus?.()
    }
  }, [])
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-label={props.title}
      onCancel={(event) => {
        event.preventDefault()
        props.onClose()
      }}
    >
      <h2>{props.title}</h2>
      {props.children}
    </dialog>
  )
}

export function PromptDialog(props: {
  title: string
  label: string
  initial?: string
  submitLabel: string
  onSubmit: (value: string) => Promise<void> | void
  onClose: () => void
}) {
  const [value, setValue] = useState(props.initial ?? '')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault()
    if (!value.trim()) return
    setBusy(true)
    try {
      await props.onSubmit(value.trim())
      props.onClose()
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught))
      setBusy(false)
    }
  }
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          {props.label}
          <input
            autoFocus
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy || !value.trim()}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

export function ConfirmDialog(props: {
  title: string
  message: string
  confirmLabel: string
  danger?: boolean
  onConfirm: () => Promise<void> | void
  onClose: () => void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const confirm = async (): Promise<void> => {
    setBusy(true)
    try {
      await props.onConfirm()
      props.onClose()
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught))
      setBusy(false)
    }
  }
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p>{props.message}</p>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={props.onClose} autoFocus>
          Cancel
        </button>
        <button class={props.danger ? 'danger' : 'primary'} type="button" disabled={busy} onClick={confirm}>
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  )
}

/** Pick one of `options` (e.g. a new parent module), shown as an indented list. */
export function ChoiceDialog(props: {
  title: string
  label: string
  options: { value: string; label: string; depth: number; disabled?: boolean }[]
  initial: string
  submitLabel: string
  onSubmit: (value: string) => Promise<void> | void
  onClose: () => void
}) {
  const [value, setValue] = useState(props.initial)
  const [error, setError] = useState<string | null>(null)
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault()
    try {
      await props.onSubmit(value)
      props.onClose()
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught))
    }
  }
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          {props.label}
          <select autoFocus value={value} onChange={(e) => setValue(e.currentTarget.value)}>
            {props.options.map((option) => (
              <option key={option.value} value={option.value} disabled={option.disabled}>
                {'\u00a0\u00a0'.repeat(option.depth) + option.label}
              </option>
            ))}
          </select>
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit">
            {props.submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
