// Entry point: routes on location.pathname ("/" home, "/b/{board}" a board) and wires the
// board's modules together: connection → board state → renderer, interactions, presence, UI.

import { connect } from './connection.js'
import { Board } from './board.js'
import { createRenderer } from './render.js'
import { installInteractions } from './interact.js'
import { createPresence } from './presence.js'
import { createUI } from './ui.js'
import { showHome } from './home.js'
import { t, locale } from './i18n.js'
import { h, rid, settings, BOARD_ID } from './util.js'

function showBoard (root, boardId) {
  const q = new URLSearchParams(location.search)
  const saved = settings.get('user', {})
  const user = {
    name: q.get('name') ?? saved.name ?? '',
    site: q.get('site') ?? saved.site ?? '',
    anonymous: !!saved.anonymous,
    facilitator: !!saved.facilitator,
    lead: false,
  }
  if (q.get('name') !== null || q.get('site') !== null) settings.set('user', { ...saved, name: user.name, site: user.site })
  let voter = settings.get('voter', '')
  if (!voter) { voter = rid(); settings.set('voter', voter) }

  let app = null
  let everConnected = false
  const conn = connect(boardId, (s) => {
    if (s.status === 'connected') everConnected = true
    if (!app || !app.ui) return
    app.ui.setConnection({ ...s, everConnected })
    if (s.synced) initIfBlank()
  })
  const boardEl = h('main', { id: 'board', class: 'board', role: 'application', 'aria-label': t('boardRegion'), 'aria-describedby': 'shortcuts' })
  const marquee = h('div', { class: 'marquee', hidden: true })
  boardEl.append(marquee)
  root.append(boardEl)

  app = {
    t, board: new Board(conn.doc), awareness: conn.awareness, provider: conn.provider,
    el: { board: boardEl, marquee },
    view: { x: 40, y: 40, z: 1 },
    selection: new Set(), localDrag: new Map(), remoteDrag: new Map(),
    mode: settings.get('mode:' + boardId, null), tool: 'select', editing: null, linkFrom: null,
    user, voter, penColor: '#263238',
  }
  window.palabre = { app, doc: conn.doc, provider: conn.provider, awareness: conn.awareness }

  app.screenToWorld = (sx, sy) => ({ x: (sx - app.view.x) / app.view.z, y: (sy - app.view.y) / app.view.z })
  app.visibleRect = () => {
    const r = boardEl.getBoundingClientRect()
    const a = app.screenToWorld(0, 0)
    return { x: Math.round(a.x), y: Math.round(a.y), w: Math.round(r.width / app.view.z), h: Math.round(r.height / app.view.z) }
  }
  app.setView = (v, byUser) => {
    app.view = v
    app.renderer.applyView()
    if (byUser && app.presence.following !== null) app.presence.unfollow()
    app.presence.viewChanged(app.visibleRect())
    settings.set('view:' + boardId, v)
  }
  app.fit = () => {
    const b = app.renderer.bounds()
    const r = boardEl.getBoundingClientRect()
    if (!b || !r.width) return app.setView({ x: 40, y: 40, z: 1 }, true)
    const z = Math.min(2, Math.max(0.1, Math.min((r.width - 40) / b.w, (r.height - 40) / b.h)))
    app.setView({ x: (r.width - b.w * z) / 2 - b.x * z, y: (r.height - b.h * z) / 2 - b.y * z, z }, true)
  }
  app.select = (ids) => {
    app.selection = new Set(ids)
    app.renderer.schedule()
    app.ui.update()
  }
  app.editNote = (id) => {
    const e = app.renderer.els.note.get(id)
    if (!e) return
    app.editing = id
    e.classList.add('editing')
    const ta = e._ta
    ta.focus()
    ta.setSelectionRange(ta.value.length, ta.value.length)
  }
  app.createAt = (x, y) => {
    if (app.mode === 'gov') {
      const id = app.board.createActor({ x: x - 70, y: y - 30, label: t('actor'), site: user.site })
      app.select([id])
      requestAnimationFrame(() => { const i = document.querySelector('.actor-label-input'); if (i) { i.focus(); i.select() } })
      return id
    }
    // keyboard/“+” creation at the view centre: do not stack notes exactly on top of each other
    x -= 80; y -= 50
    for (let i = 0; i < 30; i++) {
      let hit = false
      app.board.notes.forEach((_, nid) => { const n = app.board.note(nid); if (n && Math.abs(n.x - x) < 60 && Math.abs(n.y - y) < 40) hit = true })
      if (!hit) break
      x += 180; if (i % 4 === 3) { x -= 720; y += 120 }
    }
    const id = app.board.createNote({ x, y, author: user.anonymous ? '' : user.name, site: user.site })
    app.select([id])
    app.renderer.render()
    app.editNote(id)
    return id
  }

  app.renderer = createRenderer(app)
  app.presence = { setCursor () {}, setDrag () {}, viewChanged () {}, following: null }
  app.ui = createUI(app, boardId)
  app.presence = createPresence(app)
  installInteractions(app)
  app.ui.setConnection({ ...conn.state, everConnected })

  const savedView = settings.get('view:' + boardId, null)
  if (savedView && typeof savedView.z === 'number') app.view = savedView

  function initIfBlank () {
    const created = app.board.ensureInit(boardId, { template: q.get('template') || 'libre', title: q.get('title') || '', locale })
    if (app.mode === null) app.mode = app.board.template === 'gouvernance' ? 'gov' : 'notes'
    if (created || !savedView) app.fit()
    app.ui.update(); app.renderer.schedule()
  }
  if (app.mode === null) app.mode = 'notes'
  conn.local.whenSynced.then(() => { if (!settings.get('mode:' + boardId, null) && app.board.template === 'gouvernance') app.mode = 'gov'; app.ui.update(); app.renderer.schedule() })

  conn.doc.on('update', () => app.renderer.schedule())
  app.board.meta.observe(() => app.ui.update())
  app.afterRender = () => { if (app.selection.size) for (const id of [...app.selection]) if (!app.board.notes.has(id) && !app.board.actors.has(id) && !app.board.links.has(id) && !app.board.strokes.has(id) && !app.board.groups.has(id)) { app.selection.delete(id); app.ui.update() } }
  app.ui.update()
  app.renderer.render()
  if (!user.name && q.get('name') === null) app.ui.openProfile()
  window.addEventListener('resize', () => app.presence.viewChanged(app.visibleRect()))
}

// Offline app shell: only when the server serves /sw.js (see docs/app.md); silent otherwise.
if ('serviceWorker' in navigator && window.isSecureContext) {
  fetch('/sw.js', { method: 'HEAD' }).then((r) => { if (r.ok) navigator.serviceWorker.register('/sw.js').catch(() => {}) }).catch(() => {})
}

const root = document.getElementById('app')
const m = location.pathname.match(/^\/b\/([^/]+)\/?$/)
if (m && BOARD_ID.test(decodeURIComponent(m[1]))) showBoard(root, decodeURIComponent(m[1]))
else showHome(root)
