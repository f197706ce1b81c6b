from __future__ import annotations

import json

import pytest
from pycrdt import Doc

from boards.importer import ImportRejected, ImportRow, import_notes, parse_notes
from boards.reader import read_board, read_board_json
from boards.templates import apply_template

FRENCH_CSV = (
    "\ufeffTexte;Colonne;Couleur;Auteur;Site\r\n"
    "Accès aux financements;Critique;jaune;;Diéma\r\n"
    "\"Difficultés à suivre les actions; insécurité\";critique;#FFCC80;Aminata Traoré;Douentza\r\n"
    "An bɛ ɲɔgɔn dɛmɛ : ŋɔni tɛ;UTOPIE;vert;Moussa;Nioro-du-Sahel\r\n"
    "\"Créer des partenariats\nfiables et compétents\";réalisation;;;Évry\r\n"
    ";;;;\r\n"
    "Idée à garder;;rose;;Évry\r\n"
).encode("utf-8")


@pytest.fixture
def board():
    return apply_template(Doc(), "atelier-du-futur")


def test_real_looking_french_csv_round_trips(board):
    rows = parse_notes(FRENCH_CSV, board.snapshot().zones)
    ids = import_notes(board, rows)
    snap = read_board(board.doc)
    assert snap.warnings == ()
    assert [n.id for n in snap.notes] == ids  # file order is kept
    texts = [n.text for n in snap.notes]
    assert texts == [
        "Accès aux financements",
        "Difficultés à suivre les actions; insécurité",
        "An bɛ ɲɔgɔn dɛmɛ : ŋɔni tɛ",
        "Créer des partenariats\nfiables et compétents",
        "Idée à garder",
    ]
    assert [n.zone for n in snap.notes] == ["critique", "critique", "utopie", "realisation", ""]
    assert [n.color for n in snap.notes] == ["#fff59d", "#ffcc80", "#c5e1a5", "#fff59d", "#f8bbd0"]
    assert snap.notes[1].author == "Aminata Traoré" and snap.notes[2].site == "Nioro-du-Sahel"
    # notes land inside their zone, in a grid, without overlapping
    zones = {z.id: z for z in snap.zones}
    first, second = snap.notes[0], snap.notes[1]
    assert zones["critique"].x <= first.x and first.x + first.w <= zones["critique"].x + zones["critique"].w
    assert (first.x, first.y) != (second.x, second.y)
    assert json.loads(json.dumps(read_board_json(snap), ensure_ascii=False))["notes"][2]["text"] == "An bɛ ɲɔgɔn dɛmɛ : ŋɔni tɛ"


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_separators(board, separator):
    data = f"text{separator}zone\nun{separator}parking\n".encode()
    (row,) = parse_notes(data, board.snapshot().zones)
    assert (row.text, row.zone) == ("un", "parking")


def test_import_is_one_update_and_goes_after_existing_notes(board):
    zones = board.snapshot().zones
    import_notes(board, parse_notes(b"texte;zone\na;critique\n", zones))
    updates = []
    board.doc.observe(lambda event: updates.append(event.update))
    import_notes(board, parse_notes(b"texte;zone\nb;critique\nc;critique\n", zones))
    assert len(updates) == 1
    positions = {(n.x, n.y) for n in read_board(board.doc).notes}
    assert len(positions) == 3


def test_all_problems_are_listed_and_nothing_is_imported(board):
    data = "texte;zone;couleur\nok;critique;\n;critique;\nx;Nulle part;\ny;utopie;mauve\n".encode()
    with pytest.raises(ImportRejected) as caught:
        parse_notes(data, board.snapshot().zones)
    assert [n for n, _ in caught.value.problems] == [3, 4, 5]
    message = str(caught.value)
    assert "line 3: the text is empty" in message and "unknown zone 'Nulle part'" in message and "mauve" in message
    assert isinstance(caught.value, ValueError)


def test_missing_text_column():
    with pytest.raises(ImportRejected, match="no text column"):
        parse_notes(b"zone;couleur\ncritique;jaune\n")


def test_not_utf8_reports_the_line():
    data = "texte\nok\nTroisième\n".encode("cp1252")
    with pytest.raises(ImportRejected, match="line 3: the file is not UTF-8"):
        parse_notes(data)


def test_limits():
    with pytest.raises(ImportRejected, match="too large"):
        parse_notes(b"texte\n" + b"x\n" * 100, max_bytes=50)
    with pytest.raises(ImportRejected, match="too many post-its"):
        parse_notes(b"texte\n" + b"x\n" * 11, max_rows=10)
    with pytest.raises(ImportRejected, match="too long"):
        parse_notes(b"texte\n" + b"x" * 101 + b"\n", max_text_len=100)
    with pytest.raises(ImportRejected, match="no post-it"):
        parse_notes(b"texte\n\n")


def test_json_import(board):
    data = json.dumps({"notes": [
        {"texte": "Accès aux financements", "zone": "Critique", "couleur": "orange", "auteur": "Awa"},
        {"text": "Réciprocité Sud – Nord", "colour": "#90CAF9", "code": "A01-11/P15/k"},
        "Une rencontre chaque année",
    ]}, ensure_ascii=False).encode()
    rows = parse_notes(data, board.snapshot().zones)
    assert rows[0] == ImportRow(line=1, text="Accès aux financements", zone="critique", color="#ffcc80", author="Awa")
    assert rows[1].code == "A01-11/P15/k" and rows[2].text == "Une rencontre chaque année"


@pytest.mark.parametrize("data, expected", [
    (b"[1, {\"text\": \"ok\"}]", "item 1: expected an object"),
    (b"{\"text\": \"ok\"}", "expected a JSON list"),
    (b"[{\"text\": [1]}]", "text must be a string"),
    (b"[{\"text\": \"\\ud800\"}]", "surrogate"),
    (b"[{", "invalid JSON"),
])
def test_bad_json(data, expected):
    with pytest.raises(ImportRejected, match=expected):
        parse_notes(data)


def test_rows_for_a_zone_deleted_since_parsing_are_refused_before_writing(board):
    rows = parse_notes(b"texte;zone\na;critique\n", board.snapshot().zones)
    board.delete_zone("critique")
    before = board.doc.get_update()
    with pytest.raises(ImportRejected, match="no longer on the board"):
        import_notes(board, rows)
    assert board.doc.get_update() == before
