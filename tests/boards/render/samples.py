"""Known BoardSnapshots for render/export tests and the render benchmark (built directly,
without a pycrdt Doc)."""

from __future__ import annotations

import random

from boards.model import Actor, BoardSnapshot, Group, Link, Meta, Note, Stroke, Warning, Zone, _frozen

BAMBARA = [
    "Ɲɔgɔn dɛmɛ ka ɲɛ",
    "Sigida ŋaniya : ɛ Ɛ ɔ Ɔ ɲ Ɲ ŋ Ŋ",
    "Tɔnba ka baara kɛ ɲɔgɔn fɛ",
    "Tone : à á ɛ́ ɛ̀ ɔ́ ɔ̀ Ɛ́ Ɔ̀ ŋ̀ ɲ́",
]
FRENCH = [
    "Mieux partager l'information entre Évry et Diéma",
    "Réunions trop longues, décisions prises ailleurs",
    "Créer un fonds commun géré par le réseau « EDDN »",
    "Cœur du projet : l'interconnaissance des membres — côté Nioro-du-Sahel",
    "Ça dépend : qui décide ? où ? quand ?",
]
NKO = ["ߒߞߏ ߞߊ߲"]


def workshop() -> BoardSnapshot:
    """A small SPIRAL-like board: two zones, one group, votes, authors, strokes, governance."""
    zones = (
        Zone("z1", "Critique", "column", 0, 0, 400, 600, "#ffebee", 0),
        Zone("z2", "Utopie", "column", 420, 0, 400, 600, "#e8f5e9", 1),
    )
    groups = (Group("g1", "Gouvernance partagée", "#1e88e5", "z1"),)
    notes = (
        Note("n1", FRENCH[0], 20, 60, 170, 110, "#fff59d", "z1", "g1", "Awa", "Diéma", "2024-05-02T10:00:00Z", "A01", 3),
        Note("n2", BAMBARA[0], 210, 60, 170, 110, "#ffcc80", "z1", "g1", "", "Douentza", "2024-05-02T10:01:00Z", "", 7),
        Note("n3", FRENCH[1], 20, 260, 170, 110, "#a5d6a7", "z1", "", "Paul", "Évry", "2024-05-02T10:02:00Z", "", 0),
        Note("n4", FRENCH[2], 440, 60, 170, 110, "#81d4fa", "z2", "", "Mariam", "Nioro", "2024-05-02T10:03:00Z", "", 1),
    )
    votes = _frozen({"n1": {"u1": 2, "u2": 1}, "n2": {"u1": 3, "u3": 4}, "n4": {"u2": 1}})
    actors = (
        Actor("a1", "Conseil départemental", "collectivité", "Évry", "FR", 0, 700, ("decision", "programmation")),
        Actor("a2", "Cercle de Diéma", "collectivité", "Diéma", "ML", 400, 700, ("animation", "mise-en-oeuvre")),
    )
    links = (Link("l1", "a1", "a2", "finance", "money", True),)
    strokes = (Stroke("s1", (600.0, 400.0, 700.0, 450.0, 780.0, 420.0), "#6a1b9a", 4.0),)
    return BoardSnapshot(Meta(title="Atelier du Futur — Diéma", template="spiral", locale="fr"),
                         zones, notes, groups, votes, actors, links, strokes)


def big_board(n_notes: int, seed: int = 1) -> BoardSnapshot:
    """`n_notes` notes in 5 columns of zones, groups of 4, votes, a few actors: for benchmarks."""
    rng = random.Random(seed)
    columns = 5
    per_column = -(-n_notes // columns)
    rows = -(-per_column // 3)
    zones = tuple(
        Zone(f"z{c}", f"Colonne {c + 1}", "column", c * 600.0, 0.0, 580.0, 80 + rows * 130.0, "#f5f5f5", c)
        for c in range(columns)
    )
    notes, groups = [], []
    corpus = FRENCH + BAMBARA
    for i in range(n_notes):
        c, k = i % columns, i // columns
        group = f"g{i // 4}" if i % 3 else ""
        text = " ".join(rng.choice(corpus) for _ in range(rng.randint(1, 2)))
        notes.append(Note(f"n{i}", text, c * 600.0 + 15 + (k % 3) * 185, 60 + (k // 3) * 130.0, 170, 110,
                          rng.choice(["#fff59d", "#ffcc80", "#a5d6a7", "#81d4fa"]), f"z{c}", group,
                          rng.choice(["Awa", "Paul", "", "Seydou"]), rng.choice(["Diéma", "Évry", "Douentza"]),
                          f"2024-05-02T10:{i % 60:02d}:00Z", "", rng.randint(0, 9)))
    groups = tuple(Group(f"g{j}", f"Critère {j}", "#1e88e5", "") for j in range(n_notes // 4 + 1))
    actors = tuple(Actor(f"a{j}", f"Acteur {j}", "asso", "Diéma", "ML", j * 250.0, -400.0,
                         ("decision", "animation")) for j in range(6))
    links = tuple(Link(f"l{j}", f"a{j}", f"a{j + 1}", "lien", "", True) for j in range(5))
    return BoardSnapshot(Meta(title=f"Benchmark {n_notes}"), zones, tuple(notes), groups, _frozen(), actors, links)


def malformed() -> BoardSnapshot:
    """Unknown zone/group/actor references, a huge text, emoji, control characters, NaN."""
    notes = (
        Note("m1", "Zone inconnue 😀 \u0007 🎉", 0, 0, zone="nowhere", group="ghost"),
        Note("m2", "très long " * 5000, 200, 0, votes=1000),
        Note("m3", "", float("nan"), 0),
        Note("m4", "<b>&amp; \"quotes\" 'x'</b> ]]>", 400, 0, color="red", w=-5, h=1e9),
    )
    links = (Link("x1", "a1", "missing", "?"),)
    actors = (Actor("a1", "Seul", functions=("decision", "unknown-function")),)
    warnings = (Warning("notes/bad.x", "x is not a number; note skipped"),)
    return BoardSnapshot(Meta(title="Cassé", locale="xx"), (), notes, (), _frozen(), actors, links, (), warnings)
