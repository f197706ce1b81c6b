"""The tolerant reader: a pycrdt Doc in, an immutable `BoardSnapshot` out, never an exception.

Any client can write anything into a shared board (a buggy browser, an old version, a hostile
script). The reader keeps whatever it can: a missing or ill-typed field gets its default, an
entry that cannot be read at all is skipped, and either way a `Warning(path, message)` says what
happened. Paths look like `notes/abc.x` (field `x` of note `abc`) or `links/l1` (a whole entry).

Everything in the snapshot is sorted (zones by (order, id), notes by (created, id), the others
by id, warnings by path) so that two replicas holding the same state give equal snapshots.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from pycrdt import Array, Doc, Map, Text

from boards import schema as s
from boards.model import (
    FUNCTIONS,
    Actor,
    BoardSnapshot,
    Group,
    Link,
    Meta,
    Note,
    Stroke,
    Warning,
    Zone,
    _frozen,
)

_FATAL = (KeyboardInterrupt, SystemExit)


class _Skip(Exception):
    """Raised inside an entry reader to drop the entry (the warning is already recorded)."""


class _Warnings:
    def __init__(self) -> None:
        self.items: set[tuple[str, str]] = set()

    def add(self, path: str, message: str) -> None:
        self.items.add((path, message))

    def sorted(self) -> tuple[Warning, ...]:
        return tuple(Warning(path, message) for path, message in sorted(self.items))


def read_board(doc: Doc) -> BoardSnapshot:
    """Reads a schema-1 board. Never raises (bar KeyboardInterrupt/SystemExit)."""
    warnings = _Warnings()
    try:
        return _read(doc, warnings)
    except BaseException as error:  # pycrdt may raise a pyo3 PanicException (a BaseException)
        if isinstance(error, _FATAL):
            raise
        warnings.add("", f"the board could not be read ({type(error).__name__})")
        return BoardSnapshot(warnings=warnings.sorted())


def _read(doc: Doc, warnings: _Warnings) -> BoardSnapshot:
    roots = {name: _root_entries(doc, name, warnings) for name in s.ROOTS}
    meta = _read_meta(roots[s.META], warnings)
    zones = _read_all(roots[s.ZONES], s.ZONES, _read_zone, warnings)
    zone_ids = {zone.id for zone in zones}
    groups = _read_all(roots[s.GROUPS], s.GROUPS, lambda f: _read_group(f, zone_ids), warnings)
    group_ids = {group.id for group in groups}
    notes = _read_all(roots[s.NOTES], s.NOTES, lambda f: _read_note(f, zone_ids, group_ids), warnings)
    votes = _read_votes(roots[s.VOTES], {note.id for note in notes}, meta.votes_per_person, warnings)
    totals = {note_id: sum(per_voter.values()) for note_id, per_voter in votes.items()}
    notes = [_with_votes(note, totals.get(note.id, 0)) for note in notes]
    actors = _read_all(roots[s.ACTORS], s.ACTORS, _read_actor, warnings)
    actor_ids = {actor.id for actor in actors}
    links = _read_all(roots[s.LINKS], s.LINKS, lambda f: _read_link(f, actor_ids), warnings)
    strokes = _read_all(roots[s.STROKES], s.STROKES, _read_stroke, warnings)
    return BoardSnapshot(
        meta=meta,
        zones=tuple(sorted(zones, key=lambda z: (z.order, z.id))),
        notes=tuple(sorted(notes, key=lambda n: (n.created, n.id))),
        groups=tuple(sorted(groups, key=lambda g: g.id)),
        votes=_frozen(votes),
        actors=tuple(sorted(actors, key=lambda a: a.id)),
        links=tuple(sorted(links, key=lambda l: l.id)),
        strokes=tuple(sorted(strokes, key=lambda t: t.id)),
        warnings=warnings.sorted(),
    )


# -- roots and entries ------------------------------------------------------------------------


def _root_entries(doc: Doc, name: str, warnings: _Warnings) -> dict[str, Any]:
    """The entries of root `name` as a dict, or {} (with a warning) when it is not a Map."""
    try:
        existing = dict(doc.items())
    except BaseException as error:
        if isinstance(error, _FATAL):
            raise
        existing = None  # an unknown root type somewhere: fall back to asking for this one
    try:
        if existing is not None and name not in existing:
            return {}
        root = existing.get(name) if existing is not None else None
        if root is None:  # known only from remote updates, type not fixed yet: read it as a Map
            root = doc.get(name, type=Map)
        if not isinstance(root, Map):
            warnings.add(name, f"root is a {type(root).__name__}, expected a Map; ignored")
            return {}
        return dict(root.items())
    except BaseException as error:
        if isinstance(error, _FATAL):
            raise
        warnings.add(name, f"root could not be read ({type(error).__name__}); ignored")
        return {}


def _read_all(entries: dict[str, Any], root: str, read: Callable[["_Fields"], Any], warnings: _Warnings) -> list:
    result = []
    for entry_id, raw in entries.items():
        path = f"{root}/{entry_id}"
        if not s.is_id(entry_id):
            warnings.add(path, "id is not a valid id ([A-Za-z0-9_-]{1,64}); entry skipped")
            continue
        fields = _as_dict(raw)
        if fields is None:
            warnings.add(path, f"entry is a {_type_name(raw)}, expected a Map; skipped")
            continue
        try:
            result.append(read(_Fields(entry_id, path, fields, warnings)))
        except _Skip:
            pass
        except BaseException as error:
            if isinstance(error, _FATAL):
                raise
            warnings.add(path, f"entry could not be read ({type(error).__name__}); skipped")
    return result


def _as_dict(value: Any) -> dict[str, Any] | None:
    """A shared Map or a plain JSON object (as a JS client may write) as a dict; else None."""
    if isinstance(value, Map):
        return dict(value.items())
    if isinstance(value, dict):
        return value
    return None


def _as_list(value: Any) -> list | None:
    if isinstance(value, Array):
        return list(value)
    if isinstance(value, list):
        return value
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


class _Fields:
    """Typed access to one entry's fields, recording a warning for each default it falls back to."""

    def __init__(self, entry_id: str, path: str, fields: dict[str, Any], warnings: _Warnings) -> None:
        self.id = entry_id
        self.path = path
        self.fields = fields
        self.warnings = warnings

    def warn(self, key: str, message: str) -> None:
        self.warnings.add(f"{self.path}.{key}", message)

    def skip(self, message: str) -> None:
        self.warnings.add(self.path, message)
        raise _Skip

    def _get(self, key: str, default: Any, required: bool, accept: Callable[[Any], bool], expected: str) -> Any:
        if key not in self.fields:
            if required:
                self.warn(key, f"missing; using {default!r}")
            return default
        value = self.fields[key]
        if not accept(value):
            self.warn(key, f"expected {expected}, got {_describe(value)}; using {default!r}")
            return default
        return value

    def str(self, key: str, default: str = "", required: bool = False) -> str:
        return self._get(key, default, required, lambda v: isinstance(v, str), "a string")

    def num(self, key: str, default: float, required: bool = False) -> float:
        return float(self._get(key, default, required, s.is_number, "a finite number"))

    def size(self, key: str, default: float, required: bool = False) -> float:
        return float(self._get(key, default, required, lambda v: s.is_number(v) and v > 0, "a positive number"))

    def color(self, key: str, default: str) -> str:
        return self._get(key, default, False, s.is_color, "a colour #rrggbb").lower()

    def flag(self, key: str, default: bool) -> bool:
        return self._get(key, default, False, lambda v: isinstance(v, bool), "true or false")

    def text(self, key: str, required: bool = True) -> str:
        """A shared Text field; a plain string is kept but reported."""
        value = self.fields.get(key)
        if isinstance(value, Text):
            return str(value)
        if isinstance(value, str):
            self.warn(key, "is a plain string, expected a shared Text; kept")
            return value
        return self._get(key, "", required, lambda v: False, "a Text")

    def ref(self, key: str, known: set[str], what: str) -> str:
        """An optional reference ("" or the id of a known entry); a dangling one is dropped."""
        value = self.str(key)
        if value and value not in known:
            self.warn(key, f"refers to unknown {what} {value!r}; ignored")
            return ""
        return value


