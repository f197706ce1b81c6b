"""The WebSocket endpoint `/ws/{board}`: the y-websocket protocol for one connection.

The board is loaded (or the connection refused) before any message is answered. Then each
message is checked and handled in arrival order; anything wrong closes *this* connection with
a code and a reason and leaves the room and the other clients alone:

    4400 malformed message or rejected update     4401 missing or bad token
    4404 unknown board (auto-create off)          4413 message too large (see transport.py)
    4429 rate limit or board full                 4408 receiver too slow (see transport.py)
    1011 internal error (logged)
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from starlette.websockets import WebSocket

from server import protocol
from server.connection import Connection
from server.guard import Rejected
from server.limits import RateLimit
from server.metrics import METRICS
from server.rooms import Room, Rooms, UnknownBoard
from server.service import Palabre
from server.storage.base import StorageError, is_valid_board_id

log = logging.getLogger("palabre.ws")

CLOSE_MALFORMED = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_UNKNOWN_BOARD = 4404
CLOSE_RATE = 4429
CLOSE_INTERNAL = 1011


class Refuse(Exception):
    def __init__(self, code: int, reason: str, metric: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.metric = metric


async def sync_endpoint(websocket: WebSocket) -> None:
    palabre: Palabre = websocket.app.state.palabre
    board = websocket.path_params["board"]
    await websocket.accept()
    try:
        room = await _open_room(palabre, websocket, board)
    except Refuse as refusal:
        METRICS.rejected[refusal.metric] += 1
        await websocket.close(refusal.code, refusal.reason)
        return
    settings = palabre.settings
    limit = RateLimit(settings.rate_messages_per_second, settings.rate_burst_messages,
                      settings.rate_bytes_per_second, max(settings.rate_bytes_per_second, 2 * settings.max_message_bytes))
    conn = Connection(websocket, board, limit)
    room.add(conn)
    try:
        presence = room.presence.full_message()
        if presence is not None:
            room.send_to(conn, presence)
        await _serve(palabre.rooms, room, conn, settings.max_awareness_state_bytes)
    except Refuse as refusal:
        METRICS.rejected[refusal.metric] += 1
        room.log.info("closing a connection: %d %s", refusal.code, refusal.reason)
        await conn.close(refusal.code, refusal.reason)
    except Exception:
        room.log.exception("internal error on a connection")
        await conn.close(CLOSE_INTERNAL, "internal error")
    finally:
        palabre.rooms.release(room, conn)
        conn.stop()


async def _open_room(palabre: Palabre, websocket: WebSocket, board: str) -> Room:
    if not is_valid_board_id(board):
        raise Refuse(CLOSE_MALFORMED, "invalid board id (allowed: A-Z a-z 0-9 _ -, 1 to 64)", "bad-board-id")
    expected = palabre.settings.token
    if expected and not hmac.compare_digest(websocket.query_params.get("token", ""), expected):
        raise Refuse(CLOSE_UNAUTHORIZED, "missing or bad token", "unauthorized")
    try:
        room = await palabre.rooms.get(board)
    except UnknownBoard:
        raise Refuse(CLOSE_UNKNOWN_BOARD, f"unknown board {board}", "unknown-board") from None
    except Exception:
        log.exception("loading board failed", extra={"board": board})
        raise Refuse(CLOSE_INTERNAL, "board could not be loaded; try again", "load-failed") from None
    if len(room.connections) >= palabre.settings.max_connections_per_board:
        raise Refuse(CLOSE_RATE, "too many connections on this board", "board-full")
    return room


async def _serve(rooms: Rooms, room: Room, conn: Connection, max_state_bytes: int) -> None:
    receive = conn.ws._receive  # the ASGI receive itself: Starlette's wrapper only re-checks state
    allow = conn.limit.allow
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        data = event.get("bytes")
        if data is None:
            raise Refuse(CLOSE_MALFORMED, "text frames are not part of the protocol", "malformed")
        if type(data) is not bytes:
            data = bytes(data)
        METRICS.messages_in += 1
        METRICS.bytes_in += len(data)
        if not allow(len(data)):
            raise Refuse(CLOSE_RATE, "rate limit exceeded: slow down", "rate")
        await _handle(rooms, room, conn, data, max_state_bytes)


async def _handle(rooms: Rooms, room: Room, conn: Connection, data: bytes, max_state_bytes: int) -> None:
    try:
        message = protocol.parse_message(data)
    except protocol.ProtocolError as exc:
        raise Refuse(CLOSE_MALFORMED, f"malformed message: {exc}", "malformed") from None
    kind = message.kind
    if kind == protocol.KIND_UPDATE or kind == protocol.KIND_STEP2:
        await _receive_update(rooms, room, conn, message.payload, data if kind == protocol.KIND_UPDATE else None)
    elif kind == protocol.KIND_STEP1:
        _answer_step1(room, conn, message.payload)
    elif kind == protocol.KIND_AWARENESS:
        try:
            entries = protocol.parse_awareness(message.payload, max_state_bytes)
        except protocol.ProtocolError as exc:
            raise Refuse(CLOSE_MALFORMED, f"malformed awareness: {exc}", "malformed") from None
        room.presence.apply(conn, entries)
    elif kind == protocol.KIND_QUERY_AWARENESS:
        presence = room.presence.full_message()
        if presence is not None:
            room.send_to(conn, presence)
    # KIND_AUTH from a client carries nothing the server acts on.


async def _receive_update(rooms: Rooms, room: Room, conn: Connection, update: bytes, relay: bytes | None) -> None:
    try:
        await room.receive_update(update, conn, relay)
    except Rejected as exc:
        room.log.warning("update refused: %s", exc)
        raise Refuse(CLOSE_MALFORMED, f"update rejected: {exc}", "bad-update") from None
    except StorageError:
        room.log.exception("could not store an update")
        if room.diverged:
            await rooms.evict(room, "an applied update could not be stored")
        raise Refuse(CLOSE_INTERNAL, "could not store the update; reconnect to retry", "storage") from None
    except BaseException as exc:  # pycrdt's PanicException is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)):
            raise
        raise Refuse(CLOSE_MALFORMED, f"update rejected: {type(exc).__name__}", "bad-update") from None


def _answer_step1(room: Room, conn: Connection, state_vector: bytes) -> None:
    """Reply with what the client lacks (the diff only), then the server's own state vector.

    A large diff goes as several update messages and a final step 2 (`Room.send_diff`): the
    client counts itself synced only once the step 2 has come."""
    try:
        diff = room.doc.get_update(state_vector)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise Refuse(CLOSE_MALFORMED, "malformed state vector", "malformed") from None
    room.send_diff(conn, diff, protocol.encode_sync_step2)
    room.send_to(conn, protocol.encode_sync_step1(room.doc.get_state()))
