"""Redis storage: a board's log is a Redis Stream, its snapshots live in keys beside it.

Keys (`{B}` is a hash tag: Redis Cluster keeps all of one board's keys on one shard, so the
transactions below stay single-shard):

    palabre:boards                    hash    board → creation time
    palabre:archived                  hash    board → archive time
    palabre:{B}:log                   stream  one entry per update: u (update), o (origin), t (time)
    palabre:{B}:snapshots             hash    "<stream id>|<label>" → time of the newest entry covered
    palabre:{B}:snap:<id>|<label>     string  the snapshot (one merged update)
    palabre:{B}:trimmed               string  stream id below which the log was trimmed
    palabre:{B}:lease                 string  held (SET NX PX) by the one process compacting B
    palabre:{B}:awareness             pub/sub channel for presence (server/scaleout.py)
    palabre:{B}:updates               pub/sub channel announcing each new log entry

`append` is one script: XADD, then PUBLISH of the same entry (`<origin> <id> <time> <update>`)
on the board's updates channel, atomically, so subscribers hear entries in stream order and the
fan-out (server/scaleout.py) needs no command per update to follow the log. It returns once
Redis has answered, i.e. once the entry is in Redis's AOF (fsynced per `appendfsync`, see
docs/deploy.md). `o` is this process's random instance id: the fan-out uses it to skip its own
entries. Positions (`last_seq`, snapshot `seq`) are stream ids, so the fan-out continues exactly
where a load stopped.

Trim policy: snapshots are never deleted (they are the history). Log entries are kept for
`log_retention` seconds (default one day) and then trimmed (XTRIM MINID) up to the newest
snapshot that is at least that old. So `state_at(T)` is exact for T within the retention window
and at snapshot granularity before it (the newest snapshot at or before T; compaction runs every
`compact_every` updates and when a board is unloaded). `palabre:{B}:trimmed` records where the
log was cut so `state_at` never builds a board from a log with a hole in it.

Every Redis failure (connection refused, timeout, …) becomes a `StorageError`: the room refuses
the update (the client gets 1011 and resends after reconnecting), it never pretends it stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.storage.base import (
    BoardRecord,
    SnapshotRecord,
    Storage,
    StorageError,
    StoredBoard,
    merge,
)

log = logging.getLogger("palabre.storage.redis")

BOARDS_KEY = "palabre:boards"
ARCHIVED_KEY = "palabre:archived"
START = "0-0"  # the position before the first entry of any stream

LEASE_MS = 60_000  # a compaction longer than this only risks duplicate work, never a loss
LEASE_WAIT_SECONDS = 10.0  # a labelled (named) snapshot waits this long for a busy lease
DAY = 24 * 3600.0

# Store an update and announce it, in one atomic step (see the module docstring).
_APPEND = """
local id = redis.call('XADD', KEYS[1], '*', 'u', ARGV[1], 'o', ARGV[2], 't', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. id .. ' ' .. ARGV[3] .. ' ' .. ARGV[1])
return id
"""

# Compare-and-delete: release the lease only if it is still ours.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def key(board: str, part: str) -> str:
    """The key of one of a board's structures, hash-tagged on the board id."""
    return f"palabre:{{{board}}}:{part}"


def log_key(board: str) -> str:
    return f"palabre:{{{board}}}:log"


def updates_channel(board: str) -> str:
    return key(board, "updates")


def board_of_key(name: str) -> str:
    """The board id inside a `palabre:{B}:…` key."""
    return name[name.index("{") + 1 : name.index("}")]


EntryId = tuple[int, int]  # a stream id "ms-n", comparable


