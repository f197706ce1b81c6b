"""What only the Redis backend has: the compaction lease, log trimming, refusing on an outage.
The behaviour it shares with SQLite is tested in test_backends.py."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from server.storage import redis as redis_storage
from server.storage.base import StorageError
from server.storage.redis import RedisStorage, key, log_key
from tests.server.storage.test_backends import _content, _edits
from tests.support.redis import RedisServer, redis_server, shared_redis  # noqa: F401  (fixtures)


@pytest.fixture
async def storage(shared_redis: RedisServer) -> AsyncIterator[RedisStorage]:  # noqa: F811
    storage = RedisStorage(shared_redis.url)
    await storage.open()
    await storage.client.flushdb()
    await storage.create("b")
    try:
        yield storage
    finally:
        await storage.close()


async def test_entries_carry_update_origin_and_time(storage: RedisStorage) -> None:
    update = _edits([("set", 1, 1.0)])[0]
    stream_id = await storage.append("b", update)
    [(entry_id, fields)] = await storage.client.xrange(log_key("b"))
    assert entry_id.decode() == stream_id
    assert fields[b"u"] == update and fields[b"o"] == storage.instance_id
    assert abs(float(fields[b"t"]) - time.time()) < 5
    assert log_key("b") == "palabre:{b}:log"


async def test_a_held_lease_makes_other_compactions_step_aside(storage: RedisStorage) -> None:
    await storage.append("b", _edits([("set", 1, 1.0)])[0])
    await storage.client.set(key("b", "lease"), "someone-else", px=60_000)
    assert await storage.compact("b") is None
    assert await storage.log_length("b") == 1
    await storage.client.delete(key("b", "lease"))
    assert await storage.compact("b") is not None
    assert await storage.log_length("b") == 0
    assert await storage.client.get(key("b", "lease")) is None  # released after use


async def test_two_processes_compacting_at_once_write_one_snapshot(storage: RedisStorage) -> None:
    other = RedisStorage(storage.url)
    await other.open()
    try:
        for update in _edits([("set", i, float(i)) for i in range(50)]):
            await storage.append("b", update)
        results = await asyncio.gather(storage.compact("b"), other.compact("b"))
        assert sum(r is not None for r in results) == 1
        assert len(await storage.snapshots("b")) == 1
    finally:
        await other.close()


async def test_updates_appended_during_a_compaction_are_not_lost(
    storage: RedisStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    updates = _edits([("set", i, float(i)) for i in range(40)])
    for update in updates[:20]:
        await storage.append("b", update)
    merging = threading.Event()
    real_merge = redis_storage.merge

    def slow_merge(parts):  # type: ignore[no-untyped-def]
        merging.set()
        time.sleep(0.3)
        return real_merge(parts)

    monkeypatch.setattr(redis_storage, "merge", slow_merge)
    compaction = asyncio.ensure_future(storage.compact("b"))
    while not merging.is_set():
        await asyncio.sleep(0.01)
    for update in updates[20:]:
        await storage.append("b", update)  # written while the merge runs
    record = await compaction
    assert record is not None
    assert await storage.log_length("b") == 20
    loaded = await storage.load("b")
    assert loaded is not None and _content(loaded.updates) == _content(updates)


async def test_trimming_keeps_loads_whole_and_history_at_snapshot_granularity(shared_redis: RedisServer) -> None:  # noqa: F811
    storage = RedisStorage(shared_redis.url, log_retention=0)  # trim as soon as a snapshot exists
    await storage.open()
    await storage.client.flushdb()
    await storage.create("b")
    updates = _edits([("set", i, float(i)) for i in range(6)])
    for update in updates[:3]:
        await storage.append("b", update)
    first = await storage.compact("b")
    await asyncio.sleep(0.02)
    between = time.time()
    await asyncio.sleep(0.02)
    for update in updates[3:5]:
        await storage.append("b", update)
    second = await storage.compact("b")
    await storage.append("b", updates[5])
    assert first is not None and second is not None
    assert await storage.client.xlen(log_key("b")) == 2  # the entry the snapshot covers + the new one
    loaded = await storage.load("b")
    assert loaded is not None and _content(loaded.updates) == _content(updates)
    # Before the newest trimmed-to snapshot: the snapshot at or before T, never a log with a hole.
    past = await storage.state_at("b", between)
    assert past is not None and set(_content(past)["notes"]) == {"n0", "n1", "n2"}
    now = await storage.state_at("b", time.time())
    assert now is not None and _content(now) == _content(updates)
    await storage.close()


async def test_redis_down_refuses_clearly_and_recovers(redis_server: RedisServer) -> None:  # noqa: F811
    storage = RedisStorage(redis_server.url)
    await storage.open()
    await storage.create("b")
    first, second = _edits([("set", 1, 1.0), ("set", 2, 2.0)])
    await storage.append("b", first)
    redis_server.kill()
    with pytest.raises(StorageError, match="append"):
        await storage.append("b", second)
    with pytest.raises(StorageError):
        await storage.load("b")
    redis_server.start()  # same port, same AOF directory
    await storage.append("b", second)
    loaded = await storage.load("b")
    assert loaded is not None and set(_content(loaded.updates)["notes"]) == {"n1", "n2"}
    await storage.close()


async def test_open_fails_clearly_without_redis(redis_server: RedisServer) -> None:  # noqa: F811
    redis_server.stop()
    storage = RedisStorage(redis_server.url)
    with pytest.raises(StorageError, match="connection"):
        await storage.open()
    await storage.close()
