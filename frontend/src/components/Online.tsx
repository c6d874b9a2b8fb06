// Who is online in the workspace, from the presence notices of the live channel.
import { useEffect, useState } from 'preact/hooks'

import { channel } from '../discuss'
import type { Person } from '../types'

/** A stable colour per person (the same hue everywhere they appear). */
export function colorOf(name: string): string {
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) | 0
  return `hsl(${Math.abs(hash) % 360} 55% 45%)`
}

export function useOnline(workspace: number): Person[] {
  const [online, setOnline] = useState<Person[]>(() => channel.presence.online(workspace))
  useEffect(() => {
    const update = (): void => setOnline(channel.presence.online(workspace))
    update()
    const stop = channel.listen(update)
    // Presence expires without a message (a tab that vanished): look again now and then.
    const timer = window.setInterval(update, 10_000)
    return () => {
      stop()
      clearInterval(timer)
    }
  }, [workspace])
  return online
}

export function OnlineUsers({ workspace, me }: { workspace: number; me: Person }) {
  const others = useOnline(workspace)
  // The server tells the others about this tab, not this tab itself: connected, you are online.
  const online = channel.state === 'open' && !others.some((person) => person.id === me.id) ? [...others, { id: me.id, username: me.username }].sort((a, b) => a.username.localeCompare(b.username)) : others
  if (!online.length) return null
  return (
    <section class="online" aria-label="Online in this workspace" data-testid="online-users">
      <h2>Online</h2>
      <ul>
        {online.map((person) => (
          <li key={person.id} data-user={person.username}>
            <span class="avatar avatar-small" style={{ backgroundColor: colorOf(person.username) }} aria-hidden="true">
              {person.username.slice(0, 1).toUpperCase()}
            </span>
            <span class="online-name">
              {person.username}
              {person.id === me.id && <span class="muted"> (you)</span>}
            </span>
          </li>
        ))}
      </ul>
    </section>
  )
}
