// Hocuspocus peer for the benchmark (run from bench/.cache/hocuspocus with Node 22):
//   node hocuspocus.mjs <port> [sqlite-file]
// With a file it stores documents with the official SQLite extension (its persistence run).
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const [port, database] = process.argv.slice(2)
const server = new Server({
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  extensions: database ? [new SQLite({ database })] : []
})
await server.listen()
console.log(`hocuspocus listening on ${port}`)
