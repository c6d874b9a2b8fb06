// Rooms outlive the page that opened them until their edits are stored: leaving a module
// while "saving" must not drop the connection that is about to confirm those edits.
import { ModuleRoom, storageName } from './collab'

const open = new Map<number, { room: ModuleRoom; users: number }>()

export function acquireRoom(moduleId: number, options: { userId: number; createdAt: string; writable: boolean }): ModuleRoom {
  const held = open.get(moduleId)
  if (held) {
    held.users += 1
    return held.room
  }
  // Viewers never change the document, so they keep no offline copy.
  const name = options.writable ? storageName(options.userId, moduleId, options.createdAt) : null
  const room = new ModuleRoom(moduleId, { storageName: name })
  open.set(moduleId, { room, users: 1 })
  return room
}

export function releaseRoom(room: ModuleRoom): void {
  const held = open.get(room.moduleId)
  if (!held || held.room !== room) return
  held.users -= 1
  if (held.users > 0) return
  const close = (): void => {
    const current = open.get(room.moduleId)
    if (current && current.room === room && current.users === 0) {
      open.delete(room.moduleId)
      room.destroy()
    }
  }
  const status = room.getStatus()
  if (status.unsaved === 0 || status.connection === 'closed') {
    close()
    return
  }
  const stop = room.subscribe(() => {
    const now = room.getStatus()
    if (now.unsaved === 0 || now.connection === 'closed') {
      stop()
      close()
    }
  })
}

/** Local edits not yet stored, over every room still open (for the leave-page warning). */
export function unsavedEverywhere(): number {
  let total = 0
  open.forEach(({ room }) => {
    total += room.getStatus().unsaved
  })
  return total
}

window.addEventListener('beforeunload', (event) => {
  if (unsavedEverywhere() > 0) {
    event.preventDefault()
    event.returnValue = '' // older browsers need it set to show the prompt
  }
})

/** Close every room at once (sign-out). */
export function closeAllRooms(): void {
  open.forEach(({ room }) => room.destroy())
  open.clear()
}
