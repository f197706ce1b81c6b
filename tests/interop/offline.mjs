// Scenario (c): a client goes offline (provider.disconnect()), edits while the others edit too,
// reconnects (provider.connect()) and all converge. Reports the payload bytes the reconnecting
// client received, next to the size of the whole board, so a caller can check that catching up
// costs the missing bytes only. Usage: --url --board [--notes 5] [--text-kb 16]
import { run, num, openSynced, closeAll, putNote, moveNote, waitConverged, waitFor, newId, countPrefix, Y } from './lib.mjs'

run(async opts => {
  const notes = num(opts.notes)
  const clients = await openSynced(opts.url, opts.board, 3)
  const [away, b, c] = clients
  putNote(away.doc, 'big', { text: 'y'.repeat(num(opts['text-kb']) * 1024), x: 0, y: 0 })
  await waitConverged(clients, { what: 'the big note to reach everyone', extra: () => clients.every(cl => cl.doc.getMap('notes').has('big')) })

  away.provider.disconnect()
  await waitFor(() => !away.provider.wsconnected, { what: 'the client to go offline' })
  for (let k = 0; k < notes; k++) {
    putNote(away.doc, newId('offline'), { text: `written offline ${k}`, x: k, y: 0 })
    putNote(b.doc, newId('online-b'), { text: `written online ${k}`, x: k, y: 1 })
  }
  away.doc.getMap('notes').get('big').get('text').insert(0, 'OFFLINE ')
  moveNote(c.doc, 'big', 500, 600)
  await waitConverged([b, c], { what: 'the online clients to converge', extra: () => countPrefix(c.doc, 'online-b') === notes })
  const offlineLeaked = countPrefix(b.doc, 'offline') > 0

  const bytesBefore = away.bytesIn
  away.provider.connect()
  const total = 1 + 2 * notes
  await waitConverged(clients, {
    what: 'everyone to converge after the reconnect',
    extra: () => clients.every(cl => cl.doc.getMap('notes').size === total) && away.doc.getMap('notes').get('big').get('x') === 500
  })
  const big = b.doc.getMap('notes').get('big')
  const result = {
    notes: b.doc.getMap('notes').size,
    offlineNotesAtOthers: countPrefix(b.doc, 'offline'),
    onlineNotesAtReconnected: countPrefix(away.doc, 'online-b'),
    bigTextStart: big.get('text').toString().slice(0, 8),
    bigPosition: [big.get('x'), big.get('y')],
    offlineLeaked,
    reconnectBytes: away.bytesIn - bytesBefore,
    boardBytes: Y.encodeStateAsUpdate(away.doc).length
  }
  closeAll(clients)
  return result
}, { notes: { type: 'string', default: '5' }, 'text-kb': { type: 'string', default: '16' } })
