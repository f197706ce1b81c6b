"""CSV, Markdown and governance graph exports, parsed back with real parsers."""

from __future__ import annotations

import csv
import io
import json
import re

from boards.export import export_csv, export_dot, export_graph_json, export_markdown, export_mermaid
from boards.model import Actor, BoardSnapshot, Link, Meta, Note

from ..render import samples


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_one_row_per_note_with_french_headers() -> None:
    board = samples.workshop()
    rows = _rows(export_csv(board))
    assert rows[0] == ["Id", "Texte", "Zone", "Groupe", "Votes", "Auteur", "Site", "Créé le", "Code"]
    assert len(rows) == 1 + len(board.notes)
    assert rows[1] == ["n1", board.notes[0].text, "Critique", "Gouvernance partagée", "3", "Awa", "Diéma",
                       "2024-05-02T10:00:00Z", "A01"]
    assert rows[2][1] == "Ɲɔgɔn dɛmɛ ka ɲɛ" and rows[2][5] == ""


def test_csv_english_headers_quoting_and_formula_guard() -> None:
    board = BoardSnapshot(Meta(locale="en"), notes=(
        Note("a", 'ligne 1\nligne 2, "citée"', 0, 0, author="=HYPERLINK(\"x\")", zone="ghost"),))
    rows = _rows(export_csv(board))
    assert rows[0][:4] == ["Id", "Text", "Zone", "Group"]
    assert rows[1][1] == 'ligne 1\nligne 2, "citée"'
    assert rows[1][5] == "'=HYPERLINK(\"x\")"
    assert rows[1][2] == "ghost"  # unknown zone: its id, not a crash


def test_csv_of_malformed_and_empty_boards() -> None:
    assert len(_rows(export_csv(samples.malformed()))) == 5
    assert len(_rows(export_csv(BoardSnapshot()))) == 1


def test_markdown_ranks_notes_by_votes_within_zone_and_group() -> None:
    md = export_markdown(samples.workshop())
    assert md.startswith("# Atelier du Futur — Diéma\n")
    critique, utopie = md.index("## Critique"), md.index("## Utopie")
    assert critique < utopie
    group = md.index("### Gouvernance partagée — 10 votes")
    first, second = md.index("1. Ɲɔgɔn dɛmɛ ka ɲɛ — **7**"), md.index("2. Mieux partager")
    assert critique < group < first < second < md.index("### Sans groupe") < utopie


def test_markdown_governance_table_and_links() -> None:
    md = export_markdown(samples.workshop())
    assert "| Acteur | Décision | Animation | Programmation | Mise en œuvre |" in md
    assert "| Conseil départemental (Évry) | ✔ |  | ✔ |  |" in md
    assert "- Conseil départemental → Cercle de Diéma : finance" in md
    rows = [l for l in md.splitlines() if l.startswith("|")]
    assert len({l.count("|") for l in rows}) == 1  # every row has the same number of cells


def test_markdown_lists_warnings_and_escapes_markup() -> None:
    md = export_markdown(samples.malformed())
    assert "## Avertissements" in md
    assert "`notes/bad.x`" in md and "`notes/m1.zone`" in md and "`links/x1.to`" in md
    assert "\\<b\\>" in md and "\u0007" not in md
    assert "## Sans zone" in md


def test_markdown_english() -> None:
    md = export_markdown(BoardSnapshot(Meta(locale="en", title=""), notes=(Note("a", "x", 0, 0),)))
    assert "# Untitled board" in md and "## No zone (1 note)" in md and "### No group" in md


def test_graph_json_nodes_edges_and_dangling_links() -> None:
    graph = json.loads(json.dumps(export_graph_json(samples.workshop())))
    assert [n["id"] for n in graph["nodes"]] == ["a1", "a2"]
    assert graph["edges"] == [{"id": "l1", "source": "a1", "target": "a2", "label": "finance",
                               "kind": "money", "directed": True}]
    broken = export_graph_json(samples.malformed())
    assert broken["edges"] == [] and broken["warnings"][0]["path"] == "links/x1.to"


def _tricky() -> BoardSnapshot:
    actors = (Actor('x"1', 'Le "Cercle" <b>#1</b>\nDiéma', functions=("decision",)),
              Actor("x-2", "ߒߞߏ Mairie\\Évry"))
    return BoardSnapshot(actors=actors, links=(Link("l", 'x"1', "x-2", 'dit "non"', directed=False),
                                               Link("m", "x-2", 'x"1', "")))


def test_mermaid_structure() -> None:
    text = export_mermaid(_tricky())
    lines = text.splitlines()
    assert lines[0] == "graph LR"
    nodes = [re.fullmatch(r'    (a\d+)\["([^"]*)"\]', l) for l in lines[1:3]]
    assert all(nodes)
    defined = {m.group(1) for m in nodes}
    assert "#quot;Cercle#quot;" in nodes[0].group(2) and "#lt;b#gt;" in nodes[0].group(2)
    edges = [re.fullmatch(r'    (a\d+) (-->|---)(\|"[^"]*"\|)? (a\d+)', l) for l in lines[3:]]
    assert all(edges) and len(edges) == 2
    assert all({e.group(1), e.group(4)} <= defined for e in edges)
    assert edges[0].group(2) == "---" and edges[1].group(2) == "-->"


def test_dot_structure() -> None:
    text = export_dot(_tricky())
    assert text.startswith("digraph governance {") and text.rstrip().endswith("}")
    quoted = r'"(?:[^"\\]|\\.)*"'
    body = text.strip().splitlines()[1:-1]
    for line in body:
        assert re.fullmatch(rf"    (?:rankdir=LR|node \[.*\]|{quoted} \[label={quoted}\]"
                            rf"|{quoted} -> {quoted}(?: \[.*\])?);", line), line
    assert '"x\\"1" -> "x-2" [label="dit \\"non\\"", dir=none];' in text
    assert "\\nDiéma" in text and "Mairie\\\\Évry" in text
