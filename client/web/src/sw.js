// Service worker (served at /sw.js when the server maps it to dist/sw.js): keeps the app
// shell so a board opens without network. Pages: network first, cached index.html when
// offline. /static/ assets (versioned by ?v=hash): cache first. Nothing else is touched
// (the WebSocket and /api never go through the cache).
const CACHE = 'palabre-shell-v1'

self.addEventListener('install', (e) => {
  self.skipWaiting()
  // pre-cache the shell: index.html and the versioned assets it references
  e.waitUntil(caches.open(CACHE).then(async (c) => {
    const res = await fetch('/', { cache: 'reload' })
    if (!res.ok) return
    const html = await res.clone().text()
    await c.put('/index.html', res)
    await c.addAll([...html.matchAll(/\/static\/[^"']+/g)].map((m) => m[0]))
  }).catch(() => {}))
})
self.addEventListener('activate', (e) => { e.waitUntil(self.clients.claim()) })

self.addEventListener('fetch', (e) => {
  const req = e.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== location.origin) return
  if (req.mode === 'navigate' && (url.pathname === '/' || url.pathname.startsWith('/b/'))) {
    e.respondWith(fetch(req).then((res) => {
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put('/index.html', copy)) }
      return res
    }).catch(() => caches.match('/index.html').then((r) => r || Response.error())))
  } else if (url.pathname.startsWith('/static/')) {
    e.respondWith(caches.match(req).then((hit) => hit || fetch(req).then((res) => {
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)) }
      return res
    })))
  }
})
