// The chrome around the board: top bar (title, phase, timer, connection state), toolbar
// (modes, tools, zoom, vote budget), the selection inspector, the participants and
// facilitation panels, the profile dialog, export links.

import { h, NOTE_COLORS, SITES, siteColor, settings } from './util.js'
import { t, phaseName, switchLocale } from './i18n.js'
import { FUNCTIONS, LINK_KINDS, ACTOR_KINDS } from './board.js'

export function createUI (app, boardId) {
  const { board } = app
  const btn = (label, onclick, attrs = {}) => h('button', { type: 'button', onclick, ...attrs }, label)

  // ---- top bar ----
  const titleEl = h('h1', { class: 'board-title' })
  const phaseEl = h('span', { class: 'phase', 'aria-label': t('phase') })
  const timerEl = h('span', { class: 'timer', role: 'timer', 'aria-label': t('timer') })
  const statusEl = h('span', { class: 'status', role: 'status', 'aria-live': 'polite' })
  const exportsEl = h('span', { class: 'exports', hidden: true })
  const followEl = h('span', { class: 'following', hidden: true })
  const partBtn = btn(t('participants'), () => toggle(partPanel), { 'aria-controls': 'participants', class: 'participants-btn' })
  const facBtn = btn(t('facilitation'), () => toggle(facPanel), { 'aria-controls': 'facilitation' })
  const profBtn = btn(app.user.name || t('name'), () => openProfile(), { 'aria-label': t('profile'), class: 'profile-btn' })
  const top = h('header', { class: 'topbar' },
    h('a', { href: '/', class: 'home', 'aria-label': t('home') }, '⌂'), titleEl, phaseEl, timerEl, followEl, h('span', { class: 'spacer' }), statusEl,
    exportsEl, partBtn, facBtn,
    btn(t('lang'), switchLocale, { lang: t('langCode'), 'aria-label': t('lang') }),
    profBtn)

  const banner = h('div', { class: 'banner', role: 'alert', hidden: true })
  const flashEl = h('div', { class: 'flash', role: 'status', hidden: true })

  // ---- toolbar ----
  const modeBtns = {
    notes: btn(t('modeNotes'), () => setMode('notes'), { 'data-mode': 'notes' }),
    gov: btn(t('modeGov'), () => setMode('gov'), { 'data-mode': 'gov' }),
  }
  const toolBtns = {
    select: btn('↖ ' + t('toolSelect'), () => setTool('select'), { 'data-tool': 'select' }),
    vote: btn('● ' + t('toolVote'), () => setTool('vote'), { 'data-tool': 'vote', class: 'only-notes' }),
    link: btn('↗ ' + t('toolLink'), () => setTool('link'), { 'data-tool': 'link', class: 'only-gov' }),
    draw: btn('✎ ' + t('toolDraw'), () => setTool('draw'), { 'data-tool': 'draw', class: 'only-gov' }),
  }
  const budgetEl = h('span', { class: 'budget', 'aria-live': 'polite' })
  const hintEl = h('span', { class: 'hint' })
  const newBtn = btn('+', () => { const r = app.el.board.getBoundingClientRect(); const w = app.screenToWorld(r.width / 2, r.height / 2); app.createAt(w.x, w.y) }, { class: 'new-item', 'aria-label': t('newNoteHint'), title: t('newNoteHint') })
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('board') },
    h('span', { class: 'seg' }, modeBtns.notes, modeBtns.gov),
    h('span', { class: 'seg' }, ...Object.values(toolBtns)),
    newBtn,
    h('span', { class: 'seg' }, btn('−', () => app.zoomBy(1 / 1.2), { 'aria-label': t('zoomOut') }), btn('+', () => app.zoomBy(1.2), { 'aria-label': t('zoomIn') }), btn('⤢', () => app.fit(), { 'aria-label': t('zoomFit'), title: t('zoomFit') })),
    budgetEl, hintEl)

  // ---- inspector (selection) ----
  const inspector = h('aside', { class: 'inspector', 'aria-label': t('selection'), hidden: true })

  // ---- panels ----
  const partPanel = h('aside', { class: 'panel', id: 'participants', hidden: true, 'aria-label': t('participants') })
  const facPanel = h('aside', { class: 'panel', id: 'facilitation', hidden: true, 'aria-label': t('facilitation') })
  function toggle (p) { p.hidden = !p.hidden; if (p === facPanel) renderFacilitation() }

  const main = app.el.board
  main.before(top, toolbar)
  main.after(inspector, partPanel, facPanel, banner, flashEl)
  main.append(h('p', { class: 'sr shortcuts', id: 'shortcuts' }, t('shortcuts')))

  function setMode (m) {
    app.mode = m
    settings.set('mode:' + boardId, m)
    if (m === 'notes' && (app.tool === 'link' || app.tool === 'draw')) app.tool = 'select'
    if (m === 'gov' && app.tool === 'vote') app.tool = 'select'
    app.linkFrom = null
    update(); app.renderer.schedule()
  }
  function setTool (tool) { app.tool = tool; app.linkFrom = null; update(); app.renderer.schedule() }

  let flashTimer = null
  function flash (msg) {
    flashEl.textContent = msg; flashEl.hidden = false
    clearTimeout(flashTimer); flashTimer = setTimeout(() => { flashEl.hidden = true }, 2500)
  }

  // ---- connection state ----
  function setConnection (s) {
    const online = s.status === 'connected'
    statusEl.textContent = s.status === 'refused' ? `${t('refused')} (${s.code})` : online ? '● ' + t('online') : s.status === 'connecting' ? '○ ' + t('connecting') : '○ ' + t('offline').split(' — ')[0]
    statusEl.dataset.state = s.status
    const off = s.status === 'disconnected' || s.status === 'refused' || (s.status === 'connecting' && s.everConnected)
    banner.hidden = !off
    banner.textContent = s.status === 'refused' ? `${t('refused')} (${s.code})` : t('offline')
    document.body.classList.toggle('is-offline', off)
  }

  // ---- exports (only when the server has snapshots) ----
  fetch(`/api/boards/${encodeURIComponent(boardId)}/snapshot.md`, { method: 'HEAD' }).then((r) => {
    if (!r.ok) return
    exportsEl.textContent = ''
    exportsEl.append(h('span', {}, t('exports') + ' : '))
    for (const f of ['png', 'csv', 'md']) exportsEl.append(h('a', { href: `/api/boards/${encodeURIComponent(boardId)}/snapshot.${f}`, download: `${boardId}.${f}`, class: 'export-' + f }, f.toUpperCase()))
    exportsEl.hidden = false
  }).catch(() => {})

  // ---- updates ----
  function update () {
    titleEl.textContent = board.title || boardId
    document.title = `${board.title || boardId} — Palabre`
    const ph = board.meta.get('phase')
    phaseEl.textContent = ph ? `${t('phase')} : ${phaseName(ph)}` : ''
    for (const [m, b] of Object.entries(modeBtns)) b.setAttribute('aria-pressed', String(app.mode === m))
    for (const [k, b] of Object.entries(toolBtns)) b.setAttribute('aria-pressed', String(app.tool === k))
    toolbar.dataset.mode = app.mode
    newBtn.setAttribute('aria-label', app.mode === 'gov' ? t('newActor') : t('newNoteHint'))
    const budget = board.budget
    const used = board.votesUsed(app.voter)
    budgetEl.hidden = app.mode !== 'notes'
    budgetEl.textContent = budget ? `● ${Math.max(0, budget - used)} / ${budget} ${t('votesLeft')}` : `● ${used} ${t('votes')} (${t('noBudget')})`
    budgetEl.dataset.left = budget ? Math.max(0, budget - used) : ''
    hintEl.textContent = app.tool === 'link' ? (app.linkFrom ? t('linkTo') : t('linkFrom')) : ''
    renderInspector()
    tick()
  }

  function tick () {
    const tm = board.timer()
    if (!tm.running && !tm.left) { timerEl.textContent = ''; timerEl.hidden = true; return }
    timerEl.hidden = false
    const s = Math.ceil(tm.left)
    timerEl.textContent = `⏱ ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}${tm.running ? '' : ' ⏸'}`
    timerEl.classList.toggle('done', tm.running && s <= 0)
    if (tm.running && s <= 0) timerEl.textContent = '⏱ ' + t('timeUp')
  }
  setInterval(tick, 1000)

  // ---- inspector ----
  let inspKey = ''
  function renderInspector () {
    const ids = [...app.selection]
    const key = ids.join(',') + '|' + app.mode
    const kinds = ids.map((id) => board.notes.has(id) ? 'note' : board.actors.has(id) ? 'actor' : board.links.has(id) ? 'link' : board.strokes.has(id) ? 'stroke' : board.groups.has(id) ? 'group' : '')
    inspector.hidden = !ids.length
    if (!ids.length) { inspKey = ''; return }
    // keep focused fields stable while typing
    if (key === inspKey && inspector.contains(document.activeElement)) return
    inspKey = key
    inspector.textContent = ''
    inspector.append(h('h2', {}, `${ids.length} ${t('selected')}`))
    const del = btn(t('delete'), () => { board.deleteItems(ids); app.select([]) }, { class: 'danger' })
    if (kinds.every((k) => k === 'note' || k === 'stroke')) {
      inspector.append(h('div', { class: 'swatches', role: 'group', 'aria-label': t('color') },
        (kinds.includes('stroke') && !kinds.includes('note') ? ['#263238', '#c62828', '#1565c0', '#2e7d32', '#ef6c00'] : NOTE_COLORS).map((c) =>
          btn('', () => board.recolor(ids, c), { class: 'swatch', style: `background:${c}`, 'aria-label': `${t('color')} ${c}`, 'data-color': c }))))
    }
    if (kinds.every((k) => k === 'note')) {
      inspector.append(btn(t('group'), () => board.groupNotes(ids)), btn(t('ungroup'), () => board.ungroup(ids)))
      if (ids.length === 1) {
        const n = board.notes.get(ids[0])
        inspector.append(h('label', {}, t('code'), h('input', { value: typeof n.get('code') === 'string' ? n.get('code') : '', onchange: (e) => board.setField('notes', ids[0], 'code', e.target.value.trim()) })))
      }
    }
    if (kinds.length === 1 && kinds[0] === 'actor') {
      const id = ids[0]; const a = board.actor(id)
      const field = (key, label, input) => { input.addEventListener('change', (e) => board.setField('actors', id, key, e.target.value)); return h('label', {}, label, input) }
      inspector.append(
        field('label', t('label'), h('input', { value: a.label, class: 'actor-label-input' })),
        field('kind', t('kind'), h('select', {}, ACTOR_KINDS.concat(ACTOR_KINDS.includes(a.kind) || !a.kind ? [] : [a.kind]).map((k) => h('option', { value: k, selected: k === a.kind }, k)))),
        field('site', t('site'), h('input', { value: a.site, list: 'sites' })),
        field('country', t('country'), h('input', { value: a.country, maxlength: 2, size: 3 })),
        h('fieldset', {}, h('legend', {}, t('functions')), FUNCTIONS.map((f) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', checked: a.functions.includes(f), 'data-fn': f, onchange: () => board.toggleFunction(id, f) }), t(f)))))
    }
    if (kinds.length === 1 && kinds[0] === 'link') {
      const id = ids[0]; const l = board.link(id)
      inspector.append(
        h('label', {}, t('label'), h('input', { value: l.label, class: 'link-label-input', onchange: (e) => board.setField('links', id, 'label', e.target.value) })),
        h('label', {}, t('kind'), h('select', { onchange: (e) => board.setField('links', id, 'kind', e.target.value) }, LINK_KINDS.concat(LINK_KINDS.includes(l.kind) ? [] : [l.kind]).map((k) => h('option', { value: k, selected: k === l.kind }, k)))),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: l.directed, onchange: (e) => board.setField('links', id, 'directed', e.target.checked) }), t('directed')),
        btn(t('reverse'), () => board.reverseLink(id)))
    }
    inspector.append(del)
  }

  // ---- presence panel ----
  function renderPresence (groups, leader) {
    partPanel.textContent = ''
    partPanel.append(h('h2', {}, t('participants')))
    let total = 0
    for (const [site, people] of groups) {
      total += people.length
      partPanel.append(h('section', { class: 'site', 'data-site': site },
        h('h3', {}, h('span', { class: 'dot', style: `background:${siteColor(site)}` }), `${site} (${people.length})`),
        h('ul', {}, people.map((p) => h('li', { 'data-client': p.id }, p.name, p.me ? ` (${t('you')})` : '', p.role === 'facilitator' ? ' ★' : '', p.lead ? ' 📣' : '')))))
    }
    partBtn.textContent = `${t('participants')} (${total})`
    followEl.hidden = !leader
    if (leader) {
      followEl.textContent = ''
      followEl.append(`${t('following')} ${leader.user.name} `, btn(t('unfollow'), () => app.presence.unfollow()))
    }
  }

  // ---- facilitation panel: phase, timer, follow me, vote budget ----
  function renderFacilitation () {
    if (facPanel.hidden) return
    facPanel.textContent = ''
    const phases = board.phases()
    const cur = board.meta.get('phase') || ''
    const phaseInput = h('input', { list: 'phase-list', value: cur, 'aria-label': t('phase') })
    phaseInput.addEventListener('change', () => board.setPhase(phaseInput.value.trim()))
    facPanel.append(h('h2', {}, t('facilitation')),
      h('label', {}, t('phase'), phaseInput, h('datalist', { id: 'phase-list' }, phases.map((p) => h('option', { value: p }, phaseName(p))))),
      h('div', { class: 'row' }, t('timer') + ' : ', [3, 5, 10, 15].map((m) => btn(`${m} ${t('minutes')}`, () => board.startTimer(m * 60))),
        btn(t('pause'), () => board.pauseTimer()), btn(t('start'), () => board.startTimer()), btn(t('reset'), () => board.resetTimer())),
      h('label', {}, t('votesPerPerson'), h('input', { type: 'number', min: 0, max: 99, value: board.budget, onchange: (e) => { const v = Math.max(0, Math.min(99, parseInt(e.target.value, 10) || 0)); board.tx(() => board.meta.set('votes_per_person', v)) } })),
      btn(app.user.lead ? t('stopFollowMe') : t('followMe'), () => { app.presence.setLead(!app.user.lead); renderFacilitation() }, { class: 'follow-me', 'aria-pressed': String(!!app.user.lead) }),
      btn(t('close'), () => { facPanel.hidden = true }))
  }

  // ---- profile ----
  const dialog = h('dialog', { class: 'profile', 'aria-label': t('profile') })
  document.body.append(dialog, h('datalist', { id: 'sites' }, SITES.map((s) => h('option', { value: s }))))
  function openProfile () {
    const u = app.user
    dialog.textContent = ''
    const name = h('input', { name: 'name', value: u.name || '', autocomplete: 'nickname' })
    const site = h('input', { name: 'site', value: u.site || '', list: 'sites' })
    const anon = h('input', { type: 'checkbox', name: 'anonymous', checked: !!u.anonymous })
    const fac = h('input', { type: 'checkbox', name: 'facilitator', checked: !!u.facilitator })
    const form = h('form', { method: 'dialog' },
      h('h2', {}, t('profile')),
      h('label', {}, t('name'), name), h('label', {}, t('site'), site),
      h('label', { class: 'check' }, anon, t('anonymous')), h('label', { class: 'check' }, fac, t('facilitator')),
      h('button', { type: 'submit' }, t('save')))
    form.addEventListener('submit', () => {
      Object.assign(app.user, { name: name.value.trim(), site: site.value.trim(), anonymous: anon.checked, facilitator: fac.checked })
      settings.set('user', { name: app.user.name, site: app.user.site, anonymous: app.user.anonymous, facilitator: app.user.facilitator })
      app.presence.setUser()
      profBtn.textContent = app.user.name || t('name')
    })
    dialog.append(form)
    dialog.showModal()
  }

  // re-render the chrome on doc changes that matter to it
  for (const m of [board.meta, board.session, board.votes]) m.observeDeep(() => { update(); renderFacilitation() })
  board.doc.on('afterTransaction', (tr) => { if (app.selection.size && !tr.local && !inspector.contains(document.activeElement)) { inspKey = ''; renderInspector() } })

  return { update, setConnection, renderPresence, flash, openProfile, setMode }
}
