// A stock Yjs client (yjs + y-websocket's WebsocketProvider + ws) driven by the interop tests.
// Usage: node yjs_client.mjs <serverUrl> <moduleId> <token> <byteId> <edits> <seed>
// It connects, waits for sync, makes <edits> random inserts and deletes in byte:<byteId>,
// then answers commands on stdin, one per line:
//   text   -> prints {"text": <current content>, "synced": bool}
//   state  -> prints {"state": <the whole document as a base64 Yjs update>}
//   quit   -> disconnects and exits
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const [serverUrl, moduleId, token, byteId, editsArg, seedArg] = process.argv.slice(2)
const edits = Number(editsArg)
let seed = Number(seedArg) || 1
const random = () => {
  // mulberry32: a small seeded PRNG, so a failing run can be replayed
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const doc = new Y.Doc()
const provider = new WebsocketProvider(serverUrl, moduleId, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token },
  disableBc: true
})
const text = doc.getText(`byte:${byteId}`)
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')

provider.on('connection-close', (event) => {
  if (event && event.code >= 4400 && event.code < 4500) say({ closed: event.code, reason: event.reason })
})

await new Promise((resolve) => provider.once('sync', (synced) => synced && resolve()))
say({ ready: true, text: text.toString() })

const alphabet = 'abcdefghij XYZ\né😀'
for (let i = 0; i < edits; i++) {
  const length = text.length
  if (length > 0 && random() < 0.35) {
    // Like an editor, never split a UTF-16 surrogate pair (Yjs and Yrs repair a split pair
    // differently: see README, "Known limitations")
    const current = text.toString()
    let at = Math.floor(random() * length)
    let end = Math.min(length, at + 1 + Math.floor(random() * 3))
    if (at > 0 && /[\uDC00-\uDFFF]/.test(current[at])) at -= 1
    if (end < length && /[\uDC00-\uDFFF]/.test(current[end])) end += 1
    text.delete(at, end - at)
  } else {
    const chars = Array.from(alphabet)
    const at = Math.floor(random() * (length + 1))
    // Yjs positions count UTF-16 units: never split a surrogate pair
    const before = text.toString().slice(0, at)
    const safe = /[\uD800-\uDBFF]$/.test(before) ? at - 1 : at
    text.insert(safe, chars[Math.floor(random() * chars.length)])
  }
  if (random() < 0.2) await new Promise((resolve) => setTimeout(resolve, 1))
}
say({ edited: edits })

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  if (line.trim() === 'text') say({ text: text.toString(), synced: provider.synced })
  if (line.trim() === 'state') say({ state: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64') })
  if (line.trim() === 'quit') break
}
provider.destroy()
doc.destroy()
process.exit(0)
