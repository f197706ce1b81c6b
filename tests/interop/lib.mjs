// Shared helpers for the interop scripts: stock Yjs clients (yjs + y-websocket + ws) against a
// y-websocket server. Every script prints one JSON object on its last stdout line, exits 0 on
// success and non-zero on failure, and bounds its own run time (--timeout seconds).
import { parseArgs } from 'node:util'
import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

export { Y }

// Every WebsocketProvider adds a process 'exit' listener; many clients in one process are normal here.
process.setMaxListeners(0)

const COMMON_OPTIONS = {
  url: { type: 'string' }, // ws://HOST:PORT/ws (env PALABRE_URL)
  board: { type: 'string' }, // board id (env PALABRE_BOARD)
  timeout: { type: 'string', default: '30' } // whole-script bound, seconds
}

/** Parse the common options plus the script's own; numbers stay strings (use num()). */
export function cliOptions (extra = {}) {
  const { values } = parseArgs({ options: { ...COMMON_OPTIONS, ...extra }, strict: true })
  const url = values.url ?? process.env.PALABRE_URL
  const board = values.board ?? process.env.PALABRE_BOARD
  if (!url || !board) throw new Error('usage: --url ws://HOST:PORT/ws --board BOARD (or PALABRE_URL/PALABRE_BOARD)')
  return { ...values, url, board, timeout: num(values.timeout) }
}

export function num (value) {
  const n = Number(value)
  if (!Number.isFinite(n)) throw new Error(`not a number: ${value}`)
  return n
}

export function emit (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
}

/** Print the final JSON line and exit once it is written (a pipe is asynchronous in Node). */
function finish (result, code) {
  process.exitCode = code
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code))
}

function fail (error, code = 1) {
  finish({ ok: false, error: String(error?.message ?? error), details: error?.details ?? null }, code)
}

/**
 * Run a script's main(opts): print {ok: true, ...result} and exit 0, or {ok: false, error}
 * and exit 1; exit 2 when the whole run exceeds --timeout. Never hangs.
 */
export function run (main, extraOptions = {}) {
  let opts
  try {
    opts = cliOptions(extraOptions)
  } catch (error) {
    fail(error, 64)
    return
  }
  setTimeout(() => fail(new Error(`script timed out after ${opts.timeout} s`), 2), opts.timeout * 1000)
  main(opts).then(result => finish({ ok: true, ...result }, 0), error => fail(error))
}

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Poll predicate() until true; throw after timeoutMs with `what` and state() as details. */
export async function waitFor (predicate, { what, timeoutMs = 10000, state = () => null, everyMs = 10 }) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) {
      const error = new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      error.details = state()
      throw error
    }
    await sleep(everyMs)
  }
}

export const newId = (prefix = 'n') => `${prefix}-${randomUUID().slice(0, 8)}`

/**
 * A stock Yjs client: its own Y.Doc and WebsocketProvider. BroadcastChannel is off so that
 * clients in one process talk only through the server. `bytesIn`/`framesIn` count what it received.
 */
export function openClient (url, board, { connect = true } = {}) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, board, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    connect
  })
  const client = { doc, provider, awareness: provider.awareness, bytesIn: 0, framesIn: 0, closes: [] }
  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      provider.ws.on('message', data => {
        client.bytesIn += data.byteLength
        client.framesIn++
      })
    }
  })
  provider.on('connection-close', event => client.closes.push(event ? { code: event.code, reason: event.reason } : null))
  return client
}

export async function waitSynced (client, timeoutMs = 10000) {
  await waitFor(() => client.provider.synced, {
    what: `sync with ${client.provider.url}`,
    timeoutMs,
    state: () => ({ wsconnected: client.provider.wsconnected, closes: client.closes })
  })
}

export async function openSynced (url, board, count = 1, timeoutMs = 10000) {
  const clients = Array.from({ length: count }, () => openClient(url, board))
  await Promise.all(clients.map(client => waitSynced(client, timeoutMs)))
  return clients
}

/** Close sockets the polite way (the client sends its awareness removal first). */
export function closeAll (clients) {
  for (const client of clients) client.provider.destroy()
}

/**
 * Drop the connection without any goodbye (no awareness removal, no close frame), as a
 * crashed browser tab or a cut network would: only the server can tell the others.
 */
export function dropConnection (client) {
  client.provider.shouldConnect = false
  client.provider.ws?.terminate()
}

// ---- board content (schema 1: notes/<id> = Map {text: Text, x, y, ...}) ----

export function putNote (doc, id, { text = '', x = 0, y = 0, ...fields } = {}) {
  doc.transact(() => {
    const note = new Y.Map()
    doc.getMap('notes').set(id, note)
    note.set('text', new Y.Text(text))
    note.set('x', x)
    note.set('y', y)
    for (const [key, value] of Object.entries(fields)) note.set(key, value)
  })
}

export function moveNote (doc, id, x, y) {
  const note = doc.getMap('notes').get(id)
  doc.transact(() => {
    note.set('x', x)
    note.set('y', y)
  })
}

export const notesJson = doc => doc.getMap('notes').toJSON()

/** How many post-its have an id starting with `prefix`. */
export const countPrefix = (doc, prefix) => [...doc.getMap('notes').keys()].filter(id => id.startsWith(prefix)).length

/** JSON of the given roots with object keys sorted, so equal documents give equal strings. */
export function canonical (doc, roots = ['notes', 'strokes']) {
  const sortKeys = value => {
    if (Array.isArray(value)) return value.map(sortKeys)
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map(key => [key, sortKeys(value[key])]))
    }
    return value
  }
  return JSON.stringify(Object.fromEntries(roots.map(root => [root, sortKeys(doc.getMap(root).toJSON())])))
}

export function allEqual (clients, roots) {
  const first = canonical(clients[0].doc, roots)
  return clients.every(client => canonical(client.doc, roots) === first)
}

export async function waitConverged (clients, { timeoutMs = 10000, roots, extra = () => true, what = 'convergence' } = {}) {
  await waitFor(() => extra() && allEqual(clients, roots), {
    what,
    timeoutMs,
    state: () => clients.map(client => JSON.parse(canonical(client.doc, roots)))
  })
}

/** Ids of awareness states (other than its own) a client currently sees, with their user field. */
export function remotePresence (client) {
  const own = client.doc.clientID
  return [...client.awareness.getStates()].filter(([id]) => id !== own).map(([id, state]) => ({ id, user: state.user ?? null }))
}
