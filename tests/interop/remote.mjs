// A stock Yjs client driven line by line on stdin, for tests that change the network under it
// (tests/test_weak_link.py runs it inside a network namespace). It connects, syncs, shows a
// presence, then answers commands, one JSON line each:
//   add PREFIX COUNT [CHARS]     add COUNT post-its with ids PREFIX-<k> (and CHARS random characters of text)
//   disconnect / connect         go offline (provider.disconnect()) / come back
//   wait PREFIX COUNT SECONDS    wait until it has COUNT post-its whose id starts with PREFIX
//   field ID NAME                the value of post-it ID's field NAME (null if absent)
//   until ID NAME VALUE SECONDS  wait until that field is at least VALUE; how long it took
//   watch ID NAME SECONDS        watch that field change for SECONDS: how often, the longest gap
//   state                        what it has: post-its, connected, synced, closes
//   quit                         leave politely and exit
// Usage: --url --board [--name Awa] [--sync-timeout 20]
import { createInterface } from 'node:readline'
import { randomBytes } from 'node:crypto'
import { run, num, emit, openClient, waitSynced, putNote, closeAll, countPrefix, sleep } from './lib.mjs'

function state (client) {
  return {
    notes: client.doc.getMap('notes').size,
    connected: client.provider.wsconnected,
    synced: client.provider.synced,
    closes: client.closes,
    bytesIn: client.bytesIn
  }
}

/** Poll until `predicate()` holds or `seconds` pass (no failure: the caller reports what is);
 * returns the milliseconds waited. */
async function pollFor (predicate, seconds) {
  const start = Date.now()
  while (!predicate() && Date.now() - start < seconds * 1000) await sleep(20)
  return Date.now() - start
}

/** Every change of a post-it's field for `seconds`: how many, and the longest time without one
 * (from the first change to the last): a smooth stream of moves, or jumps. */
async function watch (client, id, name, seconds) {
  const times = []
  let last = noteField(client, id, name)
  const seen = () => {
    const now = noteField(client, id, name)
    if (now !== last) { times.push(Date.now()); last = now }
  }
  client.doc.on('update', seen)
  await sleep(seconds * 1000)
  client.doc.off('update', seen)
  const gaps = times.slice(1).map((t, k) => t - times[k])
  return { changes: times.length, maxGapMs: gaps.length ? Math.max(...gaps) : null, value: last }
}

const noteField = (client, id, name) => client.doc.getMap('notes').get(id)?.get?.(name) ?? null

run(async opts => {
  const started = Date.now()
  const client = openClient(opts.url, opts.board)
  await waitSynced(client, num(opts['sync-timeout']) * 1000)
  client.awareness.setLocalStateField('user', { name: opts.name })
  emit({ event: 'synced', ms: Date.now() - started, ...state(client) })
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, ...args] = line.trim().split(/\s+/)
    if (command === 'add') {
      const [prefix, count, chars] = [args[0], num(args[1]), num(args[2] ?? 0)]
      const text = k => `${prefix} ${k} — ɛ ɔ ɲ ŋ ` + randomBytes(chars).toString('base64').slice(0, chars)
      for (let k = 0; k < count; k++) putNote(client.doc, `${prefix}-${k}`, { text: text(k), x: k, y: 2 })
      emit({ event: 'added', ...state(client) })
    } else if (command === 'disconnect') {
      client.provider.disconnect()
      emit({ event: 'disconnected', ...state(client) })
    } else if (command === 'connect') {
      client.provider.connect()
      emit({ event: 'connecting', ...state(client) })
    } else if (command === 'wait') {
      const [prefix, count, seconds] = [args[0], num(args[1]), num(args[2])]
      await pollFor(() => countPrefix(client.doc, prefix) >= count, seconds)
      emit({ event: 'seen', prefix, count: countPrefix(client.doc, prefix), ...state(client) })
    } else if (command === 'until') {
      const [id, name, value, seconds] = [args[0], args[1], num(args[2]), num(args[3])]
      const ms = await pollFor(() => noteField(client, id, name) >= value, seconds)
      emit({ event: 'until', value: noteField(client, id, name), ms, ...state(client) })
    } else if (command === 'watch') {
      const [id, name, seconds] = [args[0], args[1], num(args[2])]
      emit({ event: 'watching' })
      emit({ event: 'watched', ...await watch(client, id, name, seconds) })
    } else if (command === 'field') {
      emit({ event: 'field', value: noteField(client, args[0], args[1]) })
    } else if (command === 'state') {
      emit({ event: 'state', ...state(client) })
    } else if (command === 'quit') {
      break
    } else {
      emit({ event: 'error', error: `unknown command ${command}` })
    }
  }
  const final = state(client)
  closeAll([client])
  return final
}, { name: { type: 'string', default: 'Awa (Diéma)' }, 'sync-timeout': { type: 'string', default: '20' } })
