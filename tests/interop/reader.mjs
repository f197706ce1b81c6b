// Reader: connects, waits for the sync (and, with --min-notes, for at least that many notes),
// lets the board settle, and prints the board's `notes` map as JSON.
// Usage: --url --board [--min-notes 0] [--settle-ms 300]
import { run, num, openSynced, closeAll, notesJson, waitFor, sleep } from './lib.mjs'

async function waitSettled (doc, settleMs) {
  let last = -1
  while (doc.getMap('notes').size !== last) {
    last = doc.getMap('notes').size
    await sleep(settleMs)
  }
}

run(async opts => {
  const [reader] = await openSynced(opts.url, opts.board, 1)
  const notes = reader.doc.getMap('notes')
  await waitFor(() => notes.size >= num(opts['min-notes']), { what: `at least ${opts['min-notes']} notes`, timeoutMs: 10000, state: () => ({ notes: notes.size }) })
  await waitSettled(reader.doc, num(opts['settle-ms']))
  const result = { count: notes.size, notes: notesJson(reader.doc) }
  closeAll([reader])
  return result
}, { 'min-notes': { type: 'string', default: '0' }, 'settle-ms': { type: 'string', default: '300' } })
