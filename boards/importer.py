"""Importing post-its typed into a spreadsheet (CSV) or produced by a script (JSON).

CSV: a header line, then one post-it per line. Headers are matched without regard to case or
accents, in French or English: text/texte, zone/colonne, color/colour/couleur, author/auteur,
site/lieu, code. Only the text column is required; unknown columns are ignored. The file is
UTF-8, with or without BOM; the separator is `;`, `,` or tab (whichever the header line uses
most), as spreadsheets produce them.

JSON: a list of objects with the same keys, or `{"notes": [...]}`.

The import is all or nothing: `parse_notes` either returns every row validated, or raises
`ImportRejected` listing every bad line. `import_notes` then writes them in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from boards import schema as s
from boards.board import Board
from boards.layout import grid_position
from boards.model import Zone

MAX_BYTES = 2_000_000
MAX_ROWS = 5000
MAX_TEXT_LEN = s.MAX_TEXT_LEN
MAX_PROBLEMS_SHOWN = 20

# Accepted header / key names (compared after lower-casing and removing accents).
ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("text", "texte", "post-it", "postit", "contenu", "content", "note"),
    "zone": ("zone", "colonne", "column", "question"),
    "color": ("color", "colour", "couleur"),
    "author": ("author", "auteur", "auteure", "auteur.e", "auteur·e", "auteur·rice", "participant"),
    "site": ("site", "lieu", "place"),
    "code": ("code", "codification"),
}

# Colour names a facilitator may type instead of #rrggbb.
COLOR_NAMES: dict[str, str] = {
    "jaune": "#fff59d", "yellow": "#fff59d",
    "orange": "#ffcc80",
    "rose": "#f8bbd0", "pink": "#f8bbd0",
    "rouge": "#ef9a9a", "red": "#ef9a9a",
    "vert": "#c5e1a5", "green": "#c5e1a5",
    "bleu": "#90caf9", "blue": "#90caf9",
    "violet": "#ce93d8", "purple": "#ce93d8",
    "gris": "#e0e0e0", "grey": "#e0e0e0", "gray": "#e0e0e0",
    "blanc": "#ffffff", "white": "#ffffff",
}


class ImportRejected(ValueError):
    """Nothing was imported. `problems` lists (line or item number, message); 0 = whole file."""

    def __init__(self, problems: Sequence[tuple[int, str]], unit: str = "line") -> None:
        self.problems = list(problems)
        self.unit = unit
        shown = [f"{unit} {n}: {message}" if n else message for n, message in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems")
        super().__init__("import rejected, nothing was imported: " + "; ".join(shown))


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated post-it; `zone` is a zone id of the board or ""; `color` "" = default."""

    line: int
    text: str
    zone: str = ""
    color: str = ""
    author: str = ""
    site: str = ""
    code: str = ""


def parse_notes(
    data: bytes,
    zones: Iterable[Zone] = (),
    *,
    content_type: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_text_len: int = MAX_TEXT_LEN,
) -> list[ImportRow]:
    """Validates post-its from CSV or JSON bytes against the board's `zones`.

    JSON is recognised by `content_type` or by a first character `[` or `{`; anything else is
    read as CSV. Raises ImportRejected (a ValueError) listing every problem.
    """
    if len(data) > max_bytes:
        raise ImportRejected([(0, f"the file is too large ({len(data)} bytes, at most {max_bytes})")])
    text = _decode(data)
    zones = tuple(zones)
    if _looks_like_json(text, content_type):
        (records, problems), unit = _json_records(text), "item"
    else:
        (records, problems), unit = _csv_records(text), "line"
    if len(records) > max_rows:
        raise ImportRejected([(0, f"too many post-its ({len(records)}, at most {max_rows})")])
    if not records and not problems:
        raise ImportRejected([(0, "no post-it found in the file")])
    rows = []
    for number, record in records:
        try:
            rows.append(_validate(number, record, zones, max_text_len))
        except ValueError as error:
            problems.append((number, str(error)))
    if problems:
        raise ImportRejected(sorted(problems), unit)
    return rows


def import_notes(board: Board, rows: Sequence[ImportRow]) -> list[str]:
    """Adds the rows as notes, in a grid in their zone after the notes already there.

    One transaction (one update); returns the new note ids in row order.
    """
    snapshot = board.snapshot()
    zones = {zone.id: zone for zone in snapshot.zones}
    _check_rows(rows, zones)
    used: dict[str, int] = {}
    for note in snapshot.notes:
        used[note.zone] = used.get(note.zone, 0) + 1
    start = datetime.now(timezone.utc)
    ids = []
    with board.doc.transaction():
        for number, row in enumerate(rows):
            zone = zones.get(row.zone)
            index = used.get(zone.id if zone else "", 0)
            used[zone.id if zone else ""] = index + 1
            x, y = grid_position(index, zone, snapshot.zones)
            ids.append(
                board.add_note(
                    row.text, x, y,
                    zone=zone.id if zone else "",
                    color=row.color or s.DEFAULT_NOTE_COLOR,
                    author=row.author,
                    site=row.site,
                    code=row.code,
                    created=s.iso(start + timedelta(milliseconds=number)),  # keeps the file's order
                )
            )
    return ids


