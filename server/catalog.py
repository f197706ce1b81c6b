"""The board catalogue: list, create from a template, read, archive, import, demo boards.

Everything that changes a board goes through `Room.edit`, i.e. the same path as a client's
update (stored before it is applied and relayed), so API edits reach connected clients live.
Boards touched by the API but watched by nobody are unloaded when idle, like any other.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from pycrdt import Doc

from boards.board import Board
from boards.demo import DEMO_BOARDS, build_demo
from boards.importer import import_notes, parse_notes
from boards.model import BoardSnapshot, Meta
from boards.reader import read_board
from boards.templates import apply_template, list_templates
from server.rooms import Room, Rooms
from server.storage.base import Storage, build_doc, is_valid_board_id

log = logging.getLogger("palabre.catalog")

T = TypeVar("T")


class BoardExists(ValueError):
    pass


class NoSuchBoard(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class BoardSummary:
    id: str
    title: str
    template: str
    updated: str
    connected: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "template": self.template,
                "updated": self.updated, "connected": self.connected}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _meta_of(updates: list[bytes]) -> Meta:
    return read_board(build_doc(updates)).meta


class Catalog:
    def __init__(self, storage: Storage, rooms: Rooms) -> None:
        self.storage = storage
        self.rooms = rooms
        self._meta_cache: dict[str, tuple[float, Meta]] = {}  # board → (updated, meta)

    async def list(self) -> list[BoardSummary]:
        summaries = []
        for record in await self.storage.list_boards():
            meta = await self._meta(record.id, record.updated)
            room = self.rooms.rooms.get(record.id)
            summaries.append(BoardSummary(record.id, meta.title, meta.template, iso(record.updated),
                                          len(room.connections) if room else 0))
        return summaries

    async def _meta(self, board: str, updated: float) -> Meta:
        room = self.rooms.rooms.get(board)
        if room is not None:
            return read_board(room.doc).meta
        cached = self._meta_cache.get(board)
        if cached is not None and cached[0] == updated:
            return cached[1]
        stored = await self.storage.load(board)
        meta = await asyncio.to_thread(_meta_of, stored.updates) if stored else Meta()
        self._meta_cache[board] = (updated, meta)
        return meta

    async def create(self, template: str, *, board: str | None = None, title: str | None = None,
                     locale: str = "fr") -> tuple[str, BoardSnapshot]:
        """Create a board from a template; ValueError for bad input, BoardExists for a taken id."""
        if template not in list_templates():
            raise ValueError(f"unknown template {template!r}; known: {', '.join(list_templates())}")
        if board is None:
            board = secrets.token_urlsafe(9)
        elif not is_valid_board_id(board):
            raise ValueError("invalid board id (allowed: A-Z a-z 0-9 _ -, 1 to 64 characters)")
        if title is not None and not (0 < len(title.strip()) <= 200):
            raise ValueError("title must be 1 to 200 characters")
        # Check the template applies before anything is stored.
        apply_template(Doc(), template, locale, title)
        if not await self.storage.create(board):
            raise BoardExists(f"board {board} already exists")
        snapshot = await self.with_room(board, lambda room: self._apply(room, template, locale, title))
        return board, snapshot

    async def _apply(self, room: Room, template: str, locale: str, title: str | None) -> BoardSnapshot:
        await room.edit(lambda doc: apply_template(doc, template, locale, title))
        return read_board(room.doc)

    async def read(self, board: str) -> BoardSnapshot:
        return await self.with_room(board, lambda room: _now(read_board(room.doc)))

    async def archive(self, board: str) -> None:
        if not await self.storage.archive(board):
            raise NoSuchBoard(board)

    async def import_notes(self, board: str, data: bytes, content_type: str | None) -> list[str]:
        """All or nothing: ImportRejected (a ValueError) lists every problem, nothing is written."""

        async def run(room: Room) -> list[str]:
            rows = parse_notes(data, read_board(room.doc).zones, content_type=content_type)
            ids: list[str] = []
            await room.edit(lambda doc: ids.extend(import_notes(Board(doc), rows)))
            return ids

        return await self.with_room(board, run)

    async def with_room(self, board: str, use: Callable[[Room], Awaitable[T]]) -> T:
        """Run `use` on the board's room, loading it if needed; NoSuchBoard if it does not exist."""
        if not is_valid_board_id(board) or not await self.storage.exists(board):
            raise NoSuchBoard(board)
        room = await self.rooms.get(board)
        try:
            return await use(room)
        finally:
            self.rooms.schedule_idle(room)

    async def load_demo(self) -> list[str]:
        """Create the demo boards that do not exist yet (never touches an existing board)."""
        created = []
        for name in DEMO_BOARDS:
            if await self.storage.create(name):
                await self.with_room(name, lambda room, n=name: room.edit(lambda doc: build_demo(n, doc)))
                created.append(name)
        if created:
            log.info("demo boards created: %s", ", ".join(created))
        return created


async def _now(value: T) -> T:
    return value
