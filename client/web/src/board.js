// Board state: typed reads and edits of the schema-1 Y.Doc (see /work/shared/DESIGN.md and docs/app.md).
// Every edit is one Y transaction; numbers are JS numbers, ids random strings, times ISO strings.

import * as Y from 'yjs'
import { rid, nowIso, num, str, NOTE_COLORS } from './util.js'
import { t } from './i18n.js'

export const FUNCTIONS = ['decision', 'animation', 'programmation', 'mise-en-oeuvre']
export const LINK_KINDS = ['information', 'financement', 'decision', 'partenariat', 'appui', 'autre']
export const ACTOR_KINDS = ['collectivite', 'association', 'etat', 'ong', 'habitants', 'autre']
export const ORIGIN_LOCAL = 'palabre-app'

export class Board {
  constructor (doc) {
    this.doc = doc
    this.meta = doc.getMap('meta')
    this.zones = doc.getMap('zones')
    this.notes = doc.getMap('notes')
    this.groups = doc.getMap('groups')
    this.votes = doc.getMap('votes')
    this.actors = doc.getMap('actors')
    this.links = doc.getMap('links')
    this.strokes = doc.getMap('strokes')
    // Added by the app (not in schema 1's table, allowed as a new root): shared timer.
    this.session = doc.getMap('session')
  }

  tx (f) { this.doc.transact(f, ORIGIN_LOCAL) }

  get title () { return str(this.meta.get('title')) }
  get template () { return str(this.meta.get('template'), 'libre') }
  get budget () { return Math.max(0, Math.floor(num(this.meta.get('votes_per_person'), 0))) }

  /** Initialise a doc that has no meta.schema as a blank board (server without templates). */
  ensureInit (boardId, { template = 'libre', title = '', locale = 'fr' } = {}) {
    if (this.meta.get('schema') !== undefined) return false
    this.tx(() => {
      this.meta.set('schema', 1)
      this.meta.set('title', title || boardId)
      this.meta.set('template', template)
      this.meta.set('phase', '')
      this.meta.set('locale', locale)
      this.meta.set('created', nowIso())
      this.meta.set('votes_per_person', 5)
      if (this.zones.size === 0) for (const z of fallbackZones(template)) this.addZone(z)
    })
    return true
  }

  addZone ({ id = rid(), title, kind = 'column', x, y, w, h, color = '#f5f5f5', order = 0, phase }) {
    const z = new Y.Map()
    this.zones.set(id, z)
    z.set('title', title); z.set('kind', kind)
    z.set('x', x); z.set('y', y); z.set('w', w); z.set('h', h)
    z.set('color', color); z.set('order', order)
    if (phase) z.set('phase', phase)
    return id
  }

  zoneList () {
    const out = []
    this.zones.forEach((z, id) => {
      if (!(z instanceof Y.Map)) return
      const x = num(z.get('x')); const y = num(z.get('y')); const w = num(z.get('w')); const h = num(z.get('h'))
      if ([x, y, w, h].some((v) => v === undefined)) return
      const title = z.get('title')
      out.push({ id, x, y, w, h, title: title instanceof Y.Text ? title.toString() : str(title), kind: str(z.get('kind'), 'column'), color: str(z.get('color'), '#f5f5f5'), order: num(z.get('order'), 0), phase: str(z.get('phase')) })
    })
    return out.sort((a, b) => a.order - b.order)
  }

  /** Innermost zone containing the point (smallest area wins), or "". */
  zoneAt (x, y) {
    let best = ''; let area = Infinity
    for (const z of this.zoneList()) {
      if (x >= z.x && x <= z.x + z.w && y >= z.y && y <= z.y + z.h && z.w * z.h < area) { best = z.id; area = z.w * z.h }
    }
    return best
  }

  /** Function of a governance lane: the zone id or its title names one of FUNCTIONS. */
  laneFunction (zoneId) {
    if (!zoneId) return ''
    const z = this.zoneList().find((z) => z.id === zoneId)
    if (!z) return ''
    const norm = (s) => s.toLowerCase().replace(/œ/g, 'oe').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')
    for (const cand of [norm(z.id), norm(z.title)]) {
      for (const f of FUNCTIONS) if (cand === f || cand.startsWith(f + '-') || cand.endsWith('-' + f) || (f === 'decision' && cand.startsWith('prise-de-decision'))) return f
    }
    return ''
  }

