from __future__ import annotations

import pytest
from pycrdt import Array, Doc, Map, Text

from boards import schema as s
from boards.board import Board
from boards.reader import read_board


@pytest.fixture
def board() -> Board:
    board = Board()
    board.init_meta(title="Atelier", votes_per_person=3)
    return board


def count_updates(doc: Doc, action) -> int:
    updates = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    try:
        action()
    finally:
        doc.unobserve(subscription)
    return len(updates)


def test_meta_is_written_with_schema_and_created(board):
    meta = board.doc.get("meta", type=Map)
    assert meta["schema"] == 1 and meta["title"] == "Atelier" and meta["votes_per_person"] == 3
    assert meta["created"].endswith("Z")
    board.set_meta(title="Atelier du Futur", phase="utopie", locale="en")
    snap = board.snapshot()
    assert (snap.meta.title, snap.meta.phase, snap.meta.locale) == ("Atelier du Futur", "utopie", "en")
    with pytest.raises(ValueError, match="locale"):
        board.set_meta(locale="bm")


def test_note_lifecycle(board):
    zone = board.add_zone("Critique", 0, 0, 400, 900)
    note = board.add_note("Accès aux financements", 10, 20, zone=zone, author="", site="Diéma")
    raw = board.doc.get("notes", type=Map)[note]
    assert isinstance(raw["text"], Text)
    board.move_note(note, 30.5, 40)
    board.resize_note(note, 200, 120)
    board.recolor_note(note, "#FFCC80")
    board.set_note_code(note, "A01-11/P15/k")
    (read,) = board.snapshot().notes
    assert (read.x, read.y, read.w, read.h, read.color, read.code) == (30.5, 40.0, 200.0, 120.0, "#ffcc80", "A01-11/P15/k")
    assert (read.zone, read.site, read.author) == (zone, "Diéma", "")
    board.delete_note(note)
    assert board.snapshot().notes == ()
    with pytest.raises(ValueError, match="unknown note"):
        board.move_note(note, 0, 0)


def test_numbers_are_stored_as_floats(board):
    note = board.add_note("x", 3, 4)
    raw = board.doc.get("notes", type=Map)[note]
    assert all(type(raw[key]) is float for key in ("x", "y", "w", "h"))


def test_text_replacement_keeps_unicode_and_only_rewrites_the_middle(board):
    note = board.add_note("An bɛ ɲɔgɔn dɛmɛ", 0, 0)
    board.set_note_text(note, "An bɛ ŋaa ɲɔgɔn dɛmɛ !")
    assert board.snapshot().notes[0].text == "An bɛ ŋaa ɲɔgɔn dɛmɛ !"
    board.append_note_text(note, " 🌳")
    assert board.snapshot().notes[0].text == "An bɛ ŋaa ɲɔgɔn dɛmɛ ! 🌳"


