from __future__ import annotations

import pytest
from pycrdt import Doc

from boards.demo import DEMO_BOARDS, build_demo
from boards.reader import read_board


@pytest.mark.parametrize("name", list(DEMO_BOARDS))
def test_demo_boards_load_without_warnings(name):
    snap = read_board(build_demo(name))
    assert snap.warnings == ()
    assert snap.notes
    assert all(note.zone == "" or note.zone in {z.id for z in snap.zones} for note in snap.notes)


def test_eddn_governance_board_has_the_network_actors():
    snap = read_board(build_demo("eddn-gouvernance"))
    labels = {a.label for a in snap.actors}
    for expected in ("Conseil départemental de l’Essonne", "Conseil de cercle de Diéma", "Conseil de cercle de Douentza",
                     "Conseil de cercle de Nioro-du-Sahel", "Comités de jumelage (Essonne)"):
        assert expected in labels
    assert any("Kaléido’Scop" in label for label in labels)
    assert {a.country for a in snap.actors} == {"FR", "ML"}
    actors = {a.id: a for a in snap.actors}
    assert "decision" in actors["cd91"].functions
    assert actors["kaleidoscop"].functions == ("animation",)
    assert {f for a in snap.actors for f in a.functions} == {"decision", "animation", "programmation", "mise-en-oeuvre"}
    assert ("cd91", "cercle-diema") in {(l.source, l.target) for l in snap.links}
    assert snap.meta.template == "gouvernance"
    assert any("ɛ" in n.text and "ɲ" in n.text for n in snap.notes)  # some Bambara


def test_bourgogne_board_has_the_difficulties_and_answers():
    snap = read_board(build_demo("bourgogne-mali-2015"))
    critique = [n.text for n in snap.notes if n.zone == "critique"]
    assert "Accès aux financements" in critique
    assert "Mobilisation des adhérents et bénévoles" in critique
    assert any(n.group == "coordination" for n in snap.notes if n.zone == "realisation")
    assert sum(n.votes for n in snap.notes) > 0


def test_spiral_board_has_groups_codes_and_votes_within_budget():
    snap = read_board(build_demo("co-acte-spiral"))
    assert snap.meta.template == "spiral" and len(snap.groups) >= 3
    assert "A01-11/P15/k" in {n.code for n in snap.notes}
    assert sum(n.votes for n in snap.notes) > 0
    spent: dict[str, int] = {}
    for per_voter in snap.votes.values():
        for voter, dots in per_voter.items():
            spent[voter] = spent.get(voter, 0) + dots
    assert max(spent.values()) <= snap.meta.votes_per_person


def test_demo_built_into_a_given_doc_in_one_update():
    doc = Doc()
    updates = []
    doc.observe(lambda event: updates.append(event.update))
    assert build_demo("co-acte-spiral", doc) is doc
    assert len(updates) == 1


def test_unknown_demo():
    with pytest.raises(ValueError, match="unknown demo board"):
        build_demo("nope")
