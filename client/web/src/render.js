// Rendering: the board's zones, groups, notes, actors, links and strokes as DOM/SVG in one
// transformed "world" layer (1 board unit = 1 CSS px at zoom 1). Renders are batched on
// animation frames and only touch the DOM where something changed.

import { h, siteColor } from './util.js'
import { t } from './i18n.js'
import { bindText } from './textbind.js'
import { FUNCTIONS } from './board.js'

const FN_SHORT = { decision: 'D', animation: 'A', programmation: 'P', 'mise-en-oeuvre': 'M' }
const FN_COLOR = { decision: '#b71c1c', animation: '#0d47a1', programmation: '#1b5e20', 'mise-en-oeuvre': '#e65100' }
const SVGNS = 'http://www.w3.org/2000/svg'

function setStyle (el, key, v) { if (el.style[key] !== v) el.style[key] = v }
function setAttr (el, k, v) { if (el.getAttribute(k) !== String(v)) el.setAttribute(k, v) }
function setText (el, v) { if (el.textContent !== v) el.textContent = v }

export function createRenderer (app) {
  const { board } = app
  const root = app.el.board
  const world = h('div', { class: 'world' })
  const zonesL = h('div', { class: 'layer zones' })
  const groupsL = h('div', { class: 'layer groups' })
  const ink = document.createElementNS(SVGNS, 'svg')
  ink.setAttribute('class', 'layer ink')
  ink.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#37474f"/></marker></defs>'
  const strokesG = document.createElementNS(SVGNS, 'g')
  const linksG = document.createElementNS(SVGNS, 'g')
  const liveG = document.createElementNS(SVGNS, 'g')
  ink.append(strokesG, linksG, liveG)
  const itemsL = h('div', { class: 'layer items' })
  const cursorsL = h('div', { class: 'layer cursors', 'aria-hidden': 'true' })
  world.append(zonesL, groupsL, ink, itemsL, cursorsL)
  root.append(world)

  const els = { zone: new Map(), group: new Map(), note: new Map(), actor: new Map(), link: new Map(), stroke: new Map() }
  let queued = false

  function schedule () {
    if (queued) return
    queued = true
    requestAnimationFrame(() => { queued = false; render() })
  }

  function applyView () {
    const v = app.view
    world.style.transform = `translate(${v.x}px,${v.y}px) scale(${v.z})`
    root.style.setProperty('--zoom', v.z)
    root.style.backgroundPosition = `${v.x}px ${v.y}px`
    root.style.backgroundSize = `${40 * v.z}px ${40 * v.z}px`
  }

  /** Where an item is shown: local drag, then someone else's live drag, then the doc. */
  function shown (id, x, y, w, hh) {
    const d = app.localDrag.get(id) || app.remoteDrag.get(id)
    if (d) return { x: d.x, y: d.y, w: d.w ?? w, h: d.h ?? hh, live: !app.localDrag.has(id) }
    return { x, y, w, h: hh, live: false }
  }

  function reconcile (kind, ids, create, update) {
    const m = els[kind]
    for (const [id, e] of m) if (!ids.has(id)) { e._unbind && e._unbind(); e.remove(); m.delete(id) }
    for (const id of ids) {
      let e = m.get(id)
      if (!e) { e = create(id); if (!e) continue; m.set(id, e) }
      update(id, e)
    }
  }

  function renderZones () {
    const list = board.zoneList()
    const ids = new Set(list.map((z) => z.id))
    const byId = new Map(list.map((z) => [z.id, z]))
    reconcile('zone', ids, (id) => {
      const e = h('div', { class: 'zone', 'data-id': id }, h('div', { class: 'zone-title' }))
      zonesL.append(e)
      return e
    }, (id, e) => {
      const z = byId.get(id)
      setStyle(e, 'transform', `translate(${z.x}px,${z.y}px)`)
      setStyle(e, 'width', z.w + 'px'); setStyle(e, 'height', z.h + 'px')
      setStyle(e, 'background', z.color)
      setAttr(e, 'data-kind', z.kind)
      const cur = board.meta.get('phase')
      e.classList.toggle('current-phase', !!z.phase && z.phase === cur)
      setText(e.firstChild, z.title)
    })
  }

  function renderNotes () {
    const ids = new Set()
    const notes = new Map()
    board.notes.forEach((_, id) => { const n = board.note(id); if (n) { ids.add(id); notes.set(id, n) } })
    reconcile('note', ids, (id) => {
      const ta = h('textarea', { 'aria-label': t('noteText'), spellcheck: 'false', tabindex: '-1' })
      const e = h('div', { class: 'note', 'data-id': id, tabindex: '0', role: 'group' },
        ta,
        h('div', { class: 'note-foot' }, h('span', { class: 'note-author' }), h('span', { class: 'note-code' })),
        h('button', { class: 'note-votes', tabindex: '-1', type: 'button' }),
        h('div', { class: 'resize', 'aria-hidden': 'true' }))
      e._ta = ta
      ta.addEventListener('blur', () => { e.classList.remove('editing'); if (app.editing === id) app.editing = null })
      itemsL.append(e)
      return e
    }, (id, e) => {
      const n = notes.get(id)
      if (n.ytext && e._ytext !== n.ytext) { e._unbind && e._unbind(); e._unbind = bindText(e._ta, n.ytext); e._ytext = n.ytext }
      if (!n.ytext && e._ta.value !== n.text) { e._ta.value = n.text; e._ta.readOnly = true }
      const p = shown(id, n.x, n.y, n.w, n.h)
      setStyle(e, 'transform', `translate(${p.x}px,${p.y}px)`)
      setStyle(e, 'width', p.w + 'px'); setStyle(e, 'height', p.h + 'px')
      setStyle(e, 'background', n.color)
      setAttr(e, 'data-x', n.x); setAttr(e, 'data-y', n.y)
      setAttr(e, 'data-zone', n.zone); setAttr(e, 'data-group', n.group)
      e.classList.toggle('live', p.live)
      e.classList.toggle('selected', app.selection.has(id))
      setAttr(e, 'aria-label', `${t('note')} : ${n.text.slice(0, 80) || t('emptyNote')}`)
      const who = [n.site, n.author].filter(Boolean).join(' · ')
      setText(e.querySelector('.note-author'), who)
      setText(e.querySelector('.note-code'), n.code)
      const total = board.votesFor(id)
      const mine = board.myVotes(app.voter, id)
      const vb = e.querySelector('.note-votes')
      setText(vb, total ? '●'.repeat(Math.min(total, 5)) + (total > 5 ? ' ' + total : '') : '')
      vb.hidden = !total && app.tool !== 'vote'
      if (!total && app.tool === 'vote') setText(vb, '+')
      setAttr(vb, 'aria-label', `${total} ${t('votes')}`)
      setAttr(vb, 'data-votes', total)
      vb.classList.toggle('mine', mine > 0)
    })
    return notes
  }

  function renderGroups (notes) {
    const boxes = new Map()
    for (const n of notes.values()) {
      if (!n.group || !board.groups.has(n.group)) continue
      const p = shown(n.id, n.x, n.y, n.w, n.h)
      const b = boxes.get(n.group) || { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity, n: 0 }
      b.x0 = Math.min(b.x0, p.x); b.y0 = Math.min(b.y0, p.y); b.x1 = Math.max(b.x1, p.x + p.w); b.y1 = Math.max(b.y1, p.y + p.h); b.n++
      boxes.set(n.group, b)
    }
    reconcile('group', new Set(boxes.keys()), (id) => {
      const g = board.groups.get(id)
      const title = g.get('title')
      const input = h('input', { class: 'group-title', 'aria-label': t('groupTitle'), 'data-group': id })
      const e = h('div', { class: 'group', 'data-id': id }, input)
      if (title && title.toString && title.observe) e._unbind = bindText(input, title)
      else input.value = String(title || '')
      groupsL.append(e)
      return e
    }, (id, e) => {
      const b = boxes.get(id)
      const pad = 14
      setStyle(e, 'transform', `translate(${b.x0 - pad}px,${b.y0 - pad - 26}px)`)
      setStyle(e, 'width', (b.x1 - b.x0 + 2 * pad) + 'px'); setStyle(e, 'height', (b.y1 - b.y0 + 2 * pad + 26) + 'px')
      const g = board.groups.get(id)
      setStyle(e, 'borderColor', (g && typeof g.get('color') === 'string') ? g.get('color') : '#455a64')
      e.classList.toggle('selected', app.selection.has(id))
    })
  }

  function renderActors () {
    const ids = new Set(); const actors = new Map()
    board.actors.forEach((_, id) => { const a = board.actor(id); if (a) { ids.add(id); actors.set(id, a) } })
    reconcile('actor', ids, (id) => {
      const e = h('div', { class: 'actor', 'data-id': id, tabindex: '0', role: 'group' },
        h('div', { class: 'actor-label' }), h('div', { class: 'actor-sub' }), h('div', { class: 'badges' }))
      itemsL.append(e)
      return e
    }, (id, e) => {
      const a = actors.get(id)
      const p = shown(id, a.x, a.y, 140, 60)
      setStyle(e, 'transform', `translate(${p.x}px,${p.y}px)`)
      setAttr(e, 'data-x', a.x); setAttr(e, 'data-y', a.y)
      e.classList.toggle('live', p.live)
      e.classList.toggle('selected', app.selection.has(id))
      e.classList.toggle('link-start', app.linkFrom === id)
      setText(e.firstChild, a.label || '…')
      setText(e.children[1], [a.kind && a.kind !== 'autre' ? a.kind : '', a.site, a.country].filter(Boolean).join(' · '))
      setStyle(e, 'borderColor', a.site ? siteColor(a.site) : '#546e7a')
      const key = a.functions.join(',')
      if (e._fn !== key) {
        e._fn = key
        const badges = e.querySelector('.badges'); badges.textContent = ''
        for (const f of FUNCTIONS) {
          if (!a.functions.includes(f)) continue
          badges.append(h('span', { class: 'badge', 'data-fn': f, title: t(f), style: `background:${FN_COLOR[f]}` }, FN_SHORT[f], h('span', { class: 'sr' }, ' ' + t(f))))
        }
      }
      setAttr(e, 'aria-label', `${t('actor')} : ${a.label} — ${a.functions.map(t).join(', ')}`)
    })
    return actors
  }

  function center (id) {
    const a = board.actor(id)
    if (!a) return null
    const p = shown(id, a.x, a.y, 140, 60)
    const el = els.actor.get(id)
    const w = el ? el.offsetWidth || 140 : 140; const hh = el ? el.offsetHeight || 60 : 60
    return { x: p.x + w / 2, y: p.y + hh / 2, w, h: hh }
  }

  // Where the segment from the centre of box a towards point b leaves the box.
  function edgePoint (a, b) {
    const dx = b.x - a.x; const dy = b.y - a.y
    if (!dx && !dy) return a
    const s = Math.min(Math.abs((a.w / 2 + 4) / (dx || 1e-9)), Math.abs((a.h / 2 + 4) / (dy || 1e-9)))
    return { x: a.x + dx * s, y: a.y + dy * s }
  }

  function renderLinks () {
    const ids = new Set(); const links = new Map()
    board.links.forEach((_, id) => { const l = board.link(id); if (l && board.actors.has(l.from) && board.actors.has(l.to)) { ids.add(id); links.set(id, l) } })
    reconcile('link', ids, (id) => {
      const g = document.createElementNS(SVGNS, 'g')
      g.setAttribute('class', 'link'); g.setAttribute('data-id', id)
      const hit = document.createElementNS(SVGNS, 'line'); hit.setAttribute('class', 'hit')
      const line = document.createElementNS(SVGNS, 'line'); line.setAttribute('class', 'line')
      const text = document.createElementNS(SVGNS, 'text')
      g.append(hit, line, text)
      linksG.append(g)
      return g
    }, (id, g) => {
      const l = links.get(id)
      const a = center(l.from); const b = center(l.to)
      if (!a || !b) return
      const p = edgePoint(a, b); const q = edgePoint(b, a)
      for (const ln of [g.children[0], g.children[1]]) { setAttr(ln, 'x1', p.x); setAttr(ln, 'y1', p.y); setAttr(ln, 'x2', q.x); setAttr(ln, 'y2', q.y) }
      if (l.directed) g.children[1].setAttribute('marker-end', 'url(#arrow)'); else g.children[1].removeAttribute('marker-end')
      setAttr(g, 'data-kind', l.kind)
      g.classList.toggle('selected', app.selection.has(id))
      const text = g.children[2]
      setAttr(text, 'x', (p.x + q.x) / 2); setAttr(text, 'y', (p.y + q.y) / 2 - 6)
      setText(text, [l.label, l.kind && l.kind !== 'information' ? `(${l.kind})` : ''].filter(Boolean).join(' '))
    })
  }

  function renderStrokes () {
    const ids = new Set(); const strokes = new Map()
    board.strokes.forEach((_, id) => { const s = board.stroke(id); if (s) { ids.add(id); strokes.set(id, s) } })
    reconcile('stroke', ids, (id) => {
      const p = document.createElementNS(SVGNS, 'polyline')
      p.setAttribute('class', 'stroke'); p.setAttribute('data-id', id)
      strokesG.append(p)
      return p
    }, (id, p) => {
      const s = strokes.get(id)
      const pts = []
      for (let i = 0; i + 1 < s.points.length; i += 2) pts.push(s.points[i] + ',' + s.points[i + 1])
      setAttr(p, 'points', pts.join(' '))
      setAttr(p, 'stroke', s.color); setAttr(p, 'stroke-width', s.width)
      p.classList.toggle('selected', app.selection.has(id))
    })
  }

  function render () {
    applyView()
    renderZones()
    const notes = renderNotes()
    renderGroups(notes)
    renderActors()
    renderLinks()
    renderStrokes()
    root.classList.toggle('mode-gov', app.mode === 'gov')
    root.dataset.tool = app.tool
    app.afterRender && app.afterRender()
  }

  /** The live stroke being drawn (not in the doc until pointerup). */
  function liveStroke (points) {
    liveG.textContent = ''
    if (!points) return
    const p = document.createElementNS(SVGNS, 'polyline')
    p.setAttribute('class', 'stroke live')
    const pts = []
    for (let i = 0; i + 1 < points.length; i += 2) pts.push(points[i] + ',' + points[i + 1])
    p.setAttribute('points', pts.join(' '))
    liveG.append(p)
  }

  /** Bounding box of all content, for "fit". */
  function bounds () {
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity
    const add = (x, y, w, hh) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + hh) }
    for (const z of board.zoneList()) add(z.x, z.y, z.w, z.h)
    board.notes.forEach((_, id) => { const n = board.note(id); if (n) add(n.x, n.y, n.w, n.h) })
    board.actors.forEach((_, id) => { const a = board.actor(id); if (a) add(a.x, a.y, 140, 60) })
    return x0 === Infinity ? null : { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
  }

  return { schedule, render, applyView, els, cursorsL, liveStroke, bounds }
}
