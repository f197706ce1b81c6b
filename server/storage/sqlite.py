"""Embedded storage: one SQLite file in the data dir, WAL mode.

Appends are group-committed: everything appended during one event-loop iteration is written in
one transaction at its end, and each `append` returns once that transaction is committed.
- `fsync="normal"` (synchronous=NORMAL): a commit is a write() into the WAL, no fsync — it
  survives the process being killed. It runs on the event loop (a few microseconds; handing it
  to a thread costs more than the write). Automatic checkpoints are off on that connection:
  a background task checkpoints from a worker thread, so the fsync they do never runs on the loop.
- `fsync="always"` (synchronous=FULL): each commit fsyncs, so commits run in a writer thread,
  which commits whatever has queued up meanwhile in one transaction (one fsync for many updates).
Reads and compaction run in the default thread pool on their own connections (WAL lets them
read while the writer writes).

The log is kept after compaction: snapshots make loading fast, the log makes `state_at` exact.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from server.futures import Done, settle
from server.storage.base import (
    BoardRecord,
    SnapshotRecord,
    Storage,
    StorageError,
    StoredBoard,
    merge,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    archived REAL
);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY,  -- rowid; log rows are never deleted, so it only grows
    board TEXT NOT NULL,
    ts REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_board_seq ON log (board, seq);
CREATE TABLE IF NOT EXISTS snapshots (
    board TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL,
    PRIMARY KEY (board, seq, label)
);
"""

_STOP = object()
_MAX_BATCH = 2000
CHECKPOINT_SECONDS = 5.0


# Told the log position once an append is committed, or the error if it failed.
_Report = Callable[[int | None, BaseException | None], None]


class _Append:
    __slots__ = ("board", "data", "ts", "report")

    def __init__(self, board: str, data: bytes, ts: float, report: _Report) -> None:
        self.board = board
        self.data = data
        self.ts = ts
        self.report = report


