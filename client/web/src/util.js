// Small shared helpers: ids, DOM construction, local settings, site colours.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** A random id string (12 chars, ~71 bits). */
export function rid (n = 12) {
  const a = new Uint8Array(n)
  crypto.getRandomValues(a)
  let s = ''
  for (const b of a) s += ALPHABET[b % ALPHABET.length]
  return s
}

export const nowIso = () => new Date().toISOString()

export const BOARD_ID = /^[A-Za-z0-9_-]{1,64}$/

/** h('div', {class: 'x', onclick: f}, child, 'text') */
export function h (tag, attrs, ...children) {
  const e = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag)
  for (const k in attrs || {}) {
    const v = attrs[k]
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else if (k === 'text') e.textContent = v
    else e.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c)
  return e
}

export const settings = {
  get (k, d) {
    try { const v = localStorage.getItem('palabre.' + k); return v === null ? d : JSON.parse(v) } catch (e) { return d }
  },
  set (k, v) {
    try { localStorage.setItem('palabre.' + k, JSON.stringify(v)) } catch (e) {}
  },
}

export const SITES = ['Évry', 'Diéma', 'Douentza', 'Nioro-du-Sahel']
const SITE_COLORS = { 'Évry': '#1565c0', 'Diéma': '#c62828', 'Douentza': '#2e7d32', 'Nioro-du-Sahel': '#6a1b9a' }
const EXTRA = ['#ad1457', '#00838f', '#ef6c00', '#4e342e', '#37474f', '#558b2f']

/** One colour per site, the same on every screen. */
export function siteColor (site) {
  if (SITE_COLORS[site]) return SITE_COLORS[site]
  let x = 0
  for (const c of site || '') x = (x * 31 + c.charCodeAt(0)) >>> 0
  return EXTRA[x % EXTRA.length]
}

export const NOTE_COLORS = ['#fff59d', '#ffcc80', '#f48fb1', '#ce93d8', '#90caf9', '#a5d6a7', '#e0e0e0', '#ffffff']

export const num = (v, d) => (typeof v === 'number' && isFinite(v) ? v : d)
export const str = (v, d = '') => (typeof v === 'string' ? v : d)

/** Call f at most every `ms` milliseconds, always with the latest arguments (trailing call kept). */
export function throttle (f, ms) {
  let last = 0; let timer = null; let args = null
  return (...a) => {
    args = a
    const wait = last + ms - Date.now()
    if (wait <= 0) { last = Date.now(); f(...args) } else if (!timer) {
      timer = setTimeout(() => { timer = null; last = Date.now(); f(...args) }, wait)
    }
  }
}
