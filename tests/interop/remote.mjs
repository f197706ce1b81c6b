// A stock Yjs client driven line by line on stdin, for tests that change the network under it
// (tests/test_weak_link.py runs it inside a network namespace). It connects, syncs, shows a
// presence, then answers commands, one JSON line each:
//   add PREFIX COUNT [CHARS]     add COUNT post-its with ids PREFIX-<k> (and CHARS random characters of text)
//   disconnect / connect         go offline (provider.disconnect()) / come back
//   wait PREFIX COUNT SECONDS    wait until it has COUNT post-its whose id starts with PREFIX
//   field ID NAME                the value of post-it ID's field NAME (null if absent)
//   until ID NAME VALUE SECONDS  wait until that field is at least VALUE; how long it took
//   state                        what it has: post-its, connected, synced, closes
//   quit                         leave politely and exit
// Usage: --url --board [--name Awa] [--sync-timeout 20]
import { createInterface } from 'node:readline'
import { randomBytes } from 'node:crypto'
import { run, num, emit, openClient, waitSynced, putNote, closeAll } from './lib.mjs'

const countPrefix = (doc, prefix) => [...doc.getMap('notes').keys()].filter(id => id.startsWith(prefix)).length

function state (client) {
  return {
    notes: client.doc.getMap('notes').size,
    connected: client.provider.wsconnected,
    synced: client.provider.synced,
    closes: client.closes,
    bytesIn: client.bytesIn
  }
}

async function waitPrefix (client, prefix, count, seconds) {
  const deadline = Date.now() + seconds * 1000
  while (countPrefix(client.doc, prefix) < count && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return countPrefix(client.doc, prefix)
}

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
      const seen = await waitPrefix(client, args[0], num(args[1]), num(args[2]))
      emit({ event: 'seen', prefix: args[0], count: seen, ...state(client) })
    } else if (command === 'until') {
      const [id, name, value, seconds] = [args[0], args[1], num(args[2]), num(args[3])]
      const field = () => client.doc.getMap('notes').get(id)?.get?.(name) ?? null
      const start = Date.now()
      while (!(field() >= value) && Date.now() - start < seconds * 1000) await new Promise(resolve => setTimeout(resolve, 20))
      emit({ event: 'until', value: field(), ms: Date.now() - start, ...state(client) })
    } else if (command === 'field') {
      const note = client.doc.getMap('notes').get(args[0])
      emit({ event: 'field', value: note?.get?.(args[1]) ?? null })
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
