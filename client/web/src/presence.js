// Presence over y-websocket awareness (ephemeral, never stored in the doc):
//   user   {name, site, color, role: 'facilitator'|'participant'}
//   cursor {x, y} board units, or null
//   drag   [{id, x, y, w?, h?}] live positions while dragging/resizing, or null
//   lead   true while the facilitator's "follow me" is on
//   view   {x, y, w, h} the board rectangle the leader sees (when lead)

import { h, siteColor, throttle } from './util.js'
import { t } from './i18n.js'

export function createPresence (app) {
  const aw = app.awareness
  const cursors = new Map()
  let following = null // clientID we follow
  let optOut = new Set() // leaders we chose not to follow

  function setUser () {
    const u = app.user
    aw.setLocalStateField('user', { name: u.name || t('anon'), site: u.site || '', color: siteColor(u.site || ''), role: u.facilitator ? 'facilitator' : 'participant' })
  }
  setUser()
  aw.setLocalStateField('cursor', null)
  aw.setLocalStateField('drag', null)
  aw.setLocalStateField('lead', false)

  const sendCursor = throttle((c) => aw.setLocalStateField('cursor', c), 60)
  const sendDrag = throttle((d) => aw.setLocalStateField('drag', d), 50)
  const sendView = throttle((v) => aw.setLocalStateField('view', v), 100)

  function others () {
    const out = []
    aw.getStates().forEach((s, id) => { if (id !== aw.clientID && s && s.user) out.push({ id, ...s }) })
    return out
  }

  function render () {
    // live drags of others
    app.remoteDrag.clear()
    for (const s of others()) {
      if (Array.isArray(s.drag)) {
        for (const d of s.drag) if (d && typeof d.id === 'string' && typeof d.x === 'number' && typeof d.y === 'number') app.remoteDrag.set(d.id, d)
      }
    }
    // cursors
    const seen = new Set()
    for (const s of others()) {
      if (!s.cursor || typeof s.cursor.x !== 'number') continue
      seen.add(s.id)
      let c = cursors.get(s.id)
      if (!c) {
        c = h('div', { class: 'cursor' }, h('svg:svg', { width: 14, height: 20, viewBox: '0 0 14 20' }, h('svg:path', { d: 'M0,0L0,16L4,12L7,19L10,18L7,11L13,11Z' })), h('span', { class: 'cursor-name' }))
        app.renderer.cursorsL.append(c)
        cursors.set(s.id, c)
      }
      const name = `${s.user.name || t('anon')}${s.user.site ? ' · ' + s.user.site : ''}`
      if (c.lastChild.textContent !== name) c.lastChild.textContent = name
      const color = siteColor(s.user.site || '')
      c.style.color = color
      c.lastChild.style.background = color
      c.style.transform = `translate(${s.cursor.x}px,${s.cursor.y}px) scale(calc(1 / var(--zoom, 1)))`
    }
    for (const [id, c] of cursors) if (!seen.has(id)) { c.remove(); cursors.delete(id) }

    // follow the facilitator
    const leader = others().find((s) => s.lead && s.view && !optOut.has(s.id))
    if (leader && !app.user.lead) {
      following = leader.id
      const v = leader.view
      const r = app.el.board.getBoundingClientRect()
      if (r.width && v.w > 0 && v.h > 0) {
        const z = Math.min(4, Math.max(0.1, Math.min(r.width / v.w, r.height / v.h)))
        app.setView({ x: r.width / 2 - (v.x + v.w / 2) * z, y: r.height / 2 - (v.y + v.h / 2) * z, z }, false)
      }
    } else following = null
    app.ui.renderPresence(list(), following && others().find((s) => s.id === following))
    app.renderer.schedule()
  }

  /** Participants grouped by site: [[site, [{id, name, role, me}]]] */
  function list () {
    const bySite = new Map()
    aw.getStates().forEach((s, id) => {
      if (!s || !s.user) return
      const site = s.user.site || t('otherSite')
      if (!bySite.has(site)) bySite.set(site, [])
      bySite.get(site).push({ id, name: s.user.name || t('anon'), role: s.user.role, me: id === aw.clientID, lead: !!s.lead })
    })
    return [...bySite.entries()].sort((a, b) => a[0].localeCompare(b[0]))
  }

  aw.on('change', render)

  return {
    setUser,
    setCursor (c) { sendCursor(c ? { x: Math.round(c.x), y: Math.round(c.y) } : null) },
    setDrag (d) {
      if (d) sendDrag(d)
      else { sendDrag(null) }
    },
    viewChanged (rect) { if (app.user.lead) sendView(rect) },
    setLead (on) {
      app.user.lead = on
      aw.setLocalStateField('lead', on)
      if (on) aw.setLocalStateField('view', app.visibleRect())
    },
    /** The user moved the view themselves: stop following the current leader. */
    unfollow () { if (following !== null) { optOut.add(following); following = null; render() } },
    refollow () { optOut = new Set(); render() },
    get following () { return following },
    render,
  }
}
