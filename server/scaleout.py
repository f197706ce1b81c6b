"""Scale-out on Redis: several Palabre processes serve the same boards.

Updates: every update is already in its board's stream (`RedisStorage.append`, before it is
relayed). One reader task per process follows the streams of *all* the boards it has loaded
with a single blocking XREAD (many keys, each with the last id seen), applies entries written
by other processes (`Room.apply_remote`) and skips its own (field `o` = this process's id).
Each board is followed from the position its load returned, so nothing falls in between.

When a board is loaded the XREAD in flight does not know its key yet: the reader is woken with
CLIENT UNBLOCK (from another connection) and re-issues the XREAD with the new set of keys. A
BLOCK timeout (2 s) is the backstop should the wake-up be refused or miss.

Presence: batches go over pub/sub (`palabre:{B}:awareness`, prefixed with the origin id), one
pattern subscription per process. Presence is ephemeral: a batch published while Redis is down
is dropped; the clients renew their state every 15 s anyway.

Faults: the reader and the subscriber reconnect by themselves with exponential backoff (0.1 s
to 5 s) and the reader resumes every stream from its last id: no gap, and an entry read twice
is harmless (applying a CRDT update twice is a no-op).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import protocol
from server.metrics import METRICS
from server.settings import Settings
from server.storage.base import Storage
from server.storage.redis import RedisStorage, board_of_key, connect, log_key

if TYPE_CHECKING:
    from server.rooms import Room

log = logging.getLogger("palabre.scaleout")

BLOCK_MS = 2000  # backstop: a board loaded during an XREAD is followed within this at worst
READ_COUNT = 500  # entries per stream per XREAD
AWARENESS_PATTERN = "palabre:*:awareness"
AWARENESS_QUEUE = 1000  # presence batches waiting to be published; beyond, the oldest news is dropped
ORIGIN_BYTES = 16


def awareness_channel(board: str) -> str:
    return f"palabre:{{{board}}}:awareness"


class Backoff:
    """Exponential reconnect delay: 0.1 s, 0.2 s, … up to 5 s; reset after a success."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first, self.cap = first, cap
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def sleep(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.cap, self.delay * 2)


@dataclass(eq=False)
class _Follow:
    """One loaded board: its room and the id of the last stream entry seen."""

    room: "Room"
    position: bytes | str


class _Stats:
    """The Redis path's health, on /metrics."""

    def __init__(self) -> None:
        self.connected = False
        self.reconnects = 0
        self.remote_updates = 0
        self.latency_last_ms = 0.0
        self.latency_sum_ms = 0.0
        self.behind_since: float | None = None  # time of the newest entry applied while behind

    def record(self, entry_time: float, now: float) -> None:
        latency = (now - entry_time) * 1000
        self.remote_updates += 1
        self.latency_last_ms = latency
        self.latency_sum_ms += latency

    def lag_ms(self) -> float:
        """How far behind the streams this process is: 0 once a read came back short."""
        if self.behind_since is None:
            return 0.0
        return max(0.0, (time.time() - self.behind_since) * 1000)

    def register(self) -> None:
        METRICS.counters["redis_reconnects_total"] = lambda: self.reconnects
        METRICS.counters["redis_remote_updates_total"] = lambda: self.remote_updates
        METRICS.gauges["redis_connected"] = lambda: 1.0 if self.connected else 0.0
        METRICS.gauges["redis_stream_lag_ms"] = self.lag_ms
        METRICS.gauges["redis_relay_latency_ms_last"] = lambda: self.latency_last_ms
        METRICS.gauges["redis_relay_latency_ms_avg"] = lambda: (
            self.latency_sum_ms / self.remote_updates if self.remote_updates else 0.0
        )


