// Thread anchors: a passage of a byte's text as a pair of Yjs relative positions, which follow
// the text as anyone edits it. The end sticks to the character before it (assoc -1), so text
// typed right after the passage is not absorbed into it.
import * as Y from 'yjs'

import type { Anchor } from './types'

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (char) => char.charCodeAt(0))

export const MAX_QUOTE = 500

/** The anchor of text[from, to) (a selection in the editor), ready to send. */
export function makeAnchor(text: Y.Text, from: number, to: number): { start: string; end: string; quote: string } {
  const start = Y.createRelativePositionFromTypeIndex(text, from)
  const end = Y.createRelativePositionFromTypeIndex(text, to, -1)
  return {
    start: toBase64(Y.encodeRelativePosition(start)),
    end: toBase64(Y.encodeRelativePosition(end)),
    quote: text.toString().slice(from, to).slice(0, MAX_QUOTE),
  }
}

/** Where an anchor is now: a range, "detached" (its passage was deleted), or unknown (the
 * document does not hold its text yet: the server's word stands). */
export type Placement = { state: 'placed'; from: number; to: number; quote: string } | { state: 'detached' } | { state: 'unknown' }

function absolute(encoded: string, text: Y.Text): number | null {
  try {
    const position = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(encoded)), text.doc!)
    return position && position.type === text ? position.index : null
  } catch {
    return null
  }
}

export function place(anchor: Anchor, text: Y.Text): Placement {
  if (!text.doc) return { state: 'unknown' }
  const from = absolute(anchor.start, text)
  const to = absolute(anchor.end, text)
  if (from === null || to === null) return anchor.detached ? { state: 'detached' } : { state: 'unknown' }
  if (from >= to) return { state: 'detached' }
  return { state: 'placed', from, to, quote: text.toString().slice(from, to) }
}
