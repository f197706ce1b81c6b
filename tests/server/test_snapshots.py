"""Snapshot endpoints: every format parses, time travel, named phase snapshots, diff, bad params."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest
from PIL import Image

from tests.support.wait import eventually
from tests.support.server import PalabreProcess


@pytest.fixture
def http(palabre: PalabreProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=palabre.http_url, timeout=30) as client:
        assert client.post("/api/boards", json={"template": "atelier-du-futur", "id": "s"}).status_code == 201
        yield client


def _import(http: httpx.Client, *texts: str) -> None:
    rows = [{"text": text, "zone": "Critique", "site": "Diéma"} for text in texts]
    assert http.post("/api/boards/s/import", json=rows).status_code == 200


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def test_every_format_parses(http: httpx.Client) -> None:
    _import(http, "Accès aux financements", "An bɛ ɲɔgɔn dɛmɛ")
    png = http.get("/api/boards/s/snapshot.png")
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size[0] > 200
    assert Image.open(io.BytesIO(http.get("/api/boards/s/snapshot.webp").content)).format == "WEBP"
    ET.fromstring(http.get("/api/boards/s/snapshot.svg").content)
    assert http.get("/api/boards/s/snapshot.pdf").content.startswith(b"%PDF")
    board = json.loads(http.get("/api/boards/s/snapshot.json").content)
    assert {n["text"] for n in board["notes"]} == {"Accès aux financements", "An bɛ ɲɔgɔn dɛmɛ"}
    rows = list(csv.DictReader(io.StringIO(http.get("/api/boards/s/snapshot.csv").content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert "Critique" in http.get("/api/boards/s/snapshot.md").text
    assert http.get("/api/boards/s/snapshot.mmd").text.startswith("graph")
    assert "digraph" in http.get("/api/boards/s/snapshot.dot").text
    assert set(http.get("/api/boards/s/snapshot.graph.json").json()) >= {"nodes", "edges"}


def test_zone_and_scale(http: httpx.Client) -> None:
    _import(http, "une idée")
    zones = http.get("/api/boards/s").json()["zones"]
    whole = Image.open(io.BytesIO(http.get("/api/boards/s/snapshot.png").content))
    one = Image.open(io.BytesIO(http.get(f"/api/boards/s/snapshot.png?zone={zones[0]['id']}").content))
    assert one.size[0] < whole.size[0]
    half = Image.open(io.BytesIO(http.get("/api/boards/s/snapshot.png?scale=0.5").content))
    assert abs(half.size[0] - whole.size[0] / 2) <= 2


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("snapshot.gif", "unknown format"),
        ("snapshot.png?scale=abc", "scale"),
        ("snapshot.png?scale=100", "scale"),
        ("snapshot.png?zone=nope", "zone"),
        ("snapshot.png?at=yesterday", "'at'"),
        ("snapshot.png?size=3", "unknown parameter"),
        ("diff", "'from' is required"),
        ("diff?from=2026-01-01T00:00:00Z&format=pdf", "format"),
    ],
)
def test_bad_parameters_get_400_naming_them(http: httpx.Client, query: str, fragment: str) -> None:
    response = http.get(f"/api/boards/s/{query}")
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_unknown_board_snapshot_is_404(http: httpx.Client) -> None:
    assert http.get("/api/boards/nope/snapshot.png").status_code == 404
    assert http.get("/api/boards/nope/snapshots").status_code == 404


def test_time_travel_and_diff(http: httpx.Client) -> None:
    _import(http, "premier tour")
    time.sleep(0.05)
    between = _now()
    time.sleep(0.05)
    _import(http, "second tour")
    past = http.get(f"/api/boards/s/snapshot.json?at={between}").json()
    assert [n["text"] for n in past["notes"]] == ["premier tour"]
    now = http.get("/api/boards/s/snapshot.json").json()
    assert len(now["notes"]) == 2
    diff = http.get(f"/api/boards/s/diff?from={between}").json()
    assert [n["text"] for n in diff["notes_added"]] == ["second tour"]
    assert diff["notes_removed"] == []
    markdown = http.get(f"/api/boards/s/diff?from={between}&format=md").text
    assert "second tour" in markdown


async def test_phase_change_records_a_named_snapshot(palabre: PalabreProcess) -> None:
    from pycrdt import Map

    from client.connection import BoardClient

    with httpx.Client(base_url=palabre.http_url) as http:
        http.post("/api/boards", json={"template": "atelier-du-futur", "id": "ph"})
    async with BoardClient.connect(palabre.ws_url, "ph") as client:
        client.doc.get("meta", type=Map)["phase"] = "utopie"
        await client.flush()
    def named() -> bool:
        labels = [s["label"] for s in httpx.get(f"{palabre.http_url}/api/boards/ph/snapshots").json()]
        return "phase:utopie" in labels

    await eventually(named, what="a 'phase:utopie' snapshot")