def _describe(value: Any) -> str:
    """A short description of a bad value for a warning (never the whole of a long string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # shows nan and inf as such
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    return _type_name(value)


# -- one reader per entry kind ----------------------------------------------------------------


def _read_meta(entries: dict[str, Any], warnings: _Warnings) -> Meta:
    if not entries:  # a brand-new, empty board
        return Meta()
    f = _Fields("meta", s.META, entries, warnings)
    schema = entries.get("schema")
    if "schema" not in entries:
        warnings.add("meta.schema", f"missing; read as schema {s.SCHEMA_VERSION}")
    elif not (s.is_number(schema) and schema == s.SCHEMA_VERSION):
        warnings.add("meta.schema", f"unknown schema {_describe(schema)}; read as schema {s.SCHEMA_VERSION}")
    locale = f.str("locale", s.DEFAULT_LOCALE)
    if locale not in s.LOCALES:
        f.warn("locale", f"unknown locale {locale!r}; using {s.DEFAULT_LOCALE!r}")
        locale = s.DEFAULT_LOCALE
    budget = f.num("votes_per_person", 0.0)
    if budget < 0 or budget != int(budget):
        f.warn("votes_per_person", f"expected a whole number >= 0, got {budget!r}; using 0")
        budget = 0.0
    return Meta(
        schema=s.SCHEMA_VERSION,
        title=f.str("title"),
        template=f.str("template", s.DEFAULT_TEMPLATE),
        phase=f.str("phase"),
        locale=locale,
        created=f.str("created"),
        votes_per_person=int(budget),
    )


def _read_zone(f: _Fields) -> Zone:
    kind = f.str("kind", "column", required=True)
    if kind not in s.ZONE_KINDS:
        f.warn("kind", f"unknown zone kind {kind!r}; using 'column'")
        kind = "column"
    return Zone(
        id=f.id,
        title=f.str("title", required=True),
        kind=kind,
        x=f.num("x", 0.0, required=True),
        y=f.num("y", 0.0, required=True),
        w=f.size("w", 400.0, required=True),
        h=f.size("h", 900.0, required=True),
        color=f.color("color", s.DEFAULT_ZONE_COLOR),
        order=f.num("order", 0.0),
        phase=f.str("phase"),
    )


def _read_note(f: _Fields, zone_ids: set[str], group_ids: set[str]) -> Note:
    return Note(
        id=f.id,
        text=f.text("text"),
        x=f.num("x", 0.0, required=True),
        y=f.num("y", 0.0, required=True),
        w=f.size("w", s.DEFAULT_NOTE_W),
        h=f.size("h", s.DEFAULT_NOTE_H),
        color=f.color("color", s.DEFAULT_NOTE_COLOR),
        zone=f.ref("zone", zone_ids, "zone"),
        group=f.ref("group", group_ids, "group"),
        author=f.str("author"),
        site=f.str("site"),
        created=f.str("created"),
        code=f.str("code"),
    )


def _with_votes(note: Note, votes: int) -> Note:
    return replace(note, votes=votes) if votes else note


def _read_group(f: _Fields, zone_ids: set[str]) -> Group:
    return Group(
        id=f.id,
        title=f.text("title"),
        color=f.color("color", s.DEFAULT_GROUP_COLOR),
        zone=f.ref("zone", zone_ids, "zone"),
    )


def _read_votes(
    entries: dict[str, Any], note_ids: set[str], budget: int, warnings: _Warnings
) -> dict[str, dict[str, int]]:
    votes: dict[str, dict[str, int]] = {}
    for note_id, raw in entries.items():
        path = f"votes/{note_id}"
        if note_id not in note_ids:
            warnings.add(path, "votes on an unknown note; ignored")
            continue
        per_voter = _as_dict(raw)
        if per_voter is None:
            warnings.add(path, f"expected a Map voter -> dots, got {_type_name(raw)}; ignored")
            continue
        for voter, dots in per_voter.items():
            if not (s.is_number(dots) and dots >= 0 and dots == int(dots)):
                warnings.add(f"{path}.{voter}", f"expected a whole number of dots, got {_describe(dots)}; ignored")
            elif dots:
                votes.setdefault(note_id, {})[voter] = int(dots)
    if budget:
        _check_budget(votes, budget, warnings)
    return votes


def _check_budget(votes: dict[str, dict[str, int]], budget: int, warnings: _Warnings) -> None:
    """Reports voters over `meta.votes_per_person`; their dots are kept (who would we drop?)."""
    spent: dict[str, int] = {}
    for per_voter in votes.values():
        for voter, dots in per_voter.items():
            spent[voter] = spent.get(voter, 0) + dots
    for voter, total in spent.items():
        if total > budget:
            warnings.add("votes", f"voter {voter!r} placed {total} dots, over the budget of {budget}; kept")


def _read_actor(f: _Fields) -> Actor:
    country = f.str("country")
    if country and s.COUNTRY_RE.fullmatch(country) is None:
        f.warn("country", f"expected a two-letter ISO code, got {country!r}; ignored")
        country = ""
    return Actor(
        id=f.id,
        label=f.str("label", required=True),
        kind=f.str("kind"),
        site=f.str("site"),
        country=country,
        x=f.num("x", 0.0),
        y=f.num("y", 0.0),
        functions=_read_functions(f),
    )


def _read_functions(f: _Fields) -> tuple[str, ...]:
    if "functions" not in f.fields:
        return ()
    values = _as_list(f.fields["functions"])
    if values is None:
        f.warn("functions", f"expected a list, got {_type_name(f.fields['functions'])}; using []")
        return ()
    unknown = [v for v in values if v not in FUNCTIONS]
    if unknown:
        f.warn("functions", f"unknown functions {', '.join(map(_describe, unknown))}; ignored")
    return tuple(function for function in FUNCTIONS if function in values)


def _read_link(f: _Fields, actor_ids: set[str]) -> Link:
    ends = {}
    for key in ("from", "to"):
        value = f.fields.get(key)
        if not isinstance(value, str) or value not in actor_ids:
            f.skip(f"link `{key}` is not a known actor ({_describe(value)}); skipped")
        ends[key] = value
    return Link(
        id=f.id,
        source=ends["from"],
        target=ends["to"],
        label=f.str("label"),
        kind=f.str("kind"),
        directed=f.flag("directed", True),
    )


def _read_stroke(f: _Fields) -> Stroke:
    points = _as_list(f.fields.get("points"))
    if points is None:
        f.skip("stroke has no list of points; skipped")
    if not points or len(points) % 2 or not all(s.is_number(p) for p in points):
        f.skip("stroke points must be an even number of finite numbers; skipped")
    return Stroke(
        id=f.id,
        points=tuple(float(p) for p in points),
        color=f.color("color", s.DEFAULT_STROKE_COLOR),
        width=f.size("width", s.DEFAULT_STROKE_WIDTH),
    )


# -- JSON -------------------------------------------------------------------------------------


def read_board_json(snapshot: BoardSnapshot) -> dict[str, Any]:
    """The snapshot as plain JSON-able data, with the schema's own keys (`from`/`to` for links)."""
    m = snapshot.meta
    return {
        "meta": {
            "schema": m.schema,
            "title": m.title,
            "template": m.template,
            "phase": m.phase,
            "locale": m.locale,
            "created": m.created,
            "votes_per_person": m.votes_per_person,
        },
        "zones": [
            {"id": z.id, "title": z.title, "kind": z.kind, "x": z.x, "y": z.y, "w": z.w, "h": z.h,
             "color": z.color, "order": z.order, "phase": z.phase}
            for z in snapshot.zones
        ],
        "notes": [
            {"id": n.id, "text": n.text, "x": n.x, "y": n.y, "w": n.w, "h": n.h, "color": n.color,
             "zone": n.zone, "group": n.group, "author": n.author, "site": n.site, "created": n.created,
             "code": n.code, "votes": n.votes}
            for n in snapshot.notes
        ],
        "groups": [{"id": g.id, "title": g.title, "color": g.color, "zone": g.zone} for g in snapshot.groups],
        "votes": {note_id: dict(per_voter) for note_id, per_voter in sorted(snapshot.votes.items())},
        "actors": [
            {"id": a.id, "label": a.label, "kind": a.kind, "site": a.site, "country": a.country,
             "x": a.x, "y": a.y, "functions": list(a.functions)}
            for a in snapshot.actors
        ],
        "links": [
            {"id": l.id, "from": l.source, "to": l.target, "label": l.label, "kind": l.kind, "directed": l.directed}
            for l in snapshot.links
        ],
        "strokes": [
            {"id": t.id, "points": list(t.points), "color": t.color, "width": t.width} for t in snapshot.strokes
        ],
        "warnings": [{"path": w.path, "message": w.message} for w in snapshot.warnings],
    }
