// Editor: a writer client sets notes/<id> = {text, x, y} N times (optionally --interval ms
// apart); an observer client on its own connection confirms each edit when the server relays
// it. Prints the confirmed edits (id -> {text, x, y}): an edit is listed only once another client
// has received it from the server. With --allow-partial the run ends without failing when the
// connection drops (e.g. the server was killed) and lists what had been confirmed by then.
// A {"writing": true} line comes first, when both clients are synced.
// Usage: --url --board [--count 20] [--interval 0] [--prefix e] [--allow-partial]
import { run, num, emit, openSynced, closeAll, putNote, waitFor, notesJson, sleep } from './lib.mjs'

const editFor = (k) => ({ text: `edit ${k} — palabre`, x: k, y: 2 * k })

function confirmedEdits (observer, sent) {
  const seen = notesJson(observer.doc)
  const same = (note, edit) => note && note.text === edit.text && note.x === edit.x && note.y === edit.y
  return Object.fromEntries(Object.entries(sent).filter(([id, edit]) => same(seen[id], edit)))
}

run(async opts => {
  const count = num(opts.count)
  const interval = num(opts.interval)
  const allowPartial = opts['allow-partial']
  const [writer, observer] = await openSynced(opts.url, opts.board, 2)
  const dropped = () => writer.closes.length > 0 || observer.closes.length > 0
  const sent = {}
  emit({ writing: true }) // progress line, so a caller can time a crash while edits stream
  for (let k = 0; k < count && !(allowPartial && dropped()); k++) {
    const id = `${opts.prefix}-${k}`
    sent[id] = editFor(k)
    putNote(writer.doc, id, sent[id])
    if (interval > 0) await sleep(interval)
  }
  const allConfirmed = () => Object.keys(confirmedEdits(observer, sent)).length === Object.keys(sent).length
  if (allowPartial) {
    await waitFor(() => allConfirmed() || dropped(), { what: 'confirmation or a dropped connection', timeoutMs: 10000 })
  } else {
    await waitFor(allConfirmed, {
      what: `the observer to confirm all ${count} edits`,
      timeoutMs: 10000,
      state: () => ({ confirmed: Object.keys(confirmedEdits(observer, sent)).length, closes: [writer.closes, observer.closes] })
    })
  }
  const confirmed = confirmedEdits(observer, sent)
  const result = { sent: Object.keys(sent).length, confirmedCount: Object.keys(confirmed).length, dropped: dropped(), confirmed }
  closeAll([writer, observer])
  return result
}, {
  count: { type: 'string', default: '20' },
  interval: { type: 'string', default: '0' },
  prefix: { type: 'string', default: 'e' },
  'allow-partial': { type: 'boolean', default: false }
})
