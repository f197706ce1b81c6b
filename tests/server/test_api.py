"""The board HTTP API against a real server: every endpoint and its bad inputs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pycrdt import Map

from client.connection import BoardClient
from tests.support.wait import eventually
from tests.support.server import PalabreProcess

FRENCH_CSV = (
    "\ufefftexte;colonne;couleur;auteur;site\n"
    "Accès aux financements;Critique;jaune;;Évry\n"
    "\"An bɛ ɲɔgɔn dɛmɛ; ŋ\";Utopie;;Awa;Diéma\n"
).encode()


@pytest.fixture
def http(palabre: PalabreProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=palabre.http_url, timeout=10) as client:
        yield client


def test_templates_listed_in_french_and_english(http: httpx.Client) -> None:
    fr = {t["name"]: t["title"] for t in http.get("/api/templates").json()}
    en = {t["name"]: t["title"] for t in http.get("/api/templates?locale=en").json()}
    assert {"atelier-du-futur", "spiral", "gouvernance", "plan-action", "glossaire", "libre"} <= set(fr)
    assert fr["atelier-du-futur"] != en["atelier-du-futur"]
    assert http.get("/api/templates?locale=de").status_code == 400


def test_create_read_list_archive(http: httpx.Client) -> None:
    created = http.post("/api/boards", json={"template": "gouvernance", "id": "gov", "title": "Gouvernance EDDN"})
    assert created.status_code == 201 and created.headers["location"] == "/api/boards/gov"
    board = http.get("/api/boards/gov").json()
    assert board["meta"]["title"] == "Gouvernance EDDN" and board["meta"]["template"] == "gouvernance"
    assert len(board["zones"]) >= 4 and board["warnings"] == []
    listed = {b["id"]: b for b in http.get("/api/boards").json()}
    assert listed["gov"]["title"] == "Gouvernance EDDN" and listed["gov"]["connected"] == 0
    assert http.delete("/api/boards/gov").status_code == 204
    assert "gov" not in {b["id"] for b in http.get("/api/boards").json()}
    assert http.get("/api/boards/gov").status_code == 200  # archived, never destroyed


def test_create_without_id_generates_one(http: httpx.Client) -> None:
    created = http.post("/api/boards", json={})
    assert created.status_code == 201
    assert created.json()["board"]["meta"]["template"] == "libre"
    assert http.get(f"/api/boards/{created.json()['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"not json", 400, "JSON"),
        (b"[1, 2]", 400, "object"),
        (b'{"template": "nope"}', 400, "unknown template"),
        (b'{"template": 3}', 400, "string"),
        (b'{"id": "bad id!"}', 400, "invalid board id"),
        (b'{"locale": "de"}', 400, "locale"),
        (b'{"title": ""}', 400, "title"),
        (b'{"title": "' + b"x" * 70_000 + b'"}', 413, "too large"),
    ],
)
def test_create_rejects_bad_input(http: httpx.Client, body: bytes, status: int, fragment: str) -> None:
    response = http.post("/api/boards", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_create_refuses_a_taken_id(http: httpx.Client) -> None:
    assert http.post("/api/boards", json={"id": "twice"}).status_code == 201
    again = http.post("/api/boards", json={"id": "twice"})
    assert again.status_code == 409 and "exists" in again.json()["error"]


def test_unknown_board_is_404(http: httpx.Client) -> None:
    for method, url in [("GET", "/api/boards/nope"), ("DELETE", "/api/boards/nope"),
                        ("POST", "/api/boards/nope/import"), ("GET", "/api/boards/bad%20id")]:
        response = http.request(method, url, content=b"texte\nx\n")
        assert response.status_code == 404 and "error" in response.json()


def test_french_csv_import_round_trips(http: httpx.Client) -> None:
    http.post("/api/boards", json={"template": "atelier-du-futur", "id": "af"})
    response = http.post("/api/boards/af/import", content=FRENCH_CSV, headers={"content-type": "text/csv"})
    assert response.status_code == 200 and response.json()["imported"] == 2
    board = http.get("/api/boards/af").json()
    zones = {z["id"]: z["title"] for z in board["zones"]}
    notes = {n["text"]: n for n in board["notes"]}
    assert zones[notes["Accès aux financements"]["zone"]] == "Critique"
    bambara = notes["An bɛ ɲɔgɔn dɛmɛ; ŋ"]
    assert (zones[bambara["zone"]], bambara["author"], bambara["site"]) == ("Utopie", "Awa", "Diéma")


def test_bad_import_imports_nothing_and_says_why(http: httpx.Client) -> None:
    http.post("/api/boards", json={"template": "atelier-du-futur", "id": "bad-import"})
    csv = "texte;colonne\nbon;Critique\n;Critique\nautre;Zone inconnue\n".encode()
    response = http.post("/api/boards/bad-import/import", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 400
    lines = {p["line"] for p in response.json()["problems"]}
    assert lines == {3, 4}
    assert http.get("/api/boards/bad-import").json()["notes"] == []
    huge = http.post("/api/boards/bad-import/import", content=b"x" * (3 * 1024 * 1024))
    assert huge.status_code == 413


async def test_api_edits_reach_connected_clients_live(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "live") as client, httpx.AsyncClient(base_url=palabre.http_url) as http:
        response = await http.post("/api/boards", json={"template": "spiral", "id": "live"})
        assert response.status_code == 409  # the connection created it already (auto-create)
        imported = await http.post("/api/boards/live/import", json=[{"text": "Réussite : le jumelage"}])
        assert imported.status_code == 200
        note_id = imported.json()["ids"][0]
        notes = client.doc.get("notes", type=Map)
        await eventually(lambda: note_id in notes)
        assert str(notes[note_id]["text"]) == "Réussite : le jumelage"


def test_openapi_describes_the_endpoints(http: httpx.Client) -> None:
    spec = http.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/boards", "/api/boards/{board}", "/api/boards/{board}/import", "/api/templates"} <= set(spec["paths"])


def test_demo_boards_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", extra_args=["--demo"]).start()
    try:
        with httpx.Client(base_url=server.http_url) as http:
            ids = {b["id"] for b in http.get("/api/boards").json()}
            assert {"eddn-gouvernance", "bourgogne-mali-2015", "co-acte-spiral"} <= ids
            gov = http.get("/api/boards/eddn-gouvernance").json()
            labels = " ".join(a["label"] for a in gov["actors"])
            assert "Essonne" in labels and "Diéma" in labels and gov["links"]
    finally:
        server.stop()
