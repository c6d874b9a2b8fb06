import { useEffect, useState } from 'preact/hooks'

import { dismiss, subscribeToasts, type Toast } from '../toast'

export function Toaster() {
  const [toasts, setToasts] = useState<Toast[]>([])
  useEffect(() => subscribeToasts(setToasts), [])
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((item) => (
        <div key={item.id} class={`toast toast-${item.kind}`}>
          <span>{item.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => dismiss(item.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
