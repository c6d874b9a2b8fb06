// Small hooks that connect Preact components to the live room and to the REST API.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'

import type * as Y from 'yjs'

import type { ByteEntry, ModuleRoom, Peer, RoomStatus } from './collab'

export function useRoomStatus(room: ModuleRoom | null): RoomStatus | null {
  const [status, setStatus] = useState(room?.getStatus() ?? null)
  useEffect(() => {
    if (!room) return setStatus(null)
    setStatus(room.getStatus())
    return room.subscribe(() => setStatus(room.getStatus()))
  }, [room])
  return status
}

/** The module's bytes, live from its document's index. */
export function useRoomBytes(room: ModuleRoom | null): ByteEntry[] {
  const [bytes, setBytes] = useState<ByteEntry[]>([])
  useEffect(() => {
    if (!room) return setBytes([])
    const update = (): void => setBytes(room.bytes())
    update()
    room.index.observe(update)
    return () => room.index.unobserve(update)
  }, [room])
  return bytes
}

export function usePeers(room: ModuleRoom | null): Peer[] {
  const [peers, setPeers] = useState<Peer[]>([])
  useEffect(() => {
    if (!room) return setPeers([])
    const awareness = room.provider.awareness
    const update = (): void => setPeers(room.peers())
    update()
    awareness.on('change', update)
    return () => awareness.off('change', update)
  }, [room])
  return peers
}

type Loadable<T> = { state: 'loading' } | { state: 'ready'; value: T } | { state: 'error'; error: Error }

/** Run `load` whenever `deps` change; results of superseded runs are dropped. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' })
  const [tick, setTick] = useState(0)
  const run = useRef(0)
  useEffect(() => {
    const id = ++run.current
    load().then(
      (value) => id === run.current && setResult({ state: 'ready', value }),
      (error: Error) => id === run.current && setResult({ state: 'error', error }),
    )
  }, [...deps, tick])
  return [result, () => setTick((n) => n + 1)]
}

/** Calls `handler` for key presses outside text fields (and for Mod-k anywhere). */
export function useShortcut(handler: (event: KeyboardEvent) => void): void {
  const latest = useRef(handler)
  latest.current = handler
  // A layout effect: attached before the page paints. Preact runs plain effects a frame later,
  // so a key pressed as soon as the page shows was missed (seen in CI's browser tests).
  useLayoutEffect(() => {
    const listener = (event: KeyboardEvent): void => latest.current(event)
    window.addEventListener('keydown', listener)
    return () => window.removeEventListener('keydown', listener)
  }, [])
}

export const isTyping = (event: KeyboardEvent): boolean => {
  const target = event.target as HTMLElement | null
  return !!target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
}

/** A shared text's current value, updated as anyone edits it (at most every 200 ms). */
export function useLiveText(text: Y.Text): string {
  const [value, setValue] = useState(() => text.toString())
  useEffect(() => {
    setValue(text.toString())
    let timer = 0
    const changed = (): void => {
      if (!timer) timer = window.setTimeout(() => ((timer = 0), setValue(text.toString())), 200)
    }
    text.observe(changed)
    return () => {
      clearTimeout(timer)
      text.unobserve(changed)
    }
  }, [text])
  return value
}
