"""Operations endpoints: health and Prometheus metrics reflect real activity."""

from __future__ import annotations

import httpx
from pycrdt import Map

from client.connection import BoardClient
from tests.support.server import PalabreProcess


async def test_metrics_count_messages_appends_and_rejections(palabre: PalabreProcess) -> None:
    import websockets

    async with BoardClient.connect(palabre.ws_url, "m") as client:
        client.doc.get("notes", type=Map)["n"] = 1.0
        await client.flush()
        async with websockets.connect(f"{palabre.ws_url}/m") as ws:
            await ws.send(b"\x09")
            try:
                await ws.recv()
            except websockets.ConnectionClosed:
                pass
        async with httpx.AsyncClient(base_url=palabre.http_url) as http:
            health = (await http.get("/healthz")).json()
            text = (await http.get("/metrics")).text
    assert health == {"status": "ok", "boards_loaded": 1}
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(values["palabre_log_appends_total"]) >= 1
    assert float(values["palabre_messages_in_total"]) >= 3
    assert float(values['palabre_rejected_messages_total{reason="malformed"}']) == 1
    assert float(values["palabre_connections"]) >= 1
    # Each connection's link round trip, measured by a ping as it joined: loopback, well under 10 ms.
    assert float(values["palabre_link_round_trip_seconds_count"]) >= 1
    assert values['palabre_link_round_trip_seconds_bucket{le="0.01"}'] == values["palabre_link_round_trip_seconds_count"]
