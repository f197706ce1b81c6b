// The home page: boards on this server, create one from a template, open one by name.

import { h, BOARD_ID } from './util.js'
import { t, locale, switchLocale } from './i18n.js'

const FALLBACK_TEMPLATES = [
  { id: 'atelier-du-futur', title: { fr: 'Atelier du Futur', en: 'Future Workshop' } },
  { id: 'spiral', title: { fr: 'SPIRAL (post-it)', en: 'SPIRAL (post-its)' } },
  { id: 'gouvernance', title: { fr: 'Schéma de gouvernance', en: 'Governance schema' } },
  { id: 'plan-action', title: { fr: 'Plan d’action', en: 'Action plan' } },
  { id: 'glossaire', title: { fr: 'Glossaire partagé', en: 'Shared glossary' } },
  { id: 'libre', title: { fr: 'Tableau libre', en: 'Blank board' } },
]

const slug = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/œ/g, 'oe').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48)

async function getJson (url) {
  try {
    const r = await fetch(url, { headers: { accept: 'application/json' } })
    return r.ok ? await r.json() : null
  } catch (e) { return null }
}

export async function showHome (root) {
  document.title = 'Palabre'
  const list = h('ul', { class: 'board-list' })
  const msg = h('p', { class: 'msg', role: 'status' })
  const tplSelect = h('select', { name: 'template', id: 'tpl' })
  const title = h('input', { name: 'title', id: 'new-title', required: true })
  const err = h('p', { class: 'error', role: 'alert' })
  const nameInput = h('input', { name: 'board', id: 'open-name', pattern: '[A-Za-z0-9_-]{1,64}', 'aria-describedby': 'open-help' })

  const go = (id, q = '') => { location.href = '/b/' + encodeURIComponent(id) + q }

  const create = h('form', { class: 'card create' },
    h('h2', {}, t('create')),
    h('label', { for: 'new-title' }, t('title')), title,
    h('label', { for: 'tpl' }, t('template')), tplSelect,
    h('button', { type: 'submit' }, t('createBtn')), err)
  create.addEventListener('submit', async (e) => {
    e.preventDefault()
    const id = slug(title.value) + '-' + Math.random().toString(36).slice(2, 6)
    const body = { template: tplSelect.value, id, title: title.value.trim(), locale }
    let r = null
    try { r = await fetch('/api/boards', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) } catch (e) {}
    if (r && r.status === 201) { const j = await r.json(); go(j.id || id) } else if (!r || r.status === 404 || r.status === 405) {
      // no board API on this server: the board initialises itself in the browser
      go(id, `?template=${encodeURIComponent(body.template)}&title=${encodeURIComponent(body.title)}`)
    } else err.textContent = `${r.status} ${await r.text().catch(() => '')}`.slice(0, 200)
  })

  const open = h('form', { class: 'card open' },
    h('h2', {}, t('openByName')),
    h('label', { for: 'open-name', id: 'open-help' }, t('boardName')), nameInput,
    h('button', { type: 'submit' }, t('open')))
  open.addEventListener('submit', (e) => {
    e.preventDefault()
    if (BOARD_ID.test(nameInput.value)) go(nameInput.value); else err.textContent = t('badId')
  })

  root.append(h('header', { class: 'topbar' }, h('h1', {}, 'Palabre'), h('span', { class: 'spacer' }), h('button', { type: 'button', onclick: switchLocale }, t('lang'))),
    h('main', { class: 'home' }, h('section', { class: 'card' }, h('h2', {}, t('boards')), msg, list), create, open))

  const [boards, templates] = await Promise.all([getJson('/api/boards'), getJson('/api/templates?locale=' + locale)])
  for (const tp of (Array.isArray(templates) && templates.length ? templates : FALLBACK_TEMPLATES)) {
    const name = tp.name || tp.id // the server lists templates by `name`; the fallback by `id`
    const label = typeof tp.title === 'object' ? (tp.title[locale] || tp.title.fr || name) : (tp.title || name)
    tplSelect.append(h('option', { value: name }, label))
  }
  if (!Array.isArray(boards)) { msg.textContent = t('listUnavailable'); return }
  if (!boards.length) msg.textContent = t('noBoards')
  for (const b of boards) {
    if (!b || !BOARD_ID.test(b.id)) continue
    list.append(h('li', {}, h('a', { href: '/b/' + b.id }, b.title || b.id),
      h('span', { class: 'sub' }, [b.template, b.connected ? `${b.connected} ${t('connected')}` : '', b.updated ? `${t('updated')} ${String(b.updated).slice(0, 16).replace('T', ' ')}` : ''].filter(Boolean).join(' · '))))
  }
}
