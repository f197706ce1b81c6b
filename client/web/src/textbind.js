// Two-way binding between a <textarea>/<input> and a Y.Text.
// Local edits become a minimal delete+insert (common prefix/suffix diff), so concurrent
// typing by several people merges character by character; remote edits keep the caret
// in place by mapping it through the change's delta.

const ORIGIN = Symbol('textbind')

export function diff (a, b) {
  let s = 0
  const min = Math.min(a.length, b.length)
  while (s < min && a.charCodeAt(s) === b.charCodeAt(s)) s++
  let e = 0
  while (e < min - s && a.charCodeAt(a.length - 1 - e) === b.charCodeAt(b.length - 1 - e)) e++
  return { index: s, remove: a.length - s - e, insert: b.slice(s, b.length - e) }
}

function mapPos (pos, delta) {
  let i = 0
  for (const op of delta) {
    if (op.retain !== undefined) i += op.retain
    else if (op.insert !== undefined) { const n = op.insert.length; if (i <= pos) pos += n; i += n } else if (op.delete !== undefined) {
      if (i < pos) pos -= Math.min(op.delete, pos - i)
    }
    if (i > pos) break
  }
  return pos
}

/** Bind; returns an unbind function. */
export function bindText (field, ytext) {
  let known = ytext.toString()
  field.value = known
  const onInput = () => {
    if (field.value === known) return
    const d = diff(known, field.value)
    known = field.value
    ytext.doc.transact(() => {
      if (d.remove) ytext.delete(d.index, d.remove)
      if (d.insert) ytext.insert(d.index, d.insert)
    }, ORIGIN)
  }
  const onChange = (ev, tr) => {
    if (tr.origin === ORIGIN) return
    const text = ytext.toString()
    if (text === field.value) { known = text; return }
    const focused = document.activeElement === field
    const s = field.selectionStart; const e = field.selectionEnd
    // pending local input not yet diffed: flush it first so nothing typed is lost
    if (field.value !== known) onInput()
    known = ytext.toString()
    field.value = known
    if (focused) field.setSelectionRange(mapPos(s, ev.delta), mapPos(e, ev.delta))
  }
  field.addEventListener('input', onInput)
  ytext.observe(onChange)
  return () => { field.removeEventListener('input', onInput); ytext.unobserve(onChange) }
}
