// Interactions: pointer (mouse, pen, touch), wheel and keyboard on the board.
// - background: drag pans, shift+drag selects a rectangle, 2 fingers pinch-zoom, wheel
//   zooms (ctrl+wheel / trackpad pinch too; two-finger trackpad scroll pans), double
//   click / double tap creates a note (an actor in governance mode);
// - items: click selects (shift/ctrl adds), drag moves the selection (live via awareness,
//   committed once on drop), corner handle resizes, click on a selected note edits it;
// - keyboard: N new, Enter edit, Esc done, arrows move, Delete removes, +/−/0 zoom.

const DOUBLE_MS = 400
const MOVE_SLOP = 5

export function installInteractions (app) {
  const root = app.el.board
  const { board } = app
  const pointers = new Map() // pointerId -> {x, y}
  let gesture = null
  let lastTap = null

  const rel = (e) => { const r = root.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top } }

  function zoomAt (sx, sy, factor) {
    const v = app.view
    const z = Math.min(4, Math.max(0.1, v.z * factor))
    const k = z / v.z
    app.setView({ x: sx - (sx - v.x) * k, y: sy - (sy - v.y) * k, z }, true)
  }
  app.zoomBy = (f) => { const r = root.getBoundingClientRect(); zoomAt(r.width / 2, r.height / 2, f) }

  function itemOf (target) {
    const e = target.closest && target.closest('.note, .actor, .link, .stroke, .group')
    if (!e) return null
    const kind = e.classList.contains('note') ? 'note' : e.classList.contains('actor') ? 'actor' : e.classList.contains('link') ? 'link' : e.classList.contains('stroke') ? 'stroke' : 'group'
    return { kind, id: e.getAttribute('data-id'), el: e }
  }

  function movable (id) {
    const n = board.note(id)
    if (n) return { id, x: n.x, y: n.y }
    const a = board.actor(id)
    if (a) return { id, x: a.x, y: a.y }
    return null
  }

  function startPinch () {
    const [a, b] = [...pointers.values()]
    cancelGesture()
    gesture = { type: 'pinch', d: Math.hypot(a.x - b.x, a.y - b.y) || 1, cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2 }
  }

  function cancelGesture () {
    if (gesture && (gesture.type === 'drag' || gesture.type === 'resize')) {
      for (const it of gesture.items) app.localDrag.delete(it.id)
      app.presence.setDrag(null)
    }
    if (gesture && gesture.type === 'draw') app.renderer.liveStroke(null)
    gesture = null
    app.el.marquee.hidden = true
  }

  root.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return
    if (e.target.closest('.group-title') || (e.target.tagName === 'TEXTAREA' && e.target.closest('.note.editing'))) return
    const p = rel(e)
    pointers.set(e.pointerId, p)
    if (pointers.size === 2) { startPinch(); return }
    if (pointers.size > 2) return
    root.setPointerCapture && root.setPointerCapture(e.pointerId)
    const w = app.screenToWorld(p.x, p.y)
    const item = itemOf(e.target)
    if (document.activeElement && document.activeElement.tagName === 'TEXTAREA') document.activeElement.blur()

    if (app.tool === 'draw' && !item) {
      gesture = { type: 'draw', points: [w.x, w.y] }
      return
    }
    if (item && app.tool === 'vote' && item.kind === 'note') {
      const ok = board.vote(app.voter, item.id, e.shiftKey || e.altKey ? -1 : 1)
      if (!ok && !(e.shiftKey || e.altKey)) app.ui.flash(app.t('budgetSpent'))
      return
    }
    if (item && app.tool === 'link' && item.kind === 'actor') {
      if (!app.linkFrom) app.linkFrom = item.id
      else if (app.linkFrom !== item.id) { const id = board.createLink(app.linkFrom, item.id); app.linkFrom = null; app.select([id]) }
      app.ui.update(); app.renderer.schedule()
      return
    }
    if (item) {
      const wasSelected = app.selection.has(item.id)
      if (e.shiftKey || e.ctrlKey || e.metaKey) {
        if (wasSelected) app.selection.delete(item.id); else app.selection.add(item.id)
        app.select([...app.selection])
      } else if (!wasSelected) app.select([item.id])
      if (item.kind === 'note' && e.target.classList.contains('resize')) {
        const n = board.note(item.id)
        gesture = { type: 'resize', start: w, items: [{ id: item.id, x: n.x, y: n.y, w: n.w, h: n.h }], moved: false }
        return
      }
      if (item.kind === 'note' || item.kind === 'actor') {
        const items = [...app.selection].map(movable).filter(Boolean)
        gesture = { type: 'drag', start: w, s0: p, items, moved: false, item, wasSelected, shift: e.shiftKey || e.ctrlKey || e.metaKey }
      }
      return
    }
    // background
    if (e.shiftKey) gesture = { type: 'marquee', s0: p, w0: w }
    else gesture = { type: 'pan', s0: p, v0: { ...app.view }, moved: false }
  })

  root.addEventListener('pointermove', (e) => {
    const p = rel(e)
    const w = app.screenToWorld(p.x, p.y)
    app.presence.setCursor(w)
    if (!pointers.has(e.pointerId)) return
    pointers.set(e.pointerId, p)
    if (!gesture) return
    if (gesture.type === 'pinch') {
      if (pointers.size < 2) return
      const [a, b] = [...pointers.values()]
      const d = Math.hypot(a.x - b.x, a.y - b.y) || 1
      const cx = (a.x + b.x) / 2; const cy = (a.y + b.y) / 2
      const v = app.view
      app.setView({ x: v.x + cx - gesture.cx, y: v.y + cy - gesture.cy, z: v.z }, true)
      zoomAt(cx, cy, d / gesture.d)
      gesture.d = d; gesture.cx = cx; gesture.cy = cy
      return
    }
    if (gesture.type === 'pan') {
      if (Math.hypot(p.x - gesture.s0.x, p.y - gesture.s0.y) > MOVE_SLOP) gesture.moved = true
      if (gesture.moved) app.setView({ x: gesture.v0.x + p.x - gesture.s0.x, y: gesture.v0.y + p.y - gesture.s0.y, z: gesture.v0.z }, true)
      return
    }
    if (gesture.type === 'drag' || gesture.type === 'resize') {
      const dx = w.x - gesture.start.x; const dy = w.y - gesture.start.y
      if (!gesture.moved && Math.hypot(dx, dy) * app.view.z < MOVE_SLOP) return
      gesture.moved = true
      const live = gesture.items.map((it) => gesture.type === 'drag'
        ? { id: it.id, x: Math.round(it.x + dx), y: Math.round(it.y + dy) }
        : { id: it.id, x: it.x, y: it.y, w: Math.max(60, Math.round(it.w + dx)), h: Math.max(40, Math.round(it.h + dy)) })
      for (const l of live) app.localDrag.set(l.id, l)
      app.presence.setDrag(live)
      app.renderer.schedule()
      return
    }
    if (gesture.type === 'marquee') {
      const m = app.el.marquee
      m.hidden = false
      const x = Math.min(p.x, gesture.s0.x); const y = Math.min(p.y, gesture.s0.y)
      Object.assign(m.style, { left: x + 'px', top: y + 'px', width: Math.abs(p.x - gesture.s0.x) + 'px', height: Math.abs(p.y - gesture.s0.y) + 'px' })
      gesture.w1 = w
      return
    }
    if (gesture.type === 'draw') {
      const pts = gesture.points
      const lx = pts[pts.length - 2]; const ly = pts[pts.length - 1]
      if (Math.hypot(w.x - lx, w.y - ly) * app.view.z >= 3) { pts.push(Math.round(w.x), Math.round(w.y)); app.renderer.liveStroke(pts) }
    }
  })

  function finish (e, cancelled) {
    const p = rel(e)
    pointers.delete(e.pointerId)
    if (!gesture) return
    const g = gesture
    if (g.type === 'pinch') { if (pointers.size < 2) gesture = null; return }
    gesture = null
    if (cancelled) { gesture = g; cancelGesture(); return }
    if (g.type === 'drag' || g.type === 'resize') {
      if (g.moved) {
        const committed = g.items.map((it) => app.localDrag.get(it.id)).filter(Boolean)
        board.commitMoves(committed) // once, on drop
        for (const it of g.items) app.localDrag.delete(it.id)
        app.presence.setDrag(null)
      } else if (g.type === 'drag' && g.item.kind === 'note' && !g.shift) {
        // a click on an already selected note (or a double tap) edits it
        const now = Date.now()
        const dbl = lastTap && lastTap.id === g.item.id && now - lastTap.t < DOUBLE_MS
        if (g.wasSelected || dbl) app.editNote(g.item.id)
        lastTap = { id: g.item.id, t: now, x: p.x, y: p.y }
      }
      app.renderer.schedule()
      return
    }
    if (g.type === 'marquee') {
      app.el.marquee.hidden = true
      if (!g.w1) return
      const x0 = Math.min(g.w0.x, g.w1.x); const x1 = Math.max(g.w0.x, g.w1.x)
      const y0 = Math.min(g.w0.y, g.w1.y); const y1 = Math.max(g.w0.y, g.w1.y)
      const ids = []
      const inside = (x, y, w, hh) => x >= x0 && y >= y0 && x + w <= x1 && y + hh <= y1
      board.notes.forEach((_, id) => { const n = board.note(id); if (n && inside(n.x, n.y, n.w, n.h)) ids.push(id) })
      board.actors.forEach((_, id) => { const a = board.actor(id); if (a && inside(a.x, a.y, 140, 60)) ids.push(id) })
      app.select(ids)
      return
    }
    if (g.type === 'draw') {
      app.renderer.liveStroke(null)
      if (g.points.length >= 4) app.select([board.createStroke(g.points, app.penColor)])
      return
    }
    if (g.type === 'pan' && !g.moved) {
      const now = Date.now()
      if (lastTap && lastTap.id === null && now - lastTap.t < DOUBLE_MS && Math.hypot(p.x - lastTap.x, p.y - lastTap.y) < 30) {
        lastTap = null
        const w = app.screenToWorld(p.x, p.y)
        app.createAt(w.x, w.y)
        return
      }
      lastTap = { id: null, t: now, x: p.x, y: p.y }
      if (app.linkFrom) { app.linkFrom = null; app.ui.update() }
      app.select([])
    }
  }
  root.addEventListener('pointerup', (e) => finish(e, false))
  root.addEventListener('pointercancel', (e) => finish(e, true))
  root.addEventListener('pointerleave', () => app.presence.setCursor(null))
  root.addEventListener('dblclick', (e) => e.preventDefault())

  root.addEventListener('wheel', (e) => {
    if (e.target.closest('textarea') && !e.ctrlKey) return
    e.preventDefault()
    const p = rel(e)
    const mouseWheel = e.deltaMode !== 0 || (e.deltaX === 0 && Math.abs(e.deltaY) >= 50 && Number.isInteger(e.deltaY))
    if (e.ctrlKey || e.metaKey || mouseWheel) {
      const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY
      zoomAt(p.x, p.y, Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.0015)))
    } else {
      const v = app.view
      app.setView({ x: v.x - e.deltaX, y: v.y - e.deltaY, z: v.z }, true)
    }
  }, { passive: false })

  // ---- keyboard -------------------------------------------------------------------------
  let arrowTimer = null
  function nudge (dx, dy) {
    const ids = [...app.selection].filter((id) => movable(id))
    if (!ids.length) return
    const live = ids.map((id) => { const cur = app.localDrag.get(id) || movable(id); return { id, x: cur.x + dx, y: cur.y + dy } })
    for (const l of live) app.localDrag.set(l.id, l)
    app.presence.setDrag(live)
    app.renderer.schedule()
    clearTimeout(arrowTimer)
    arrowTimer = setTimeout(() => { // commit once the keys are released for a moment
      const items = ids.map((id) => app.localDrag.get(id)).filter(Boolean)
      board.commitMoves(items)
      for (const id of ids) app.localDrag.delete(id)
      app.presence.setDrag(null)
      app.renderer.schedule()
    }, 350)
  }

  document.addEventListener('keydown', (e) => {
    const tag = e.target.tagName
    if (tag === 'TEXTAREA' || tag === 'INPUT' || tag === 'SELECT') {
      if (e.key === 'Escape') {
        const note = e.target.closest('.note')
        e.target.blur()
        if (note) note.focus()
      }
      return
    }
    if (e.target.closest && e.target.closest('dialog, .panel')) return
    const step = e.shiftKey ? 50 : 10
    switch (e.key) {
      case 'n': case 'N': {
        if (e.ctrlKey || e.metaKey || e.altKey) return
        e.preventDefault()
        const r = root.getBoundingClientRect()
        const w = app.screenToWorld(r.width / 2, r.height / 2)
        app.createAt(w.x, w.y)
        break
      }
      case 'Enter': {
        const [id] = app.selection
        if (id && board.notes.has(id)) { e.preventDefault(); app.editNote(id) }
        break
      }
      case 'Escape': app.select([]); app.linkFrom = null; break
      case 'Delete': case 'Backspace':
        if (app.selection.size) { e.preventDefault(); board.deleteItems([...app.selection]); app.select([]) }
        break
      case 'ArrowLeft': e.preventDefault(); nudge(-step, 0); break
      case 'ArrowRight': e.preventDefault(); nudge(step, 0); break
      case 'ArrowUp': e.preventDefault(); nudge(0, -step); break
      case 'ArrowDown': e.preventDefault(); nudge(0, step); break
      case '+': case '=': app.zoomBy(1.2); break
      case '-': app.zoomBy(1 / 1.2); break
      case '0': app.fit(); break
      case 'a': case 'A':
        if (e.ctrlKey || e.metaKey) { e.preventDefault(); app.select([...board.notes.keys()]) }
        break
    }
  })

  // Tab focus on a note or actor selects it (keyboard users).
  root.addEventListener('focusin', (e) => {
    const it = e.target.classList && (e.target.classList.contains('note') || e.target.classList.contains('actor')) ? e.target : null
    if (it && it.matches(':focus-visible') && !app.selection.has(it.dataset.id)) app.select([it.dataset.id])
  })
}
