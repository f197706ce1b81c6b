"""Import post-its into a live board through the Python client (used by `palabre boards import`)."""

from __future__ import annotations

from boards.board import Board
from boards.importer import import_notes, parse_notes
from boards.reader import read_board
from client.connection import BoardClient


def ws_base(server: str) -> str:
    """http://host:port → ws://host:port/ws (https → wss)."""
    scheme, _, rest = server.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws"


async def import_file(server: str, board: str, data: bytes, suffix: str = "") -> int:
    """Parse, check against the board's zones, write in one transaction, wait until stored."""
    content_type = "application/json" if suffix == ".json" else None
    async with BoardClient.connect(ws_base(server), board) as client:
        rows = parse_notes(data, read_board(client.doc).zones, content_type=content_type)
        import_notes(Board(client.doc), rows)
        await client.flush()
    return len(rows)
