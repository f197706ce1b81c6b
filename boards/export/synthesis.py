"""What every structured export agrees on: labels (French by default, English when the board's
locale is "en"), the synthesis order (zone → group → notes ranked by votes), and the problems
found while exporting (references to missing zones, groups or actors) added to the reader's
warnings."""

from __future__ import annotations

from dataclasses import dataclass

from boards.model import BoardSnapshot, Group, Note, Warning

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "id": "Id", "text": "Texte", "zone": "Zone", "group": "Groupe", "votes": "Votes",
        "author": "Auteur", "site": "Site", "created": "Créé le", "code": "Code",
        "no_zone": "Sans zone", "no_group": "Sans groupe", "anonymous": "anonyme",
        "untitled": "Tableau sans titre", "notes": "notes", "note": "note", "warnings": "Avertissements",
        "governance": "Gouvernance", "actor": "Acteur", "links": "Liens", "phase": "Phase",
        "template": "Modèle", "rank": "Rang", "synthesis": "Synthèse",
        "decision": "Décision", "animation": "Animation", "programmation": "Programmation",
        "mise-en-oeuvre": "Mise en œuvre",
    },
    "en": {
        "id": "Id", "text": "Text", "zone": "Zone", "group": "Group", "votes": "Votes",
        "author": "Author", "site": "Site", "created": "Created", "code": "Code",
        "no_zone": "No zone", "no_group": "No group", "anonymous": "anonymous",
        "untitled": "Untitled board", "notes": "notes", "note": "note", "warnings": "Warnings",
        "governance": "Governance", "actor": "Actor", "links": "Links", "phase": "Phase",
        "template": "Template", "rank": "Rank", "synthesis": "Synthesis",
        "decision": "Decision", "animation": "Facilitation", "programmation": "Programming",
        "mise-en-oeuvre": "Implementation",
    },
}


def labels(snapshot: BoardSnapshot) -> dict[str, str]:
    return LABELS["en" if snapshot.meta.locale == "en" else "fr"]


@dataclass(frozen=True, slots=True)
class GroupSection:
    id: str  # "" for the notes of no (known) group
    title: str
    notes: tuple[Note, ...]  # most votes first, then oldest

    @property
    def votes(self) -> int:
        return sum(n.votes for n in self.notes)


@dataclass(frozen=True, slots=True)
class ZoneSection:
    id: str  # "" for the notes of no (known) zone
    title: str
    groups: tuple[GroupSection, ...]  # most votes first; "no group" last

    @property
    def notes(self) -> int:
        return sum(len(g.notes) for g in self.groups)


def zone_titles(snapshot: BoardSnapshot) -> dict[str, str]:
    return {z.id: z.title for z in snapshot.zones}


def group_titles(snapshot: BoardSnapshot) -> dict[str, str]:
    return {g.id: g.title for g in snapshot.groups}


def synthesis(snapshot: BoardSnapshot) -> tuple[ZoneSection, ...]:
    """Notes by zone (board order, then "no zone") → group → ranked by votes. Empty zones are
    kept (a column nobody wrote in is a result too)."""
    names = labels(snapshot)
    zones = zone_titles(snapshot)
    by_zone: dict[str, list[Note]] = {z.id: [] for z in snapshot.zones}
    for note in snapshot.notes:
        by_zone.setdefault(note.zone if note.zone in zones else "", []).append(note)
    sections = []
    for zone_id, notes in by_zone.items():
        if zone_id == "" and not notes:
            continue
        title = zones.get(zone_id) or (names["no_zone"] if zone_id == "" else zone_id)
        sections.append(ZoneSection(zone_id, title, _groups(snapshot.groups, notes, names)))
    sections.sort(key=lambda s: s.id == "")  # stable: board order, "no zone" last
    return tuple(sections)


def _groups(groups: tuple[Group, ...], notes: list[Note], names: dict[str, str]) -> tuple[GroupSection, ...]:
    known = {g.id: g for g in groups}
    by_group: dict[str, list[Note]] = {}
    for note in notes:
        by_group.setdefault(note.group if note.group in known else "", []).append(note)
    sections = [
        GroupSection(gid, known[gid].title if gid else names["no_group"], rank(members))
        for gid, members in by_group.items()
    ]
    sections.sort(key=lambda s: (s.id == "", -s.votes, s.title))
    return tuple(sections)


def rank(notes: list[Note]) -> tuple[Note, ...]:
    return tuple(sorted(notes, key=lambda n: (-n.votes, n.created, n.id)))


def export_warnings(snapshot: BoardSnapshot) -> tuple[Warning, ...]:
    """The reader's warnings plus dangling references found while exporting."""
    zones, groups = zone_titles(snapshot), group_titles(snapshot)
    actors = {a.id for a in snapshot.actors}
    found = list(snapshot.warnings)
    for note in snapshot.notes:
        if note.zone and note.zone not in zones:
            found.append(Warning(f"notes/{note.id}.zone", f"unknown zone {note.zone!r}; listed without zone"))
        if note.group and note.group not in groups:
            found.append(Warning(f"notes/{note.id}.group", f"unknown group {note.group!r}; listed without group"))
    for link in snapshot.links:
        for end, actor in (("from", link.source), ("to", link.target)):
            if actor not in actors:
                found.append(Warning(f"links/{link.id}.{end}", f"unknown actor {actor!r}; link left out"))
    return tuple(found)
