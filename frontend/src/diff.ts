// Line diff between two texts, shown as unified-diff hunks. Computed here rather than taken
// from /revisions/{id}/diff/, because that endpoint runs lines together when a text does not
// end with a newline (see the report), and because here "current" is the live text.

export interface DiffLine {
  kind: 'same' | 'add' | 'del' | 'gap'
  text: string
}

/** Longest-common-subsequence line diff; bytes are short, so O(n·m) is fine. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n')
  const b = after.split('\n')
  // Trim the common head and tail first: most edits touch a few lines in the middle.
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const midA = a.slice(head, a.length - tail)
  const midB = b.slice(head, b.length - tail)
  const n = midA.length
  const m = midB.length
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const lines: DiffLine[] = a.slice(0, head).map((text) => ({ kind: 'same', text }))
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      lines.push({ kind: 'same', text: midA[i] })
      i++
      j++
    } else if (j < m && (i === n || lcs[i][j + 1] > lcs[i + 1][j])) {
      lines.push({ kind: 'add', text: midB[j++] })
    } else {
      lines.push({ kind: 'del', text: midA[i++] })
    }
  }
  lines.push(...a.slice(a.length - tail).map((text): DiffLine => ({ kind: 'same', text })))
  return lines
}

/** Only the changed lines with `context` lines around them; skipped runs become a gap. */
export function hunks(lines: DiffLine[], context = 3): DiffLine[] {
  const keep = new Array<boolean>(lines.length).fill(false)
  lines.forEach((line, index) => {
    if (line.kind === 'same') return
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = true
  })
  const out: DiffLine[] = []
  lines.forEach((line, index) => {
    if (keep[index]) out.push(line)
    else if (out.length === 0 || out[out.length - 1].kind !== 'gap') out.push({ kind: 'gap', text: '⋯' })
  })
  if (out.length && out[out.length - 1].kind === 'gap' && !keep[lines.length - 1]) out.pop()
  if (out.length && out[0].kind === 'gap') out.shift()
  return out
}
