from __future__ import annotations

import pytest
from pycrdt import Doc

from boards import schema as s
from boards.board import Board
from boards.reader import read_board
from boards.templates import apply_template, list_templates, load_template, template_summaries

NAMES = ["atelier-du-futur", "spiral", "gouvernance", "plan-action", "glossaire", "libre"]


def test_all_templates_are_listed_in_facilitator_order():
    assert list_templates() == NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_template_instantiates_and_reads_back_without_warnings(name, locale):
    doc = Doc()
    updates = []
    doc.observe(lambda event: updates.append(event.update))
    apply_template(doc, name, locale)
    assert len(updates) == 1  # one update: a new board appears whole for everyone
    snap = read_board(doc)
    data = load_template(name)
    assert snap.warnings == ()
    assert (snap.meta.schema, snap.meta.template, snap.meta.locale) == (1, name, locale)
    assert snap.meta.votes_per_person == data["votes_per_person"]
    assert snap.meta.created.endswith("Z")
    assert [z.id for z in snap.zones] == [z["id"] for z in data["zones"]]
    assert [z.title for z in snap.zones] == [z["title"][locale] for z in data["zones"]]
    assert snap.meta.title == data["title"][locale]


def test_zones_do_not_overlap():
    for name in NAMES:
        zones = read_board(apply_template(Doc(), name).doc).zones
        for i, a in enumerate(zones):
            for b in zones[i + 1:]:
                apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
                assert apart, (name, a.id, b.id)


def test_atelier_du_futur_has_three_phases_and_a_parking_lot():
    snap = read_board(apply_template(Doc(), "atelier-du-futur").doc)
    assert [z.title for z in snap.zones] == ["Critique", "Utopie", "Réalisation", "Parking"]
    assert snap.meta.phase == "critique"
    assert [z.phase for z in snap.zones[:3]] == ["critique", "utopie", "realisation"]


def test_spiral_uses_the_co_acte_questions():
    titles = [z.title for z in read_board(apply_template(Doc(), "spiral").doc).zones]
    assert "quelles sont nos réussites" in titles[0].lower()
    assert "n’avons pas réussi" in titles[1]
    assert "éléments de blocage et les leviers" in titles[2]


def test_gouvernance_has_the_four_function_lanes_and_kinds():
    snap = read_board(apply_template(Doc(), "gouvernance").doc)
    assert [z.id for z in snap.zones] == list(s.FUNCTIONS)
    assert [z.title for z in snap.zones] == ["Décision", "Animation", "Programmation", "Mise en œuvre"]
    assert {z.kind for z in snap.zones} == {"lane"}
    data = load_template("gouvernance")
    assert {"collectivite", "association", "jumelage"} <= {k["id"] for k in data["actor_kinds"]}
    assert {"finance", "convention"} <= {k["id"] for k in data["link_kinds"]}


def test_plan_action_and_glossaire():
    assert [z.title for z in read_board(apply_template(Doc(), "plan-action").doc).zones] == [
        "Action", "Qui", "Quand", "Ressources"]
    glossary = read_board(apply_template(Doc(), "glossaire").doc)
    assert [n.text for n in glossary.notes] == ["Développement", "Coopération", "Partenariat"]
    assert {n.zone for n in glossary.notes} == {"mots"}


def test_title_override_and_blank_board():
    snap = read_board(apply_template(Doc(), "libre", title="Palabre à Diéma").doc)
    assert snap.meta.title == "Palabre à Diéma" and snap.zones == ()


def test_a_template_never_overwrites_an_existing_board():
    doc = Doc()
    Board(doc).add_note("travail réel", 0, 0)
    before = doc.get_update()
    with pytest.raises(ValueError, match="already has content"):
        apply_template(doc, "spiral")
    assert doc.get_update() == before


@pytest.mark.parametrize("name", ["nope", "../reader", "", "Spiral", None])
def test_unknown_templates_are_refused(name):
    with pytest.raises(ValueError, match="unknown template"):
        load_template(name)


def test_bad_locale_is_refused():
    with pytest.raises(ValueError, match="locale"):
        apply_template(Doc(), "spiral", "bm")


def test_summaries_are_localised():
    summaries = {t["name"]: t for t in template_summaries("en")}
    assert summaries["atelier-du-futur"]["title"] == "Future Workshop"
    assert all(t["description"] for t in summaries.values())