def _check_rows(rows: Sequence[ImportRow], zones: dict[str, Zone]) -> None:
    """Re-checks rows against the board as it is now (a zone may have gone since parsing):
    a pycrdt transaction cannot be rolled back, so every write must be known to succeed."""
    problems = []
    for row in rows:
        try:
            if not isinstance(row, ImportRow):
                raise ValueError("not an ImportRow")
            if row.zone and row.zone not in zones:
                raise ValueError(f"zone {row.zone!r} is no longer on the board")
            s.check_text(row.text)
            for key in ("author", "site", "code"):
                s.check_label(getattr(row, key), key)
            if row.color:
                s.check_color(row.color)
        except ValueError as error:
            problems.append((getattr(row, "line", 0), str(error)))
    if problems:
        raise ImportRejected(problems)


# -- decoding ---------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected(
            [(line, "the file is not UTF-8 text (save it as 'CSV UTF-8' from the spreadsheet)")]
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_like_json(text: str, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    if content_type and ("csv" in content_type.lower() or "text/plain" in content_type.lower()):
        return False
    return text.lstrip()[:1] in ("[", "{")


Records = list[tuple[int, dict[str, Any]]]
Problems = list[tuple[int, str]]


def _json_records(text: str) -> tuple[Records, Problems]:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        line = getattr(error, "lineno", 0)
        raise ImportRejected([(0, f"invalid JSON (line {line}): {getattr(error, 'msg', 'too deeply nested')}")]) from None
    if isinstance(value, dict) and isinstance(value.get("notes"), list):
        value = value["notes"]
    if not isinstance(value, list):
        raise ImportRejected([(0, 'expected a JSON list of post-its, or {"notes": [...]}')])
    records, problems = [], []
    for number, item in enumerate(value, start=1):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            problems.append((number, "expected an object with a text"))
            continue
        records.append((number, _canonical_keys(item)))
    return records, problems


def _csv_records(text: str) -> tuple[Records, Problems]:
    lines = text.split("\n", 1)
    header_line = lines[0]
    delimiter = max((";", ",", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise ImportRejected([(1, f"unreadable header: {error}")]) from None
    columns = [_canonical(name) for name in header]
    if "text" not in columns:
        raise ImportRejected(
            [(1, "no text column: the first line must name the columns, e.g. texte;zone;couleur;auteur;site")]
        )
    records, problems = [], []
    line = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if any(cell.strip() for cell in cells[len(columns):]):
                    problems.append((line, f"{len(cells)} cells but only {len(columns)} columns in the header"))
                record = {column: cell for column, cell in zip(columns, cells) if column}
                records.append((line, record))
            line = reader.line_num + 1
    except csv.Error as error:
        problems.append((line, f"unreadable line: {error}"))
    return records, problems


def _canonical(name: str) -> str:
    """The field a header or key stands for ("" when it is not one of ours)."""
    folded = _fold(name)
    for field, aliases in ALIASES.items():
        if folded in aliases:
            return field
    return ""


def _canonical_keys(item: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in item.items():
        field = _canonical(key) if isinstance(key, str) else ""
        if field:
            record[field] = value
    return record


def _fold(value: str) -> str:
    """Lower case without accents, trimmed: 'Théme ' → 'theme'."""
    decomposed = unicodedata.normalize("NFKD", value.strip().lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# -- validation -------------------------------------------------------------------------------


def _validate(number: int, record: dict[str, Any], zones: tuple[Zone, ...], max_text_len: int) -> ImportRow:
    fields = {key: _as_text(key, value) for key, value in record.items()}
    text = _clean(fields.get("text", "")).strip()
    if not text:
        raise ValueError("the text is empty")
    problems = []
    values = {"text": text}
    try:
        s.check_text(text, "the text", max_len=min(max_text_len, s.MAX_TEXT_LEN))
    except ValueError as error:
        problems.append(str(error))
    for key in ("author", "site", "code"):
        values[key] = _clean(fields.get(key, "")).strip()
        try:
            s.check_label(values[key], key)
        except ValueError as error:
            problems.append(str(error))
    try:
        values["zone"] = _match_zone(fields.get("zone", "").strip(), zones)
    except ValueError as error:
        problems.append(str(error))
    try:
        values["color"] = _match_color(fields.get("color", "").strip())
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("; ".join(problems))
    return ImportRow(line=number, **values)


def _as_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{key} must be a string")
    return str(value)


def _clean(value: str) -> str:
    """Drops control characters a spreadsheet may leave (keeps newlines and tabs)."""
    return "".join(char for char in value if char in "\n\t" or unicodedata.category(char) != "Cc")


def _match_zone(value: str, zones: tuple[Zone, ...]) -> str:
    """A zone id, or a zone title (without regard to case or accents); "" for no zone."""
    if not value:
        return ""
    for zone in zones:
        if zone.id == value:
            return zone.id
    folded = _fold(value)
    matches = [zone.id for zone in zones if _fold(zone.title) == folded]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"zone {value!r} matches several zones; use the zone id")
    known = ", ".join(repr(zone.title) for zone in zones[:10]) or "none on this board"
    raise ValueError(f"unknown zone {value!r} (zones: {known})")


def _match_color(value: str) -> str:
    if not value:
        return ""
    if s.is_color(value):
        return value.lower()
    if s.is_color("#" + value):
        return "#" + value.lower()
    named = COLOR_NAMES.get(_fold(value))
    if named:
        return named
    raise ValueError(f"unknown colour {value!r} (use #rrggbb or jaune, orange, rose, rouge, vert, bleu, violet, gris)")
