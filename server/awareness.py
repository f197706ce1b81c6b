"""Presence (y-protocols awareness) for one room, checked, coalesced and cleaned up.

- Every state is checked (`protocol.parse_awareness`) before anyone else sees it.
- Changes are coalesced: within `interval` seconds only each client's newest entry is kept, and
  the batch is encoded once and sent to every connection (the sender included: a lone stock
  client relies on its own echoed presence renewals to see traffic every 15 s and not drop the
  socket after 30 s of silence).
- Each connection owns the client ids it introduced; when it closes, their removal (state
  `null`, clock + 1) is broadcast, so no ghost cursor stays behind.
- A client that was removed that way without hearing of it (a cut link: the server dropped the
  silent connection) comes back announcing its old clock, which is behind the removal: everyone
  would ignore it until its next renewal, up to 15 s without its cursor. Whoever sends a live
  state older than a removal is told of that removal (only them); a stock client that hears of
  its own removal re-announces itself at once with a newer clock (y-protocols does that), and
  that is relayed as usual. Nothing is relayed with a clock the client did not choose.
- Presence from other server processes (scale-out) has no local owner: if that process dies, no
  removal ever comes. Such a state that is not renewed for `remote_timeout` seconds (30 s, the
  stock client's own timeout; clients renew every 15 s) is forgotten, so newcomers are not shown
  the ghost. Its removal is not broadcast: a made-up removal (clock + 1) would hide the real
  client's next renewals if it reconnects here; the connected clients time it out themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from server.protocol import AwarenessEntry, encode_awareness

if TYPE_CHECKING:
    from server.connection import Connection


REMOTE_TIMEOUT = 30.0  # y-protocols' outdatedTimeout
# Removals remembered for receivers catching up; one behind for longer than that many removals
# sees a few ghosts until its own 30 s timeout clears them.
REMOVALS_KEPT = 1024


class Presence:
    def __init__(
        self,
        broadcast: Callable[[bytes], None],
        interval: float,
        local_broadcast: Callable[[bytes], None] | None = None,
        remote_timeout: float = REMOTE_TIMEOUT,
        send_to: Callable[["Connection", bytes], None] | None = None,
    ) -> None:
        self._broadcast = broadcast  # our clients and, when scaled out, the other processes
        self._local_broadcast = local_broadcast or broadcast  # our clients only
        self._send_to = send_to  # one of our clients
        self._interval = interval
        self._states: dict[int, AwarenessEntry] = {}  # live (non-null) states
        self._clocks: dict[int, int] = {}  # newest clock seen per client, removed ones included
        self._owners: dict[int, "Connection"] = {}
        self._pending: dict[int, bytes] = {}  # client id → encoded entry, not yet broadcast
        self._flush_handle: asyncio.Handle | None = None
        self._remote_timeout = remote_timeout
        self._remote_renewed: dict[int, float] = {}  # remote client id → loop time of its last state
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._removed_at: dict[int, float] = {}  # client id → loop time of its removal, oldest first

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, conn: "Connection", entries: Iterable[AwarenessEntry]) -> None:
        """Record a client's awareness update (already checked) and schedule its relay."""
        gone: list[bytes] = []  # removals the sender has not heard of (see the module docstring)
        for entry in entries:
            known = self._clocks.get(entry.client_id, -1)
            if entry.clock < known or (entry.clock == known and not entry.removed):
                if not entry.removed and entry.client_id not in self._states:
                    gone.append(AwarenessEntry(entry.client_id, known, b"null").encode())
                continue  # stale
            self._clocks[entry.client_id] = entry.clock
            self._remote_renewed.pop(entry.client_id, None)  # it is here now
            if entry.removed:
                self._states.pop(entry.client_id, None)
                self._note_removal(entry.client_id)
                owner = self._owners.pop(entry.client_id, None)
                if owner is not None:
                    owner.awareness_ids.discard(entry.client_id)
            else:
                self._states[entry.client_id] = entry
                previous = self._owners.get(entry.client_id)
                if previous is not conn:
                    if previous is not None:
                        previous.awareness_ids.discard(entry.client_id)
                    self._owners[entry.client_id] = conn
                    conn.awareness_ids.add(entry.client_id)
            self._pending[entry.client_id] = entry.encode()
        if gone and self._send_to is not None:
            self._send_to(conn, encode_awareness(gone))
        self._schedule(self._interval)

    def apply_remote(self, entries: Iterable[AwarenessEntry]) -> None:
        """Presence relayed from another server process: recorded and sent to our clients,
        owned by no local connection (the other process broadcasts its removal)."""
        changed = False
        now = asyncio.get_running_loop().time()
        for entry in entries:
            if entry.clock < self._clocks.get(entry.client_id, -1):
                continue
            self._clocks[entry.client_id] = entry.clock
            if entry.removed:
                self._states.pop(entry.client_id, None)
                self._note_removal(entry.client_id)
                self._remote_renewed.pop(entry.client_id, None)
            else:
                self._states[entry.client_id] = entry
                if entry.client_id not in self._owners:
                    self._remote_renewed[entry.client_id] = now
                    self._schedule_sweep()
            changed = True
        if changed:
            self._remote_out([entry.encode() for entry in entries])

    def _schedule_sweep(self) -> None:
        if self._sweep_handle is None and self._remote_renewed:
            loop = asyncio.get_running_loop()
            self._sweep_handle = loop.call_later(self._remote_timeout / 3, self._sweep)

    def _sweep(self) -> None:
        """Forget remote states not renewed in time (their process may be gone)."""
        self._sweep_handle = None
        deadline = asyncio.get_running_loop().time() - self._remote_timeout
        for client_id, renewed in list(self._remote_renewed.items()):
            if renewed < deadline:
                del self._remote_renewed[client_id]
                self._states.pop(client_id, None)
        self._schedule_sweep()

    def remove_connection(self, conn: "Connection") -> None:
        """Broadcast the removal of every client id this connection introduced."""
        for client_id in list(conn.awareness_ids):
            if self._owners.get(client_id) is not conn:
                continue
            del self._owners[client_id]
            self._states.pop(client_id, None)
            clock = self._clocks.get(client_id, 0) + 1
            self._clocks[client_id] = clock
            self._note_removal(client_id)
            self._pending[client_id] = AwarenessEntry(client_id, clock, b"null").encode()
        conn.awareness_ids.clear()
        self._schedule(0)

    def _note_removal(self, client_id: int) -> None:
        self._removed_at.pop(client_id, None)
        self._removed_at[client_id] = asyncio.get_running_loop().time()
        if len(self._removed_at) > REMOVALS_KEPT:
            del self._removed_at[next(iter(self._removed_at))]

    def changed_since(self, since: float) -> bytes | None:
        """Everyone's presence and the removals made since `since` (loop time): for a receiver
        that missed the batches meanwhile (a slow link catching up, see rooms.py). Unchanged
        states carry the clock it has already seen and change nothing on its side."""
        entries = [entry.encode() for entry in self._states.values()]
        entries += [AwarenessEntry(client_id, self._clocks[client_id], b"null").encode()
                    for client_id, at in self._removed_at.items() if at >= since and client_id not in self._states]
        return encode_awareness(entries) if entries else None

    def _remote_out(self, encoded: list[bytes]) -> None:
        self._local_broadcast(encode_awareness(encoded))

    def full_message(self) -> bytes | None:
        """Everyone's current presence, for a newcomer or a query-awareness."""
        if not self._states:
            return None
        return encode_awareness([entry.encode() for entry in self._states.values()])

    def _schedule(self, delay: float) -> None:
        if not self._pending:
            return
        if self._flush_handle is not None:
            if delay > 0:
                return
            self._flush_handle.cancel()
        loop = asyncio.get_running_loop()
        self._flush_handle = loop.call_later(delay, self.flush) if delay > 0 else loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if self._pending:
            message = encode_awareness(list(self._pending.values()))
            self._pending.clear()
            self._broadcast(message)

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
