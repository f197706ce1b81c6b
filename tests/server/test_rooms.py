"""Rooms: one shared load, failed loads never cached or stored empty, idle unload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from server import rooms as rooms_module
from server.metrics import METRICS
from server.protocol import KIND_UPDATE, encode_update, parse_message
from server.rooms import Room, Rooms, UnknownBoard
from server.settings import Settings
from server.storage.base import StorageError, StoredBoard
from server.storage.sqlite import SQLiteStorage


class CountingStorage(SQLiteStorage):
    """Real SQLite storage that counts loads and can be told to fail them."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.loads = 0
        self.fail_loads = 0

    async def load(self, board: str) -> StoredBoard | None:
        self.loads += 1
        await asyncio.sleep(0.05)  # a slow disk: concurrent joins overlap
        if self.fail_loads:
            self.fail_loads -= 1
            raise StorageError("disk unavailable")
        return await super().load(board)


def _update(key: str) -> bytes:
    doc = Doc()
    doc.get("notes", type=Map)[key] = 1.0
    return doc.get_update()


@pytest.fixture
async def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = CountingStorage(tmp_path / "p.sqlite3")
    await s.open()
    yield s
    await s.close()


async def test_thirty_concurrent_joins_share_one_load(storage: CountingStorage) -> None:
    await storage.create("b")
    await storage.append("b", _update("n1"))
    rooms = Rooms(storage, None, Settings(guard=False))
    joined = await asyncio.gather(*(rooms.get("b") for _ in range(30)))
    assert storage.loads == 1
    assert all(room is joined[0] for room in joined)
    assert joined[0].doc.get("notes", type=Map).to_py() == {"n1": 1.0}


async def test_failed_load_is_not_cached_nor_stored_empty(storage: CountingStorage) -> None:
    await storage.create("b")
    await storage.append("b", _update("precious"))
    rooms = Rooms(storage, None, Settings(guard=False))
    storage.fail_loads = 1
    results = await asyncio.gather(rooms.get("b"), rooms.get("b"), return_exceptions=True)
    assert all(isinstance(r, StorageError) for r in results)
    assert "b" not in rooms.rooms
    loaded = await storage.load("b")
    assert loaded is not None and len(loaded.updates) == 1  # nothing written over it
    room = await rooms.get("b")  # the next try loads for real
    assert room.doc.get("notes", type=Map).to_py() == {"precious": 1.0}


async def test_unknown_board_without_auto_create(storage: CountingStorage) -> None:
    rooms = Rooms(storage, None, Settings(guard=False, auto_create=False))
    with pytest.raises(UnknownBoard):
        await rooms.get("nope")
    assert await storage.exists("nope") is False


async def test_idle_board_is_compacted_and_unloaded(storage: CountingStorage) -> None:
    from server.connection import Connection
    from server.limits import RateLimit

    rooms = Rooms(storage, None, Settings(guard=False, idle_unload_seconds=0.05))
    room = await rooms.get("b")
    await room.receive_update(_update("n1"), sender=None)

    class _WS:  # a connection that never sends: only its identity matters here
        scope: dict = {}

    conn = Connection(_WS(), "b", RateLimit(1, 1, 1, 1))  # type: ignore[arg-type]
    room.add(conn)
    rooms.release(room, conn)
    await asyncio.sleep(0.3)
    assert "b" not in rooms.rooms
    assert [s.seq for s in await storage.snapshots("b")] == [1]
    again = await rooms.get("b")
    assert again is not room and again.doc.get("notes", type=Map).to_py() == {"n1": 1.0}


async def test_server_side_edit_goes_through_the_log(storage: CountingStorage) -> None:
    rooms = Rooms(storage, None, Settings(guard=False))
    room = await rooms.get("b")
    await room.edit(lambda doc: doc.get("notes", type=Map).__setitem__("api", 2.0))
    assert room.doc.get("notes", type=Map).to_py() == {"api": 2.0}
    loaded = await storage.load("b")
    assert loaded is not None and len(loaded.updates) == 1


