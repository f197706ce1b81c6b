// Connection: one Y.Doc per board, persisted in IndexedDB and synced over y-websocket.
// The browser's own online/offline events drop and resume the socket at once; otherwise
// y-websocket reconnects with exponential backoff (capped at maxBackoffTime).
// y-websocket puts no time limit on an attempt that is still connecting: on a cut link a lost
// handshake (the SYN or the server's answer) kept the app "connecting" for minutes after the
// link was back. An attempt not open after CONNECT_TIMEOUT_MS is abandoned and retried.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'

const CONNECT_TIMEOUT_MS = 10000

export function wsBase () {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws'
}

/**
 * @param {string} boardId
 * @param {(state: {status: string, synced: boolean, code?: number}) => void} onState
 */
export function connect (boardId, onState) {
  const doc = new Y.Doc()
  const local = new IndexeddbPersistence('palabre:' + boardId, doc)
  const provider = new WebsocketProvider(wsBase(), boardId, doc, {
    connect: navigator.onLine !== false,
    maxBackoffTime: 10000,
  })
  const state = { status: 'connecting', synced: false, localLoaded: false, code: 0 }
  const emit = () => onState({ ...state })
  let attempt = 0
  const limitAttempt = () => {
    clearTimeout(attempt)
    const ws = provider.ws
    if (ws && provider.wsconnecting) {
      attempt = setTimeout(() => { if (provider.ws === ws && provider.wsconnecting) ws.close() }, CONNECT_TIMEOUT_MS)
    }
  }
  limitAttempt() // the first attempt started in the constructor, before any listener
  provider.on('status', (e) => {
    limitAttempt()
    state.status = e.status
    if (e.status !== 'connected') state.synced = false
    emit()
  })
  provider.on('sync', (s) => { state.synced = s; emit() })
  provider.on('closed', (e) => { state.status = 'refused'; state.code = e.code; emit() })
  local.whenSynced.then(() => { state.localLoaded = true; emit() })
  if (!provider.shouldConnect) { state.status = 'disconnected'; emit() }

  const goOffline = () => { provider.disconnect(); state.status = 'disconnected'; state.synced = false; emit() }
  const goOnline = () => { if (!provider.shouldConnect || !provider.wsconnected) provider.connect() }
  window.addEventListener('offline', goOffline)
  window.addEventListener('online', goOnline)
  return { doc, provider, awareness: provider.awareness, local, state }
}
