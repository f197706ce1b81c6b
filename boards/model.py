"""The plain, immutable picture of a board that every reader of boards works from.

`boards.reader.read_board(doc)` turns a live pycrdt Doc (schema 1, see docs/schema.md) into a
`BoardSnapshot`; renderers, exports and the HTTP API only ever see these dataclasses, never the
Doc. Numbers are floats (pycrdt returns JS numbers as floats), texts are `str`, times are the
ISO 8601 strings stored in the board.

Anything the reader had to skip or repair is listed in `warnings`; the reader never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

FUNCTIONS: tuple[str, ...] = ("decision", "animation", "programmation", "mise-en-oeuvre")
ZONE_KINDS: tuple[str, ...] = ("column", "lane", "frame")


@dataclass(frozen=True, slots=True)
class Meta:
    schema: int = 1
    title: str = ""
    template: str = "libre"
    phase: str = ""
    locale: str = "fr"
    created: str = ""
    votes_per_person: int = 0  # 0: no budget


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    title: str
    kind: str  # one of ZONE_KINDS
    x: float
    y: float
    w: float
    h: float
    color: str = "#f5f5f5"
    order: float = 0.0
    phase: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    text: str
    x: float
    y: float
    w: float = 160.0
    h: float = 100.0
    color: str = "#fff59d"
    zone: str = ""
    group: str = ""
    author: str = ""
    site: str = ""
    created: str = ""
    code: str = ""
    votes: int = 0  # total dots on this note (sum over voters)


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    title: str
    color: str = "#90caf9"
    zone: str = ""


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    label: str
    kind: str = ""
    site: str = ""
    country: str = ""
    x: float = 0.0
    y: float = 0.0
    functions: tuple[str, ...] = ()  # subset of FUNCTIONS, in that order


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    source: str  # the `from` actor id (`from` is a Python keyword)
    target: str  # the `to` actor id
    label: str = ""
    kind: str = ""
    directed: bool = True


@dataclass(frozen=True, slots=True)
class Stroke:
    id: str
    points: tuple[float, ...]  # flat x0, y0, x1, y1, …
    color: str = "#333333"
    width: float = 2.0


@dataclass(frozen=True, slots=True)
class Warning:
    """An entry the reader skipped or repaired: `path` like `notes/abc.x`, `message` in English."""

    path: str
    message: str


def _frozen(mapping: Mapping[str, Mapping[str, int]] | None = None) -> Mapping[str, Mapping[str, int]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in (mapping or {}).items()})


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    meta: Meta = field(default_factory=Meta)
    zones: tuple[Zone, ...] = ()  # sorted by (order, id)
    notes: tuple[Note, ...] = ()  # sorted by (created, id)
    groups: tuple[Group, ...] = ()
    votes: Mapping[str, Mapping[str, int]] = field(default_factory=_frozen)  # noteId → voterId → dots
    actors: tuple[Actor, ...] = ()
    links: tuple[Link, ...] = ()
    strokes: tuple[Stroke, ...] = ()
    warnings: tuple[Warning, ...] = ()
