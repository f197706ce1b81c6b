"""What changed between two moments of a board (e.g. two Delphi rounds).

Notes are matched by id: added, removed, moved to another zone or group, text edited, votes
changed; actors and links added or removed. Zone and group titles are resolved in each
snapshot (a note whose zone was renamed did not move).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from boards.export.markdown import escape
from boards.model import Actor, BoardSnapshot, Link, Note


@dataclass(frozen=True, slots=True)
class NoteRef:
    id: str
    text: str
    zone: str  # zone title ("" for none)
    group: str  # group title ("" for none)
    votes: int


@dataclass(frozen=True, slots=True)
class NoteMove:
    id: str
    text: str
    from_zone: str
    to_zone: str
    from_group: str
    to_group: str


@dataclass(frozen=True, slots=True)
class TextChange:
    id: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class VoteChange:
    id: str
    text: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class ActorRef:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class LinkRef:
    id: str
    source: str  # actor labels (ids when the actor is missing)
    target: str
    label: str


@dataclass(frozen=True, slots=True)
class BoardDiff:
    notes_added: tuple[NoteRef, ...] = ()
    notes_removed: tuple[NoteRef, ...] = ()
    notes_moved: tuple[NoteMove, ...] = ()
    notes_edited: tuple[TextChange, ...] = ()
    votes_changed: tuple[VoteChange, ...] = ()
    actors_added: tuple[ActorRef, ...] = ()
    actors_removed: tuple[ActorRef, ...] = ()
    links_added: tuple[LinkRef, ...] = ()
    links_removed: tuple[LinkRef, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

    def to_json(self) -> dict:
        """JSON-ready dict: one list per kind of change."""
        return {name: [asdict(item) for item in getattr(self, name)] for name in self.__dataclass_fields__}

    def to_markdown(self, locale: str = "fr") -> str:
        return diff_markdown(self, locale)


def diff_boards(before: BoardSnapshot, after: BoardSnapshot) -> BoardDiff:
    """The changes from `before` to `after`, each list in the order of its board."""
    old = {n.id: n for n in before.notes}
    new = {n.id: n for n in after.notes}
    kept = [(old[i], new[i]) for i in new if i in old]
    return BoardDiff(
        notes_added=tuple(_ref(after, n) for i, n in new.items() if i not in old),
        notes_removed=tuple(_ref(before, n) for i, n in old.items() if i not in new),
        notes_moved=tuple(_move(before, after, a, b) for a, b in kept if (a.zone, a.group) != (b.zone, b.group)),
        notes_edited=tuple(TextChange(b.id, a.text, b.text) for a, b in kept if a.text != b.text),
        votes_changed=tuple(VoteChange(b.id, b.text, a.votes, b.votes) for a, b in kept if a.votes != b.votes),
        actors_added=_actors(after.actors, before.actors),
        actors_removed=_actors(before.actors, after.actors),
        links_added=_links(after, before),
        links_removed=_links(before, after),
    )


def _titles(snapshot: BoardSnapshot, note: Note) -> tuple[str, str]:
    zones = {z.id: z.title for z in snapshot.zones}
    groups = {g.id: g.title for g in snapshot.groups}
    return zones.get(note.zone, note.zone), groups.get(note.group, note.group)


def _ref(snapshot: BoardSnapshot, note: Note) -> NoteRef:
    zone, group = _titles(snapshot, note)
    return NoteRef(note.id, note.text, zone, group, note.votes)


def _move(before: BoardSnapshot, after: BoardSnapshot, a: Note, b: Note) -> NoteMove:
    (from_zone, from_group), (to_zone, to_group) = _titles(before, a), _titles(after, b)
    return NoteMove(b.id, b.text, from_zone, to_zone, from_group, to_group)


def _actors(these: tuple[Actor, ...], others: tuple[Actor, ...]) -> tuple[ActorRef, ...]:
    known = {a.id for a in others}
    return tuple(ActorRef(a.id, a.label) for a in these if a.id not in known)


def _links(this: BoardSnapshot, other: BoardSnapshot) -> tuple[LinkRef, ...]:
    known = {l.id for l in other.links}
    labels = {a.id: a.label for a in this.actors}
    return tuple(
        LinkRef(l.id, labels.get(l.source, l.source), labels.get(l.target, l.target), l.label)
        for l in this.links if l.id not in known
    )


_MD = {
    "fr": {
        "title": "Changements", "none": "Aucun changement.", "notes_added": "Notes ajoutées",
        "notes_removed": "Notes retirées", "notes_moved": "Notes déplacées",
        "notes_edited": "Notes modifiées", "votes_changed": "Votes modifiés",
        "actors_added": "Acteurs ajoutés", "actors_removed": "Acteurs retirés",
        "links_added": "Liens ajoutés", "links_removed": "Liens retirés", "none_zone": "sans zone",
        "none_group": "sans groupe",
    },
    "en": {
        "title": "Changes", "none": "No change.", "notes_added": "Notes added",
        "notes_removed": "Notes removed", "notes_moved": "Notes moved", "notes_edited": "Notes edited",
        "votes_changed": "Votes changed", "actors_added": "Actors added",
        "actors_removed": "Actors removed", "links_added": "Links added", "links_removed": "Links removed",
        "none_zone": "no zone", "none_group": "no group",
    },
}


def diff_markdown(diff: BoardDiff, locale: str = "fr") -> str:
    names = _MD["en" if locale == "en" else "fr"]
    lines = [f"# {names['title']}", ""]
    if diff.empty:
        return "\n".join([*lines, names["none"]]) + "\n"
    for field in diff.__dataclass_fields__:
        items = getattr(diff, field)
        if items:
            lines += [f"## {names[field]} ({len(items)})", ""]
            lines += [f"- {_item(item, names)}" for item in items]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _place(zone: str, group: str, names: dict[str, str]) -> str:
    return f"{escape(zone) or names['none_zone']} / {escape(group) or names['none_group']}"


def _item(item, names: dict[str, str]) -> str:
    if isinstance(item, NoteRef):
        return f"{escape(item.text) or '—'} ({_place(item.zone, item.group, names)}, {item.votes})"
    if isinstance(item, NoteMove):
        return (f"{escape(item.text) or '—'} : {_place(item.from_zone, item.from_group, names)}"
                f" → {_place(item.to_zone, item.to_group, names)}")
    if isinstance(item, TextChange):
        return f"« {escape(item.before)} » → « {escape(item.after)} »"
    if isinstance(item, VoteChange):
        return f"{escape(item.text) or '—'} : {item.before} → {item.after}"
    if isinstance(item, ActorRef):
        return escape(item.label) or item.id
    label = f" : {escape(item.label)}" if item.label else ""
    return f"{escape(item.source)} → {escape(item.target)}{label}"
