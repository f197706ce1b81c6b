"""The diff between two known snapshots is exact, as data, JSON and Markdown."""

from __future__ import annotations

import json
from dataclasses import replace

from boards.diff import (ActorRef, BoardDiff, LinkRef, NoteMove, NoteRef, TextChange, VoteChange,
                         diff_boards)
from boards.model import Actor, Link, Note

from .render import samples


def _round_two():
    before = samples.workshop()
    n1, n2, n3, n4 = before.notes
    notes = (
        replace(n1, votes=5),  # votes changed
        replace(n2, zone="z2", group=""),  # moved to Utopie, out of its group
        replace(n4, text="Créer un fonds commun"),  # edited
        Note("n5", "Nouvelle idée", 500, 300, zone="z2", votes=2),  # added; n3 removed
    )
    actors = (before.actors[0], Actor("a3", "Association Kaléido"))
    links = (Link("l2", "a1", "a3", "anime"),)
    return before, replace(before, notes=notes, actors=actors, links=links)


def test_diff_is_exact() -> None:
    before, after = _round_two()
    assert diff_boards(before, after) == BoardDiff(
        notes_added=(NoteRef("n5", "Nouvelle idée", "Utopie", "", 2),),
        notes_removed=(NoteRef("n3", "Réunions trop longues, décisions prises ailleurs", "Critique", "", 0),),
        notes_moved=(NoteMove("n2", "Ɲɔgɔn dɛmɛ ka ɲɛ", "Critique", "Utopie", "Gouvernance partagée", ""),),
        notes_edited=(TextChange("n4", "Créer un fonds commun géré par le réseau « EDDN »", "Créer un fonds commun"),),
        votes_changed=(VoteChange("n1", "Mieux partager l'information entre Évry et Diéma", 3, 5),),
        actors_added=(ActorRef("a3", "Association Kaléido"),),
        actors_removed=(ActorRef("a2", "Cercle de Diéma"),),
        links_added=(LinkRef("l2", "Conseil départemental", "Association Kaléido", "anime"),),
        links_removed=(LinkRef("l1", "Conseil départemental", "Cercle de Diéma", "finance"),),
    )


def test_same_board_has_an_empty_diff() -> None:
    board = samples.workshop()
    diff = diff_boards(board, board)
    assert diff.empty
    assert "Aucun changement." in diff.to_markdown()
    assert "No change." in diff.to_markdown("en")


def test_diff_to_json_and_markdown() -> None:
    before, after = _round_two()
    diff = diff_boards(before, after)
    data = json.loads(json.dumps(diff.to_json()))
    assert data["notes_moved"] == [{"id": "n2", "text": "Ɲɔgɔn dɛmɛ ka ɲɛ", "from_zone": "Critique",
                                    "to_zone": "Utopie", "from_group": "Gouvernance partagée", "to_group": ""}]
    assert data["votes_changed"][0]["before"] == 3 and data["votes_changed"][0]["after"] == 5
    md = diff.to_markdown()
    assert "## Notes déplacées (1)" in md
    assert "- Ɲɔgɔn dɛmɛ ka ɲɛ : Critique / Gouvernance partagée → Utopie / sans groupe" in md
    assert "- Mieux partager l'information entre Évry et Diéma : 3 → 5" in md
    assert "## Liens retirés (1)" in md and "## Notes ajoutées (1)" in md


def test_renamed_zone_is_not_a_move_and_malformed_boards_diff() -> None:
    before = samples.workshop()
    renamed = replace(before, zones=(replace(before.zones[0], title="Critique (v2)"), before.zones[1]))
    assert diff_boards(before, renamed).notes_moved == ()
    diff = diff_boards(samples.malformed(), samples.workshop())
    assert len(diff.notes_added) == 4 and len(diff.notes_removed) == 4
    assert diff.links_removed[0].target == "missing"
