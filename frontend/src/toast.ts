// Short messages at the bottom of the screen (errors from the API, confirmations).
export interface Toast {
  id: number
  text: string
  kind: 'info' | 'error'
}

let next = 1
let toasts: Toast[] = []
const listeners = new Set<(toasts: Toast[]) => void>()

export function toast(text: string, kind: Toast['kind'] = 'info'): void {
  const item = { id: next++, text, kind }
  toasts = [...toasts, item]
  listeners.forEach((listener) => listener(toasts))
  setTimeout(() => dismiss(item.id), kind === 'error' ? 8000 : 4000)
}

export function dismiss(id: number): void {
  toasts = toasts.filter((item) => item.id !== id)
  listeners.forEach((listener) => listener(toasts))
}

export function subscribeToasts(listener: (toasts: Toast[]) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Show an API failure (or anything thrown) as an error toast. */
export const reportError = (error: unknown): void =>
  toast(error instanceof Error ? error.message : String(error), 'error')