def parse_id(stream_id: bytes | str) -> EntryId:
    """A stream id "ms-n" as a sortable pair."""
    ms, _, n = _text(stream_id).partition("-")
    return int(ms), int(n or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class _Snapshot:
    id: str  # the newest stream entry it covers
    label: str
    ts: float

    @property
    def field(self) -> str:
        return f"{self.id}|{self.label}"

    @property
    def order(self) -> tuple[int, int, str]:
        return (*parse_id(self.id), self.label)


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    update: bytes
    ts: float


@dataclass(frozen=True, slots=True)
class _Read:
    """One consistent read of a board: a snapshot (or none) and the log entries after it."""

    snapshot: _Snapshot | None
    data: bytes | None
    entries: list[_Entry]
    index: list[_Snapshot]
    trimmed: str | None

    @property
    def updates(self) -> list[bytes]:
        return ([self.data] if self.data is not None else []) + [e.update for e in self.entries]

    @property
    def last_id(self) -> str:
        if self.entries:
            return self.entries[-1].id
        return self.snapshot.id if self.snapshot is not None else START


def _parse_index(raw: dict[bytes, bytes]) -> list[_Snapshot]:
    snapshots = []
    for field, ts in raw.items():
        stream_id, _, label = _text(field).partition("|")
        snapshots.append(_Snapshot(stream_id, label, float(ts)))
    return sorted(snapshots, key=lambda s: s.order)


def _newest(index: list[_Snapshot]) -> _Snapshot | None:
    return index[-1] if index else None


@contextlib.contextmanager
def _redis_errors(what: str) -> Iterator[None]:
    """Any Redis or socket failure becomes a StorageError: refuse clearly, never pretend."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StorageError(f"redis {what} failed: {type(exc).__name__}: {exc}") from exc


def connect(url: str, *, socket_timeout: float = 5.0, max_connections: int = 32, retries: int = 2) -> Redis:
    """A client on `url` that keeps bytes as bytes, times out instead of hanging, and retries
    a command `retries` times on a fresh connection (after a Redis restart the pooled sockets are dead).
    A retried XADD may store an update twice: harmless, CRDT updates are idempotent.

    The pool is bounded and blocking: a burst of appends waits for a free connection (at most
    `socket_timeout`) instead of opening one socket per concurrent update.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=socket_timeout,
        decode_responses=False,
        socket_timeout=socket_timeout,
        socket_connect_timeout=3.0,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return Redis(connection_pool=pool)


class RedisStorage(Storage):
    def __init__(self, url: str, log_retention: float | None = DAY) -> None:
        """`log_retention`: seconds log entries are kept after a snapshot covers them
        (None: never trim; the log then grows with every update)."""
        self.url = url
        self.log_retention = log_retention
        # Tags this process's log entries and presence messages (the fan-out skips its own).
        self.instance_id = secrets.token_hex(8).encode()
        self._client: Redis | None = None
        self._release: Callable[..., object] | None = None
        self._append: Callable[..., Awaitable[bytes]] | None = None

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise StorageError("storage is closed")
        return self._client

    async def open(self) -> None:
        self._client = connect(self.url)
        self._release = self._client.register_script(_RELEASE)
        self._append = self._client.register_script(_APPEND)  # type: ignore[assignment]
        with _redis_errors(f"connection to {self.url}"):
            await self._client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose(close_connection_pool=True)
            self._client = None

    # --- the hot path -----------------------------------------------------------------------

    async def append(self, board: str, update: bytes) -> str:
        if self._append is None:
            raise StorageError("storage is closed")
        with _redis_errors("append"):
            stream_id = await self._append(
                keys=[log_key(board)], args=[update, self.instance_id, b"%.6f" % time.time(), updates_channel(board)]
            )
        return _text(stream_id)

    # --- boards -------------------------------------------------------------------------------

    async def create(self, board: str) -> bool:
        with _redis_errors("create"):
            return bool(await self.client.hsetnx(BOARDS_KEY, board, b"%.6f" % time.time()))

    async def exists(self, board: str) -> bool:
        with _redis_errors("exists"):
            return bool(await self.client.hexists(BOARDS_KEY, board))

    async def archive(self, board: str) -> bool:
        with _redis_errors("archive"):
            if not await self.client.hexists(BOARDS_KEY, board):
                return False
            return bool(await self.client.hsetnx(ARCHIVED_KEY, board, b"%.6f" % time.time()))

    async def list_boards(self, include_archived: bool = False) -> list[BoardRecord]:
        with _redis_errors("list boards"):
            created = {_text(b): float(t) for b, t in (await self.client.hgetall(BOARDS_KEY)).items()}
            archived = {_text(b): float(t) for b, t in (await self.client.hgetall(ARCHIVED_KEY)).items()}
            boards = sorted(b for b in created if include_archived or b not in archived)
            async with self.client.pipeline(transaction=False) as pipe:
                for board in boards:
                    pipe.xrevrange(log_key(board), "+", "-", count=1)
                newest = await pipe.execute()
        records = []
        for board, last in zip(boards, newest):
            updated = float(last[0][1][b"t"]) if last else created[board]
            records.append(BoardRecord(board, created[board], updated, archived.get(board)))
        return records

    # --- reading -----------------------------------------------------------------------------

    async def _read(self, board: str, pick: Callable[[list[_Snapshot]], _Snapshot | None]) -> _Read:
        """Read a snapshot chosen by `pick` and the log entries after it, atomically.

        WATCH on the snapshot index: a compaction that lands between choosing the snapshot and
        reading the log (and might trim entries we are about to read) makes us read again.
        """
        snaps, log = key(board, "snapshots"), log_key(board)
        while True:
            async with self.client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(snaps)
                    index = _parse_index(await pipe.hgetall(snaps))
                    trimmed = await pipe.get(key(board, "trimmed"))
                    chosen = pick(index)
                    pipe.multi()
                    if chosen is not None:
                        pipe.get(key(board, f"snap:{chosen.field}"))
                    pipe.xrange(log, f"({chosen.id}" if chosen else "-", "+")
                    results = await pipe.execute()
                except WatchError:
                    continue
            entries = results[-1]
            return _Read(
                snapshot=chosen,
                data=results[0] if chosen is not None else None,
                entries=[_Entry(_text(i), f[b"u"], float(f[b"t"])) for i, f in entries],
                index=index,
                trimmed=_text(trimmed) if trimmed is not None else None,
            )

    async def load(self, board: str) -> StoredBoard | None:
        with _redis_errors("load"):
            if not await self.client.hexists(BOARDS_KEY, board):
                return None
            read = await self._read(board, _newest)
        if read.snapshot is not None and read.data is None:
            raise StorageError(f"snapshot {read.snapshot.field} of {board} is missing")
        return StoredBoard(updates=read.updates, last_seq=read.last_id)

    async def state_at(self, board: str, ts: float) -> list[bytes] | None:
        def at_or_before(index: list[_Snapshot]) -> _Snapshot | None:
            return _newest([s for s in index if s.ts <= ts])

        with _redis_errors("state_at"):
            if not await self.client.hexists(BOARDS_KEY, board):
                return None
            read = await self._read(board, at_or_before)
        base = [read.data] if read.data is not None else []
        if read.trimmed is not None and parse_id(read.snapshot.id if read.snapshot else START) < parse_id(read.trimmed):
            return base  # the log after that snapshot was trimmed: snapshot granularity
        return base + [e.update for e in read.entries if e.ts <= ts]

    async def log_length(self, board: str) -> int:
        with _redis_errors("log length"):
            read = await self._read(board, _newest)
        return len(read.entries)

    async def snapshots(self, board: str) -> list[SnapshotRecord]:
        with _redis_errors("snapshots"):
            index = _parse_index(await self.client.hgetall(key(board, "snapshots")))
        return [SnapshotRecord(board=board, seq=s.id, ts=s.ts, label=s.label) for s in index]

    # --- compaction ----------------------------------------------------------------------------

    async def compact(self, board: str, label: str = "") -> SnapshotRecord | None:
        """Snapshot the board up to the last entry read; one process at a time (a lease).

        An unlabelled compaction gives up when another process holds the lease (that one, or
        the next, covers the same entries); a labelled one waits for it. Entries appended
        while merging are after the id we read: the next load reads them after the snapshot.
        """
        token = secrets.token_hex(8)
        with _redis_errors("compact"):
            if not await self._acquire(board, token, wait=bool(label)):
                return None
            try:
                return await self._compact_leased(board, label)
            finally:
                assert self._release is not None
                await self._release(keys=[key(board, "lease")], args=[token])  # type: ignore[misc]

    async def _acquire(self, board: str, token: str, wait: bool) -> bool:
        deadline = time.monotonic() + (LEASE_WAIT_SECONDS if wait else 0)
        while True:
            if await self.client.set(key(board, "lease"), token, nx=True, px=LEASE_MS):
                return True
            if time.monotonic() >= deadline:
                if wait:
                    raise StorageError(f"compaction of {board} is busy elsewhere")
                return False
            await asyncio.sleep(0.1)

    async def _compact_leased(self, board: str, label: str) -> SnapshotRecord | None:
        if not await self.client.hexists(BOARDS_KEY, board):
            return None
        read = await self._read(board, _newest)
        if read.snapshot is not None and not read.entries and not label:
            return None  # nothing new since the last snapshot
        if read.entries:
            ts = read.entries[-1].ts
        else:
            ts = read.snapshot.ts if read.snapshot is not None else time.time()
        data = await asyncio.to_thread(merge, read.updates)
        snapshot = _Snapshot(read.last_id, label, ts)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key(board, f"snap:{snapshot.field}"), data)
            pipe.hset(key(board, "snapshots"), snapshot.field, repr(ts))
            await pipe.execute()
        await self._trim(board, [*read.index, snapshot], read.trimmed)
        return SnapshotRecord(board=board, seq=snapshot.id, ts=ts, label=label)

    async def _trim(self, board: str, index: list[_Snapshot], trimmed: str | None) -> None:
        """Drop log entries older than the newest snapshot that is past the retention time."""
        if self.log_retention is None:
            return
        cutoff = time.time() - self.log_retention
        old = sorted((s for s in index if s.ts <= cutoff), key=lambda s: s.order)
        if not old or old[-1].id == START:
            return
        target = old[-1].id
        if trimmed is not None and parse_id(target) <= parse_id(trimmed):
            return
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key(board, "trimmed"), target)  # recorded with the cut, in one transaction
            pipe.xtrim(log_key(board), minid=target, approximate=False)
            await pipe.execute()
        log.info("trimmed the log below %s", target, extra={"board": board})
