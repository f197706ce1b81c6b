"""CSV export: one row per note, for spreadsheets.

UTF-8 with a byte-order mark (so Excel opens accents right), comma-separated, every field
quoted, CRLF line ends (RFC 4180). Newlines inside a note stay inside its quoted cell. A cell
starting with = + - @ gets a leading apostrophe so a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import io

from boards.model import BoardSnapshot

from .synthesis import group_titles, labels, zone_titles

COLUMNS = ("id", "text", "zone", "group", "votes", "author", "site", "created", "code")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_csv(snapshot: BoardSnapshot) -> bytes:
    """The notes in board order (creation time), headers in the board's language."""
    names = labels(snapshot)
    zones, groups = zone_titles(snapshot), group_titles(snapshot)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([names[c] for c in COLUMNS])
    for note in snapshot.notes:
        writer.writerow([
            note.id, _safe(note.text), _safe(zones.get(note.zone, note.zone)),
            _safe(groups.get(note.group, note.group)), note.votes, _safe(note.author),
            _safe(note.site), note.created, _safe(note.code),
        ])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