  phases () {
    const seen = []
    for (const z of this.zoneList()) if (z.phase && !seen.includes(z.phase)) seen.push(z.phase)
    if (!seen.length && this.template === 'atelier-du-futur') seen.push('critique', 'utopie', 'realisation')
    const cur = str(this.meta.get('phase'))
    if (cur && !seen.includes(cur)) seen.push(cur)
    return seen
  }

  // ---- notes ---------------------------------------------------------------------------
  createNote ({ x, y, w = 160, h = 100, color = NOTE_COLORS[0], text = '', author = '', site = '' }) {
    const id = rid()
    this.tx(() => {
      const n = new Y.Map()
      this.notes.set(id, n)
      const yt = new Y.Text()
      if (text) yt.insert(0, text)
      n.set('text', yt)
      n.set('x', Math.round(x)); n.set('y', Math.round(y)); n.set('w', w); n.set('h', h)
      n.set('color', color)
      n.set('zone', this.zoneAt(x + w / 2, y + h / 2))
      n.set('group', '')
      n.set('author', author); n.set('site', site)
      n.set('created', nowIso())
    })
    return id
  }

  /** A readable note, or null when a field is missing or ill-typed (tolerant reader). */
  note (id) {
    const n = this.notes.get(id)
    if (!(n instanceof Y.Map)) return null
    const x = num(n.get('x')); const y = num(n.get('y'))
    if (x === undefined || y === undefined) return null
    const text = n.get('text')
    return {
      id, x, y, w: Math.max(40, num(n.get('w'), 160)), h: Math.max(30, num(n.get('h'), 100)),
      color: str(n.get('color'), '#fff59d'), zone: str(n.get('zone')), group: str(n.get('group')),
      author: str(n.get('author')), site: str(n.get('site')), code: str(n.get('code')),
      ytext: text instanceof Y.Text ? text : null,
      text: text instanceof Y.Text ? text.toString() : str(text),
    }
  }

  /** Commit positions once (on drop): [{id, x, y, w?, h?}] for notes and actors. */
  commitMoves (items) {
    this.tx(() => {
      for (const it of items) {
        const n = this.notes.get(it.id)
        if (n instanceof Y.Map) {
          if (it.w !== undefined) { n.set('w', Math.round(it.w)); n.set('h', Math.round(it.h)) }
          if (it.x !== num(n.get('x')) || it.y !== num(n.get('y'))) { n.set('x', Math.round(it.x)); n.set('y', Math.round(it.y)) }
          const w = num(n.get('w'), 160); const h = num(n.get('h'), 100)
          const zone = this.zoneAt(it.x + w / 2, it.y + h / 2)
          if (zone !== n.get('zone')) n.set('zone', zone)
          continue
        }
        const a = this.actors.get(it.id)
        if (a instanceof Y.Map) {
          const before = this.laneFunction(this.zoneAt(num(a.get('x'), 0) + 70, num(a.get('y'), 0) + 30))
          a.set('x', Math.round(it.x)); a.set('y', Math.round(it.y))
          const after = this.laneFunction(this.zoneAt(it.x + 70, it.y + 30))
          // Moving an actor from one function lane to another moves its badge with it.
          if (after && after !== before) {
            const fs = a.get('functions')
            if (fs instanceof Y.Array) {
              const arr = fs.toArray()
              const i = arr.indexOf(before)
              if (before && i >= 0) fs.delete(i, 1)
              if (!fs.toArray().includes(after)) fs.push([after])
            }
          }
        }
      }
    })
  }

  setField (map, id, key, value) {
    const m = this[map].get(id)
    if (m instanceof Y.Map && m.get(key) !== value) this.tx(() => m.set(key, value))
  }

  recolor (ids, color) {
    this.tx(() => {
      for (const id of ids) for (const map of ['notes', 'strokes', 'groups']) {
        const m = this[map].get(id)
        if (m instanceof Y.Map) m.set('color', color)
      }
    })
  }

