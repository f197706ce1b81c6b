"""Scale-out on Redis: several Palabre processes serve the same boards.

Updates: every update is already in its board's stream before it is relayed, and the same
script that added it announced it on the board's channel (`RedisStorage.append`): origin,
stream id, time, update, in stream order. One subscriber connection per process listens to
every board's announcements (one pattern subscription, all boards multiplexed on one socket, no
command per update), applies those written by other processes (`Room.apply_remote`) and skips
its own. Each board keeps the id of the last entry it has applied; anything at or below it is
a duplicate and ignored.

Catching up (no gap): a board is followed from the position its load returned. Once the
subscription is confirmed, the stream from that position on is read (XRANGE), and the
announcements that arrive meanwhile wait, then go through the same duplicate check. This runs
for a board that is loaded while subscribed, and for every loaded board after each
(re)subscription, so a reconnect or a Redis restart resumes every stream exactly.

Presence: batches go over pub/sub too (`palabre:{B}:awareness`, prefixed with the origin id), on
the same subscriber. Presence is ephemeral: a batch published while Redis is down is dropped;
the clients renew their state every 15 s anyway.

Faults: the subscriber reconnects by itself with exponential backoff (0.1 s to 5 s); a catch-up
that fails is retried, with the same backoff, while the subscription holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server import protocol
from server.metrics import METRICS
from server.settings import Settings
from server.storage.base import Storage, StorageError
from server.storage.redis import EntryId, RedisStorage, board_of_key, connect, log_key, parse_id

if TYPE_CHECKING:
    from server.rooms import Room

log = logging.getLogger("palabre.scaleout")

UPDATES_PATTERN = b"palabre:*:updates"
AWARENESS_PATTERN = b"palabre:*:awareness"
CATCH_UP_COUNT = 500  # entries per XRANGE while catching up
SUBSCRIBE_TIMEOUT = 5.0  # seconds to wait for Redis to confirm the subscriptions
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
    """One loaded board: its room, the id of the last entry applied (or covered by its load),
    and, while its stream is being read to catch up, the announcements held back meanwhile."""

    room: "Room"
    position: EntryId
    waiting: list[tuple[EntryId, bytes, bytes, float]] | None = None
    catching_up: asyncio.Task[None] | None = None

    @property
    def after(self) -> str:
        """XRANGE's exclusive start: the entries after `position`."""
        return f"({self.position[0]}-{self.position[1]}"


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
        self._subscribed = False  # the subscriptions are confirmed: announcements reach us
        self._subscriptions = 0
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(AWARENESS_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []

    # --- the Fanout interface ------------------------------------------------------------------

    async def start(self) -> None:
        self.stats.register()
        self._tasks = [
            asyncio.ensure_future(self._forever(self._subscribe)),
            asyncio.ensure_future(self._publish_awareness()),
        ]

    async def stop(self) -> None:
        for follow in self._follows.values():
            if follow.catching_up is not None:
                follow.catching_up.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def board_loaded(self, room: "Room", position: object) -> None:
        assert isinstance(position, (str, bytes))
        follow = self._follows[room.board] = _Follow(room, parse_id(position))
        if self._subscribed:  # otherwise the next subscription catches it up
            self._catch_up(follow)

    def board_unloaded(self, board: str) -> None:
        follow = self._follows.pop(board, None)
        if follow is not None and follow.catching_up is not None:
            follow.catching_up.cancel()

    def awareness_changed(self, board: str, message: bytes) -> None:
        if self._outbox.full():
            self._outbox.get_nowait()
        self._outbox.put_nowait((board, message))

    # --- the subscriber ----------------------------------------------------------------------------

    async def _forever(self, run: Callable[[Backoff], Awaitable[None]]) -> None:
        """Run `run` again after every Redis failure, waiting longer each time it fails."""
        backoff = Backoff()
        while True:
            try:
                await run(backoff)
                return
            except (RedisError, OSError) as exc:
                if backoff.delay == backoff.first:  # log the first failure, not every retry
                    log.warning("redis subscriber lost (%s: %s); reconnecting", type(exc).__name__, exc)
                await backoff.sleep()

    async def _subscribe(self, backoff: Backoff) -> None:
        client = connect(self.storage.url, socket_timeout=30, max_connections=1, retries=0)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(UPDATES_PATTERN, AWARENESS_PATTERN)
            await self._confirmed(pubsub, 2)
            # Every entry added from now on is announced to us: read what came before.
            self._subscribed = True
            self.stats.connected = True
            self._subscriptions += 1
            if self._subscriptions > 1:
                self.stats.reconnects += 1
                log.info("redis subscriber reconnected; catching up %d board stream(s)", len(self._follows))
            for follow in self._follows.values():
                self._catch_up(follow)
            backoff.reset()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=10.0)
                if message is None:
                    await pubsub.ping()  # an idle connection still proves it is alive
                elif message.get("type") == "pmessage":
                    self._on_message(message["pattern"], message["channel"], message["data"])
        finally:
            self._subscribed = False
            self.stats.connected = False
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)

    async def _confirmed(self, pubsub: Any, count: int) -> None:
        """Wait until Redis has confirmed `count` subscriptions (handling what arrives meanwhile)."""
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
        while count:
            if time.monotonic() > deadline:
                raise RedisTimeoutError("subscriptions not confirmed in time")
            message = await pubsub.get_message(timeout=0.5)
            if message is None:
                continue
            if message.get("type") == "psubscribe":
                count -= 1
            elif message.get("type") == "pmessage":
                self._on_message(message["pattern"], message["channel"], message["data"])

    def _on_message(self, pattern: bytes, channel: bytes, data: bytes) -> None:
        if pattern == UPDATES_PATTERN:
            self._on_update(channel, data)
        else:
            self._on_awareness(channel, data)

    # --- updates -------------------------------------------------------------------------------------

    def _on_update(self, channel: bytes, data: bytes) -> None:
        follow = self._follows.get(board_of_key(channel.decode()))
        if follow is None:
            return  # not loaded here
        try:
            origin, stream_id, entry_time, update = data.split(b" ", 3)
            entry = (parse_id(stream_id), origin, update, float(entry_time))
        except ValueError:
            follow.room.log.warning("malformed update announcement on %r", channel)
            return
        if follow.waiting is not None:
            follow.waiting.append(entry)
        else:
            self._apply(follow, *entry)

    def _apply(self, follow: _Follow, entry_id: EntryId, origin: bytes, update: bytes, entry_time: float) -> None:
        if entry_id <= follow.position:
            return  # seen already (while catching up, or before a reconnect)
        follow.position = entry_id
        if origin == self.origin or not update:
            return  # this process stored and relayed it already
        follow.room.apply_remote(update)
        self.stats.record(entry_time, time.time())

    def _catch_up(self, follow: _Follow) -> None:
        """Read `follow`'s stream after its position; announcements wait until that is done."""
        if follow.catching_up is not None:
            follow.catching_up.cancel()  # it may have read before the new subscription
        if follow.waiting is None:
            follow.waiting = []
        follow.catching_up = asyncio.ensure_future(self._read_stream(follow))

    async def _read_stream(self, follow: _Follow) -> None:
        board = follow.room.board
        backoff = Backoff()
        while self._follows.get(board) is follow:
            try:
                entries = await self.storage.client.xrange(log_key(board), min=follow.after, max="+",
                                                           count=CATCH_UP_COUNT)
            except (RedisError, OSError, StorageError) as exc:
                log.debug("catching up %s failed (%s); retrying", board, exc)
                await backoff.sleep()
                continue
            now = time.time()
            for stream_id, fields in entries:
                self._apply(follow, parse_id(stream_id), fields.get(b"o", b""), fields.get(b"u", b""),
                            float(fields.get(b"t", now)))
            if len(entries) < CATCH_UP_COUNT:
                break
            self.stats.behind_since = float(entries[-1][1].get(b"t", now))
        else:
            return  # unloaded meanwhile
        self.stats.behind_since = None
        waiting, follow.waiting, follow.catching_up = follow.waiting or [], None, None
        for entry in waiting:
            self._apply(follow, *entry)

    # --- presence: pub/sub -------------------------------------------------------------------------

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
