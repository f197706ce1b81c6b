// Scenario (d): presence. Two participants publish their presence (user name and site, then a
// cursor); two watchers see it, and a newcomer sees it at once on joining. One participant then
// closes politely (destroy) and one vanishes without a goodbye (socket dropped): both must
// disappear at every other client well before the 30 s awareness timeout (no ghosts).
// Usage: --url --board [--gone-ms 5000]
import { run, num, openSynced, closeAll, dropConnection, waitFor, remotePresence } from './lib.mjs'

const USERS = { polite: { name: 'Aminata', site: 'Diéma' }, crashed: { name: 'Étienne', site: 'Évry' } }

const sees = (client, id, predicate = () => true) => remotePresence(client).some(p => p.id === id && predicate(p))

async function timed (promise) {
  const start = performance.now()
  await promise
  return Math.round(performance.now() - start)
}

function waitPresence (clients, id, predicate, what, timeoutMs) {
  return waitFor(() => clients.every(cl => sees(cl, id, predicate)), {
    what, timeoutMs, state: () => clients.map(remotePresence)
  })
}

function waitGone (clients, id, what, timeoutMs) {
  return waitFor(() => clients.every(cl => !sees(cl, id)), { what, timeoutMs, state: () => clients.map(remotePresence) })
}

run(async opts => {
  const goneMs = num(opts['gone-ms'])
  const watchers = await openSynced(opts.url, opts.board, 2)
  const [polite, crashed] = await openSynced(opts.url, opts.board, 2)
  const ids = { polite: polite.doc.clientID, crashed: crashed.doc.clientID }
  polite.awareness.setLocalStateField('user', USERS.polite)
  crashed.awareness.setLocalStateField('user', USERS.crashed)
  for (const role of ['polite', 'crashed']) {
    await waitPresence(watchers, ids[role], p => p.user?.name === USERS[role].name && p.user?.site === USERS[role].site, `${role}'s presence at the watchers`, 5000)
  }
  crashed.awareness.setLocalStateField('cursor', { x: 12, y: 34 })
  await waitFor(() => watchers.every(w => w.awareness.getStates().get(ids.crashed)?.cursor?.x === 12), { what: 'a presence update at the watchers', timeoutMs: 5000 })

  const [newcomer] = await openSynced(opts.url, opts.board, 1)
  const newcomerMs = await timed(Promise.all(['polite', 'crashed'].map(role => waitPresence([newcomer], ids[role], p => p.user?.name === USERS[role].name, `${role}'s presence at a newcomer`, 3000))))
  const everyoneElse = [...watchers, newcomer]
  const seenBeforeLeaving = remotePresence(watchers[0]).map(p => p.user).filter(Boolean)

  dropConnection(crashed)
  const crashedGoneMs = await timed(waitGone([...everyoneElse, polite], ids.crashed, 'the dropped client to disappear', goneMs))
  closeAll([polite])
  const politeGoneMs = await timed(waitGone(everyoneElse, ids.polite, 'the politely closed client to disappear', goneMs))
  const result = { seenBeforeLeaving, newcomerMs, crashedGoneMs, politeGoneMs, remainingAtWatcher: remotePresence(watchers[0]) }
  closeAll([...everyoneElse, crashed])
  return result
}, { 'gone-ms': { type: 'string', default: '5000' } })
