"""Demo boards built from the project's seed texts, so that a newcomer sees real content at once.

The content lives in `boards/demo/*.json` (package data) in a small "board file" format:

    {"name": ..., "template": ..., "title": ..., "created": ISO, "phase": ...,
     "actors": [{"id", "label", "kind", "site", "country", "x", "y", "functions"}],
     "links": [{"id", "from", "to", "label", "kind", "directed"}],
     "groups": [{"id", "title", "color", "zone"}],
     "notes": [{"id"?, "text", "zone"?, "group"?, "color"?, "author"?, "site"?, "code"?}],
     "votes": {noteId: {voterId: dots}}}

Notes are laid out in a grid in their zone, in file order (their `created` times follow that
order too, a minute apart).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from pycrdt import Doc

from boards import schema as s
from boards.board import Board
from boards.layout import grid_position
from boards.templates import apply_template

DEMO_BOARDS: dict[str, str] = {
    "eddn-gouvernance": "Réseau EDDN (Essonne – Mali) : schéma de gouvernance",
    "bourgogne-mali-2015": "Rencontre Bourgogne Coopération – Mali, 14 février 2015",
    "co-acte-spiral": "CO-ACTE : débat SPIRAL (1er tour)",
}
"""Demo board id → short French description."""


def load_demo(name: str) -> dict[str, Any]:
    if name not in DEMO_BOARDS:
        raise ValueError(f"unknown demo board {name!r}; known: {', '.join(DEMO_BOARDS)}")
    return json.loads((resources.files("boards") / "demo" / f"{name}.json").read_text(encoding="utf-8"))


def build_demo(name: str, doc: Doc | None = None) -> Doc:
    """Builds demo board `name` into `doc` (a new Doc by default), in one transaction."""
    data = load_demo(name)
    doc = doc if doc is not None else Doc()
    with doc.transaction():
        board = apply_template(doc, data["template"], "fr", title=data["title"], created=data["created"])
        if "phase" in data:
            board.set_meta(phase=data["phase"])
        _add_actors(board, data)
        _add_groups(board, data)
        _add_notes(board, data)
        _add_votes(board, data)
    return doc


def _add_actors(board: Board, data: dict[str, Any]) -> None:
    for actor in data.get("actors", []):
        board.add_actor(
            actor["label"],
            id=actor["id"],
            kind=actor.get("kind", ""),
            site=actor.get("site", ""),
            country=actor.get("country", ""),
            x=float(actor.get("x", 0)),
            y=float(actor.get("y", 0)),
            functions=actor.get("functions", []),
        )
    for link in data.get("links", []):
        board.add_link(
            link["from"],
            link["to"],
            id=link["id"],
            label=link.get("label", ""),
            kind=link.get("kind", ""),
            directed=link.get("directed", True),
        )


def _add_groups(board: Board, data: dict[str, Any]) -> None:
    for group in data.get("groups", []):
        board.add_group(group["title"], id=group["id"], color=group.get("color", s.DEFAULT_GROUP_COLOR),
                        zone=group.get("zone", ""))


def _add_notes(board: Board, data: dict[str, Any]) -> None:
    zones = board.snapshot().zones
    by_id = {zone.id: zone for zone in zones}
    start = datetime.fromisoformat(data["created"].replace("Z", "+00:00"))
    placed: dict[str, int] = {}
    for number, note in enumerate(data.get("notes", [])):
        zone_id = note.get("zone", "")
        index = placed.get(zone_id, 0)
        placed[zone_id] = index + 1
        x, y = grid_position(index, by_id.get(zone_id), zones)
        board.add_note(
            note["text"], x, y,
            id=note.get("id"),
            zone=zone_id,
            group=note.get("group", ""),
            color=note.get("color", s.DEFAULT_NOTE_COLOR),
            author=note.get("author", ""),
            site=note.get("site", ""),
            code=note.get("code", ""),
            created=s.iso(start + timedelta(minutes=number + 1)),
        )


def _add_votes(board: Board, data: dict[str, Any]) -> None:
    for note_id, per_voter in data.get("votes", {}).items():
        for voter, dots in per_voter.items():
            board.vote(note_id, voter, dots)
