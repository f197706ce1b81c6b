"""Every storage backend keeps the same rules: durable appends, compaction that never loses an
update, history. Each scenario runs on SQLite and on a real Redis (tests/support/redis.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map

from server.storage.base import build_doc
from server.storage.base import Storage
from server.storage.sqlite import SQLiteStorage
from tests.support.redis import shared_redis  # noqa: F401  (fixture)


def _edits(ops: list[tuple[str, int, float]]) -> list[bytes]:
    """Turn generated operations into the updates a client would send, one per edit."""
    doc = Doc()
    notes = doc.get("notes", type=Map)
    strokes = doc.get("strokes", type=Array)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for op, key, value in ops:
        name = f"n{key}"
        if op == "set":
            notes[name] = Map({"x": value, "text": f"post-it {key} ɛ ɔ"})
        elif op == "delete" and name in notes:
            del notes[name]
        elif op == "append":
            strokes.append(value)
    return updates


def _content(updates: list[bytes]) -> dict:
    doc = build_doc(updates)
    return {"notes": doc.get("notes", type=Map).to_py(), "strokes": doc.get("strokes", type=Array).to_py()}


@dataclass
class SQLiteBackend:
    """Each `fresh()` is a new database file; `reopen()` opens the last one again."""

    factory: pytest.TempPathFactory
    name: str = "sqlite"
    path: Path | None = None
    fsync: str = "normal"  # "always" commits in the writer thread, "normal" on the loop

    async def fresh(self) -> Storage:
        self.path = self.factory.mktemp("db") / "p.sqlite3"
        return await self.reopen()

    async def reopen(self) -> Storage:
        assert self.path is not None
        storage = SQLiteStorage(self.path, fsync=self.fsync)  # type: ignore[arg-type]
        await storage.open()
        return storage


@dataclass
class RedisBackend:
    """Each `fresh()` empties the database; `reopen()` is a new process's view of the same data."""

    url: str
    name: str = "redis"
    opened: list[Storage] = field(default_factory=list)

    async def fresh(self) -> Storage:
        storage = await self.reopen()
        await storage.client.flushdb()  # type: ignore[attr-defined]
        return storage

    async def reopen(self) -> Storage:
        from server.storage.redis import RedisStorage  # noqa: PLC0415

        storage = RedisStorage(self.url)
        await storage.open()
        return storage


Backend = SQLiteBackend | RedisBackend


@pytest.fixture(scope="module", params=["sqlite", "sqlite-fsync-always", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path_factory)
    elif request.param == "sqlite-fsync-always":
        yield SQLiteBackend(tmp_path_factory, name=request.param, fsync="always")
    else:
        yield RedisBackend(request.getfixturevalue("shared_redis").url)


ops = st.lists(
    st.tuples(st.sampled_from(["set", "delete", "append"]), st.integers(0, 8), st.floats(-1e6, 1e6)),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(ops=ops, cut=st.integers(0, 40))
def test_reload_of_compacted_log_equals_reload_of_log(backend: Backend, ops, cut) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        storage = await backend.fresh()
        await storage.create("b")
        updates = _edits(ops)
        for update in updates[:cut]:
            await storage.append("b", update)
        await storage.compact("b")  # compaction in the middle of the stream
        for update in updates[cut:]:
            await storage.append("b", update)
        loaded = await storage.load("b")
        assert loaded is not None
        assert _content(loaded.updates) == _content(updates)
        await storage.compact("b")
        again = await storage.load("b")
        assert again is not None and len(again.updates) == 1  # one merged snapshot
        assert _content(again.updates) == _content(updates)
        await storage.close()

    asyncio.run(scenario())


async def test_unknown_board_loads_as_none(backend: Backend) -> None:
    storage = await backend.fresh()
    assert await storage.load("nope") is None
    assert await storage.create("b") is True
    assert await storage.create("b") is False
    loaded = await storage.load("b")
    assert loaded is not None and loaded.updates == []
    await storage.close()


async def test_concurrent_appends_share_commits_and_all_survive_reopen(backend: Backend) -> None:
    storage = await backend.fresh()
    await storage.create("b")
    updates = _edits([("set", i, float(i)) for i in range(200)])
    seqs = await asyncio.gather(*(storage.append("b", u) for u in updates))
    assert len(set(seqs)) == len(updates)
    await storage.close()
    reopened = await backend.reopen()
    loaded = await reopened.load("b")
    assert loaded is not None
    assert _content(loaded.updates)["notes"].keys() == {f"n{i}" for i in range(200)}
    await reopened.close()


async def test_state_at_returns_the_board_as_it_was(backend: Backend) -> None:
    storage = await backend.fresh()
    await storage.create("b")
    first, second = _edits([("set", 1, 1.0), ("set", 2, 2.0)])
    first_seq = await storage.append("b", first)
    await storage.compact("b")
    await asyncio.sleep(0.02)
    middle = time.time()
    await asyncio.sleep(0.02)
    second_seq = await storage.append("b", second)
    await storage.compact("b")
    past = await storage.state_at("b", middle)
    assert past is not None and set(_content(past)["notes"]) == {"n1"}
    now = await storage.state_at("b", time.time())
    assert now is not None and set(_content(now)["notes"]) == {"n1", "n2"}
    assert await storage.state_at("b", middle - 3600) == []
    assert [s.seq for s in await storage.snapshots("b")] == [first_seq, second_seq]
    if backend.name == "sqlite":
        assert [s.seq for s in await storage.snapshots("b")] == [1, 2]
    assert await storage.state_at("nope", time.time()) is None
    await storage.close()


async def test_archive_hides_but_keeps(backend: Backend) -> None:
    storage = await backend.fresh()
    await storage.create("b")
    await storage.append("b", _edits([("set", 1, 1.0)])[0])
    assert await storage.archive("b") is True
    assert [b.id for b in await storage.list_boards()] == []
    assert [b.id for b in await storage.list_boards(include_archived=True)] == ["b"]
    loaded = await storage.load("b")
    assert loaded is not None and len(loaded.updates) == 1
    await storage.close()


async def test_log_length_counts_entries_after_the_snapshot(backend: Backend) -> None:
    storage = await backend.fresh()
    await storage.create("b")
    for update in _edits([("set", i, 0.0) for i in range(3)]):
        await storage.append("b", update)
    assert await storage.log_length("b") == 3
    await storage.compact("b")
    assert await storage.log_length("b") == 0
    await storage.close()


async def test_load_position_is_the_last_appended_entry(backend: Backend) -> None:
    """Scale-out follows the log from `last_seq`: it must be exactly the newest entry."""
    storage = await backend.fresh()
    await storage.create("b")
    updates = _edits([("set", i, 0.0) for i in range(3)])
    seqs = [await storage.append("b", u) for u in updates]
    loaded = await storage.load("b")
    assert loaded is not None and loaded.last_seq == seqs[-1]
    await storage.compact("b")
    compacted = await storage.load("b")
    assert compacted is not None and compacted.last_seq == seqs[-1]
    await storage.close()
