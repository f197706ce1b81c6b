"""Board schema 1: the names, defaults and limits every part of `boards` agrees on.

The schema itself is described for integrators in docs/schema.md. This module is the one place
in the code where its names live; `board.py` (writing), `reader.py` (reading), `templates.py`
and `importer.py` all take them from here.

Validators raise `ValueError` with an English message naming the offending field, so that the
HTTP API can hand the message straight back to the caller.
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timezone
from typing import Iterable

from boards.model import FUNCTIONS, ZONE_KINDS

__all__ = [
    "SCHEMA_VERSION", "META", "ZONES", "NOTES", "GROUPS", "VOTES", "ACTORS", "LINKS", "STROKES",
    "ROOTS", "MAP_ROOTS", "FUNCTIONS", "ZONE_KINDS", "LOCALES", "ID_RE", "COLOR_RE", "COUNTRY_RE",
]

SCHEMA_VERSION = 1

# Root names of the Y.Doc. Every root is a Map.
META = "meta"
ZONES = "zones"
NOTES = "notes"
GROUPS = "groups"
VOTES = "votes"
ACTORS = "actors"
LINKS = "links"
STROKES = "strokes"
ROOTS: tuple[str, ...] = (META, ZONES, NOTES, GROUPS, VOTES, ACTORS, LINKS, STROKES)
MAP_ROOTS = ROOTS  # all schema-1 roots are Maps; kept separate in case that ever changes

# Field names of each entry kind, as stored in the document.
META_FIELDS: tuple[str, ...] = ("schema", "title", "template", "phase", "locale", "created", "votes_per_person")
ZONE_FIELDS: tuple[str, ...] = ("title", "kind", "x", "y", "w", "h", "color", "order", "phase")
NOTE_FIELDS: tuple[str, ...] = (
    "text", "x", "y", "w", "h", "color", "zone", "group", "author", "site", "created", "code",
)
GROUP_FIELDS: tuple[str, ...] = ("title", "color", "zone")
ACTOR_FIELDS: tuple[str, ...] = ("label", "kind", "site", "country", "x", "y", "functions")
LINK_FIELDS: tuple[str, ...] = ("from", "to", "label", "kind", "directed")
STROKE_FIELDS: tuple[str, ...] = ("points", "color", "width")

# FUNCTIONS (the four governance functions) and ZONE_KINDS are defined in boards.model, which
# is the frozen contract; they are re-exported here so there is a single source for both.
LOCALES: tuple[str, ...] = ("fr", "en")

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
COUNTRY_RE = re.compile(r"[A-Z]{2}")  # ISO 3166-1 alpha-2, e.g. FR, ML

# Defaults (the same as the dataclass defaults in boards.model).
DEFAULT_NOTE_W = 160.0
DEFAULT_NOTE_H = 100.0
DEFAULT_NOTE_COLOR = "#fff59d"
DEFAULT_ZONE_COLOR = "#f5f5f5"
DEFAULT_GROUP_COLOR = "#90caf9"
DEFAULT_STROKE_COLOR = "#333333"
DEFAULT_STROKE_WIDTH = 2.0
DEFAULT_LOCALE = "fr"
DEFAULT_TEMPLATE = "libre"

# Limits: generous for a workshop, small enough that one board stays cheap on a 3G link.
MAX_TEXT_LEN = 5000  # characters of a note
MAX_LABEL_LEN = 200  # titles, labels, author, site, kinds, phase, code
MAX_COORD = 1_000_000.0  # board units, either sign
MAX_SIZE = 100_000.0
MAX_VOTES_PER_PERSON = 1000
MAX_STROKE_VALUES = 20_000  # flat x/y values of one stroke
MAX_STROKE_WIDTH = 200.0


def new_id() -> str:
    """A random id matching ID_RE: 16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def now_iso() -> str:
    """The current UTC time as JS `Date.toISOString()` writes it: `2025-03-01T09:30:00.000Z`.

    Using the same shape as browsers keeps `created` strings sortable whoever wrote them.
    """
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_id(value: object) -> bool:
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def is_color(value: object) -> bool:
    return isinstance(value, str) and COLOR_RE.fullmatch(value) is not None


def is_number(value: object) -> bool:
    """A finite int or float (bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_id(value: object, what: str = "id") -> str:
    if not is_id(value):
        raise ValueError(f"{what} must match [A-Za-z0-9_-]{{1,64}}, got {value!r}")
    return value  # type: ignore[return-value]


def check_color(value: object, what: str = "color") -> str:
    if not is_color(value):
        raise ValueError(f"{what} must be a colour like #1a2b3c, got {value!r}")
    return value.lower()  # type: ignore[union-attr]


def check_number(value: object, what: str, *, low: float = -MAX_COORD, high: float = MAX_COORD) -> float:
    """Returns the value as a float (never an int: a large Python int reaches JS as a BigInt)."""
    if not is_number(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    number = float(value)  # type: ignore[arg-type]
    if not low <= number <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {number:g}")
    return number


def check_size(value: object, what: str) -> float:
    number = check_number(value, what, low=0.0, high=MAX_SIZE)
    if number <= 0:
        raise ValueError(f"{what} must be greater than 0, got {number:g}")
    return number


def check_text(value: object, what: str = "text", *, max_len: int = MAX_TEXT_LEN) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise ValueError(f"{what} is too long ({len(value)} characters, at most {max_len})")
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text (lone surrogate)") from None
    return value


def check_label(value: object, what: str) -> str:
    return check_text(value, what, max_len=MAX_LABEL_LEN)


def check_ref(value: object, what: str) -> str:
    """An optional reference to another entry: "" or an id."""
    if value == "":
        return ""
    return check_id(value, what)


def check_zone_kind(value: object) -> str:
    if value not in ZONE_KINDS:
        raise ValueError(f"zone kind must be one of {', '.join(ZONE_KINDS)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_locale(value: object) -> str:
    if value not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_country(value: object) -> str:
    """"" (unknown) or an ISO 3166-1 alpha-2 code; lower case is accepted and upper-cased."""
    if value == "":
        return ""
    if not isinstance(value, str) or COUNTRY_RE.fullmatch(value.upper()) is None:
        raise ValueError(f"country must be a two-letter ISO code like FR or ML, got {value!r}")
    return value.upper()


def check_functions(values: Iterable[object]) -> tuple[str, ...]:
    """The governance functions, deduplicated, in the canonical order of FUNCTIONS."""
    if isinstance(values, str):
        raise ValueError("functions must be a list of function names, not a single string")
    chosen = set()
    for value in values:
        if value not in FUNCTIONS:
            raise ValueError(f"unknown governance function {value!r}; use one of {', '.join(FUNCTIONS)}")
        chosen.add(value)
    return tuple(f for f in FUNCTIONS if f in chosen)


def check_votes_per_person(value: object) -> int:
    if not is_number(value) or float(value) != int(value) or not 0 <= value <= MAX_VOTES_PER_PERSON:  # type: ignore[arg-type]
        raise ValueError(f"votes_per_person must be a whole number from 0 to {MAX_VOTES_PER_PERSON}, got {value!r}")
    return int(value)  # type: ignore[arg-type]


def check_points(values: Iterable[object]) -> tuple[float, ...]:
    points = tuple(check_number(v, "stroke point") for v in values)
    if not points or len(points) % 2:
        raise ValueError("stroke points must be a non-empty flat list x0, y0, x1, y1, ... of even length")
    if len(points) > MAX_STROKE_VALUES:
        raise ValueError(f"a stroke holds at most {MAX_STROKE_VALUES // 2} points")
    return points
