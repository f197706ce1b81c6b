"""`palabre export`: snapshots straight from a data dir (or Redis), no running server needed.

SQLite in WAL mode lets this read while a server writes; nothing is ever written.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from rich.progress import Progress

from boards.export.formats import export
from server.catalog import NoSuchBoard
from server.service import make_storage
from server.settings import Settings
from server.snapshots import parse_time, snapshot_at
from server.storage.base import Storage


class ExportError(RuntimeError):
    pass


async def _render(storage: Storage, board: str, fmt: str, at: float, zone: str | None, scale: float | None) -> bytes:
    try:
        snapshot = await snapshot_at(storage, board, at)
    except NoSuchBoard:
        raise ExportError(f"unknown board {board}") from None
    try:
        return await asyncio.to_thread(export, snapshot, fmt, zone=zone, scale=scale)
    except ValueError as exc:
        raise ExportError(str(exc)) from None


async def _open(settings: Settings) -> Storage:
    if not settings.redis_url and not settings.sqlite_path.exists():
        raise ExportError(f"no Palabre database in {settings.data_dir}")
    storage = make_storage(settings)
    await storage.open()
    return storage


async def export_one(settings: Settings, board: str, fmt: str, out: str | None, at: str | None,
                     zone: str | None, scale: float | None) -> str:
    moment = parse_time(at, "at") if at else time.time()
    storage = await _open(settings)
    try:
        data = await _render(storage, board, fmt, moment, zone, scale)
    finally:
        await storage.close()
    if out == "-":
        sys.stdout.buffer.write(data)
        return "-"
    target = Path(out or f"{board}.{fmt}")
    target.write_bytes(data)
    return str(target)


async def export_all(settings: Settings, fmt: str, out_dir: Path, at: str | None) -> list[Path]:
    moment = parse_time(at, "at") if at else time.time()
    storage = await _open(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        boards = await storage.list_boards()
        with Progress() as progress:
            task = progress.add_task(f"export {fmt}", total=len(boards))
            for record in boards:
                target = out_dir / f"{record.id}.{fmt}"
                target.write_bytes(await _render(storage, record.id, fmt, moment, None, None))
                written.append(target)
                progress.advance(task)
    finally:
        await storage.close()
    return written
