"""Workshop templates. Each template is a JSON file in `boards/templates/` (data, not code):

    {"name": "spiral", "order": 2,
     "title": {"fr": "...", "en": "..."}, "description": {"fr": "...", "en": "..."},
     "votes_per_person": 3,
     "phases": [{"id": "tour-1", "title": {"fr": "1er tour", "en": "Round 1"}}],
     "zones": [{"id": "reussites", "title": {"fr": ..., "en": ...}, "kind": "column",
                "x": 0, "y": 0, "w": 400, "h": 900, "color": "#e8f5e9", "phase": ""}],
     "notes": [{"zone": "mots", "text": {"fr": ..., "en": ...}}],            (optional)
     "actor_kinds": [{"id": "association", "label": {...}}], "link_kinds": [...]}  (optional)

Every human-readable string comes in French and English; `locale` picks one when a board is
created (French when a translation is missing).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from pycrdt import Doc, Map

from boards import schema as s
from boards.board import Board
from boards.layout import grid_position
from boards.model import Zone

_NAME_RE = re.compile(r"[a-z0-9-]{1,64}")


def list_templates() -> list[str]:
    """Template names, in the order a facilitator should see them."""
    names = [entry.name[: -len(".json")] for entry in _folder().iterdir() if entry.name.endswith(".json")]
    return sorted(names, key=lambda name: (load_template(name).get("order", 99), name))


def template_summaries(locale: str = s.DEFAULT_LOCALE) -> list[dict[str, str]]:
    """`name`, `title` and `description` of every template in `locale`, e.g. for an API listing."""
    s.check_locale(locale)
    return [
        {
            "name": name,
            "title": localize(load_template(name)["title"], locale),
            "description": localize(load_template(name).get("description", ""), locale),
        }
        for name in list_templates()
    ]


def load_template(name: str) -> dict[str, Any]:
    """The template's data (a fresh copy). ValueError for an unknown name or a malformed file."""
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise ValueError(f"unknown template {name!r}")
    return json.loads(_raw(name))


@lru_cache(maxsize=None)
def _raw(name: str) -> str:
    entry = _folder() / f"{name}.json"
    if not entry.is_file():
        raise ValueError(f"unknown template {name!r}; known: {', '.join(sorted(_names()))}")
    text = entry.read_text(encoding="utf-8")
    _validate(name, json.loads(text))
    return text


def _folder():
    return resources.files("boards") / "templates"


def _names() -> list[str]:
    return [entry.name[: -len(".json")] for entry in _folder().iterdir() if entry.name.endswith(".json")]


def localize(value: Any, locale: str) -> str:
    """`{"fr": ..., "en": ...}` → the string for `locale` (French as fallback); a str as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        text = value.get(locale, value.get(s.DEFAULT_LOCALE, ""))
        return text if isinstance(text, str) else ""
    return ""


def _validate(name: str, data: Any) -> None:
    """Checks a template file, so a broken file fails loudly at load time, not on a live board."""
    if not isinstance(data, dict) or data.get("name") != name:
        raise ValueError(f"template {name}: `name` must be {name!r}")
    for locale in s.LOCALES:
        s.check_label(localize(data.get("title"), locale), f"template {name}: title ({locale})")
    s.check_votes_per_person(data.get("votes_per_person", 0))
    zone_ids = set()
    for zone in data.get("zones", []):
        zone_ids.add(s.check_id(zone.get("id"), f"template {name}: zone id"))
        s.check_zone_kind(zone.get("kind", "column"))
        s.check_color(zone.get("color", s.DEFAULT_ZONE_COLOR), f"template {name}: zone color")
        for key in ("x", "y"):
            s.check_number(zone.get(key), f"template {name}: zone {key}")
        for key in ("w", "h"):
            s.check_size(zone.get(key), f"template {name}: zone {key}")
    for note in data.get("notes", []):
        if note.get("zone", "") and note["zone"] not in zone_ids:
            raise ValueError(f"template {name}: note in unknown zone {note['zone']!r}")


def apply_template(
    doc: Doc,
    name: str,
    locale: str = s.DEFAULT_LOCALE,
    title: str | None = None,
    *,
    created: str | None = None,
) -> Board:
    """Sets up a new board in `doc` from template `name`, in one transaction (one update).

    Writes meta (schema, template, locale, `created` (default: now), first phase,
    votes_per_person), the zones and the template's starter notes. Refuses a doc that already holds a board, so that a
    mistaken call can never overwrite real work.
    """
    data = load_template(name)
    s.check_locale(locale)
    board = Board(doc)
    if len(doc.get(s.META, type=Map)) or len(doc.get(s.ZONES, type=Map)) or len(doc.get(s.NOTES, type=Map)):
        raise ValueError("this board already has content; templates apply to new boards only")
    phases = data.get("phases", [])
    with doc.transaction():
        board.init_meta(
            title=title if title is not None else localize(data["title"], locale),
            template=name,
            locale=locale,
            phase=phases[0]["id"] if phases else "",
            votes_per_person=data.get("votes_per_person", 0),
            created=created,
        )
        zones = [_add_zone(board, zone, locale) for zone in data.get("zones", [])]
        _add_notes(board, data.get("notes", []), zones, locale, str(doc.get(s.META, type=Map).get("created")))
    return board


def _add_zone(board: Board, zone: dict[str, Any], locale: str) -> Zone:
    values = dict(
        id=zone["id"],
        title=localize(zone["title"], locale),
        kind=zone.get("kind", "column"),
        x=float(zone["x"]),
        y=float(zone["y"]),
        w=float(zone["w"]),
        h=float(zone["h"]),
        color=zone.get("color", s.DEFAULT_ZONE_COLOR),
        phase=zone.get("phase", ""),
    )
    board.add_zone(**values)
    return Zone(**values)


def _add_notes(board: Board, notes: list[dict[str, Any]], zones: list[Zone], locale: str, created: str) -> None:
    """Starter notes, in a grid per zone; `created` + 1 ms each so they keep the file's order."""
    start = _parse_time(created)
    by_id = {zone.id: zone for zone in zones}
    placed: dict[str, int] = {}
    for number, note in enumerate(notes):
        zone_id = note.get("zone", "")
        index = placed.get(zone_id, 0)
        placed[zone_id] = index + 1
        x, y = grid_position(index, by_id.get(zone_id), zones)
        board.add_note(
            localize(note["text"], locale), x, y,
            zone=zone_id,
            color=note.get("color", s.DEFAULT_NOTE_COLOR),
            created=s.iso(start + timedelta(milliseconds=number + 1)) if start else None,
        )


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
