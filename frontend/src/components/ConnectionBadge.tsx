// The connection state, always visible: saved (the server confirmed storing every edit),
// saving, reconnecting, offline, or closed for good.
import type { RoomStatus } from '../collab'

export function describe(status: RoomStatus, writable: boolean): { text: string; detail: string } {
  // `unsaved` counts document transactions (roughly keystrokes), not something to show a person.
  const kept = status.unsaved > 0 ? 'Your latest edits are kept on this device until the server has them.' : ''
  switch (status.connection) {
    case 'connecting':
      return { text: 'Connecting…', detail: 'Opening the live connection.' }
    case 'saving':
      return { text: 'Saving…', detail: 'Waiting for the server to store your latest edits.' }
    case 'saved':
      return writable
        ? { text: 'Saved', detail: 'Connected. Every edit is stored on the server.' }
        : { text: 'Live', detail: 'Connected. You see changes as they happen (read-only).' }
    case 'reconnecting':
      return { text: 'Reconnecting…', detail: kept || 'The connection dropped; trying again.' }
    case 'offline':
      return { text: status.unsaved > 0 ? 'Offline · edits kept' : 'Offline', detail: kept || 'No network. Edits you make are kept and sent when you are back.' }
    case 'closed':
      return { text: 'Disconnected', detail: status.closedReason ?? 'The server closed the connection.' }
  }
}

export function ConnectionBadge({ status, writable }: { status: RoomStatus | null; writable: boolean }) {
  if (!status) return null
  const { text, detail } = describe(status, writable)
  return (
    <div class={`connection connection-${status.connection}`} role="status" aria-live="polite" data-state={status.connection} title={detail}>
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-text">{text}</span>
      <span class="visually-hidden">{detail}</span>
    </div>
  )
}
