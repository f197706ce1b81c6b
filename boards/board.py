"""Typed edits of a schema-1 board on top of a pycrdt Doc.

Every public method validates its input first (ValueError with an English message), then writes
inside one `doc.transaction()`, so that one call produces exactly one update on the wire.

Numbers are written as floats: a Python int beyond 32 bits would reach JS as a BigInt. Note and
group texts are `pycrdt.Text`; they are changed by whole-text replacement (`set_note_text`) or by
appending (`append_note_text`) and never by raw positions, because pycrdt counts UTF-8 bytes
where Yjs counts UTF-16 units.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pycrdt import Array, Doc, Map, Text

from boards import schema as s
from boards.model import BoardSnapshot


class Board:
    """A schema-1 board: a thin, validating writer around `doc`.

    Reading goes through `boards.reader.read_board` (see `snapshot()`), which is tolerant of
    whatever other clients wrote; this class only ever writes well-formed entries.
    """

    def __init__(self, doc: Doc | None = None) -> None:
        self.doc = doc if doc is not None else Doc()

    # -- plumbing ---------------------------------------------------------------------------

    def _root(self, name: str) -> Map:
        return self.doc.get(name, type=Map)

    def _entry(self, root: str, entry_id: str) -> Map:
        """The shared Map of an existing entry, or a ValueError naming what is missing."""
        value = self._root(root).get(entry_id) if isinstance(entry_id, str) else None
        if not isinstance(value, Map):
            kind = root[:-1] if root.endswith("s") else root
            raise ValueError(f"unknown {kind} {entry_id!r}")
        return value

    def _exists(self, root: str, entry_id: str) -> bool:
        return isinstance(self._root(root).get(entry_id), Map)

    def _fresh_id(self, root: str, entry_id: str | None) -> str:
        if entry_id is None:
            return s.new_id()
        s.check_id(entry_id)
        if entry_id in self._root(root):
            raise ValueError(f"id {entry_id!r} is already used in {root}")
        return entry_id

    def _check_zone_ref(self, zone: str) -> str:
        zone = s.check_ref(zone, "zone")
        if zone and not self._exists(s.ZONES, zone):
            raise ValueError(f"unknown zone {zone!r}")
        return zone

    def _check_group_ref(self, group: str) -> str:
        group = s.check_ref(group, "group")
        if group and not self._exists(s.GROUPS, group):
            raise ValueError(f"unknown group {group!r}")
        return group

    def _set(self, root: str, entry_id: str, values: dict[str, Any]) -> None:
        entry = self._entry(root, entry_id)
        with self.doc.transaction():
            for key, value in values.items():
                entry[key] = value

    def snapshot(self) -> BoardSnapshot:
        from boards.reader import read_board

        return read_board(self.doc)

    # -- meta -------------------------------------------------------------------------------

    def init_meta(
        self,
        *,
        title: str = "",
        template: str = s.DEFAULT_TEMPLATE,
        locale: str = s.DEFAULT_LOCALE,
        phase: str = "",
        votes_per_person: int = 0,
        created: str | None = None,
    ) -> None:
        """Writes the whole meta map of a new board (schema, created, ...)."""
        values = {
            "schema": float(s.SCHEMA_VERSION),
            "title": s.check_label(title, "title"),
            "template": s.check_label(template, "template"),
            "locale": s.check_locale(locale),
            "phase": s.check_label(phase, "phase"),
            "votes_per_person": float(s.check_votes_per_person(votes_per_person)),
            "created": s.check_label(created, "created") if created is not None else s.now_iso(),
        }
        meta = self._root(s.META)
        with self.doc.transaction():
            for key, value in values.items():
                meta[key] = value

    def set_meta(
        self,
        *,
        title: str | None = None,
        phase: str | None = None,
        locale: str | None = None,
        votes_per_person: int | None = None,
    ) -> None:
        """Changes the given meta fields only (None: leave as is)."""
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = s.check_label(title, "title")
        if phase is not None:
            values["phase"] = s.check_label(phase, "phase")
        if locale is not None:
            values["locale"] = s.check_locale(locale)
        if votes_per_person is not None:
            values["votes_per_person"] = float(s.check_votes_per_person(votes_per_person))
        meta = self._root(s.META)
        with self.doc.transaction():
            for key, value in values.items():
                meta[key] = value

    # -- zones ------------------------------------------------------------------------------

    def add_zone(
        self,
        title: str,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        kind: str = "column",
        color: str = s.DEFAULT_ZONE_COLOR,
        order: float | None = None,
        phase: str = "",
        id: str | None = None,
    ) -> str:
        """Adds a zone; `order` defaults to after the last zone. Returns its id."""
        zones = self._root(s.ZONES)
        if order is None:
            order = 1.0 + max((_num(z.get("order")) for z in zones.values() if isinstance(z, Map)), default=-1.0)
        values = {
            "title": s.check_label(title, "zone title"),
            "kind": s.check_zone_kind(kind),
            "x": s.check_number(x, "x"),
            "y": s.check_number(y, "y"),
            "w": s.check_size(w, "w"),
            "h": s.check_size(h, "h"),
            "color": s.check_color(color),
            "order": s.check_number(order, "order"),
            "phase": s.check_label(phase, "phase"),
        }
        zone_id = self._fresh_id(s.ZONES, id)
        with self.doc.transaction():
            zones[zone_id] = Map(values)
        return zone_id

    def move_zone(self, zone_id: str, x: float, y: float) -> None:
        self._set(s.ZONES, zone_id, {"x": s.check_number(x, "x"), "y": s.check_number(y, "y")})

    def resize_zone(self, zone_id: str, w: float, h: float) -> None:
        self._set(s.ZONES, zone_id, {"w": s.check_size(w, "w"), "h": s.check_size(h, "h")})

    def rename_zone(self, zone_id: str, title: str) -> None:
        self._set(s.ZONES, zone_id, {"title": s.check_label(title, "zone title")})

    def recolor_zone(self, zone_id: str, color: str) -> None:
        self._set(s.ZONES, zone_id, {"color": s.check_color(color)})

    def reorder_zone(self, zone_id: str, order: float) -> None:
        self._set(s.ZONES, zone_id, {"order": s.check_number(order, "order")})

    def delete_zone(self, zone_id: str) -> None:
        """Deletes the zone; its notes and groups stay on the board, outside any zone."""
        self._entry(s.ZONES, zone_id)
        with self.doc.transaction():
            for root in (s.NOTES, s.GROUPS):
                for entry in self._root(root).values():
                    if isinstance(entry, Map) and entry.get("zone") == zone_id:
                        entry["zone"] = ""
            del self._root(s.ZONES)[zone_id]

    # -- notes ------------------------------------------------------------------------------

    def add_note(
        self,
        text: str,
        x: float,
        y: float,
        *,
        w: float = s.DEFAULT_NOTE_W,
        h: float = s.DEFAULT_NOTE_H,
        color: str = s.DEFAULT_NOTE_COLOR,
        zone: str = "",
        group: str = "",
        author: str = "",
        site: str = "",
        code: str = "",
        created: str | None = None,
        id: str | None = None,
    ) -> str:
        """Adds a post-it. `author` stays "" for anonymous notes (as SPIRAL asks). Returns its id."""
        values = self._note_values(text, x, y, w, h, color, zone, group, author, site, code, created)
        note_id = self._fresh_id(s.NOTES, id)
        with self.doc.transaction():
            self._root(s.NOTES)[note_id] = Map(values)
        return note_id

    def _note_values(self, text, x, y, w, h, color, zone, group, author, site, code, created) -> dict[str, Any]:
        values: dict[str, Any] = {
            "text": Text(s.check_text(text)),
            "x": s.check_number(x, "x"),
            "y": s.check_number(y, "y"),
            "w": s.check_size(w, "w"),
            "h": s.check_size(h, "h"),
            "color": s.check_color(color),
            "zone": self._check_zone_ref(zone),
            "group": self._check_group_ref(group),
            "author": s.check_label(author, "author"),
            "site": s.check_label(site, "site"),
            "created": s.check_label(created, "created") if created is not None else s.now_iso(),
        }
        if code:
            values["code"] = s.check_label(code, "code")
        return values

    def move_note(self, note_id: str, x: float, y: float, *, zone: str | None = None) -> None:
        """Moves a note, and into `zone` too when given ("" takes it out of any zone)."""
        values: dict[str, Any] = {"x": s.check_number(x, "x"), "y": s.check_number(y, "y")}
        if zone is not None:
            values["zone"] = self._check_zone_ref(zone)
        self._set(s.NOTES, note_id, values)

    def resize_note(self, note_id: str, w: float, h: float) -> None:
        self._set(s.NOTES, note_id, {"w": s.check_size(w, "w"), "h": s.check_size(h, "h")})

    def recolor_note(self, note_id: str, color: str) -> None:
        self._set(s.NOTES, note_id, {"color": s.check_color(color)})

    def set_note_zone(self, note_id: str, zone: str) -> None:
        self._set(s.NOTES, note_id, {"zone": self._check_zone_ref(zone)})

    def set_note_group(self, note_id: str, group: str) -> None:
        self._set(s.NOTES, note_id, {"group": self._check_group_ref(group)})

    def set_note_code(self, note_id: str, code: str) -> None:
        """Sets the SPIRAL codification, e.g. `A01-11/P15/k` ("" removes it)."""
        self._set(s.NOTES, note_id, {"code": s.check_label(code, "code")})

    def set_note_author(self, note_id: str, author: str, site: str | None = None) -> None:
        values = {"author": s.check_label(author, "author")}
        if site is not None:
            values["site"] = s.check_label(site, "site")
        self._set(s.NOTES, note_id, values)

    def set_note_text(self, note_id: str, text: str) -> None:
        """Replaces the whole text (only the changed middle part is rewritten)."""
        text = s.check_text(text)
        with self.doc.transaction():
            _replace_text(self._note_text(note_id), text)

    def append_note_text(self, note_id: str, text: str) -> None:
        current = self._entry(s.NOTES, note_id).get("text")
        s.check_text((str(current) if isinstance(current, (Text, str)) else "") + s.check_text(text))
        with self.doc.transaction():
            self._note_text(note_id).__iadd__(text)

    def _note_text(self, note_id: str) -> Text:
        """The note's Text, repaired into a Text if another client stored something else."""
        note = self._entry(s.NOTES, note_id)
        text = note.get("text")
        if not isinstance(text, Text):
            note["text"] = Text(text if isinstance(text, str) else "")
            text = note.get("text")
        return text

    def delete_note(self, note_id: str) -> None:
        """Deletes the note and the dots on it."""
        self._entry(s.NOTES, note_id)
        votes = self._root(s.VOTES)
        with self.doc.transaction():
            del self._root(s.NOTES)[note_id]
            if note_id in votes:
                del votes[note_id]

    # -- groups -----------------------------------------------------------------------------

    def add_group(self, title: str, *, color: str = s.DEFAULT_GROUP_COLOR, zone: str = "", id: str | None = None) -> str:
        """Adds a cluster (a SPIRAL criterion). Returns its id."""
        values = {
            "title": Text(s.check_label(title, "group title")),
            "color": s.check_color(color),
            "zone": self._check_zone_ref(zone),
        }
        group_id = self._fresh_id(s.GROUPS, id)
        with self.doc.transaction():
            self._root(s.GROUPS)[group_id] = Map(values)
        return group_id

    def rename_group(self, group_id: str, title: str) -> None:
        title = s.check_label(title, "group title")
        with self.doc.transaction():
            group = self._entry(s.GROUPS, group_id)
            current = group.get("title")
            if isinstance(current, Text):
                _replace_text(current, title)
            else:
                group["title"] = Text(title)

    def recolor_group(self, group_id: str, color: str) -> None:
        self._set(s.GROUPS, group_id, {"color": s.check_color(color)})

    def set_group_zone(self, group_id: str, zone: str) -> None:
        self._set(s.GROUPS, group_id, {"zone": self._check_zone_ref(zone)})

    def delete_group(self, group_id: str) -> None:
        """Deletes the group; its notes stay, ungrouped."""
        self._entry(s.GROUPS, group_id)
        with self.doc.transaction():
            for note in self._root(s.NOTES).values():
                if isinstance(note, Map) and note.get("group") == group_id:
                    note["group"] = ""
            del self._root(s.GROUPS)[group_id]

    # -- votes ------------------------------------------------------------------------------

    def votes_left(self, voter: str) -> int | None:
        """Dots `voter` may still place, or None when the board has no budget."""
        budget = self._budget()
        if budget == 0:
            return None
        return budget - self._spent(voter)

    def _budget(self) -> int:
        value = self._root(s.META).get("votes_per_person")
        return int(value) if s.is_number(value) and value > 0 else 0

    def _spent(self, voter: str) -> int:
        notes = self._root(s.NOTES)
        spent = 0
        for note_id, per_voter in self._root(s.VOTES).items():
            if isinstance(per_voter, Map) and isinstance(notes.get(note_id), Map):
                spent += int(_num(per_voter.get(voter)))
        return spent

    def set_votes(self, note_id: str, voter: str, dots: int) -> None:
        """Sets how many dots `voter` puts on the note (0 removes them), within the budget."""
        s.check_id(voter, "voter id")
        if not s.is_number(dots) or dots != int(dots) or not 0 <= dots <= s.MAX_VOTES_PER_PERSON:
            raise ValueError(f"dots must be a whole number from 0 to {s.MAX_VOTES_PER_PERSON}, got {dots!r}")
        self._entry(s.NOTES, note_id)
        votes = self._root(s.VOTES)
        per_voter = votes.get(note_id)
        current = int(_num(per_voter.get(voter))) if isinstance(per_voter, Map) else 0
        budget = self._budget()
        if budget and dots > current and self._spent(voter) - current + dots > budget:
            raise ValueError(
                f"voter {voter!r} is over budget: {budget} dots per person, "
                f"{self._spent(voter)} already placed, {dots - current} more asked"
            )
        with self.doc.transaction():
            if not isinstance(per_voter, Map):
                votes[note_id] = Map()
                per_voter = votes[note_id]
            if dots:
                per_voter[voter] = float(dots)
            elif voter in per_voter:
                del per_voter[voter]

    def vote(self, note_id: str, voter: str, dots: int = 1) -> None:
        """Adds `dots` dots of `voter` on the note; ValueError when over budget."""
        current = self._current_dots(note_id, voter)
        self.set_votes(note_id, voter, current + dots)

    def unvote(self, note_id: str, voter: str, dots: int = 1) -> None:
        current = self._current_dots(note_id, voter)
        self.set_votes(note_id, voter, max(0, current - dots))

    def _current_dots(self, note_id: str, voter: str) -> int:
        per_voter = self._root(s.VOTES).get(note_id) if isinstance(note_id, str) else None
        return int(_num(per_voter.get(voter))) if isinstance(per_voter, Map) and isinstance(voter, str) else 0

    # -- actors and links -------------------------------------------------------------------

    def add_actor(
        self,
        label: str,
        *,
        kind: str = "",
        site: str = "",
        country: str = "",
        x: float = 0.0,
        y: float = 0.0,
        functions: Iterable[str] = (),
        id: str | None = None,
    ) -> str:
        """Adds a governance actor holding some of the four functions. Returns its id."""
        values = {
            "label": s.check_label(label, "label"),
            "kind": s.check_label(kind, "kind"),
            "site": s.check_label(site, "site"),
            "country": s.check_country(country),
            "x": s.check_number(x, "x"),
            "y": s.check_number(y, "y"),
            "functions": Array(list(s.check_functions(functions))),
        }
        actor_id = self._fresh_id(s.ACTORS, id)
        with self.doc.transaction():
            self._root(s.ACTORS)[actor_id] = Map(values)
        return actor_id

    def move_actor(self, actor_id: str, x: float, y: float) -> None:
        self._set(s.ACTORS, actor_id, {"x": s.check_number(x, "x"), "y": s.check_number(y, "y")})

    def update_actor(
        self,
        actor_id: str,
        *,
        label: str | None = None,
        kind: str | None = None,
        site: str | None = None,
        country: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if label is not None:
            values["label"] = s.check_label(label, "label")
        if kind is not None:
            values["kind"] = s.check_label(kind, "kind")
        if site is not None:
            values["site"] = s.check_label(site, "site")
        if country is not None:
            values["country"] = s.check_country(country)
        self._set(s.ACTORS, actor_id, values)

    def set_actor_functions(self, actor_id: str, functions: Iterable[str]) -> None:
        """Replaces the actor's functions (the Array is edited in place, not replaced)."""
        wanted = s.check_functions(functions)
        with self.doc.transaction():
            array = self._functions(actor_id)
            for index in reversed(range(len(array))):
                if array[index] not in wanted:
                    del array[index]
            present = set(array.to_py())
            for function in wanted:
                if function not in present:
                    array.append(function)

    def add_actor_function(self, actor_id: str, function: str) -> None:
        s.check_functions([function])
        with self.doc.transaction():
            array = self._functions(actor_id)
            if function not in array.to_py():
                array.append(function)

    def remove_actor_function(self, actor_id: str, function: str) -> None:
        s.check_functions([function])
        with self.doc.transaction():
            array = self._functions(actor_id)
            for index in reversed(range(len(array))):
                if array[index] == function:
                    del array[index]

    def _functions(self, actor_id: str) -> Array:
        actor = self._entry(s.ACTORS, actor_id)
        array = actor.get("functions")
        if not isinstance(array, Array):
            actor["functions"] = Array()
            array = actor.get("functions")
        return array

    def delete_actor(self, actor_id: str) -> None:
        """Deletes the actor and every link from or to it."""
        self._entry(s.ACTORS, actor_id)
        links = self._root(s.LINKS)
        with self.doc.transaction():
            for link_id, link in list(links.items()):
                if isinstance(link, Map) and actor_id in (link.get("from"), link.get("to")):
                    del links[link_id]
            del self._root(s.ACTORS)[actor_id]

    def add_link(
        self,
        source: str,
        target: str,
        *,
        label: str = "",
        kind: str = "",
        directed: bool = True,
        id: str | None = None,
    ) -> str:
        """Links two existing actors (`from`=source, `to`=target). Returns the link id."""
        for end, name in ((source, "from"), (target, "to")):
            if not isinstance(end, str) or not self._exists(s.ACTORS, end):
                raise ValueError(f"link {name}: unknown actor {end!r}")
        if not isinstance(directed, bool):
            raise ValueError(f"directed must be true or false, got {directed!r}")
        values = {
            "from": source,
            "to": target,
            "label": s.check_label(label, "label"),
            "kind": s.check_label(kind, "kind"),
            "directed": directed,
        }
        link_id = self._fresh_id(s.LINKS, id)
        with self.doc.transaction():
            self._root(s.LINKS)[link_id] = Map(values)
        return link_id

    def update_link(self, link_id: str, *, label: str | None = None, kind: str | None = None, directed: bool | None = None) -> None:
        values: dict[str, Any] = {}
        if label is not None:
            values["label"] = s.check_label(label, "label")
        if kind is not None:
            values["kind"] = s.check_label(kind, "kind")
        if directed is not None:
            if not isinstance(directed, bool):
                raise ValueError(f"directed must be true or false, got {directed!r}")
            values["directed"] = directed
        self._set(s.LINKS, link_id, values)

    def delete_link(self, link_id: str) -> None:
        self._entry(s.LINKS, link_id)
        with self.doc.transaction():
            del self._root(s.LINKS)[link_id]

    # -- strokes ----------------------------------------------------------------------------

    def add_stroke(
        self,
        points: Sequence[float],
        *,
        color: str = s.DEFAULT_STROKE_COLOR,
        width: float = s.DEFAULT_STROKE_WIDTH,
        id: str | None = None,
    ) -> str:
        """Adds a free-hand line; `points` is flat: x0, y0, x1, y1, ... Returns its id."""
        values = {
            "points": Array(list(s.check_points(points))),
            "color": s.check_color(color),
            "width": s.check_number(width, "width", low=0.0, high=s.MAX_STROKE_WIDTH),
        }
        stroke_id = self._fresh_id(s.STROKES, id)
        with self.doc.transaction():
            self._root(s.STROKES)[stroke_id] = Map(values)
        return stroke_id

    def delete_stroke(self, stroke_id: str) -> None:
        self._entry(s.STROKES, stroke_id)
        with self.doc.transaction():
            del self._root(s.STROKES)[stroke_id]


def _num(value: object) -> float:
    return float(value) if s.is_number(value) else 0.0  # type: ignore[arg-type]


def _replace_text(text: Text, new: str) -> None:
    """Makes `text` read `new`, rewriting only the middle part that differs.

    Keeping the common prefix and suffix means a concurrent edit elsewhere in the same note
    survives the merge. Offsets are computed here, in pycrdt's own unit (UTF-8 bytes), and
    never leave this function.
    """
    old = str(text)
    if old == new:
        return
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    start = len(old[:prefix].encode("utf-8"))
    end = len(old[: len(old) - suffix].encode("utf-8"))
    if end > start:
        del text[start:end]
    middle = new[prefix : len(new) - suffix]
    if middle:
        text.insert(start, middle)
