"""The Redis fan-out in one process: announcements, catching up from a load position without a
gap or a duplicate, resubscribing. Two real server processes are tested in tests/test_scaleout.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pycrdt import Doc, Map

from server.rooms import Room
from server.scaleout import RedisFanout
from server.settings import Settings
from server.storage.redis import RedisStorage, parse_id, updates_channel
from tests.support.redis import RedisServer, shared_redis  # noqa: F401  (fixture)
from tests.support.wait import eventually


def _note_update(doc: Doc, key: str) -> bytes:
    before = doc.get_state()
    doc.get("notes", type=Map)[key] = key
    return doc.get_update(before)


@pytest.fixture
async def writer(shared_redis: RedisServer) -> AsyncIterator[RedisStorage]:  # noqa: F811
    storage = RedisStorage(shared_redis.url)
    await storage.open()
    await storage.client.flushdb()
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture
async def follower(shared_redis: RedisServer) -> AsyncIterator[tuple[RedisStorage, RedisFanout]]:  # noqa: F811
    """Another process's storage and fan-out (its own origin id), subscribed."""
    storage = RedisStorage(shared_redis.url)
    await storage.open()
    fanout = RedisFanout(Settings(), storage)
    await fanout.start()
    await eventually(lambda: fanout._subscribed, "the subscriptions to be confirmed")
    try:
        yield storage, fanout
    finally:
        await fanout.stop()
        await storage.close()


def _loaded_room(follower: tuple[RedisStorage, RedisFanout], position: str = "0-0",
                 stored: tuple[bytes, ...] = ()) -> tuple[Room, RedisFanout]:
    """Board b as a process has it after loading `stored`, the log up to `position`: a room
    whose log the fan-out follows from there."""
    storage, fanout = follower
    doc = Doc()
    for update in stored:
        doc.apply_update(update)
    room = Room("b", doc, storage, None, Settings(), fanout)
    fanout.board_loaded(room, position)
    return room, fanout


def _notes(room: Room) -> set[str]:
    return set(room.doc.get("notes", type=Map).keys())


async def test_append_announces_the_entry_in_stream_order(writer: RedisStorage) -> None:
    pubsub = writer.client.pubsub()
    await pubsub.subscribe(updates_channel("b"))
    await pubsub.get_message(timeout=1)  # the subscription's confirmation
    doc = Doc()
    updates = [_note_update(doc, f"n{i}") for i in range(3)]
    ids = [await writer.append("b", u) for u in updates]
    heard = []
    while len(heard) < 3:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None, "announcement not received"
        heard.append(message["data"].split(b" ", 3))
    await pubsub.aclose()
    assert [parse_id(stream_id) for _, stream_id, _, _ in heard] == [parse_id(i) for i in ids]
    assert [update for *_, update in heard] == updates
    assert {origin for origin, *_ in heard} == {writer.instance_id}


async def test_a_board_catches_up_from_its_load_position_then_follows(
    writer: RedisStorage, follower: tuple[RedisStorage, RedisFanout]
) -> None:
    source = Doc()
    ids = [await writer.append("b", _note_update(source, f"n{i}")) for i in range(3)]
    # Loaded up to the first entry; n1, n2 were announced before: only the stream has them.
    room, fanout = _loaded_room(follower, ids[0], (await _first(writer),))
    await eventually(lambda: _notes(room) == {"n0", "n1", "n2"}, "the catch-up from the stream")
    await writer.append("b", _note_update(source, "n3"))
    await eventually(lambda: "n3" in _notes(room), "a live announcement")
    assert len(room.history) == 3, "an entry was applied twice"  # n1, n2, n3
    fanout.board_unloaded("b")


async def test_its_own_entries_are_skipped(follower: tuple[RedisStorage, RedisFanout]) -> None:
    storage = follower[0]
    room, _ = _loaded_room(follower)
    await storage.append("b", _note_update(Doc(), "mine"))  # as if one of its clients wrote it
    other = RedisStorage(storage.url)
    await other.open()
    try:
        await other.append("b", _note_update(Doc(), "theirs"))
    finally:
        await other.close()
    await eventually(lambda: "theirs" in _notes(room), "the other process's entry")
    assert "mine" not in _notes(room)  # its own room already had it; the fan-out does not re-apply


async def test_after_a_lost_subscription_it_resubscribes_and_misses_nothing(
    writer: RedisStorage, follower: tuple[RedisStorage, RedisFanout]
) -> None:
    room, fanout = _loaded_room(follower)
    source = Doc()
    await writer.append("b", _note_update(source, "before"))
    await eventually(lambda: "before" in _notes(room), "the first entry")
    await writer.client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    await eventually(lambda: not fanout._subscribed, "the subscriber to notice")
    await writer.append("b", _note_update(source, "while-away"))  # announced to nobody
    await eventually(lambda: fanout.stats.reconnects >= 1 and "while-away" in _notes(room),
                     "the resubscription and its catch-up", timeout=15)
    await writer.append("b", _note_update(source, "after"))
    await eventually(lambda: "after" in _notes(room), "live announcements again")
    assert len(room.history) == 3, "an entry was applied twice"


async def _first(storage: RedisStorage) -> bytes:
    [(_, fields)] = await storage.client.xrange("palabre:{b}:log", count=1)
    return fields[b"u"]


async def test_a_malformed_announcement_is_ignored_and_following_goes_on(
    writer: RedisStorage, follower: tuple[RedisStorage, RedisFanout]
) -> None:
    room, fanout = _loaded_room(follower)
    await eventually(lambda: fanout._follows["b"].waiting is None, "the catch-up")
    for garbage in (b"no spaces at all", b"origin not-an-id 1.0 x", b"origin 1-0 not-a-time x"):
        await writer.client.publish(updates_channel("b"), garbage)
    await writer.append("b", _note_update(Doc(), "after"))
    await eventually(lambda: "after" in _notes(room), "the next real entry")
    assert len(room.history) == 1
