// Scenario (b): two clients fill a board, converge and leave; a client joining afterwards gets
// the full board from the server alone. Usage: --url --board [--notes 20] [--text-kb 8]
import { run, num, openSynced, openClient, waitSynced, closeAll, putNote, waitConverged, waitFor, canonical, newId } from './lib.mjs'

run(async opts => {
  const notes = num(opts.notes)
  const [a, b] = await openSynced(opts.url, opts.board, 2)
  for (let k = 0; k < notes; k++) putNote((k % 2 ? b : a).doc, newId(`early${k % 2}`), { text: `early note ${k}`, x: k, y: 2 * k })
  putNote(a.doc, 'long', { text: 'x'.repeat(num(opts['text-kb']) * 1024) })
  await waitConverged([a, b], { what: 'the two early clients to converge', extra: () => a.doc.getMap('notes').size === notes + 1 })
  const expected = canonical(a.doc)
  closeAll([a, b])

  const late = openClient(opts.url, opts.board)
  await waitSynced(late)
  const completeAtSync = canonical(late.doc) === expected
  await waitFor(() => canonical(late.doc) === expected, {
    what: 'the late joiner to hold the whole board',
    state: () => ({ lateNotes: late.doc.getMap('notes').size, expectedNotes: notes + 1 })
  })
  const result = { notes: late.doc.getMap('notes').size, longText: late.doc.getMap('notes').get('long').get('text').length, completeAtSync, bytesIn: late.bytesIn }
  closeAll([late])
  return result
}, { notes: { type: 'string', default: '20' }, 'text-kb': { type: 'string', default: '8' } })
