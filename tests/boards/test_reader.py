from __future__ import annotations

import json
import math

from pycrdt import Array, Doc, Map, Text

from boards.board import Board
from boards.reader import read_board, read_board_json


def paths(snapshot) -> set[str]:
    return {w.path for w in snapshot.warnings}


def test_empty_doc_reads_as_an_empty_board_without_warnings():
    snap = read_board(Doc())
    assert snap.notes == () and snap.warnings == () and snap.meta.schema == 1


def test_notes_with_bad_fields_are_repaired_and_reported():
    doc = Doc()
    notes = doc.get("notes", type=Map)
    notes["n1"] = Map({"text": Text("ok"), "x": math.nan, "y": 2.0, "color": "red", "zone": "nowhere", "w": -5.0})
    notes["n2"] = Map({"text": "plain", "x": 1.0, "y": math.inf})
    notes["n3"] = "not a map"
    notes["bad id!"] = Map({"text": Text("x"), "x": 0.0, "y": 0.0})
    snap = read_board(doc)
    by_id = {n.id: n for n in snap.notes}
    assert set(by_id) == {"n1", "n2"}
    assert (by_id["n1"].x, by_id["n1"].color, by_id["n1"].zone, by_id["n1"].w) == (0.0, "#fff59d", "", 160.0)
    assert (by_id["n2"].text, by_id["n2"].y) == ("plain", 0.0)
    assert {"notes/n1.x", "notes/n1.color", "notes/n1.zone", "notes/n1.w", "notes/n2.text", "notes/n2.y",
            "notes/n3", "notes/bad id!"} <= paths(snap)


def test_plain_json_objects_written_by_a_js_client_are_read():
    doc = Doc()
    doc.get("zones", type=Map)["z"] = {"title": "Critique", "kind": "column", "x": 0, "y": 0, "w": 400, "h": 900}
    snap = read_board(doc)
    assert snap.zones[0].title == "Critique" and snap.warnings == ()


def test_links_to_unknown_actors_are_skipped():
    board = Board()
    a = board.add_actor("A", id="a")
    board.add_actor("B", id="b")
    board.add_link("a", "b", id="ok")
    board.doc.get("links", type=Map)["dangling"] = Map({"from": "a", "to": "ghost"})
    snap = read_board(board.doc)
    assert [link.id for link in snap.links] == ["ok"]
    assert "links/dangling" in paths(snap)
    assert a == "a"


def test_votes_on_unknown_notes_bad_dots_and_over_budget():
    board = Board()
    board.init_meta(votes_per_person=2)
    note = board.add_note("x", 0, 0, id="n1")
    votes = board.doc.get("votes", type=Map)
    votes["ghost"] = Map({"awa": 1.0})
    votes[note] = Map({"awa": 5.0, "moussa": -1.0, "fanta": 1.5, "ali": "2"})
    snap = read_board(board.doc)
    assert dict(snap.votes) == {"n1": {"awa": 5}}
    assert snap.notes[0].votes == 5  # over budget is reported, not dropped
    messages = " ".join(w.message for w in snap.warnings)
    assert "over the budget of 2" in messages
    assert {"votes/ghost", "votes/n1.moussa", "votes/n1.fanta", "votes/n1.ali"} <= paths(snap)


def test_actor_functions_that_are_not_a_list_or_unknown():
    doc = Doc()
    actors = doc.get("actors", type=Map)
    actors["a"] = Map({"label": "A", "functions": "decision"})
    actors["b"] = Map({"label": "B", "functions": Array(["animation", "pouvoir", "decision"]), "country": "Mali"})
    snap = read_board(doc)
    by_id = {a.id: a for a in snap.actors}
    assert by_id["a"].functions == ()
    assert by_id["b"].functions == ("decision", "animation")
    assert by_id["b"].country == ""
    assert {"actors/a.functions", "actors/b.functions", "actors/b.country"} <= paths(snap)


def test_meta_problems():
    doc = Doc()
    meta = doc.get("meta", type=Map)
    meta["schema"] = 2.0
    meta["locale"] = "de"
    meta["votes_per_person"] = 2.5
    snap = read_board(doc)
    assert (snap.meta.locale, snap.meta.votes_per_person) == ("fr", 0)
    assert {"meta.schema", "meta.locale", "meta.votes_per_person"} <= paths(snap)


def test_roots_of_the_wrong_type_are_ignored_with_a_warning():
    doc = Doc()
    doc.get("notes", type=Text).insert(0, "garbage")
    doc.get("zones", type=Array).append(1.0)
    snap = read_board(doc)
    assert snap.notes == () and snap.zones == ()
    assert {"notes", "zones"} <= paths(snap)


def test_roots_known_only_from_a_remote_update_are_read():
    source = Board()
    source.add_note("venu de Diéma", 0, 0)
    doc = Doc()
    doc.apply_update(source.doc.get_update())
    assert read_board(doc).notes[0].text == "venu de Diéma"


def test_strokes_with_bad_points_are_skipped():
    doc = Doc()
    strokes = doc.get("strokes", type=Map)
    strokes["odd"] = Map({"points": Array([1.0, 2.0, 3.0])})
    strokes["nan"] = Map({"points": [1.0, math.nan]})
    strokes["ok"] = Map({"points": Array([1.0, 2.0]), "width": 0.0})
    snap = read_board(doc)
    assert [s.id for s in snap.strokes] == ["ok"]
    assert snap.strokes[0].width == 2.0
    assert {"strokes/odd", "strokes/nan", "strokes/ok.width"} <= paths(snap)


def test_sorting_zones_by_order_and_notes_by_created():
    board = Board()
    board.add_zone("B", 0, 0, 10, 10, order=2, id="b")
    board.add_zone("A", 0, 0, 10, 10, order=1, id="a")
    board.add_note("late", 0, 0, created="2015-02-14T14:00:00.000Z", id="x")
    board.add_note("early", 0, 0, created="2015-02-14T13:00:00.000Z", id="y")
    snap = read_board(board.doc)
    assert [z.id for z in snap.zones] == ["a", "b"]
    assert [n.text for n in snap.notes] == ["early", "late"]


def test_reading_inside_an_observer_callback_does_not_raise():
    doc = Doc()
    results = []
    doc.observe(lambda event: results.append(read_board(doc)))
    Board(doc).add_note("x", 0, 0)
    assert results and results[0].warnings  # the doc is locked there: reported, not raised


def test_json_form_uses_the_schema_keys_and_is_serialisable():
    board = Board()
    board.init_meta(title="EDDN", votes_per_person=3)
    a, b = board.add_actor("A", functions=["decision"]), board.add_actor("B")
    board.add_link(a, b, label="finance")
    note = board.add_note("An bɛ ɲɔgɔn dɛmɛ", 0, 0)
    board.vote(note, "awa", 2)
    board.doc.get("links", type=Map)["bad"] = Map({"from": a})
    data = read_board_json(read_board(board.doc))
    assert set(data) == {"meta", "zones", "notes", "groups", "votes", "actors", "links", "strokes", "warnings"}
    assert data["links"][0]["from"] == a and data["links"][0]["to"] == b
    assert data["notes"][0]["votes"] == 2 and data["votes"] == {note: {"awa": 2}}
    assert data["actors"][[x["id"] for x in data["actors"]].index(a)]["functions"] == ["decision"]
    assert data["warnings"] and data["warnings"][0]["path"] == "links/bad"
    assert json.loads(json.dumps(data, allow_nan=False)) == data
