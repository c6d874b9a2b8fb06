// Who else is in this module, and which byte each has open (from the room's awareness).
import type { ByteEntry, Peer } from '../collab'

export interface Person {
  userId: number
  name: string
  color: string
  bytes: number[]
}

/** One entry per user (several tabs of one person show once). */
export function people(peers: Peer[]): Person[] {
  const byUser = new Map<number, Person>()
  for (const peer of peers) {
    const person = byUser.get(peer.userId) ?? { userId: peer.userId, name: peer.name, color: peer.color, bytes: [] }
    if (peer.byte !== null && !person.bytes.includes(peer.byte)) person.bytes.push(peer.byte)
    byUser.set(peer.userId, person)
  }
  return [...byUser.values()].sort((a, b) => a.name.localeCompare(b.name))
}

export function Avatar({ name, color, size = 'normal', detail }: { name: string; color: string; size?: 'normal' | 'small'; detail?: string }) {
  const label = detail ? `${name}, ${detail}` : name
  return (
    <span class={`avatar avatar-${size}`} style={{ backgroundColor: color }} title={label} aria-label={label} role="img" data-user={name}>
      {name.slice(0, 1).toUpperCase()}
    </span>
  )
}

export function PresenceBar({ peers, bytes }: { peers: Peer[]; bytes: ByteEntry[] }) {
  const everyone = people(peers)
  if (everyone.length === 0) return null
  const titleOf = (id: number): string => bytes.find((byte) => byte.id === id)?.title ?? 'a byte'
  return (
    <div class="presence" aria-label="People in this module">
      {everyone.slice(0, 6).map((person) => (
        <Avatar
          key={person.userId}
          name={person.name}
          color={person.color}
          detail={person.bytes.length ? `in ${person.bytes.map(titleOf).join(', ')}` : 'browsing the module'}
        />
      ))}
      {everyone.length > 6 && <span class="avatar avatar-more">+{everyone.length - 6}</span>}
    </div>
  )
}

/** Small avatars of the people who have `byteId` open. */
export function ByteReaders({ peers, byteId }: { peers: Peer[]; byteId: number }) {
  const here = people(peers).filter((person) => person.bytes.includes(byteId))
  if (!here.length) return null
  return (
    <span class="byte-readers">
      {here.map((person) => (
        <Avatar key={person.userId} name={person.name} color={person.color} size="small" detail="here" />
      ))}
    </span>
  )
}