def test_concurrent_edits_at_both_ends_of_a_note_both_survive():
    a = Board()
    note = a.add_note("Mobilisation des bénévoles", 0, 0)
    b = Board(Doc())
    b.doc.apply_update(a.doc.get_update())
    a.set_note_text(note, "Mobilisation des bénévoles et adhérents")
    b.set_note_text(note, "La mobilisation des bénévoles")
    a.doc.apply_update(b.doc.get_update(a.doc.get_state()))
    b.doc.apply_update(a.doc.get_update(b.doc.get_state()))
    assert a.snapshot().notes[0].text == "La mobilisation des bénévoles et adhérents"
    assert b.snapshot() == a.snapshot()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: b.add_note("x", float("nan"), 0), "finite"),
        (lambda b: b.add_note("x", 0, 0, color="red"), "colour"),
        (lambda b: b.add_note("x", 0, 0, zone="nowhere"), "unknown zone"),
        (lambda b: b.add_note("x", 0, 0, group="nowhere"), "unknown group"),
        (lambda b: b.add_note("x" * 5001, 0, 0), "too long"),
        (lambda b: b.add_note("x", 0, 0, w=0), "greater than 0"),
        (lambda b: b.add_note("x", 0, 0, id="bad id"), "must match"),
        (lambda b: b.add_zone("Z", 0, 0, 10, 10, kind="circle"), "zone kind"),
        (lambda b: b.add_actor("A", functions=["pouvoir"]), "governance function"),
        (lambda b: b.add_actor("A", country="Mali"), "ISO"),
        (lambda b: b.add_link("nobody", "nobody"), "unknown actor"),
        (lambda b: b.add_stroke([1, 2, 3]), "even length"),
        (lambda b: b.vote("nowhere", "awa"), "unknown note"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(board, call, message):
    before = board.doc.get_update()
    with pytest.raises(ValueError, match=message):
        call(board)
    assert board.doc.get_update() == before


def test_duplicate_ids_are_refused(board):
    board.add_note("a", 0, 0, id="n1")
    with pytest.raises(ValueError, match="already used"):
        board.add_note("b", 0, 0, id="n1")


def test_every_edit_is_one_update(board):
    zone = board.add_zone("Z", 0, 0, 400, 900)
    group = board.add_group("G", zone=zone)
    note = board.add_note("n", 0, 0, zone=zone, group=group)
    a1, a2 = board.add_actor("A1"), board.add_actor("A2")
    link = board.add_link(a1, a2)
    edits = [
        lambda: board.add_note("x", 0, 0, zone=zone),
        lambda: board.move_note(note, 5, 5, zone=""),
        lambda: board.set_note_text(note, "nouveau texte"),
        lambda: board.append_note_text(note, " +"),
        lambda: board.vote(note, "awa", 2),
        lambda: board.rename_group(group, "Critère"),
        lambda: board.set_actor_functions(a1, ["decision", "animation"]),
        lambda: board.update_link(link, label="finance"),
        lambda: board.add_stroke([0, 0, 5, 5, 10, 0]),
        lambda: board.delete_zone(zone),
        lambda: board.delete_actor(a2),
    ]
    for edit in edits:
        assert count_updates(board.doc, edit) == 1


def test_delete_zone_and_group_release_their_notes(board):
    zone = board.add_zone("Z", 0, 0, 400, 900)
    group = board.add_group("G", zone=zone)
    note = board.add_note("n", 0, 0, zone=zone, group=group)
    board.delete_group(group)
    board.delete_zone(zone)
    (read,) = board.snapshot().notes
    assert (read.zone, read.group) == ("", "")
    assert board.snapshot().warnings == ()


def test_votes_respect_the_budget(board):
    n1, n2 = board.add_note("a", 0, 0), board.add_note("b", 0, 0)
    board.vote(n1, "awa", 2)
    board.vote(n2, "awa")
    assert board.votes_left("awa") == 0
    with pytest.raises(ValueError, match="over budget: 3 dots per person, 3 already placed, 1 more asked"):
        board.vote(n2, "awa")
    board.unvote(n1, "awa")
    board.vote(n2, "awa")
    board.vote(n2, "moussa", 3)
    snap = board.snapshot()
    assert {n.id: n.votes for n in snap.notes} == {n1: 1, n2: 5}
    assert dict(snap.votes[n2]) == {"awa": 2, "moussa": 3}
    board.delete_note(n2)
    assert n2 not in board.snapshot().votes
    assert board.votes_left("awa") == 2


def test_without_budget_votes_are_unlimited():
    board = Board()
    note = board.add_note("a", 0, 0)
    board.vote(note, "awa", 50)
    assert board.votes_left("awa") is None
    assert board.snapshot().notes[0].votes == 50


def test_unvote_to_zero_removes_the_dot(board):
    note = board.add_note("a", 0, 0)
    board.vote(note, "awa")
    board.unvote(note, "awa")
    assert board.snapshot().votes == {}


def test_actors_functions_and_links(board):
    cd91 = board.add_actor("Conseil départemental de l’Essonne", kind="collectivite", country="FR",
                           functions=["programmation", "decision"], id="cd91")
    diema = board.add_actor("Conseil de cercle de Diéma", country="ml", x=1300, y=120)
    functions = board.doc.get("actors", type=Map)[cd91]["functions"]
    assert isinstance(functions, Array)
    board.add_actor_function(diema, "mise-en-oeuvre")
    board.add_actor_function(diema, "mise-en-oeuvre")
    board.remove_actor_function(cd91, "programmation")
    link = board.add_link(cd91, diema, label="convention", kind="convention", directed=False)
    board.move_actor(diema, 1400, 130)
    board.update_actor(diema, site="Diéma")
    snap = board.snapshot()
    actors = {a.id: a for a in snap.actors}
    assert actors[cd91].functions == ("decision",)
    assert actors[diema].functions == ("mise-en-oeuvre",)
    assert (actors[diema].country, actors[diema].x, actors[diema].site) == ("ML", 1400.0, "Diéma")
    (read_link,) = snap.links
    assert (read_link.source, read_link.target, read_link.directed) == (cd91, diema, False)
    board.delete_actor(diema)
    assert board.snapshot().links == ()
    with pytest.raises(ValueError, match="unknown link"):
        board.delete_link(link)


def test_strokes(board):
    stroke = board.add_stroke([0, 0, 10, 5.5], color="#112233", width=4)
    assert board.snapshot().strokes[0].points == (0.0, 0.0, 10.0, 5.5)
    board.delete_stroke(stroke)
    assert board.snapshot().strokes == ()


def test_zone_order_defaults_to_after_the_last(board):
    first = board.add_zone("A", 0, 0, 400, 900)
    second = board.add_zone("B", 440, 0, 400, 900)
    board.reorder_zone(first, 5)
    assert [z.id for z in board.snapshot().zones] == [second, first]


def test_text_repaired_when_another_client_stored_a_plain_string(board):
    note = board.add_note("a", 0, 0)
    board.doc.get("notes", type=Map)[note]["text"] = "plain"
    board.append_note_text(note, "!")
    assert isinstance(board.doc.get("notes", type=Map)[note]["text"], Text)
    assert board.snapshot().notes[0].text == "plain!"