async def test_history_replays_to_the_live_doc_and_rebases(storage: CountingStorage, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from server import rooms as rooms_module

    monkeypatch.setattr(rooms_module, "REBASE_AFTER", 5)
    rooms = Rooms(storage, None, Settings(guard=False))
    room = await rooms.get("b")
    for i in range(4):
        await room.receive_update(_update(f"n{i}"), sender=None)
    assert len(room.history) == 4
    replay = rooms_module.build_doc(room.history)
    assert replay.get("notes", type=Map).to_py() == room.doc.get("notes", type=Map).to_py()
    for i in range(4, 8):
        await room.receive_update(_update(f"n{i}"), sender=None)
    assert len(room.history) < 5  # rebased into one state, then grew again
    assert len(room.doc.get("notes", type=Map)) == 8
    assert rooms_module.build_doc(room.history).get("notes", type=Map).to_py() == room.doc.get("notes", type=Map).to_py()


async def test_without_guard_a_failed_store_evicts_the_room(storage: CountingStorage) -> None:
    """--no-guard applies before storing: if the store fails, the live doc is ahead of the log,
    so the room is dropped and the next client gets the board as stored."""
    rooms = Rooms(storage, None, Settings(guard=False))
    room = await rooms.get("b")
    await room.receive_update(_update("kept"), sender=None)

    async def broken(board: str, update: bytes) -> int:
        raise StorageError("disk full")

    storage.append = broken  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        await room.receive_update(_update("lost"), sender=None)
    assert room.diverged
    await rooms.evict(room, "test")
    del storage.append
    again = await rooms.get("b")
    assert again is not room
    assert again.doc.get("notes", type=Map).to_py() == {"kept": 1.0}


async def test_with_guard_a_failed_store_applies_nothing_and_reseeds_the_replica(storage: CountingStorage) -> None:
    """The replica has applied an update the store then refused: the live doc must not apply
    it, and the replica is re-seeded from the live doc before the next check."""
    from server.guard import Guard

    rooms = Rooms(storage, None, Settings())
    guard = rooms.guard = Guard(rooms.state_of)
    await guard.start()
    try:
        room = await rooms.get("b")
        await room.receive_update(_update("kept"), sender=None)
        assert "b" in guard._worker_for("b").seeded

        def broken(board: str, update: bytes, done) -> None:  # type: ignore[no-untyped-def]
            done(StorageError("disk full"))

        storage.append_soon = broken  # type: ignore[method-assign]
        with pytest.raises(StorageError):
            await room.receive_update(_update("lost"), sender=None)
        assert room.doc.get("notes", type=Map).to_py() == {"kept": 1.0}
        assert not room.diverged
        assert "b" not in guard._worker_for("b").seeded  # the replica is rebuilt on the next check
        del storage.append_soon
        await room.receive_update(_update("later"), sender=None)
        assert room.doc.get("notes", type=Map).to_py() == {"kept": 1.0, "later": 1.0}
        assert len((await storage.load("b")).updates) == 2  # type: ignore[union-attr]
    finally:
        await guard.stop()


class Recorder:
    """A receiver that records each socket write: how many messages went out together."""

    closed = False
    behind = None
    transport = None

    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []

    def write(self, messages: list[tuple[bytes, bytes]], largest: int, kind: int = 0) -> None:
        self.writes.append([payload for payload, _ in messages])


async def test_batch_window_holds_a_busy_boards_updates_and_relays_them_together(storage: CountingStorage) -> None:
    """The first update on a quiet board goes at once; the ones arriving while its window is
    open wait for it to close and reach each receiver in one write, in arrival order, stored."""
    rooms = Rooms(storage, None, Settings(guard=False, batch_window=1.0))
    room = await rooms.get("b")
    receiver = Recorder()
    room.connections.add(receiver)  # type: ignore[arg-type]
    updates = [_update(f"n{i}") for i in range(4)]

    await room.receive_update(updates[0], sender=None)
    await asyncio.sleep(0)  # the relay leaves at the end of the iteration
    assert len(receiver.writes) == 1  # not held: the board was quiet

    held = []
    for update in updates[1:]:
        held.append(asyncio.ensure_future(room.receive_update(update, sender=None)))
        await asyncio.sleep(0.01)  # spread out: without the window each would be its own write
    assert len(receiver.writes) == 1 and not any(task.done() for task in held)
    await asyncio.gather(*held)
    await asyncio.sleep(0)
    assert len(receiver.writes) == 2
    assert receiver.writes[1] == [encode_update(u) for u in updates[1:]]
    assert len((await storage.load("b")).updates) == 4  # type: ignore[union-attr]
    assert len(room.doc.get("notes", type=Map)) == 4


async def test_a_held_update_that_is_cancelled_does_not_cancel_the_others(storage: CountingStorage) -> None:
    rooms = Rooms(storage, None, Settings(guard=False, batch_window=0.2))
    room = await rooms.get("b")
    await room.receive_update(_update("first"), sender=None)  # opens the window
    leaving = asyncio.ensure_future(room.receive_update(_update("leaving"), sender=None))
    staying = asyncio.ensure_future(room.receive_update(_update("staying"), sender=None))
    await asyncio.sleep(0.01)
    leaving.cancel()  # its client disconnected while the update was held
    await staying
    assert leaving.cancelled()
    assert set(room.doc.get("notes", type=Map).to_py()) == {"first", "staying"}


class SlowReceiver(Recorder):
    """A receiver on a slow or far link: `queued` is what it has been sent and not acknowledged
    yet; a lag probe comes back `rtt` seconds after it left, but never while `probe_answered`
    is False (its link holds a backlog)."""

    def __init__(self, rtt: float = 0.001) -> None:  # > 0: a round trip of 0 means "not known"
        super().__init__()
        self.behind: bytes | None = None
        self.behind_since = 0.0
        self.queued = 0
        self.looked = 0  # how often the room read its queue
        self.transport = self  # type: ignore[assignment]
        self.rtt = rtt
        self.round_trip = 0.0
        self.probe_answered = True
        self.probes = 0
        self.probe_sent = float("-inf")
        self.acked = 0  # bytes it has acknowledged
        self._out = False

    def queued_bytes(self) -> int:
        self.looked += 1
        return self.queued

    def bytes_acked(self) -> int:
        return self.acked

    watch_unsent = False
    holding = False  # nothing held here: what it was written is in `queued`

    def drop_held(self) -> int:
        return 0

    def release_held(self) -> bool:
        return True

    def send_probe(self) -> None:
        self.probes += 1
        self.probe_sent = asyncio.get_running_loop().time()
        self._out = True

    def probe_waiting(self) -> float:
        waited = asyncio.get_running_loop().time() - self.probe_sent
        if self._out and self.probe_answered and waited >= self.rtt:
            self._out = False
            self.round_trip = min(self.round_trip, waited) if self.round_trip else waited
        return waited if self._out else 0.0

    @property
    def probing(self) -> bool:
        self.probe_waiting()  # a probe due back is back
        return self._out


def _move(doc: Doc, x: int) -> bytes:
    before = doc.get_state()
    doc.get("notes", type=Map)["n"]["x"] = x
    return doc.get_update(before)


def _writer() -> Doc:
    """A client's board with one post-it `n` to move."""
    writer = Doc()
    writer.get("notes", type=Map)["n"] = Map({"x": 0, "text": "ɛ ɔ ɲ ŋ"})
    return writer


async def _moves(room: Room, writer: Doc, xs: range, every: float = 0.005) -> None:
    """Move `n` to each x in turn, relayed `every` s apart (~6 KB/s at the default: busy)."""
    for x in xs:
        await room.receive_update(_move(writer, x), sender=None)
        await asyncio.sleep(every)


def _quick_looks(monkeypatch: pytest.MonkeyPatch, lag_limit: float) -> None:
    """Backlog looks, lag probes and the lag limit in tens of milliseconds, not seconds."""
    monkeypatch.setattr(rooms_module, "BACKLOG_CHECK_SECONDS", 0.01)
    monkeypatch.setattr(rooms_module, "LAG_PROBE_SECONDS", 0.02)
    monkeypatch.setattr(rooms_module, "LAG_LIMIT_SECONDS", lag_limit)


def _replayed(writes: list[list[bytes]]) -> Doc:
    """What a receiver has after applying every update message it was sent."""
    seen = Doc()
    for write in writes:
        for message in write:
            seen.apply_update(parse_message(message).payload)
    return seen


async def test_a_receiver_that_falls_behind_gets_one_catch_up_instead_of_every_move(
    storage: CountingStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quick_looks(monkeypatch, lag_limit=0.03)
    rooms = Rooms(storage, None, Settings(guard=False, relay_backlog_bytes=4096))
    room = await rooms.get("b")
    fast, slow = Recorder(), SlowReceiver()
    room.connections.add(fast)  # type: ignore[arg-type]
    room.add(slow)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not slow.probing and slow.round_trip  # its join probe is back: the link's round trip is known
    writer = _writer()
    first = writer.get_update()
    await room.receive_update(first, sender=None)
    await asyncio.sleep(0)
    assert fast.writes == slow.writes == [[encode_update(first)]]

    behind_before = METRICS.receivers_behind
    slow.queued = 10 * 4096  # its link stalls: the backlog grows past relay_backlog_bytes …
    slow.probe_answered = False  # … and holds the lag probe that this makes the room send it
    burst = [_move(writer, x) for x in range(1, 41)]
    await asyncio.sleep(0.02)
    for move in burst:  # enough relayed for a look
        await room.receive_update(move, sender=None)
    await asyncio.sleep(0)
    assert slow.probes == 2 and slow.behind is None  # bytes alone decide nothing (a far link has them in flight)
    await asyncio.sleep(0.06)  # the probe is late: behind (timers look, as nothing is relayed)
    assert METRICS.receivers_behind == behind_before + 1 and slow.behind is not None
    moves = [_move(writer, x) for x in range(41, 81)]
    for move in moves:
        await room.receive_update(move, sender=None)
    await asyncio.sleep(0)
    assert len(fast.writes) == 81 and len(slow.writes) == 41  # nothing relayed to it after the fall

    slow.queued = 1000  # drained below a quarter of the limit, the probe is back: a timer notices
    slow.probe_answered = True
    await asyncio.sleep(0.05)
    assert slow.behind is None and len(slow.writes) == 42
    [catch_up] = slow.writes[-1]
    message = parse_message(catch_up)
    assert message.kind == KIND_UPDATE
    assert len(catch_up) < sum(len(encode_update(m)) for m in moves) / 4  # the result, not the moves
    seen = _replayed(slow.writes)
    assert seen.get("notes", type=Map).to_py() == room.doc.get("notes", type=Map).to_py()
    assert seen.get("notes", type=Map)["n"]["x"] == 80

    await room.receive_update(_move(writer, 81), sender=None)  # caught up: relayed again
    await asyncio.sleep(0)
    assert len(slow.writes) == 43


async def _fallen(room: Room, writer: Doc, slow: "SlowReceiver") -> None:
    """Make `slow` fall behind in a busy room: its link holds the moves and the lag probe."""
    room.add(slow)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not slow.probing and slow.round_trip  # its join probe is back
    await room.receive_update(writer.get_update(), sender=None)
    slow.queued, slow.probe_answered = 10 * 4096, False
    await _moves(room, writer, range(1, 40))
    assert slow.behind is not None


async def _drain_while_busy(room: Room, writer: Doc, slow: SlowReceiver, link_rate: int, seconds: float,
                            x: int) -> int:
    """For `seconds`, two moves every 5 ms while `slow` acknowledges `link_rate` bytes/s and
    its queue drains as much; returns the next x."""
    loop = asyncio.get_running_loop()
    started = last = loop.time()
    while last - started < seconds:
        for _ in range(2):
            await room.receive_update(_move(writer, x), sender=None)
            x += 1
        await asyncio.sleep(0.005)  # the moves are relayed
        now = loop.time()
        drained, last = int(link_rate * (now - last)), now
        slow.acked += drained
        slow.queued = max(0, slow.queued - drained)
    return x


@pytest.mark.parametrize("link_rate", [1_000, 200_000])
async def test_a_receiver_whose_link_cannot_carry_the_busy_room_gets_a_diff_per_round_trip(
    storage: CountingStorage, monkeypatch: pytest.MonkeyPatch, link_rate: int
) -> None:
    """After a fall, relaying every move again to a link slower than the room's moves only
    builds the next backlog: while the room stays busy that receiver gets a diff each time the
    last one has arrived. A link that drained its backlog fast enough gets the moves again."""
    _quick_looks(monkeypatch, lag_limit=0.03)
    rooms = Rooms(storage, None, Settings(guard=False, relay_backlog_bytes=4096))
    room = await rooms.get("b")
    writer, slow = _writer(), SlowReceiver()
    await _fallen(room, writer, slow)

    # Its backlog drains at `link_rate` bytes/s (what its peer acknowledges) while the room
    # keeps moving post-its (~12 KB/s).
    slow.probe_answered, slow.queued = True, 1100
    catch_ups = METRICS.catch_ups
    x = await _drain_while_busy(room, writer, slow, link_rate, seconds=0.4, x=40)
    if link_rate < 3_000:  # far slower than the room: diffs, one after the other, nothing else
        assert slow.behind is not None and METRICS.catch_ups - catch_ups >= 2
        written, moved = len(slow.writes), x
        x = await _drain_while_busy(room, writer, slow, link_rate, seconds=0.1, x=x)
        assert slow.behind is not None and 1 <= len(slow.writes) - written < (x - moved) // 2
        await asyncio.sleep(0.1)  # the room is quiet: relays resume, after a last diff
    assert slow.behind is None
    seen = _replayed(slow.writes)
    assert seen.get("notes", type=Map).to_py() == room.doc.get("notes", type=Map).to_py()
    written = len(slow.writes)
    await room.receive_update(_move(writer, x), sender=None)
    await asyncio.sleep(0)
    assert len(slow.writes) == written + 1  # relayed again


async def test_a_quiet_room_does_not_look_at_its_receivers_after_every_relay(
    storage: CountingStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most boards move a post-it now and then: reading each receiver's socket queue after each
    relay would cost a system call per receiver for nothing. A burst gets a look."""
    monkeypatch.setattr(rooms_module, "BACKLOG_CHECK_SECONDS", 0.01)
    rooms = Rooms(storage, None, Settings(guard=False, relay_backlog_bytes=4096))
    room = await rooms.get("b")
    receiver = SlowReceiver()
    room.connections.add(receiver)  # type: ignore[arg-type]
    writer = _writer()
    await room.receive_update(writer.get_update(), sender=None)
    await asyncio.sleep(0.2)
    looked = receiver.looked
    await _moves(room, writer, range(1, 6), every=0.05)  # well under 2 KB/s
    assert len(receiver.writes) == 6 and receiver.looked == looked
    await _moves(room, writer, range(6, 60), every=0)  # a burst: over a quarter of relay_backlog_bytes
    await asyncio.sleep(0.03)
    assert receiver.looked > looked


async def test_a_far_receiver_that_keeps_up_is_relayed_every_move(
    storage: CountingStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long round trip is not a backlog: the moves in flight fill the socket's queue past
    relay_backlog_bytes and every probe takes the round trip to come back, yet the receiver
    keeps up; it must be relayed every move, not caught up in jumps. Nor is a queue of one round
    trip, which TCP makes and drains by itself; a longer one is."""
    _quick_looks(monkeypatch, lag_limit=0.05)
    rooms = Rooms(storage, None, Settings(guard=False, relay_backlog_bytes=4096))
    room = await rooms.get("b")
    far = SlowReceiver(rtt=0.08)  # longer than LAG_LIMIT_SECONDS
    far.queued = 3 * 4096  # in flight
    room.add(far)  # type: ignore[arg-type]
    await asyncio.sleep(0.1)  # the probe sent as it joins is back: the link's round trip is known
    writer = _writer()
    await room.receive_update(writer.get_update(), sender=None)
    await _moves(room, writer, range(1, 60))  # busy: probed
    await asyncio.sleep(0)
    assert far.probes >= 3 and far.round_trip >= 0.08  # the one at join, and the busy room's
    assert far.behind is None and len(far.writes) == 60

    far.rtt = 0.16  # TCP stalls for a round trip (a slow start, BBR re-measuring): it drains alone
    await _moves(room, writer, range(60, 100))
    assert far.behind is None and len(far.writes) == 100

    far.probe_answered = False  # now a backlog that grows: late by more than a round trip
    await _moves(room, writer, range(100, 140))
    assert far.behind is not None


async def test_a_receiver_behind_a_proxy_is_found_behind_by_its_late_lag_probe(
    storage: CountingStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy nothing shows in the socket's queue; the lag probe of a busy room does."""
    _quick_looks(monkeypatch, lag_limit=0.05)
    rooms = Rooms(storage, None, Settings(guard=False))
    room = await rooms.get("b")
    proxied = SlowReceiver()
    room.add(proxied)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not proxied.probing and proxied.round_trip  # its join probe is back
    writer = _writer()
    await room.receive_update(writer.get_update(), sender=None)
    proxied.probe_answered = False  # the proxy holds what it was sent: the probe waits
    await _moves(room, writer, range(1, 30))  # busy
    assert proxied.probes >= 1 and proxied.behind is not None and proxied.queued == 0
    relayed = len(proxied.writes)
    await room.receive_update(_move(writer, 30), sender=None)
    await asyncio.sleep(0)
    assert len(proxied.writes) == relayed  # behind: not relayed to

    proxied.probe_answered = True  # the proxy's buffers drained
    await asyncio.sleep(0.1)
    assert proxied.behind is None and len(proxied.writes) == relayed + 1
    assert _replayed(proxied.writes).get("notes", type=Map).to_py() == room.doc.get("notes", type=Map).to_py()
