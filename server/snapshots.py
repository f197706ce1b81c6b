"""Board snapshots over HTTP: images and structured results, now or as the board was at a time.

    GET /api/boards/{id}/snapshot.{png,webp,jpeg,svg,pdf,json,csv,md,mmd,dot,graph.json}
        ?at=<ISO time>  ?zone=<zone id>  ?scale=<0.1…4>
    GET /api/boards/{id}/snapshots            the stored snapshots (named ones: "phase:<id>")
    GET /api/boards/{id}/diff?from=T1[&to=T2][&format=json|md]

Rendering runs in a worker thread (never on the event loop) and its result is cached per board
state: the room's version changes with every applied update, so a cached image is never stale.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from boards.diff import diff_boards, diff_markdown
from boards.export.formats import FORMATS, check_scale, export
from boards.model import BoardSnapshot
from boards.reader import read_board
from boards.render import UnknownZone
from server.api import error
from server.catalog import NoSuchBoard, iso
from server.rooms import Room
from server.service import Palabre
from server.storage.base import Storage, build_doc

CACHE_BYTES = 64 * 1024 * 1024


class RenderCache:
    """A small LRU of rendered bytes, bounded in total size."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[object, ...], value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return
        self._items[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.size -= len(old)


_CACHE = RenderCache()


def parse_time(value: str, name: str) -> float:
    """An ISO 8601 time (naive = UTC) as seconds since the epoch; ValueError names the parameter."""
    if "T" in value:
        value = value.replace(" ", "+")  # an unencoded "+01:00" arrives as " 01:00" in a query string
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{name}' must be an ISO 8601 time, e.g. 2026-11-25T14:30:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


async def snapshot_at(storage: Storage, board: str, at: float) -> BoardSnapshot:
    """The board as it was at `at` (seconds since the epoch), read off the event loop."""
    updates = await storage.state_at(board, at)
    if updates is None:
        raise NoSuchBoard(board)
    return await asyncio.to_thread(lambda: read_board(build_doc(updates)))


async def snapshot_now(palabre: Palabre, board: str) -> tuple[BoardSnapshot, int]:
    async def read(room: Room) -> tuple[BoardSnapshot, int]:
        return read_board(room.doc), room.version

    return await palabre.catalog.with_room(board, read)


async def get_snapshot(request: Request) -> Response:
    board, fmt = request.path_params["board"], request.path_params["fmt"]
    palabre: Palabre = request.app.state.palabre
    params = request.query_params
    spec = FORMATS.get(fmt)
    if spec is None:
        return error(400, f"unknown format '{fmt}'; one of: {', '.join(FORMATS)}")
    unknown = set(params) - {"at", "zone", "scale"}
    if unknown:
        return error(400, f"unknown parameter(s): {', '.join(sorted(unknown))} (allowed: at, zone, scale)")
    try:
        scale = check_scale(float(params["scale"])) if "scale" in params else None
        at = parse_time(params["at"], "at") if "at" in params else None
    except ValueError as exc:
        return error(400, str(exc) if "must" in str(exc) else "'scale' must be a number")
    zone = params.get("zone") or None
    try:
        if at is None:
            snapshot, version = await snapshot_now(palabre, board)
            key: tuple[object, ...] | None = (board, version, fmt, zone, scale)
        else:
            snapshot, key = await snapshot_at(palabre.storage, board, at), None
    except NoSuchBoard:
        return error(404, f"unknown board {board}")
    body = _CACHE.get(key) if key else None
    if body is None:
        try:
            body = await asyncio.to_thread(export, snapshot, fmt, zone=zone, scale=scale)
        except UnknownZone:
            return error(400, f"'zone': unknown zone {zone!r}")
        except ValueError as exc:
            return error(400, str(exc))
        if key:
            _CACHE.put(key, body)
    filename = f"{board}.{fmt}"
    return Response(body, media_type=spec.media_type,
                    headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-cache"})


async def list_snapshots(request: Request) -> Response:
    board = request.path_params["board"]
    palabre: Palabre = request.app.state.palabre
    if not await palabre.storage.exists(board):
        return error(404, f"unknown board {board}")
    records = await palabre.storage.snapshots(board)
    return JSONResponse([{"seq": r.seq, "time": iso(r.ts), "label": r.label} for r in records])


async def get_diff(request: Request) -> Response:
    board = request.path_params["board"]
    palabre: Palabre = request.app.state.palabre
    params = request.query_params
    fmt = params.get("format", "json")
    if fmt not in ("json", "md"):
        return error(400, "'format' must be json or md")
    if "from" not in params:
        return error(400, "'from' is required (an ISO 8601 time)")
    try:
        start = parse_time(params["from"], "from")
        end = parse_time(params["to"], "to") if "to" in params else None
    except ValueError as exc:
        return error(400, str(exc))
    try:
        before = await snapshot_at(palabre.storage, board, start)
        after = await snapshot_at(palabre.storage, board, end) if end is not None else (await snapshot_now(palabre, board))[0]
    except NoSuchBoard:
        return error(404, f"unknown board {board}")
    diff = diff_boards(before, after)
    if fmt == "md":
        return Response(diff_markdown(diff, after.meta.locale), media_type="text/markdown; charset=utf-8")
    return JSONResponse(diff.to_json())


routes = [
    Route("/api/boards/{board}/snapshot.{fmt}", get_snapshot, methods=["GET"]),
    Route("/api/boards/{board}/snapshots", list_snapshots, methods=["GET"]),
    Route("/api/boards/{board}/diff", get_diff, methods=["GET"]),
]
