"""The storage interface: where a board's updates live so that nothing acknowledged is lost.

A board is stored as a log of Yjs updates plus snapshots (one merged update each, with the
time of the newest update it covers). Loading = newest snapshot + the log entries after it.
Snapshots are never deleted: they are the board's history (`state_at`).

The rules every backend keeps (the rooms rely on them):
- `append` returns only once the update is durable; the caller relays it afterwards.
- `load` of an unknown board returns None; a failing load raises, it never answers an empty
  board in place of a real one.
- `compact` never loses an update written meanwhile: it covers the log up to a sequence
  number it read, and loading always adds what came after.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pycrdt import Doc

from server.futures import Done, report

BOARD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Merging applies updates to a Doc in batches of this many, then encodes once: linear, unlike
# pycrdt.merge_updates which is superlinear in the number of updates.
MERGE_BATCH = 1000


# A position in a board's log: an int for SQLite, a stream id such as "1712345678901-0" for Redis.
LogPosition = int | str


class StorageError(RuntimeError):
    """The backend failed: the caller refuses the operation, it never pretends it worked."""


@dataclass(frozen=True, slots=True)
class StoredBoard:
    """What `load` returns: the updates to apply in order, and the position of the last one
    in the log (an int for SQLite, a stream id for Redis): scale-out follows the log from it."""

    updates: list[bytes]
    last_seq: LogPosition


@dataclass(frozen=True, slots=True)
class BoardRecord:
    id: str
    created: float
    updated: float
    archived: float | None = None


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    board: str
    seq: LogPosition  # the newest log entry the snapshot covers
    ts: float  # time of that entry (seconds since the epoch)
    label: str = ""  # e.g. "phase:utopie" for a named snapshot


def is_valid_board_id(board: str) -> bool:
    return BOARD_ID.fullmatch(board) is not None


def build_doc(updates: Iterable[bytes]) -> Doc:
    """A Doc built by applying `updates` in order (how boards are loaded)."""
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def merge(updates: Iterable[bytes]) -> bytes:
    """One update equivalent to all of `updates`: built once, encoded once (linear)."""
    return build_doc(updates).get_update()


class Storage(abc.ABC):
    """A storage backend. All methods are coroutines; blocking work runs off the event loop."""

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def create(self, board: str) -> bool:
        """Register a board; False if it already existed."""

    @abc.abstractmethod
    async def exists(self, board: str) -> bool: ...

    @abc.abstractmethod
    async def load(self, board: str) -> StoredBoard | None:
        """The board's current content, or None if the board is unknown."""

    @abc.abstractmethod
    async def append(self, board: str, update: bytes) -> LogPosition:
        """Durably append one update; return its position in the log."""

    def append_soon(self, board: str, update: bytes, done: Done) -> None:
        """`append`, reporting to `done(error)` (None once durable) instead of being awaited.

        The rooms' update path chains callbacks (guard answer → append → relay) so an update does
        not wait for a task to be resumed at each step. This default runs `append` as a task; a
        backend that commits on the event loop calls `done` straight from its commit."""
        report(self.append(board, update), done, StorageError("append cancelled"))

    @abc.abstractmethod
    async def compact(self, board: str, label: str = "") -> SnapshotRecord | None:
        """Write a snapshot covering the log so far (None if there was nothing new)."""

    @abc.abstractmethod
    async def log_length(self, board: str) -> int:
        """How many log entries are not yet covered by a snapshot."""

    @abc.abstractmethod
    async def list_boards(self, include_archived: bool = False) -> list[BoardRecord]: ...

    @abc.abstractmethod
    async def archive(self, board: str) -> bool:
        """Hide a board from listings; its log and snapshots stay."""

    @abc.abstractmethod
    async def snapshots(self, board: str) -> list[SnapshotRecord]: ...

    @abc.abstractmethod
    async def state_at(self, board: str, ts: float) -> list[bytes] | None:
        """The updates that make the board as it was at time `ts` (None: unknown board)."""