class SQLiteStorage(Storage):
    def __init__(self, path: Path, fsync: Literal["normal", "always"] = "normal") -> None:
        self.path = path
        self.fsync = fsync
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inline: sqlite3.Connection | None = None  # the loop's writer (fsync="normal")
        self._batch: list[_Append] = []
        self._checkpointer: asyncio.Task[None] | None = None

    # --- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self.fsync == 'always' else 'NORMAL'}")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return await asyncio.to_thread(fn, *args)
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        conn = self._connect()
        conn.executescript(SCHEMA)
        conn.close()
        if self.fsync == "always":
            self._writer = threading.Thread(target=self._write_loop, name="palabre-sqlite-writer", daemon=True)
            self._writer.start()
        else:
            self._inline = self._connect()
            self._inline.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = asyncio.ensure_future(self._checkpoint_loop())

    async def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._inline is not None:
            self._commit_batch()
            if self._checkpointer is not None:
                self._checkpointer.cancel()
            await asyncio.to_thread(self._checkpoint)
            self._inline.close()
            self._inline = None

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await asyncio.to_thread(self._checkpoint)
            except sqlite3.Error:
                logging.getLogger("palabre.storage").exception("WAL checkpoint failed (will retry)")

    def _checkpoint(self) -> None:
        self._reader().execute("PRAGMA wal_checkpoint(PASSIVE)")

    # --- appends: one writer thread, group commit ------------------------------------------

    async def append(self, board: str, update: bytes) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._enqueue(board, update, lambda seq, error: settle(future, error, seq))
        return await future

    def append_soon(self, board: str, update: bytes, done: Done) -> None:
        """Reports from the commit itself (on the loop with `fsync normal`), no task involved."""
        try:
            self._enqueue(board, update, lambda _seq, error: done(error))
        except StorageError as exc:
            done(exc)

    def _enqueue(self, board: str, update: bytes, report: _Report) -> None:
        if self._loop is None or (self._writer is None and self._inline is None):
            raise StorageError("storage is closed")
        item = _Append(board, update, time.time(), report)
        if self._writer is not None:
            self._queue.put(item)
        else:
            if not self._batch:
                self._loop.call_soon(self._commit_batch)
            self._batch.append(item)

    def _commit_batch(self) -> None:
        batch, self._batch = self._batch, []
        if batch and self._inline is not None:
            self._commit(self._inline, batch, _resolve_all, _fail_all)

    def _write_loop(self) -> None:
        conn = self._connect()
        stop = False
        while not stop:
            batch: list[_Append] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= _MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(conn, batch, self._resolve_threadsafe, self._fail_threadsafe)
        conn.close()

    def _resolve_threadsafe(self, batch: list[_Append], seqs: list[int]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve_all, batch, seqs)

    def _fail_threadsafe(self, batch: list[_Append], error: Exception) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_fail_all, batch, error)

    @staticmethod
    def _commit(conn: sqlite3.Connection, batch: list[_Append], resolve, fail) -> None:  # type: ignore[no-untyped-def]
        try:
            conn.execute("BEGIN IMMEDIATE")
            seqs = []
            for item in batch:
                cur = conn.execute(
                    "INSERT INTO log (board, ts, data) VALUES (?, ?, ?)", (item.board, item.ts, item.data)
                )
                seqs.append(cur.lastrowid)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            fail(batch, StorageError(f"sqlite append failed: {exc}"))
            return
        resolve(batch, seqs)

    # --- boards ----------------------------------------------------------------------------

    async def create(self, board: str) -> bool:
        def run() -> bool:
            cur = self._reader().execute(
                "INSERT OR IGNORE INTO boards (id, created) VALUES (?, ?)", (board, time.time())
            )
            return cur.rowcount == 1

        return await self._run(run)

    async def exists(self, board: str) -> bool:
        def run() -> bool:
            row = self._reader().execute("SELECT 1 FROM boards WHERE id = ?", (board,)).fetchone()
            return row is not None

        return await self._run(run)

    async def archive(self, board: str) -> bool:
        def run() -> bool:
            cur = self._reader().execute(
                "UPDATE boards SET archived = ? WHERE id = ? AND archived IS NULL", (time.time(), board)
            )
            return cur.rowcount == 1

        return await self._run(run)

    async def list_boards(self, include_archived: bool = False) -> list[BoardRecord]:
        def run() -> list[BoardRecord]:
            rows = self._reader().execute(
                "SELECT b.id, b.created, b.archived, "
                " (SELECT MAX(ts) FROM log WHERE log.board = b.id) FROM boards b ORDER BY b.id"
            ).fetchall()
            return [
                BoardRecord(id=r[0], created=r[1], updated=r[3] or r[1], archived=r[2])
                for r in rows
                if include_archived or r[2] is None
            ]

        return await self._run(run)

    # --- loading, compaction, history --------------------------------------------------------

    def _latest_snapshot(self, conn: sqlite3.Connection, board: str, before_ts: float | None = None):  # type: ignore[no-untyped-def]
        if before_ts is None:
            return conn.execute(
                "SELECT seq, data FROM snapshots WHERE board = ? ORDER BY seq DESC LIMIT 1", (board,)
            ).fetchone()
        return conn.execute(
            "SELECT seq, data FROM snapshots WHERE board = ? AND ts <= ? ORDER BY seq DESC LIMIT 1",
            (board, before_ts),
        ).fetchone()

    def _updates_since(self, conn: sqlite3.Connection, board: str, after_seq: int, until_ts: float | None = None):  # type: ignore[no-untyped-def]
        if until_ts is None:
            return conn.execute(
                "SELECT seq, data FROM log WHERE board = ? AND seq > ? ORDER BY seq", (board, after_seq)
            ).fetchall()
        return conn.execute(
            "SELECT seq, data FROM log WHERE board = ? AND seq > ? AND ts <= ? ORDER BY seq",
            (board, after_seq, until_ts),
        ).fetchall()

    def _load_sync(self, board: str, until_ts: float | None = None) -> StoredBoard | None:
        conn = self._reader()
        if conn.execute("SELECT 1 FROM boards WHERE id = ?", (board,)).fetchone() is None:
            return None
        conn.execute("BEGIN")  # one consistent read of snapshot + log
        try:
            snap = self._latest_snapshot(conn, board, until_ts)
            base_seq = snap[0] if snap else 0
            rows = self._updates_since(conn, board, base_seq, until_ts)
        finally:
            conn.execute("COMMIT")
        updates = ([snap[1]] if snap else []) + [row[1] for row in rows]
        last_seq = rows[-1][0] if rows else base_seq
        return StoredBoard(updates=updates, last_seq=last_seq)

    async def load(self, board: str) -> StoredBoard | None:
        return await self._run(self._load_sync, board)

    async def state_at(self, board: str, ts: float) -> list[bytes] | None:
        stored = await self._run(self._load_sync, board, ts)
        return None if stored is None else stored.updates

    async def log_length(self, board: str) -> int:
        def run() -> int:
            conn = self._reader()
            snap = conn.execute("SELECT MAX(seq) FROM snapshots WHERE board = ?", (board,)).fetchone()
            row = conn.execute(
                "SELECT COUNT(*) FROM log WHERE board = ? AND seq > ?", (board, snap[0] or 0)
            ).fetchone()
            return int(row[0])

        return await self._run(run)

    def _compact_sync(self, board: str, label: str) -> SnapshotRecord | None:
        conn = self._reader()
        stored = self._load_sync(board)
        if stored is None:
            return None
        latest = conn.execute("SELECT MAX(seq) FROM snapshots WHERE board = ?", (board,)).fetchone()[0]
        if latest == stored.last_seq and not label:
            return None  # nothing new since the last snapshot
        row = conn.execute("SELECT ts FROM log WHERE seq = ?", (stored.last_seq,)).fetchone()
        ts = row[0] if row else time.time()
        data = merge(stored.updates)
        conn.execute(
            "INSERT OR REPLACE INTO snapshots (board, seq, ts, label, data) VALUES (?, ?, ?, ?, ?)",
            (board, stored.last_seq, ts, label, data),
        )
        return SnapshotRecord(board=board, seq=stored.last_seq, ts=ts, label=label)

    async def compact(self, board: str, label: str = "") -> SnapshotRecord | None:
        return await self._run(self._compact_sync, board, label)

    async def snapshots(self, board: str) -> list[SnapshotRecord]:
        def run() -> list[SnapshotRecord]:
            rows = self._reader().execute(
                "SELECT seq, ts, label FROM snapshots WHERE board = ? ORDER BY seq, label", (board,)
            ).fetchall()
            return [SnapshotRecord(board=board, seq=r[0], ts=r[1], label=r[2]) for r in rows]

        return await self._run(run)


def _report(item: _Append, seq: int | None, error: BaseException | None) -> None:
    try:
        item.report(seq, error)
    except Exception:  # one caller's failure must not keep the rest of the batch waiting
        logging.getLogger("palabre.storage").exception("append callback failed")


def _resolve_all(batch: list[_Append], seqs: list[int]) -> None:
    for item, seq in zip(batch, seqs):
        _report(item, seq, None)


def _fail_all(batch: list[_Append], error: Exception) -> None:
    for item in batch:
        _report(item, None, error)
