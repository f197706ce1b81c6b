// Scenario (a): three clients edit one board at the same time and converge: each adds its own
// post-its, all type into one shared post-it's Y.Text, push points into one shared Y.Array and
// set the same key (a last-writer-wins conflict). Usage: --url --board [--clients 3] [--notes 5]
import { run, num, openSynced, closeAll, putNote, waitConverged, newId, Y, canonical } from './lib.mjs'

const SHARED_NOTE = 'shared'
const SHARED_STROKE = 'shared-stroke'

function createShared (doc) {
  putNote(doc, SHARED_NOTE, { text: 'Palabre', x: 0, y: 0 })
  doc.transact(() => {
    const stroke = new Y.Map()
    doc.getMap('strokes').set(SHARED_STROKE, stroke)
    stroke.set('points', new Y.Array())
    stroke.set('color', '#000000')
  })
}

function editConcurrently (client, index, notes) {
  const doc = client.doc
  for (let k = 0; k < notes; k++) putNote(doc, newId(`c${index}`), { text: `note ${k} from client ${index}`, x: 10 * k, y: 100 * index })
  const shared = doc.getMap('notes').get(SHARED_NOTE)
  shared.get('text').insert(0, `<${index}>`)
  shared.get('text').insert(shared.get('text').length, `[${index}]`)
  shared.set('color', `#00000${index}`)
  const points = doc.getMap('strokes').get(SHARED_STROKE).get('points')
  for (let k = 0; k < notes; k++) points.push([index, k])
}

function sharedText (doc) {
  return doc.getMap('notes').get(SHARED_NOTE)?.get('text')?.toString() ?? ''
}

run(async opts => {
  const count = num(opts.clients)
  const notes = num(opts.notes)
  const clients = await openSynced(opts.url, opts.board, count)
  createShared(clients[0].doc)
  await waitConverged(clients, { what: 'the shared note and stroke to reach everyone', extra: () => clients.every(c => c.doc.getMap('notes').has(SHARED_NOTE)) })

  // No await between these: every client edits before any remote update is processed.
  clients.forEach((client, index) => editConcurrently(client, index, notes))

  const first = clients[0].doc
  const complete = () => first.getMap('notes').size === 1 + count * notes &&
    first.getMap('strokes').get(SHARED_STROKE).get('points').length === 2 * count * notes &&
    clients.every((_, i) => sharedText(first).includes(`<${i}>`) && sharedText(first).includes(`[${i}]`))
  await waitConverged(clients, { what: 'all concurrent edits on every client', extra: complete })
  const result = {
    clients: count,
    notes: first.getMap('notes').size,
    points: first.getMap('strokes').get(SHARED_STROKE).get('points').length,
    sharedText: sharedText(first),
    sharedColor: first.getMap('notes').get(SHARED_NOTE).get('color'),
    identical: clients.every(c => canonical(c.doc) === canonical(first))
  }
  closeAll(clients)
  return result
}, { clients: { type: 'string', default: '3' }, notes: { type: 'string', default: '5' } })
