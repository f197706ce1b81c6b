// Load client for tests/benchmarks/fanout.py: hosts several stock Yjs clients (one Y.Doc and
// one WebsocketProvider each, BroadcastChannel off) in one Node process. Client g (global index)
// joins board `${board}-${floor(g / clientsPerBoard)}` and owns the post-it notes/c<g>.
//   1. connects every client, creates its post-it, prints {"ready": true};
//   2. waits for a "go" line on stdin, then each client moves its post-it `warmup` + `moves`
//      times at `rate` per second (phases staggered), stamping each move with seq and send time t;
//   3. every client records, for each remote move after the warm-up it observes,
//      latency = receive time - t (performance.timeOrigin + performance.now(): the same clock
//      in every process);
//   4. when every client has seen the last move of every other post-it in its board, or after
//      drain-ms, prints {"ok": true, sent, delivered, coalesced, latencies, ...}.
// Usage: --url ws://H:P/ws --board PREFIX --first G --count N --clients-per-board C
//        --rate 10 --warmup 20 --moves 150 --drain-ms 5000 [--timeout S]
import { createInterface } from 'node:readline'
import { run, num, emit, openClient, waitSynced, putNote, waitFor, sleep } from '../interop/lib.mjs'

const now = () => performance.timeOrigin + performance.now()

function waitForGo () {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin })
    let going = false
    lines.on('line', line => {
      if (line.trim() === 'go') { going = true; lines.close(); resolve() }
    })
    lines.on('close', () => { if (!going) reject(new Error('stdin closed before "go"')) })
  })
}

/** Count and time the remote moves after the warm-up a client observes; returns its stats. */
function track (client, ownId, warmup) {
  const stats = { delivered: 0, coalesced: 0, latencies: [], lastSeq: new Map() }
  const notes = client.doc.getMap('notes')
  notes.observeDeep((events, transaction) => {
    if (transaction.origin !== client.provider) return
    const at = now()
    const touched = new Set()
    for (const event of events) {
      if (event.target === notes) event.keysChanged.forEach(id => touched.add(id))
      else touched.add(event.path[0])
    }
    for (const id of touched) {
      const note = notes.get(id)
      const seq = note?.get('seq') ?? 0
      const previous = stats.lastSeq.get(id) ?? 0
      if (id === ownId || seq <= previous) continue
      stats.lastSeq.set(id, seq)
      if (seq <= warmup) continue
      const moves = seq - Math.max(previous, warmup)
      stats.delivered += moves
      stats.coalesced += moves - 1
      stats.latencies.push(Math.round((at - note.get('t')) * 100) / 100)
    }
  })
  return stats
}

async function moveLoop (client, id, { moves, periodMs, startAt }) {
  const note = client.doc.getMap('notes').get(id)
  const offset = Math.random() * periodMs
  for (let seq = 1; seq <= moves; seq++) {
    await sleep(startAt + offset + (seq - 1) * periodMs - now())
    client.doc.transact(() => {
      note.set('x', seq % 800)
      note.set('y', (seq * 7) % 600)
      note.set('t', now())
      note.set('seq', seq)
    })
  }
}

const sum = (items, key) => items.reduce((total, item) => total + item[key], 0)

run(async opts => {
  const [first, count, perBoard, moves, warmup] = ['first', 'count', 'clients-per-board', 'moves', 'warmup'].map(key => num(opts[key]))
  const periodMs = 1000 / num(opts.rate)
  const members = Array.from({ length: count }, (_, k) => {
    const g = first + k
    const client = openClient(opts.url, `${opts.board}-${Math.floor(g / perBoard)}`)
    return { client, id: `c${g}`, stats: track(client, `c${g}`, warmup) }
  })
  await Promise.all(members.map(m => waitSynced(m.client, 60000)))
  for (const m of members) putNote(m.client.doc, m.id, { text: m.id, x: 0, y: 0, t: now(), seq: 0 })
  emit({ ready: true, clients: count })

  await waitForGo()
  const startAt = now() + 100
  const measuredFrom = sleep(startAt + warmup * periodMs - now()).then(() => {
    for (const m of members) m.framesAtStart = m.client.framesIn
  })
  await Promise.all(members.map(m => moveLoop(m.client, m.id, { moves: warmup + moves, periodMs, startAt })))
  const allSeen = () => members.every(m => [...m.stats.lastSeq.values()].filter(seq => seq === warmup + moves).length === perBoard - 1)
  await waitFor(allSeen, { what: 'the last moves', timeoutMs: num(opts['drain-ms']) }).catch(() => {})
  await measuredFrom
  const stats = members.map(m => m.stats)
  const result = {
    clients: count,
    sent: count * moves,
    delivered: sum(stats, 'delivered'),
    coalesced: sum(stats, 'coalesced'),
    complete: allSeen(),
    reconnects: members.reduce((total, m) => total + m.client.closes.length, 0),
    framesIn: members.reduce((total, m) => total + m.client.framesIn - m.framesAtStart, 0),
    latencies: stats.flatMap(s => s.latencies)
  }
  for (const m of members) m.client.provider.destroy()
  return result
}, {
  first: { type: 'string', default: '0' },
  count: { type: 'string', default: '10' },
  'clients-per-board': { type: 'string', default: '30' },
  rate: { type: 'string', default: '10' },
  moves: { type: 'string', default: '150' },
  warmup: { type: 'string', default: '0' },
  'drain-ms': { type: 'string', default: '5000' }
})