class RedisFanout:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        if not isinstance(storage, RedisStorage):
            raise TypeError("RedisFanout needs the Redis storage backend")
        self.storage = storage
        self.origin = storage.instance_id
        self.max_state_bytes = settings.max_awareness_state_bytes
        self.stats = _Stats()
        self._follows: dict[str, _Follow] = {}
        self._reader: Redis | None = None
        self._reader_id: int | None = None
        self._reading = 0  # numbers the XREAD calls, so a wake-up targets the one in flight
        self._in_xread = False
        self._connections = 0
        self._waking: asyncio.Task[None] | None = None
        self._loaded = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(AWARENESS_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []

    # --- the Fanout interface ------------------------------------------------------------------

    async def start(self) -> None:
        self.stats.register()
        self._tasks = [
            asyncio.ensure_future(self._forever("stream reader", self._read_streams)),
            asyncio.ensure_future(self._forever("presence subscriber", self._read_awareness)),
            asyncio.ensure_future(self._publish_awareness()),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._waking] if self._waking else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._close_reader()

    def board_loaded(self, room: "Room", position: object) -> None:
        assert isinstance(position, (str, bytes))
        self._follows[room.board] = _Follow(room, position)
        self._loaded.set()
        self._wake_reader()

    def board_unloaded(self, board: str) -> None:
        self._follows.pop(board, None)  # the next XREAD leaves its key out

    def awareness_changed(self, board: str, message: bytes) -> None:
        if self._outbox.full():
            self._outbox.get_nowait()
        self._outbox.put_nowait((board, message))

    # --- reconnecting loops ----------------------------------------------------------------------

    async def _forever(self, name: str, run: Callable[[Backoff], Awaitable[None]]) -> None:
        """Run `run` again after every Redis failure, waiting longer each time it fails."""
        backoff = Backoff()
        while True:
            try:
                await run(backoff)
                return
            except (RedisError, OSError) as exc:
                if backoff.delay == backoff.first:  # log the first failure, not every retry
                    log.warning("redis %s lost (%s: %s); reconnecting", name, type(exc).__name__, exc)
                if name == "stream reader":
                    self.stats.connected = False
                await backoff.sleep()

    # --- updates: one multiplexed XREAD ------------------------------------------------------------

    async def _read_streams(self, backoff: Backoff) -> None:
        await self._close_reader()
        # No silent retries on this connection: a reconnect must go through here, which learns
        # the new connection's id (for CLIENT UNBLOCK) and counts it.
        self._reader = connect(self.storage.url, socket_timeout=BLOCK_MS / 1000 + 10, max_connections=1, retries=0)
        self._reader_id = await self._reader.client_id()
        self._connections += 1
        if self._connections > 1:
            self.stats.reconnects += 1
            log.info("redis stream reader reconnected; resuming %d board stream(s)", len(self._follows))
        self.stats.connected = True
        backoff.reset()
        while True:
            if not self._follows:
                self._loaded.clear()
                await self._loaded.wait()
                continue
            await self._read_once(self._reader)

    async def _read_once(self, reader: Redis) -> None:
        follows = {log_key(board): follow for board, follow in self._follows.items()}
        self._reading += 1
        self._in_xread = True
        try:
            reply = await reader.xread({k: f.position for k, f in follows.items()}, count=READ_COUNT, block=BLOCK_MS)
        finally:
            self._in_xread = False
        now = time.time()
        behind: float | None = None
        for raw_key, entries in reply or []:
            name = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            follow = follows[name]
            if self._follows.get(board_of_key(name)) is not follow:
                continue  # unloaded (or reloaded from a newer position) meanwhile
            self._deliver(follow, entries, now)
            if len(entries) == READ_COUNT:
                behind = max(behind or 0.0, float(entries[-1][1].get(b"t", now)))
        self.stats.behind_since = behind

    def _deliver(self, follow: _Follow, entries: list[tuple[bytes, dict[bytes, bytes]]], now: float) -> None:
        origin = self.origin
        for stream_id, fields in entries:
            follow.position = stream_id
            if fields.get(b"o") == origin:
                continue  # this process stored and relayed it already
            update = fields.get(b"u")
            if update:
                follow.room.apply_remote(update)
                self.stats.record(float(fields.get(b"t", now)), now)

    def _wake_reader(self) -> None:
        """Make the XREAD in flight return so the next one includes the new board."""
        if self._in_xread and (self._waking is None or self._waking.done()):
            self._waking = asyncio.ensure_future(self._unblock(self._reading))

    async def _unblock(self, call: int) -> None:
        """CLIENT UNBLOCK the reader; if the XREAD was not blocking yet (in flight), try again
        until it returns. Failures are fine: the BLOCK timeout is the backstop."""
        reader_id = self._reader_id
        with contextlib.suppress(RedisError, OSError):
            for _ in range(100):
                if not self._in_xread or self._reading != call or reader_id is None:
                    return
                if await self.storage.client.client_unblock(reader_id):
                    return
                await asyncio.sleep(0.005)

    async def _close_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._reader.aclose(close_connection_pool=True)
            self._reader = None
            self._reader_id = None

    # --- presence: pub/sub -------------------------------------------------------------------------

    async def _read_awareness(self, backoff: Backoff) -> None:
        client = connect(self.storage.url, socket_timeout=30, max_connections=1)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(AWARENESS_PATTERN)
            backoff.reset()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=10.0)
                if message is None:
                    await pubsub.ping()  # an idle connection still proves it is alive
                elif message.get("type") == "pmessage":
                    self._on_awareness(message["channel"], message["data"])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)

    def _on_awareness(self, channel: Any, data: bytes) -> None:
        if data[:ORIGIN_BYTES] == self.origin:
            return
        board = board_of_key(channel.decode() if isinstance(channel, bytes) else channel)
        follow = self._follows.get(board)
        if follow is None:
            return  # not loaded here: nobody to tell
        try:
            message = protocol.parse_message(data[ORIGIN_BYTES:])
            if message.kind != protocol.KIND_AWARENESS:
                raise protocol.ProtocolError(f"unexpected {message.kind} on the presence channel")
            entries = protocol.parse_awareness(message.payload, self.max_state_bytes)
        except protocol.ProtocolError as exc:
            follow.room.log.warning("bad presence message from another process: %s", exc)
            return
        follow.room.apply_remote_awareness(entries)

    async def _publish_awareness(self) -> None:
        """Publish queued presence batches, all that are waiting in one round trip."""
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self.storage.client.pipeline(transaction=False) as pipe:
                    for board, message in batch:
                        pipe.publish(awareness_channel(board), self.origin + message)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                log.debug("presence not published (%s); it is renewed by the clients", exc)
