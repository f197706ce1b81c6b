// Scenario: what a stock client compresses. Palabre negotiates permessage-deflate with
// client_no_context_takeover, so `ws` applies its 1 KiB threshold: a post-it move goes out
// plain, a large edit compressed. Records the RSV1 bit of every binary frame the client sends
// (by wrapping ws's Sender.frame) and checks a second client received both edits.
// Usage: --url --board
import { Sender } from 'ws'
import { run, openSynced, closeAll, putNote, waitConverged, sleep } from './lib.mjs'

const sent = []
const frame = Sender.frame
Sender.frame = (data, options) => {
  if (options.opcode === 2) sent.push({ compressed: Boolean(options.rsv1), bytes: data.length })
  return frame(data, options)
}

run(async opts => {
  const [writer, reader] = await openSynced(opts.url, opts.board, 2)
  putNote(writer.doc, 'big', { text: 'x', x: 0, y: 0 })
  await waitConverged([writer, reader], { what: 'the note to reach the reader' })
  await sleep(50)
  const mark = sent.length
  writer.doc.getMap('notes').get('big').set('x', 12) // a move: a few dozen bytes
  await waitConverged([writer, reader], { what: 'the move to reach the reader' })
  const move = sent.slice(mark)
  const text = Array.from({ length: 400 }, (_, i) => `Idée ${i} : mobiliser les bénévoles de Diéma et d'Évry. `).join('')
  const mark2 = sent.length
  writer.doc.getMap('notes').get('big').get('text').insert(0, text) // ~20 KB of text
  await waitConverged([writer, reader], { what: 'the large edit to reach the reader' })
  const large = sent.slice(mark2)
  const params = writer.provider.ws?._extensions?.['permessage-deflate']?.params ?? null
  closeAll([writer, reader])
  if (move.length === 0 || move.some(f => f.compressed)) throw new Error(`the move was compressed: ${JSON.stringify(move)}`)
  if (large.length === 0 || !large.some(f => f.compressed)) throw new Error(`the large edit was not compressed: ${JSON.stringify(large)}`)
  return { move, large, textBytes: Buffer.byteLength(text), params }
})