  deleteItems (ids) {
    this.tx(() => {
      for (const id of ids) {
        if (this.notes.has(id)) { this.notes.delete(id); this.votes.delete(id) }
        if (this.actors.has(id)) {
          this.actors.delete(id)
          const dead = []
          this.links.forEach((l, lid) => { if (l instanceof Y.Map && (l.get('from') === id || l.get('to') === id)) dead.push(lid) })
          for (const lid of dead) this.links.delete(lid)
        }
        if (this.groups.has(id)) this.notes.forEach((n) => { if (n instanceof Y.Map && n.get('group') === id) n.set('group', '') })
        for (const map of ['links', 'strokes', 'groups']) if (this[map].has(id)) this[map].delete(id)
      }
      this.pruneGroups()
    })
  }

  // ---- groups (named clusters / SPIRAL criteria) ------------------------------------------
  groupNotes (ids) {
    const gid = rid()
    this.tx(() => {
      const g = new Y.Map()
      this.groups.set(gid, g)
      const title = new Y.Text(); title.insert(0, t('newGroup'))
      g.set('title', title)
      g.set('color', '#455a64')
      const first = this.note(ids[0])
      g.set('zone', first ? first.zone : '')
      for (const id of ids) { const n = this.notes.get(id); if (n instanceof Y.Map) n.set('group', gid) }
      this.pruneGroups()
    })
    return gid
  }

  ungroup (ids) {
    this.tx(() => {
      for (const id of ids) { const n = this.notes.get(id); if (n instanceof Y.Map && n.get('group')) n.set('group', '') }
      this.pruneGroups()
    })
  }

  pruneGroups () {
    const used = new Set()
    this.notes.forEach((n) => { if (n instanceof Y.Map && n.get('group')) used.add(n.get('group')) })
    for (const gid of [...this.groups.keys()]) if (!used.has(gid)) this.groups.delete(gid)
  }

  // ---- dot votes --------------------------------------------------------------------------
  votesFor (noteId) {
    const m = this.votes.get(noteId)
    let total = 0
    if (m instanceof Y.Map) m.forEach((v) => { total += Math.max(0, num(v, 0)) })
    return total
  }

  myVotes (voter, noteId) {
    const m = this.votes.get(noteId)
    return m instanceof Y.Map ? Math.max(0, num(m.get(voter), 0)) : 0
  }

  votesUsed (voter) {
    let used = 0
    this.votes.forEach((m, noteId) => { if (m instanceof Y.Map && this.notes.has(noteId)) used += Math.max(0, num(m.get(voter), 0)) })
    return used
  }

  /** +1 / -1 vote; refused (false) beyond the per-person budget. */
  vote (voter, noteId, delta) {
    const mine = this.myVotes(voter, noteId)
    if (delta > 0 && this.budget > 0 && this.votesUsed(voter) >= this.budget) return false
    if (delta < 0 && mine === 0) return false
    this.tx(() => {
      let m = this.votes.get(noteId)
      if (!(m instanceof Y.Map)) { m = new Y.Map(); this.votes.set(noteId, m) }
      const v = mine + delta
      if (v > 0) m.set(voter, v); else m.delete(voter)
    })
    return true
  }

  // ---- governance -------------------------------------------------------------------------
  createActor ({ x, y, label = '', site = '', country = '' }) {
    const id = rid()
    this.tx(() => {
      const a = new Y.Map()
      this.actors.set(id, a)
      a.set('label', label); a.set('kind', 'autre'); a.set('site', site); a.set('country', country)
      a.set('x', Math.round(x)); a.set('y', Math.round(y))
      const fs = new Y.Array()
      const f = this.laneFunction(this.zoneAt(x + 70, y + 30))
      if (f) fs.push([f])
      a.set('functions', fs)
    })
    return id
  }

  actor (id) {
    const a = this.actors.get(id)
    if (!(a instanceof Y.Map)) return null
    const x = num(a.get('x')); const y = num(a.get('y'))
    if (x === undefined || y === undefined) return null
    const fs = a.get('functions')
    return {
      id, x, y, label: str(a.get('label')), kind: str(a.get('kind')), site: str(a.get('site')), country: str(a.get('country')),
      functions: fs instanceof Y.Array ? fs.toArray().filter((f) => typeof f === 'string') : [],
    }
  }

