"""One client connection: how the room sends to it, and what it has introduced (presence)."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from server.limits import RateLimit
from server.metrics import METRICS
from server.transport import CLOSE_TOO_SLOW, HELD_KEEP, PalabreProtocol

log = logging.getLogger("palabre.connection")

_FALLBACK_QUEUE = 1024  # messages, when not running on PalabreProtocol (e.g. a test client)


class Connection:
    """Sends never block the room: they go straight to the socket buffer (PalabreProtocol), or to
    a bounded queue drained by a task. A receiver that falls behind is not relayed to until it
    has drained, then caught up in one diff (rooms.py); one that reads nothing is closed."""

    __slots__ = ("ws", "board", "transport", "awareness_ids", "limit", "_queue", "_sender", "closed",
                 "behind", "behind_since", "backlog", "backlog_moved", "capacity", "acked_mark",
                 "acked_mark_at", "cycle_relayed", "handed", "handed_at", "presence_since")

    def __init__(self, ws: WebSocket, board: str, limit: RateLimit) -> None:
        self.ws = ws
        self.board = board
        transport = ws.scope.get("extensions", {}).get("palabre.transport")
        self.transport: PalabreProtocol | None = transport if isinstance(transport, PalabreProtocol) else None
        self.awareness_ids: set[int] = set()
        self.limit = limit
        self._queue: asyncio.Queue[bytes] | None = None
        self._sender: asyncio.Task[None] | None = None
        self.closed = False
        # While its backlog drains, relays to it are skipped (rooms.py): `behind` is a state
        # vector of the board it is known to have, `behind_since` the loop time it fell behind,
        # `backlog` its smallest backlog seen since, `backlog_moved` when that last shrank.
        self.behind: bytes | None = None
        self.behind_since = 0.0
        self.backlog = 0
        self.backlog_moved = 0.0
        # While the room is busy and its link cannot carry the moves, it stays behind and gets a
        # diff per round trip (Room._keeps_up): `capacity` is its link's rate in bytes/s measured
        # since it fell, from the bytes its peer acknowledged (`acked_mark` at `acked_mark_at`);
        # `cycle_relayed` the room's relayed bytes when the last diff went.
        self.capacity = 0.0
        self.acked_mark = 0
        self.acked_mark_at = 0.0
        self.cycle_relayed = 0
        # `handed`: a state vector of the board it is sure to get (everything relayed to it
        # before it was taken is the kernel's, none of it held in the transport), taken at
        # `handed_at`; the catch-up diff starts there when held relays were dropped (rooms.py).
        # b"\x00", the empty state, is always safe: the whole board.
        self.handed = b"\x00"
        self.handed_at = 0.0
        self.presence_since = 0.0  # the catch-up sends the presence that changed since this

    def write(self, messages: list[tuple[bytes, bytes]], largest: int, kind: int = HELD_KEEP) -> None:
        """Send (payload, frame) pairs now, in one socket write when possible; `largest` is the
        longest payload. A HELD_RELAY may be dropped if it is still held when the receiver is
        found behind (transport.py); a direct answer (HELD_KEEP) never is."""
        if self.closed:
            return
        if self.transport is not None:
            if not self.transport.write_messages(messages, largest, kind):
                self.closed = True
            return
        for payload, _ in messages:
            self._send_queued(payload)

    def _send_queued(self, payload: bytes) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(_FALLBACK_QUEUE)
            self._sender = asyncio.ensure_future(self._drain())
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            METRICS.slow_clients_dropped += 1
            self.closed = True
            asyncio.ensure_future(self._close_ws(CLOSE_TOO_SLOW, "too slow: send queue full"))

    async def _drain(self) -> None:
        assert self._queue is not None
        try:
            while True:
                payload = await self._queue.get()
                await self.ws.send_bytes(payload)
        except Exception:  # the client went away: its sends stop, nobody else's
            self.closed = True

    async def close(self, code: int, reason: str) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.refuse(code, reason)
            return
        await self._close_ws(code, reason)

    async def _close_ws(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code, reason)
        except Exception:
            pass

    def stop(self) -> None:
        """Called once the connection has left its room."""
        self.closed = True
        if self._sender is not None:
            self._sender.cancel()
