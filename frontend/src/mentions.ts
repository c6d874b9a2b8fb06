// `@username` in plain text, found the way the server finds them (discussions/mentions.py): not
// after a word character, '@' or '.', so e-mail addresses do not count; a trailing '.' ends a
// sentence, not the name.
const MENTION = /(?<![\p{L}\p{N}_@.])@([\p{L}\p{N}_.+-]{1,150})/gu

export type Piece = { text: string } | { mention: string; text: string }

/** The text cut into plain runs and mentions (kept as text: never parsed as HTML). */
export function splitMentions(body: string): Piece[] {
  const pieces: Piece[] = []
  let at = 0
  for (const match of body.matchAll(MENTION)) {
    const name = match[1].replace(/\.+$/, '')
    if (!name) continue
    const start = match.index ?? 0
    if (start > at) pieces.push({ text: body.slice(at, start) })
    pieces.push({ mention: name, text: `@${name}` })
    at = start + 1 + name.length
  }
  if (at < body.length) pieces.push({ text: body.slice(at) })
  return pieces
}

/** The name being typed right before the caret ("@bo|" -> "bo"), for suggestions. */
export function mentionAtCaret(value: string, caret: number): { name: string; start: number } | null {
  const match = /(?<![\p{L}\p{N}_@.])@([\p{L}\p{N}_.+-]{0,150})$/u.exec(value.slice(0, caret))
  return match ? { name: match[1], start: match.index } : null
}