  toggleFunction (id, f) {
    const a = this.actors.get(id)
    if (!(a instanceof Y.Map)) return
    this.tx(() => {
      let fs = a.get('functions')
      if (!(fs instanceof Y.Array)) { fs = new Y.Array(); a.set('functions', fs) }
      const i = fs.toArray().indexOf(f)
      if (i >= 0) fs.delete(i, 1); else fs.push([f])
    })
  }

  createLink (from, to) {
    const id = rid()
    this.tx(() => {
      const l = new Y.Map()
      this.links.set(id, l)
      l.set('from', from); l.set('to', to); l.set('label', ''); l.set('kind', 'information'); l.set('directed', true)
    })
    return id
  }

  link (id) {
    const l = this.links.get(id)
    if (!(l instanceof Y.Map)) return null
    const from = str(l.get('from')); const to = str(l.get('to'))
    if (!from || !to) return null
    return { id, from, to, label: str(l.get('label')), kind: str(l.get('kind')), directed: l.get('directed') !== false }
  }

  reverseLink (id) {
    const l = this.links.get(id)
    if (l instanceof Y.Map) this.tx(() => { const f = l.get('from'); l.set('from', l.get('to')); l.set('to', f) })
  }

  createStroke (points, color = '#263238', width = 3) {
    const id = rid()
    this.tx(() => {
      const s = new Y.Map()
      this.strokes.set(id, s)
      const p = new Y.Array()
      p.push(points.map((v) => Math.round(v)))
      s.set('points', p); s.set('color', color); s.set('width', width)
    })
    return id
  }

  stroke (id) {
    const s = this.strokes.get(id)
    if (!(s instanceof Y.Map)) return null
    const p = s.get('points')
    const pts = p instanceof Y.Array ? p.toArray().filter((v) => typeof v === 'number') : []
    if (pts.length < 4) return null
    return { id, points: pts, color: str(s.get('color'), '#263238'), width: num(s.get('width'), 3) }
  }

  // ---- session: phase (meta.phase) and shared timer (session map) ---------------------------
  setPhase (p) { if (this.meta.get('phase') !== p) this.tx(() => this.meta.set('phase', p)) }

  timer () {
    const running = this.session.get('timer_running') === true
    const end = str(this.session.get('timer_end'))
    const left = num(this.session.get('timer_left'), 0)
    if (running && end) return { running, left: Math.max(0, (Date.parse(end) - Date.now()) / 1000) }
    return { running: false, left }
  }

  startTimer (seconds) {
    const s = seconds ?? (this.timer().left || 300)
    this.tx(() => {
      this.session.set('timer_left', s)
      this.session.set('timer_end', new Date(Date.now() + s * 1000).toISOString())
      this.session.set('timer_running', true)
    })
  }

  pauseTimer () {
    const left = Math.round(this.timer().left)
    this.tx(() => { this.session.set('timer_running', false); this.session.set('timer_left', left) })
  }

  resetTimer () { this.tx(() => { this.session.set('timer_running', false); this.session.set('timer_left', 0); this.session.delete('timer_end') }) }
}

/** Minimal zones for a board initialised in the browser (the server normally fills them). */
export function fallbackZones (template) {
  if (template === 'gouvernance') {
    const names = { decision: 'Décision', animation: 'Animation', programmation: 'Programmation', 'mise-en-oeuvre': 'Mise en œuvre' }
    return FUNCTIONS.map((f, i) => ({ id: f, title: names[f], kind: 'lane', x: 0, y: i * 220, w: 1400, h: 200, color: ['#fce4ec', '#e3f2fd', '#e8f5e9', '#fff3e0'][i], order: i }))
  }
  if (template === 'atelier-du-futur') {
    return [['critique', 'Critique'], ['utopie', 'Utopie / prospective'], ['realisation', 'Réalisation']].map(([p, title], i) => ({ title, kind: 'column', x: i * 420, y: 0, w: 400, h: 900, color: ['#ffebee', '#e8eaf6', '#e8f5e9'][i], order: i, phase: p }))
  }
  return []
}
